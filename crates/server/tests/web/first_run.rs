//! First run: with no account every page leads to /setup, which creates the first admin only
//! with the setup code the server printed.

use grandma_store::{Backend, Role};
use reqwest::StatusCode;

use crate::app::{PASSWORD, WebApp, no_redirects};
use crate::browser::{Viewport, ui_test};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_creates_the_first_admin_only_with_the_code() {
    let app = WebApp::start(Backend::Sqlite).await;
    assert!(
        app.state.setup_code.is_pending(),
        "no account: a code was issued at start"
    );
    // The code printed at start-up is replaced by one the test knows.
    let code = app.state.setup_code.issue();
    let store = app.store.clone();
    ui_test(
        "first_run_setup",
        &app.url(""),
        Viewport::Phone,
        |ui| async move {
            ui.goto("/jobs/new").await;
            ui.wait_path("/setup").await;
            ui.fill("#email", "grandma@example.com").await;
            ui.fill("#password", PASSWORD).await;
            ui.fill("#code", "WRONG-CODE-1234").await;
            ui.click("form[action='/setup'] button").await;
            ui.wait_text("#problem", "setup code is not right").await;
            assert_eq!(
                store.count_users().await.unwrap(),
                0,
                "refused without the code"
            );
            ui.fill("#password", PASSWORD).await;
            ui.fill("#code", &code.to_lowercase()).await;
            ui.click("form[action='/setup'] button").await;
            ui.wait_path("/").await;
            ui.wait_text("main h1", "My scrapes").await;
            ui.wait_text("main", "Nothing here yet").await;
            let admin = store
                .get_user_by_email("grandma@example.com")
                .await
                .unwrap();
            assert_eq!(admin.role, Role::Admin);
            // The setup page is gone for good.
            ui.goto("/setup").await;
            ui.wait_path("/").await;
        },
    )
    .await;
    assert!(!app.state.setup_code.is_pending());
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_without_the_code_is_refused_over_http() {
    let app = WebApp::start(Backend::Postgres).await;
    let client = no_redirects();
    for path in ["/", "/login", "/signup", "/templates"] {
        let response = client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(response.headers()["location"], "/setup", "{path}");
    }
    for code in ["", "nope", &"A".repeat(5000)] {
        let response = client
            .post(app.url("/setup"))
            .header("origin", app.url(""))
            .form(&[
                ("email", "x@example.com"),
                ("password", PASSWORD),
                ("code", code),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
    }
    assert_eq!(app.store.count_users().await.unwrap(), 0);
    // With the code but a weak password: refused in words, and the code still works after.
    let code = app.state.setup_code.issue();
    let response = client
        .post(app.url("/setup"))
        .header("origin", app.url(""))
        .form(&[
            ("email", "x@example.com"),
            ("password", "short"),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(page.contains("Password:"), "{page}");
    let response = client
        .post(app.url("/setup"))
        .header("origin", app.url(""))
        .form(&[
            ("email", "x@example.com"),
            ("password", PASSWORD),
            ("code", &code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.store.count_users().await.unwrap(), 1);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_accounts_offers_no_setup() {
    let app = WebApp::start_with(Backend::Sqlite, Default::default(), |s| {
        s.auth.admin_email = Some("boss@example.com".into());
        s.auth.admin_password = Some(grandma_store::Secret(PASSWORD.into()));
    })
    .await;
    assert!(!app.state.setup_code.is_pending());
    let response = no_redirects().get(app.url("/setup")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/");
    app.finish().await;
}
