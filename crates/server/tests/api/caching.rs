//! Validators: finished runs' exports and item pages are immutable (strong tags, 304 without
//! reading an item), job, run, schedule, webhook and account reads carry tags, and `If-Match`
//! guards writes with a 412.

use grandma_store::{Backend, Role, Uuid};
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, ETAG, IF_MATCH, IF_NONE_MATCH};
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};
use crate::results::completed_run;

api_test!(
    finished_exports_are_immutable_and_answered_without_items,
    running_runs_are_not_cached,
    job_reads_carry_tags_and_writes_honour_if_match,
    result_reads_carry_tags_and_deletes_honour_if_match,
    schedule_reads_carry_tags_and_writes_honour_if_match,
    webhook_reads_carry_tags_and_writes_honour_if_match,
    user_reads_carry_tags_and_writes_honour_if_match,
    hostile_conditions_are_harmless
);

/// GET with a token and optional `If-None-Match`; returns status, headers and body.
async fn get(
    app: &TestApp,
    path: &str,
    token: &str,
    if_none_match: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = app.client.get(app.api(path)).bearer_auth(token);
    if let Some(tag) = if_none_match {
        request = request.header(IF_NONE_MATCH, tag);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    // A body cut short by a failed export is an error here, not a panic.
    let body = response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    (status, headers, body)
}

fn tag_of(headers: &reqwest::header::HeaderMap) -> String {
    headers
        .get(ETAG)
        .expect("an ETag")
        .to_str()
        .unwrap()
        .to_owned()
}

/// Renames the item table behind the server's back (or back again), so that any read of an
/// item fails: an answer that still succeeds did not read one.
async fn hide_items(app: &TestApp, hide: bool) {
    let sql = if hide {
        "alter table item rename to item_hidden"
    } else {
        "alter table item_hidden rename to item"
    };
    match app.store.backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
            sqlx::query(sql).execute(&pool).await.unwrap();
            pool.close().await;
        }
    }
}

async fn finished_exports_are_immutable_and_answered_without_items(app: &TestApp) {
    let (_, token) = app.user("cache@example.com", Role::User).await;
    let id = completed_run(app, &token, 10).await;
    let paths = [
        format!("/results/{id}/export/csv"),
        format!("/results/{id}/export/json"),
        format!("/results/{id}/export/jsonl"),
        format!("/results/{id}/export/xlsx"),
        format!("/results/{id}/export/csv?fields=title&limit=3"),
        format!("/results/{id}/items"),
        format!("/results/{id}/items?limit=2&offset=4"),
    ];
    let mut tags = Vec::new();
    for path in &paths {
        let (status, headers, body) = get(app, path, &token, None).await;
        assert_eq!(status, 200, "{path}");
        assert!(!body.is_empty(), "{path}");
        assert_eq!(
            headers[CACHE_CONTROL], "private, max-age=86400, immutable",
            "{path}"
        );
        let tag = tag_of(&headers);
        // XLSX files carry their creation time: the same content, not the same bytes.
        assert_eq!(
            tag.starts_with("W/"),
            path.contains("xlsx"),
            "{path}: {tag}"
        );
        // The same request, the same tag: derived from the run, not from the bytes sent.
        let (_, again, _) = get(app, path, &token, None).await;
        assert_eq!(tag_of(&again), tag, "{path}");
        tags.push(tag);
    }
    let mut distinct = tags.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(
        distinct.len(),
        tags.len(),
        "each format and query has its own tag"
    );

    // With the items unreadable, every conditional request still answers 304: nothing but
    // the run row was read.
    hide_items(app, true).await;
    for (path, tag) in paths.iter().zip(&tags) {
        let (status, headers, body) = get(app, path, &token, Some(tag)).await;
        assert_eq!(status, StatusCode::NOT_MODIFIED, "{path}");
        assert!(body.is_empty(), "{path}");
        assert_eq!(&tag_of(&headers), tag, "{path}");
        assert_eq!(headers[CACHE_CONTROL], "private, max-age=86400, immutable");
    }
    // A list that names the tag among others, and `*`, hit too.
    let listed = format!("\"0123\", {}", tags[0]);
    assert_eq!(get(app, &paths[0], &token, Some(&listed)).await.0, 304);
    assert_eq!(get(app, &paths[0], &token, Some("*")).await.0, 304);
    // Without the condition the items are needed, and the hidden table shows it.
    let (status, _, _) = get(app, &paths[5], &token, None).await;
    assert_eq!(
        status,
        StatusCode::INTERNAL_SERVER_ERROR,
        "the items were hidden"
    );
    hide_items(app, false).await;

    // Another tag, another query: the full answer.
    let (status, _, body) = get(app, &paths[0], &token, Some("\"stale\"")).await;
    assert_eq!(status, 200);
    assert!(String::from_utf8(body).unwrap().contains("Item 1"));
    // Another user is refused before any condition is looked at.
    let (_, other) = app.user("other@example.com", Role::User).await;
    assert_eq!(get(app, &paths[0], &other, Some(&tags[0])).await.0, 404);
}

async fn running_runs_are_not_cached(app: &TestApp) {
    let (_, token) = app.user("live@example.com", Role::User).await;
    let job = app.job(&token, "Live").await;
    let queued = app
        .post(&format!("/jobs/{job}/run"), &token, json!({}), 202)
        .await;
    let id = queued["result_id"].as_str().unwrap();
    for path in [
        format!("/results/{id}/export/csv"),
        format!("/results/{id}/items"),
    ] {
        let (status, headers, _) = get(app, &path, &token, Some("*")).await;
        assert_eq!(
            status, 200,
            "{path}: a pending run's items may still change"
        );
        assert!(headers.get(ETAG).is_none(), "{path}");
        assert!(headers.get(CACHE_CONTROL).is_none(), "{path}");
    }
}

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    if_match: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = app.client.request(method, app.api(path)).bearer_auth(token);
    if let Some(tag) = if_match {
        request = request.header(IF_MATCH, tag);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn job_reads_carry_tags_and_writes_honour_if_match(app: &TestApp) {
    use reqwest::Method;
    let (_, token) = app.user("editor@example.com", Role::User).await;
    let id = app.job(&token, "Tagged").await;
    let path = format!("/jobs/{id}");

    let (status, headers, _) = get(app, &path, &token, None).await;
    assert_eq!(status, 200);
    let read = tag_of(&headers);
    assert_eq!(headers[CACHE_CONTROL], "private, no-cache");
    assert_eq!(get(app, &path, &token, Some(&read)).await.0, 304);

    // A write naming the version read lands and answers the new version.
    let renamed = json!({"config": job_config("Renamed")});
    let (status, headers, body) = send(
        app,
        Method::PUT,
        &path,
        &token,
        Some(&read),
        Some(renamed.clone()),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let second = tag_of(&headers);
    assert_ne!(second, read);
    assert_eq!(get(app, &path, &token, Some(&read)).await.0, 200, "changed");
    assert_eq!(get(app, &path, &token, Some(&second)).await.0, 304);

    // The second writer that read the first version is refused, in the error format.
    let other = json!({"config": job_config("Lost update")});
    let (status, _, body) = send(app, Method::PUT, &path, &token, Some(&read), Some(other)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("the job changed since it was read"),
        "{detail}"
    );
    let stored = app.get(&path, &token, 200).await;
    assert_eq!(stored["name"], "Renamed", "nothing was written");
    // A weak tag never satisfies If-Match; a precondition is judged before the document.
    let weak = format!("W/{second}");
    let (status, _, _) = send(app, Method::PUT, &path, &token, Some(&weak), Some(renamed)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = send(
        app,
        Method::PUT,
        &path,
        &token,
        Some("\"stale\""),
        Some(json!({"config": {}})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);

    // Without If-Match, writes are as unconditional as they always were.
    let (status, headers, _) = send(
        app,
        Method::PUT,
        &path,
        &token,
        None,
        Some(json!({"config": job_config("Plain")})),
    )
    .await;
    assert_eq!(status, 200);
    let third = tag_of(&headers);

    // Delete: a stale version is refused, the current one deletes.
    let (status, _, _) = send(app, Method::DELETE, &path, &token, Some(&second), None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    app.get(&path, &token, 200).await;
    let (status, _, _) = send(app, Method::DELETE, &path, &token, Some(&third), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.get(&path, &token, 404).await;
    // A missing job stays a 404 whatever the condition; so does another user's.
    let (status, _, _) = send(app, Method::DELETE, &path, &token, Some("*"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let mine = app.job(&token, "Mine").await;
    let (_, intruder) = app.user("intruder@example.com", Role::User).await;
    let (status, _, _) = send(
        app,
        Method::DELETE,
        &format!("/jobs/{mine}"),
        &intruder,
        Some("*"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn result_reads_carry_tags_and_deletes_honour_if_match(app: &TestApp) {
    use reqwest::Method;
    let (_, token) = app.user("runs@example.com", Role::User).await;
    let id = completed_run(app, &token, 4).await;
    let path = format!("/results/{id}");
    let (status, headers, _) = get(app, &path, &token, None).await;
    assert_eq!(status, 200);
    let tag = tag_of(&headers);
    assert_eq!(get(app, &path, &token, Some(&tag)).await.0, 304);

    // A run whose state changed gets a new tag: a pending run, then cancelled.
    let job = app.job(&token, "Pending").await;
    let queued = app
        .post(&format!("/jobs/{job}/run"), &token, json!({}), 202)
        .await;
    let pending: Uuid = queued["result_id"].as_str().unwrap().parse().unwrap();
    let pending_path = format!("/results/{pending}");
    let before = tag_of(&get(app, &pending_path, &token, None).await.1);
    app.post(
        &format!("/results/{pending}/cancel"),
        &token,
        json!({}),
        200,
    )
    .await;
    let after = tag_of(&get(app, &pending_path, &token, None).await.1);
    assert_ne!(before, after);
    let (status, _, body) = send(
        app,
        Method::DELETE,
        &pending_path,
        &token,
        Some(&before),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert!(body["detail"].as_str().unwrap().contains("the run changed"));
    let (status, _, _) = send(
        app,
        Method::DELETE,
        &pending_path,
        &token,
        Some(&after),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // Without If-Match, as before.
    let (status, _, _) = send(app, Method::DELETE, &path, &token, None, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

/// A malformed body is a 422 whatever the version: the body is judged before the
/// precondition, and nothing is written (the resource's tag is unchanged).
async fn malformed_body_beats_a_stale_version(
    app: &TestApp,
    token: &str,
    path: &str,
    method: reqwest::Method,
    malformed: Value,
) {
    let before = tag_of(&get(app, path, token, None).await.1);
    let (status, _, body) = send(app, method, path, token, Some("\"old\""), Some(malformed)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}: {body}");
    assert_eq!(
        tag_of(&get(app, path, token, None).await.1),
        before,
        "{path}"
    );
}

/// The story of a resource whose writes honour `If-Match`, told by `token` on `path`: its read
/// carries a tag and answers 304 for it; a write (`method` with `first`) naming the tag lands
/// and answers the new one; a second write naming the old tag is refused with a 412 in the
/// error format and writes nothing; a weak or unknown tag is refused too; without the header
/// a write (`plain`) is unconditional. With `delete`, a stale delete is a 412 and the current
/// version deletes. Returns the tag of the last version written.
#[allow(clippy::too_many_arguments)]
async fn guarded_writes(
    app: &TestApp,
    token: &str,
    path: &str,
    method: reqwest::Method,
    first: Value,
    lost: Value,
    plain: Value,
    what: &str,
    delete: bool,
) -> String {
    use reqwest::Method;
    let (status, headers, _) = get(app, path, token, None).await;
    assert_eq!(status, 200, "{path}");
    let read = tag_of(&headers);
    assert_eq!(headers[CACHE_CONTROL], "private, no-cache");
    assert_eq!(get(app, path, token, Some(&read)).await.0, 304, "{path}");

    let (status, headers, body) =
        send(app, method.clone(), path, token, Some(&read), Some(first)).await;
    assert_eq!(status, 200, "{path}: {body}");
    let second = tag_of(&headers);
    assert_ne!(second, read);
    assert_eq!(get(app, path, token, Some(&read)).await.0, 200, "changed");
    assert_eq!(get(app, path, token, Some(&second)).await.0, 304);

    let (status, _, body) = send(
        app,
        method.clone(),
        path,
        token,
        Some(&read),
        Some(lost.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{path}: {body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("the {what} changed since it was read")),
        "{detail}"
    );
    assert_eq!(
        get(app, path, token, Some(&second)).await.0,
        304,
        "{path}: nothing was written"
    );
    let weak = format!("W/{second}");
    for condition in [weak.as_str(), "\"stale\""] {
        let (status, _, _) = send(
            app,
            method.clone(),
            path,
            token,
            Some(condition),
            Some(lost.clone()),
        )
        .await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{condition}");
    }
    assert_eq!(get(app, path, token, Some(&second)).await.0, 304);

    let (status, headers, body) = send(app, method, path, token, None, Some(plain)).await;
    assert_eq!(status, 200, "{path}: {body}");
    let third = tag_of(&headers);
    assert_ne!(third, second);
    if delete {
        let (status, _, _) = send(app, Method::DELETE, path, token, Some(&second), None).await;
        assert_eq!(status, StatusCode::PRECONDITION_FAILED);
        app.get(path, token, 200).await;
        let (status, _, _) = send(app, Method::DELETE, path, token, Some(&third), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        app.get(path, token, 404).await;
        let (status, _, _) = send(app, Method::DELETE, path, token, Some("*"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "gone whatever the condition");
    }
    third
}

async fn schedule_reads_carry_tags_and_writes_honour_if_match(app: &TestApp) {
    use reqwest::Method;
    let (_, token) = app.user("cron@example.com", Role::User).await;
    let job = app.job(&token, "Scheduled").await;
    let create = |expression: &str| json!({"cron_expression": expression, "timezone": "UTC"});
    let created = app
        .post(
            &format!("/jobs/{job}/schedules"),
            &token,
            create("0 9 * * *"),
            201,
        )
        .await;
    let path = format!("/schedules/{}", created["id"].as_str().unwrap());
    malformed_body_beats_a_stale_version(
        app,
        &token,
        &path,
        Method::PATCH,
        json!({"cron_expression": "not a cron"}),
    )
    .await;
    guarded_writes(
        app,
        &token,
        &path,
        Method::PATCH,
        json!({"cron_expression": "0 10 * * *"}),
        json!({"cron_expression": "0 11 * * *"}),
        json!({"overlap_policy": "queue"}),
        "schedule",
        true,
    )
    .await;

    // A firing is a change like any other: a write based on the read before it is refused,
    // so it cannot put back the `next_run` the scheduler has just moved on.
    let created = app
        .post(
            &format!("/jobs/{job}/schedules"),
            &token,
            create("*/5 * * * *"),
            201,
        )
        .await;
    let id: Uuid = created["id"].as_str().unwrap().parse().unwrap();
    let path = format!("/schedules/{id}");
    let read = tag_of(&get(app, &path, &token, None).await.1);
    let stored = app
        .store
        .get_schedule(grandma_store::Scope::all(), id)
        .await
        .unwrap();
    let due = stored.next_run.unwrap();
    assert!(matches!(
        app.store
            .fire_schedule(id, due, Some(due + chrono::Duration::minutes(5)))
            .await
            .unwrap(),
        grandma_store::FireOutcome::Enqueued(_)
    ));
    let (status, _, body) = send(
        app,
        Method::PATCH,
        &path,
        &token,
        Some(&read),
        Some(json!({"overlap_policy": "queue"})),
    )
    .await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");
    let after = app.get(&path, &token, 200).await;
    assert_eq!(after["overlap_policy"], "skip");
    assert_eq!(
        after["next_run"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        due + chrono::Duration::minutes(5)
    );
    // Another user's schedule stays a 404 whatever the condition.
    let (_, intruder) = app.user("intruder@example.com", Role::User).await;
    for method in [Method::PATCH, Method::DELETE] {
        let (status, _, _) = send(
            app,
            method,
            &path,
            &intruder,
            Some("*"),
            Some(json!({"enabled": false})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

async fn webhook_reads_carry_tags_and_writes_honour_if_match(app: &TestApp) {
    use reqwest::Method;
    let (_, token) = app.user("hooks@example.com", Role::User).await;
    let created = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "first", "url": "https://hooks.example.com/in"}),
            201,
        )
        .await;
    let path = format!("/webhooks/{}", created["id"].as_str().unwrap());
    malformed_body_beats_a_stale_version(
        app,
        &token,
        &path,
        Method::PATCH,
        json!({"events": ["no.such.event"]}),
    )
    .await;
    guarded_writes(
        app,
        &token,
        &path,
        Method::PATCH,
        json!({"name": "second"}),
        json!({"name": "lost"}),
        json!({"max_retries": 2}),
        "webhook",
        true,
    )
    .await;
    let (_, intruder) = app.user("intruder@example.com", Role::User).await;
    let created = app
        .post(
            "/webhooks",
            &token,
            json!({"name": "mine", "url": "https://hooks.example.com/in"}),
            201,
        )
        .await;
    let path = format!("/webhooks/{}", created["id"].as_str().unwrap());
    for method in [Method::PATCH, Method::DELETE] {
        let (status, _, _) = send(
            app,
            method,
            &path,
            &intruder,
            Some("*"),
            Some(json!({"name": "theirs"})),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}

async fn user_reads_carry_tags_and_writes_honour_if_match(app: &TestApp) {
    use reqwest::Method;
    let (_, admin) = app.user("root@example.com", Role::Admin).await;
    let (id, token) = app.user("member@example.com", Role::User).await;
    // An admin's view of another account.
    guarded_writes(
        app,
        &admin,
        &format!("/users/{id}"),
        Method::PATCH,
        json!({"role": "readonly"}),
        json!({"role": "admin"}),
        json!({"role": "user"}),
        "account",
        false,
    )
    .await;
    // The account's own view: the same version under /users/me.
    let (status, headers, _) = get(app, "/users/me", &token, None).await;
    assert_eq!(status, 200);
    let mine = tag_of(&headers);
    let (_, headers, _) = get(app, &format!("/users/{id}"), &admin, None).await;
    assert_eq!(tag_of(&headers), mine);
    guarded_writes(
        app,
        &token,
        "/users/me",
        Method::PUT,
        json!({"username": "Member"}),
        json!({"username": "Lost"}),
        json!({"username": "Plain"}),
        "account",
        false,
    )
    .await;
    let me = app.get("/users/me", &token, 200).await;
    assert_eq!(me["username"], "Plain");
    malformed_body_beats_a_stale_version(
        app,
        &token,
        "/users/me",
        Method::PUT,
        json!({"password": "short", "current_password": "whatever"}),
    )
    .await;
    // Delete: an admin's stale version is refused, the current one deletes.
    let path = format!("/users/{id}");
    let current = tag_of(&get(app, &path, &admin, None).await.1);
    let (status, _, _) = send(app, Method::DELETE, &path, &admin, Some("\"old\""), None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    let (status, _, _) = send(app, Method::DELETE, &path, &admin, Some(&current), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    app.get(&path, &admin, 404).await;
}

/// Malformed, oversized and hostile conditions: never a 500, never a false 304 or a write.
async fn hostile_conditions_are_harmless(app: &TestApp) {
    use reqwest::Method;
    let (_, token) = app.user("hostile@example.com", Role::User).await;
    let id = completed_run(app, &token, 3).await;
    let job = app.job(&token, "Guarded").await;
    let long = format!("\"{}\"", "a".repeat(7000));
    let many = "\"x\",".repeat(1500);
    for value in [
        "garbage",
        "\"unterminated",
        "W/",
        ",,,",
        long.as_str(),
        many.as_str(),
    ] {
        let (status, _, _) = get(
            app,
            &format!("/results/{id}/export/csv"),
            &token,
            Some(value),
        )
        .await;
        assert_eq!(status, 200, "If-None-Match {value:.40}");
        let (status, _, _) = get(app, &format!("/jobs/{job}"), &token, Some(value)).await;
        assert_eq!(status, 200, "If-None-Match {value:.40}");
        let (status, _, body) = send(
            app,
            Method::PUT,
            &format!("/jobs/{job}"),
            &token,
            Some(value),
            Some(json!({"config": job_config("Overwritten")})),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::PRECONDITION_FAILED,
            "If-Match {value:.40}"
        );
        assert!(body["detail"].is_string(), "{body}");
    }
    let stored = app.get(&format!("/jobs/{job}"), &token, 200).await;
    assert_eq!(stored["name"], "Guarded");
}
