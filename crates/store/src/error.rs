//! The store's one error type.
//!
//! Database errors are classified once, in `From<sqlx::Error>`, so every query can use `?` and the
//! server maps `StoreError` to HTTP in one place: no row → [`StoreError::NotFound`] (404), a
//! named unique violation → [`StoreError::Conflict`] (409), a dangling reference →
//! [`StoreError::MissingReference`] (422).

use std::path::PathBuf;

use sqlx::error::{DatabaseError, ErrorKind};

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What can go wrong in the data layer, named after the outcome.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The row does not exist, or it belongs to someone the caller may not see (scoping answers
    /// "not found" rather than "forbidden" so ids of other users do not leak).
    #[error("not found")]
    NotFound,

    /// A unique constraint refused the write; the same [`Constraint`] on both backends.
    #[error("conflict with an existing row ({constraint})")]
    Conflict { constraint: Constraint },

    /// A foreign key refused the write: the referenced row does not exist.
    #[error("the referenced row does not exist ({constraint})")]
    MissingReference { constraint: String },

    /// The worker no longer holds the lease on a run or delivery (it expired and another worker
    /// claimed it, or the run finished). Nothing was written.
    #[error("the lease is held by another worker or has ended")]
    LeaseLost,

    /// The caller asked for something the data model does not allow (for example finishing a
    /// run with a non-terminal status).
    #[error("invalid request: {0}")]
    Invalid(&'static str),

    /// The change would break a rule of the data (an organization without an owner, a
    /// personal organization deleted on its own); the message says which, in words.
    #[error("{0}")]
    Refused(&'static str),

    /// The database URL names no supported backend.
    #[error("unsupported database URL (expected sqlite:… or postgres://…): {0}")]
    UnsupportedUrl(String),

    /// Any other database error, kept whole for the logs.
    #[error("database error")]
    Database(#[source] sqlx::Error),

    /// Applying or reverting a migration failed.
    #[error("migration failed")]
    Migration(#[source] sqlx::migrate::MigrateError),

    /// Reading or writing migration files (`new_revision`) failed.
    #[error("migration file {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A JSON column held something that does not decode (written by another program).
    #[error("invalid JSON in the database")]
    Json(#[source] serde_json::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::RowNotFound => StoreError::NotFound,
            sqlx::Error::Database(db) => match db.kind() {
                ErrorKind::UniqueViolation => StoreError::Conflict {
                    constraint: Constraint::named(&constraint_name(db.as_ref())),
                },
                ErrorKind::ForeignKeyViolation => StoreError::MissingReference {
                    constraint: db.constraint().unwrap_or("foreign key").to_owned(),
                },
                _ => StoreError::Database(sqlx::Error::Database(db)),
            },
            other => StoreError::Database(other),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(error: sqlx::migrate::MigrateError) -> Self {
        StoreError::Migration(error)
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Json(error)
    }
}

/// The unique constraints callers match on, and any other by its name; the names are
/// identical on both backends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Constraint {
    /// One account per e-mail address, compared case-insensitively (`lower(email)`).
    UserEmail,
    /// A token secret's hash identifies one token.
    ApiTokenHash,
    /// The run id (engine and log identifier) is unique; its index doubles as the constraint.
    ResultRunId,
    /// Another constraint, by its PostgreSQL-style name.
    Other(String),
}

impl Constraint {
    /// Every named constraint with its name in the schema.
    const NAMED: [(Constraint, &'static str); 3] = [
        (Constraint::UserEmail, "app_user_email_key"),
        (Constraint::ApiTokenHash, "api_token_token_hash_key"),
        (Constraint::ResultRunId, "idx_result_run_id"),
    ];

    /// The constraint called `name` in the schema.
    pub fn named(name: &str) -> Constraint {
        Self::NAMED
            .into_iter()
            .find(|(_, n)| *n == name)
            .map_or_else(|| Constraint::Other(name.to_owned()), |(c, _)| c)
    }

    /// Its name in the schema.
    pub fn name(&self) -> &str {
        match self {
            Constraint::Other(name) => name,
            known => Self::NAMED
                .iter()
                .find(|(c, _)| c == known)
                .map_or("", |(_, n)| n),
        }
    }
}

impl std::fmt::Display for Constraint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The constraint's name as PostgreSQL spells it.
///
/// PostgreSQL reports it directly. SQLite reports `index 'name'` for expression indexes and
/// `table.col, table.col` otherwise, so the latter is turned into PostgreSQL's naming
/// (`<table>_pkey`, `<table>_<cols>_key`); the few unique indexes with a name of their own are
/// listed explicitly.
fn constraint_name(db: &dyn DatabaseError) -> String {
    if let Some(name) = db.constraint() {
        return name.to_owned();
    }
    let message = db.message();
    let detail = message
        .strip_prefix("UNIQUE constraint failed: ")
        .unwrap_or(message);
    if let Some(index) = detail
        .strip_prefix("index '")
        .and_then(|s| s.strip_suffix('\''))
    {
        return index.to_owned();
    }
    if detail == "result.run_id" {
        return Constraint::ResultRunId.name().to_owned();
    }
    let mut table = "";
    let mut columns = Vec::new();
    for part in detail.split(", ") {
        let (t, c) = part.split_once('.').unwrap_or(("", part));
        table = t;
        columns.push(c);
    }
    // SQLITE_CONSTRAINT_PRIMARYKEY is extended code 1555.
    if db.code().as_deref() == Some("1555") {
        format!("{table}_pkey")
    } else {
        format!("{table}_{}_key", columns.join("_"))
    }
}
