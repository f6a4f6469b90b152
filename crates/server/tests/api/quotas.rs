//! Organizations' quotas through the API: each quota's edge (the last place taken, the next
//! request refused with the usage in words and in `usage`), an instance admin's overrides and
//! their reset, who may read and change them, exact usage numbers, and concurrent creates at
//! the limit.

use grandma_store::{Role, RunCounters, Uuid};
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{TestApp, job_config};

api_test!(
    quota_edges_and_messages,
    usage_is_for_members_and_quotas_for_admins,
    concurrent_creates_stop_at_the_limit,
);

async fn set_quotas(app: &TestApp, admin: &str, org: Uuid, body: Value, expect: u16) -> Value {
    app.put(&format!("/orgs/{org}/quotas"), admin, body, expect)
        .await
}

/// Claims the oldest pending run as a worker would and saves one page of `n` items.
async fn crawl_items(app: &TestApp, n: usize) {
    let run = app
        .store
        .claim_next("quota-test", std::time::Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a pending run");
    let items: Vec<grandma_store::Item> = (0..n)
        .map(|i| {
            grandma_store::Item::new(vec![
                grandma_store::FieldValue::Text(format!("t{i}")),
                grandma_store::FieldValue::Null,
                grandma_store::FieldValue::Null,
            ])
        })
        .collect();
    app.store
        .save_page(
            run.result_id,
            "quota-test",
            1,
            &items,
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            None,
        )
        .await
        .unwrap();
}

async fn quota_edges_and_messages(app: &TestApp) {
    let (_, admin) = app.user("root@example.com", Role::Admin).await;
    let (alice, token) = app.user("alice@example.com", Role::User).await;
    // A personal organization's id is its account's.
    let org = alice;
    set_quotas(
        app,
        &admin,
        org,
        json!({"max_jobs": 2, "max_schedules": 1, "max_runs_per_day": 2}),
        200,
    )
    .await;

    // Jobs: the second is the last place; the third is refused, with nothing created.
    let job = app.job(&token, "First").await;
    app.job(&token, "Second").await;
    let refused = app
        .post(
            "/jobs/",
            &token,
            json!({"config": job_config("Third")}),
            403,
        )
        .await;
    assert_eq!(
        refused["detail"],
        "This organization has 2 of its 2 jobs. Delete a job or ask an administrator to raise \
         the limit."
    );
    assert_eq!(
        refused["usage"],
        json!({"quota": "jobs", "used": 2, "limit": 2})
    );
    assert_eq!(app.get("/jobs/", &token, 200).await["total"], 2);

    // Schedules.
    let schedules = format!("/jobs/{job}/schedules");
    app.post(
        &schedules,
        &token,
        json!({"cron_expression": "0 9 * * *"}),
        201,
    )
    .await;
    let refused = app
        .post(
            &schedules,
            &token,
            json!({"cron_expression": "0 10 * * *"}),
            403,
        )
        .await;
    assert_eq!(
        refused["usage"],
        json!({"quota": "schedules", "used": 1, "limit": 1})
    );
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .starts_with("This organization has 1 of its 1 schedule."),
        "{refused}"
    );

    // Runs per day: 429, with when to try again.
    let run = format!("/jobs/{job}/run");
    app.post(&run, &token, json!({}), 202).await;
    crawl_items(app, 3).await;
    app.post(&run, &token, json!({}), 202).await;
    let response = app
        .client
        .post(app.api(&run))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429);
    let wait: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((86_000..=86_400).contains(&wait), "{wait}");
    let refused: Value = response.json().await.unwrap();
    assert_eq!(
        refused["usage"],
        json!({"quota": "runs_per_day", "used": 2, "limit": 2})
    );
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .starts_with("This organization queued 2 of its 2 runs in the last 24 hours."),
        "{refused}"
    );

    // Stored items: at the limit, no new run (403: waiting does not free it).
    set_quotas(
        app,
        &admin,
        org,
        json!({"max_runs_per_day": null, "max_stored_items": 3}),
        200,
    )
    .await;
    let refused = app.post(&run, &token, json!({}), 403).await;
    assert_eq!(
        refused["usage"],
        json!({"quota": "stored_items", "used": 3, "limit": 3})
    );
    assert_eq!(
        refused["detail"],
        "This organization stores 3 of its 3 items. Delete older runs or ask an administrator \
         to raise the limit."
    );
    set_quotas(app, &admin, org, json!({"max_stored_items": 4}), 200).await;
    app.post(&run, &token, json!({}), 202).await;

    // Back to the defaults: everything is allowed again.
    let reset = set_quotas(
        app,
        &admin,
        org,
        json!({"max_jobs": null, "max_schedules": null, "max_stored_items": null}),
        200,
    )
    .await;
    assert_eq!(
        reset["jobs"],
        json!({"used": 2, "limit": 1000, "overridden": false})
    );
    app.job(&token, "Third").await;
    app.post(
        &schedules,
        &token,
        json!({"cron_expression": "0 10 * * *"}),
        201,
    )
    .await;
}

async fn usage_is_for_members_and_quotas_for_admins(app: &TestApp) {
    let (_, admin) = app.user("admin@example.com", Role::Admin).await;
    let (alice, token) = app.user("owner@example.com", Role::User).await;
    let (_, stranger) = app.user("stranger@example.com", Role::User).await;
    let job = app.job(&token, "Counted").await;
    app.job(&token, "Also counted").await;
    app.post(
        &format!("/jobs/{job}/schedules"),
        &token,
        json!({"cron_expression": "0 9 * * *"}),
        201,
    )
    .await;
    for _ in 0..3 {
        app.post(&format!("/jobs/{job}/run"), &token, json!({}), 202)
            .await;
    }
    crawl_items(app, 4).await;

    let usage = app.get(&format!("/orgs/{alice}/usage"), &token, 200).await;
    assert_eq!(
        usage,
        json!({
            "org_id": alice,
            "jobs": {"used": 2, "limit": 1000, "overridden": false},
            "runs_per_day": {"used": 3, "limit": 5000, "overridden": false},
            "concurrent_runs": {"used": 1, "limit": 10, "overridden": false},
            "stored_items": {"used": 4, "limit": 10_000_000, "overridden": false},
            "schedules": {"used": 1, "limit": 200, "overridden": false},
        })
    );
    // Not a member: as if it did not exist. An instance admin sees any organization.
    app.get(&format!("/orgs/{alice}/usage"), &stranger, 404)
        .await;
    app.get(&format!("/orgs/{}/usage", Uuid::now_v7()), &admin, 404)
        .await;
    assert_eq!(
        app.get(&format!("/orgs/{alice}/usage"), &admin, 200).await,
        usage
    );

    // Only instance admins change limits; members included.
    let path = format!("/orgs/{alice}/quotas");
    app.put(&path, &token, json!({"max_jobs": 5000}), 403).await;
    app.put(&path, &stranger, json!({"max_jobs": 5000}), 403)
        .await;
    app.put(
        &format!("/orgs/{}/quotas", Uuid::now_v7()),
        &admin,
        json!({"max_jobs": 5}),
        404,
    )
    .await;

    // Every bad value at once, located; nothing changed.
    let err = app
        .put(
            &path,
            &admin,
            json!({"max_jobs": 0, "max_schedules": -1, "max_runs_per_day": 2_147_483_648_i64}),
            422,
        )
        .await;
    let paths: Vec<&str> = err["detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["max_jobs", "max_runs_per_day", "max_schedules"],
        "{err}"
    );
    assert!(
        err["detail"][0]["message"]
            .as_str()
            .unwrap()
            .contains("null returns it to the instance default"),
        "{err}"
    );
    app.put(&path, &admin, json!({"max_jobs": "ten"}), 422)
        .await;
    app.put(&path, &admin, json!({"max_job": 10}), 422).await;
    assert_eq!(
        app.get(&format!("/orgs/{alice}/usage"), &token, 200).await,
        usage
    );

    // Set two; a later body that leaves one out keeps it, null resets the other.
    let set = app
        .put(
            &path,
            &admin,
            json!({"max_jobs": 3, "max_stored_items": 20_000_000_000_i64}),
            200,
        )
        .await;
    assert_eq!(
        set["jobs"],
        json!({"used": 2, "limit": 3, "overridden": true})
    );
    assert_eq!(
        set["stored_items"],
        json!({"used": 4, "limit": 20_000_000_000_i64, "overridden": true})
    );
    let kept = app
        .put(&path, &admin, json!({"max_stored_items": null}), 200)
        .await;
    assert_eq!(kept["jobs"]["limit"], 3);
    assert_eq!(
        kept["stored_items"],
        json!({"used": 4, "limit": 10_000_000, "overridden": false})
    );
}

async fn concurrent_creates_stop_at_the_limit(app: &TestApp) {
    let (_, admin) = app.user("boss@example.com", Role::Admin).await;
    let (alice, token) = app.user("racer@example.com", Role::User).await;
    set_quotas(app, &admin, alice, json!({"max_jobs": 8}), 200).await;
    for i in 0..3 {
        app.job(&token, &format!("Before {i}")).await;
    }
    // Twenty requests at once for five places.
    let mut requests = Vec::new();
    for i in 0..20 {
        let request = app
            .client
            .request(Method::POST, app.api("/jobs/"))
            .bearer_auth(&token)
            .json(&json!({"config": job_config(&format!("Race {i}"))}));
        requests.push(tokio::spawn(async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let body: Value = response.json().await.unwrap();
            (status, body)
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for request in requests {
        let (status, body) = request.await.unwrap();
        match status {
            201 => created += 1,
            403 => {
                assert_eq!(
                    body["usage"],
                    json!({"quota": "jobs", "used": 8, "limit": 8})
                );
                refused += 1;
            }
            other => panic!("{other}: {body}"),
        }
    }
    assert_eq!((created, refused), (5, 15));
    assert_eq!(app.get("/jobs/", &token, 200).await["total"], 8);
}
