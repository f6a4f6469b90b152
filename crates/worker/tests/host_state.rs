//! Politeness state does not grow for ever: the housekeeping task deletes PostgreSQL host
//! slots long past and expired robots.txt copies, and every key written to Redis carries a
//! time to live.

mod common;

use std::time::Duration;

use grandma_engine::{CachedRobots, SharedHosts};
use grandma_store::Backend;
use grandma_worker::hosts::RedisHosts;
use grandma_worker::maintenance::{MaintenanceConfig, run_maintenance};
use tokio_util::sync::CancellationToken;

use common::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_prunes_stale_slots_and_robots_on_postgres() {
    let db = TestDb::new(Backend::Postgres).await;
    let store = &db.store;
    for i in 0..50 {
        store
            .reserve_host_slot(&format!("site-{i}.test"), Duration::from_millis(1))
            .await
            .unwrap();
    }
    store
        .store_robots("https://gone.test", None, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    store
        .reserve_host_slot("crawling.test", Duration::from_secs(600))
        .await
        .unwrap();
    store
        .store_robots("https://kept.test", None, Duration::from_secs(600))
        .await
        .unwrap();

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_maintenance(
        db.another_store().await,
        MaintenanceConfig {
            interval: Duration::from_millis(50),
            slot_idle: Duration::from_millis(50),
        },
        shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(300)).await;
    shutdown.cancel();
    task.await.unwrap();

    // The task deleted the 50 stale slots and the expired copy: nothing is left to prune.
    assert_eq!(
        store
            .prune_host_state(Duration::from_millis(50))
            .await
            .unwrap(),
        (0, 0)
    );
    let wait = store
        .reserve_host_slot("crawling.test", Duration::ZERO)
        .await
        .unwrap();
    assert!(wait > Duration::from_secs(590), "{wait:?}");
    assert_eq!(
        store.cached_robots("https://kept.test").await.unwrap(),
        Some(None)
    );
    db.finish().await;
}

/// Both kinds of Redis key expire by themselves: a slot a minute after it falls free, a
/// robots.txt copy after its time to live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_keys_carry_a_time_to_live() {
    let url = std::env::var("GRANDMA_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let prefix = format!(
        "grandma:test:ttl:{}:",
        grandma_store::Uuid::now_v7().simple()
    );
    let hosts = RedisHosts::new(&url, &prefix).unwrap();
    let redis = redis::Client::open(url.as_str())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let pttl = |key: String| {
        let mut redis = redis.clone();
        async move {
            redis::cmd("PTTL")
                .arg(key)
                .query_async::<i64>(&mut redis)
                .await
                .unwrap()
        }
    };

    hosts
        .reserve("quiet.test", Duration::from_millis(200))
        .await
        .unwrap();
    let slot = pttl(format!("{prefix}slot:quiet.test")).await;
    assert!(
        (59_000..=60_200).contains(&slot),
        "free in 200 ms, kept a minute more: {slot} ms"
    );
    hosts
        .reserve("busy.test", Duration::from_secs(600))
        .await
        .unwrap();
    hosts
        .reserve("busy.test", Duration::from_secs(600))
        .await
        .unwrap();
    let busy = pttl(format!("{prefix}slot:busy.test")).await;
    assert!(
        (1_259_000..=1_260_000).contains(&busy),
        "two slots of ten minutes, then a minute: {busy} ms"
    );

    hosts
        .store_robots(
            "https://site.test",
            &CachedRobots::Body("User-agent: *".into()),
            Duration::from_secs(30),
        )
        .await
        .unwrap();
    let robots = pttl(format!("{prefix}robots:https://site.test")).await;
    assert!((29_000..=30_000).contains(&robots), "{robots} ms");

    // A key without a time to live answers -1; none of ours does.
    let mut connection = redis.clone();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut connection)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    for key in keys {
        assert!(pttl(key.clone()).await > 0, "{key}");
    }
    let _: () = redis::cmd("DEL")
        .arg(format!("{prefix}slot:quiet.test"))
        .arg(format!("{prefix}slot:busy.test"))
        .arg(format!("{prefix}robots:https://site.test"))
        .query_async(&mut connection)
        .await
        .unwrap();
}
