//! A fixture web site served on 127.0.0.1:0 for the crawl tests: a paginated catalogue (next
//! links and page-number URLs), robots.txt, flaky pages, redirects, odd charsets and markup.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Pages in the catalogue; page `PAGES + 1` answers 404.
pub const PAGES: u32 = 5;
/// Items per catalogue page.
pub const PER_PAGE: u32 = 3;

#[derive(Default)]
pub struct Hits {
    /// Path (with query) → request times, in arrival order.
    pub log: Mutex<Vec<(String, Instant)>>,
}

impl Hits {
    pub fn count(&self, path: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p == path)
            .count()
    }
    pub fn paths(&self) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| p.clone())
            .collect()
    }
    pub fn times(&self, prefix: &str) -> Vec<Instant> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(p, _)| p.starts_with(prefix))
            .map(|(_, t)| *t)
            .collect()
    }
}

#[derive(Clone)]
struct Site {
    hits: Arc<Hits>,
    robots: Arc<String>,
    /// Per-path counter of how many times a flaky page was asked for.
    flaky: Arc<Mutex<HashMap<String, u32>>>,
}

pub struct Fixture {
    pub addr: SocketAddr,
    pub hits: Arc<Hits>,
}

impl Fixture {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

/// The HTML of catalogue page `n`: `PER_PAGE` products and a next link unless last.
pub fn catalogue_page(n: u32) -> String {
    let mut body = String::from(
        "<!doctype html><html><head><title>Catalogue</title></head><body><ol class=\"row\">",
    );
    for i in 1..=PER_PAGE {
        body.push_str(&format!(
            "<li><article class=\"product\">\
               <h3><a href=\"product-{n}-{i}.html\" title=\"Product {n}-{i} full title\">Product {n}-{i}…</a></h3>\
               <p class=\"price\">  £{n}.{i}0 </p>\
               <img src=\"../media/{n}-{i}.jpg\">\
               <span class=\"tag\">t{n}</span><span class=\"tag\">t{i}</span>\
             </article></li>"
        ));
    }
    body.push_str("</ol>");
    if n < PAGES {
        body.push_str(&format!(
            "<ul class=\"pager\"><li class=\"next\"><a href=\"page-{}.html\">next</a></li></ul>",
            n + 1
        ));
    }
    body.push_str("</body></html>");
    body
}

/// The items catalogue page `n` gives with [`catalogue_job`]: (title, price, url, tags).
pub fn expected_titles(pages: std::ops::RangeInclusive<u32>) -> Vec<String> {
    pages
        .flat_map(|n| (1..=PER_PAGE).map(move |i| format!("Product {n}-{i} full title")))
        .collect()
}

pub async fn serve(robots: &str) -> Fixture {
    let hits = Arc::new(Hits::default());
    let site = Site {
        hits: Arc::clone(&hits),
        robots: Arc::new(robots.to_owned()),
        flaky: Arc::default(),
    };
    let app = Router::new()
        .route("/robots.txt", get(robots_txt))
        .route("/catalogue/{page}", get(catalogue))
        .route("/list", get(list))
        .route("/redirlist", get(redirect_list))
        .route("/private/{page}", get(catalogue))
        .route("/flaky/{kind}", get(flaky))
        .route("/redirect-private", get(redirect_private))
        .route("/redirect-home", get(redirect_home))
        .route("/latin1", get(latin1))
        .route("/meta-charset", get(meta_charset))
        .route("/malformed", get(malformed))
        .route("/huge", get(huge))
        .route("/empty", get(empty))
        .route("/loop", get(looping))
        .layer(axum::middleware::from_fn_with_state(site.clone(), record))
        .with_state(site);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Fixture { addr, hits }
}

async fn record(
    State(site): State<Site>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let path = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    site.hits.log.lock().unwrap().push((path, Instant::now()));
    next.run(req).await
}

fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

async fn robots_txt(State(site): State<Site>) -> Response {
    if site.robots.is_empty() {
        return StatusCode::NOT_FOUND.into_response();
    }
    (
        [(header::CONTENT_TYPE, "text/plain")],
        site.robots.to_string(),
    )
        .into_response()
}

async fn catalogue(Path(page): Path<String>) -> Response {
    let n: Option<u32> = page
        .strip_prefix("page-")
        .and_then(|p| p.strip_suffix(".html"))
        .and_then(|p| p.parse().ok());
    match n {
        Some(n) if (1..=PAGES).contains(&n) => html(catalogue_page(n)),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// `/list?page=N&cat=…`: the catalogue by query parameter; `cat` must be kept.
async fn list(Query(q): Query<HashMap<String, String>>) -> Response {
    if q.get("cat").map(String::as_str) != Some("books") {
        return (StatusCode::BAD_REQUEST, "cat parameter lost").into_response();
    }
    let n: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    if (1..=PAGES).contains(&n) {
        html(catalogue_page(n))
    } else {
        // Past the end, this site answers 200 with no products (many shops do).
        html("<html><body><p>No more products.</p></body></html>".into())
    }
}

/// `/redirlist?page=N`: catalogue pages 1 and 2; past them the site redirects back to its
/// first page instead of answering 404 or an empty page (some shops do).
async fn redirect_list(Query(q): Query<HashMap<String, String>>) -> Response {
    let n: u32 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
    if n <= 2 {
        html(catalogue_page(n))
    } else {
        (StatusCode::FOUND, [(header::LOCATION, "/redirlist")]).into_response()
    }
}

/// `/flaky/429`: 429 with Retry-After: 1 once, then the page; `/flaky/503`: 503 twice, then
/// the page; `/flaky/500`: always 500.
async fn flaky(State(site): State<Site>, Path(kind): Path<String>) -> Response {
    let n = {
        let mut m = site.flaky.lock().unwrap();
        let c = m.entry(kind.clone()).or_insert(0);
        *c += 1;
        *c
    };
    match (kind.as_str(), n) {
        ("429", 1) => {
            let mut h = HeaderMap::new();
            h.insert(header::RETRY_AFTER, "1".parse().unwrap());
            (StatusCode::TOO_MANY_REQUESTS, h, "slow down").into_response()
        }
        ("503", 1 | 2) => (StatusCode::SERVICE_UNAVAILABLE, "busy").into_response(),
        ("500", _) => (StatusCode::INTERNAL_SERVER_ERROR, "broken").into_response(),
        _ => html(catalogue_page(1)),
    }
}

async fn redirect_private() -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, "http://10.0.0.1/catalogue/page-1.html")],
    )
        .into_response()
}

async fn redirect_home() -> Response {
    (
        StatusCode::MOVED_PERMANENTLY,
        [(header::LOCATION, "/catalogue/page-1.html")],
    )
        .into_response()
}

/// windows-1252 bytes declared in the Content-Type header.
async fn latin1() -> Response {
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(
        "<html><body><article class=\"product\"><h3><a title=\"Crème brûlée — 5€\">x</a></h3>\
         <p class=\"price\">£3.50</p></article></body></html>",
    );
    (
        [(header::CONTENT_TYPE, "text/html; charset=windows-1252")],
        bytes.into_owned(),
    )
        .into_response()
}

/// Shift_JIS declared only in a `<meta charset>`.
async fn meta_charset() -> Response {
    let (bytes, _, _) = encoding_rs::SHIFT_JIS.encode(
        "<html><head><meta charset=\"shift_jis\"></head><body><article class=\"product\">\
         <h3><a title=\"日本語の本\">x</a></h3><p class=\"price\">￥500</p></article></body></html>",
    );
    ([(header::CONTENT_TYPE, "text/html")], bytes.into_owned()).into_response()
}

/// Mis-nested and unclosed markup, as browsers see every day.
async fn malformed() -> Response {
    html(
        "<html><body><article class=product><h3><a title='One'>one</h3><p class=price>£1<b>0</p>\
         <article class=product><h3><a title=\"Two\">two</a></h3><p class=price>£<i>2</b></i>0\
         <table><article class=product><h3><a title=Three>3</a></h3></table>"
            .into(),
    )
}

/// A page far over the fetcher's size cap.
async fn huge() -> Response {
    html(format!(
        "<html><body>{}</body></html>",
        "<p>padding</p>".repeat(1_500_000)
    ))
}

async fn empty() -> Response {
    html("<html><body><p>Nothing for sale today.</p></body></html>".into())
}

/// A page whose next link points back to itself.
async fn looping() -> Response {
    html(format!(
        "{}<a class=\"again\" href=\"/loop\">next</a>",
        catalogue_page(PAGES)
    ))
}
