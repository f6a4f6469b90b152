//! Schedules: expression and zone validation (422 with paths), description and upcoming runs,
//! enable/disable, scoping and roles.

use grandma_store::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::TestApp;

api_test!(schedule_crud_and_validation);

async fn patch(app: &TestApp, path: &str, token: &str, body: Value, expect: u16) -> Value {
    app.call(Method::PATCH, path, Some(token), Some(body), expect)
        .await
}

async fn schedule_crud_and_validation(app: &TestApp) {
    let (_, token) = app.user("cron@example.com", Role::User).await;
    let (_, other) = app.user("else@example.com", Role::User).await;
    let (_, reader) = app.user("look@example.com", Role::Readonly).await;
    let job = app.job(&token, "Scheduled").await;
    let path = format!("/jobs/{job}/schedules");

    for (body, field) in [
        (json!({"cron_expression": "* * * *"}), "cron_expression"),
        (json!({"cron_expression": "0 0 * * * *"}), "cron_expression"),
        (json!({"cron_expression": "61 * * * *"}), "cron_expression"),
        (json!({"cron_expression": "0 0 31 2 *"}), "cron_expression"),
        (
            json!({"cron_expression": "0 9 * * *", "timezone": "Mars/Base"}),
            "timezone",
        ),
        (
            json!({"cron_expression": "0 9 * * *", "overlap_policy": "pile-up"}),
            "overlap_policy",
        ),
    ] {
        let err = app.post(&path, &token, body.clone(), 422).await;
        assert_eq!(err["detail"][0]["path"], field, "{body}: {err}");
    }
    // Not in the owner's organization: 404 like anyone outside it (read-only members are
    // refused with 403, see `orgs.rs`).
    app.post(&path, &reader, json!({"cron_expression": "0 9 * * *"}), 404)
        .await;
    app.post(&path, &other, json!({"cron_expression": "0 9 * * *"}), 404)
        .await;

    let created = app
        .post(
            &path,
            &token,
            json!({"cron_expression": "0 9 * * 1-5", "timezone": "Europe/Berlin"}),
            201,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["description"], "At 09:00 on weekdays");
    assert_eq!(created["overlap_policy"], "skip");
    assert_eq!(created["enabled"], true);
    let upcoming = created["upcoming_runs"].as_array().unwrap();
    assert_eq!(upcoming.len(), 5);
    assert_eq!(created["next_run"], upcoming[0]);
    assert_eq!(created["last_run"], Value::Null);
    for run in upcoming {
        let at = chrono::DateTime::parse_from_rfc3339(run.as_str().unwrap()).unwrap();
        let local = at.with_timezone(&chrono_tz::Europe::Berlin);
        assert_eq!(local.format("%H:%M").to_string(), "09:00", "{run}");
    }

    let listed = app.get(&path, &token, 200).await;
    assert_eq!(listed["total"], 1);
    app.get(&path, &other, 404).await;
    app.get(&format!("/schedules/{id}"), &other, 404).await;
    app.get(&format!("/schedules/{id}"), &reader, 404).await;

    let off = patch(
        app,
        &format!("/schedules/{id}"),
        &token,
        json!({"enabled": false}),
        200,
    )
    .await;
    assert_eq!(
        (off["enabled"].clone(), off["next_run"].clone()),
        (json!(false), Value::Null)
    );
    let changed = patch(
        app,
        &format!("/schedules/{id}"),
        &token,
        json!({"enabled": true, "cron_expression": "*/15 * * * *", "overlap_policy": "queue"}),
        200,
    )
    .await;
    assert_eq!(changed["description"], "Every 15 minutes");
    assert_eq!(changed["overlap_policy"], "queue");
    assert!(changed["next_run"].is_string());
    patch(
        app,
        &format!("/schedules/{id}"),
        &token,
        json!({"cron_expression": "bogus"}),
        422,
    )
    .await;
    patch(app, &format!("/schedules/{id}"), &reader, json!({}), 404).await;

    app.delete(&format!("/schedules/{id}"), &token, 204).await;
    app.get(&format!("/schedules/{id}"), &token, 404).await;
}
