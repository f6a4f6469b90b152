use std::collections::HashMap;
use std::time::Duration;

use grandma_store::{
    CancelOutcome, FieldValue, Item, Paging, Role, RunCounters, RunFilter, RunOutcome, RunStatus,
    Scope, StoreError, Uuid, WebhookEvent, WebhookIn,
};

use crate::common::{TestDb, job_in, user};

store_test!(
    run_lifecycle,
    concurrent_claims_take_each_run_once,
    expired_lease_is_reclaimed_and_the_old_worker_writes_nothing,
    cancel_pending_and_running,
    release_keeps_the_checkpoint,
    scraped_nul_is_stored_as_the_replacement_character,
);

const LEASE: Duration = Duration::from_secs(60);

fn items(n: usize, page: usize) -> Vec<Item> {
    (0..n)
        .map(|i| {
            Item::new(vec![
                FieldValue::Text(format!("p{page}-i{i}")),
                FieldValue::List(vec!["a".into(), "b".into()]),
                FieldValue::Null,
            ])
        })
        .collect()
}

fn outcome(status: RunStatus) -> RunOutcome {
    RunOutcome {
        status,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 1.5,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs: None,
    }
}

async fn run_lifecycle(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let job = store
        .create_job(alice.user_id, &job_in("news", &["title", "tags", "note"]))
        .await
        .unwrap();
    let hook = store
        .create_webhook(
            alice.user_id,
            &WebhookIn {
                name: "done".into(),
                url: "https://hooks.example.com/x".into(),
                enabled: true,
                events: vec![WebhookEvent::JobCompleted],
                job_id: None,
                secret: None,
                headers: Default::default(),
                retry_on_failure: true,
                max_retries: 3,
            },
        )
        .await
        .unwrap();

    assert!(matches!(
        store
            .enqueue_run(
                Scope::member(bob.user_id),
                job.job_id,
                &grandma_store::NewRun::default()
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let run = store
        .enqueue_run(
            a,
            job.job_id,
            &grandma_store::NewRun {
                time_limit_seconds: Some(600),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(run.status, RunStatus::Pending);
    assert_eq!(
        run.columns,
        vec!["title", "tags", "note"],
        "field order snapshot"
    );
    assert_eq!(
        (run.owner_id, run.time_limit_seconds),
        (alice.user_id, Some(600))
    );
    assert_eq!((run.total_items, run.attempts), (0, 0));
    assert_ne!(run.run_id, run.result_id);
    assert_eq!(store.get_run(a, run.result_id).await.unwrap(), run);
    assert_eq!(store.get_run_by_run_id(a, run.run_id).await.unwrap(), run);
    assert!(matches!(
        store
            .get_run(Scope::member(bob.user_id), run.result_id)
            .await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.queue_depth().await.unwrap(), 1);

    let claimed = store.claim_next("w1", LEASE).await.unwrap().expect("a run");
    assert_eq!(claimed.result_id, run.result_id);
    assert_eq!(claimed.status, RunStatus::Running);
    assert_eq!(claimed.lease_owner.as_deref(), Some("w1"));
    assert_eq!(claimed.attempts, 1);
    assert!(claimed.started_at.is_some() && claimed.lease_expires_at > claimed.started_at);
    assert!(
        store.claim_next("w2", LEASE).await.unwrap().is_none(),
        "queue empty"
    );
    assert_eq!(
        (
            store.queue_depth().await.unwrap(),
            store.running_count().await.unwrap()
        ),
        (0, 1)
    );
    assert!(
        !store
            .heartbeat_run(run.result_id, "w1", LEASE)
            .await
            .unwrap()
    );
    assert!(matches!(
        store.heartbeat_run(run.result_id, "w2", LEASE).await,
        Err(StoreError::LeaseLost)
    ));

    let checkpoint = serde_json::json!({"next_page": 3, "pending_urls": ["https://e.com/3"]});
    let first = store
        .save_page(
            run.result_id,
            "w1",
            1,
            &items(3, 1),
            RunCounters {
                pages_scraped: 1,
                items_dropped: 1,
            },
            Some(&checkpoint),
        )
        .await
        .unwrap();
    assert_eq!((first.total_items, first.cancel_requested), (3, false));
    let second = store
        .save_page(
            run.result_id,
            "w1",
            2,
            &items(2, 2),
            RunCounters {
                pages_scraped: 2,
                items_dropped: 1,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(second.total_items, 5);
    // A retry of a save that did commit (its answer was lost) stores nothing twice.
    let retried = store
        .save_page(
            run.result_id,
            "w1",
            2,
            &items(2, 2),
            RunCounters {
                pages_scraped: 2,
                items_dropped: 1,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(retried.total_items, 5);
    let stored = store
        .list_items(Scope::all(), run.result_id, Paging::default())
        .await
        .unwrap();
    assert_eq!(stored.total, 5);

    let listed = store
        .list_runs(
            a,
            &RunFilter {
                job_id: Some(job.job_id),
                status: Some(RunStatus::Running),
            },
            Paging::default(),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items[0].pages_scraped, 2);
    assert_eq!(listed.items[0].checkpoint, None, "the last save cleared it");

    assert!(matches!(
        store
            .finish_run(run.result_id, "w1", &outcome(RunStatus::Running))
            .await,
        Err(StoreError::Invalid(_))
    ));
    let mut done = outcome(RunStatus::Completed);
    done.warnings = vec!["robots.txt disallowed 1 URL".into()];
    done.webhook_payload = Some(serde_json::json!({"event": "job.completed", "items_count": 5}));
    assert!(matches!(
        store.finish_run(run.result_id, "w2", &done).await,
        Err(StoreError::LeaseLost)
    ));
    let finished = store.finish_run(run.result_id, "w1", &done).await.unwrap();
    assert_eq!(finished.status, RunStatus::Completed);
    assert_eq!((finished.total_items, finished.items_dropped), (5, 1));
    assert_eq!(finished.warnings, done.warnings);
    assert_eq!(finished.duration_seconds, Some(1.5));
    assert!(finished.completed_at.is_some() && finished.lease_owner.is_none());
    assert!(matches!(
        store.heartbeat_run(run.result_id, "w1", LEASE).await,
        Err(StoreError::LeaseLost)
    ));
    // The outbox row was written with the final status.
    let deliveries = store
        .list_deliveries(a, hook.webhook_id, None, Paging::default())
        .await
        .unwrap();
    assert_eq!(deliveries.total, 1);
    assert_eq!(deliveries.items[0].event_type, WebhookEvent::JobCompleted);
    assert_eq!(deliveries.items[0].result_id, Some(run.result_id));

    // A failed run keeps its error.
    let run2 = store
        .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    store.claim_next("w1", LEASE).await.unwrap().unwrap();
    let mut failed = outcome(RunStatus::Failed);
    failed.error_message = Some("every page failed".into());
    failed.error_details =
        Some(serde_json::json!({"pages": [{"url": "https://e.com", "status": 503}]}));
    let row = store
        .finish_run(run2.result_id, "w1", &failed)
        .await
        .unwrap();
    assert_eq!(row.error_message, failed.error_message);
    assert_eq!(row.error_details, failed.error_details);

    let all = store
        .list_runs(Scope::all(), &RunFilter::default(), Paging::default())
        .await
        .unwrap();
    assert_eq!(
        all.items.iter().map(|r| r.result_id).collect::<Vec<_>>(),
        vec![run2.result_id, run.result_id]
    );
    assert!(matches!(
        store
            .delete_run(Scope::member(bob.user_id), run.result_id)
            .await,
        Err(StoreError::NotFound)
    ));
    store.delete_run(a, run.result_id).await.unwrap();
    // The delivery outlives its run, detached.
    let delivery = store
        .get_delivery(a, deliveries.items[0].delivery_id)
        .await
        .unwrap();
    assert_eq!(delivery.result_id, None);
}

async fn concurrent_claims_take_each_run_once(db: &TestDb) {
    const RUNS: usize = 60;
    let store = &db.store;
    let owner = user(store, "q@example.com", Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in("q", &["a"]))
        .await
        .unwrap();
    let mut expected = Vec::new();
    for _ in 0..RUNS {
        expected.push(
            store
                .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
                .await
                .unwrap()
                .result_id,
        );
    }
    // Three stores with their own pools play three worker processes, each with four tasks.
    let mut stores = vec![store.clone()];
    for _ in 0..2 {
        stores.push(db.another_store().await);
    }
    let mut tasks = Vec::new();
    for (p, s) in stores.iter().enumerate() {
        for t in 0..4 {
            let s = s.clone();
            let worker = format!("worker-{p}-{t}");
            tasks.push(tokio::spawn(async move {
                let mut mine = Vec::new();
                while let Some(run) = s.claim_next(&worker, LEASE).await.unwrap() {
                    assert_eq!(run.lease_owner.as_deref(), Some(worker.as_str()));
                    mine.push(run.result_id);
                }
                mine
            }));
        }
    }
    let mut claims: HashMap<Uuid, usize> = HashMap::new();
    let mut busy_workers = 0;
    for task in tasks {
        let mine = task.await.unwrap();
        busy_workers += usize::from(!mine.is_empty());
        for id in mine {
            *claims.entry(id).or_default() += 1;
        }
    }
    assert_eq!(claims.len(), RUNS, "every run claimed");
    assert!(
        claims.values().all(|&n| n == 1),
        "no run claimed twice: {claims:?}"
    );
    assert!(busy_workers > 1, "the claimers really competed");
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    assert_eq!(store.running_count().await.unwrap(), RUNS as i64);
    for s in &stores[1..] {
        s.close().await;
    }
}

async fn expired_lease_is_reclaimed_and_the_old_worker_writes_nothing(db: &TestDb) {
    let store = &db.store;
    let owner = user(store, "l@example.com", Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in("l", &["a", "b", "c"]))
        .await
        .unwrap();
    let run = store
        .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();

    let first = store
        .claim_next("dead", Duration::from_millis(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.attempts, 1);
    store
        .save_page(
            run.result_id,
            "dead",
            1,
            &items(2, 1),
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            Some(&serde_json::json!({"next_page": 2})),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;

    let second = store
        .claim_next("alive", LEASE)
        .await
        .unwrap()
        .expect("the dead worker's run");
    assert_eq!(second.result_id, run.result_id);
    assert_eq!(second.attempts, 2);
    assert_eq!(second.lease_owner.as_deref(), Some("alive"));
    assert_eq!(
        second.checkpoint,
        Some(serde_json::json!({"next_page": 2})),
        "resume point"
    );
    assert_eq!(
        second.started_at, first.started_at,
        "started_at is the first start"
    );

    // The old worker comes back: every write is refused and nothing changes.
    let lost = store
        .save_page(
            run.result_id,
            "dead",
            2,
            &items(5, 2),
            RunCounters {
                pages_scraped: 2,
                items_dropped: 0,
            },
            None,
        )
        .await;
    assert!(matches!(lost, Err(StoreError::LeaseLost)), "{lost:?}");
    assert!(matches!(
        store.heartbeat_run(run.result_id, "dead", LEASE).await,
        Err(StoreError::LeaseLost)
    ));
    assert!(matches!(
        store
            .finish_run(run.result_id, "dead", &outcome(RunStatus::Completed))
            .await,
        Err(StoreError::LeaseLost)
    ));
    assert!(matches!(
        store.release_run(run.result_id, "dead").await,
        Err(StoreError::LeaseLost)
    ));
    let now = store.get_run(Scope::all(), run.result_id).await.unwrap();
    assert_eq!((now.total_items, now.pages_scraped), (2, 1));
    let stored = store
        .list_items(Scope::all(), run.result_id, Paging::default())
        .await
        .unwrap();
    assert_eq!(stored.items.len(), 2);

    // The new owner continues the numbering.
    let saved = store
        .save_page(
            run.result_id,
            "alive",
            2,
            &items(1, 2),
            RunCounters {
                pages_scraped: 2,
                items_dropped: 0,
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(saved.total_items, 3);
    let stored = store
        .list_items(Scope::all(), run.result_id, Paging::default())
        .await
        .unwrap();
    assert_eq!(
        stored.items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(stored.items[2].page, 2);
}

async fn cancel_pending_and_running(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "c@example.com", Role::User).await;
    let bob = user(store, "d@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let job = store
        .create_job(alice.user_id, &job_in("c", &["a"]))
        .await
        .unwrap();
    let running = store
        .enqueue_run(a, job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    let pending = store
        .enqueue_run(a, job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    let claimed = store.claim_next("w", LEASE).await.unwrap().unwrap();
    assert_eq!(claimed.result_id, running.result_id, "oldest first");

    assert!(matches!(
        store
            .request_cancel(Scope::member(bob.user_id), pending.result_id)
            .await,
        Err(StoreError::NotFound)
    ));
    let CancelOutcome::Cancelled(row) = store.request_cancel(a, pending.result_id).await.unwrap()
    else {
        panic!("a pending run is cancelled at once");
    };
    assert_eq!(row.status, RunStatus::Cancelled);
    assert!(row.completed_at.is_some());
    assert!(
        store.claim_next("w2", LEASE).await.unwrap().is_none(),
        "never starts"
    );

    let CancelOutcome::Requested(row) = store.request_cancel(a, running.result_id).await.unwrap()
    else {
        panic!("a running run is flagged");
    };
    assert_eq!(
        (row.status, row.cancel_requested),
        (RunStatus::Running, true)
    );
    assert!(
        store
            .heartbeat_run(running.result_id, "w", LEASE)
            .await
            .unwrap()
    );
    let saved = store
        .save_page(
            running.result_id,
            "w",
            1,
            &items(1, 1),
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            None,
        )
        .await
        .unwrap();
    assert!(saved.cancel_requested, "the worker sees it within one page");
    store
        .finish_run(running.result_id, "w", &outcome(RunStatus::Cancelled))
        .await
        .unwrap();

    let CancelOutcome::AlreadyFinished(row) = store
        .request_cancel(Scope::all(), running.result_id)
        .await
        .unwrap()
    else {
        panic!("a finished run stays finished");
    };
    assert_eq!(row.status, RunStatus::Cancelled);
}

async fn release_keeps_the_checkpoint(db: &TestDb) {
    let store = &db.store;
    let owner = user(store, "r@example.com", Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in("r", &["a"]))
        .await
        .unwrap();
    let run = store
        .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    store.claim_next("w1", LEASE).await.unwrap().unwrap();
    let checkpoint = serde_json::json!({"next_page": 7});
    store
        .save_page(
            run.result_id,
            "w1",
            6,
            &items(2, 6),
            RunCounters {
                pages_scraped: 6,
                items_dropped: 0,
            },
            Some(&checkpoint),
        )
        .await
        .unwrap();
    let released = store.release_run(run.result_id, "w1").await.unwrap();
    assert_eq!(released.status, RunStatus::Pending);
    assert_eq!(
        (released.lease_owner, released.lease_expires_at),
        (None, None)
    );
    assert_eq!(released.checkpoint, Some(checkpoint.clone()));

    let again = store.claim_next("w2", LEASE).await.unwrap().unwrap();
    assert_eq!((again.attempts, again.total_items), (2, 2));
    assert_eq!(again.checkpoint, Some(checkpoint));

    // Releasing a run whose cancellation was requested ends it instead.
    store
        .request_cancel(Scope::all(), run.result_id)
        .await
        .unwrap();
    let ended = store.release_run(run.result_id, "w2").await.unwrap();
    assert_eq!(ended.status, RunStatus::Cancelled);
    assert!(ended.completed_at.is_some());
}

/// A page may serve NUL, which PostgreSQL cannot store: the run goes on, and both databases
/// store it as U+FFFD.
async fn scraped_nul_is_stored_as_the_replacement_character(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "nul@example.com", Role::User).await;
    let job = store
        .create_job(alice.user_id, &job_in("nul", &["title", "tags"]))
        .await
        .unwrap();
    let run = store
        .enqueue_run(
            Scope::member(alice.user_id),
            job.job_id,
            &grandma_store::NewRun::default(),
        )
        .await
        .unwrap();
    store.claim_next("w1", LEASE).await.unwrap().expect("a run");
    let item = Item::new(vec![
        FieldValue::Text("a\0b".into()),
        FieldValue::List(vec!["\0".into(), "c\u{1}d".into()]),
    ]);
    let checkpoint = serde_json::json!({"pending_urls": ["https://e.com/?q=\u{0}"]});
    store
        .save_page(
            run.result_id,
            "w1",
            1,
            &[item],
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            Some(&checkpoint),
        )
        .await
        .expect("a page with NUL is stored");
    let stored = store
        .list_items(Scope::all(), run.result_id, Paging::default())
        .await
        .unwrap();
    assert_eq!(
        stored.items[0].data,
        Item::new(vec![
            FieldValue::Text("a\u{FFFD}b".into()),
            FieldValue::List(vec!["\u{FFFD}".into(), "c\u{1}d".into()]),
        ])
    );
    let finished = store
        .finish_run(
            run.result_id,
            "w1",
            &RunOutcome {
                error_message: Some("bad \0 byte".into()),
                error_details: Some(serde_json::json!({"text": "\0"})),
                warnings: vec!["title \0".into()],
                ..outcome(RunStatus::Failed)
            },
        )
        .await
        .expect("a failure message with NUL is stored");
    assert_eq!(finished.error_message.as_deref(), Some("bad \u{FFFD} byte"));
    assert_eq!(finished.warnings, vec!["title \u{FFFD}".to_owned()]);
    assert_eq!(
        finished.checkpoint,
        Some(serde_json::json!({"pending_urls": ["https://e.com/?q=\u{FFFD}"]}))
    );
}
