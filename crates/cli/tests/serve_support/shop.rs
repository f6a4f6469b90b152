//! The fixture sites the server and worker processes scrape, served by axum on 127.0.0.1:0 from
//! the test's own runtime: a book shop, and a slow catalogue whose size and pace each job
//! chooses in its start URL.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, Query};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use serde_json::{Value, json};

use super::serve_local;

/// Items per page of the slow catalogue.
pub const CATALOGUE_PER_PAGE: u32 = 3;

/// The book shop: `/shop/page-N.html` for N in `1..=pages`, each with `per_page` `div.book`
/// items (title `Book N.I` in an `h2`, a link to `/books/N-I`, price `NI.00` in `span.price`)
/// and a next link until the last page; any other page is missing. Returns the base URL.
pub async fn book_shop(pages: u32, per_page: u32) -> String {
    let page = move |Path(name): Path<String>| async move {
        let n: Option<u32> = name
            .strip_prefix("page-")
            .and_then(|p| p.strip_suffix(".html"))
            .and_then(|p| p.parse().ok());
        let Some(n) = n.filter(|n| (1..=pages).contains(n)) else {
            return StatusCode::NOT_FOUND.into_response();
        };
        let mut body = String::from("<html><body>");
        for i in 1..=per_page {
            body.push_str(&format!(
                "<div class=\"book\"><h2>Book {n}.{i}</h2><a href=\"/books/{n}-{i}\">more</a>\
                 <span class=\"price\"> {n}{i}.00 </span></div>"
            ));
        }
        if n < pages {
            body.push_str(&format!(
                "<a class=\"next\" href=\"page-{}.html\">next</a>",
                n + 1
            ));
        }
        body.push_str("</body></html>");
        ([(header::CONTENT_TYPE, "text/html")], body).into_response()
    };
    serve_local(Router::new().route("/shop/{page}", get(page))).await
}

/// A job crawling the book shop at `base` from its first page, with `fields` for each book.
pub fn book_shop_job(base: &str, fields: Value) -> Value {
    json!({
        "name": "Books",
        "start_url": format!("{base}/shop/page-1.html"),
        "item_selector": "div.book",
        "fields": fields,
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "min_delay_ms": 0,
        "max_delay_ms": 0
    })
}

/// The slow catalogue: `/slow/{tag}/page-N.html?last=L&ms=D`, pages 1..=L of
/// [`CATALOGUE_PER_PAGE`] `article.item` items titled `{tag}-pN-iI` (in an `h3`), each answered
/// after D milliseconds, with a next link until L. Returns the base URL.
pub async fn slow_catalogue() -> String {
    async fn page(
        Path((tag, file)): Path<(String, String)>,
        Query(query): Query<BTreeMap<String, u64>>,
    ) -> Html<String> {
        let n: u64 = file
            .strip_prefix("page-")
            .and_then(|f| f.strip_suffix(".html"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        let last = query.get("last").copied().unwrap_or(3);
        let ms = query.get("ms").copied().unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        let mut body = String::from("<html><body>");
        for i in 0..CATALOGUE_PER_PAGE {
            body.push_str(&format!(
                "<article class=\"item\"><h3>{tag}-p{n}-i{i}</h3></article>"
            ));
        }
        if n < last {
            body.push_str(&format!(
                "<a class=\"next\" href=\"page-{}.html?last={last}&amp;ms={ms}\">next</a>",
                n + 1
            ));
        }
        body.push_str("</body></html>");
        Html(body)
    }
    serve_local(Router::new().route("/slow/{tag}/{file}", get(page))).await
}

/// The first page of `pages` pages of the slow catalogue at `base`, `ms` per page.
pub fn catalogue_url(base: &str, tag: &str, pages: u32, ms: u32) -> String {
    format!("{base}/slow/{tag}/page-1.html?last={pages}&ms={ms}")
}

/// A job crawling `pages` pages of the slow catalogue, `ms` per page, named `tag`.
pub fn catalogue_job(base: &str, tag: &str, pages: u32, ms: u32) -> Value {
    json!({
        "name": tag,
        "start_url": catalogue_url(base, tag, pages, ms),
        "item_selector": "article.item",
        "fields": [{"name": "title", "selector": "h3", "required": true}],
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "max_pages": 1000,
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "retry_count": 2,
        "timeout_seconds": 30,
        "respect_robots_txt": false,
    })
}

/// The titles of `pages` pages of the slow catalogue under `tag`, sorted.
pub fn catalogue_titles(tag: &str, pages: u32) -> Vec<String> {
    let mut titles: Vec<String> = (1..=pages)
        .flat_map(|n| (0..CATALOGUE_PER_PAGE).map(move |i| format!("{tag}-p{n}-i{i}")))
        .collect();
    titles.sort();
    titles
}
