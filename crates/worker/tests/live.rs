//! What workers publish while they run (progress per stored page, completion at the end), and
//! runs whose workers keep dying being given up. SQLite and PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use grandma_store::{PubSub, RunEvent, RunStatus};
use tokio::sync::Notify;

use common::{
    Fixture, PER_PAGE, Pool, TestDb, job_config, owner, queue_run, test_config, titles,
    wait_for_status,
};

both_backends!(
    progress_and_completion_are_published,
    a_run_abandoned_too_often_fails,
);

async fn progress_and_completion_are_published(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let pubsub = PubSub::start(&db.store, Arc::new(Notify::new()));
    let mut events = pubsub.subscribe();
    let mut config = test_config("worker-events", 1);
    config.events = Some(pubsub.clone());
    let run = queue_run(&db.store, &user, job_config(&site.url("/site/page-1.html"))).await;
    let pool = Pool::start(db.store.clone(), config);
    pool.wakeup.notify_one();

    let mut pages = Vec::new();
    let completion = loop {
        let event = tokio::time::timeout(Duration::from_secs(30), events.recv())
            .await
            .expect("an event within 30 s")
            .expect("not lagged");
        assert_eq!(
            (event.result_id(), event.owner_id()),
            (run.result_id, user.user_id)
        );
        match event {
            RunEvent::Progress(p) => {
                assert_eq!(p.status, RunStatus::Running);
                if let Some(url) = p.current_url {
                    pages.push((p.pages_scraped, p.items_scraped));
                    assert!(url.starts_with(&site.base), "{url}");
                }
            }
            RunEvent::Completion(c) => break c,
        }
    };
    let per_page = i64::from(PER_PAGE);
    assert_eq!(
        pages,
        vec![(1, per_page), (2, 2 * per_page), (3, 3 * per_page)]
    );
    assert_eq!(completion.status, RunStatus::Completed);
    assert_eq!(
        (completion.total_items, completion.total_pages),
        (3 * per_page, 3)
    );
    assert!(completion.duration_seconds.is_some());
    pool.stop().await;
}

async fn a_run_abandoned_too_often_fails(db: &TestDb) {
    let site = Fixture::start().await;
    let user = owner(&db.store).await;
    let run = queue_run(&db.store, &user, job_config(&site.url("/site/page-1.html"))).await;
    // Three workers claimed it and vanished.
    for worker in ["dead-1", "dead-2", "dead-3"] {
        db.store
            .claim_run(worker, Duration::from_millis(1), 3)
            .await
            .unwrap()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let pubsub = PubSub::start(&db.store, Arc::new(Notify::new()));
    let mut events = pubsub.subscribe();
    let mut config = test_config("worker-gives-up", 1);
    config.events = Some(pubsub.clone());
    assert_eq!(config.max_attempts, 3);
    let pool = Pool::start(db.store.clone(), config);

    let done = wait_for_status(&db.store, run.result_id, RunStatus::Failed).await;
    let error = done.error_message.clone().unwrap();
    assert!(error.contains("abandoned 3 times"), "{error}");
    assert_eq!(done.attempts, 3);
    assert!(titles(&db.store, run.result_id).await.is_empty());
    assert_eq!(
        site.total_hits("/site/"),
        0,
        "a given-up run is not crawled"
    );
    let event = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("the completion is published")
        .unwrap();
    let RunEvent::Completion(completion) = event else {
        panic!("expected the completion, got {event:?}");
    };
    assert_eq!(completion.status, RunStatus::Failed);
    assert_eq!(completion.error_message.as_deref(), Some(error.as_str()));
    pool.stop().await;
}
