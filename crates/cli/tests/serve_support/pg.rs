//! Uniquely named PostgreSQL test databases on the server of `GRANDMA_TEST_PG_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`). A missing PostgreSQL fails the test, never skips
//! it.

use std::str::FromStr;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

/// The URL of the database the test databases are created from.
pub fn admin_url() -> String {
    std::env::var("GRANDMA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A uniquely named PostgreSQL database, dropped by [`PgDb::finish`] (or, quietly, on drop).
#[derive(Debug)]
pub struct PgDb {
    pub name: String,
    pub url: String,
}

impl PgDb {
    /// Creates `{prefix}_{pid}_{nanos}`.
    pub async fn new(prefix: &str) -> PgDb {
        let admin = admin_url();
        let name = format!(
            "{prefix}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let mut conn = PgConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("PostgreSQL is required ({admin}): {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
            .execute(&mut conn)
            .await
            .expect("create test database");
        conn.close().await.ok();
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        PgDb {
            url: format!("{base}/{name}"),
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
        .unwrap()
    })
}
