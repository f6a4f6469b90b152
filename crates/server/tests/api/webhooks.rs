//! Webhooks: management with owner scoping and roles, validation (guard, headers, events),
//! secrets shown once and rotated, the test ping against a real receiver, deliveries and
//! redelivery.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use grandma_shared::config::List;
use grandma_store::{Backend, DeliveryStatus, NewDelivery, Role, WebhookEvent};
use hmac::{KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

both_databases!(
    webhook_management,
    deliveries_and_redelivery,
    documented_bounds_hold
);

type Log = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A receiver on 127.0.0.1:0 that answers 200 and records each request.
async fn receiver() -> (String, Log) {
    let log: Log = Arc::default();
    let recorded = Arc::clone(&log);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let recorded = Arc::clone(&recorded);
            async move {
                recorded.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, log)
}

/// A receiver's check, written independently of ours: HMAC-SHA256 over the raw body.
fn receiver_verify(payload: &[u8], signature: &str, secret: &str) -> bool {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn local_app(backend: Backend) -> TestApp {
    TestApp::start_with(backend, |s| {
        s.allow_networks = List(vec!["127.0.0.1/32".parse().unwrap()]);
    })
    .await
}

async fn patch(app: &TestApp, path: &str, token: &str, body: Value, expect: u16) -> Value {
    app.call(Method::PATCH, path, Some(token), Some(body), expect)
        .await
}

async fn webhook_management(backend: Backend) {
    let app = local_app(backend).await;
    let (url, log) = receiver().await;
    let (_, token) = app.user("hooks@example.com", Role::User).await;
    let (_, other) = app.user("other@example.com", Role::User).await;
    let (_, reader) = app.user("reader@example.com", Role::Readonly).await;
    let (_, admin) = app.user("admin@example.com", Role::Admin).await;

    // Validation: every problem at once.
    let body = app
        .post(
            "/webhooks",
            &token,
            json!({
                "name": "",
                "url": "http://10.0.0.1/hook",
                "events": ["job.completed", "job.exploded"],
                "headers": {"X-Webhook-Id": "mine", "Host": "evil"},
                "max_retries": 99,
            }),
            422,
        )
        .await;
    let paths: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for expected in [
        "name",
        "url",
        "events[1]",
        "headers.X-Webhook-Id",
        "headers.Host",
        "max_retries",
    ] {
        assert!(paths.contains(&expected), "{expected}: {body}");
    }
    app.post(
        "/webhooks",
        &token,
        json!({"name": "meta", "url": "http://169.254.169.254/x"}),
        422,
    )
    .await;
    app.post("/webhooks", &reader, json!({"name": "r", "url": url}), 403)
        .await;

    // Created with a generated secret, shown once.
    let created = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "mine", "url": url, "headers": {"X-Team": "scrapers"}}),
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.len() >= 32, "{created}");
    assert_eq!(
        created["events"],
        json!(["job.completed", "job.failed", "job.cancelled"])
    );
    assert_eq!(created["max_retries"], 5);
    let got = app.get(&format!("/webhooks/{id}"), &token, 200).await;
    assert!(
        got.get("secret").is_none() && got["has_secret"] == true,
        "{got}"
    );
    app.get(&format!("/webhooks/{id}"), &other, 404).await;
    let mine = app.get("/webhooks", &token, 200).await;
    assert_eq!(mine["total"], 1);
    assert_eq!(app.get("/webhooks", &other, 200).await["total"], 0);
    assert_eq!(app.get("/webhooks", &admin, 200).await["total"], 1);

    // PATCH: disable, change events, URL checked again.
    let updated = patch(
        &app,
        &format!("/webhooks/{id}"),
        &token,
        json!({"enabled": false, "events": ["job.started"]}),
        200,
    )
    .await;
    assert_eq!(updated["enabled"], false);
    assert_eq!(updated["events"], json!(["job.started"]));
    patch(
        &app,
        &format!("/webhooks/{id}"),
        &token,
        json!({"url": "http://192.168.1.1/"}),
        422,
    )
    .await;
    // Outside the owner's organization, a read-only account is as absent as anyone else.
    patch(&app, &format!("/webhooks/{id}"), &reader, json!({}), 404).await;
    patch(&app, &format!("/webhooks/{id}"), &other, json!({}), 404).await;
    assert_eq!(
        app.get("/webhooks?enabled=false", &token, 200).await["total"],
        1
    );

    // Rotation: a new secret; the test ping is signed with it.
    let rotated = app
        .post(
            &format!("/webhooks/{id}/rotate-secret"),
            &token,
            json!({}),
            200,
        )
        .await;
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    let ping = app
        .post(&format!("/webhooks/{id}/test"), &token, json!({}), 200)
        .await;
    assert_eq!(ping["delivered"], true, "{ping}");
    assert_eq!(ping["response_status"], 200);
    let (headers, body) = log.lock().unwrap().last().cloned().unwrap();
    let signature = headers["x-webhook-signature"].to_str().unwrap();
    assert!(receiver_verify(&body, signature, &new_secret));
    assert!(!receiver_verify(&body, signature, &secret));
    assert_eq!(headers["x-webhook-event"], "ping");
    assert_eq!(headers["x-team"], "scrapers");
    assert_eq!(
        headers["x-webhook-id"].to_str().unwrap(),
        ping["delivery_id"].as_str().unwrap()
    );
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["event"], "ping");
    app.post(&format!("/webhooks/{id}/test"), &reader, json!({}), 404)
        .await;

    app.delete(&format!("/webhooks/{id}"), &other, 404).await;
    app.delete(&format!("/webhooks/{id}"), &token, 204).await;
    app.get(&format!("/webhooks/{id}"), &token, 404).await;
    app.finish().await;
}

async fn deliveries_and_redelivery(backend: Backend) {
    let app = local_app(backend).await;
    let (url, _log) = receiver().await;
    let (_, token) = app.user("deliv@example.com", Role::User).await;
    let (_, other) = app.user("nosy@example.com", Role::User).await;
    let created = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "d", "url": url, "secret": "a-known-secret"}),
            201,
        )
        .await;
    assert_eq!(created["secret"], "a-known-secret");
    let id: grandma_store::Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let mut ids = Vec::new();
    for event in [
        WebhookEvent::JobCompleted,
        WebhookEvent::JobFailed,
        WebhookEvent::JobCompleted,
    ] {
        let d = app
            .store
            .create_delivery(&NewDelivery {
                webhook_id: id,
                result_id: None,
                event_type: event,
                payload: json!({"event": event.as_str()}),
            })
            .await
            .unwrap();
        ids.push(d.delivery_id);
    }
    let all = app
        .get(&format!("/webhooks/{id}/deliveries"), &token, 200)
        .await;
    assert_eq!(all["total"], 3);
    let failed_events = app
        .get(
            &format!("/webhooks/{id}/deliveries?event=job.failed"),
            &token,
            200,
        )
        .await;
    assert_eq!(failed_events["total"], 1);
    let pending = app
        .get(
            &format!("/webhooks/{id}/deliveries?status=pending&limit=1"),
            &token,
            200,
        )
        .await;
    assert_eq!(
        (
            pending["total"].as_i64(),
            pending["items"].as_array().unwrap().len()
        ),
        (Some(3), 1)
    );
    app.get(
        &format!("/webhooks/{id}/deliveries?status=lost"),
        &token,
        422,
    )
    .await;
    app.get(&format!("/webhooks/{id}/deliveries"), &other, 404)
        .await;

    // Attempts show up in the detail; redelivery makes it due again.
    let lease = std::time::Duration::from_secs(30);
    let claimed = app.store.claim_deliveries("t", lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 3);
    app.store
        .record_attempt(
            ids[0],
            "t",
            &grandma_store::AttemptOutcome {
                verdict: grandma_store::Verdict::GiveUp,
                response_status: Some(500),
                response_body: Some("boom".into()),
                error: None,
                duration_ms: 12,
            },
        )
        .await
        .unwrap();
    let detail = app
        .get(&format!("/webhook-deliveries/{}", ids[0]), &token, 200)
        .await;
    assert_eq!(detail["status"], "failed");
    assert_eq!(detail["attempts"], 1);
    assert_eq!(detail["attempt_log"][0]["response_status"], 500);
    assert_eq!(detail["response_body"], "boom");
    app.get(&format!("/webhook-deliveries/{}", ids[0]), &other, 404)
        .await;
    app.post(
        &format!("/webhook-deliveries/{}/redeliver", ids[0]),
        &other,
        json!({}),
        404,
    )
    .await;
    let again = app
        .post(
            &format!("/webhook-deliveries/{}/redeliver", ids[0]),
            &token,
            json!({}),
            202,
        )
        .await;
    assert_eq!(again["status"], "pending");
    let d = app
        .store
        .get_delivery(grandma_store::Scope::all(), ids[0])
        .await
        .unwrap();
    assert_eq!(d.status, DeliveryStatus::Pending);
    app.finish().await;
}

/// The bounds the document gives a webhook are the ones the server applies; a name's length is
/// counted in characters, as the document counts it.
async fn documented_bounds_hold(backend: Backend) {
    let app = local_app(backend).await;
    let spec: Value = app
        .client
        .get(app.root("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for schema in ["WebhookCreateIn", "WebhookPatchIn"] {
        let properties = &spec["components"]["schemas"][schema]["properties"];
        assert_eq!(properties["name"]["minLength"], 1, "{schema}: {properties}");
        assert_eq!(
            properties["name"]["maxLength"], 200,
            "{schema}: {properties}"
        );
        assert_eq!(
            properties["events"]["minItems"], 1,
            "{schema}: {properties}"
        );
        assert_eq!(
            properties["max_retries"]["minimum"], 0,
            "{schema}: {properties}"
        );
        assert_eq!(
            properties["max_retries"]["maximum"], 20,
            "{schema}: {properties}"
        );
    }
    let (_, token) = app.user("bounds@example.com", Role::User).await;
    let url = "http://127.0.0.1:9/hook";
    let created = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "é".repeat(200), "url": url, "max_retries": 20}),
            201,
        )
        .await;
    assert_eq!(created["name"].as_str().unwrap().chars().count(), 200);
    let body = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "é".repeat(201), "url": url, "events": [], "max_retries": 21}),
            422,
        )
        .await;
    let paths: Vec<&str> = body["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    for path in ["name", "events", "max_retries"] {
        assert!(paths.contains(&path), "{path}: {body}");
    }
    app.finish().await;
}
