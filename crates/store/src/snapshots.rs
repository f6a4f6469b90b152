//! `page_snapshot`: sanitized copies of pages a person picks items on. A snapshot belongs to
//! the user who asked for it (no one else reads it, admins included), is not served after it
//! expires, and each user keeps a bounded number and size of them: storing a new one deletes
//! the expired ones of every user and then this user's oldest beyond the bounds.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::error::{Result, StoreError};

/// A snapshot as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Snapshot {
    pub snapshot_id: Uuid,
    pub owner_id: Uuid,
    /// The address asked for.
    pub url: String,
    /// The address after redirects.
    pub final_url: String,
    pub title: Option<String>,
    pub fetcher_type: String,
    /// The sanitized page.
    pub html: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A snapshot to store.
#[derive(Debug, Clone)]
pub struct NewSnapshot {
    pub owner_id: Uuid,
    pub url: String,
    pub final_url: String,
    pub title: Option<String>,
    pub fetcher_type: String,
    pub html: String,
    /// How long it is served.
    pub lifetime: chrono::Duration,
}

/// What one user may keep at once; the oldest snapshots beyond either bound are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotBounds {
    pub per_user: u32,
    pub user_bytes: u64,
}

/// A user's snapshots, for bounds checks and listings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotUsage {
    pub count: u64,
    pub bytes: u64,
}

impl Store {
    /// Stores a snapshot and enforces `bounds` on its owner (the new snapshot always stays: a
    /// single snapshot larger than `user_bytes` is the caller's mistake and refused).
    pub async fn create_snapshot(
        &self,
        snapshot: &NewSnapshot,
        bounds: SnapshotBounds,
    ) -> Result<Snapshot> {
        let size = snapshot.html.len() as u64;
        if size > bounds.user_bytes {
            return Err(StoreError::Invalid(
                "a snapshot larger than the bytes a user may keep",
            ));
        }
        let at = now();
        let expires = at + snapshot.lifetime;
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            sqlx::query("delete from page_snapshot where expires_at <= $1")
                .bind(at)
                .execute(&mut *tx)
                .await?;
            let stored: Snapshot = sqlx::query_as(
                "insert into page_snapshot (snapshot_id, owner_id, url, final_url, title, \
                 fetcher_type, html, size_bytes, created_at, expires_at) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) returning *",
            )
            .bind(Uuid::now_v7())
            .bind(snapshot.owner_id)
            .bind(&snapshot.url)
            .bind(&snapshot.final_url)
            .bind(&snapshot.title)
            .bind(&snapshot.fetcher_type)
            .bind(&snapshot.html)
            .bind(size as i64)
            .bind(at)
            .bind(expires)
            .fetch_one(&mut *tx)
            .await?;
            // Newest first; the new one is first (UUID v7 orders ties of the same microsecond).
            let kept: Vec<(Uuid, i64)> = sqlx::query_as(
                "select snapshot_id, size_bytes from page_snapshot where owner_id = $1 \
                 order by created_at desc, snapshot_id desc",
            )
            .bind(snapshot.owner_id)
            .fetch_all(&mut *tx)
            .await?;
            let mut total = 0u64;
            for (i, (id, bytes)) in kept.iter().enumerate() {
                total += *bytes as u64;
                let over = i as u64 >= u64::from(bounds.per_user) || total > bounds.user_bytes;
                if over && *id != stored.snapshot_id {
                    sqlx::query("delete from page_snapshot where snapshot_id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                    total -= *bytes as u64;
                }
            }
            tx.commit().await?;
            stored
        }))
    }

    /// One of `owner_id`'s snapshots that has not expired; anything else is not found.
    pub async fn get_snapshot(&self, owner_id: Uuid, snapshot_id: Uuid) -> Result<Snapshot> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select * from page_snapshot \
                 where snapshot_id = $1 and owner_id = $2 and expires_at > $3",
            )
            .bind(snapshot_id)
            .bind(owner_id)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }

    /// How many snapshots `owner_id` keeps, and their bytes (expired ones not yet deleted
    /// included).
    pub async fn snapshot_usage(&self, owner_id: Uuid) -> Result<SnapshotUsage> {
        let (count, bytes): (i64, Option<i64>) = dispatch!(self, |pool, dialect| {
            sqlx::query_as(dialect.pick(
                "select count(*), sum(size_bytes) from page_snapshot where owner_id = $1",
                "select count(*), sum(size_bytes)::bigint from page_snapshot where owner_id = $1",
            ))
            .bind(owner_id)
            .fetch_one(pool)
            .await?
        });
        Ok(SnapshotUsage {
            count: count as u64,
            bytes: bytes.unwrap_or(0) as u64,
        })
    }

    /// Deletes every expired snapshot; returns how many.
    pub async fn delete_expired_snapshots(&self) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query("delete from page_snapshot where expires_at <= $1")
                .bind(now())
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Deletes one of `owner_id`'s snapshots.
    pub async fn delete_snapshot(&self, owner_id: Uuid, snapshot_id: Uuid) -> Result<()> {
        let deleted = dispatch!(self, |pool, dialect| {
            sqlx::query("delete from page_snapshot where snapshot_id = $1 and owner_id = $2")
                .bind(snapshot_id)
                .bind(owner_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        crate::users::found(deleted)
    }
}
