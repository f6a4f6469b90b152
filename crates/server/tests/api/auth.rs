//! Registration, login, token lifetime and invalidation, API tokens.

use std::time::Duration;

use grandma_store::{Backend, Role, UserPatch};
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::common::{PASSWORD, TestApp};

api_test!(
    register_login_and_me,
    password_change_invalidates_tokens,
    deactivated_user_is_rejected,
    api_tokens_create_use_revoke,
    display_names_as_in_the_earlier_api
);
both_databases!(tokens_expire, initial_admin_is_created_once);

async fn register_login_and_me(app: &TestApp) {
    let id = app.register("Ann@Example.com").await;
    // Same address again, in another case: a conflict, not a second account.
    let dup = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": "ann@example.com", "password": PASSWORD})),
            409,
        )
        .await;
    assert!(dup["detail"].as_str().unwrap().contains("already"));
    // Short password and a non-address: both reported, with their paths, never the password.
    let bad = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": "nope", "password": "short12"})),
            422,
        )
        .await;
    let paths: Vec<&str> = bad["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["email", "password"]);
    assert!(!bad.to_string().contains("short12"));

    let (status, body) = app.login_raw("ann@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 30 * 60);
    let token = body["access_token"].as_str().unwrap();
    let me = app.get("/users/me", token, 200).await;
    assert_eq!(me["id"], id.to_string());
    assert_eq!(me["email"], "ann@example.com");
    assert_eq!(me["role"], "user");
    assert!(me.get("password_hash").is_none());

    let (status, body) = app.login_raw("ann@example.com", "wrong password").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(!body.to_string().contains("wrong password"));
    let (status, _) = app.login_raw("nobody@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    app.call(Method::GET, "/users/me", None, None, 401).await;
    app.get("/users/me", "garbage", 401).await;
    app.get("/users/me", "gs_not_a_real_token", 401).await;
}

async fn password_change_invalidates_tokens(app: &TestApp) {
    app.register("bob@example.com").await;
    let old = app.login("bob@example.com").await;
    // Without the current password the change is refused.
    app.put(
        "/users/me",
        &old,
        json!({"password": "a brand new secret"}),
        422,
    )
    .await;
    app.put(
        "/users/me",
        &old,
        json!({"password": "a brand new secret", "current_password": PASSWORD}),
        200,
    )
    .await;
    app.get("/users/me", &old, 401).await;
    let (status, _) = app.login_raw("bob@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = app.login_raw("bob@example.com", "a brand new secret").await;
    assert_eq!(status, StatusCode::OK);
    let fresh = body["access_token"].as_str().unwrap();
    let me = app
        .put(
            "/users/me",
            fresh,
            json!({"email": "robert@example.com"}),
            200,
        )
        .await;
    assert_eq!(me["email"], "robert@example.com");
}

async fn deactivated_user_is_rejected(app: &TestApp) {
    let id = app.register("carl@example.com").await;
    let token = app.login("carl@example.com").await;
    let api_token = app
        .post("/auth/api-tokens", &token, json!({"name": "ci"}), 201)
        .await;
    let api_token = api_token["token"].as_str().unwrap().to_owned();
    app.store
        .update_user(
            id,
            &UserPatch {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    app.get("/users/me", &token, 401).await;
    app.get("/users/me", &api_token, 401).await;
    let (status, _) = app.login_raw("carl@example.com", PASSWORD).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn api_tokens_create_use_revoke(app: &TestApp) {
    let (_, token) = app.user("dana@example.com", Role::User).await;
    let created = app
        .post("/auth/api-tokens", &token, json!({"name": "laptop"}), 201)
        .await;
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("gs_"));
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    let me = app.get("/users/me", &secret, 200).await;
    assert_eq!(me["email"], "dana@example.com");

    let list = app.get("/auth/api-tokens", &secret, 200).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["name"], "laptop");
    assert!(list[0]["last_used_at"].is_string());
    assert!(
        list[0].get("token").is_none(),
        "the secret is shown once only"
    );

    // Another user cannot revoke it; its owner can, and then it stops working.
    let (_, other) = app.user("eve@example.com", Role::User).await;
    let id = created["id"].as_str().unwrap();
    app.delete(&format!("/auth/api-tokens/{id}"), &other, 404)
        .await;
    app.delete(&format!("/auth/api-tokens/{id}"), &token, 204)
        .await;
    app.get("/users/me", &secret, 401).await;
    let list = app.get("/auth/api-tokens", &token, 200).await;
    assert!(list[0]["revoked_at"].is_string());
    app.post("/auth/api-tokens", &token, json!({"name": ""}), 422)
        .await;
}

async fn tokens_expire(backend: Backend) {
    // A zero lifetime: the token is valid within the second it was issued, then never again.
    let app = TestApp::start_with(backend, |s| s.auth.access_token_minutes = 0).await;
    app.register("fay@example.com").await;
    let token = app.login("fay@example.com").await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let body = app.get("/users/me", &token, 401).await;
    assert!(body["detail"].as_str().unwrap().contains("expired"));
    app.finish().await;
}

async fn initial_admin_is_created_once(backend: Backend) {
    let app = TestApp::start_with(backend, |s| {
        s.auth.admin_email = Some("boss@example.com".into());
        s.auth.admin_password = Some(PASSWORD.into());
    })
    .await;
    // `connect` created it and `launch` found it there: one admin, able to log in.
    assert_eq!(app.store.count_admins().await.unwrap(), 1);
    let token = app.login("boss@example.com").await;
    let me = app.get("/users/me", &token, 200).await;
    assert_eq!(me["role"], "admin");
    app.state.ensure_initial_admin().await.unwrap();
    let users = app.get("/users/", &token, 200).await;
    assert_eq!(users["total"], 1);
    app.finish().await;
}

/// The earlier API's `username`: an optional display name on register, `/users/me` and
/// `PUT /users/me`, 1 to 100 characters; logging in still takes the e-mail address.
async fn display_names_as_in_the_earlier_api(app: &TestApp) {
    let created = app
        .call(
            Method::POST,
            "/auth/register",
            None,
            Some(json!({"email": "grace@example.com", "username": " Grace H. ", "password": PASSWORD})),
            201,
        )
        .await;
    assert_eq!(created["username"], "Grace H.");
    for bad in [json!(""), json!("   "), json!("x".repeat(101))] {
        let body = app
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": "other@example.com", "username": bad, "password": PASSWORD})),
                422,
            )
            .await;
        assert_eq!(body["detail"][0]["path"], "username", "{body}");
    }
    let token = app.login("grace@example.com").await;
    let me = app.get("/users/me", &token, 200).await;
    assert_eq!(me["username"], "Grace H.");
    let me = app
        .put(
            "/users/me",
            &token,
            json!({"username": "x".repeat(100)}),
            200,
        )
        .await;
    assert_eq!(me["username"], "x".repeat(100));
    let body = app
        .put(
            "/users/me",
            &token,
            json!({"username": "x".repeat(101)}),
            422,
        )
        .await;
    assert_eq!(body["detail"][0]["path"], "username");
    // Without one, the name is null.
    app.register("nameless@example.com").await;
    let token = app.login("nameless@example.com").await;
    let me = app.get("/users/me", &token, 200).await;
    assert!(me["username"].is_null(), "{me}");
}
