//! Test databases: a temp SQLite file, or a uniquely named PostgreSQL database
//! ([`grandma_testkit::PgDb`]) dropped afterwards. A missing PostgreSQL fails the tests; it
//! never skips them.

use grandma_store::{Backend, Store};
use grandma_testkit::PgDb;

enum Kind {
    // Held so the directory lives as long as the database.
    Sqlite { _dir: tempfile::TempDir },
    // Dropped with the value if a test panics before `finish`.
    Postgres(PgDb),
}

/// One test database; drop it with [`TestDb::finish`] (a panic drops it too).
pub struct TestDb {
    pub store: Store,
    url: String,
    kind: Kind,
}

impl TestDb {
    /// A migrated database of `backend`.
    pub async fn new(backend: Backend) -> TestDb {
        let db = TestDb::empty(backend).await;
        db.store.migrate_to_head().await.expect("migrate to head");
        db
    }

    /// A database without any table.
    pub async fn empty(backend: Backend) -> TestDb {
        let (url, kind) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                (url, Kind::Sqlite { _dir: dir })
            }
            Backend::Postgres => {
                let pg = PgDb::new("gs_test").await;
                (pg.url.clone(), Kind::Postgres(pg))
            }
        };
        let store = Store::connect(&url).await.expect("open the test database");
        TestDb { store, url, kind }
    }

    /// The database's URL (for raw catalogue connections).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Another store (its own pool) on the same database, like a second process.
    pub async fn another_store(&self) -> Store {
        Store::connect(&self.url).await.expect("second store")
    }

    /// Closes the store and drops the database.
    pub async fn finish(self) {
        self.store.close().await;
        if let Kind::Postgres(pg) = self.kind {
            pg.finish().await;
        }
    }
}

/// Runs a story `async fn name(db: &TestDb)` once on SQLite and once on PostgreSQL, as the
/// tests `name::sqlite` and `name::postgres`.
macro_rules! store_test {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::TestDb::new(grandma_store::Backend::Sqlite).await;
                super::$name(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::common::TestDb::new(grandma_store::Backend::Postgres).await;
                super::$name(&db).await;
                db.finish().await;
            }
        }
    )+};
}

/// A fresh account.
pub async fn user(store: &Store, email: &str, role: grandma_store::Role) -> grandma_store::User {
    store
        .create_user(&grandma_store::NewUser {
            email: grandma_store::Email::parse(email).unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role,
            is_active: true,
        })
        .await
        .expect("create user")
}

/// A job document with these field names, in order.
pub fn job_in(name: &str, fields: &[&str]) -> grandma_store::JobIn {
    let fields: Vec<serde_json::Value> = fields
        .iter()
        .map(|f| serde_json::json!({"name": f, "selector": format!(".{f}")}))
        .collect();
    grandma_store::JobIn {
        name: name.to_owned(),
        description: Some(format!("{name} description")),
        config: serde_json::json!({
            "name": name,
            "start_url": "https://example.com/",
            "item_selector": ".item",
            "fields": fields,
        }),
        enabled: true,
    }
}
