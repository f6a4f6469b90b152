//! Test databases: a temp SQLite file, or a uniquely named PostgreSQL database created from the
//! `test` database's connection and dropped (with FORCE) afterwards. A missing PostgreSQL fails
//! the tests; it never skips them.

use std::str::FromStr;

use grandma_store::{Backend, Store, Uuid};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// Where the PostgreSQL tests connect to create their databases.
pub fn pg_admin_url() -> String {
    std::env::var("GRANDMA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    format!("{}/{database}{query}", &base[..host_end])
}

enum Kind {
    // Held so the directory lives as long as the database.
    Sqlite { _dir: tempfile::TempDir },
    Postgres { admin_url: String, name: String },
}

/// One test database; drop it with [`TestDb::finish`] (a panic drops it in `Drop`).
pub struct TestDb {
    pub store: Store,
    url: String,
    kind: Option<Kind>,
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
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
                let store = Store::connect(&url).await.expect("open SQLite");
                TestDb {
                    store,
                    url,
                    kind: Some(Kind::Sqlite { _dir: dir }),
                }
            }
            Backend::Postgres => {
                let admin_url = pg_admin_url();
                let name = format!("gs_test_{}", Uuid::now_v7().simple());
                let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL is required for the store tests ({admin_url}; set \
                         GRANDMA_TEST_PG_URL): {e}"
                    )
                });
                sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
                    .execute(&mut admin)
                    .await
                    .expect("create test database");
                admin.close().await.ok();
                let url = with_database(&admin_url, &name);
                let store = Store::connect(&url)
                    .await
                    .expect("connect to test database");
                TestDb {
                    store,
                    url,
                    kind: Some(Kind::Postgres { admin_url, name }),
                }
            }
        }
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
    pub async fn finish(mut self) {
        self.store.close().await;
        if let Some(Kind::Postgres { admin_url, name }) = self.kind.take() {
            drop_pg_database(&admin_url, &name).await;
        }
    }
}

async fn drop_pg_database(admin_url: &str, name: &str) {
    let options = PgConnectOptions::from_str(admin_url).expect("admin url");
    let mut admin = PgConnection::connect_with(&options)
        .await
        .expect("reconnect to drop the test database");
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut admin)
    .await
    .expect("drop test database");
    admin.close().await.ok();
}

impl Drop for TestDb {
    fn drop(&mut self) {
        // Reached when a test panicked before `finish`: drop the database from a thread with
        // its own runtime, since the test's runtime may be unwinding.
        if let Some(Kind::Postgres { admin_url, name }) = self.kind.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                runtime.block_on(drop_pg_database(&admin_url, &name));
            })
            .join();
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

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u@h/test?sslmode=disable", "x"),
        "postgres://u@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://u@h", "x"), "postgres://u@h/x");
}

/// A fresh account.
pub async fn user(store: &Store, email: &str, role: grandma_store::Role) -> grandma_store::User {
    store
        .create_user(&grandma_store::NewUser {
            email: email.to_owned(),
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
