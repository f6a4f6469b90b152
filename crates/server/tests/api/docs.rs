//! The documentation endpoints: Swagger UI, ReDoc (served offline) and the OpenAPI document.

use crate::common::TestApp;

api_test!(documentation_is_served);

async fn documentation_is_served(app: &TestApp) {
    let spec: serde_json::Value = app
        .client
        .get(app.root("/api/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(spec["info"]["title"], "GrandmaScraper API");
    assert!(
        spec["info"]["description"]
            .as_str()
            .unwrap()
            .contains("Features")
    );
    assert!(spec["info"]["contact"].is_object());
    assert_eq!(spec["info"]["license"]["name"], "MIT");
    let tags: Vec<&str> = spec["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    for tag in [
        "Authentication",
        "Jobs",
        "Results",
        "Users",
        "Health",
        "WebSocket",
        "Monitoring",
        "Schedules",
        "Webhooks",
    ] {
        assert!(tags.contains(&tag), "tag {tag} missing: {tags:?}");
    }
    let paths = spec["paths"].as_object().unwrap();
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/auth/api-tokens",
        "/api/v1/auth/api-tokens/{id}",
        "/api/v1/users/me",
        "/api/v1/users/",
        "/api/v1/users/{id}",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/run",
        "/api/v1/results/",
        "/api/v1/results/{id}",
        "/api/v1/results/{id}/cancel",
        "/api/v1/results/{id}/items",
        "/api/v1/results/{id}/export/{format}",
        "/api/v1/preview",
        "/api/v1/health",
        "/health",
        "/readiness",
        "/liveness",
    ] {
        assert!(
            paths.contains_key(path),
            "{path} missing from {:?}",
            paths.keys().collect::<Vec<_>>()
        );
    }
    assert_eq!(
        spec["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(spec["paths"]["/api/v1/jobs/"]["post"]["requestBody"].is_object());
    // Operation ids are unique (Swagger UI and client generators rely on it).
    let mut ids: Vec<&str> = paths
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op.get("operationId").and_then(|id| id.as_str()))
        .collect();
    let count = ids.len();
    assert!(count >= 25, "{count} operations");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate operationIds");

    // The documented address (a redirect to the UI's index is fine).
    let plain = app.client.get(app.root("/api/docs")).send().await.unwrap();
    assert_eq!(plain.status(), 200);
    let swagger = app.client.get(app.root("/api/docs/")).send().await.unwrap();
    assert_eq!(swagger.status(), 200);
    let html = swagger.text().await.unwrap();
    assert!(html.to_lowercase().contains("swagger"), "{html}");
    let bundle = app
        .client
        .get(app.root("/api/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), 200, "Swagger UI assets are vendored");

    let redoc = app.client.get(app.root("/api/redoc")).send().await.unwrap();
    assert_eq!(redoc.status(), 200);
    let html = redoc.text().await.unwrap();
    assert!(html.contains("/api/redoc/redoc.standalone.js"), "{html}");
    assert!(!html.contains("cdn."), "no CDN: {html}");
    let js = app
        .client
        .get(app.root("/api/redoc/redoc.standalone.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.bytes().await.unwrap().len() > 100_000,
        "the ReDoc bundle is embedded"
    );
}
