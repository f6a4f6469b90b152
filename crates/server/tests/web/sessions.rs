//! Signing in and out: the cookie's flags, and a signed-out session gone on the server.

use grandma_server::auth::tokens;
use grandma_store::{Backend, Role, StoreError};
use reqwest::StatusCode;

use crate::app::{PASSWORD, WebApp, no_redirects};
use crate::browser::{Viewport, ui_test};
use crate::support::session_cookie;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_and_out_end_the_session_on_the_server() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("ann@example.com", Role::User).await;
    let store = app.store.clone();
    let base = app.url("");
    ui_test(
        "sign_in_out",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            // A page behind the sign-in comes back after it.
            ui.goto("/templates").await;
            ui.wait_path("/login").await;
            ui.fill("#email", "ann@example.com").await;
            ui.fill("#password", "not the password").await;
            ui.click("form[action='/login'] button").await;
            ui.wait_text("#problem", "do not match").await;
            ui.fill("#password", PASSWORD).await;
            ui.click("form[action='/login'] button").await;
            ui.wait_path("/templates").await;
            // Page scripts cannot read the cookie.
            let visible: String = ui.eval("document.cookie").await;
            assert!(!visible.contains("grandma_session"), "{visible}");
            let token = session_cookie(&ui).await.expect("a session cookie");
            let (session, user) = store.web_session(&tokens::hash(&token)).await.unwrap();
            assert_eq!(user.email, "ann@example.com");
            assert!(session.expires_at > chrono::Utc::now() + chrono::Duration::hours(300));
            ui.click(".signout button").await;
            ui.wait_path("/login").await;
            assert!(matches!(
                store.web_session(&tokens::hash(&token)).await,
                Err(StoreError::NotFound)
            ));
            // The old cookie, replayed, opens nothing.
            let response = no_redirects()
                .get(format!("{base}/"))
                .header("cookie", format!("grandma_session={token}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::SEE_OTHER);
            assert!(
                response.headers()["location"]
                    .to_str()
                    .unwrap()
                    .starts_with("/login")
            );
        },
    )
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_respects_the_account_rules() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("first@example.com", Role::Admin).await;
    let store = app.store.clone();
    ui_test("sign_up", &app.url(""), Viewport::Phone, |ui| async move {
        ui.goto("/signup").await;
        ui.fill("#email", "first@example.com").await;
        ui.fill("#password", PASSWORD).await;
        ui.click("form[action='/signup'] button").await;
        ui.wait_text("#problem", "already registered").await;
        ui.fill("#email", "new@example.com").await;
        ui.fill("#password", PASSWORD).await;
        ui.click("form[action='/signup'] button").await;
        ui.wait_path("/").await;
        let user = store.get_user_by_email("new@example.com").await.unwrap();
        assert_eq!(user.role, Role::User, "sign-up never makes an admin");
    })
    .await;
    app.finish().await;
}

/// The cookie's flags, on both databases, and `Secure` behind a TLS proxy.
async fn cookie_flags(backend: Backend) {
    let app = WebApp::start_with(backend, Default::default(), |s| {
        s.http.trusted_proxies =
            grandma_shared::config::List(vec!["127.0.0.1/32".parse().unwrap()]);
    })
    .await;
    app.account("ann@example.com", Role::User).await;
    let login = |proto: Option<&'static str>| {
        let mut request = no_redirects()
            .post(app.url("/login"))
            .header("origin", app.url(""))
            .form(&[("email", "ann@example.com"), ("password", PASSWORD)]);
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        request.send()
    };
    let plain = login(None).await.unwrap();
    assert_eq!(plain.status(), StatusCode::SEE_OTHER);
    let cookie = plain.headers()["set-cookie"].to_str().unwrap().to_owned();
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=1209600"] {
        assert!(cookie.contains(flag), "{flag} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let behind_tls = login(Some("https")).await.unwrap();
    let cookie = behind_tls.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.ends_with("; Secure"), "{cookie}");
    // The stored row has the token's hash, never the token.
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    let (session, _) = app.store.web_session(&tokens::hash(token)).await.unwrap();
    assert_ne!(session.token_hash, token);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_flags_sqlite() {
    cookie_flags(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cookie_flags_postgres() {
    cookie_flags(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deactivated_user_is_signed_out() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("ann@example.com", Role::User).await;
    let (cookie, _) = app.sign_in("ann@example.com").await;
    let user = app
        .store
        .get_user_by_email("ann@example.com")
        .await
        .unwrap();
    let patch = grandma_store::UserPatch {
        is_active: Some(false),
        ..Default::default()
    };
    app.store.update_user(user.user_id, &patch).await.unwrap();
    let response = no_redirects()
        .get(app.url("/"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let api = no_redirects()
        .get(app.url("/api/v1/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    app.finish().await;
}
