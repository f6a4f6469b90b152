//! The schedule form shows the next five runs before saving, in the browser's time zone.

use grandma_store::{Backend, Paging, Role, Scope};
use reqwest::StatusCode;
use serde_json::json;

use crate::app::{WebApp, fixture_job};
use crate::browser::{Viewport, ui_test};
use crate::support::sign_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_form_shows_the_next_five_runs_before_saving() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("grandma@example.com", Role::User).await;
    let bearer = app.bearer("grandma@example.com").await;
    let job = app
        .job(
            &bearer,
            fixture_job("Daily prices", "http://127.0.0.1:9/shop", 1),
        )
        .await;
    let store = app.store.clone();
    ui_test("schedule_form", &app.url(""), Viewport::Phone, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto(&format!("/jobs/{job}/schedules")).await;
        ui.wait_text("#no-schedules", "No schedule").await;
        ui.wait_until("document.querySelectorAll('#upcoming li').length === 5").await;
        let first: String = ui.eval("document.querySelector('#upcoming li').textContent").await;
        assert!(first.ends_with("at 07:00"), "{first}");
        // Weekdays at 18:30.
        ui.click("input[value='weekdays']").await;
        ui.fill("#time", "1830").await;
        ui.wait_until(
            "[...document.querySelectorAll('#upcoming li')].length === 5 && \
             [...document.querySelectorAll('#upcoming li')].every(li => li.textContent.endsWith('at 18:30'))",
        )
        .await;
        let words = ui.text("#preview-words").await;
        assert!(words.to_lowercase().contains("monday") || words.to_lowercase().contains("weekday"), "{words}");
        // A broken expression is explained, not saved.
        ui.click("input[value='cron']").await;
        ui.fill("#cron", "61 * * * *").await;
        ui.wait_until("!document.getElementById('schedule-problem').hidden").await;
        let problem = ui.text("#schedule-problem").await;
        assert!(problem.starts_with("The schedule:"), "{problem}");
        ui.click("input[value='weekdays']").await;
        ui.wait_until("document.getElementById('schedule-problem').hidden").await;
        ui.click("#save-schedule").await;
        ui.wait_for("#schedules li").await;
        let zone: String = ui.eval("Intl.DateTimeFormat().resolvedOptions().timeZone").await;
        let saved = store
            .list_schedules(Scope::all(), Some(job.parse().unwrap()), Paging::new(10, 0))
            .await
            .unwrap();
        assert_eq!(saved.total, 1);
        assert_eq!(saved.items[0].cron_expression, "30 18 * * 1-5");
        assert_eq!(saved.items[0].timezone, zone);
    })
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_preview_endpoint_refuses_bad_input() {
    let app = WebApp::start(Backend::Postgres).await;
    app.account("ann@example.com", Role::User).await;
    let bearer = app.bearer("ann@example.com").await;
    let client = reqwest::Client::new();
    let preview = |body: serde_json::Value| {
        client
            .post(app.url("/api/v1/schedules/preview"))
            .bearer_auth(&bearer)
            .json(&body)
            .send()
    };
    let ok = preview(json!({"cron_expression": "0 7 * * *", "timezone": "Europe/Paris"}))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let body: serde_json::Value = ok.json().await.unwrap();
    assert_eq!(body["upcoming_runs"].as_array().unwrap().len(), 5);
    let first: chrono::DateTime<chrono::Utc> =
        body["upcoming_runs"][0].as_str().unwrap().parse().unwrap();
    let paris = first.with_timezone(&chrono_tz::Europe::Paris);
    assert_eq!(chrono::Timelike::hour(&paris), 7);
    for bad in [
        json!({"cron_expression": "not cron"}),
        json!({"cron_expression": "0 7 * * *", "timezone": "Mars/Olympus"}),
        json!({"cron_expression": "* ".repeat(200)}),
        json!({"cron_expression": "0 7 * * *", "extra": 1}),
        json!({"cron_expression": 7}),
    ] {
        let response = preview(bad.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
    }
    let unauthenticated = client
        .post(app.url("/api/v1/schedules/preview"))
        .json(&json!({"cron_expression": "0 7 * * *"}))
        .send()
        .await
        .unwrap();
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}
