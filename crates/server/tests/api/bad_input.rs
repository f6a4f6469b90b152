//! Malformed and oversized requests, unknown ids and paths: each in the API's error shape.

use grandma_store::{Backend, Role, Uuid};
use reqwest::Method;
use serde_json::json;

use crate::common::{TestApp, job_config};

api_test!(
    malformed_requests,
    declared_length_over_the_limit_is_refused_at_once
);
both_databases!(oversized_bodies);

async fn malformed_requests(app: &TestApp) {
    let (_, token) = app.user("sloppy@example.com", Role::User).await;
    let send_raw = |body: &'static str, content_type: &'static str| {
        app.client
            .post(app.api("/jobs/"))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = send_raw("{\"config\": ", "application/json").await.unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["detail"].is_string());
    let response = send_raw("{\"config\": {}, \"enabled\": \"yes\"}", "application/json")
        .await
        .unwrap();
    assert_eq!(response.status(), 422);
    let response = send_raw("{}", "text/plain").await.unwrap();
    assert_eq!(response.status(), 415);

    // Wrong types never echo a password back.
    let body = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": 5, "password": "hunter2hunter2"})),
            422,
        )
        .await;
    assert!(!body.to_string().contains("hunter2"));
    let response = app
        .client
        .post(app.api("/auth/token"))
        .form(&[("username", "x@example.com")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 422);

    // Unknown and malformed ids, unknown paths.
    let missing = Uuid::now_v7();
    app.get(&format!("/jobs/{missing}"), &token, 404).await;
    app.get("/jobs/not-a-uuid", &token, 404).await;
    app.put(
        &format!("/jobs/{missing}"),
        &token,
        json!({"config": job_config("X")}),
        404,
    )
    .await;
    app.delete(&format!("/results/{missing}"), &token, 404)
        .await;
    app.post(
        &format!("/results/{missing}/cancel"),
        &token,
        json!({}),
        404,
    )
    .await;
    let body = app.get("/no/such/route", &token, 404).await;
    assert_eq!(body["detail"], "not found");
    let body = app
        .call(Method::PATCH, "/jobs/", Some(token.as_str()), None, 405)
        .await;
    assert_eq!(body["detail"], "method not allowed");
}

async fn oversized_bodies(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.http.max_body_bytes = 4096).await;
    let (_, token) = app.user("big@example.com", Role::User).await;
    let mut config = job_config("Big");
    config["description"] = json!("x".repeat(20_000));
    let body = app
        .post("/jobs/", &token, json!({"config": config}), 413)
        .await;
    assert!(body["detail"].is_string());
    // Just under the limit is fine.
    app.post(
        "/jobs/",
        &token,
        json!({"config": job_config("Small")}),
        201,
    )
    .await;
    app.finish().await;
}

/// A client that declares a huge body and sends none of it gets its 413 at once: the server
/// does not wait for bytes it would refuse anyway.
async fn declared_length_over_the_limit_is_refused_at_once(app: &TestApp) {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    stream
        .write_all(
            b"POST /api/v1/auth/register HTTP/1.1\r\nHost: localhost\r\n\
              Content-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n",
        )
        .await
        .unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 4096];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
            .await
            .expect("an answer without sending the body")
            .unwrap();
        assert!(n > 0, "connection closed without an answer");
        answer.extend_from_slice(&buffer[..n]);
    }
    let elapsed = started.elapsed();
    let head = String::from_utf8_lossy(&answer);
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    assert!(
        elapsed < Duration::from_secs(1),
        "answered after {elapsed:?}"
    );

    // A declared length within the limit is read as before.
    let response = app
        .client
        .post(app.api("/auth/register"))
        .header("content-type", "application/json")
        .body(r#"{"email": "small@example.com", "password": "long enough"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
}
