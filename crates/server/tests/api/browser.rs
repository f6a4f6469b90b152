//! The process's headless Chromium as the API sees it: previews of jobs that need a browser
//! render the page, `/health` reports the browser, and without one such jobs are refused in
//! words.

use axum::response::Html;
use axum::routing::get;
use grandma_shared::config::List;
use grandma_store::{Backend, Role};
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

both_databases!(
    previews_render_pages_built_by_scripts,
    without_a_browser_its_jobs_are_refused
);

/// The products of the preview fixture, written into the page by a script.
const SCRIPTED: &str = r#"<html><body><main id="list"></main><script>
  const products = [["First", "1.00"], ["Second", "2.00"], ["Third", "3.00"]];
  const list = document.getElementById("list");
  for (const [name, price] of products) {
    const div = document.createElement("div");
    div.className = "product";
    div.innerHTML = `<h2>${name}</h2><span class="price">${price}</span>`;
    list.appendChild(div);
  }
</script></body></html>"#;

async fn scripted_site() -> String {
    let app = axum::Router::new().route("/products", get(|| async { Html(SCRIPTED) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/products")
}

fn titles(body: &Value) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn previews_render_pages_built_by_scripts(backend: Backend) {
    let url = scripted_site().await;
    let app = TestApp::start_with(backend, |s| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()])
    })
    .await;
    let (_, token) = app.user("renderer@example.com", Role::User).await;
    let health = app.get("/health", &token, 200).await;
    let browser = &health["components"]["browser"];
    assert_eq!(browser["status"], "healthy", "{health}");
    assert!(browser["tabs"].as_u64().unwrap() >= 1, "{browser}");

    let mut config = job_config("Scripted");
    config["fetcher_type"] = json!("browser");
    let body = app
        .post(
            "/preview",
            &token,
            json!({"config": config, "url": url}),
            200,
        )
        .await;
    assert_eq!(titles(&body), ["First", "Second", "Third"], "{body}");
    assert_eq!(body["items"][1]["price"], "2.00");

    // Plain HTTP sees the empty shell; `auto` notices and renders it.
    let mut config = job_config("Scripted");
    config["fetcher_type"] = json!("requests");
    let plain = app
        .post(
            "/preview",
            &token,
            json!({"config": config, "url": url}),
            200,
        )
        .await;
    assert_eq!(plain["items_matched"], 0, "{plain}");
    config["fetcher_type"] = json!("auto");
    let auto = app
        .post(
            "/preview",
            &token,
            json!({"config": config, "url": url}),
            200,
        )
        .await;
    assert_eq!(titles(&auto), ["First", "Second", "Third"], "{auto}");
    assert!(
        auto["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("rendered it in the browser")),
        "{auto}"
    );

    // A job that needs the browser is accepted when there is one.
    let mut config = job_config("Scripted");
    config["fetcher_type"] = json!("browser");
    app.post("/jobs/", &token, json!({"config": config}), 201)
        .await;
    app.finish().await;
}

async fn without_a_browser_its_jobs_are_refused(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.browser.chromium = Some("/nonexistent/chromium".into());
    })
    .await;
    let (_, token) = app.user("nobrowser@example.com", Role::User).await;
    let health = app.get("/health", &token, 200).await;
    assert_eq!(health["status"], "degraded", "{health}");
    let browser = &health["components"]["browser"];
    assert_eq!(browser["status"], "degraded", "{health}");
    let message = browser["message"].as_str().unwrap();
    assert!(
        message.contains("/nonexistent/chromium") && message.contains("chromium` package"),
        "{message}"
    );

    let mut config = job_config("Needs a browser");
    config["fetcher_type"] = json!("browser");
    let refused = app
        .post("/jobs/", &token, json!({"config": config.clone()}), 422)
        .await;
    assert_eq!(
        refused["detail"][0]["path"], "config.fetcher_type",
        "{refused}"
    );
    let why = refused["detail"][0]["message"].as_str().unwrap();
    assert!(why.contains("this job needs Chromium"), "{why}");

    config["fetcher_type"] = json!("requests");
    config["pagination"] = json!({"type": "infinite_scroll"});
    let refused = app
        .post("/jobs/", &token, json!({"config": config}), 422)
        .await;
    assert_eq!(
        refused["detail"][0]["path"], "config.pagination",
        "{refused}"
    );

    // `auto` does not need one: it runs over plain HTTP.
    let mut config = job_config("Maybe a browser");
    config["fetcher_type"] = json!("auto");
    app.post("/jobs/", &token, json!({"config": config}), 201)
        .await;
    app.finish().await;
}
