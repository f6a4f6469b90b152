//! The [`Store`]: one concrete type over a SQLite or a PostgreSQL pool.
//!
//! Callers never see a backend type parameter. Each query body is written once and expanded for
//! both pools by [`dispatch!`], so the compiler type-checks it against each driver concretely and
//! the two backends cannot drift apart; SQL differs only where the dialects really do
//! ([`Dialect::pick`]).

use std::str::FromStr;
use std::time::{Duration, Instant};

use chrono::{DateTime, SubsecRound, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::{Result, StoreError};

/// Expands `$body` once per backend with `$pool` bound to the concrete pool and `$dialect` to
/// its [`Dialect`].
macro_rules! dispatch {
    ($store:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match &$store.pools {
            $crate::db::Pools::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::db::Dialect::Sqlite;
                $body
            }
            $crate::db::Pools::Postgres($pool) => {
                #[allow(unused_variables)]
                let $dialect = $crate::db::Dialect::Postgres;
                $body
            }
        }
    };
}

/// The time leases are measured by, read on `$conn` (a pool or a transaction). On PostgreSQL
/// it is the database server's clock: workers on several machines then agree on when a lease
/// ends even if their own clocks drift apart. A SQLite file has one machine, whose clock it is.
/// A macro so that it expands inside each [`dispatch!`] arm with the concrete connection type.
macro_rules! lease_clock {
    ($conn:expr, $dialect:expr) => {{
        match $dialect {
            $crate::db::Dialect::Sqlite => $crate::db::now(),
            $crate::db::Dialect::Postgres => $crate::db::stored_time(
                sqlx::query_scalar::<_, chrono::DateTime<chrono::Utc>>("select clock_timestamp()")
                    .fetch_one($conn)
                    .await?,
            ),
        }
    }};
}

/// Binds a list of [`crate::filter::Arg`]s to a query in order.
macro_rules! bind_args {
    ($query:expr, $args:expr) => {{
        let mut query = $query;
        for arg in $args {
            query = match arg {
                $crate::filter::Arg::Uuid(v) => query.bind(v),
                $crate::filter::Arg::OptUuid(v) => query.bind(v),
                $crate::filter::Arg::Bool(v) => query.bind(v),
                $crate::filter::Arg::Text(v) => query.bind(v),
                $crate::filter::Arg::I64(v) => query.bind(v),
                $crate::filter::Arg::Time(v) => query.bind(v),
            };
        }
        query
    }};
}

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The SQL dialect inside a [`dispatch!`] arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement text for this dialect, where the two really differ.
    pub(crate) fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Dialect::Sqlite => sqlite,
            Dialect::Postgres => postgres,
        }
    }

    /// How a transaction that will write starts. On SQLite a deferred `BEGIN` takes the write
    /// lock only at the first write and then fails with SQLITE_BUSY (no busy-timeout retry) if
    /// another connection wrote in between; `BEGIN IMMEDIATE` takes it up front, so concurrent
    /// claimers queue on the busy timeout instead.
    pub(crate) fn begin_write(self) -> &'static str {
        self.pick("BEGIN IMMEDIATE", "BEGIN")
    }
}

/// The two pools. Cloning is cheap (pools are reference-counted).
#[derive(Debug, Clone)]
pub(crate) enum Pools {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Pool size. SQLite has one writer at a time, so a few connections serve readers while one
    /// writes; `sqlite::memory:` always uses exactly one (each connection would be a new,
    /// empty database).
    pub max_connections: u32,
    /// How long a SQLite statement waits for the write lock before failing.
    pub busy_timeout: Duration,
    /// How long a caller waits for a free pool connection.
    pub acquire_timeout: Duration,
}

impl StoreOptions {
    /// Defaults for `backend`: 4 SQLite connections, 10 PostgreSQL connections.
    pub fn for_backend(backend: Backend) -> Self {
        StoreOptions {
            max_connections: match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 10,
            },
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// The data layer. Construct with [`Store::connect`]; clone freely.
#[derive(Debug, Clone)]
pub struct Store {
    pub(crate) pools: Pools,
}

impl Store {
    /// Which backend a database URL selects, without connecting.
    pub fn backend_of(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            // Only the scheme is echoed: the rest may hold a password.
            let scheme = url.split(':').next().unwrap_or_default();
            Err(StoreError::UnsupportedUrl(format!("{scheme}:…")))
        }
    }

    /// Connects with default [`StoreOptions`]: `sqlite://path?mode=rwc`, `sqlite::memory:` or
    /// `postgres://user@host:port/db`. Does not migrate; call [`Store::migrate_to_head`].
    pub async fn connect(url: &str) -> Result<Store> {
        let options = StoreOptions::for_backend(Self::backend_of(url)?);
        Self::connect_with(url, &options).await
    }

    /// Connects with explicit options.
    pub async fn connect_with(url: &str, options: &StoreOptions) -> Result<Store> {
        let pools = match Self::backend_of(url)? {
            Backend::Sqlite => {
                let connect = SqliteConnectOptions::from_str(url)?
                    .foreign_keys(true)
                    .busy_timeout(options.busy_timeout)
                    // NORMAL is durable across application crashes in WAL mode and much faster
                    // than FULL; an OS crash may lose the last commits, not corrupt the file.
                    .synchronous(SqliteSynchronous::Normal);
                let in_memory = url.contains(":memory:") || url.contains("mode=memory");
                let pool_options =
                    SqlitePoolOptions::new().acquire_timeout(options.acquire_timeout);
                let pool = if in_memory {
                    // One connection that never closes, or the database vanishes.
                    pool_options
                        .max_connections(1)
                        .min_connections(1)
                        .idle_timeout(None)
                        .max_lifetime(None)
                        .connect_with(connect)
                        .await?
                } else {
                    pool_options
                        .max_connections(options.max_connections.max(1))
                        .connect_with(connect.journal_mode(SqliteJournalMode::Wal))
                        .await?
                };
                Pools::Sqlite(pool)
            }
            Backend::Postgres => {
                let connect = PgConnectOptions::from_str(url)?.application_name("grandma-scraper");
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(connect)
                    .await?;
                Pools::Postgres(pool)
            }
        };
        Ok(Store { pools })
    }

    /// The backend this store talks to.
    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self.pools {
            Pools::Sqlite(_) => Dialect::Sqlite,
            Pools::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Round-trip time of a trivial query (health checks).
    pub async fn ping(&self) -> Result<Duration> {
        let started = Instant::now();
        dispatch!(self, |pool, dialect| {
            sqlx::query("select 1").execute(pool).await?;
        });
        Ok(started.elapsed())
    }

    /// Refreshes the query planner's statistics (after bulk imports; `grandma db analyze`).
    /// SQLite reads them when a connection opens, so existing pool connections may keep the
    /// old ones until they are recycled.
    pub async fn analyze(&self) -> Result<()> {
        dispatch!(self, |pool, dialect| {
            sqlx::query("analyze").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every pooled connection; later calls fail.
    pub async fn close(&self) {
        dispatch!(self, |pool, dialect| pool.close().await)
    }
}

/// The current time as stored: UTC, truncated to microseconds.
///
/// PostgreSQL keeps microseconds; truncating here makes values read back equal to the values
/// written on both backends, and keeps SQLite's RFC 3339 text in one width class so that text
/// comparison orders like time.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// `at` truncated like [`now`], for times computed by callers (next runs, retries).
pub fn stored_time(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// `now + duration`, saturating rather than panicking on absurd durations.
pub(crate) fn after(now: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    let delta = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::days(3650));
    stored_time(now.checked_add_signed(delta).unwrap_or(now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_select_the_backend() {
        assert_eq!(
            Store::backend_of("sqlite::memory:").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Store::backend_of("sqlite://data/g.db?mode=rwc").unwrap(),
            Backend::Sqlite
        );
        assert_eq!(
            Store::backend_of("postgresql://u@h/db").unwrap(),
            Backend::Postgres
        );
        let err = Store::backend_of("mysql://root:secret@h/db").unwrap_err();
        assert!(!err.to_string().contains("secret"));
    }

    #[test]
    fn stored_times_order_as_text() {
        // SQLite compares timestamps as RFC 3339 text; widths differ with the fraction.
        let a = "2024-01-15T10:30:00+00:00";
        let b = "2024-01-15T10:30:00.120+00:00";
        let c = "2024-01-15T10:30:00.120001+00:00";
        assert!(a < b && b < c);
    }
}
