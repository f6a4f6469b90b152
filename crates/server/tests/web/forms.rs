//! Malformed, oversized and hostile form input: a clear page in words, nothing stored,
//! nothing echoed unescaped.

use grandma_store::{Backend, Role};
use reqwest::StatusCode;

use crate::app::{PASSWORD, WebApp, no_redirects};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_forms_get_pages_in_words() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("ann@example.com", Role::User).await;
    let client = no_redirects();
    let post = |path: &'static str, body: String, content_type: &'static str| {
        client
            .post(app.url(path))
            .header("origin", app.url(""))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    const FORM: &str = "application/x-www-form-urlencoded";
    // Oversized.
    let huge = format!("email=a%40b.c&password={}", "x".repeat(200 * 1024));
    let response = post("/login", huge, FORM).await.unwrap();
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(response.text().await.unwrap().contains("Too much text"));
    // Not a form, a form without its fields, broken encoding, control characters.
    let cases = [
        ("{\"email\":\"a\"}".to_owned(), "application/json"),
        ("email=ann%40example.com".to_owned(), FORM),
        ("%%%=%zz&&=".to_owned(), FORM),
        ("email=ann%40example.com%00&password=x".to_owned(), FORM),
    ];
    for (body, content_type) in cases {
        let response = post("/login", body.clone(), content_type).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
        let text = response.text().await.unwrap();
        assert!(text.contains("<h1>That did not work</h1>"), "{text}");
        assert!(!text.contains("{\"detail\""));
    }
    // Hostile text comes back escaped.
    let hostile = "<script>alert(1)</script>@example.com";
    let response = client
        .post(app.url("/login"))
        .header("origin", app.url(""))
        .form(&[
            ("email", hostile),
            ("password", "whatever"),
            ("next", "javascript:alert(1)"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let text = response.text().await.unwrap();
    assert!(!text.contains("<script>alert(1)"), "escaped");
    assert!(
        text.contains("&#60;script&#62;") || text.contains("&lt;script&gt;"),
        "{text}"
    );
    assert!(
        !text.contains("javascript:alert"),
        "a foreign next is dropped"
    );
    // A sign-in from another site's form is refused even with the right password.
    let response = client
        .post(app.url("/login"))
        .header("origin", "http://evil.test")
        .form(&[("email", "ann@example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    // `next` never leaves the site.
    let response = client
        .post(app.url("/login"))
        .header("origin", app.url(""))
        .form(&[
            ("email", "ann@example.com"),
            ("password", PASSWORD),
            ("next", "//evil.test/x"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    // Ids that are not ids, and unknown pages, are pages in words.
    let (cookie, _) = app.sign_in("ann@example.com").await;
    for path in [
        "/jobs/not-an-id",
        "/jobs/00000000-0000-0000-0000-000000000000",
        "/jobs/x/runs/y",
        "/nowhere",
    ] {
        let response = client
            .get(app.url(path))
            .header("cookie", &cookie)
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        let text = response.text().await.unwrap();
        assert!(text.contains("Page not found"), "{path}: {text}");
    }
    // The API keeps answering JSON.
    let response = client.get(app.url("/api/v1/nowhere")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert!(response.text().await.unwrap().starts_with('{'));
    app.finish().await;
}
