//! Reads a database's schema from its own catalogue (information_schema / pg_index on
//! PostgreSQL, sqlite_master and the table-valued pragmas on SQLite) into one comparable shape.

use std::collections::BTreeMap;

use grandma_store::Backend;
use sqlx::Connection;
use sqlx::postgres::PgConnection;
use sqlx::sqlite::SqliteConnection;

/// One column: name, normalised type family, nullability.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub name: String,
    pub family: String,
    pub nullable: bool,
}

/// One explicit index (primary keys are compared separately).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub table: String,
    /// Column names in order; `<expr>` for an expression.
    pub columns: Vec<String>,
    pub unique: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// Table → columns sorted by name.
    pub tables: BTreeMap<String, Vec<Column>>,
    pub primary_keys: BTreeMap<String, Vec<String>>,
    pub indexes: BTreeMap<String, Index>,
}

/// sqlx's bookkeeping table is not part of our schema.
const IGNORED_TABLE: &str = "_sqlx_migrations";

pub async fn read_schema(backend: Backend, url: &str) -> Schema {
    match backend {
        Backend::Sqlite => read_sqlite(url).await,
        Backend::Postgres => read_postgres(url).await,
    }
}

fn pg_family(data_type: &str) -> String {
    match data_type {
        "uuid" => "uuid",
        "text" => "text",
        "timestamp with time zone" => "timestamp",
        "jsonb" => "json",
        "boolean" => "bool",
        "integer" | "bigint" => "integer",
        "double precision" => "real",
        other => return format!("unexpected:{other}"),
    }
    .to_owned()
}

/// SQLite has five storage classes (the tables are STRICT), so the logical family comes from the
/// column's CHECK constraint: JSON text, RFC 3339 timestamps, 0/1 booleans; blobs are UUIDs.
fn sqlite_family(declared: &str, column: &str, table_sql: &str) -> String {
    let has = |check: String| table_sql.contains(&check);
    match declared.to_ascii_lowercase().as_str() {
        "blob" => "uuid",
        "real" => "real",
        "integer" if has(format!("check ({column} in (0, 1))")) => "bool",
        "integer" => "integer",
        "text" if has(format!("check (json_valid({column}))")) => "json",
        "text" if has(format!("check ({column} like '____-__-__T%')")) => "timestamp",
        "text" => "text",
        other => return format!("unexpected:{other}"),
    }
    .to_owned()
}

async fn read_sqlite(url: &str) -> Schema {
    let mut conn = SqliteConnection::connect(url).await.expect("open SQLite");
    let tables: Vec<(String, String)> = sqlx::query_as(
        "select name, sql from sqlite_master where type = 'table' \
         and name not like 'sqlite_%' and name <> $1 order by name",
    )
    .bind(IGNORED_TABLE)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    // SQLite adds a column with a foreign key only as nullable; triggers that abort with its
    // NOT NULL message make it as required as PostgreSQL's constraint does, so they count.
    let trigger_sql: Vec<String> =
        sqlx::query_scalar("select sql from sqlite_master where type = 'trigger'")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let required_by_trigger = |table: &str, column: &str| {
        let message = format!("NOT NULL constraint failed: {table}.{column}");
        let kinds = ["before insert", "before update of"];
        kinds.iter().all(|kind| {
            trigger_sql
                .iter()
                .any(|sql| sql.contains(&message) && sql.contains(kind))
        })
    };
    let mut schema = Schema::default();
    for (table, sql) in tables {
        let columns: Vec<(String, String, i64, i64)> =
            sqlx::query_as("select name, type, \"notnull\", pk from pragma_table_info($1)")
                .bind(&table)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        let mut pk: Vec<(i64, String)> = Vec::new();
        let mut cols = Vec::new();
        for (name, declared, notnull, pk_position) in columns {
            if pk_position > 0 {
                pk.push((pk_position, name.clone()));
            }
            cols.push(Column {
                family: sqlite_family(&declared, &name, &sql),
                nullable: notnull == 0 && !required_by_trigger(&table, &name),
                name,
            });
        }
        cols.sort();
        pk.sort();
        schema
            .primary_keys
            .insert(table.clone(), pk.into_iter().map(|(_, c)| c).collect());
        let indexes: Vec<(String, i64, String)> =
            sqlx::query_as("select name, \"unique\", origin from pragma_index_list($1)")
                .bind(&table)
                .fetch_all(&mut conn)
                .await
                .unwrap();
        for (name, unique, origin) in indexes {
            if origin == "pk" {
                continue;
            }
            let columns: Vec<(i64, Option<String>)> =
                sqlx::query_as("select seqno, name from pragma_index_info($1) order by seqno")
                    .bind(&name)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
            schema.indexes.insert(
                name,
                Index {
                    table: table.clone(),
                    columns: columns
                        .into_iter()
                        .map(|(_, c)| c.unwrap_or_else(|| "<expr>".into()))
                        .collect(),
                    unique: unique != 0,
                },
            );
        }
        schema.tables.insert(table, cols);
    }
    conn.close().await.ok();
    schema
}

async fn read_postgres(url: &str) -> Schema {
    let mut conn = PgConnection::connect(url)
        .await
        .expect("connect to PostgreSQL");
    let columns: Vec<(String, String, String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text, data_type::text, is_nullable::text \
         from information_schema.columns where table_schema = 'public' and table_name <> $1",
    )
    .bind(IGNORED_TABLE)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    let mut schema = Schema::default();
    for (table, name, data_type, nullable) in columns {
        schema.tables.entry(table).or_default().push(Column {
            name,
            family: pg_family(&data_type),
            nullable: nullable == "YES",
        });
    }
    for cols in schema.tables.values_mut() {
        cols.sort();
    }
    let index_columns: Vec<(String, String, bool, bool, i64, Option<String>)> = sqlx::query_as(
        "select ic.relname::text, tc.relname::text, ix.indisunique, ix.indisprimary, \
                k.ord, a.attname::text \
         from pg_index ix \
         join pg_class ic on ic.oid = ix.indexrelid \
         join pg_class tc on tc.oid = ix.indrelid \
         join pg_namespace n on n.oid = tc.relnamespace \
         cross join lateral unnest(ix.indkey::int2[]) with ordinality as k(attnum, ord) \
         left join pg_attribute a on a.attrelid = tc.oid and a.attnum = k.attnum and k.attnum > 0 \
         where n.nspname = 'public' and tc.relname <> $1 \
         order by ic.relname, k.ord",
    )
    .bind(IGNORED_TABLE)
    .fetch_all(&mut conn)
    .await
    .unwrap();
    for (index, table, unique, primary, _, column) in index_columns {
        let column = column.unwrap_or_else(|| "<expr>".into());
        if primary {
            schema.primary_keys.entry(table).or_default().push(column);
        } else {
            schema
                .indexes
                .entry(index)
                .or_insert_with(|| Index {
                    table,
                    columns: Vec::new(),
                    unique,
                })
                .columns
                .push(column);
        }
    }
    conn.close().await.ok();
    schema
}

/// A plain connection for statements the store does not offer.
pub enum RawConn {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl RawConn {
    pub async fn open(backend: Backend, url: &str) -> RawConn {
        match backend {
            Backend::Sqlite => RawConn::Sqlite(SqliteConnection::connect(url).await.unwrap()),
            Backend::Postgres => RawConn::Postgres(PgConnection::connect(url).await.unwrap()),
        }
    }

    pub async fn execute(&mut self, sql: &'static str) {
        match self {
            RawConn::Sqlite(c) => sqlx::query(sql).execute(c).await.map(|_| ()),
            RawConn::Postgres(c) => sqlx::query(sql).execute(c).await.map(|_| ()),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    pub async fn close(self) {
        match self {
            RawConn::Sqlite(c) => c.close().await.ok(),
            RawConn::Postgres(c) => c.close().await.ok(),
        };
    }
}
