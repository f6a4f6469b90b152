//! Page snapshots and the picker on them: a fixture shop copied through the guard, served
//! inert to its owner only, picked on by node number (items, fields, rows, pagination, lists),
//! bounded per user, expiring, and every bad request refused in words.

use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use grandma_shared::config::List;
use grandma_store::{Backend, NewSnapshot, Role, SnapshotBounds, Uuid};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

both_databases!(
    snapshots_and_the_picker,
    snapshots_are_bounded_and_expire,
    bad_snapshot_requests
);

const CSP: &str = "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; \
     font-src * data:; form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin";

/// Six teapots between a menu and a footer, with page numbers and a "Next" link.
fn shop() -> String {
    let products: String = (1..=6)
        .map(|i| {
            format!(
                "<li class=\"product\"><a href=\"/p/{i}\"><h2>Teapot {i}</h2></a>\
                 <img src=\"/img/{i}.jpg\" alt=\"Teapot {i}\">\
                 <span class=\"price\">€{i}4.50</span></li>"
            )
        })
        .collect();
    format!(
        "<html><head><title>Teapots</title><link rel=\"stylesheet\" href=\"/site.css\"></head>\
         <body><nav><ul><li><a href=\"/c/cups\">Cups</a></li><li><a href=\"/c/pots\">Pots</a>\
         </li></ul></nav><main><ul class=\"grid\">{products}</ul>\
         <div class=\"pager\"><a href=\"/shop?page=1\">1</a> <a href=\"/shop?page=2\">2</a> \
         <a href=\"/shop?page=3\">3</a> <a class=\"next\" href=\"/shop?page=2\"><span>Next</span> \
         ›</a></div></main><footer><p>© Teapots Ltd</p></footer>\
         <script>document.title = 'changed'</script></body></html>"
    )
}

const HOSTILE: &str = r#"<html><head><meta http-equiv="refresh" content="0;url=/gone">
<script>fetch('/stolen')</script></head><body>
<img src="/x.png" onerror="fetch('/stolen')"><a href="javascript:fetch('/stolen')">go</a>
<iframe src="/framed"></iframe><svg><script>fetch('/stolen')</script></svg>
<form action="/stolen" method="post"><button>Send</button></form></body></html>"#;

async fn site() -> String {
    let big: String = (0..4000)
        .map(|i| format!("<li class=\"product\"><h2>Teapot number {i}</h2></li>"))
        .collect();
    let app = axum::Router::new()
        .route("/shop", get(|| async { Html(shop()) }))
        .route("/hostile", get(|| async { Html(HOSTILE) }))
        .route(
            "/big",
            get(move || {
                let big = big.clone();
                async move { Html(format!("<ul>{big}</ul>")) }
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

async fn local_app(
    backend: Backend,
    adjust: impl FnOnce(&mut grandma_server::Settings),
) -> TestApp {
    TestApp::start_with(backend, |s| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()]);
        adjust(s);
    })
    .await
}

/// Fetches `/snapshots/{id}` as the browser would (with `token`), returning status, headers
/// and body.
async fn view(app: &TestApp, id: &str, token: &str) -> (u16, reqwest::header::HeaderMap, String) {
    let response = app
        .client
        .get(app.root(&format!("/snapshots/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

/// The `data-gs-node` numbers of the elements `css` matches in a served snapshot.
fn nodes_of(html: &str, css: &str) -> Vec<u64> {
    let document = scraper::Html::parse_document(html);
    let selector = scraper::Selector::parse(css).unwrap();
    document
        .select(&selector)
        .map(|el| el.value().attr("data-gs-node").unwrap().parse().unwrap())
        .collect()
}

fn problem(body: &Value) -> (String, String) {
    let detail = &body["detail"][0];
    (
        detail["path"].as_str().unwrap_or_default().to_owned(),
        detail["message"].as_str().unwrap_or_default().to_owned(),
    )
}

async fn snapshots_and_the_picker(backend: Backend) {
    let base = site().await;
    let app = local_app(backend, |_| {}).await;
    let (_, token) = app.user("ann@example.com", Role::User).await;
    let (_, other) = app.user("bob@example.com", Role::Admin).await;

    let made = app
        .post(
            "/snapshots",
            &token,
            json!({"url": format!("{base}/shop"), "fetcher_type": "requests"}),
            201,
        )
        .await;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["final_url"], format!("{base}/shop"));
    assert_eq!(made["title"], "Teapots");
    assert_eq!(made["fetcher_type"], "requests");
    assert_eq!(made["view_url"], format!("/snapshots/{id}"));
    assert_eq!(
        app.get(&format!("/snapshots/{id}"), &token, 200).await["id"],
        id
    );

    // The page itself: inert, on the app's origin, with the policy and no sniffing.
    let (status, headers, html) = view(&app, &id, &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    assert!(!html.contains("<script"), "{html}");
    assert!(
        html.contains(&format!("href=\"{base}/site.css\"")),
        "{html}"
    );
    assert!(
        html.contains(&format!("src=\"{base}/img/1.jpg\"")),
        "{html}"
    );
    let items = nodes_of(&html, "li.product");
    let prices = nodes_of(&html, "li.product .price");
    let titles = nodes_of(&html, "li.product h2");
    assert_eq!(items.len(), 6);

    // Nobody else sees it, an admin neither; without credentials it is 401.
    let (status, _, body) = view(&app, &id, &other).await;
    assert_eq!(status, 404, "{body}");
    let anonymous = app
        .client
        .get(app.root(&format!("/snapshots/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    app.get(&format!("/snapshots/{id}"), &other, 404).await;
    for (path, body) in [
        ("items", json!({"examples": [items[0], items[2]]})),
        ("field", json!({"item_selector": "li", "node": prices[0]})),
        ("preview", json!({"item_selector": "li", "fields": []})),
        ("pagination", json!({"page_numbers": true})),
        ("detect", json!({})),
    ] {
        app.post(&format!("/snapshots/{id}/{path}"), &other, body, 404)
            .await;
    }

    // Two examples → all six teapots, not the menu.
    let picked = app
        .post(
            &format!("/snapshots/{id}/items"),
            &token,
            json!({"examples": [items[0], items[2]]}),
            200,
        )
        .await;
    assert_eq!(picked["item_selector"], "li.product", "{picked}");
    assert_eq!(picked["count"], 6);
    assert_eq!(picked["item_nodes"], json!(items));
    assert_eq!(picked["sample"][1]["title"], "Teapot 2", "{picked}");
    // Clicks land inside items (a title, a price): the items are meant.
    let inside = app
        .post(
            &format!("/snapshots/{id}/items"),
            &token,
            json!({"examples": [titles[0], prices[2]]}),
            200,
        )
        .await;
    assert_eq!(inside["item_nodes"], json!(items), "{inside}");
    // One excluded by hand, and included again.
    let fewer = app
        .post(
            &format!("/snapshots/{id}/items"),
            &token,
            json!({"examples": [items[0], items[2]], "excluded": [prices[5]]}),
            200,
        )
        .await;
    assert_eq!(fewer["count"], 5, "{fewer}");
    assert_eq!(fewer["item_nodes"], json!(items[..5]));
    let again = app
        .post(
            &format!("/snapshots/{id}/items"),
            &token,
            json!({"examples": [items[0]], "included": [items[5]]}),
            200,
        )
        .await;
    assert_eq!(again["count"], 6, "{again}");

    // A click on a price → the price column, filled in all six.
    let price = app
        .post(
            &format!("/snapshots/{id}/field"),
            &token,
            json!({"item_selector": "li.product", "node": prices[1]}),
            200,
        )
        .await;
    assert_eq!(price["field"]["name"], "price", "{price}");
    assert_eq!(price["field"]["selector"], "span.price", "{price}");
    assert_eq!(price["field"]["filled"], 6);
    assert_eq!(price["values"][0], "€14.50");
    // A click on a title offers its text, and the link around it as an alternative.
    let title = app
        .post(
            &format!("/snapshots/{id}/field"),
            &token,
            json!({"item_selector": "li.product", "node": titles[0]}),
            200,
        )
        .await;
    assert_eq!(title["values"][2], "Teapot 3", "{title}");
    assert_eq!(title["field"]["attribute"], "text");

    // The rows the engine extracts from the snapshot.
    let rows = app
        .post(
            &format!("/snapshots/{id}/preview"),
            &token,
            json!({"item_selector": "li.product", "fields": [
                {"name": "title", "selector": "h2"},
                {"name": "price", "selector": ".price"},
                {"name": "link", "selector": "a", "attribute": "href"},
                {"name": "image", "selector": "img", "attribute": "src"},
            ]}),
            200,
        )
        .await;
    assert_eq!(rows["items_matched"], 6, "{rows}");
    let expected: Vec<Value> = (1..=6)
        .map(|i| {
            json!({
                "title": format!("Teapot {i}"),
                "price": format!("€{i}4.50"),
                "link": format!("{base}/p/{i}"),
                "image": format!("{base}/img/{i}.jpg"),
            })
        })
        .collect();
    assert_eq!(rows["items"], json!(expected));
    assert_eq!(
        rows["field_counts"],
        json!([
            {"name": "title", "matched": 6},
            {"name": "price", "matched": 6},
            {"name": "link", "matched": 6},
            {"name": "image", "matched": 6},
        ])
    );

    // Pagination: a click on the word inside the "Next" link, or the page numbers.
    let next_word = nodes_of(&html, "a.next span")[0];
    let next = app
        .post(
            &format!("/snapshots/{id}/pagination"),
            &token,
            json!({"next_node": next_word}),
            200,
        )
        .await;
    assert_eq!(
        next,
        json!({"type": "next_button", "selector": "a.next", "selector_type": "css",
               "next_url": format!("{base}/shop?page=2")})
    );
    let numbers = app
        .post(
            &format!("/snapshots/{id}/pagination"),
            &token,
            json!({"page_numbers": true}),
            200,
        )
        .await;
    assert_eq!(numbers["type"], "url_pattern", "{numbers}");
    assert_eq!(numbers["next_url"], format!("{base}/shop?page=2"));
    assert_eq!(numbers["url_pattern"], "?page={page}", "{numbers}");

    // Lists found on the snapshot carry the snapshot's node numbers.
    let found = app
        .post(&format!("/snapshots/{id}/detect"), &token, json!({}), 200)
        .await;
    let best = &found["candidates"][0];
    assert_eq!(best["item_selector"], "li.product", "{found}");
    assert_eq!(best["item_nodes"], json!(items));
    assert_eq!(best["sample"][0]["title"], "Teapot 1", "{best}");
    assert_eq!(
        found["pagination"]["next_url"],
        format!("{base}/shop?page=2")
    );

    // A hostile page comes out inert over HTTP too.
    let hostile = app
        .post(
            "/snapshots",
            &token,
            json!({"url": format!("{base}/hostile"), "fetcher_type": "requests"}),
            201,
        )
        .await;
    let (status, headers, html) = view(&app, hostile["id"].as_str().unwrap(), &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-security-policy"], CSP);
    for bad in [
        "<script",
        "onerror",
        "javascript:",
        "<iframe",
        "refresh",
        "<svg",
        "stolen",
        "action=",
    ] {
        assert!(!html.to_lowercase().contains(bad), "{bad} in {html}");
    }

    // The owner deletes it.
    app.delete(&format!("/snapshots/{id}"), &token, 204).await;
    assert_eq!(view(&app, &id, &token).await.0, 404);
    app.finish().await;
}

async fn snapshots_are_bounded_and_expire(backend: Backend) {
    let base = site().await;
    let app = local_app(backend, |s| {
        s.snapshots.per_user = 2;
        s.snapshots.max_bytes = 65_536;
        s.snapshots.user_bytes = 1 << 20;
    })
    .await;
    let (user_id, token) = app.user("ann@example.com", Role::User).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let made = app
            .post(
                "/snapshots",
                &token,
                json!({"url": format!("{base}/shop")}),
                201,
            )
            .await;
        ids.push(made["id"].as_str().unwrap().to_owned());
    }
    // Two at most: the oldest went.
    assert_eq!(view(&app, &ids[0], &token).await.0, 404);
    assert_eq!(view(&app, &ids[1], &token).await.0, 200);
    assert_eq!(view(&app, &ids[2], &token).await.0, 200);
    assert_eq!(app.store.snapshot_usage(user_id).await.unwrap().count, 2);

    // A page larger than a snapshot may be is refused in words, and nothing is lost for it.
    let refused = app
        .post(
            "/snapshots",
            &token,
            json!({"url": format!("{base}/big")}),
            422,
        )
        .await;
    let (path, message) = problem(&refused);
    assert_eq!(path, "url");
    assert!(message.contains("too large"), "{message}");
    assert_eq!(view(&app, &ids[1], &token).await.0, 200);

    // An expired snapshot is not served, nor picked on.
    let brief = app
        .store
        .create_snapshot(
            &NewSnapshot {
                owner_id: user_id,
                url: format!("{base}/shop"),
                final_url: format!("{base}/shop"),
                title: None,
                fetcher_type: "requests".into(),
                html: "<p data-gs-node=\"0\">x</p>".into(),
                lifetime: chrono::Duration::milliseconds(200),
            },
            SnapshotBounds {
                per_user: 5,
                user_bytes: 1 << 20,
            },
        )
        .await
        .unwrap();
    let brief_id = brief.snapshot_id.to_string();
    assert_eq!(view(&app, &brief_id, &token).await.0, 200);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(view(&app, &brief_id, &token).await.0, 404);
    app.post(
        &format!("/snapshots/{brief_id}/detect"),
        &token,
        json!({}),
        404,
    )
    .await;
    app.finish().await;
}

async fn bad_snapshot_requests(backend: Backend) {
    let base = site().await;
    let app = local_app(backend, |_| {}).await;
    let (_, token) = app.user("ann@example.com", Role::User).await;

    for (body, path, words) in [
        (
            json!({"url": "ftp://x.example/"}),
            "url",
            "http:// or https://",
        ),
        (json!({"url": "not an address"}), "url", ""),
        (json!({"url": "http://10.1.2.3/"}), "url", "private"),
        (json!({"url": "http://169.254.169.254/latest/"}), "url", ""),
        (
            json!({"url": format!("{base}/data.json")}),
            "url",
            "not an HTML page",
        ),
    ] {
        let refused = app.post("/snapshots", &token, body.clone(), 422).await;
        let (at, message) = problem(&refused);
        assert_eq!(at, path, "{body}: {refused}");
        assert!(message.contains(words), "{body}: {message}");
    }
    for body in [
        json!({}),
        json!({"url": format!("{base}/shop"), "fetcher_type": "curl"}),
        json!({"url": format!("{base}/shop"), "extra": 1}),
        json!({"url": 42}),
    ] {
        app.post("/snapshots", &token, body, 422).await;
    }
    let unreachable = app
        .post(
            "/snapshots",
            &token,
            json!({"url": "http://127.0.0.1:1/"}),
            502,
        )
        .await;
    assert!(unreachable["detail"].is_string());
    let raw = app
        .client
        .post(app.api("/snapshots"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body("{\"url\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    app.call(
        Method::POST,
        "/snapshots",
        None,
        Some(json!({"url": format!("{base}/shop")})),
        401,
    )
    .await;
    assert_eq!(view(&app, "not-a-uuid", &token).await.0, 404);
    assert_eq!(view(&app, &Uuid::now_v7().to_string(), &token).await.0, 404);

    let made = app
        .post(
            "/snapshots",
            &token,
            json!({"url": format!("{base}/shop")}),
            201,
        )
        .await;
    let id = made["id"].as_str().unwrap();
    let (_, _, html) = view(&app, id, &token).await;
    let items = nodes_of(&html, "li.product");
    let footer = nodes_of(&html, "footer p")[0];
    let heading = nodes_of(&html, "li.product h2")[0];
    let many: Vec<u64> = (0..501).collect();
    let long = "li ".repeat(2000);
    for (path, body, at, words) in [
        (
            "items",
            json!({"examples": [items[0]]}),
            "examples",
            "at least two",
        ),
        (
            "items",
            json!({"examples": [heading - 1, heading]}),
            "examples",
            "one item",
        ),
        (
            "items",
            json!({"examples": [items[0], 999_999]}),
            "examples",
            "999999",
        ),
        (
            "items",
            json!({"examples": many}),
            "examples",
            "at most 500",
        ),
        (
            "items",
            json!({"examples": [items[0], items[1]], "excluded": [items[0]]}),
            "excluded",
            "both",
        ),
        (
            "field",
            json!({"item_selector": "li[", "node": heading}),
            "item_selector",
            "not valid",
        ),
        (
            "field",
            json!({"item_selector": long, "node": heading}),
            "item_selector",
            "at most",
        ),
        (
            "field",
            json!({"item_selector": " ", "node": heading}),
            "item_selector",
            "empty",
        ),
        (
            "field",
            json!({"item_selector": "li.product", "node": footer}),
            "node",
            "not inside",
        ),
        ("pagination", json!({}), "next_node", "not both"),
        (
            "pagination",
            json!({"next_node": heading, "page_numbers": true}),
            "next_node",
            "not both",
        ),
        (
            "pagination",
            json!({"next_node": footer}),
            "next_node",
            "not a link",
        ),
        (
            "detect",
            json!({"max_candidates": 0}),
            "max_candidates",
            "between 1 and 20",
        ),
        (
            "preview",
            json!({"item_selector": "li.product", "fields": [{"name": "t", "selector": "h2["}]}),
            "config.fields[0].selector",
            "",
        ),
    ] {
        let refused = app
            .post(
                &format!("/snapshots/{id}/{path}"),
                &token,
                body.clone(),
                422,
            )
            .await;
        let (got, message) = problem(&refused);
        assert_eq!(got, at, "{path} {body}: {refused}");
        assert!(message.contains(words), "{path} {body}: {message}");
    }
    // Wrong shapes.
    for (path, body) in [
        ("items", json!({"examples": "all"})),
        ("items", json!({"examples": [-1]})),
        ("field", json!({"item_selector": "li"})),
        (
            "preview",
            json!({"item_selector": "li", "fields": [], "x": 1}),
        ),
    ] {
        app.post(&format!("/snapshots/{id}/{path}"), &token, body, 422)
            .await;
    }
    // A page without page numbers says so.
    let hostile = app
        .post(
            "/snapshots",
            &token,
            json!({"url": format!("{base}/hostile"), "fetcher_type": "requests"}),
            201,
        )
        .await;
    let refused = app
        .post(
            &format!("/snapshots/{}/pagination", hostile["id"].as_str().unwrap()),
            &token,
            json!({"page_numbers": true}),
            422,
        )
        .await;
    assert!(problem(&refused).1.contains("no page numbers"), "{refused}");
    app.finish().await;
}
