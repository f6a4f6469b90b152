//! Health, readiness and liveness, at the root and under /api/v1.

use grandma_store::Role;
use serde_json::{Value, json};

use crate::common::TestApp;

api_test!(probes_report_components);

async fn get_root(app: &TestApp, path: &str, expect: u16) -> Value {
    let response = app.client.get(app.root(path)).send().await.unwrap();
    assert_eq!(response.status().as_u16(), expect, "GET {path}");
    response.json().await.unwrap()
}

async fn probes_report_components(app: &TestApp) {
    let health = get_root(app, "/health", 200).await;
    assert_eq!(health["status"], "healthy", "{health}");
    let components = &health["components"];
    assert_eq!(components["database"]["status"], "healthy");
    assert!(components["database"]["response_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(components["queue"]["depth"], 0);
    assert_eq!(components["workers"]["seen_recently"], 0);
    assert!(components["disk"]["free_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        get_root(app, "/api/v1/health", 200).await["status"],
        "healthy"
    );
    assert_eq!(get_root(app, "/readiness", 200).await["status"], "ready");
    assert_eq!(
        get_root(app, "/api/v1/readiness", 200).await["status"],
        "ready"
    );
    assert_eq!(get_root(app, "/liveness", 200).await["status"], "alive");
    assert_eq!(
        get_root(app, "/api/v1/liveness", 200).await["status"],
        "alive"
    );

    // Work waiting with no worker alive is degraded (still 200); a heartbeat makes it healthy.
    let (_, token) = app.user("prober@example.com", Role::User).await;
    let job = app.job(&token, "Queued").await;
    app.post(&format!("/jobs/{job}/run"), &token, json!({}), 202)
        .await;
    let health = get_root(app, "/health", 200).await;
    assert_eq!(health["status"], "degraded");
    assert_eq!(health["components"]["queue"]["depth"], 1);
    app.store.worker_heartbeat("w1", "test-host").await.unwrap();
    let health = get_root(app, "/health", 200).await;
    assert_eq!(health["status"], "healthy");
    assert_eq!(health["components"]["workers"]["seen_recently"], 1);

    // A database that does not answer: unhealthy and not ready, but alive.
    app.store.close().await;
    assert_eq!(get_root(app, "/health", 503).await["status"], "unhealthy");
    get_root(app, "/readiness", 503).await;
    get_root(app, "/liveness", 200).await;
}
