//! Fair queueing with real workers: three worker pools on one PostgreSQL database (each its own
//! store pool and worker id, as three processes would be) crawl a local site whose page takes a
//! known time to answer. Organization A queues far more runs than the workers can take; once
//! they are all busy with A, organization B queues one run. B must not wait behind A's queue:
//! the next slot that comes free takes it, so B waits at most about one run's length.

mod common;

use std::time::Duration;

use axum::response::Html;
use grandma_store::{Backend, JobIn, NewRun, RunStatus, Scope, Store, Uuid};

use common::{Pool, TestDb, owner, test_config, wait_for};

/// How long the site takes to answer the one page of every run.
const PAGE_TIME: Duration = Duration::from_millis(400);
const POOLS: usize = 3;
const SLOTS_PER_POOL: usize = 2;
/// Runs A queues: many times what the slots take at once.
const A_RUNS: usize = 60;

/// A site of one slow page with a few items.
async fn site() -> String {
    let app = axum::Router::new().route(
        "/slow.html",
        axum::routing::get(|| async {
            tokio::time::sleep(PAGE_TIME).await;
            Html(
                "<html><body><article class=\"item\"><h3>one</h3></article>\
                 <article class=\"item\"><h3>two</h3></article></body></html>",
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/slow.html", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("site") });
    url
}

/// A job of the user's personal organization (same id) crawling `url`.
async fn job(store: &Store, org: Uuid, url: &str) -> Uuid {
    let config = serde_json::json!({
        "name": "slow page",
        "start_url": url,
        "item_selector": "article.item",
        "fields": [{"name": "title", "selector": "h3", "required": true}],
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "retry_count": 0,
        "timeout_seconds": 30,
        "respect_robots_txt": false,
    });
    store
        .create_job(
            org,
            &JobIn {
                name: "slow page".into(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .expect("create job")
        .job_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_single_run_waits_about_one_run_not_the_whole_queue() {
    let db = TestDb::new(Backend::Postgres).await;
    let url = site().await;
    let a = owner(&db.store).await.user_id;
    let b = owner(&db.store).await.user_id;
    let a_job = job(&db.store, a, &url).await;
    let b_job = job(&db.store, b, &url).await;
    for _ in 0..A_RUNS {
        db.store
            .enqueue_run(Scope::all(), a_job, &NewRun::default())
            .await
            .unwrap();
    }
    let mut pools = Vec::new();
    for p in 0..POOLS {
        let mut config = test_config(&format!("fair-{p}"), SLOTS_PER_POOL);
        config.max_concurrent_runs = 100;
        pools.push(Pool::start(db.another_store().await, config));
    }
    // Every slot busy with A, and A's runs still filling the queue.
    let slots = (POOLS * SLOTS_PER_POOL) as i64;
    let started = tokio::time::Instant::now();
    while db.store.running_count().await.unwrap() < slots {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "workers never got busy"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(PAGE_TIME * 2).await;
    let b_run = db
        .store
        .enqueue_run(Scope::all(), b_job, &NewRun::default())
        .await
        .unwrap();
    let a_ahead = db.store.queue_depth().await.unwrap() - 1;
    let b_run = wait_for(&db.store, b_run.result_id, Duration::from_secs(30), |r| {
        r.status == RunStatus::Completed
    })
    .await;
    let waited = (b_run.started_at.expect("claimed") - b_run.created_at)
        .to_std()
        .unwrap_or_default();
    let run_length = Duration::from_secs_f64(b_run.duration_seconds.expect("finished"));
    for pool in pools {
        pool.stop().await;
    }
    // In one queue B would have waited for every run of A queued before it.
    let fifo_wait = run_length.mul_f64(a_ahead as f64 / slots as f64);
    println!(
        "fairness: {POOLS} PostgreSQL workers x {SLOTS_PER_POOL} slots, runs of ~{run_length:?}; \
         B waited {waited:?} to be claimed with {a_ahead} runs of A queued ahead of it \
         (one queue: ~{fifo_wait:?})"
    );
    assert!(a_ahead >= 30, "A's queue was still long: {a_ahead}");
    // The next slot to come free takes B: at most one run's length, plus a claim's round
    // trips and the slots' scheduling.
    assert!(
        waited <= run_length + Duration::from_millis(250),
        "B waited {waited:?}, more than one run ({run_length:?})"
    );
    db.finish().await;
}
