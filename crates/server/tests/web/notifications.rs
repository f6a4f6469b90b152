//! Notifications: add a webhook for a job, send it a test and see that it arrived, remove it.

use grandma_store::{Backend, Paging, Role, Scope};

use crate::app::{WebApp, fixture_job};
use crate::browser::{Viewport, ui_test};
use crate::fixture;
use crate::support::sign_in;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_added_tested_and_removed() {
    let (receiver, received) = fixture::receiver().await;
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("grandma@example.com", Role::User).await;
    let bearer = app.bearer("grandma@example.com").await;
    let job = app
        .job(&bearer, fixture_job("Prices", "http://127.0.0.1:9/shop", 1))
        .await;
    let store = app.store.clone();
    ui_test(
        "webhooks",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "grandma@example.com").await;
            ui.goto(&format!("/jobs/{job}/notifications")).await;
            ui.wait_text("#no-webhooks", "None yet").await;
            // A bad address is explained in words.
            ui.fill("#hook-name", "Team chat").await;
            ui.fill("#hook-url", "ftp://example.com/x").await;
            ui.click("#webhook-form button[type=submit]").await;
            ui.wait_until("!document.getElementById('webhook-problem').hidden")
                .await;
            let problem = ui.text("#webhook-problem").await;
            assert!(problem.starts_with("The address:"), "{problem}");
            ui.fill("#hook-url", &format!("http://{receiver}/hook"))
                .await;
            ui.click("#webhook-form button[type=submit]").await;
            ui.wait_for("#webhooks li").await;
            let hooks = store
                .list_webhooks(Scope::all(), None, Paging::new(10, 0))
                .await
                .unwrap();
            assert_eq!(hooks.total, 1);
            let hook = &hooks.items[0];
            assert_eq!(hook.job_id, Some(job.parse().unwrap()));
            ui.click(&format!("[data-test='{}']", hook.webhook_id))
                .await;
            ui.wait_text(&format!("#test-{}", hook.webhook_id), "The test arrived")
                .await;
            {
                let got = received.lock().unwrap();
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].0, "ping");
            }
            ui.click(&format!("[data-remove='{}']", hook.webhook_id))
                .await;
            ui.wait_until("document.querySelectorAll('#webhooks li').length === 0")
                .await;
            assert_eq!(
                store
                    .list_webhooks(Scope::all(), None, Paging::new(10, 0))
                    .await
                    .unwrap()
                    .total,
                0
            );
        },
    )
    .await;
    app.finish().await;
}
