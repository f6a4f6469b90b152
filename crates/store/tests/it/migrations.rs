use grandma_store::{Backend, DowngradeTarget, Role, Store, UpgradeTarget};

use crate::catalog::read_schema;
use crate::common::{TestDb, user};

/// Every migration, oldest first, as `grandma db history` names it.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, "core"),
    (2, "webhooks"),
    (3, "request ids"),
    (4, "display names"),
    (5, "web sessions"),
    (6, "page snapshots"),
    (7, "item changes"),
    (8, "shared politeness"),
    (9, "conditional requests"),
    (10, "organizations"),
];

/// Tables created by migrations after the fourth, with the migration that creates them: each
/// must be gone once its migration is reverted.
const LATER_TABLES: &[(i64, &str)] = &[
    (5, "web_session"),
    (6, "page_snapshot"),
    (7, "item_change"),
    (8, "host_slot"),
    (8, "robots_cache"),
    (9, "run_page"),
    (10, "organization"),
    (10, "org_member"),
    (10, "org_invitation"),
];

/// The versions from `from` on, oldest first.
fn from(version: i64) -> Vec<i64> {
    MIGRATIONS
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| *v >= version)
        .collect()
}

/// The versions from `version` on, newest first: what a downgrade to before `version` reverts.
fn down_to(version: i64) -> Vec<i64> {
    let mut versions = from(version);
    versions.reverse();
    versions
}

fn steps(versions: &[i64]) -> DowngradeTarget {
    DowngradeTarget::Steps(u32::try_from(versions.len()).unwrap())
}

async fn migration_round_trip(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let store = &db.store;
    assert_eq!(store.current().await.unwrap(), None);
    assert!(!store.schema_ready().await.unwrap());
    let history = store.history().await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|h| (h.version, h.name.as_str(), h.applied))
            .collect::<Vec<_>>(),
        MIGRATIONS
            .iter()
            .map(|(v, name)| (*v, *name, false))
            .collect::<Vec<_>>()
    );

    // upgrade +1, then head.
    assert_eq!(
        store.upgrade(UpgradeTarget::Steps(1)).await.unwrap(),
        vec![1]
    );
    assert_eq!(store.current().await.unwrap().unwrap().version, 1);
    assert!(!store.schema_ready().await.unwrap());
    assert_eq!(store.upgrade(UpgradeTarget::Head).await.unwrap(), from(2));
    assert!(
        store.upgrade(UpgradeTarget::Head).await.unwrap().is_empty(),
        "idempotent"
    );
    assert!(store.schema_ready().await.unwrap());
    let head = read_schema(backend, db.url()).await;
    assert!(head.tables.contains_key("webhook_delivery"));
    let history = store.history().await.unwrap();
    assert!(history.iter().all(|h| h.applied && h.applied_at.is_some()));

    // Data survives a downgrade of an unrelated later migration.
    let alice = user(store, "m@example.com", Role::Admin).await;

    // downgrade -1 → upgrade head, as the release workflow tests it, one later migration at a
    // time: each takes exactly its own tables away.
    let has_column = |schema: &crate::catalog::Schema, table: &str, column: &str| {
        schema.tables[table].iter().any(|c| c.name == column)
    };
    for (_, table) in LATER_TABLES {
        assert!(head.tables.contains_key(*table), "{table} at head");
    }
    for version in down_to(5) {
        assert_eq!(
            store.downgrade(DowngradeTarget::Steps(1)).await.unwrap(),
            vec![version]
        );
        let down = read_schema(backend, db.url()).await;
        for (created_by, table) in LATER_TABLES {
            assert_eq!(
                down.tables.contains_key(*table),
                *created_by < version,
                "{table} after reverting {version}"
            );
        }
    }
    assert!(has_column(&head, "app_user", "username"));
    assert_eq!(
        store.downgrade(DowngradeTarget::Steps(1)).await.unwrap(),
        vec![4]
    );
    let down = read_schema(backend, db.url()).await;
    assert!(!has_column(&down, "app_user", "username"));
    assert!(has_column(&down, "result", "request_id"));
    assert_eq!(store.upgrade(UpgradeTarget::Head).await.unwrap(), from(4));
    assert_eq!(read_schema(backend, db.url()).await, head);
    assert_eq!(store.downgrade(steps(&from(4))).await.unwrap(), down_to(4));
    assert_eq!(
        store.downgrade(DowngradeTarget::Steps(1)).await.unwrap(),
        vec![3]
    );
    let down = read_schema(backend, db.url()).await;
    assert!(!has_column(&down, "result", "request_id"));
    assert!(!has_column(&down, "webhook_delivery", "request_id"));
    assert_eq!(store.upgrade(UpgradeTarget::Head).await.unwrap(), from(3));
    assert_eq!(read_schema(backend, db.url()).await, head);

    // Down to the first migration removes the webhook tables too.
    assert_eq!(store.downgrade(steps(&from(2))).await.unwrap(), down_to(2));
    let current = store.current().await.unwrap().unwrap();
    assert_eq!((current.version, current.name.as_str()), (1, "core"));
    let down = read_schema(backend, db.url()).await;
    assert!(!down.tables.contains_key("webhook"));
    assert!(down.tables.contains_key("app_user"));
    assert!(!down.indexes.contains_key("idx_delivery_status_next_retry"));
    let history = store.history().await.unwrap();
    assert_eq!(
        history.iter().map(|h| h.applied).collect::<Vec<_>>(),
        MIGRATIONS.iter().map(|(v, _)| *v == 1).collect::<Vec<_>>()
    );
    assert_eq!(store.upgrade(UpgradeTarget::Head).await.unwrap(), from(2));
    assert_eq!(
        read_schema(backend, db.url()).await,
        head,
        "same schema after the round trip"
    );
    // Read through a new pool: SQLite connections that prepared statements over `app_user`
    // before its columns changed describe the old columns.
    let fresh = db.another_store().await;
    assert_eq!(fresh.get_user(alice.user_id).await.unwrap(), alice);
    fresh.close().await;

    // downgrade base leaves no tables (only sqlx's bookkeeping).
    assert_eq!(
        store.downgrade(DowngradeTarget::Base).await.unwrap(),
        down_to(1)
    );
    let empty = read_schema(backend, db.url()).await;
    assert!(empty.tables.is_empty(), "{:?}", empty.tables.keys());
    assert!(empty.indexes.is_empty(), "{:?}", empty.indexes.keys());
    assert_eq!(store.current().await.unwrap(), None);
    assert!(
        store
            .downgrade(DowngradeTarget::Base)
            .await
            .unwrap()
            .is_empty()
    );

    store.migrate_to_head().await.unwrap();
    assert_eq!(read_schema(backend, db.url()).await, head);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_round_trip_sqlite() {
    migration_round_trip(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migrations_round_trip_postgres() {
    migration_round_trip(Backend::Postgres).await;
}

/// Several servers starting at once against one PostgreSQL migrate once, under the lock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_upgrades_on_postgres_apply_once() {
    let db = TestDb::empty(Backend::Postgres).await;
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let store = db.another_store().await;
        tasks.push(tokio::spawn(async move {
            let applied = store.upgrade(UpgradeTarget::Head).await.unwrap();
            store.close().await;
            applied
        }));
    }
    let mut applied = Vec::new();
    for task in tasks {
        applied.extend(task.await.unwrap());
    }
    applied.sort_unstable();
    assert_eq!(
        applied,
        from(1),
        "each version applied by exactly one server"
    );
    assert!(db.store.schema_ready().await.unwrap());
    db.finish().await;
}

/// `sqlite::memory:` keeps one connection, or every query would see a new empty database.
#[tokio::test]
async fn in_memory_sqlite_works() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    store.migrate_to_head().await.unwrap();
    let alice = user(&store, "mem@example.com", Role::User).await;
    assert_eq!(store.get_user(alice.user_id).await.unwrap(), alice);
}

#[tokio::test]
async fn unsupported_urls_are_refused() {
    let err = Store::connect("mysql://root:pw@localhost/db")
        .await
        .unwrap_err();
    assert!(matches!(err, grandma_store::StoreError::UnsupportedUrl(_)));
}
