//! Jobs: validation with field paths, listing with paging and filters, updates, runs.

use grandma_store::{Role, RunStatus};
use serde_json::json;

use crate::common::{TestApp, job_config};

api_test!(
    invalid_documents_list_every_problem,
    listing_pages_and_filters,
    update_delete_and_run,
    earlier_shape_with_top_level_name,
    malformed_json_is_400_whatever_comes_first
);

async fn invalid_documents_list_every_problem(app: &TestApp) {
    let (_, token) = app.user("jo@example.com", Role::User).await;
    let mut config = job_config("Broken");
    config["fields"][0]["selector"] = json!("h2[[[");
    config["colour"] = json!("blue");
    let body = app
        .post("/jobs/", &token, json!({"config": config}), 422)
        .await;
    let problems = body["detail"].as_array().expect("a list of problems");
    let paths: Vec<&str> = problems
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"config.fields[0].selector"), "{body}");
    assert!(paths.iter().any(|p| p.contains("colour")), "{body}");
    assert!(
        problems
            .iter()
            .all(|p| !p["message"].as_str().unwrap().is_empty())
    );

    // The start URL must pass the server's strict network guard.
    let mut private = job_config("Private");
    private["start_url"] = json!("http://127.0.0.1:8080/admin");
    let body = app
        .post("/jobs/", &token, json!({"config": private}), 422)
        .await;
    assert_eq!(body["detail"][0]["path"], "config.start_url");
    let mut metadata = job_config("Metadata");
    metadata["start_url"] = json!("http://169.254.169.254/latest");
    app.post("/jobs/", &token, json!({"config": metadata}), 422)
        .await;

    // Unknown top-level keys of the request itself are refused too.
    app.post(
        "/jobs/",
        &token,
        json!({"config": job_config("X"), "colour": 1}),
        422,
    )
    .await;
    app.post("/jobs/", &token, json!({}), 422).await;
}

async fn listing_pages_and_filters(app: &TestApp) {
    let (_, token) = app.user("lister@example.com", Role::User).await;
    for name in ["Cherry", "apple", "Banana", "Apple pie", "Date"] {
        app.job(&token, name).await;
    }
    let mut disabled = job_config("Elderberry");
    disabled["description"] = json!("off");
    app.post(
        "/jobs/",
        &token,
        json!({"config": disabled, "enabled": false}),
        201,
    )
    .await;

    let page = app.get("/jobs/?limit=2&offset=0", &token, 200).await;
    assert_eq!(page["total"], 6);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 0);
    // Newest first by default.
    assert_eq!(page["items"][0]["name"], "Elderberry");
    assert_eq!(page["items"].as_array().unwrap().len(), 2);
    let last = app.get("/jobs/?limit=2&offset=4", &token, 200).await;
    assert_eq!(last["items"].as_array().unwrap().len(), 2);
    assert_eq!(last["items"][1]["name"], "Cherry");

    let by_name = app.get("/jobs/?order=name&limit=3", &token, 200).await;
    let names: Vec<&str> = by_name["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["apple", "Apple pie", "Banana"]);

    let apples = app.get("/jobs/?name=APPLE", &token, 200).await;
    assert_eq!(apples["total"], 2);
    let off = app.get("/jobs/?enabled=false", &token, 200).await;
    assert_eq!(off["total"], 1);
    assert_eq!(off["items"][0]["enabled"], false);
    // The alias without the trailing slash answers the same.
    let alias = app.get("/jobs?enabled=true", &token, 200).await;
    assert_eq!(alias["total"], 5);
    app.get("/jobs/?order=sideways", &token, 422).await;
    app.get("/jobs/?limit=many", &token, 422).await;
}

async fn update_delete_and_run(app: &TestApp) {
    let (_, token) = app.user("editor@example.com", Role::User).await;
    let created = app
        .post(
            "/jobs/",
            &token,
            json!({"config": job_config("Original")}),
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["description"], "Original description");
    // Defaults are filled in the stored document.
    assert_eq!(created["config"]["item_selector_type"], "css");

    let mut config = job_config("Renamed");
    config["fields"] = json!([{"name": "only", "selector": "p"}]);
    let updated = app
        .put(
            &format!("/jobs/{id}"),
            &token,
            json!({"config": config, "enabled": false}),
            200,
        )
        .await;
    assert_eq!(updated["name"], "Renamed");
    assert_eq!(updated["enabled"], false);
    let mut bad = job_config("Bad");
    bad["fields"] = json!([]);
    app.put(&format!("/jobs/{id}"), &token, json!({"config": bad}), 422)
        .await;

    let queued = app
        .post(&format!("/jobs/{id}/run"), &token, json!({}), 202)
        .await;
    assert_eq!(queued["status"], "pending");
    // The in-process worker is woken (notify_one leaves a permit when nobody waits yet).
    tokio::time::timeout(
        std::time::Duration::from_secs(1),
        app.state.run_wakeup.notified(),
    )
    .await
    .expect("run_wakeup notified");
    let result_id: grandma_store::Uuid = queued["result_id"].as_str().unwrap().parse().unwrap();
    let run = app
        .store
        .get_run(grandma_store::Scope::all(), result_id)
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Pending);
    assert_eq!(run.columns, ["only"]);
    assert_eq!(queued["run_id"], run.run_id.to_string());

    app.delete(&format!("/jobs/{id}"), &token, 204).await;
    app.get(&format!("/jobs/{id}"), &token, 404).await;
    app.get(&format!("/results/{result_id}"), &token, 404).await;
    app.post(&format!("/jobs/{id}/run"), &token, json!({}), 404)
        .await;
}

/// The earlier API's `{name, description?, config, enabled?}` keeps working.
async fn earlier_shape_with_top_level_name(app: &TestApp) {
    let (_, token) = app.user("compat@example.com", Role::User).await;
    let mut config = job_config("ignored");
    let document = config.as_object_mut().unwrap();
    document.remove("name");
    document.remove("description");
    let created = app
        .post(
            "/jobs/",
            &token,
            json!({"name": "Old", "description": "old style", "config": config, "enabled": false}),
            201,
        )
        .await;
    assert_eq!(created["name"], "Old");
    assert_eq!(created["description"], "old style");
    assert_eq!(created["config"]["name"], "Old");
    assert_eq!(created["config"]["description"], "old style");
    assert_eq!(created["enabled"], false);
    let id = created["id"].as_str().unwrap();

    // Both places with the same value: fine; with different values: 422 naming the field.
    let same = job_config("Same");
    let updated = app
        .put(
            &format!("/jobs/{id}"),
            &token,
            json!({"name": "Same", "config": same}),
            200,
        )
        .await;
    assert_eq!(updated["name"], "Same");
    let body = app
        .put(
            &format!("/jobs/{id}"),
            &token,
            json!({"name": "Other", "description": "Different", "config": same}),
            422,
        )
        .await;
    let problems = body["detail"].as_array().expect("a list of problems");
    assert_eq!(problems.len(), 2, "{body}");
    assert_eq!(problems[0]["path"], "name");
    assert!(
        problems[0]["message"]
            .as_str()
            .unwrap()
            .contains("config.name")
    );
    assert_eq!(problems[1]["path"], "description");
    let body = app
        .post(
            "/jobs/",
            &token,
            json!({"name": "Other", "config": same}),
            422,
        )
        .await;
    assert_eq!(body["detail"][0]["path"], "name");
    // Nothing changed.
    let job = app.get(&format!("/jobs/{id}"), &token, 200).await;
    assert_eq!(job["name"], "Same");
}

/// A syntax error is a 400 even when an unknown field comes before it.
async fn malformed_json_is_400_whatever_comes_first(app: &TestApp) {
    let (_, token) = app.user("syntax@example.com", Role::User).await;
    for body in [
        r#"{"bogus": 1, "config": "#,
        r#"{"bogus": 1, "config": {]}"#,
        r#"{"enabled": "yes", "config": {"#,
    ] {
        let response = app
            .client
            .post(app.api("/jobs/"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body}");
    }
    // Well-formed with an unknown field: 422.
    app.post(
        "/jobs/",
        &token,
        json!({"bogus": 1, "config": job_config("X")}),
        422,
    )
    .await;
}
