//! The fixture web site the `grandma` subprocess scrapes, served by axum on 127.0.0.1:0 from a
//! runtime on a background thread of the test process.
//!
//! Every route sits under a `{tag}` segment that the handlers ignore: each test uses its own
//! tag, so that the request log tells what *that* test's run fetched while the tests of this
//! binary run in parallel against one server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// Catalogue pages; the last has no next link, and the one after answers 404.
pub const PAGES: u32 = 4;
/// Products per catalogue page.
pub const PER_PAGE: u32 = 3;
/// Columns of the wide page.
pub const WIDE_COLUMNS: usize = 35;
/// How long the slow page makes the client wait: far longer than any test, which interrupts
/// the run while it waits.
const SLOW_PAGE_DELAY: Duration = Duration::from_secs(120);

#[derive(Debug)]
pub struct Site {
    addr: SocketAddr,
    /// Every request's path, in arrival order.
    log: Arc<Mutex<Vec<String>>>,
}

impl Site {
    /// `http://127.0.0.1:PORT/{tag}`: the root of one test's part of the site.
    pub fn base(&self, tag: &str) -> String {
        format!("http://{}/{tag}", self.addr)
    }

    /// The same with `localhost` as the host name.
    pub fn localhost_base(&self, tag: &str) -> String {
        format!("http://localhost:{}/{tag}", self.addr.port())
    }

    /// The paths requested under `tag`, in order.
    pub fn hits(&self, tag: &str) -> Vec<String> {
        let prefix = format!("/{tag}/");
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.starts_with(&prefix))
            .cloned()
            .collect()
    }
}

/// The site, started on first use and shared by every test of the binary.
pub fn site() -> &'static Site {
    static SITE: OnceLock<Site> = OnceLock::new();
    SITE.get_or_init(start)
}

fn start() -> Site {
    let app = Router::new()
        .route("/{tag}/cat/{page}", get(catalogue))
        .route("/{tag}/slow/{page}", get(slow))
        .route("/{tag}/partial/{page}", get(partial))
        .route("/{tag}/broken/{page}", get(broken))
        .route("/{tag}/big/{page}", get(big))
        .route("/{tag}/tricky", get(tricky))
        .route("/{tag}/wide", get(wide))
        .route("/{tag}/starter", get(starter));
    let (addr, log) = serve_logged(app);
    Site { addr, log }
}

/// Serves `app` on 127.0.0.1:0 from a runtime on a thread of its own, recording every
/// request's path in order; returns the address and the record.
pub fn serve_logged(app: Router) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind the fixture site");
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let recorded = Arc::clone(&log);
    let app = app.layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let log = Arc::clone(&recorded);
            async move {
                log.lock().unwrap().push(req.uri().path().to_owned());
                next.run(req).await
            }
        },
    ));
    std::thread::Builder::new()
        .name("fixture-site".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("fixture runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                axum::serve(listener, app).await.unwrap();
            });
        })
        .unwrap();
    (addr, log)
}

/// An HTML response.
pub fn html(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// `page-N.html` → N.
fn page_number(page: &str) -> Option<u32> {
    page.strip_prefix("page-")?
        .strip_suffix(".html")?
        .parse()
        .ok()
}

/// Catalogue page `n`: `PER_PAGE` products, and a next link when `n < last`.
pub fn catalogue_page(n: u32, last: u32) -> String {
    let mut body = String::from(
        "<!doctype html><html><head><title>Catalogue</title></head><body><ul class=\"products\">",
    );
    for i in 1..=PER_PAGE {
        body.push_str(&format!(
            "<li class=\"product\">\
               <h2><a href=\"item-{n}-{i}.html\">Item {n}-{i}</a></h2>\
               <p class=\"price\">\n  £{n}.{i}0\n</p>\
               <span class=\"tag\">p{n}</span> <span class=\"tag\">i{i}</span>\
             </li>"
        ));
    }
    body.push_str("</ul>");
    if n < last {
        body.push_str(&format!(
            "<nav><a class=\"next\" href=\"page-{}.html\">next</a></nav>",
            n + 1
        ));
    }
    body.push_str("</body></html>");
    body
}

async fn catalogue(Path((_, page)): Path<(String, String)>) -> Response {
    match page_number(&page) {
        Some(n) if (1..=PAGES).contains(&n) => html(catalogue_page(n, PAGES)),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Pages 1 and 2 at once; page 3 only after [`SLOW_PAGE_DELAY`].
async fn slow(Path((_, page)): Path<(String, String)>) -> Response {
    match page_number(&page) {
        Some(n @ (1 | 2)) => html(catalogue_page(n, PAGES)),
        Some(3) => {
            tokio::time::sleep(SLOW_PAGE_DELAY).await;
            html(catalogue_page(3, PAGES))
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Pages 1 and 2, then page 3 answers 500 for good.
async fn partial(Path((_, page)): Path<(String, String)>) -> Response {
    match page_number(&page) {
        Some(n @ (1 | 2)) => html(catalogue_page(n, PAGES)),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, "broken").into_response(),
    }
}

async fn broken() -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, "broken").into_response()
}

/// Page 1 is a normal catalogue page; page 2 has 500 products with long names (a few hundred
/// kilobytes of output); there is no page 3.
async fn big(Path((_, page)): Path<(String, String)>) -> Response {
    match page_number(&page) {
        Some(1) => html(catalogue_page(1, 2)),
        Some(2) => {
            let mut body = String::from("<html><body><ul class=\"products\">");
            let long = "x".repeat(400);
            for i in 1..=500 {
                body.push_str(&format!(
                    "<li class=\"product\"><h2><a href=\"big-{i}.html\">Big {i} {long}</a></h2>\
                     <p class=\"price\">£{i}</p></li>"
                ));
            }
            body.push_str("</ul></body></html>");
            html(body)
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Values that break naive exporters: separators, quotes, newlines, markup, non-ASCII,
/// formula-looking cells, list values, missing values.
async fn tricky() -> Response {
    html(
        "<!doctype html><html><head><meta charset=\"utf-8\"></head><body>\
         <div class=\"row\">\
           <span class=\"name\">Comma, \"quoted\" name</span>\
           <p class=\"note\" data-note=\"line one\nline two\">n</p>\
           <span class=\"cell\">=SUM(A1:A9)</span>\
           <i class=\"tag\">a, b</i><i class=\"tag\">c \"d\"</i>\
         </div>\
         <div class=\"row\">\
           <span class=\"name\">Crème brûlée — 5€ 日本語 🎉</span>\
           <p class=\"note\" data-note=\"tab\there\">n</p>\
           <span class=\"cell\">+33 1 23 45 67</span>\
           <i class=\"tag\">日本</i>\
         </div>\
         <div class=\"row\">\
           <span class=\"name\">A &lt;b&gt; tag &amp; co</span>\
           <span class=\"cell\">-42</span>\
         </div>\
         <div class=\"row\">\
           <span class=\"name\">At sign</span>\
           <p class=\"note\" data-note=\"'already quoted\">n</p>\
           <span class=\"cell\">@cmd</span>\
           <i class=\"tag\">x;y</i><i class=\"tag\">z</i>\
         </div>\
         <div class=\"row\">\
           <span class=\"name\">Plain</span>\
           <p class=\"note\" data-note=\"a=b\n\nafter a blank line\">n</p>\
           <span class=\"cell\">42</span>\
           <i class=\"tag\">one</i>\
         </div>\
         </body></html>"
            .to_owned(),
    )
}

/// Two rows of `WIDE_COLUMNS` cells: `r{row}c{col}`.
async fn wide() -> Response {
    let mut body = String::from("<html><body>");
    for row in 1..=2 {
        body.push_str("<div class=\"row\">");
        for col in 1..=WIDE_COLUMNS {
            body.push_str(&format!("<span class=\"c{col}\">r{row}c{col}</span>"));
        }
        body.push_str("</div>");
    }
    body.push_str("</body></html>");
    html(body)
}

/// A page that the job `grandma init` writes can scrape as it is.
async fn starter() -> Response {
    html(
        "<html><body>\
         <article><h2>First story</h2><a href=\"/stories/1\">read</a></article>\
         <article><h2>Second story</h2><a href=\"stories/2\">read</a></article>\
         <article><p>An advert without a title</p></article>\
         </body></html>"
            .to_owned(),
    )
}
