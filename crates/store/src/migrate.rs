//! Schema migrations: two embedded migrators (one folder per dialect, same versions) and the
//! operations behind `grandma db upgrade | downgrade | current | history | revision`.
//!
//! Run migrations once at start-up or from the CLI. On PostgreSQL every change runs under an
//! advisory lock on a dedicated connection, so several servers starting together migrate once;
//! the connection is closed afterwards, which also releases sqlx's own lock if a migration
//! failed half-way. SQLite has no such lock: do not migrate one file from several processes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sqlx::Connection;
use sqlx::migrate::{Migration, Migrator};

use crate::db::{Backend, Pools, Store};
use crate::error::{Result, StoreError};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

/// sqlx's bookkeeping table.
const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// Key of the advisory lock taken around schema changes ("grandma" in ASCII).
const MIGRATION_LOCK_KEY: i64 = 0x0067_7261_6e64_6d61;

/// How far `upgrade` goes (`alembic upgrade head` / `+n`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeTarget {
    Head,
    Steps(u32),
}

/// How far `downgrade` goes (`alembic downgrade -n` / `base`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DowngradeTarget {
    Steps(u32),
    Base,
}

/// One migration version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub version: i64,
    pub name: String,
}

/// One line of `history`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionStatus {
    pub version: i64,
    pub name: String,
    pub applied: bool,
    pub applied_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct AppliedRow {
    version: i64,
    installed_on: DateTime<Utc>,
}

impl Store {
    fn migrator(&self) -> &'static Migrator {
        match self.backend() {
            Backend::Sqlite => &SQLITE,
            Backend::Postgres => &POSTGRES,
        }
    }

    /// The up-migrations known to this build, in version order.
    fn known(&self) -> impl Iterator<Item = &'static Migration> {
        self.migrator()
            .iter()
            .filter(|m| m.migration_type.is_up_migration())
    }

    /// Applies every pending migration.
    pub async fn migrate_to_head(&self) -> Result<()> {
        self.upgrade(UpgradeTarget::Head).await.map(|_| ())
    }

    /// Applies pending migrations up to `target`; returns the versions applied.
    pub async fn upgrade(&self, target: UpgradeTarget) -> Result<Vec<i64>> {
        let migrator = self.migrator();
        let store = self.clone();
        self.with_migration_lock(async move {
            let applied = store.applied().await?;
            let pending: Vec<i64> = store
                .known()
                .map(|m| m.version)
                .filter(|v| !applied.contains_key(v))
                .collect();
            let chosen: Vec<i64> = match target {
                UpgradeTarget::Head => pending,
                UpgradeTarget::Steps(n) => pending.into_iter().take(n as usize).collect(),
            };
            if let Some(&last) = chosen.last() {
                dispatch!(store, |pool, dialect| migrator.run_to(last, pool).await?);
                tracing::info!(versions = ?chosen, "database schema upgraded");
            }
            Ok(chosen)
        })
        .await
    }

    /// Reverts applied migrations, newest first; returns the versions reverted.
    pub async fn downgrade(&self, target: DowngradeTarget) -> Result<Vec<i64>> {
        let migrator = self.migrator();
        let store = self.clone();
        self.with_migration_lock(async move {
            let mut applied: Vec<i64> = store.applied().await?.into_keys().collect();
            applied.sort_unstable_by(|a, b| b.cmp(a));
            let reverted: Vec<i64> = match target {
                DowngradeTarget::Base => applied,
                DowngradeTarget::Steps(n) => applied.into_iter().take(n as usize).collect(),
            };
            if let Some(&oldest) = reverted.last() {
                // `undo` reverts every applied version above the target.
                dispatch!(store, |pool, dialect| migrator
                    .undo(pool, oldest - 1)
                    .await?);
                tracing::info!(versions = ?reverted, "database schema downgraded");
            }
            Ok(reverted)
        })
        .await
    }

    /// The newest applied migration, `None` on an empty database.
    pub async fn current(&self) -> Result<Option<Revision>> {
        let applied = self.applied().await?;
        Ok(self
            .known()
            .filter(|m| applied.contains_key(&m.version))
            .last()
            .map(|m| Revision {
                version: m.version,
                name: m.description.to_string(),
            }))
    }

    /// Every known migration, oldest first, with whether and when it was applied.
    pub async fn history(&self) -> Result<Vec<RevisionStatus>> {
        let applied = self.applied().await?;
        Ok(self
            .known()
            .map(|m| RevisionStatus {
                version: m.version,
                name: m.description.to_string(),
                applied: applied.contains_key(&m.version),
                applied_at: applied.get(&m.version).copied(),
            })
            .collect())
    }

    /// True when every migration of this build is applied (readiness probe).
    pub async fn schema_ready(&self) -> Result<bool> {
        let applied = self.applied().await?;
        Ok(self.known().all(|m| applied.contains_key(&m.version)))
    }

    /// Applied versions and when, from sqlx's table; empty if it does not exist yet.
    async fn applied(&self) -> Result<HashMap<i64, DateTime<Utc>>> {
        let exists: bool = dispatch!(self, |pool, dialect| {
            sqlx::query_scalar(dialect.pick(
                "select exists (select 1 from sqlite_master where type = 'table' and name = $1)",
                "select to_regclass($1) is not null",
            ))
            .bind(MIGRATIONS_TABLE)
            .fetch_one(pool)
            .await?
        });
        if !exists {
            return Ok(HashMap::new());
        }
        let rows: Vec<AppliedRow> = dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select version, installed_on from _sqlx_migrations where success order by version",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (r.version, r.installed_on))
            .collect())
    }

    /// Runs `work` while holding the PostgreSQL migration advisory lock (nothing on SQLite).
    async fn with_migration_lock<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        let Pools::Postgres(pool) = &self.pools else {
            return work.await;
        };
        // A connection outside the pool: closing it ends the session and with it every lock it
        // holds, whatever happened in between.
        let mut lock_conn = pool.acquire().await?.detach();
        sqlx::query("select pg_advisory_lock($1)")
            .bind(MIGRATION_LOCK_KEY)
            .execute(&mut lock_conn)
            .await?;
        let outcome = work.await;
        if let Err(error) = lock_conn.close().await {
            tracing::warn!(%error, "closing the migration lock connection failed");
        }
        outcome
    }
}

/// Creates an empty `<next>_<name>.up.sql` / `.down.sql` pair in both `sqlite/` and `postgres/`
/// under `migrations_root` and returns the four paths. The next version is one above the
/// highest in either folder, zero-padded like the existing files. Rebuild to embed them.
pub fn new_revision(migrations_root: &Path, name: &str) -> Result<Vec<PathBuf>> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(StoreError::Invalid(
            "a revision name uses only a-z, 0-9 and _",
        ));
    }
    let dialects = ["sqlite", "postgres"];
    let mut highest = 0_i64;
    let mut width = 4_usize;
    for dialect in dialects {
        let dir = migrations_root.join(dialect);
        let entries = std::fs::read_dir(&dir).map_err(|source| StoreError::Io {
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| StoreError::Io {
                path: dir.clone(),
                source,
            })?;
            let file_name = entry.file_name();
            let file_name = file_name.to_string_lossy();
            let Some((digits, _)) = file_name.split_once('_') else {
                continue;
            };
            if let Ok(version) = digits.parse::<i64>() {
                highest = highest.max(version);
                width = width.max(digits.len());
            }
        }
    }
    let stem = format!("{:0width$}_{name}", highest + 1);
    let mut created = Vec::new();
    for dialect in dialects {
        for (direction, header) in [
            ("up", "-- Describe the change; comment every new column."),
            ("down", "-- Revert exactly what the .up.sql file does."),
        ] {
            let path = migrations_root
                .join(dialect)
                .join(format!("{stem}.{direction}.sql"));
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
                .and_then(|mut f| {
                    std::io::Write::write_all(&mut f, format!("{header}\n").as_bytes())
                })
                .map_err(|source| StoreError::Io {
                    path: path.clone(),
                    source,
                })?;
            created.push(path);
        }
    }
    Ok(created)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_dialects_have_the_same_reversible_versions() {
        let versions = |m: &Migrator| {
            let mut v: Vec<(i64, String, bool)> = m
                .iter()
                .map(|m| {
                    (
                        m.version,
                        m.description.to_string(),
                        m.migration_type.is_up_migration(),
                    )
                })
                .collect();
            v.sort();
            v
        };
        let sqlite = versions(&SQLITE);
        assert_eq!(sqlite, versions(&POSTGRES));
        let ups = sqlite.iter().filter(|v| v.2).count();
        assert_eq!(ups * 2, sqlite.len(), "every up has a down: {sqlite:?}");
    }

    #[test]
    fn new_revision_creates_the_next_pair_in_both_folders() {
        let root = tempfile::tempdir().unwrap();
        for d in ["sqlite", "postgres"] {
            std::fs::create_dir(root.path().join(d)).unwrap();
            std::fs::write(root.path().join(d).join("0001_core.up.sql"), "").unwrap();
        }
        std::fs::write(root.path().join("postgres/0007_x.up.sql"), "").unwrap();
        let created = new_revision(root.path(), "add_thing").unwrap();
        assert_eq!(created.len(), 4);
        assert!(root.path().join("sqlite/0008_add_thing.down.sql").exists());
        assert!(root.path().join("postgres/0008_add_thing.up.sql").exists());
        assert!(matches!(
            new_revision(root.path(), "Bad-Name"),
            Err(StoreError::Invalid(_))
        ));
        // The same name again takes the next number rather than overwriting.
        new_revision(root.path(), "add_thing").unwrap();
        assert!(root.path().join("sqlite/0009_add_thing.up.sql").exists());
    }
}
