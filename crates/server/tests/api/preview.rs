//! Preview with inline HTML and with a URL on a fixture server, allowed and refused by the
//! network guard.

use axum::response::Html;
use axum::routing::get;
use grandma_shared::config::List;
use grandma_store::{Backend, Role};
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

backend_test!(preview_pages);

const PAGE: &str = r#"<html><body>
  <div class="product"><h2> First  </h2><span class="price">1.00</span><a href="/p/1">go</a></div>
  <div class="product"><h2>Second</h2><a href="/p/2">go</a></div>
  <div class="product"><h2>Third</h2><span class="price">3.00</span></div>
</body></html>"#;

async fn fixture_server() -> std::net::SocketAddr {
    let app = axum::Router::new().route("/products", get(|| async { Html(PAGE) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

fn check_items(body: &Value) {
    assert_eq!(body["items_matched"], 3);
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["title"], "First");
    assert_eq!(items[1]["price"], Value::Null);
    let counts: Vec<(String, u64)> = body["field_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_owned(),
                c["matched"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        [("title".into(), 3), ("price".into(), 2), ("link".into(), 2)]
    );
}

async fn preview_pages(backend: Backend) {
    let site = fixture_server().await;
    let url = format!("http://{site}/products");

    let open = TestApp::start_with(backend, |s| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()])
    })
    .await;
    let (_, token) = open.user("previewer@example.com", Role::Readonly).await;
    let body = open
        .post(
            "/preview",
            &token,
            json!({"config": job_config("P"), "url": url}),
            200,
        )
        .await;
    check_items(&body);
    assert_eq!(body["items"][0]["link"], format!("http://{site}/p/1"));
    assert_eq!(body["url"], url);
    // Nothing was stored.
    assert_eq!(open.get("/jobs/", &token, 200).await["total"], 0);
    open.finish().await;

    let strict = TestApp::start(backend).await;
    let (_, token) = strict.user("strict@example.com", Role::User).await;
    let refused = strict
        .post(
            "/preview",
            &token,
            json!({"config": job_config("P"), "url": url}),
            422,
        )
        .await;
    assert_eq!(refused["detail"][0]["path"], "url");
    // Inline HTML needs no fetch; links resolve against the given URL or the start URL.
    let body = strict
        .post(
            "/preview",
            &token,
            json!({"config": job_config("P"), "html": PAGE}),
            200,
        )
        .await;
    check_items(&body);
    assert_eq!(body["items"][0]["link"], "https://example.com/p/1");
    let mut broken = job_config("P");
    broken["item_selector"] = json!("div[[");
    let bad = strict
        .post(
            "/preview",
            &token,
            json!({"config": broken, "html": PAGE}),
            422,
        )
        .await;
    assert_eq!(bad["detail"][0]["path"], "config.item_selector");
    let empty = strict
        .post(
            "/preview",
            &token,
            json!({"config": job_config("P"), "html": "<p>nothing</p>"}),
            200,
        )
        .await;
    assert!(!empty["warnings"].as_array().unwrap().is_empty());
    strict.finish().await;
}
