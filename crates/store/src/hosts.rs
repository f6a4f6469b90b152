//! `host_slot` and `robots_cache`: politeness state every worker shares, so that several
//! workers on one site space their requests as one. The same statements on both databases;
//! the clock is PostgreSQL's (every machine's workers agree on it) or, with the single SQLite
//! file, the process's.

use std::time::Duration;

use crate::db::Store;
use crate::error::Result;

/// Current Unix milliseconds by the lease clock of the dialect.
macro_rules! clock_ms {
    ($conn:expr, $dialect:expr) => {{
        match $dialect {
            $crate::db::Dialect::Sqlite => chrono::Utc::now().timestamp_millis(),
            $crate::db::Dialect::Postgres => {
                sqlx::query_scalar::<_, i64>(
                    "select (extract(epoch from clock_timestamp()) * 1000)::bigint",
                )
                .fetch_one($conn)
                .await?
            }
        }
    }};
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 4)
}

impl Store {
    /// Reserves `host`'s next request slot for a request followed by `gap`, in one statement:
    /// `slot = max(now, next_free)`, `next_free = slot + gap`. Returns the wait from now until
    /// the slot. Concurrent callers on any number of processes each get their own slot, `gap`
    /// apart: the row's update is atomic. On PostgreSQL the wait is measured by the database's
    /// clock at the end of the statement (after any wait for the row lock), so only the
    /// answer's way back separates it from the caller's sleep.
    pub async fn reserve_host_slot(&self, host: &str, gap: Duration) -> Result<Duration> {
        let gap = millis(gap);
        let wait_ms: i64 = dispatch!(self, |pool, dialect| {
            match dialect {
                // The process's clock, the SQLite file's only writer: the statement answers
                // the slot and the wait is measured after it.
                crate::db::Dialect::Sqlite => {
                    let slot: i64 = sqlx::query_scalar(
                        "insert into host_slot (host, next_free_ms) values ($1, $2 + $3) \
                         on conflict (host) do update set next_free_ms = \
                         max(host_slot.next_free_ms, $2) + $3 returning next_free_ms - $3",
                    )
                    .bind(host)
                    .bind(chrono::Utc::now().timestamp_millis())
                    .bind(gap)
                    .fetch_one(pool)
                    .await?;
                    slot - chrono::Utc::now().timestamp_millis()
                }
                crate::db::Dialect::Postgres => {
                    sqlx::query_scalar(
                        "insert into host_slot (host, next_free_ms) \
                         values ($1, (extract(epoch from clock_timestamp()) * 1000)::bigint + $2) \
                         on conflict (host) do update set next_free_ms = greatest(\
                         host_slot.next_free_ms, \
                         (extract(epoch from clock_timestamp()) * 1000)::bigint) + $2 \
                         returning next_free_ms - $2 \
                         - (extract(epoch from clock_timestamp()) * 1000)::bigint",
                    )
                    .bind(host)
                    .bind(gap)
                    .fetch_one(pool)
                    .await?
                }
            }
        });
        Ok(Duration::from_millis(u64::try_from(wait_ms).unwrap_or(0)))
    }

    /// `origin`'s robots.txt if it was stored less than its time to live ago: `Some(None)`
    /// means "no rules" (the site answered 4xx).
    pub async fn cached_robots(&self, origin: &str) -> Result<Option<Option<String>>> {
        Ok(dispatch!(self, |pool, dialect| {
            let now = clock_ms!(pool, dialect);
            sqlx::query_scalar::<_, Option<String>>(
                "select body from robots_cache where origin = $1 and expires_ms > $2",
            )
            .bind(origin)
            .bind(now)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Stores `origin`'s robots.txt (`None`: no rules) for `ttl`, replacing an older copy.
    /// Expired rows of other origins go at the same time, so the table holds only what is
    /// fresh.
    pub async fn store_robots(
        &self,
        origin: &str,
        body: Option<&str>,
        ttl: Duration,
    ) -> Result<()> {
        dispatch!(self, |pool, dialect| {
            let now = clock_ms!(pool, dialect);
            sqlx::query("delete from robots_cache where expires_ms <= $1")
                .bind(now)
                .execute(pool)
                .await?;
            sqlx::query(
                "insert into robots_cache (origin, body, expires_ms) values ($1, $2, $3) \
                 on conflict (origin) do update set body = excluded.body, \
                 expires_ms = excluded.expires_ms",
            )
            .bind(origin)
            .bind(body)
            .bind(now.saturating_add(millis(ttl)))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Deletes what no worker needs any more: host slots that fell free more than `idle` ago
    /// and robots.txt copies past their time to live. Returns (slots, robots) deleted.
    ///
    /// A slot in the past delays nobody (a reservation takes `max(now, next_free)`), so a
    /// missing row answers exactly as the old one would. A reservation racing with the delete
    /// is safe either way: it moves the row past the cut-off first (the delete re-checks the
    /// row and leaves it), or it finds no row and inserts one.
    pub async fn prune_host_state(&self, idle: Duration) -> Result<(u64, u64)> {
        Ok(dispatch!(self, |pool, dialect| {
            let now = clock_ms!(pool, dialect);
            let slots = sqlx::query("delete from host_slot where next_free_ms < $1")
                .bind(now.saturating_sub(millis(idle)))
                .execute(pool)
                .await?
                .rows_affected();
            let robots = sqlx::query("delete from robots_cache where expires_ms <= $1")
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
            (slots, robots)
        }))
    }
}
