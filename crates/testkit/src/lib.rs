//! Test support shared by the crates' tests (a dev-dependency only): uniquely named PostgreSQL
//! databases on the server of `GRANDMA_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`), created for one test and dropped after it, even
//! when it panics. A missing PostgreSQL fails the test; it never skips it.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The URL of the database the test databases are created from.
pub fn admin_url() -> String {
    std::env::var("GRANDMA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// `url` with its database name replaced (query parameters kept).
pub fn with_database(url: &str, database: &str) -> String {
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

/// A uniquely named PostgreSQL database, dropped by [`PgDb::finish`] (or, quietly, on drop).
#[derive(Debug)]
pub struct PgDb {
    pub name: String,
    pub url: String,
}

impl PgDb {
    /// Creates `{prefix}_{uuid}`; `prefix` tells whose database a leftover one was.
    pub async fn new(prefix: &str) -> PgDb {
        let admin = admin_url();
        let name = format!("{prefix}_{}", uuid::Uuid::now_v7().simple());
        let mut conn = PgConnection::connect(&admin).await.unwrap_or_else(|e| {
            panic!("PostgreSQL is required for these tests ({admin}; set GRANDMA_TEST_PG_URL): {e}")
        });
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        PgDb {
            url: with_database(&admin, &name),
            name,
        }
    }

    /// [`PgDb::new`] for a test without a runtime of its own.
    pub fn new_blocking(prefix: &str) -> PgDb {
        on_own_runtime(PgDb::new(prefix))
    }

    /// Drops the database; fails the test if that fails.
    pub async fn finish(mut self) {
        drop_database(std::mem::take(&mut self.name))
            .await
            .expect("drop test database");
    }
}

impl Drop for PgDb {
    /// Reached without [`PgDb::finish`] when a test panicked: the test's runtime may be
    /// unwinding, so the database is dropped on a runtime of its own.
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        if !name.is_empty() {
            let _ = on_own_runtime(drop_database(name));
        }
    }
}

async fn drop_database(name: String) -> Result<(), sqlx::Error> {
    let options = PgConnectOptions::from_str(&admin_url())?;
    let mut conn = PgConnection::connect_with(&options).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut conn)
    .await?;
    conn.close().await.ok();
    Ok(())
}

/// Runs `fut` to completion on a runtime of its own, on a thread of its own: usable from sync
/// tests and from within a runtime (in `Drop`) alike.
fn on_own_runtime<T: Send>(fut: impl Future<Output = T> + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime")
                .block_on(fut)
        })
        .join()
        .expect("the runtime thread panicked")
    })
}

/// One test function per database for each story `async fn name(backend: Backend)` named:
/// `name::sqlite` and `name::postgres` (`GRANDMA_TEST_PG_URL`), so a filter on the story's name
/// runs both. The calling crate needs `tokio` (with its test macro) and `grandma_store`.
#[macro_export]
macro_rules! both_databases {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(grandma_store::Backend::Sqlite).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(grandma_store::Backend::Postgres).await;
            }
        }
    )+};
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
