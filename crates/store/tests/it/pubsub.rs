//! Live run events between stores (processes) and the limit on abandoned attempts.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use grandma_store::{
    Backend, PubSub, Role, RunCompletion, RunEvent, RunOutcome, RunProgress, RunStatus, Scope,
};
use tokio::sync::Notify;

use crate::common::{TestDb, job_in, user};

store_test!(
    events_reach_every_subscriber,
    runs_whose_workers_keep_dying_are_given_up,
);

const SHORT: Duration = Duration::from_millis(1);

async fn events_reach_every_subscriber(db: &TestDb) {
    let owner = user(&db.store, "events@example.com", Role::User).await;
    let job = db
        .store
        .create_job(owner.user_id, &job_in("events", &["a"]))
        .await
        .unwrap();
    let run = db
        .store
        .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();

    // On PostgreSQL the publisher is another store, like another process.
    let other;
    let (api_wakeup, worker_wakeup) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let api = PubSub::start(&db.store, Arc::clone(&api_wakeup));
    let worker = match db.store.backend() {
        Backend::Sqlite => api.clone(),
        Backend::Postgres => {
            other = db.another_store().await;
            let worker = PubSub::start(&other, Arc::clone(&worker_wakeup));
            // Each listener pokes its wakeup once it listens.
            for wakeup in [&api_wakeup, &worker_wakeup] {
                tokio::time::timeout(Duration::from_secs(10), wakeup.notified())
                    .await
                    .expect("the listener is up");
            }
            worker
        }
    };
    let mut events = api.subscribe();

    let progress = RunEvent::Progress(RunProgress {
        result_id: run.result_id,
        owner_id: owner.user_id,
        org_id: run.org_id,
        status: RunStatus::Running,
        timestamp: grandma_store::now(),
        items_scraped: 3,
        pages_scraped: 1,
        current_url: Some("https://example.com/page-1".into()),
        message: Some("page 1 stored".into()),
    });
    worker.publish(progress.clone());
    let completion = RunEvent::Completion(RunCompletion {
        result_id: run.result_id,
        owner_id: owner.user_id,
        org_id: run.org_id,
        status: RunStatus::Completed,
        timestamp: grandma_store::now(),
        total_items: 3,
        total_pages: 1,
        duration_seconds: Some(1.0),
        error_message: None,
    });
    worker.publish(completion.clone());
    for expected in [progress, completion] {
        let got = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("an event within 10 s")
            .expect("not lagged");
        assert_eq!(got, expected);
    }

    // A queued run wakes the workers: of this process, and of the others on PostgreSQL.
    api.notify_run_queued().await;
    let woken = match db.store.backend() {
        Backend::Sqlite => &api_wakeup,
        Backend::Postgres => &worker_wakeup,
    };
    tokio::time::timeout(Duration::from_secs(10), woken.notified())
        .await
        .expect("the workers were woken");

    // The snapshot of a stored run.
    let RunEvent::Progress(snapshot) = RunEvent::snapshot(&run) else {
        panic!("a pending run is in progress");
    };
    assert_eq!(
        (snapshot.status, snapshot.items_scraped),
        (RunStatus::Pending, 0)
    );
    assert!(snapshot.timestamp <= Utc::now());
}

async fn runs_whose_workers_keep_dying_are_given_up(db: &TestDb) {
    let store = &db.store;
    let owner = user(store, "dying@example.com", Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in("dying", &["a"]))
        .await
        .unwrap();
    let run = store
        .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();

    // Two workers die on it (their leases expire); the third claimer is told to give up.
    for (attempt, worker) in [(1, "w1"), (2, "w2")] {
        let claim = store.claim_run(worker, SHORT, 2).await.unwrap().unwrap();
        assert_eq!(claim.run.result_id, run.result_id);
        assert_eq!((claim.run.attempts, claim.exhausted), (attempt, false));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claim = store
        .claim_run("w3", Duration::from_secs(60), 2)
        .await
        .unwrap()
        .unwrap();
    assert!(claim.exhausted);
    assert_eq!(claim.run.attempts, 2, "giving up is not another attempt");
    let failed = store
        .finish_run(
            run.result_id,
            "w3",
            &RunOutcome {
                status: RunStatus::Failed,
                error_message: Some("abandoned 2 times".into()),
                error_details: None,
                warnings: vec![],
                duration_seconds: 0.0,
                webhook_payload: None,
                quality: None,
                changes_payload: None,
                keep_runs: None,
            },
        )
        .await
        .unwrap();
    assert_eq!((failed.status, failed.attempts), (RunStatus::Failed, 2));
    assert!(store.claim_run("w4", SHORT, 2).await.unwrap().is_none());

    // Graceful releases never exhaust a run: a pending run is always crawled.
    let other = store
        .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    for worker in ["w5", "w6", "w7"] {
        let claim = store
            .claim_run(worker, Duration::from_secs(60), 2)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(claim.run.result_id, other.result_id);
        assert!(!claim.exhausted);
        store.release_run(other.result_id, worker).await.unwrap();
    }
    // `claim_next` has no limit.
    let claimed = store.claim_next("w8", SHORT).await.unwrap().unwrap();
    assert_eq!(claimed.attempts, 4);
}
