//! `create`: one read snapshot of the whole database, streamed table by table into gzip
//! members in a staging folder, then packed into the archive.
//!
//! The snapshot is one transaction on one connection: on PostgreSQL `REPEATABLE READ READ ONLY`
//! (every statement sees the same committed state, writers are not blocked); on SQLite a read
//! transaction, which in WAL mode sees the database as of its first read while writers go on.
//! Rows are streamed from the cursor to the compressor one at a time, so memory does not grow
//! with the table.
//!
//! Durability: the archive is written under a hidden temporary name (`.grandma-backup-….partial`)
//! in the destination folder, fsynced, renamed to `grandma-backup-<time>.tar` and the folder
//! fsynced. A process killed at any point leaves either no archive or a whole one; the hidden
//! leftovers never match the archive name pattern.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use futures::TryStreamExt;
use sqlx::{PgConnection, Row, SqliteConnection};
use uuid::Uuid;

use super::BackupError;
use super::format::{
    ColumnEntry, ColumnType, FORMAT, FORMAT_VERSION, Hashing, MANIFEST_NAME, Manifest, TableEntry,
    Value, member_name, write_row,
};
use super::schema::{self, ColumnSchema, TableSchema, quote};
use crate::db::{Pools, Store};

/// The file name prefix of finished archives.
pub const ARCHIVE_PREFIX: &str = "grandma-backup-";
/// The file name suffix of finished archives.
pub const ARCHIVE_SUFFIX: &str = ".tar";

/// What `create` wrote.
#[derive(Debug, Clone)]
pub struct BackupSummary {
    /// The archive's final path.
    pub path: PathBuf,
    /// Its size in bytes.
    pub bytes: u64,
    pub manifest: Manifest,
}

type Member = Hashing<BufWriter<GzEncoder<File>>>;

fn io_at(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Streams `select <columns> from <table>` on `$conn` into the member file, decoding each row
/// with `$decode`. A macro so that it expands with each driver's concrete connection type.
macro_rules! dump_table {
    ($conn:expr, $table:expr, $dir:expr, $decode:path) => {{
        let table: &TableSchema = $table;
        let columns: Vec<String> = table.columns.iter().map(|c| quote(&c.name)).collect();
        let sql = format!("select {} from {}", columns.join(", "), quote(&table.name));
        let path = $dir.join(format!("{}.jsonl.gz", table.name));
        let file = File::create(&path).map_err(io_at(&path))?;
        let mut out: Member = Hashing::new(BufWriter::with_capacity(
            256 * 1024,
            GzEncoder::new(file, Compression::fast()),
        ));
        let mut rows = 0u64;
        let mut values = Vec::with_capacity(table.columns.len());
        {
            let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *$conn);
            while let Some(row) = stream.try_next().await? {
                values.clear();
                for (i, column) in table.columns.iter().enumerate() {
                    values.push($decode(&row, i, table, column)?);
                }
                write_row(&mut out, &values).map_err(io_at(&path))?;
                rows += 1;
            }
        }
        let (buffered, sha256) = out.finish();
        let encoder = buffered
            .into_inner()
            .map_err(|e| io_at(&path)(e.into_error()))?;
        encoder.finish().map_err(io_at(&path))?;
        (
            TableEntry {
                name: table.name.clone(),
                columns: table
                    .columns
                    .iter()
                    .map(|c| ColumnEntry {
                        name: c.name.clone(),
                        kind: c.kind,
                    })
                    .collect(),
                rows,
                sha256,
            },
            path,
        )
    }};
}

fn mismatch(table: &TableSchema, column: &ColumnSchema, found: &str) -> BackupError {
    BackupError::Unsupported(format!(
        "column {}.{} is declared {} but holds a {found} value",
        table.name, column.name, column.sql_type
    ))
}

/// One SQLite value, by the column's declared type. STRICT tables guarantee the match; other
/// tables may hold anything, and a value of another class is refused rather than converted.
fn sqlite_value(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
    table: &TableSchema,
    column: &ColumnSchema,
) -> Result<Value, BackupError> {
    use sqlx::{TypeInfo, ValueRef};
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let class = raw.type_info().name().to_owned();
    Ok(match (column.kind, class.as_str()) {
        (ColumnType::Integer, "INTEGER") => Value::Integer(row.try_get(i)?),
        (ColumnType::Float, "REAL" | "INTEGER") => Value::Float(row.try_get(i)?),
        (ColumnType::Text, "TEXT") => Value::Text(row.try_get(i)?),
        (ColumnType::Bytes, "BLOB") => Value::Bytes(row.try_get(i)?),
        _ => return Err(mismatch(table, column, &class)),
    })
}

/// One PostgreSQL value, by the column's catalogue type.
fn postgres_value(
    row: &sqlx::postgres::PgRow,
    i: usize,
    table: &TableSchema,
    column: &ColumnSchema,
) -> Result<Value, BackupError> {
    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Value) -> Value {
        v.map(f).unwrap_or(Value::Null)
    }
    Ok(match column.sql_type.as_str() {
        "uuid" => opt(row.try_get::<Option<Uuid>, _>(i)?, Value::Uuid),
        "timestamptz" => opt(
            row.try_get::<Option<DateTime<Utc>>, _>(i)?,
            Value::Timestamp,
        ),
        // A time without zone is read as UTC, as every time this program stores is.
        "timestamp" => opt(row.try_get::<Option<NaiveDateTime>, _>(i)?, |t| {
            Value::Timestamp(t.and_utc())
        }),
        "json" | "jsonb" => opt(row.try_get::<Option<serde_json::Value>, _>(i)?, Value::Json),
        "int2" => opt(row.try_get::<Option<i16>, _>(i)?, |v| {
            Value::Integer(v.into())
        }),
        "int4" => opt(row.try_get::<Option<i32>, _>(i)?, |v| {
            Value::Integer(v.into())
        }),
        "int8" => opt(row.try_get::<Option<i64>, _>(i)?, Value::Integer),
        "float4" => opt(row.try_get::<Option<f32>, _>(i)?, |v| {
            Value::Float(v.into())
        }),
        "float8" => opt(row.try_get::<Option<f64>, _>(i)?, Value::Float),
        "bool" => opt(row.try_get::<Option<bool>, _>(i)?, Value::Boolean),
        "text" | "varchar" | "bpchar" | "name" => {
            opt(row.try_get::<Option<String>, _>(i)?, Value::Text)
        }
        "bytea" => opt(row.try_get::<Option<Vec<u8>>, _>(i)?, Value::Bytes),
        other => return Err(mismatch(table, column, other)),
    })
}

/// The newest applied migration, read inside the snapshot.
const SCHEMA_VERSION_SQL: &str = "select max(version) from _sqlx_migrations where success";

fn schema_version(found: Result<Option<i64>, sqlx::Error>) -> Result<i64, BackupError> {
    // No bookkeeping table, or nothing applied: there is no schema to restore into.
    found.ok().flatten().ok_or(BackupError::NoSchema)
}

async fn dump_sqlite(
    conn: &mut SqliteConnection,
    dir: &Path,
) -> Result<(i64, Vec<(TableEntry, PathBuf)>), BackupError> {
    let version = schema_version(
        sqlx::query_scalar(SCHEMA_VERSION_SQL)
            .fetch_one(&mut *conn)
            .await,
    )?;
    let tables = schema::dependency_order(schema::sqlite_tables(conn).await?);
    let mut members = Vec::with_capacity(tables.len());
    for table in &tables {
        members.push(dump_table!(conn, table, dir, sqlite_value));
    }
    Ok((version, members))
}

async fn dump_postgres(
    conn: &mut PgConnection,
    dir: &Path,
) -> Result<(i64, Vec<(TableEntry, PathBuf)>), BackupError> {
    let version = schema_version(
        sqlx::query_scalar(SCHEMA_VERSION_SQL)
            .fetch_one(&mut *conn)
            .await,
    )?;
    let tables = schema::dependency_order(schema::postgres_tables(conn).await?);
    let mut members = Vec::with_capacity(tables.len());
    for table in &tables {
        members.push(dump_table!(conn, table, dir, postgres_value));
    }
    Ok((version, members))
}

impl Store {
    /// Writes an archive of the whole database into `dir` (created if missing) and returns
    /// where. Safe while the database is in use: it reads one snapshot.
    pub async fn create_backup(&self, dir: &Path) -> Result<BackupSummary, BackupError> {
        std::fs::create_dir_all(dir).map_err(io_at(dir))?;
        let staging = tempfile::Builder::new()
            .prefix(".grandma-backup-")
            .tempdir_in(dir)
            .map_err(io_at(dir))?;
        let created_at = crate::db::now();
        let (source, (schema_version, members)) = match &self.pools {
            Pools::Sqlite(pool) => {
                // The snapshot starts at the first read of this transaction.
                let mut tx = pool.begin().await?;
                let dumped = dump_sqlite(&mut tx, staging.path()).await;
                tx.rollback().await?;
                ("sqlite", dumped?)
            }
            Pools::Postgres(pool) => {
                let mut tx = pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await?;
                let dumped = dump_postgres(&mut tx, staging.path()).await;
                tx.rollback().await?;
                ("postgres", dumped?)
            }
        };
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            format_version: FORMAT_VERSION,
            created_at,
            source: source.to_owned(),
            schema_version,
            tables: members.iter().map(|(t, _)| t.clone()).collect(),
        };
        let name = format!(
            "{ARCHIVE_PREFIX}{}{ARCHIVE_SUFFIX}",
            created_at.format("%Y%m%dT%H%M%S%.6fZ")
        );
        let dir = dir.to_owned();
        let packed = manifest.clone();
        let (path, bytes) = tokio::task::spawn_blocking(move || {
            let files: Vec<(String, PathBuf)> = members
                .into_iter()
                .map(|(t, p)| (member_name(&t.name), p))
                .collect();
            let packed = pack(&dir, &name, &packed, &files);
            drop(staging);
            packed
        })
        .await
        .map_err(|e| BackupError::Io {
            path: PathBuf::new(),
            source: std::io::Error::other(e),
        })??;
        Ok(BackupSummary {
            path,
            bytes,
            manifest,
        })
    }
}

/// Packs the manifest and the members into `dir/name`, durably and atomically.
fn pack(
    dir: &Path,
    name: &str,
    manifest: &Manifest,
    members: &[(String, PathBuf)],
) -> Result<(PathBuf, u64), BackupError> {
    let partial = tempfile::Builder::new()
        .prefix(".grandma-backup-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(io_at(dir))?;
    let at = partial.path().to_owned();
    let io = io_at(&at);
    let mtime = manifest.created_at.timestamp().max(0) as u64;
    let header = |size: u64| {
        let mut h = tar::Header::new_ustar();
        h.set_size(size);
        h.set_mode(0o644);
        h.set_mtime(mtime);
        h.set_entry_type(tar::EntryType::Regular);
        h
    };
    {
        let mut tar = tar::Builder::new(BufWriter::with_capacity(1024 * 1024, partial.as_file()));
        let text = serde_json::to_vec_pretty(manifest).map_err(|e| io(e.into()))?;
        tar.append_data(&mut header(text.len() as u64), MANIFEST_NAME, &text[..])
            .map_err(&io)?;
        for (member, path) in members {
            let mut file = File::open(path).map_err(io_at(path))?;
            let size = file.metadata().map_err(io_at(path))?.len();
            tar.append_data(&mut header(size), member, &mut file)
                .map_err(&io)?;
        }
        let mut out = tar.into_inner().map_err(&io)?;
        out.flush().map_err(&io)?;
    }
    partial.as_file().sync_all().map_err(&io)?;
    let bytes = partial.as_file().metadata().map_err(&io)?.len();
    let target = dir.join(name);
    partial
        .persist_noclobber(&target)
        .map_err(|e| io_at(&target)(e.error))?;
    // The rename is durable only once the folder's entry is.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_at(dir))?;
    Ok((target, bytes))
}

/// Deletes the oldest finished archives in `dir` so that `keep` remain; returns the deleted.
/// Only names this program gives archives are considered.
pub fn prune_backups(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io_at(dir))?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(ARCHIVE_PREFIX) && n.ends_with(ARCHIVE_SUFFIX))
        })
        .collect();
    // Names carry the UTC time with a fixed width: name order is time order.
    archives.sort();
    let excess = archives.len().saturating_sub(keep);
    let mut deleted = Vec::with_capacity(excess);
    for path in archives.into_iter().take(excess) {
        std::fs::remove_file(&path).map_err(io_at(&path))?;
        deleted.push(path);
    }
    Ok(deleted)
}
