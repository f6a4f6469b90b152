//! Runs end to end: a worker pool against a real database (SQLite and PostgreSQL) and a fixture
//! site on 127.0.0.1.

mod common;

use std::time::Duration;

use chrono::Utc;
use grandma_engine::crawl::Checkpoint;
use grandma_engine::fetch::browser::ChromiumMissing;
use grandma_store::{CancelOutcome, FieldValue, Item, RunCounters, RunStatus, Scope};
use grandma_worker::{WORKER_HEARTBEAT_INTERVAL, WorkerConfig, WorkerError, run_workers};

use common::{
    Fixture, PER_PAGE, Pool, TestDb, expected_titles, job_config, owner, queue_run, test_config,
    titles, wait_for, wait_for_status,
};

both_backends!(
    a_run_completes_end_to_end,
    failures_are_recorded_with_their_reason,
    cancelling_a_running_run_keeps_its_items,
    a_dead_workers_run_resumes_from_its_checkpoint,
    shutdown_releases_a_running_run,
    a_run_past_its_time_limit_fails_and_keeps_its_items,
    a_browser_job_renders_its_pages_in_chromium,
    a_killed_servers_run_resumes_within_15_seconds,
);

async fn a_run_completes_end_to_end(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let pool = Pool::start(db.store.clone(), test_config("worker-e2e", 1));
    let run = queue_run(&db.store, &user, job_config(&site.url("/site/page-1.html"))).await;
    pool.wakeup.notify_one();

    let done = wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
    assert_eq!(titles(&db.store, run.result_id).await, expected_titles());
    assert_eq!(done.total_items, i64::from(3 * PER_PAGE));
    assert_eq!((done.pages_scraped, done.items_dropped), (3, 1));
    assert_eq!(done.error_message, None);
    assert!(
        done.warnings.iter().any(|w| w.contains("dropped")),
        "warnings: {:?}",
        done.warnings
    );
    assert!(done.completed_at.is_some() && done.duration_seconds.is_some());
    assert_eq!((done.lease_owner.as_deref(), done.attempts), (None, 1));
    assert_eq!(site.hits("/site/page-1.html"), 1);

    // The worker row is there while the pool runs, and gone after a clean stop.
    let seen = db
        .store
        .workers_seen_since(Utc::now() - WORKER_HEARTBEAT_INTERVAL * 3)
        .await
        .unwrap();
    assert!(seen.iter().any(|w| w.worker_id == "worker-e2e"), "{seen:?}");
    pool.stop().await;
    let seen = db
        .store
        .workers_seen_since(Utc::now() - chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(seen.is_empty(), "{seen:?}");
}

async fn failures_are_recorded_with_their_reason(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let broken = queue_run(&db.store, &user, job_config(&site.url("/broken"))).await;
    let invalid = queue_run(
        &db.store,
        &user,
        serde_json::json!({"name": "bad", "start_url": "not a url", "fields": []}),
    )
    .await;
    let mut browser = job_config(&site.url("/site/page-1.html"));
    browser["fetcher_type"] = "browser".into();
    let unsupported = queue_run(&db.store, &user, browser).await;
    let mut private = job_config("http://10.1.2.3/");
    private["timeout_seconds"] = 2.into();
    let guarded = queue_run(&db.store, &user, private).await;
    // This process has no browser: the browser job fails with the reason and what to do.
    let mut config = test_config("worker-fail", 2);
    config.browser = Err(ChromiumMissing::NotFound);
    let pool = Pool::start(db.store.clone(), config);

    let run = wait_for_status(&db.store, broken.result_id, RunStatus::Failed).await;
    let error = run.error_message.unwrap();
    assert!(error.contains("500"), "{error}");
    assert_eq!(run.total_items, 0);

    let run = wait_for_status(&db.store, invalid.result_id, RunStatus::Failed).await;
    assert!(run.error_message.unwrap().contains("invalid"));
    let problems = &run.error_details.expect("details")["problems"];
    assert!(
        problems.as_array().is_some_and(|p| !p.is_empty()),
        "{problems}"
    );

    let run = wait_for_status(&db.store, unsupported.result_id, RunStatus::Failed).await;
    let error = run.error_message.unwrap();
    assert!(
        error.contains("needs Chromium") && error.contains("GRANDMA_CHROMIUM"),
        "{error}"
    );

    let run = wait_for_status(&db.store, guarded.result_id, RunStatus::Failed).await;
    let error = run.error_message.unwrap();
    assert!(error.contains("network guard"), "{error}");
    pool.stop().await;
}

async fn cancelling_a_running_run_keeps_its_items(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let run = queue_run(&db.store, &user, job_config(&site.url("/slow/page-1.html"))).await;
    let pool = Pool::start(db.store.clone(), test_config("worker-cancel", 1));
    // Page 1 is saved; page 2 hangs for a minute.
    wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.total_items == 3
    })
    .await;
    let cancel = db
        .store
        .request_cancel(Scope::all(), run.result_id)
        .await
        .unwrap();
    assert!(matches!(cancel, CancelOutcome::Requested(_)), "{cancel:?}");

    // The lease heartbeat (every lease / 3 = 1 s) sees the flag well before page 2 answers.
    let done = wait_for(&db.store, run.result_id, Duration::from_secs(10), |r| {
        r.status.is_terminal()
    })
    .await;
    assert_eq!(done.status, RunStatus::Cancelled, "{done:#?}");
    assert_eq!(
        titles(&db.store, run.result_id).await[..],
        expected_titles()[..3]
    );
    assert_eq!((done.total_items, done.pages_scraped), (3, 1));
    pool.stop().await;
}

async fn a_dead_workers_run_resumes_from_its_checkpoint(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let run = queue_run(&db.store, &user, job_config(&site.url("/site/page-1.html"))).await;

    // Worker A claims the run, saves page 1 as the crawl would, then dies.
    let claimed = db
        .store
        .claim_next("worker-a", Duration::from_millis(500))
        .await
        .unwrap()
        .expect("a run to claim");
    assert_eq!(claimed.result_id, run.result_id);
    let page_1: Vec<Item> = (0..PER_PAGE)
        .map(|i| Item::new(vec![FieldValue::Text(format!("p1-i{i}"))]))
        .collect();
    let checkpoint = Checkpoint {
        next_page: 2,
        next_url: Some(site.url("/site/page-2.html").parse().unwrap()),
        total_items: 3,
        pages_scraped: 1,
        items_dropped: 0,
        live: None,
    };
    db.store
        .save_page(
            run.result_id,
            "worker-a",
            1,
            &page_1,
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            Some(&serde_json::to_value(&checkpoint).unwrap()),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(700)).await;

    // Worker B takes over after the lease expired and continues from page 2.
    let pool = Pool::start(db.another_store().await, test_config("worker-b", 1));
    let done = wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
    assert_eq!(
        titles(&db.store, run.result_id).await,
        expected_titles(),
        "no duplicates, in order"
    );
    assert_eq!(
        (done.total_items, done.pages_scraped, done.attempts),
        (9, 3, 2)
    );
    assert_eq!(
        site.hits("/site/page-1.html"),
        0,
        "page 1 is not fetched again"
    );
    assert_eq!(site.hits("/site/page-2.html"), 1);
    assert!(
        done.warnings
            .iter()
            .any(|w| w.contains("resumed from page 2")),
        "{:?}",
        done.warnings
    );

    // The old worker coming back writes nothing.
    let late = db
        .store
        .save_page(
            run.result_id,
            "worker-a",
            2,
            &page_1,
            RunCounters::default(),
            None,
        )
        .await;
    assert!(late.is_err());
    assert_eq!(titles(&db.store, run.result_id).await.len(), 9);
    pool.stop().await;
}

async fn shutdown_releases_a_running_run(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let run = queue_run(&db.store, &user, job_config(&site.url("/slow/page-1.html"))).await;
    let pool = Pool::start(db.store.clone(), test_config("worker-stop", 1));
    wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.total_items == 3
    })
    .await;

    let started = tokio::time::Instant::now();
    pool.stop().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown does not wait for the slow page"
    );
    let released = db.store.get_run(Scope::all(), run.result_id).await.unwrap();
    assert_eq!(released.status, RunStatus::Pending, "{released:#?}");
    assert_eq!(released.lease_owner, None);
    let checkpoint: Checkpoint =
        serde_json::from_value(released.checkpoint.expect("checkpoint kept")).unwrap();
    assert_eq!(checkpoint.next_page, 2);
    assert_eq!(
        titles(&db.store, run.result_id).await.len(),
        3,
        "items kept"
    );
}

/// Several worker processes on one backlog: every run is completed exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_workers_share_a_backlog_on_postgres() {
    let db = TestDb::new(grandma_store::Backend::Postgres).await;
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let mut config = job_config(&site.url("/single.html"));
    config["pagination"] = serde_json::json!({"type": "none"});
    let mut runs = Vec::new();
    for _ in 0..12 {
        runs.push(queue_run(&db.store, &user, config.clone()).await);
    }
    let mut pools = Vec::new();
    for w in 0..3 {
        let store = db.another_store().await;
        pools.push(Pool::start(store, test_config(&format!("worker-{w}"), 2)));
    }
    for run in &runs {
        let done = wait_for(&db.store, run.result_id, Duration::from_secs(60), |r| {
            r.status.is_terminal()
        })
        .await;
        assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
        assert_eq!((done.total_items, done.attempts), (3, 1), "{done:#?}");
        assert_eq!(
            titles(&db.store, run.result_id).await,
            ["one-0", "one-1", "one-2"]
        );
    }
    assert_eq!(
        site.hits("/single.html"),
        runs.len(),
        "each run crawled once"
    );
    for pool in pools {
        pool.stop().await;
    }
    db.finish().await;
}

#[tokio::test]
async fn a_bad_configuration_is_refused() {
    let db = TestDb::new(grandma_store::Backend::Sqlite).await;
    let mut config: WorkerConfig = test_config("w", 1);
    config.concurrency = 0;
    let outcome = run_workers(
        db.store.clone(),
        config,
        Default::default(),
        Default::default(),
    )
    .await;
    assert!(
        matches!(outcome, Err(WorkerError::Config(_))),
        "{outcome:?}"
    );
    db.finish().await;
}

/// The job's own `time_limit_seconds`, and the operator's default for jobs without one: a run
/// stuck past it fails with a clear error and keeps the pages it saved.
async fn a_run_past_its_time_limit_fails_and_keeps_its_items(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let mut config = job_config(&site.url("/slow/page-1.html"));
    config["time_limit_seconds"] = 2.into();
    let by_job = queue_run(&db.store, &user, config).await;
    let pool = Pool::start(db.store.clone(), test_config("worker-limit", 1));
    // Page 1 is saved at once; page 2 hangs for a minute, far past the limit.
    let done = wait_for(&db.store, by_job.result_id, Duration::from_secs(20), |r| {
        r.status.is_terminal()
    })
    .await;
    assert_eq!(done.status, RunStatus::Failed, "{done:#?}");
    assert_eq!(
        done.error_message.as_deref(),
        Some("the run exceeded its time limit of 2 s")
    );
    assert_eq!((done.total_items, done.pages_scraped), (3, 1));
    assert_eq!(
        titles(&db.store, by_job.result_id).await[..],
        expected_titles()[..3]
    );
    pool.stop().await;

    let by_default = queue_run(&db.store, &user, job_config(&site.url("/slow/page-1.html"))).await;
    let mut config = test_config("worker-default-limit", 1);
    config.default_time_limit = Some(Duration::from_secs(2));
    let pool = Pool::start(db.store.clone(), config);
    let done = wait_for(
        &db.store,
        by_default.result_id,
        Duration::from_secs(20),
        |r| r.status.is_terminal(),
    )
    .await;
    assert_eq!(done.status, RunStatus::Failed, "{done:#?}");
    assert_eq!(
        done.error_message.as_deref(),
        Some("the run exceeded its time limit of 2 s")
    );
    assert_eq!(done.total_items, 3);
    pool.stop().await;
}

/// A list built by a script: the worker renders it in the process's Chromium for `browser` and
/// `auto`, while plain HTTP (`requests`) sees an empty page and says why.
async fn a_browser_job_renders_its_pages_in_chromium(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let job = |fetcher: &str| {
        let mut config = job_config(&site.url("/js/list.html"));
        config["fetcher_type"] = fetcher.into();
        config["pagination"] = serde_json::json!({"type": "none"});
        config
    };
    let browser = queue_run(&db.store, &user, job("browser")).await;
    let auto = queue_run(&db.store, &user, job("auto")).await;
    let requests = queue_run(&db.store, &user, job("requests")).await;
    let pool = Pool::start(db.store.clone(), test_config("worker-browser", 2));
    pool.wakeup.notify_one();

    let expected: Vec<String> = (0..PER_PAGE).map(|i| format!("js-{i}")).collect();
    for run in [&browser, &auto] {
        let done = wait_for(&db.store, run.result_id, Duration::from_secs(90), |r| {
            r.status.is_terminal()
        })
        .await;
        assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
        assert_eq!(titles(&db.store, run.result_id).await, expected);
    }
    let done = wait_for(
        &db.store,
        requests.result_id,
        Duration::from_secs(30),
        |r| r.status.is_terminal(),
    )
    .await;
    assert_eq!(done.total_items, 0, "{done:#?}");
    assert!(
        done.warnings.iter().any(|w| w.contains("matched nothing")),
        "{:?}",
        done.warnings
    );
    pool.stop().await;
}

/// A process killed with `kill -9` leaves its run leased with the settings' default lease and
/// stops heartbeating; another worker resumes the run within about 15 s.
async fn a_killed_servers_run_resumes_within_15_seconds(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let settings = grandma_shared::Settings::for_database("sqlite://unused.db", "unused");
    let lease = WorkerConfig::from_settings(&settings).lease;
    let run = queue_run(&db.store, &user, job_config(&site.url("/site/page-1.html"))).await;
    // The killed process: it claimed the run with the default lease, then vanished.
    let killed_at = tokio::time::Instant::now();
    db.store
        .claim_run("killed-server", lease, 3)
        .await
        .unwrap()
        .expect("a run to claim");

    let pool = Pool::start(db.another_store().await, test_config("survivor", 1));
    wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.lease_owner.as_deref() == Some("survivor") || r.status.is_terminal()
    })
    .await;
    let waited = killed_at.elapsed();
    eprintln!(
        "resumed {:.1} s after the kill (lease {lease:?})",
        waited.as_secs_f64()
    );
    assert!(
        waited <= Duration::from_secs(16),
        "resumed only after {waited:?}"
    );
    let done = wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await;
    assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
    assert_eq!(titles(&db.store, run.result_id).await, expected_titles());
    pool.stop().await;
}
