//! Backups: a consistent, portable, compressed archive of the whole database, and its restore
//! into an empty database of either kind, which is also how an install moves from SQLite to
//! PostgreSQL.
//!
//! - [`Store::create_backup`] reads one snapshot and writes `grandma-backup-<time>.tar`
//!   ([`format`] describes the archive), never a file that looks whole before it is.
//! - [`verify_backup`] reads every row of an archive and checks each table's checksum.
//! - [`Store::restore_backup`] verifies first, refuses a non-empty database or a schema newer
//!   than this build, then loads every table in one transaction.
//!
//! Tables and columns come from the database's own catalogue, so tables added by later
//! migrations are backed up without a change here.

mod archive;
mod dump;
pub mod format;
mod load;
mod schema;

use std::path::PathBuf;

pub use archive::Archive;
pub use dump::{ARCHIVE_PREFIX, ARCHIVE_SUFFIX, BackupSummary, prune_backups};
pub use format::{ColumnType, Manifest, TableEntry};
pub use load::verify_backup;

use crate::error::StoreError;

/// What can go wrong making, checking or restoring a backup, named after the outcome.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The file is not a backup archive this program can read (not a tar, a bad manifest,
    /// unexpected or missing members).
    #[error("not a usable backup archive: {0}")]
    Malformed(String),

    /// A table's rows do not match the manifest: a checksum or row count mismatch, a damaged
    /// compressed stream, or a value of the wrong type.
    #[error("table {table} is corrupt in the archive: {detail}")]
    Corrupt { table: String, detail: String },

    /// The archive was made by a newer program.
    #[error(
        "the archive's schema version {archive} is newer than this program knows (newest \
         {known}); restore it with a newer grandma"
    )]
    NewerSchema { archive: i64, known: i64 },

    /// The archive's schema version is none of this program's migrations.
    #[error("the archive's schema version {0} is not a migration this program knows")]
    UnknownSchema(i64),

    /// The source database has never been migrated: there is nothing to back up.
    #[error("the database has no schema (run `grandma db upgrade` first)")]
    NoSchema,

    /// Restores go into empty databases only.
    #[error(
        "the target database is not empty (table {table} has rows); restore into an empty database"
    )]
    NotEmpty { table: String },

    /// A table or column this format cannot carry faithfully.
    #[error("unsupported schema: {0}")]
    Unsupported(String),

    /// The archive's tables or columns differ from the target's at the archive's version.
    #[error("the archive does not match the database schema: {0}")]
    SchemaMismatch(String),

    /// The database refused or failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for BackupError {
    fn from(e: sqlx::Error) -> Self {
        BackupError::Store(e.into())
    }
}
