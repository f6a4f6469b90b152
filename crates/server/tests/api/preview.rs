//! Preview with inline HTML and with a URL on a fixture server, allowed and refused by the
//! network guard.

use axum::response::Html;
use axum::routing::get;
use grandma_shared::config::List;
use grandma_store::{Backend, Role};
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

both_databases!(preview_pages);

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

both_databases!(preview_limits);

/// A page that takes a while to come: previews of it stay running meanwhile.
async fn slow_server() -> std::net::SocketAddr {
    let app = axum::Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
            Html(PAGE)
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

async fn preview_limits(backend: Backend) {
    let site = slow_server().await;
    let app = TestApp::start_with(backend, |s| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()])
    })
    .await;
    let (_, token) = app.user("busy@example.com", Role::User).await;
    let (_, other) = app.user("other@example.com", Role::User).await;
    let slow = json!({"config": job_config("P"), "url": format!("http://{site}/slow")});

    // A hostile page is cut to the depth limit, quickly, with a warning.
    let hostile = format!("<body>{}</body>", "<div><span>x".repeat(16_000));
    let mut config = job_config("P");
    config["item_selector"] = json!("div");
    config["fields"] = json!([{"name": "f", "selector": "span"}]);
    let started = std::time::Instant::now();
    let body = app
        .post(
            "/preview",
            &token,
            json!({"config": config, "html": hostile}),
            200,
        )
        .await;
    assert!(
        started.elapsed() < std::time::Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let warnings = body["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("deeper than 512 levels")),
        "{warnings:?}"
    );

    // Two previews per user at once; a third is refused in words, another user is not.
    let running: Vec<_> = (0..2)
        .map(|_| {
            let request = app
                .client
                .post(app.api("/preview"))
                .bearer_auth(&token)
                .json(&slow);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let refused = app
        .post(
            "/preview",
            &token,
            json!({"config": job_config("P"), "html": PAGE}),
            429,
        )
        .await;
    assert_eq!(
        refused["detail"],
        "you already have 2 previews or detections running; wait for one of them to finish, then try again"
    );
    app.post(
        "/preview",
        &other,
        json!({"config": job_config("P"), "html": PAGE}),
        200,
    )
    .await;
    for r in running {
        assert_eq!(r.await.unwrap(), 200);
    }
    app.post(
        "/preview",
        &token,
        json!({"config": job_config("P"), "html": PAGE}),
        200,
    )
    .await;

    // A client that leaves gives its slot back at once.
    for _ in 0..2 {
        let gone = app
            .client
            .post(app.api("/preview"))
            .bearer_auth(&token)
            .json(&slow)
            .timeout(std::time::Duration::from_millis(200))
            .send()
            .await;
        assert!(gone.is_err());
    }
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    app.post(
        "/preview",
        &token,
        json!({"config": job_config("P"), "html": PAGE}),
        200,
    )
    .await;
    app.finish().await;
}
