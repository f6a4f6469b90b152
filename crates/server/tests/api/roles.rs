//! The role matrix: admin, the owning user, another user and a read-only user against each
//! route, on the owner's resources (in the owner's personal organization). Ids of an
//! organization the caller is not in are 404 (ids do not leak), whether the caller could write
//! or not; read-only users are 403 on every write they could otherwise make; admins see
//! everything.

use grandma_store::Role;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

api_test!(role_matrix, last_admin_is_protected);

async fn role_matrix(app: &TestApp) {
    let (_, admin) = app.user("admin@example.com", Role::Admin).await;
    let (owner_id, owner) = app.user("owner@example.com", Role::User).await;
    let (other_id, other) = app.user("other@example.com", Role::User).await;
    let (_, reader) = app.user("reader@example.com", Role::Readonly).await;

    let job = app.job(&owner, "Owner's job").await;
    let job2 = app.job(&owner, "Owner's second job").await;
    let run = app
        .post(&format!("/jobs/{job}/run"), &owner, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let run2 = app
        .post(&format!("/jobs/{job}/run"), &owner, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let config = json!({"config": job_config("Renamed")});
    let preview = json!({"config": job_config("P"), "html": "<div class=product><h2>A</h2></div>"});

    // Expected statuses for [other user, read-only, owner, admin], tried in that order.
    let table: Vec<(Method, String, Option<Value>, [u16; 4])> = vec![
        (
            Method::GET,
            format!("/jobs/{job}"),
            None,
            [404, 404, 200, 200],
        ),
        (
            Method::PUT,
            format!("/jobs/{job}"),
            Some(config.clone()),
            [404, 404, 200, 200],
        ),
        (
            Method::POST,
            format!("/jobs/{job}/run"),
            None,
            [404, 404, 202, 202],
        ),
        (
            Method::POST,
            "/jobs/".into(),
            Some(config.clone()),
            [201, 403, 201, 201],
        ),
        (Method::GET, "/jobs/".into(), None, [200, 200, 200, 200]),
        (
            Method::GET,
            format!("/results/{run}"),
            None,
            [404, 404, 200, 200],
        ),
        (
            Method::GET,
            format!("/results/?job_id={job}"),
            None,
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            format!("/results/{run}/items"),
            None,
            [404, 404, 200, 200],
        ),
        (
            Method::GET,
            format!("/results/{run}/export/csv"),
            None,
            [404, 404, 200, 200],
        ),
        // The owner cancels the pending run; by the admin's turn it has finished.
        (
            Method::POST,
            format!("/results/{run}/cancel"),
            None,
            [404, 404, 200, 409],
        ),
        (
            Method::DELETE,
            format!("/results/{run2}"),
            None,
            [404, 404, 204, 404],
        ),
        (
            Method::DELETE,
            format!("/jobs/{job2}"),
            None,
            [404, 404, 204, 404],
        ),
        (Method::GET, "/users/".into(), None, [403, 403, 403, 200]),
        (
            Method::GET,
            format!("/users/{owner_id}"),
            None,
            [403, 403, 403, 200],
        ),
        (
            Method::PATCH,
            format!("/users/{other_id}"),
            Some(json!({"is_active": true})),
            [403, 403, 403, 200],
        ),
        (Method::GET, "/users/me".into(), None, [200, 200, 200, 200]),
        (
            Method::POST,
            "/preview".into(),
            Some(preview),
            [200, 200, 200, 200],
        ),
        (
            Method::GET,
            "/auth/api-tokens".into(),
            None,
            [200, 200, 200, 200],
        ),
    ];
    let actors = [
        ("other", &other),
        ("reader", &reader),
        ("owner", &owner),
        ("admin", &admin),
    ];
    for (method, path, body, expected) in table {
        for ((who, token), status) in actors.iter().zip(expected) {
            let body = match (&method, &body) {
                (_, Some(b)) => Some(b.clone()),
                (&Method::POST, None) => Some(json!({})),
                _ => None,
            };
            let got = app
                .client
                .request(method.clone(), app.api(&path))
                .bearer_auth(token);
            let got = match body {
                Some(b) => got.json(&b),
                None => got,
            };
            let response = got.send().await.unwrap();
            assert_eq!(response.status().as_u16(), status, "{who}: {method} {path}");
        }
    }

    // Listings are scoped: the other user sees only the job it created above, the admin all.
    let mine = app.get("/jobs/", &other, 200).await;
    assert_eq!(mine["total"], 1);
    let all = app.get("/jobs/", &admin, 200).await;
    assert_eq!(all["total"], 4);
    let runs = app.get("/results/", &other, 200).await;
    assert_eq!(runs["total"], 0);
}

async fn last_admin_is_protected(app: &TestApp) {
    let (admin_id, admin) = app.user("root@example.com", Role::Admin).await;
    let (user_id, _) = app.user("plain@example.com", Role::User).await;
    app.call(
        Method::PATCH,
        &format!("/users/{admin_id}"),
        Some(admin.as_str()),
        Some(json!({"role": "user"})),
        409,
    )
    .await;
    app.delete(&format!("/users/{admin_id}"), &admin, 409).await;
    // With a second admin, the first may step down; unknown roles are a 422.
    app.call(
        Method::PATCH,
        &format!("/users/{user_id}"),
        Some(admin.as_str()),
        Some(json!({"role": "emperor"})),
        422,
    )
    .await;
    let promoted = app
        .call(
            Method::PATCH,
            &format!("/users/{user_id}"),
            Some(admin.as_str()),
            Some(json!({"role": "admin"})),
            200,
        )
        .await;
    assert_eq!(promoted["role"], "admin");
    app.delete(&format!("/users/{admin_id}"), &admin, 204).await;
    app.get("/users/me", &admin, 401).await;
    let page = app
        .get(
            "/users/?limit=1",
            &app.login("plain@example.com").await,
            200,
        )
        .await;
    assert_eq!(
        (page["total"].as_i64(), page["limit"].as_i64()),
        (Some(1), Some(1))
    );
    app.get(
        &format!("/users/{}", uuid_nil()),
        &app.login("plain@example.com").await,
        404,
    )
    .await;
}

fn uuid_nil() -> grandma_store::Uuid {
    grandma_store::Uuid::nil()
}
