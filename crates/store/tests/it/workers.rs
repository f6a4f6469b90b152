use std::time::Duration;

use chrono::Duration as TimeDelta;
use grandma_store::StoreError;

use crate::common::TestDb;

store_test!(worker_heartbeats, ping_and_backend);

async fn worker_heartbeats(db: &TestDb) {
    let store = &db.store;
    let before = grandma_store::now();
    let first = store.worker_heartbeat("host-a:1", "host-a").await.unwrap();
    assert_eq!(first.started_at, first.last_seen_at);
    tokio::time::sleep(Duration::from_millis(5)).await;
    let second = store.worker_heartbeat("host-a:1", "host-a").await.unwrap();
    assert_eq!(
        second.started_at, first.started_at,
        "the first beat is the start"
    );
    assert!(second.last_seen_at > first.last_seen_at);
    store.worker_heartbeat("host-b:7", "host-b").await.unwrap();

    let seen = store.workers_seen_since(before).await.unwrap();
    assert_eq!(seen.len(), 2);
    let future = grandma_store::now() + TimeDelta::minutes(1);
    assert!(store.workers_seen_since(future).await.unwrap().is_empty());

    store.remove_worker("host-b:7").await.unwrap();
    assert!(matches!(
        store.remove_worker("host-b:7").await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.prune_workers(future).await.unwrap(), 1);
    assert!(store.workers_seen_since(before).await.unwrap().is_empty());
}

async fn ping_and_backend(db: &TestDb) {
    let store = &db.store;
    assert!(store.ping().await.unwrap() < Duration::from_secs(5));
    assert!(store.schema_ready().await.unwrap());
    store.analyze().await.unwrap();
}
