//! Small web servers on 127.0.0.1 the stories point at: a site to scrape, and a receiver of
//! webhooks that records what it got.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Html;
use axum::routing::{get, post};

/// A shop of `pages` pages with `per_page` rows each (`name`, `price`), each page answered
/// after `delay`, so a run can be watched while it goes.
pub async fn shop(pages: u32, per_page: u32, delay: Duration) -> SocketAddr {
    #[derive(serde::Deserialize)]
    struct PageQuery {
        page: Option<u32>,
    }
    let app = Router::new().route(
        "/shop",
        get(move |Query(q): Query<PageQuery>| async move {
            tokio::time::sleep(delay).await;
            let page = q.page.unwrap_or(1);
            let rows: String = if page <= pages {
                (1..=per_page)
                    .map(|i| {
                        format!(
                            "<div class=row><span class=name>Item {page}-{i}</span>\
                             <span class=price>{}.50</span></div>",
                            page * 100 + i
                        )
                    })
                    .collect()
            } else {
                String::new()
            };
            Html(format!(
                "<!doctype html><html><body><h1>Shop page {page}</h1>{rows}</body></html>"
            ))
        }),
    );
    serve(app).await
}

/// The rows the shop holds, as the CSV export writes them.
pub fn shop_rows(pages: u32, per_page: u32) -> Vec<(String, String)> {
    (1..=pages)
        .flat_map(|page| {
            (1..=per_page)
                .map(move |i| (format!("Item {page}-{i}"), format!("{}.50", page * 100 + i)))
        })
        .collect()
}

/// What a receiver got: the `X-Webhook-Event` header and the body of each request.
pub type Received = Arc<Mutex<Vec<(String, String)>>>;

/// A webhook receiver answering 200 to every POST.
pub async fn receiver() -> (SocketAddr, Received) {
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hook",
            post(
                |State(r): State<Received>, headers: HeaderMap, body: String| async move {
                    let event = headers
                        .get("x-webhook-event")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    r.lock().unwrap().push((event, body));
                    "ok"
                },
            ),
        )
        .with_state(Arc::clone(&received));
    (serve(app).await, received)
}

/// A page on another origin (another port of 127.0.0.1: the same site, so the browser sends
/// the app's SameSite=Lax cookie with its form posts) that posts a form to `target` at once.
pub async fn hostile_page(target: String, fields: Vec<(String, String)>) -> SocketAddr {
    let inputs: String = fields
        .iter()
        .map(|(k, v)| format!("<input type=hidden name=\"{k}\" value=\"{v}\">"))
        .collect();
    let html = format!(
        "<!doctype html><html><body><form id=f method=post action=\"{target}\">{inputs}</form>\
         <script>document.getElementById('f').submit()</script></body></html>"
    );
    let app = Router::new().route("/", get(move || async move { Html(html) }));
    serve(app).await
}

pub async fn serve(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    addr
}
