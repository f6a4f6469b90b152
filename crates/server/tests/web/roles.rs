//! A read-only user sees everything of theirs and no write control; the API refuses their
//! writes anyway.

use grandma_store::{Backend, Role};
use reqwest::StatusCode;
use serde_json::json;

use crate::app::{WebApp, both_databases, fixture_job, no_redirects};
use crate::browser::{Viewport, ui_test};
use crate::support::{broken_on_a_phone, sign_in};

both_databases!(
    read_only_users_see_no_write_controls_and_cannot_write,
    admins_change_roles_on_the_users_page
);

async fn read_only_users_see_no_write_controls_and_cannot_write(backend: Backend) {
    let app = WebApp::start(backend).await;
    app.account("admin@example.com", Role::Admin).await;
    app.account("reader@example.com", Role::User).await;
    // The job is made while the account may still write, then the account is made read-only.
    let bearer = app.bearer("reader@example.com").await;
    let job = app
        .job(&bearer, fixture_job("Prices", "http://127.0.0.1:9/shop", 1))
        .await;
    let reader = app
        .store
        .get_user_by_email("reader@example.com")
        .await
        .unwrap();
    let patch = grandma_store::UserPatch {
        role: Some(Role::Readonly),
        ..Default::default()
    };
    app.store.update_user(reader.user_id, &patch).await.unwrap();
    let page = format!("/jobs/{job}");
    ui_test(
        &format!("readonly_controls_{backend:?}"),
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "reader@example.com").await;
            ui.wait_text(".cards", "Prices").await;
            assert!(
                !ui.exists("a[href='/jobs/new']").await,
                "no New scrape button"
            );
            ui.wait_text(".who", "(read only)").await;
            ui.goto(&page).await;
            ui.wait_text("main h1", "Prices").await;
            for control in ["#run-now", "#delete-job", "a[href$='/edit']", "#cancel-run"] {
                assert!(!ui.exists(control).await, "{control} is hidden");
            }
            ui.goto(&format!("{page}/schedules")).await;
            assert!(!ui.exists("#schedule-form").await);
            ui.goto(&format!("{page}/notifications")).await;
            assert!(!ui.exists("#webhook-form").await);
            ui.goto("/templates").await;
            assert!(!ui.exists("a[href^='/jobs/new']").await);
            // The users page is for admins.
            ui.goto("/admin/users").await;
            ui.wait_text("main h1", "Not allowed").await;
        },
    )
    .await;
    // Even with a valid session and CSRF token, the API says no.
    let (cookie, csrf) = app.sign_in("reader@example.com").await;
    let client = no_redirects();
    let run = client
        .post(app.url(&format!("/api/v1/jobs/{job}/run")))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .header("origin", app.url(""))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(run.status(), StatusCode::FORBIDDEN);
    let delete = client
        .delete(app.url(&format!("/api/v1/jobs/{job}")))
        .header("cookie", &cookie)
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(delete.status(), StatusCode::FORBIDDEN);
    app.finish().await;
}

async fn admins_change_roles_on_the_users_page(backend: Backend) {
    let app = WebApp::start(backend).await;
    app.account("admin@example.com", Role::Admin).await;
    app.account("bob@example.com", Role::User).await;
    let bob = app
        .store
        .get_user_by_email("bob@example.com")
        .await
        .unwrap();
    let store = app.store.clone();
    ui_test(&format!("users_page_{backend:?}"), &app.url(""), Viewport::Phone, |ui| async move {
        sign_in(&ui, "admin@example.com").await;
        ui.goto("/admin/users").await;
        // Each account reads whole: a card per person, no column squeezed to a few letters.
        let broken = broken_on_a_phone(&ui, "#users td, #users label span", "#users select").await;
        assert!(broken.is_empty(), "broken on a phone: {broken:?}");
        ui.select(&format!("#role-{}", bob.user_id), "readonly").await;
        ui.wait_text("#toast", "Saved").await;
        ui.click(&format!("[data-active='{}']", bob.user_id)).await;
        ui.wait_until(&format!(
            "document.querySelector(\"[data-active='{}']\").nextElementSibling.textContent === 'No'",
            bob.user_id
        ))
        .await;
        let after = store.get_user(bob.user_id).await.unwrap();
        assert_eq!(after.role, Role::Readonly);
        assert!(!after.is_active);
        // The last admin cannot demote themselves: refused in words.
        let admin = store.get_user_by_email("admin@example.com").await.unwrap();
        ui.select(&format!("#role-{}", admin.user_id), "user").await;
        ui.wait_until("document.getElementById('toast').dataset.kind === 'error'").await;
        let text = ui.text("#toast").await;
        assert!(!text.contains('{') && text.len() > 10, "{text}");
        assert_eq!(store.get_user(admin.user_id).await.unwrap().role, Role::Admin);
    })
    .await;
    app.finish().await;
}
