//! Organizations' usage and the writes held to their quotas: exact counts, each quota's edge
//! (the last free place taken, the next one refused with the usage and the limit), overrides
//! and their reset, a scheduled firing over quota, and concurrent creates at the limit.

use chrono::Duration as TimeDelta;
use grandma_engine::{FieldValue, Item};
use grandma_store::{
    Backend, FireOutcome, NewRun, OrgQuotas, OrgUsage, OverlapPolicy, QuotaExceeded, QuotaKind,
    QuotaLimits, Role, RunCounters, RunOutcome, RunStatus, ScheduleIn, Scope, StoreError, Uuid,
};

use crate::common::{TestDb, job_in, user};

store_test!(
    usage_counts_exactly,
    jobs_quota_edge_and_overrides,
    schedules_quota_edge,
    runs_per_day_quota_edge,
    stored_items_quota_edge,
    scheduled_firing_over_quota_is_skipped,
    concurrent_creates_stop_at_the_limit,
);

const DEFAULTS: QuotaLimits = QuotaLimits {
    max_jobs: 1000,
    max_runs_per_day: 5000,
    max_concurrent_runs: 10,
    max_stored_items: 10_000_000,
    max_schedules: 200,
};

const LEASE: std::time::Duration = std::time::Duration::from_secs(60);

fn schedule_in(next_run: chrono::DateTime<chrono::Utc>) -> ScheduleIn {
    ScheduleIn {
        cron_expression: "0 7 * * *".into(),
        timezone: "UTC".into(),
        enabled: true,
        next_run: Some(next_run),
        overlap_policy: OverlapPolicy::Queue,
    }
}

fn items(n: usize) -> Vec<Item> {
    (0..n)
        .map(|i| Item::new(vec![FieldValue::Text(format!("v{i}"))]))
        .collect()
}

fn over(error: StoreError) -> QuotaExceeded {
    match error {
        StoreError::OverQuota(over) => over,
        other => panic!("expected a quota refusal, got {other:?}"),
    }
}

/// Claims `run` (the oldest pending) as worker `w` and saves one page of `n` items.
async fn run_with_items(db: &TestDb, n: usize) -> Uuid {
    let store = &db.store;
    let run = store.claim_next("w", LEASE).await.unwrap().expect("a run");
    store
        .save_page(
            run.result_id,
            "w",
            1,
            &items(n),
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            None,
        )
        .await
        .unwrap();
    run.result_id
}

/// A run that ends `Completed`, keeping the items of the `keep` newest completed runs of the
/// job.
fn completed(keep: Option<u32>) -> RunOutcome {
    RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 1.0,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs: keep,
    }
}

async fn usage_counts_exactly(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "u@example.com", Role::User).await;
    let bob = user(store, "v@example.com", Role::User).await;
    let team = store.create_org("Team", alice.user_id).await.unwrap();
    let scope = Scope::member(alice.user_id);
    let empty = store.org_usage(team.org_id).await.unwrap();
    assert_eq!(empty, OrgUsage::default());

    let mut jobs = Vec::new();
    for name in ["a", "b", "c"] {
        jobs.push(
            store
                .create_job_within_quota(
                    team.org_id,
                    alice.user_id,
                    &job_in(name, &["a"]),
                    &DEFAULTS,
                )
                .await
                .unwrap(),
        );
    }
    // Another organization's rows never count.
    let elsewhere = store
        .create_job_within_quota(bob.user_id, bob.user_id, &job_in("x", &["a"]), &DEFAULTS)
        .await
        .unwrap();
    let theirs = store
        .enqueue_run(
            Scope::member(bob.user_id),
            elsewhere.job_id,
            &NewRun::default(),
        )
        .await
        .unwrap();
    // Cancelled while pending, so the team's runs are the only ones workers claim below.
    store
        .request_cancel(Scope::member(bob.user_id), theirs.result_id)
        .await
        .unwrap();
    let at = grandma_store::now() + TimeDelta::hours(1);
    for job in &jobs[..2] {
        store
            .create_schedule_within_quota(scope, job.job_id, &schedule_in(at), &DEFAULTS)
            .await
            .unwrap();
    }
    // Five runs: two completed with 5 and 3 items (retention keeping only the newest, so the
    // first holds none any more), one crawling with 7, two pending.
    for keep in [None, Some(1)] {
        store
            .enqueue_run_within_quota(scope, jobs[0].job_id, &NewRun::default(), &DEFAULTS)
            .await
            .unwrap();
        let n = if keep.is_none() { 5 } else { 3 };
        let run = run_with_items(db, n).await;
        store.finish_run(run, "w", &completed(keep)).await.unwrap();
    }
    for _ in 0..3 {
        store
            .enqueue_run_within_quota(scope, jobs[1].job_id, &NewRun::default(), &DEFAULTS)
            .await
            .unwrap();
    }
    run_with_items(db, 7).await;
    let usage = store.org_usage(team.org_id).await.unwrap();
    assert_eq!(
        usage,
        OrgUsage {
            jobs: 3,
            runs_last_day: 5,
            running_runs: 1,
            stored_items: 10,
            schedules: 2,
        }
    );
}

async fn jobs_quota_edge_and_overrides(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "j@example.com", Role::User).await;
    let org = alice.user_id;
    store
        .set_org_quotas(
            org,
            &OrgQuotas {
                max_jobs: Some(2),
                ..OrgQuotas::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.get_org(org).await.unwrap().quotas.max_jobs, Some(2));
    assert_eq!(store.org_limits(org, &DEFAULTS).await.unwrap().max_jobs, 2);
    for name in ["one", "two"] {
        store
            .create_job_within_quota(org, org, &job_in(name, &["a"]), &DEFAULTS)
            .await
            .unwrap();
    }
    let refused = over(
        store
            .create_job_within_quota(org, org, &job_in("three", &["a"]), &DEFAULTS)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (refused.kind, refused.used, refused.limit),
        (QuotaKind::Jobs, 2, 2)
    );
    assert_eq!(
        refused.to_string(),
        "This organization has 2 of its 2 jobs. Delete a job or ask an administrator to raise \
         the limit."
    );
    assert_eq!(
        store.org_usage(org).await.unwrap().jobs,
        2,
        "nothing written"
    );

    // Back to the default: the instance's limit applies again.
    store
        .set_org_quotas(org, &OrgQuotas::default())
        .await
        .unwrap();
    assert_eq!(store.org_limits(org, &DEFAULTS).await.unwrap(), DEFAULTS);
    store
        .create_job_within_quota(org, org, &job_in("three", &["a"]), &DEFAULTS)
        .await
        .unwrap();
    // The instance default itself is a limit too.
    let tight = QuotaLimits {
        max_jobs: 3,
        ..DEFAULTS
    };
    let refused = over(
        store
            .create_job_within_quota(org, org, &job_in("four", &["a"]), &tight)
            .await
            .unwrap_err(),
    );
    assert_eq!((refused.used, refused.limit), (3, 3));
    // No such organization: not found, nothing written.
    assert!(matches!(
        store
            .create_job_within_quota(Uuid::now_v7(), org, &job_in("x", &["a"]), &DEFAULTS)
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn schedules_quota_edge(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "s@example.com", Role::User).await;
    let bob = user(store, "t@example.com", Role::User).await;
    let org = alice.user_id;
    let job = store
        .create_job_within_quota(org, org, &job_in("s", &["a"]), &DEFAULTS)
        .await
        .unwrap();
    let limits = QuotaLimits {
        max_schedules: 2,
        ..DEFAULTS
    };
    let at = grandma_store::now() + TimeDelta::hours(1);
    let scope = Scope::member(org);
    // Someone outside the organization learns nothing about its quota.
    assert!(matches!(
        store
            .create_schedule_within_quota(
                Scope::member(bob.user_id),
                job.job_id,
                &schedule_in(at),
                &limits
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let first = store
        .create_schedule_within_quota(scope, job.job_id, &schedule_in(at), &limits)
        .await
        .unwrap();
    assert_eq!(
        (first.job_id, first.org_id, first.next_run),
        (job.job_id, org, Some(at))
    );
    store
        .create_schedule_within_quota(scope, job.job_id, &schedule_in(at), &limits)
        .await
        .unwrap();
    let refused = over(
        store
            .create_schedule_within_quota(scope, job.job_id, &schedule_in(at), &limits)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (refused.kind, refused.used, refused.limit),
        (QuotaKind::Schedules, 2, 2)
    );
    assert!(
        refused.to_string().contains("2 of its 2 schedules"),
        "{refused}"
    );
    store
        .delete_schedule(scope, first.schedule_id)
        .await
        .unwrap();
    store
        .create_schedule_within_quota(scope, job.job_id, &schedule_in(at), &limits)
        .await
        .unwrap();
}

async fn runs_per_day_quota_edge(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "r@example.com", Role::User).await;
    let org = alice.user_id;
    let scope = Scope::member(org);
    let job = store
        .create_job_within_quota(org, org, &job_in("r", &["a"]), &DEFAULTS)
        .await
        .unwrap();
    let limits = QuotaLimits {
        max_runs_per_day: 3,
        ..DEFAULTS
    };
    let mut runs = Vec::new();
    for _ in 0..3 {
        runs.push(
            store
                .enqueue_run_within_quota(scope, job.job_id, &NewRun::default(), &limits)
                .await
                .unwrap(),
        );
    }
    let refused = over(
        store
            .enqueue_run_within_quota(scope, job.job_id, &NewRun::default(), &limits)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (refused.kind, refused.used, refused.limit),
        (QuotaKind::RunsPerDay, 3, 3)
    );
    // The place frees when the oldest counted run is a day old.
    assert_eq!(
        refused.free_at,
        Some(runs[0].created_at + grandma_store::RUNS_WINDOW)
    );
    // Finished, cancelled or failed, a queued run counts; one a day old no longer does.
    store
        .request_cancel(scope, runs[1].result_id)
        .await
        .unwrap();
    assert_eq!(store.org_usage(org).await.unwrap().runs_last_day, 3);
    age_run(
        db,
        runs[0].result_id,
        TimeDelta::hours(24) + TimeDelta::seconds(1),
    )
    .await;
    assert_eq!(store.org_usage(org).await.unwrap().runs_last_day, 2);
    store
        .enqueue_run_within_quota(scope, job.job_id, &NewRun::default(), &limits)
        .await
        .unwrap();
}

/// Moves a run's queuing time into the past, as if it had been queued `ago` before now (the
/// store has no clock to turn: the test writes the row behind its back).
async fn age_run(db: &TestDb, result_id: Uuid, ago: TimeDelta) {
    use sqlx::Connection;
    let at = grandma_store::now() - ago;
    let sql = "update result set created_at = $1 where result_id = $2";
    if db.store.backend() == Backend::Postgres {
        let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
        sqlx::query(sql)
            .bind(at)
            .bind(result_id)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
        sqlx::query(sql)
            .bind(at)
            .bind(result_id)
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
    }
}

async fn stored_items_quota_edge(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "i@example.com", Role::User).await;
    let org = alice.user_id;
    let scope = Scope::member(org);
    let job = store
        .create_job_within_quota(org, org, &job_in("i", &["a"]), &DEFAULTS)
        .await
        .unwrap();
    let limits = QuotaLimits {
        max_stored_items: 5,
        ..DEFAULTS
    };
    store
        .enqueue_run_within_quota(scope, job.job_id, &NewRun::default(), &limits)
        .await
        .unwrap();
    run_with_items(db, 4).await;
    // Four of five: room for another run.
    store
        .enqueue_run_within_quota(scope, job.job_id, &NewRun::default(), &limits)
        .await
        .unwrap();
    run_with_items(db, 1).await;
    let refused = over(
        store
            .enqueue_run_within_quota(scope, job.job_id, &NewRun::default(), &limits)
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (refused.kind, refused.used, refused.limit),
        (QuotaKind::StoredItems, 5, 5)
    );
    assert_eq!(
        refused.to_string(),
        "This organization stores 5 of its 5 items. Delete older runs or ask an administrator \
         to raise the limit."
    );
    assert_eq!(store.org_usage(org).await.unwrap().runs_last_day, 2);
}

async fn scheduled_firing_over_quota_is_skipped(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "f@example.com", Role::User).await;
    let org = alice.user_id;
    let scope = Scope::member(org);
    let job = store
        .create_job_within_quota(org, org, &job_in("f", &["a"]), &DEFAULTS)
        .await
        .unwrap();
    let limits = QuotaLimits {
        max_runs_per_day: 1,
        ..DEFAULTS
    };
    let past = grandma_store::now() - TimeDelta::minutes(1);
    let next = grandma_store::now() + TimeDelta::hours(1);
    let schedule = store
        .create_schedule_within_quota(scope, job.job_id, &schedule_in(past), &limits)
        .await
        .unwrap();
    let fired = store
        .fire_schedule(schedule.schedule_id, past, Some(next), &limits)
        .await
        .unwrap();
    assert!(matches!(fired, FireOutcome::Enqueued(_)), "{fired:?}");
    let after = grandma_store::now() + TimeDelta::hours(2);
    let skipped = store
        .fire_schedule(schedule.schedule_id, next, Some(after), &limits)
        .await
        .unwrap();
    let FireOutcome::SkippedQuota(over) = skipped else {
        panic!("expected a skip, got {skipped:?}");
    };
    assert_eq!(
        (over.kind, over.used, over.limit),
        (QuotaKind::RunsPerDay, 1, 1)
    );
    // Not queued, and the schedule moved on to its next occurrence.
    assert_eq!(store.org_usage(org).await.unwrap().runs_last_day, 1);
    let moved = store
        .get_schedule(scope, schedule.schedule_id)
        .await
        .unwrap();
    assert_eq!(moved.next_run, Some(after));
    let why = moved
        .last_skipped
        .expect("the schedule says why it skipped");
    assert!(
        why.starts_with("Skipped the run due at ") && why.contains("in the last 24 hours"),
        "{why}"
    );
}

async fn concurrent_creates_stop_at_the_limit(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "c@example.com", Role::User).await;
    let org = alice.user_id;
    let limits = QuotaLimits {
        max_jobs: 10,
        ..DEFAULTS
    };
    for i in 0..6 {
        store
            .create_job_within_quota(org, org, &job_in(&format!("before {i}"), &["a"]), &limits)
            .await
            .unwrap();
    }
    // Twenty creates at once, from several pools (as several API processes), for four places.
    let mut stores = vec![store.clone()];
    for _ in 0..3 {
        stores.push(db.another_store().await);
    }
    let mut tasks = Vec::new();
    for i in 0..20 {
        let store = stores[i % stores.len()].clone();
        tasks.push(tokio::spawn(async move {
            store
                .create_job_within_quota(org, org, &job_in(&format!("race {i}"), &["a"]), &limits)
                .await
        }));
    }
    let (mut created, mut refused) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(StoreError::OverQuota(over)) => {
                assert_eq!((over.used, over.limit), (10, 10));
                refused += 1;
            }
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!((created, refused), (4, 16));
    assert_eq!(store.org_usage(org).await.unwrap().jobs, 10);
    for other in stores.into_iter().skip(1) {
        other.close().await;
    }
}
