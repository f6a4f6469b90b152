//! Web sessions: stored by token hash, found only while unexpired, ended one by one or all at
//! once, gone with their user; expired rows are purged when the user signs in again.

use chrono::{Duration, Utc};
use grandma_store::{NewWebSession, Role, StoreError};

use crate::common::{TestDb, user};

store_test!(web_sessions);

fn new_session(user_id: grandma_store::Uuid, hash: &str, hours: i64) -> NewWebSession {
    NewWebSession {
        user_id,
        token_hash: hash.to_owned(),
        csrf_token: format!("csrf-{hash}"),
        expires_at: Utc::now() + Duration::hours(hours),
    }
}

async fn web_sessions(db: &TestDb) {
    let store = &db.store;
    assert_eq!(store.count_users().await.unwrap(), 0);
    let ann = user(store, "ann@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::Admin).await;
    assert_eq!(store.count_users().await.unwrap(), 2);

    let created = store
        .create_web_session(&new_session(ann.user_id, "h1", 24))
        .await
        .unwrap();
    assert_eq!(created.csrf_token, "csrf-h1");
    let (found, owner) = store.web_session("h1").await.unwrap();
    assert_eq!(found, created);
    assert_eq!(owner.user_id, ann.user_id);
    assert!(matches!(
        store.web_session("nope").await,
        Err(StoreError::NotFound)
    ));

    // The same hash twice is a conflict (tokens are random; a repeat is a bug).
    assert!(matches!(
        store
            .create_web_session(&new_session(bob.user_id, "h1", 24))
            .await,
        Err(StoreError::Conflict { .. })
    ));

    // Expired: not found, and purged at the user's next sign-in.
    store
        .create_web_session(&new_session(ann.user_id, "old", -1))
        .await
        .unwrap();
    assert!(matches!(
        store.web_session("old").await,
        Err(StoreError::NotFound)
    ));
    store
        .create_web_session(&new_session(ann.user_id, "h2", 24))
        .await
        .unwrap();
    assert!(
        matches!(
            store.delete_web_session("old").await,
            Err(StoreError::NotFound)
        ),
        "purged"
    );

    // Signing out ends one session; deactivation can end them all.
    store.delete_web_session("h1").await.unwrap();
    assert!(matches!(
        store.web_session("h1").await,
        Err(StoreError::NotFound)
    ));
    assert!(store.web_session("h2").await.is_ok());
    store
        .create_web_session(&new_session(ann.user_id, "h3", 24))
        .await
        .unwrap();
    store
        .create_web_session(&new_session(bob.user_id, "b1", 24))
        .await
        .unwrap();
    assert_eq!(store.delete_web_sessions_of(ann.user_id).await.unwrap(), 2);
    assert!(store.web_session("b1").await.is_ok());

    // Deleting the user deletes their sessions.
    store.delete_user(bob.user_id).await.unwrap();
    assert!(matches!(
        store.web_session("b1").await,
        Err(StoreError::NotFound)
    ));
}
