//! `grandma backup create | restore | verify`, and the scheduled backups of a process that runs
//! the scheduler (`[backup]` settings).
//!
//! The archive and its rules live in `grandma_store::backup`; this module picks the database
//! and the folder, prints what happened, and maps refusals to exit code 2 (bad input: a
//! corrupt archive, a non-empty target) and failures to 1.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use grandma_shared::Settings;
use grandma_store::Store;
use grandma_store::backup::{
    ARCHIVE_PREFIX, ARCHIVE_SUFFIX, BackupError, Manifest, prune_backups, verify_backup,
};
use tokio_util::sync::CancellationToken;

use crate::Failure;
use crate::db::{DatabaseArgs, connect, database_url, describe_database, runtime};

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: BackupCommand,
}

#[derive(Debug, Subcommand)]
enum BackupCommand {
    /// Write an archive of the whole database (safe while the server runs).
    Create {
        /// The folder to write into; default: `[backup] directory`, else `backups` in the
        /// data directory.
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
    },
    /// Load an archive into an empty database (SQLite or PostgreSQL), then migrate it to head.
    Restore {
        /// The archive (`grandma-backup-….tar`).
        archive: PathBuf,
        /// The database to restore into; default as for every command (`--database-url`,
        /// `GRANDMA_DATABASE_URL`, the settings).
        #[arg(long, value_name = "URL")]
        database: Option<String>,
    },
    /// Read a whole archive and check every table's checksum.
    Verify {
        /// The archive (`grandma-backup-….tar`).
        archive: PathBuf,
    },
}

pub fn run(args: BackupArgs) -> Result<(), Failure> {
    match args.command {
        BackupCommand::Verify { archive } => runtime()?.block_on(async move {
            let manifest = verify_backup(&archive).await.map_err(refused)?;
            println!("{} is a whole backup.", archive.display());
            print_manifest(&manifest);
            Ok(())
        }),
        BackupCommand::Create { to } => {
            let url = database_url(&args.database)?;
            let dir = match to {
                Some(dir) => dir,
                None => {
                    let (settings, _) =
                        Settings::load_lenient(args.database.config.as_deref(), |n| {
                            std::env::var(n).ok()
                        });
                    settings.backup.directory_in(&settings.data_dir)
                }
            };
            runtime()?.block_on(async move {
                let store = connect(&url).await?;
                let made = store.create_backup(&dir).await;
                store.close().await;
                let summary = made.map_err(refused)?;
                println!(
                    "Wrote {} ({} bytes) from {}.",
                    summary.path.display(),
                    summary.bytes,
                    describe_database(&url)
                );
                print_manifest(&summary.manifest);
                Ok(())
            })
        }
        BackupCommand::Restore { archive, database } => {
            let url = match database {
                Some(url) => url,
                None => database_url(&args.database)?,
            };
            runtime()?.block_on(async move {
                let store = connect(&url).await?;
                let restored = store.restore_backup(&archive).await;
                store.close().await;
                let manifest = restored.map_err(refused)?;
                println!(
                    "Restored {} into {} and migrated it to head.",
                    archive.display(),
                    describe_database(&url)
                );
                print_manifest(&manifest);
                Ok(())
            })
        }
    }
}

fn print_manifest(manifest: &Manifest) {
    println!(
        "Snapshot of {} at {}, schema version {}:",
        manifest.source,
        manifest.created_at.to_rfc3339(),
        manifest.schema_version
    );
    for table in &manifest.tables {
        println!("  {:<28} {:>12} rows", table.name, table.rows);
    }
}

/// A refusal about the input (the archive, the target's contents) is exit 2; the rest is 1.
fn refused(e: BackupError) -> Failure {
    match e {
        BackupError::Malformed(_)
        | BackupError::Corrupt { .. }
        | BackupError::NewerSchema { .. }
        | BackupError::UnknownSchema(_)
        | BackupError::NotEmpty { .. }
        | BackupError::SchemaMismatch(_)
        | BackupError::NoSchema => Failure::BadInput(anyhow::Error::new(e)),
        BackupError::Io { .. } | BackupError::Unsupported(_) | BackupError::Store(_) => {
            Failure::RunFailed(anyhow::Error::new(e))
        }
    }
}

/// When the newest finished archive in `dir` was written (its modification time).
fn newest_archive(dir: &Path) -> Option<SystemTime> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.starts_with(ARCHIVE_PREFIX) && n.ends_with(ARCHIVE_SUFFIX))
        })
        .filter_map(|e| e.metadata().ok()?.modified().ok())
        .max()
}

/// The advisory lock naming the one process that writes scheduled backups.
const BACKUP_LEADER: &str = "scheduled-backup";

/// How often a process that does not write backups checks whether the writer is gone.
const FOLLOWER_RETRY: Duration = Duration::from_secs(5);

/// Writes a backup every `[backup] interval_minutes` until `shutdown`, keeping the newest
/// `[backup] keep`. The first one is due at start when the newest archive is older than the
/// interval, so restarts do not push backups back. Each success sets the
/// `backup_last_success_timestamp_seconds` gauge; each failure is logged and counted, and the
/// next attempt comes one interval later.
///
/// With several scheduler processes on one PostgreSQL database only one of them writes: the
/// one holding the `scheduled-backup` advisory lock (`Store::try_lead`). The others check
/// every few seconds and take over when it stops or dies, starting from the newest archive in
/// their own `directory`: one shared directory keeps the rhythm across a hand-over, separate
/// ones get a backup at once from the new writer.
pub async fn run_scheduled(store: Store, settings: Settings, shutdown: CancellationToken) {
    let dir = settings.backup.directory_in(&settings.data_dir);
    let interval = Duration::from_secs(settings.backup.interval_minutes.saturating_mul(60));
    let keep = settings.backup.keep;
    let retry = FOLLOWER_RETRY.min(interval);
    loop {
        let mut leadership = match store.try_lead(BACKUP_LEADER).await {
            Ok(Some(leadership)) => leadership,
            outcome => {
                if let Err(error) = outcome {
                    tracing::warn!(%error, "cannot ask whether this process writes the backups");
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(retry) => continue,
                }
            }
        };
        tracing::info!(dir = %dir.display(), "this process writes the scheduled backups");
        let mut wait = newest_archive(&dir)
            .and_then(|at| at.elapsed().ok())
            .map(|age| interval.saturating_sub(age))
            .unwrap_or(Duration::ZERO);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => {
                    leadership.release().await;
                    return;
                }
                _ = tokio::time::sleep(wait) => {}
            }
            // Lost with the connection (a database restart): another process may write now,
            // so this one asks again before writing.
            if !leadership.still_held().await {
                tracing::warn!("no longer the process that writes the scheduled backups");
                break;
            }
            write_scheduled(&store, &dir, keep).await;
            wait = interval;
        }
    }
}

/// One scheduled backup: written, counted, and the archives beyond `keep` deleted.
async fn write_scheduled(store: &Store, dir: &Path, keep: usize) {
    // Logged before it starts, so a backup that never ends is seen in the log, not only in the
    // gauge that stops moving.
    tracing::info!(dir = %dir.display(), "writing a scheduled backup");
    // A backup in progress is not interrupted by shutdown: it is quick to finish and its
    // temporary files are removed when it ends.
    match store.create_backup(dir).await {
        Ok(summary) => {
            let at = summary.manifest.created_at;
            grandma_shared::metrics::record_backup_success(
                at.timestamp() as f64 + f64::from(at.timestamp_subsec_micros()) / 1e6,
            );
            tracing::info!(path = %summary.path.display(), bytes = summary.bytes, "backup written");
            match tokio::task::spawn_blocking({
                let dir = dir.to_owned();
                move || prune_backups(&dir, keep)
            })
            .await
            {
                Ok(Ok(deleted)) => {
                    for path in deleted {
                        tracing::info!(path = %path.display(), "old backup deleted");
                    }
                }
                Ok(Err(error)) => tracing::warn!(%error, "cannot delete old backups"),
                Err(error) => tracing::warn!(%error, "cannot delete old backups"),
            }
        }
        Err(error) => {
            grandma_shared::metrics::record_backup_failure();
            let error = format!("{:#}", anyhow::Error::new(error));
            tracing::error!(%error, dir = %dir.display(), "scheduled backup failed");
        }
    }
}
