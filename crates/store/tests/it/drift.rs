//! The two migration folders must describe the same schema: same tables, columns (name, type
//! family, nullability), primary keys and indexes (name, table, columns, uniqueness).

use grandma_store::Backend;

use crate::catalog::read_schema;
use crate::common::TestDb;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_and_postgres_schemas_do_not_drift() {
    let (sqlite, postgres) =
        tokio::join!(TestDb::new(Backend::Sqlite), TestDb::new(Backend::Postgres));
    let (s, p) = tokio::join!(
        read_schema(Backend::Sqlite, sqlite.url()),
        read_schema(Backend::Postgres, postgres.url())
    );
    assert_eq!(s.tables.len(), 19, "{:?}", s.tables.keys());
    assert_eq!(
        s.tables.keys().collect::<Vec<_>>(),
        p.tables.keys().collect::<Vec<_>>(),
        "tables"
    );
    for (table, columns) in &s.tables {
        assert_eq!(
            columns, &p.tables[table],
            "columns of {table} (sqlite left, postgres right)"
        );
    }
    for cols in s.tables.values() {
        assert!(
            cols.iter().all(|c| !c.family.starts_with("unexpected")),
            "unmapped type: {cols:?}"
        );
    }
    assert_eq!(s.primary_keys, p.primary_keys, "primary keys");
    assert_eq!(
        s.indexes.keys().collect::<Vec<_>>(),
        p.indexes.keys().collect::<Vec<_>>(),
        "index names"
    );
    for (name, index) in &s.indexes {
        assert_eq!(index, &p.indexes[name], "index {name}");
    }
    sqlite.finish().await;
    postgres.finish().await;
}
