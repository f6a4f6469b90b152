use std::time::Duration;

use grandma_store::{NewSnapshot, Role, SnapshotBounds, SnapshotUsage, StoreError, Uuid};

use crate::common::{TestDb, user};

store_test!(
    snapshots_belong_to_their_owner,
    snapshots_expire,
    snapshots_are_bounded_per_user
);

fn page(owner: Uuid, html: &str, lifetime: chrono::Duration) -> NewSnapshot {
    NewSnapshot {
        owner_id: owner,
        url: "http://shop.example/list".into(),
        final_url: "http://shop.example/list?page=1".into(),
        title: Some("Teapots".into()),
        fetcher_type: "requests".into(),
        html: html.into(),
        lifetime,
    }
}

const ROOMY: SnapshotBounds = SnapshotBounds {
    per_user: 10,
    user_bytes: 1 << 20,
};

fn hour() -> chrono::Duration {
    chrono::Duration::hours(1)
}

async fn snapshots_belong_to_their_owner(db: &TestDb) {
    let store = &db.store;
    let ann = user(store, "ann@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::Admin).await;
    let made = store
        .create_snapshot(&page(ann.user_id, "<p>tea</p>", hour()), ROOMY)
        .await
        .unwrap();
    assert_eq!(made.size_bytes, 10);
    assert_eq!(made.final_url, "http://shop.example/list?page=1");
    assert_eq!(made.expires_at - made.created_at, hour());
    let got = store
        .get_snapshot(ann.user_id, made.snapshot_id)
        .await
        .unwrap();
    assert_eq!(got, made);
    // Another user, an admin too, does not see it; nor can they delete it.
    for (owner, id) in [
        (bob.user_id, made.snapshot_id),
        (ann.user_id, Uuid::now_v7()),
    ] {
        match store.get_snapshot(owner, id).await {
            Err(StoreError::NotFound) => {}
            other => panic!("expected not found, got {other:?}"),
        }
    }
    assert!(matches!(
        store.delete_snapshot(bob.user_id, made.snapshot_id).await,
        Err(StoreError::NotFound)
    ));
    store
        .delete_snapshot(ann.user_id, made.snapshot_id)
        .await
        .unwrap();
    assert!(
        store
            .get_snapshot(ann.user_id, made.snapshot_id)
            .await
            .is_err()
    );
    // Deleting the user deletes their snapshots.
    let kept = store
        .create_snapshot(&page(ann.user_id, "<p>tea</p>", hour()), ROOMY)
        .await
        .unwrap();
    store.delete_user(ann.user_id).await.unwrap();
    assert_eq!(
        store.snapshot_usage(ann.user_id).await.unwrap(),
        SnapshotUsage { count: 0, bytes: 0 }
    );
    assert!(
        store
            .get_snapshot(ann.user_id, kept.snapshot_id)
            .await
            .is_err()
    );
}

async fn snapshots_expire(db: &TestDb) {
    let store = &db.store;
    let ann = user(store, "ann@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let brief = store
        .create_snapshot(
            &page(
                ann.user_id,
                "<p>soon gone</p>",
                chrono::Duration::milliseconds(300),
            ),
            ROOMY,
        )
        .await
        .unwrap();
    assert!(
        store
            .get_snapshot(ann.user_id, brief.snapshot_id)
            .await
            .is_ok()
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired: no longer served, though not yet deleted.
    assert!(matches!(
        store.get_snapshot(ann.user_id, brief.snapshot_id).await,
        Err(StoreError::NotFound)
    ));
    assert_eq!(store.snapshot_usage(ann.user_id).await.unwrap().count, 1);
    // Anyone's next snapshot deletes every expired one.
    store
        .create_snapshot(&page(bob.user_id, "<p>new</p>", hour()), ROOMY)
        .await
        .unwrap();
    assert_eq!(store.snapshot_usage(ann.user_id).await.unwrap().count, 0);
    store
        .create_snapshot(
            &page(ann.user_id, "<p>x</p>", chrono::Duration::milliseconds(1)),
            ROOMY,
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(store.delete_expired_snapshots().await.unwrap(), 1);
    assert_eq!(store.snapshot_usage(bob.user_id).await.unwrap().count, 1);
}

async fn snapshots_are_bounded_per_user(db: &TestDb) {
    let store = &db.store;
    let ann = user(store, "ann@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let bob_page = store
        .create_snapshot(&page(bob.user_id, "<p>bob</p>", hour()), ROOMY)
        .await
        .unwrap();
    // Three at most: the fourth pushes out the oldest.
    let three = SnapshotBounds {
        per_user: 3,
        user_bytes: 1 << 20,
    };
    let mut made = Vec::new();
    for i in 0..4 {
        let s = store
            .create_snapshot(&page(ann.user_id, &format!("<p>{i}</p>"), hour()), three)
            .await
            .unwrap();
        made.push(s.snapshot_id);
    }
    assert!(store.get_snapshot(ann.user_id, made[0]).await.is_err());
    for id in &made[1..] {
        assert!(store.get_snapshot(ann.user_id, *id).await.is_ok());
    }
    assert_eq!(
        store.snapshot_usage(ann.user_id).await.unwrap(),
        SnapshotUsage {
            count: 3,
            bytes: 24
        }
    );
    // 100 bytes at most: an 80-byte page pushes out the oldest until the rest fit.
    let hundred = SnapshotBounds {
        per_user: 10,
        user_bytes: 100,
    };
    let big = store
        .create_snapshot(&page(ann.user_id, &"x".repeat(80), hour()), hundred)
        .await
        .unwrap();
    let usage = store.snapshot_usage(ann.user_id).await.unwrap();
    assert_eq!(
        usage,
        SnapshotUsage {
            count: 3,
            bytes: 96
        }
    );
    assert!(store.get_snapshot(ann.user_id, made[1]).await.is_err());
    assert!(
        store
            .get_snapshot(ann.user_id, big.snapshot_id)
            .await
            .is_ok()
    );
    // A page larger than a user may keep at all is refused, and nothing is deleted for it.
    assert!(matches!(
        store
            .create_snapshot(&page(ann.user_id, &"x".repeat(101), hour()), hundred)
            .await,
        Err(StoreError::Invalid(_))
    ));
    assert_eq!(store.snapshot_usage(ann.user_id).await.unwrap().count, 3);
    // Another user's snapshots are never counted or deleted.
    assert!(
        store
            .get_snapshot(bob.user_id, bob_page.snapshot_id)
            .await
            .is_ok()
    );
}
