//! Editing a job in the wizard: it opens filled in from the job's document; renaming a column
//! and changing the item limit changes exactly those in the saved document, and the next run
//! writes the renamed column.

use std::time::Duration;

use grandma_store::{Backend, Role};
use serde_json::{Value, json};

use crate::app::{Parts, WebApp, fixture_job};
use crate::browser::{Viewport, ui_test};
use crate::fixture;
use crate::support::sign_in;

async fn job_config(app: &WebApp, bearer: &str, job: &str) -> Value {
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/jobs/{job}")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["config"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn editing_a_job_changes_only_what_was_changed() {
    let site = fixture::shop(1, 5, Duration::from_millis(0)).await;
    let app = WebApp::start_with(Backend::Sqlite, Parts { workers: true }, |_| {}).await;
    app.account("grandma@example.com", Role::User).await;
    let bearer = app.bearer("grandma@example.com").await;
    let mut document = fixture_job("Garden shop", &format!("http://{site}/shop"), 1);
    // Settings the wizard shows no control for must come through an edit as they were.
    document["max_items"] = json!(10);
    document["description"] = json!("Prices of the garden shop, every morning");
    document["timeout_seconds"] = json!(20);
    document["retry_count"] = json!(1);
    document["fields"][1]["required"] = json!(true);
    document["fields"][1]["default_value"] = json!("none");
    let job = app.job(&bearer, document).await;
    let before = job_config(&app, &bearer, &job).await;
    let path = format!("/jobs/{job}/edit");
    ui_test("job_edit", &app.url(""), Viewport::Desktop, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto(&path).await;
        ui.wait_text("main h1", "Edit Garden shop").await;
        // Filled in from the job: the page, its items marked, the columns, the limits.
        ui.wait_until("document.querySelectorAll('#rows tbody tr').length === 5").await;
        let marked: u32 = ui
            .eval("document.getElementById('snapshot').contentDocument.querySelectorAll('[data-gs-item]').length")
            .await;
        assert_eq!(marked, 5);
        let names: Vec<String> = ui
            .eval("[...document.querySelectorAll('#fields input')].map(i => i.value)")
            .await;
        assert_eq!(names, ["name", "price"]);
        assert_eq!(ui.eval::<String>("document.getElementById('job-name').value").await, "Garden shop");
        assert_eq!(ui.eval::<String>("document.getElementById('max-items').value").await, "10");
        assert_eq!(ui.eval::<String>("document.getElementById('max-pages').value").await, "1");
        assert!(!ui.eval::<bool>("document.getElementById('robots').checked").await);
        let hints: Vec<String> = ui
            .eval("[...document.querySelectorAll('#fields .hint')].map(h => h.textContent)")
            .await;
        assert!(hints.iter().all(|h| !h.contains('?')), "{hints:?}");

        ui.fill("#field-name-0", "title").await;
        ui.press("Tab").await;
        ui.wait_until("document.querySelector('#rows thead th')?.textContent === 'title'").await;
        ui.fill("#max-items", "3").await;
        ui.click("#save-run").await;
        ui.wait_until("/^\\/jobs\\/[0-9a-f-]+$/.test(location.pathname)").await;
        ui.wait_until("document.getElementById('progress')?.getAttribute('aria-valuenow') === '100'")
            .await;
        let csv: String = ui
            .eval("(async () => (await fetch(document.querySelector('#live-csv').href)).text())()")
            .await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().unwrap(), vec!["title", "price"]);
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect();
        assert_eq!(rows, fixture::shop_rows(1, 5)[..3].to_vec());
    })
    .await;
    let after = job_config(&app, &bearer, &job).await;
    let mut expected = before.clone();
    expected["fields"][0]["name"] = json!("title");
    expected["max_items"] = json!(3);
    assert_eq!(after, expected, "before: {before}");
    app.finish().await;
}
