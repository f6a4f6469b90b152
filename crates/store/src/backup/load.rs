//! `restore`: an archive into an empty database of either kind.
//!
//! Order of work, so that a refusal changes nothing: read the whole archive first (every
//! checksum, every value's type), then check the schema version against this build's
//! migrations and that the target holds no row. Only then migrate the target to the archive's
//! version, load every table in one transaction in foreign-key order (rows are checked again
//! as they stream in; a mismatch rolls everything back), and migrate to head, so that later
//! migrations convert the restored rows like any other.
//!
//! Values are converted to the type the target declares: a SQLite archive's 16-byte blob goes
//! into a PostgreSQL `uuid`, its RFC 3339 text into a `timestamptz`, its 0/1 into a `boolean`,
//! and back; anything else that does not fit is refused with the column named.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sqlx::postgres::PgArguments;
use sqlx::query::Query;
use sqlx::sqlite::SqliteArguments;
use sqlx::{PgConnection, Postgres, Sqlite, SqliteConnection};
use uuid::Uuid;

use super::BackupError;
use super::archive::Archive;
use super::format::{ColumnType, Manifest, TableEntry, Value};
use super::schema::{self, ColumnSchema, TableSchema, quote};
use crate::db::{Pools, Store};
use crate::migrate::{DowngradeTarget, UpgradeTarget};

/// Rows per insert statement, and bound values per statement at most (SQLite allows 32766).
const BATCH_ROWS: usize = 500;
const BATCH_VALUES: usize = 30_000;

/// A value ready to bind to a target column.
#[derive(Debug)]
enum Bind {
    Null,
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Text(String),
    Bytes(Vec<u8>),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Json(serde_json::Value),
}

/// How one archive column lands in the target.
#[derive(Debug, Clone)]
struct Target {
    column: ColumnSchema,
    postgres: bool,
}

impl Target {
    /// Converts `value` to what the target column stores.
    fn convert(&self, value: Value) -> Result<Bind, String> {
        use ColumnType as T;
        let kind = self.column.kind;
        let from = value_kind(&value);
        let bind = match (kind, value) {
            (_, Value::Null) => Bind::Null,
            (T::Integer, Value::Integer(i)) => Bind::Integer(i),
            (T::Integer, Value::Boolean(b)) if !self.postgres => Bind::Integer(b.into()),
            (T::Float, Value::Float(f)) => Bind::Float(f),
            (T::Float, Value::Integer(i)) => Bind::Float(i as f64),
            (T::Boolean, Value::Boolean(b)) => Bind::Boolean(b),
            (T::Boolean, Value::Integer(i @ (0 | 1))) => Bind::Boolean(i == 1),
            (T::Text, Value::Text(s)) => Bind::Text(s),
            // SQLite keeps these as text; the driver writes times as the store does.
            (T::Text, Value::Timestamp(t)) if !self.postgres => Bind::Time(t),
            (T::Text, Value::Json(v)) if !self.postgres => Bind::Text(v.to_string()),
            (T::Text, Value::Uuid(u)) if !self.postgres => Bind::Text(u.hyphenated().to_string()),
            (T::Bytes, Value::Bytes(b)) => Bind::Bytes(b),
            (T::Bytes, Value::Uuid(u)) if !self.postgres => Bind::Bytes(u.as_bytes().to_vec()),
            (T::Uuid, Value::Uuid(u)) => Bind::Uuid(u),
            (T::Uuid, Value::Bytes(b)) => Bind::Uuid(
                Uuid::from_slice(&b).map_err(|_| format!("{} bytes are not a UUID", b.len()))?,
            ),
            (T::Uuid, Value::Text(s)) => {
                Bind::Uuid(Uuid::try_parse(&s).map_err(|_| format!("{s:?} is not a UUID"))?)
            }
            (T::Timestamp, Value::Timestamp(t)) => Bind::Time(t),
            (T::Timestamp, Value::Text(s)) => Bind::Time(
                DateTime::parse_from_rfc3339(&s)
                    .map_err(|_| format!("{s:?} is not an RFC 3339 time"))?
                    .with_timezone(&Utc),
            ),
            (T::Json, Value::Json(v)) => Bind::Json(v),
            (T::Json, Value::Text(s)) => Bind::Json(
                serde_json::from_str(&s).map_err(|e| format!("text that is not JSON ({e})"))?,
            ),
            (to, _) => {
                return Err(format!(
                    "a {from} value cannot go into a {} column ({})",
                    to.as_str(),
                    self.column.sql_type
                ));
            }
        };
        Ok(bind)
    }
}

fn value_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Integer(_) => "integer",
        Value::Float(_) => "float",
        Value::Boolean(_) => "boolean",
        Value::Text(_) => "text",
        Value::Bytes(_) => "bytes",
        Value::Uuid(_) => "uuid",
        Value::Timestamp(_) => "timestamp",
        Value::Json(_) => "json",
    }
}

fn bind_sqlite<'q>(
    query: Query<'q, Sqlite, SqliteArguments>,
    value: Bind,
) -> Query<'q, Sqlite, SqliteArguments> {
    match value {
        Bind::Null => query.bind(None::<i64>),
        Bind::Integer(v) => query.bind(v),
        Bind::Float(v) => query.bind(v),
        Bind::Boolean(v) => query.bind(v),
        Bind::Text(v) => query.bind(v),
        Bind::Bytes(v) => query.bind(v),
        Bind::Uuid(v) => query.bind(v),
        Bind::Time(v) => query.bind(v),
        Bind::Json(v) => query.bind(v.to_string()),
    }
}

/// PostgreSQL types every parameter, so a NULL is bound with the column's own type.
fn bind_postgres<'q>(
    query: Query<'q, Postgres, PgArguments>,
    value: Bind,
    column: &ColumnSchema,
) -> Query<'q, Postgres, PgArguments> {
    let naive = column.sql_type == "timestamp";
    match value {
        Bind::Null => match column.kind {
            ColumnType::Uuid => query.bind(None::<Uuid>),
            ColumnType::Timestamp if naive => query.bind(None::<chrono::NaiveDateTime>),
            ColumnType::Timestamp => query.bind(None::<DateTime<Utc>>),
            ColumnType::Json => query.bind(None::<sqlx::types::Json<serde_json::Value>>),
            ColumnType::Integer => query.bind(None::<i64>),
            ColumnType::Float => query.bind(None::<f64>),
            ColumnType::Boolean => query.bind(None::<bool>),
            ColumnType::Text => query.bind(None::<String>),
            ColumnType::Bytes => query.bind(None::<Vec<u8>>),
        },
        Bind::Integer(v) => query.bind(v),
        Bind::Float(v) => query.bind(v),
        Bind::Boolean(v) => query.bind(v),
        Bind::Text(v) => query.bind(v),
        Bind::Bytes(v) => query.bind(v),
        Bind::Uuid(v) => query.bind(v),
        Bind::Time(v) if naive => query.bind(v.naive_utc()),
        Bind::Time(v) => query.bind(v),
        Bind::Json(v) => query.bind(sqlx::types::Json(v)),
    }
}

/// `insert into "t" ("a", "b") values ($1, $2), ($3, $4), …` for `rows` rows.
fn insert_sql(table: &str, columns: &[Target], rows: usize) -> String {
    let names: Vec<String> = columns.iter().map(|c| quote(&c.column.name)).collect();
    let mut sql = format!(
        "insert into {} ({}) values ",
        quote(table),
        names.join(", ")
    );
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..columns.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            sql.push_str(&format!("${n}"));
        }
        sql.push(')');
    }
    sql
}

/// The archive's columns matched to the target table's, refusing any difference: the target
/// was migrated to the archive's version, so a difference means the archive does not belong
/// to this schema.
fn plan(
    entry: &TableEntry,
    table: &TableSchema,
    postgres: bool,
) -> Result<Vec<Target>, BackupError> {
    let by_name: HashMap<&str, &ColumnSchema> =
        table.columns.iter().map(|c| (c.name.as_str(), c)).collect();
    let mut targets = Vec::with_capacity(entry.columns.len());
    for column in &entry.columns {
        let found = by_name.get(column.name.as_str()).ok_or_else(|| {
            BackupError::SchemaMismatch(format!(
                "column {}.{} of the archive is not in the database",
                entry.name, column.name
            ))
        })?;
        targets.push(Target {
            column: (*found).clone(),
            postgres,
        });
    }
    if let Some(missing) = table
        .columns
        .iter()
        .find(|c| !entry.columns.iter().any(|a| a.name == c.name))
    {
        return Err(BackupError::SchemaMismatch(format!(
            "column {}.{} of the database is not in the archive",
            table.name, missing.name
        )));
    }
    Ok(targets)
}

/// Checks that the archive and the database have the same tables; returns the database's
/// tables in load order with their archive entries.
fn match_tables(
    manifest: &Manifest,
    tables: Vec<TableSchema>,
) -> Result<Vec<(TableSchema, &TableEntry)>, BackupError> {
    if let Some(extra) = manifest
        .tables
        .iter()
        .find(|t| !tables.iter().any(|d| d.name == t.name))
    {
        return Err(BackupError::SchemaMismatch(format!(
            "table {} of the archive is not in the database",
            extra.name
        )));
    }
    schema::dependency_order(tables)
        .into_iter()
        .map(|t| match manifest.table(&t.name) {
            Some(entry) => Ok((t, entry)),
            None => Err(BackupError::SchemaMismatch(format!(
                "table {} of the database is not in the archive",
                t.name
            ))),
        })
        .collect()
}

/// Streams one table's rows from the archive into `$conn` in batches. A macro so that it
/// expands with each driver's concrete connection and binder.
macro_rules! load_table {
    ($conn:expr, $archive:expr, $entry:expr, $table:expr, $postgres:expr, |$q:ident, $v:ident, $c:ident| $bind:expr) => {{
        let entry: &TableEntry = $entry;
        let targets = plan(entry, $table, $postgres)?;
        let per_batch = (BATCH_VALUES / targets.len()).clamp(1, BATCH_ROWS);
        let full_sql = insert_sql(&entry.name, &targets, per_batch);
        let mut rows = $archive.rows(entry)?;
        let mut batch: Vec<Bind> = Vec::with_capacity(per_batch * targets.len());
        let mut in_batch = 0usize;
        loop {
            let row = rows.next_row()?;
            let done = row.is_none();
            if let Some(row) = row {
                for (value, target) in row.into_iter().zip(&targets) {
                    batch.push(
                        target
                            .convert(value)
                            .map_err(|detail| BackupError::Corrupt {
                                table: entry.name.clone(),
                                detail: format!("column {}: {detail}", target.column.name),
                            })?,
                    );
                }
                in_batch += 1;
            }
            if in_batch > 0 && (in_batch == per_batch || done) {
                let sql = match in_batch == per_batch {
                    true => full_sql.clone(),
                    false => insert_sql(&entry.name, &targets, in_batch),
                };
                let mut $q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for (i, $v) in batch.drain(..).enumerate() {
                    let $c = &targets[i % targets.len()].column;
                    $q = $bind;
                }
                $q.execute(&mut *$conn).await?;
                in_batch = 0;
            }
            if done {
                break;
            }
        }
        rows.finish()?;
    }};
}

async fn load_sqlite(conn: &mut SqliteConnection, archive: &Archive) -> Result<(), BackupError> {
    let tables = schema::sqlite_tables(conn).await?;
    let order = match_tables(archive.manifest(), tables)?;
    // Foreign keys are checked at commit: rows of tables in a reference cycle (or a table
    // referencing itself) may then come in any order.
    sqlx::query("pragma defer_foreign_keys = on")
        .execute(&mut *conn)
        .await?;
    for (table, entry) in &order {
        load_table!(conn, archive, entry, table, false, |q, v, _c| bind_sqlite(
            q, v
        ));
    }
    Ok(())
}

async fn load_postgres(conn: &mut PgConnection, archive: &Archive) -> Result<(), BackupError> {
    let tables = schema::postgres_tables(conn).await?;
    let order = match_tables(archive.manifest(), tables)?;
    // Deferrable constraints wait for the commit; the others are satisfied by the load order.
    sqlx::query("set constraints all deferred")
        .execute(&mut *conn)
        .await?;
    for (table, entry) in &order {
        load_table!(conn, archive, entry, table, true, |q, v, c| bind_postgres(
            q, v, c
        ));
    }
    // Rows came with their keys: a sequence behind a column must continue after them.
    for (table, _) in &order {
        for column in &table.columns {
            let sequence: Option<String> = sqlx::query_scalar(
                "select pg_get_serial_sequence(quote_ident(current_schema()) || '.' || quote_ident($1), $2)",
            )
            .bind(&table.name)
            .bind(&column.name)
            .fetch_one(&mut *conn)
            .await?;
            if let Some(sequence) = sequence {
                let sql = format!(
                    "select setval($1::regclass, coalesce(max({c})::bigint, 1), max({c}) is not null) from {t}",
                    c = quote(&column.name),
                    t = quote(&table.name)
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(sequence)
                    .execute(&mut *conn)
                    .await?;
            }
        }
    }
    Ok(())
}

impl Store {
    /// Restores the archive at `path` into this database, which must hold no row. Returns the
    /// archive's manifest. See the module documentation for the order of checks.
    pub async fn restore_backup(&self, path: &Path) -> Result<Manifest, BackupError> {
        let archive = open_verified(path.to_owned()).await?;
        let manifest = archive.manifest().clone();
        let history = self.history().await?;
        let newest = history.iter().map(|r| r.version).max().unwrap_or(0);
        if manifest.schema_version > newest {
            return Err(BackupError::NewerSchema {
                archive: manifest.schema_version,
                known: newest,
            });
        }
        if !history.iter().any(|r| r.version == manifest.schema_version) {
            return Err(BackupError::UnknownSchema(manifest.schema_version));
        }
        self.ensure_empty().await?;

        // Bring the (empty) schema to the archive's version, from either side.
        let above = history
            .iter()
            .filter(|r| r.applied && r.version > manifest.schema_version)
            .count();
        if above > 0 {
            self.downgrade(DowngradeTarget::Steps(above as u32)).await?;
        }
        let below = history
            .iter()
            .filter(|r| !r.applied && r.version <= manifest.schema_version)
            .count();
        if below > 0 {
            self.upgrade(UpgradeTarget::Steps(below as u32)).await?;
        }

        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                load_sqlite(&mut tx, &archive).await?;
                tx.commit().await?;
            }
            Pools::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                load_postgres(&mut tx, &archive).await?;
                tx.commit().await?;
            }
        }
        self.migrate_to_head().await?;
        Ok(manifest)
    }

    /// Refuses a database that holds any row outside the migrations table.
    async fn ensure_empty(&self) -> Result<(), BackupError> {
        let tables = match &self.pools {
            Pools::Sqlite(pool) => schema::sqlite_tables(&mut *pool.acquire().await?).await?,
            Pools::Postgres(pool) => schema::postgres_tables(&mut *pool.acquire().await?).await?,
        };
        for table in tables {
            let sql = format!("select exists (select 1 from {})", quote(&table.name));
            let any: bool = dispatch!(self, |pool, dialect| {
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(pool)
                    .await?
            });
            if any {
                return Err(BackupError::NotEmpty { table: table.name });
            }
        }
        Ok(())
    }
}

/// Opens and fully verifies an archive off the async threads (it reads the whole file).
pub(crate) async fn open_verified(path: PathBuf) -> Result<Archive, BackupError> {
    tokio::task::spawn_blocking(move || {
        let archive = Archive::open(&path)?;
        archive.verify()?;
        Ok(archive)
    })
    .await
    .map_err(|e| BackupError::Io {
        path: PathBuf::new(),
        source: std::io::Error::other(e),
    })?
}

/// Reads and checks every row of the archive at `path`; returns its manifest.
pub async fn verify_backup(path: &Path) -> Result<Manifest, BackupError> {
    Ok(open_verified(path.to_owned()).await?.manifest().clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: ColumnType, sql_type: &str, postgres: bool) -> Target {
        Target {
            column: ColumnSchema {
                name: "c".into(),
                kind,
                sql_type: sql_type.into(),
            },
            postgres,
        }
    }

    #[test]
    fn sqlite_values_fit_postgres_types_and_back() {
        let id = Uuid::now_v7();
        let pg_uuid = target(ColumnType::Uuid, "uuid", true);
        assert!(matches!(
            pg_uuid.convert(Value::Bytes(id.as_bytes().to_vec())),
            Ok(Bind::Uuid(u)) if u == id
        ));
        assert!(pg_uuid.convert(Value::Bytes(vec![1, 2])).is_err());
        let sqlite_blob = target(ColumnType::Bytes, "blob", false);
        assert!(matches!(
            sqlite_blob.convert(Value::Uuid(id)),
            Ok(Bind::Bytes(b)) if b == id.as_bytes()
        ));
        let pg_bool = target(ColumnType::Boolean, "bool", true);
        assert!(matches!(
            pg_bool.convert(Value::Integer(1)),
            Ok(Bind::Boolean(true))
        ));
        assert!(pg_bool.convert(Value::Integer(2)).is_err());
        let pg_time = target(ColumnType::Timestamp, "timestamptz", true);
        assert!(
            pg_time
                .convert(Value::Text("2026-01-01T00:00:00+00:00".into()))
                .is_ok()
        );
        assert!(pg_time.convert(Value::Text("soon".into())).is_err());
        let pg_json = target(ColumnType::Json, "jsonb", true);
        assert!(pg_json.convert(Value::Text("{\"a\":1}".into())).is_ok());
        let err = target(ColumnType::Integer, "int8", true)
            .convert(Value::Text("x".into()))
            .unwrap_err();
        assert_eq!(err, "a text value cannot go into a integer column (int8)");
    }

    #[test]
    fn insert_statements_number_every_value() {
        let cols = vec![
            target(ColumnType::Text, "text", true),
            target(ColumnType::Text, "text", true),
        ];
        assert_eq!(
            insert_sql("t", &cols, 2),
            "insert into \"t\" (\"c\", \"c\") values ($1, $2), ($3, $4)"
        );
    }
}
