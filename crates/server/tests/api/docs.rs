//! The documentation endpoints: Swagger UI, ReDoc (served offline) and the OpenAPI document.

use grandma_store::Role;
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

api_test!(
    documentation_is_served,
    the_document_describes_what_the_server_does,
    the_document_spells_values_as_the_server_does,
    the_document_states_lengths_and_media_types
);

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
        "/api/v1/results/{id}/changes",
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

/// The OpenAPI document tells the truth: the metrics, every 401, 400 and 422 with one 422 shape,
/// enums for fixed query values, no link to a repository that does not exist; and the server
/// does what it says (negative offsets, top-level arrays, wrong types: one 422 shape).
async fn the_document_describes_what_the_server_does(app: &TestApp) {
    let spec = app.openapi_document().await;
    assert!(spec["info"]["contact"]["url"].is_null(), "{}", spec["info"]);
    assert!(!spec["info"].to_string().contains("github.com"));
    assert_eq!(
        spec["paths"]["/metrics"]["get"]["tags"],
        json!(["Monitoring"])
    );

    let validation = "#/components/schemas/ValidationErrorOut";
    let mut offsets = Vec::new();
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (verb, op) in operations.as_object().unwrap() {
            let what = format!("{verb} {path}");
            let responses = &op["responses"];
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(responses.get("401").is_some(), "{what}: no 401");
            }
            if op["requestBody"]["content"]
                .get("application/json")
                .is_some()
            {
                assert!(responses.get("400").is_some(), "{what}: no 400");
            }
            if op.get("requestBody").is_some() {
                assert!(responses.get("422").is_some(), "{what}: no 422");
            }
            if let Some(r) = responses.get("422") {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"], validation,
                    "{what}"
                );
            }
            let parameters = op["parameters"].as_array().cloned().unwrap_or_default();
            if verb == "get" && parameters.iter().any(|p| p["name"] == "offset") {
                let id = grandma_store::Uuid::now_v7().to_string();
                let concrete: Vec<String> = path
                    .split('/')
                    .map(|s| match s {
                        "{format}" => "csv".to_owned(),
                        s if s.starts_with('{') => id.clone(),
                        s => s.to_owned(),
                    })
                    .collect();
                offsets.push(concrete.join("/"));
            }
        }
    }
    let schema_of = |path: &str, name: &str| -> Value {
        let parameter = spec["paths"][path]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name)
            .unwrap()
            .clone();
        let schema = &parameter["schema"];
        let reference = schema["$ref"]
            .as_str()
            .or_else(|| schema["oneOf"][0]["$ref"].as_str())
            .or_else(|| schema["anyOf"][0]["$ref"].as_str());
        match reference {
            Some(r) => spec["components"]["schemas"][r.rsplit('/').next().unwrap()].clone(),
            None => schema.clone(),
        }
    };
    assert_eq!(
        schema_of("/api/v1/jobs/", "order")["enum"],
        json!(["created", "name"]),
        "{} {}",
        spec["paths"]["/api/v1/jobs/"]["get"]["parameters"],
        spec["components"]["schemas"]["JobOrderIn"]
    );
    assert!(schema_of("/api/v1/results/", "status")["enum"].is_array());

    // ... and the document says so: `offset` has a minimum of 0 wherever it is taken.
    let mut documented = 0;
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (verb, op) in operations.as_object().unwrap() {
            for parameter in op["parameters"].as_array().cloned().unwrap_or_default() {
                if parameter["name"] == "offset" {
                    assert_eq!(
                        parameter["schema"]["minimum"], 0,
                        "{verb} {path}: {parameter}"
                    );
                    documented += 1;
                }
            }
        }
    }
    assert!(documented >= 5, "{documented}");

    // Negative offsets are a 422 on every listing, in the one shape.
    let (_, token) = app.user("truth@example.com", Role::Admin).await;
    assert!(offsets.len() >= 5, "{offsets:?}");
    for path in &offsets {
        let path = path.trim_start_matches("/api/v1");
        let body = app.get(&format!("{path}?offset=-1"), &token, 422).await;
        assert_eq!(body["detail"][0]["path"], "query.offset", "{path}: {body}");
    }
    // A top-level array, a wrong type, a bad query value: 422 with a list of problems.
    let body = app
        .post("/jobs/", &token, json!([job_config("A")]), 422)
        .await;
    assert_eq!(body["detail"][0]["path"], "body", "{body}");
    let body = app
        .post(
            "/jobs/",
            &token,
            json!({"config": {}, "enabled": "yes"}),
            422,
        )
        .await;
    assert_eq!(body["detail"][0]["path"], "body.enabled", "{body}");
    let body = app.get("/jobs/?order=sideways", &token, 422).await;
    assert!(
        body["detail"][0]["path"]
            .as_str()
            .unwrap()
            .starts_with("query"),
        "{body}"
    );
    let body = app
        .call(
            reqwest::Method::POST,
            "/auth/register",
            None,
            Some(json!({"password": "long enough"})),
            422,
        )
        .await;
    assert_eq!(body["detail"][0]["path"], "body.email", "{body}");
}

/// Every fixed set of values is documented with the spellings the server reads and writes.
async fn the_document_spells_values_as_the_server_does(app: &TestApp) {
    use grandma_store::{DeliveryStatus, OverlapPolicy, RunStatus, WebhookEvent};
    let spec = app.openapi_document().await;
    let schemas = &spec["components"]["schemas"];
    let cases: [(&str, Vec<&str>); 5] = [
        ("Role", Role::ALL.iter().map(|v| v.as_str()).collect()),
        (
            "RunStatus",
            RunStatus::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "OverlapPolicy",
            OverlapPolicy::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "DeliveryStatus",
            DeliveryStatus::ALL.iter().map(|v| v.as_str()).collect(),
        ),
        (
            "WebhookEvent",
            WebhookEvent::ALL.iter().map(|v| v.as_str()).collect(),
        ),
    ];
    for (name, spellings) in cases {
        assert_eq!(schemas[name]["enum"], json!(spellings), "{name}");
        assert!(
            schemas[name]["description"]
                .as_str()
                .is_some_and(|d| !d.is_empty() && !d.starts_with(' ')),
            "{name}: {}",
            schemas[name]
        );
    }
    // The documented spelling is the one the server answers with and accepts.
    let (id, token) = app.user("spelling@example.com", Role::Admin).await;
    let me = app.get("/users/me", &token, 200).await;
    assert_eq!(me["role"], "admin");
    let (other, _) = app.user("spelled@example.com", Role::User).await;
    let body = app
        .call(
            reqwest::Method::PATCH,
            &format!("/users/{other}"),
            Some(&token),
            Some(json!({"role": "readonly"})),
            200,
        )
        .await;
    assert_eq!(body["role"], "readonly", "{body}");
    assert_ne!(id, other);
}

/// Lengths the server enforces are in the document, and so is the 415 of a token request that
/// is not a form.
async fn the_document_states_lengths_and_media_types(app: &TestApp) {
    let spec = app.openapi_document().await;
    let schemas = &spec["components"]["schemas"];
    for (schema, field, min, max) in [
        ("RegisterIn", "password", 8, 1024),
        ("RegisterIn", "username", 1, 100),
        ("MeUpdateIn", "password", 8, 1024),
        ("MeUpdateIn", "username", 1, 100),
        ("ApiTokenIn", "name", 1, 100),
    ] {
        let property = &schemas[schema]["properties"][field];
        assert_eq!(property["minLength"], min, "{schema}.{field}: {property}");
        assert_eq!(property["maxLength"], max, "{schema}.{field}: {property}");
    }
    let token = &spec["paths"]["/api/v1/auth/token"]["post"]["responses"];
    assert!(token.get("415").is_some(), "{token}");
    let response = app
        .client
        .post(app.api("/auth/token"))
        .json(&json!({"username": "someone@example.com", "password": "long enough"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 415);

    // The server holds to the documented bounds.
    let (_, token) = app.user("lengths@example.com", Role::User).await;
    app.post("/auth/api-tokens", &token, json!({"name": ""}), 422)
        .await;
    let long = "n".repeat(101);
    app.post("/auth/api-tokens", &token, json!({"name": long}), 422)
        .await;
    app.post(
        "/auth/api-tokens",
        &token,
        json!({"name": "n".repeat(100)}),
        201,
    )
    .await;
    let short = json!({"email": "short@example.com", "password": "seven77"});
    app.call(
        reqwest::Method::POST,
        "/auth/register",
        None,
        Some(short),
        422,
    )
    .await;
}
