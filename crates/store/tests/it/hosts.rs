//! Politeness state shared by every worker: host slots reserved atomically, `gap` apart
//! whatever the number of concurrent callers; robots.txt kept for its time to live.

use std::time::Duration;

use tokio::time::Instant;

use crate::common::TestDb;

store_test!(
    host_slots_are_spaced_across_callers,
    robots_are_kept_until_they_expire,
    stale_host_state_is_pruned
);

const GAP: Duration = Duration::from_millis(100);

async fn host_slots_are_spaced_across_callers(db: &TestDb) {
    let store = &db.store;
    assert_eq!(
        store.reserve_host_slot("a.test", GAP).await.unwrap(),
        Duration::ZERO,
        "a host nobody used is free at once"
    );
    let wait = store.reserve_host_slot("a.test", GAP).await.unwrap();
    assert!(wait > GAP / 2 && wait <= GAP, "{wait:?}");
    assert_eq!(
        store.reserve_host_slot("b.test", GAP).await.unwrap(),
        Duration::ZERO,
        "hosts are independent"
    );

    // Sixteen concurrent callers (as many connections as the pool gives) get sixteen slots,
    // each at least the gap after the previous one.
    let calls = (0..16).map(|_| async {
        let wait = store.reserve_host_slot("c.test", GAP).await.unwrap();
        Instant::now() + wait
    });
    let mut slots = futures::future::join_all(calls).await;
    slots.sort();
    for pair in slots.windows(2) {
        let apart = pair[1] - pair[0];
        // A few milliseconds go between one caller's clock reading and its return.
        assert!(apart >= GAP - Duration::from_millis(25), "{apart:?}");
    }
    let span = slots[15] - slots[0];
    assert!(span >= GAP * 15 - Duration::from_millis(50), "{span:?}");

    // A slot in the past no longer delays anyone.
    store
        .reserve_host_slot("d.test", Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(
        store.reserve_host_slot("d.test", GAP).await.unwrap(),
        Duration::ZERO
    );
}

async fn robots_are_kept_until_they_expire(db: &TestDb) {
    let store = &db.store;
    let origin = "http://a.test:8080";
    assert_eq!(store.cached_robots(origin).await.unwrap(), None);
    let body = "User-agent: *\nDisallow: /private\nCrawl-delay: 2\n";
    store
        .store_robots(origin, Some(body), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.cached_robots(origin).await.unwrap(),
        Some(Some(body.to_owned()))
    );
    // "No rules" is remembered as such, and a newer copy replaces an older one.
    store
        .store_robots(origin, None, Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(store.cached_robots(origin).await.unwrap(), Some(None));
    // An expired copy is as good as none, and is removed by the next store.
    let short = "https://b.test";
    store
        .store_robots(short, Some("User-agent: *"), Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert_eq!(store.cached_robots(short).await.unwrap(), None);
    // Hostile text is stored and read back as it came.
    let odd = "User-agent: *\n\u{1}Disallow: /'; drop table job; --\n\u{1F600}";
    store
        .store_robots(short, Some(odd), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        store.cached_robots(short).await.unwrap(),
        Some(Some(odd.to_owned()))
    );
}

/// Slots long past and expired robots.txt copies are deleted; a host still waiting and a
/// fresh copy are kept, and a pruned host is served as if its row were still there.
async fn stale_host_state_is_pruned(db: &TestDb) {
    let store = &db.store;
    for host in ["old-1.test", "old-2.test", "old-3.test"] {
        store
            .reserve_host_slot(host, Duration::from_millis(1))
            .await
            .unwrap();
    }
    store
        .store_robots(
            "https://fresh.test",
            Some("User-agent: *"),
            Duration::from_secs(3600),
        )
        .await
        .unwrap();
    store
        .store_robots("https://stale.test", None, Duration::from_millis(1))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    // Reserved after the sleep: one slot busy for a while, one just free.
    store
        .reserve_host_slot("busy.test", Duration::from_secs(600))
        .await
        .unwrap();
    store
        .reserve_host_slot("recent.test", Duration::ZERO)
        .await
        .unwrap();

    let idle = Duration::from_millis(40);
    assert_eq!(store.prune_host_state(idle).await.unwrap(), (3, 1));
    assert_eq!(
        store.prune_host_state(idle).await.unwrap(),
        (0, 0),
        "nothing left to prune"
    );
    let wait = store
        .reserve_host_slot("busy.test", Duration::ZERO)
        .await
        .unwrap();
    assert!(
        wait > Duration::from_secs(590),
        "the busy host kept its slot: {wait:?}"
    );
    assert_eq!(
        store.reserve_host_slot("old-1.test", GAP).await.unwrap(),
        Duration::ZERO,
        "a pruned host is free at once, as its past slot said"
    );
    assert_eq!(
        store.cached_robots("https://fresh.test").await.unwrap(),
        Some(Some("User-agent: *".to_owned()))
    );
    assert_eq!(
        store.cached_robots("https://stale.test").await.unwrap(),
        None
    );
}
