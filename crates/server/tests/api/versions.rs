//! `GET /api`: the versions and their status, as served and as documented; v1 is current and
//! its answers carry no deprecation headers.

use serde_json::Value;

use crate::common::TestApp;

api_test!(versions_are_listed_and_documented);

async fn versions_are_listed_and_documented(app: &TestApp) {
    let response = app.client.get(app.root("/api")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let versions = body["versions"].as_array().expect("a list");
    assert_eq!(versions.len(), 1, "{body}");
    let v1 = &versions[0];
    assert_eq!(v1["version"], "v1");
    assert_eq!(v1["status"], "current");
    assert_eq!(v1["prefix"], "/api/v1");
    assert_eq!(v1["openapi"], "/api/openapi.json");
    assert!(v1["sunset_at"].is_null() && v1["successor"].is_null());

    let spec: Value = app
        .client
        .get(app.root("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operation = &spec["paths"]["/api"]["get"];
    assert_eq!(operation["tags"][0], "Versions");
    let status = &spec["components"]["schemas"]["VersionStatus"];
    assert_eq!(status["enum"], serde_json::json!(["current", "deprecated"]));
    // No v1 operation is deprecated, and no v1 answer says it is.
    let deprecated: Vec<&String> = spec["paths"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, item)| {
            item.as_object()
                .unwrap()
                .values()
                .any(|op| op.get("deprecated") == Some(&Value::Bool(true)))
        })
        .map(|(path, _)| path)
        .collect();
    assert!(deprecated.is_empty(), "{deprecated:?}");
    let health = app.client.get(app.api("/health")).send().await.unwrap();
    assert!(health.headers().get("deprecation").is_none());
    assert!(health.headers().get("sunset").is_none());
}
