//! What tables and columns a database has, read from its own catalogue (SQLite's pragmas,
//! PostgreSQL's `pg_catalog`), so that backups follow every migration without a table list.
//!
//! Skipped: sqlx's migrations table (an archive records the schema version instead), SQLite's
//! internal, virtual and shadow tables, and generated columns (the database computes them again
//! on restore).

use std::collections::{BTreeMap, BTreeSet};

use sqlx::{PgConnection, Row, SqliteConnection};

use super::BackupError;
use super::format::{ColumnType, valid_table_name};

/// The migrations bookkeeping table.
pub(crate) const MIGRATIONS_TABLE: &str = "_sqlx_migrations";

/// One table as the database declares it.
#[derive(Debug, Clone)]
pub(crate) struct TableSchema {
    pub name: String,
    pub columns: Vec<ColumnSchema>,
    /// Tables this one has foreign keys to (itself excluded).
    pub references: BTreeSet<String>,
}

/// One stored column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnSchema {
    pub name: String,
    pub kind: ColumnType,
    /// The declared type (SQLite) or the catalogue's type name (PostgreSQL: `int4`,
    /// `timestamptz`, …), which decides how values are read and bound.
    pub sql_type: String,
}

/// `name` quoted as an SQL identifier (both dialects).
pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

fn unsupported(table: &str, column: &str, sql_type: &str) -> BackupError {
    BackupError::Unsupported(format!(
        "column {table}.{column} has type {sql_type:?}, which backups cannot carry"
    ))
}

fn checked_name(name: String) -> Result<String, BackupError> {
    match valid_table_name(&name) {
        true => Ok(name),
        false => Err(BackupError::Unsupported(format!(
            "table name {name:?} is not a plain identifier"
        ))),
    }
}

/// SQLite's type affinity rules (the declared type decides what a column stores).
fn sqlite_kind(declared: &str) -> Option<ColumnType> {
    let t = declared.to_ascii_uppercase();
    if t.contains("INT") {
        Some(ColumnType::Integer)
    } else if t.contains("CHAR") || t.contains("CLOB") || t.contains("TEXT") {
        Some(ColumnType::Text)
    } else if t.contains("BLOB") {
        Some(ColumnType::Bytes)
    } else if t.contains("REAL") || t.contains("FLOA") || t.contains("DOUB") {
        Some(ColumnType::Float)
    } else {
        // NUMERIC affinity or `ANY`: a column of mixed values has no one type to record.
        None
    }
}

/// The PostgreSQL types a backup carries, by `pg_type.typname`.
fn postgres_kind(typname: &str) -> Option<ColumnType> {
    Some(match typname {
        "uuid" => ColumnType::Uuid,
        "timestamptz" | "timestamp" => ColumnType::Timestamp,
        "json" | "jsonb" => ColumnType::Json,
        "int2" | "int4" | "int8" => ColumnType::Integer,
        "float4" | "float8" => ColumnType::Float,
        "bool" => ColumnType::Boolean,
        "text" | "varchar" | "bpchar" | "name" => ColumnType::Text,
        "bytea" => ColumnType::Bytes,
        _ => return None,
    })
}

/// Every table of a SQLite database, in name order.
pub(crate) async fn sqlite_tables(
    conn: &mut SqliteConnection,
) -> Result<Vec<TableSchema>, BackupError> {
    let names: Vec<String> = sqlx::query_scalar(
        "select name from pragma_table_list where schema = 'main' and type = 'table' \
         and name not like 'sqlite\\_%' escape '\\' and name <> $1 order by name",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let name = checked_name(name)?;
        // hidden: 0 a stored column, 1 hidden (virtual tables), 2 and 3 generated.
        let rows = sqlx::query(
            "select name, type from pragma_table_xinfo($1) where hidden = 0 order by cid",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for row in rows {
            let column: String = row.try_get(0)?;
            let declared: String = row.try_get(1)?;
            let kind =
                sqlite_kind(&declared).ok_or_else(|| unsupported(&name, &column, &declared))?;
            columns.push(ColumnSchema {
                name: column,
                kind,
                sql_type: declared,
            });
        }
        let references: Vec<String> =
            sqlx::query_scalar("select distinct \"table\" from pragma_foreign_key_list($1)")
                .bind(&name)
                .fetch_all(&mut *conn)
                .await?;
        tables.push(TableSchema {
            references: references.into_iter().filter(|r| *r != name).collect(),
            name,
            columns,
        });
    }
    Ok(tables)
}

/// Every table of the PostgreSQL schema in use (`current_schema()`), in name order.
pub(crate) async fn postgres_tables(
    conn: &mut PgConnection,
) -> Result<Vec<TableSchema>, BackupError> {
    let names: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace \
         where n.nspname = current_schema() and c.relkind in ('r', 'p') and not c.relispartition \
         and c.relname <> $1 order by c.relname",
    )
    .bind(MIGRATIONS_TABLE)
    .fetch_all(&mut *conn)
    .await?;
    let mut tables = Vec::with_capacity(names.len());
    for name in names {
        let name = checked_name(name)?;
        let rows = sqlx::query(
            "select a.attname::text, t.typname::text from pg_attribute a \
             join pg_type t on t.oid = a.atttypid \
             where a.attrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass \
             and a.attnum > 0 and not a.attisdropped and a.attgenerated = '' order by a.attnum",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        let mut columns = Vec::with_capacity(rows.len());
        for row in rows {
            let column: String = row.try_get(0)?;
            let typname: String = row.try_get(1)?;
            let kind =
                postgres_kind(&typname).ok_or_else(|| unsupported(&name, &column, &typname))?;
            columns.push(ColumnSchema {
                name: column,
                kind,
                sql_type: typname,
            });
        }
        let references: Vec<String> = sqlx::query_scalar(
            "select distinct r.relname::text from pg_constraint k join pg_class r on r.oid = k.confrelid \
             where k.contype = 'f' \
             and k.conrelid = (quote_ident(current_schema()) || '.' || quote_ident($1))::regclass",
        )
        .bind(&name)
        .fetch_all(&mut *conn)
        .await?;
        tables.push(TableSchema {
            references: references.into_iter().filter(|r| *r != name).collect(),
            name,
            columns,
        });
    }
    Ok(tables)
}

/// `tables` ordered so that every table comes after the tables it references (ties by name).
/// Tables in a reference cycle, which no order satisfies, come last in name order; loading
/// relies on deferred checks for them.
pub(crate) fn dependency_order(tables: Vec<TableSchema>) -> Vec<TableSchema> {
    let mut pending: BTreeMap<String, TableSchema> =
        tables.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut ordered = Vec::with_capacity(pending.len());
    loop {
        let ready: Vec<String> = pending
            .values()
            .filter(|t| t.references.iter().all(|r| !pending.contains_key(r)))
            .map(|t| t.name.clone())
            .collect();
        if ready.is_empty() {
            break;
        }
        for name in ready {
            ordered.extend(pending.remove(&name));
        }
    }
    ordered.extend(pending.into_values());
    ordered
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(name: &str, references: &[&str]) -> TableSchema {
        TableSchema {
            name: name.into(),
            columns: vec![],
            references: references.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn referenced_tables_come_first() {
        let order: Vec<String> = dependency_order(vec![
            table("item", &["result"]),
            table("result", &["job", "app_user"]),
            table("job", &["app_user"]),
            table("app_user", &[]),
            table("a", &["b"]),
            table("b", &["a"]),
        ])
        .into_iter()
        .map(|t| t.name)
        .collect();
        assert_eq!(order, ["app_user", "job", "result", "item", "a", "b"]);
    }

    #[test]
    fn sqlite_affinity_names_the_type() {
        assert_eq!(sqlite_kind("integer"), Some(ColumnType::Integer));
        assert_eq!(sqlite_kind("VARCHAR(20)"), Some(ColumnType::Text));
        assert_eq!(sqlite_kind("blob"), Some(ColumnType::Bytes));
        assert_eq!(sqlite_kind("double precision"), Some(ColumnType::Float));
        assert_eq!(sqlite_kind("any"), None);
    }
}
