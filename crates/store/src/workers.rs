//! `worker`: worker processes and their heartbeats (health shows workers seen recently).

use chrono::{DateTime, Utc};

use crate::db::{Store, now, stored_time};
use crate::error::Result;
use crate::users::found;

/// A worker process as last seen.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Worker {
    pub worker_id: String,
    pub hostname: String,
    pub started_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl Store {
    /// Records that a worker is alive: inserts it on its first beat, then moves `last_seen_at`.
    pub async fn worker_heartbeat(&self, worker_id: &str, hostname: &str) -> Result<Worker> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "insert into worker (worker_id, hostname, started_at, last_seen_at) \
                 values ($1, $2, $3, $3) on conflict (worker_id) do update \
                 set hostname = excluded.hostname, last_seen_at = excluded.last_seen_at \
                 returning *",
            )
            .bind(worker_id)
            .bind(hostname)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Workers whose last heartbeat is at or after `since`, most recent first.
    pub async fn workers_seen_since(&self, since: DateTime<Utc>) -> Result<Vec<Worker>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select * from worker where last_seen_at >= $1 \
                 order by last_seen_at desc, worker_id",
            )
            .bind(stored_time(since))
            .fetch_all(pool)
            .await?
        }))
    }

    /// Forgets a worker (clean shutdown).
    pub async fn remove_worker(&self, worker_id: &str) -> Result<()> {
        let deleted = dispatch!(self, |pool, dialect| {
            sqlx::query("delete from worker where worker_id = $1")
                .bind(worker_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(deleted)
    }

    /// Forgets workers not seen since `before` (housekeeping); returns how many.
    pub async fn prune_workers(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query("delete from worker where last_seen_at < $1")
                .bind(stored_time(before))
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }
}
