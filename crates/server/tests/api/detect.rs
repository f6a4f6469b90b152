//! `/detect` and `/generalize`: lists proposed for a page fetched from a fixture site or given
//! inline, selectors from picked node numbers, and every kind of bad request refused in words.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use grandma_shared::config::List;
use grandma_store::{Backend, Role};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

both_databases!(detection_over_the_api);

/// Six products in a grid between a menu and a footer; with `nodes`, every element carries a
/// `data-gs-node` number as a snapshot's do (products are 10, 20, … and their prices 12, 22, …).
fn shop(nodes: bool) -> String {
    let n = |id: u32| match nodes {
        true => format!(" data-gs-node=\"{id}\""),
        false => String::new(),
    };
    let products: String = (1..=6)
        .map(|i| {
            format!(
                "<li class=\"product\"{}><a href=\"/p/{i}\"{}><h2>Teapot {i}</h2></a>\
                 <span class=\"price\"{}>€{i}4.50</span></li>",
                n(i * 10),
                n(i * 10 + 1),
                n(i * 10 + 2)
            )
        })
        .collect();
    let menu: String = ["Teapots", "Cups", "Kettles"]
        .iter()
        .map(|m| format!("<li><a href=\"/c/{m}\">{m}</a></li>"))
        .collect();
    format!(
        "<html><head><title>Teapots</title></head><body><nav><ul>{menu}</ul></nav>\
         <main><ul class=\"grid\">{products}</ul></main><footer>{menu}</footer></body></html>"
    )
}

const SCRIPTED: &str = r#"<html><head><title>Teapots</title></head><body><ul id="grid"></ul>
<script>
  const grid = document.getElementById("grid");
  for (let i = 1; i <= 6; i++) {
    const li = document.createElement("li");
    li.className = "product";
    li.innerHTML = `<a href="/p/${i}"><h2>Teapot ${i}</h2></a><span class="price">€${i}4.50</span>`;
    grid.appendChild(li);
  }
</script></body></html>"#;

async fn site() -> String {
    let app = axum::Router::new()
        .route("/shop", get(|| async { Html(shop(false)) }))
        .route("/scripted", get(|| async { Html(SCRIPTED) }))
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(4)).await;
                Html(shop(false))
            }),
        )
        .route(
            "/data.json",
            get(|| async { ([(header::CONTENT_TYPE, "application/json")], "{}").into_response() }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}")
}

fn titles(candidate: &Value) -> Vec<String> {
    candidate["sample"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["title"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn detection_over_the_api(backend: Backend) {
    let base = site().await;
    let app = TestApp::start_with(backend, |s| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()])
    })
    .await;
    let (_, token) = app.user("finder@example.com", Role::Readonly).await;

    // A page fetched through the guard: the grid first, with a job the API accepts.
    let found = app
        .post(
            "/detect",
            &token,
            json!({"url": format!("{base}/shop")}),
            200,
        )
        .await;
    let best = &found["candidates"][0];
    assert_eq!(best["count"], 6, "{found}");
    assert_eq!(titles(best)[..2], ["Teapot 1", "Teapot 2"], "{found}");
    assert_eq!(found["title"], "Teapots");
    let (_, editor) = app.user("editor@example.com", Role::User).await;
    let job = app
        .post(
            "/jobs/",
            &editor,
            json!({"config": best["job"].clone()}),
            201,
        )
        .await;
    assert_eq!(job["config"]["start_url"], format!("{base}/shop"));

    // The same page inline gives the same list; `max_candidates` bounds the answer.
    let inline = app
        .post(
            "/detect",
            &token,
            json!({"html": shop(false), "url": format!("{base}/shop"), "max_candidates": 1}),
            200,
        )
        .await;
    assert_eq!(inline["candidates"].as_array().unwrap().len(), 1);
    assert_eq!(inline["candidates"][0]["job"], best["job"]);

    // A page built by a script is rendered (auto), or not looked into (requests).
    let rendered = app
        .post(
            "/detect",
            &token,
            json!({"url": format!("{base}/scripted")}),
            200,
        )
        .await;
    assert_eq!(rendered["candidates"][0]["count"], 6, "{rendered}");
    assert!(
        rendered["warnings"][0]
            .as_str()
            .unwrap()
            .contains("rendered in the browser"),
        "{rendered}"
    );
    let plain = app
        .post(
            "/detect",
            &token,
            json!({"url": format!("{base}/scripted"), "fetcher_type": "requests"}),
            200,
        )
        .await;
    assert_eq!(plain["candidates"], json!([]), "{plain}");
    assert!(
        plain["warnings"][0]
            .as_str()
            .unwrap()
            .contains("`requests`")
    );

    // The picker: two examples give all six items; a click on a price gives its field.
    let picked = app
        .post(
            "/generalize",
            &token,
            json!({"html": shop(true), "examples": [10, 30], "field_element": 52}),
            200,
        )
        .await;
    assert_eq!(picked["items"]["count"], 6, "{picked}");
    assert_eq!(
        picked["items"]["item_nodes"],
        json!([10, 20, 30, 40, 50, 60])
    );
    assert_eq!(picked["field"]["field"]["name"], "price", "{picked}");
    assert_eq!(picked["field"]["values"][0], "€14.50", "{picked}");
    // Excluding one leaves five; a field of given items needs no examples.
    let fewer = app
        .post(
            "/generalize",
            &token,
            json!({"html": shop(true), "examples": [10, 30], "excluded": [60]}),
            200,
        )
        .await;
    assert_eq!(fewer["items"]["count"], 5, "{fewer}");
    let field = app
        .post(
            "/generalize",
            &token,
            json!({"html": shop(true), "item_selector": "li.product", "field_element": 21}),
            200,
        )
        .await;
    assert_eq!(field["items"], Value::Null);
    // A link offers its text, and its address as an alternative.
    assert_eq!(field["field"]["values"][1], "Teapot 2", "{field}");
    assert_eq!(
        field["field"]["alternatives"][0]["attribute"], "href",
        "{field}"
    );

    // Bad requests, each refused with the field at fault and a sentence.
    let problem = |body: &Value| {
        let detail = &body["detail"][0];
        (
            detail["path"].as_str().unwrap().to_owned(),
            detail["message"].as_str().unwrap().to_owned(),
        )
    };
    for (body, path, words) in [
        (json!({}), "url", "give the page's address"),
        (
            json!({"url": "ftp://x.example/"}),
            "url",
            "http:// or https://",
        ),
        (json!({"url": "http://10.1.2.3/"}), "url", "private"),
        (
            json!({"url": format!("{base}/data.json")}),
            "url",
            "not an HTML page",
        ),
        (
            json!({"html": "<p>", "max_candidates": 0}),
            "max_candidates",
            "between 1 and 20",
        ),
    ] {
        let refused = app.post("/detect", &token, body.clone(), 422).await;
        let (at, message) = problem(&refused);
        assert_eq!(at, path, "{body}: {refused}");
        assert!(message.contains(words), "{body}: {message}");
    }
    for (body, path, words) in [
        (json!({"html": shop(true)}), "examples", "two or more"),
        (
            json!({"html": shop(true), "examples": [10]}),
            "examples",
            "at least two",
        ),
        (
            json!({"html": shop(true), "examples": [10, 999]}),
            "examples",
            "999",
        ),
        (
            json!({"html": shop(true), "field_element": 12}),
            "item_selector",
            "needs the items",
        ),
        (
            json!({"html": shop(true), "item_selector": "li.product", "field_element": 1}),
            "field_element",
            "",
        ),
    ] {
        let refused = app.post("/generalize", &token, body.clone(), 422).await;
        let (at, message) = problem(&refused);
        assert_eq!(at, path, "{body}: {refused}");
        assert!(message.contains(words), "{body}: {message}");
    }
    app.call(
        Method::POST,
        "/detect",
        None,
        Some(json!({"html": "<p>"})),
        401,
    )
    .await;
    let unknown = app
        .post(
            "/detect",
            &token,
            json!({"html": "<p>", "selector": "x"}),
            422,
        )
        .await;
    assert!(unknown.to_string().contains("selector"), "{unknown}");

    // Detections share the user's two slots with previews: a third at once is refused in
    // words, and the slots come back when the first two end.
    let slow = json!({"url": format!("{base}/slow"), "fetcher_type": "requests"});
    let running: Vec<_> = (0..2)
        .map(|_| {
            let request = app
                .client
                .post(app.api("/detect"))
                .bearer_auth(&token)
                .json(&slow);
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let response = app
        .client
        .post(app.api("/generalize"))
        .bearer_auth(&token)
        .json(&json!({"html": shop(true), "examples": [10, 30]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let busy: Value = response.json().await.unwrap();
    assert!(
        busy["detail"]
            .as_str()
            .unwrap()
            .contains("2 previews or detections running"),
        "{busy}"
    );
    for request in running {
        assert_eq!(request.await.unwrap(), 200);
    }
    app.post(
        "/generalize",
        &token,
        json!({"html": shop(true), "examples": [10, 30]}),
        200,
    )
    .await;

    // A hostile page (16,000 nested elements) is answered, not choked on.
    let deep = format!(
        "{}{}",
        "<div><span>x".repeat(16_000),
        "</span></div>".repeat(16_000)
    );
    let body = app
        .post("/detect", &token, json!({"html": deep}), 200)
        .await;
    assert!(body["candidates"].is_array(), "{body}");
    app.finish().await;
}
