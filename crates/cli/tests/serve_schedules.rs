//! Exactly-once scheduling across processes: two `grandma serve` processes on one PostgreSQL
//! database (a missing PostgreSQL fails, never skips) share a per-minute schedule, and each
//! tick queues exactly one run, over three ticks. Takes about three minutes.

#[allow(dead_code)]
mod serve_support;

use std::process::Stdio;
use std::time::Duration;

use chrono::{DateTime, DurationRound, Timelike, Utc};
use grandma_store::{JobIn, OverlapPolicy, Paging, RunFilter, ScheduleIn, Scope};
use grandma_testkit::PgDb;
use serde_json::json;

use serve_support::store::{create_user, migrated_store};
use serve_support::{Serve, free_port, grandma};

const TICKS: usize = 3;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_queue_one_run_per_tick() {
    let db = PgDb::new("gsched_test").await;
    let store = migrated_store(&db.url).await;
    let owner = create_user(&store, "cron@example.com").await;
    // Nothing listens at the start URL: the runs fail at once; only their number matters.
    let config = json!({
        "name": "tick",
        "start_url": format!("http://127.0.0.1:{}/", free_port()),
        "item_selector": ".item",
        "fields": [{"name": "title", "selector": "h2"}],
    });
    let job = store
        .create_job(
            owner,
            &JobIn {
                name: "tick".into(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .unwrap();
    let first_tick = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap()
        + chrono::Duration::minutes(1);
    store
        .create_schedule(
            Scope::all(),
            job.job_id,
            &ScheduleIn {
                cron_expression: "* * * * *".into(),
                timezone: "UTC".into(),
                enabled: true,
                next_run: Some(first_tick),
                // Every tick queues a run even while the previous one is still going.
                overlap_policy: OverlapPolicy::Queue,
            },
        )
        .await
        .unwrap();

    let mut servers = Vec::new();
    let mut dirs = Vec::new();
    for _ in 0..2 {
        let dir = tempfile::tempdir().unwrap();
        let mut cmd = grandma(&db.url, dir.path(), &["serve"]);
        cmd.env("GRANDMA_BIND", format!("127.0.0.1:{}", free_port()))
            .env("GRANDMA_SCHEDULER_POLL_INTERVAL_SECONDS", "1")
            .stderr(Stdio::null());
        let server = Serve::start(cmd, || "(stderr not kept)".to_owned()).await;
        server.ready().await;
        servers.push(server);
        dirs.push(dir);
    }

    let last_tick = first_tick + chrono::Duration::minutes(TICKS as i64 - 1);
    let wait = (last_tick - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(10);
    tokio::time::sleep(wait).await;
    // Both servers still serve: neither stopped to make the count right.
    for server in &servers {
        server.ready().await;
    }

    let runs = store
        .list_runs(
            Scope::all(),
            &RunFilter {
                job_id: Some(job.job_id),
                status: None,
            },
            Paging::new(100, 0),
        )
        .await
        .unwrap();
    let mut minutes: Vec<DateTime<Utc>> = runs
        .items
        .iter()
        .map(|r| {
            r.created_at
                .with_second(0)
                .unwrap()
                .with_nanosecond(0)
                .unwrap()
        })
        .collect();
    minutes.sort();
    let expected: Vec<DateTime<Utc>> = (0..TICKS as i64)
        .map(|i| first_tick + chrono::Duration::minutes(i))
        .collect();
    assert_eq!(
        minutes, expected,
        "one run per tick, each in its own minute"
    );
    drop(servers);
    store.close().await;
    db.finish().await;
}
