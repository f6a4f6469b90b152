//! The migration that moves every account's rows into its personal organization, run over a
//! database with data in it: the upgrade gives each account its organization and each row its
//! organization, and the downgrade gives back the previous tables with the same rows.

use chrono::{DateTime, Utc};
use grandma_store::{Backend, DowngradeTarget, JobFilter, Paging, Scope, UpgradeTarget, Uuid};
use sqlx::postgres::{PgConnection, PgRow};
use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{Column, Connection, Row};

use crate::catalog::read_schema;
use crate::common::TestDb;

/// The tables whose rows the migration touches, each with its primary key (the dump's order).
const TABLES: &[(&str, &str)] = &[
    ("app_user", "user_id"),
    ("api_token", "token_id"),
    ("job", "job_id"),
    ("result", "result_id"),
    ("item", "result_id, seq"),
    ("schedule", "schedule_id"),
    ("webhook", "webhook_id"),
];

/// The rows before the organizations: two accounts, each with a job, a run with an item, a
/// schedule, a webhook and an API token.
const SEED: &[&str] = &[
    "insert into app_user (user_id, email, password_hash, role, is_active, token_version, \
     created_at, updated_at, username) values ($1, $2, 'x', 'user', $3, 0, $4, $4, $5)",
    "insert into api_token (token_id, user_id, name, token_hash, prefix, created_at) \
     values ($6, $1, 'ci', $7, 'gs_abcd', $4)",
    "insert into job (job_id, owner_id, name, config, enabled, created_at, updated_at) \
     values ($8, $1, 'Books', '{\"fields\": []}', $3, $4, $4)",
    "insert into result (result_id, run_id, job_id, owner_id, status, columns, created_at) \
     values ($9, $10, $8, $1, 'completed', '[\"title\"]', $4)",
    "insert into item (result_id, seq, page, data) values ($9, 0, 1, '[\"Dune\"]')",
    "insert into schedule (schedule_id, job_id, owner_id, cron_expression, created_at, \
     updated_at) values ($11, $8, $1, '0 7 * * *', $4, $4)",
    "insert into webhook (webhook_id, owner_id, name, url, events, created_at, updated_at) \
     values ($12, $1, 'hook', 'https://example.com/h', '[\"job.completed\"]', $4, $4)",
];

struct Account {
    user_id: Uuid,
    email: &'static str,
    username: Option<&'static str>,
    ids: [Uuid; 7],
}

impl Account {
    fn new(email: &'static str, username: Option<&'static str>) -> Account {
        Account {
            user_id: Uuid::now_v7(),
            email,
            username,
            ids: std::array::from_fn(|_| Uuid::now_v7()),
        }
    }
}

/// Binds an account's values to a seed statement, in placeholder order.
macro_rules! seed_query {
    ($sql:expr, $a:expr, $at:expr) => {
        sqlx::query($sql)
            .bind($a.user_id)
            .bind($a.email)
            .bind(true)
            .bind($at)
            .bind($a.username)
            .bind($a.ids[0])
            .bind(format!("{:064}", $a.ids[0].as_u128() % 1_000_000))
            .bind($a.ids[1])
            .bind($a.ids[2])
            .bind($a.ids[3])
            .bind($a.ids[4])
            .bind($a.ids[5])
    };
}

/// One value of any column as text, whatever its type on either database.
macro_rules! cell_text {
    ($row:expr, $i:expr) => {{
        let row = $row;
        if let Ok(v) = row.try_get::<Option<Uuid>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<DateTime<Utc>>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<i64>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<i32>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<bool>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<f64>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<serde_json::Value>, _>($i) {
            format!("{v:?}")
        } else if let Ok(v) = row.try_get::<Option<String>, _>($i) {
            format!("{v:?}")
        } else {
            panic!("column {} has a type the dump does not read", $i)
        }
    }};
}

fn row_text<R: Row>(row: &R, text: impl Fn(&R, usize) -> String) -> String {
    (0..row.len())
        .map(|i| format!("{}={}", row.columns()[i].name(), text(row, i)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every row of the tables, as text, in primary key order.
async fn dump(backend: Backend, url: &str) -> Vec<String> {
    let mut lines = Vec::new();
    for (table, key) in TABLES {
        // Table and key names come from the list above.
        let sql = format!("select * from {table} order by {key}");
        match backend {
            Backend::Sqlite => {
                let mut conn = SqliteConnection::connect(url).await.unwrap();
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                lines.extend(rows.iter().map(|r: &SqliteRow| {
                    format!("{table}: {}", row_text(r, |r, i| cell_text!(r, i)))
                }));
            }
            Backend::Postgres => {
                let mut conn = PgConnection::connect(url).await.unwrap();
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                    .fetch_all(&mut conn)
                    .await
                    .unwrap();
                lines.extend(
                    rows.iter().map(|r: &PgRow| {
                        format!("{table}: {}", row_text(r, |r, i| cell_text!(r, i)))
                    }),
                );
            }
        }
    }
    lines
}

async fn seed(backend: Backend, url: &str, accounts: &[&Account]) {
    let at = Utc::now();
    for account in accounts {
        for sql in SEED {
            match backend {
                Backend::Sqlite => {
                    let mut conn = SqliteConnection::connect(url).await.unwrap();
                    seed_query!(*sql, account, at)
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
                Backend::Postgres => {
                    let mut conn = PgConnection::connect(url).await.unwrap();
                    seed_query!(*sql, account, at)
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
            }
        }
    }
}

async fn moves_rows_into_personal_organizations_and_back(backend: Backend) {
    let db = TestDb::empty(backend).await;
    let store = &db.store;
    store.upgrade(UpgradeTarget::Steps(9)).await.unwrap();
    let alice = Account::new("alice@example.com", Some("Alice"));
    let bob = Account::new("bob@example.com", None);
    seed(backend, db.url(), &[&alice, &bob]).await;
    let before_schema = read_schema(backend, db.url()).await;
    let before_rows = dump(backend, db.url()).await;
    assert_eq!(before_rows.len(), 2 * TABLES.len());

    assert_eq!(store.upgrade(UpgradeTarget::Head).await.unwrap(), vec![10]);
    // Read through a new pool: SQLite connections that prepared statements before the
    // columns changed describe the old columns.
    let fresh = db.another_store().await;
    for account in [&alice, &bob] {
        let orgs = fresh.list_orgs_of(account.user_id).await.unwrap();
        assert_eq!(orgs.len(), 1);
        let personal = &orgs[0];
        assert_eq!(personal.org.org_id, account.user_id);
        assert_eq!(personal.org.personal_of, Some(account.user_id));
        assert_eq!(personal.role, grandma_store::OrgRole::Owner);
        assert_eq!(
            personal.org.name,
            account.username.unwrap_or(account.email),
            "named after the display name, else the e-mail address"
        );
        let jobs = fresh
            .list_jobs(
                Scope::member(account.user_id),
                &JobFilter::default(),
                Paging::default(),
            )
            .await
            .unwrap();
        assert_eq!(jobs.total, 1, "each sees only their own job");
        assert_eq!(jobs.items[0].job_id, account.ids[1]);
        assert_eq!(jobs.items[0].org_id, account.user_id);
        let run = fresh
            .get_run(Scope::member(account.user_id), account.ids[2])
            .await
            .unwrap();
        assert_eq!(run.org_id, account.user_id);
        let schedule = fresh
            .get_schedule(Scope::member(account.user_id), account.ids[4])
            .await
            .unwrap();
        assert_eq!(schedule.org_id, account.user_id);
        let webhook = fresh
            .get_webhook(Scope::member(account.user_id), account.ids[5])
            .await
            .unwrap();
        assert_eq!(webhook.org_id, account.user_id);
        let tokens = fresh.list_api_tokens(account.user_id).await.unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].org_id, account.user_id);
        assert!(tokens[0].scopes.iter().any(|s| s == "jobs:write"));
        assert!(tokens[0].scopes.iter().any(|s| s == "admin"));
        assert_eq!(tokens[0].expires_at, None);
    }
    assert!(matches!(
        fresh
            .get_job(Scope::member(alice.user_id), bob.ids[1])
            .await,
        Err(grandma_store::StoreError::NotFound)
    ));
    fresh.close().await;

    assert_eq!(
        store.downgrade(DowngradeTarget::Steps(1)).await.unwrap(),
        vec![10]
    );
    assert_eq!(read_schema(backend, db.url()).await, before_schema);
    assert_eq!(dump(backend, db.url()).await, before_rows);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_rows_into_personal_organizations_and_back_sqlite() {
    moves_rows_into_personal_organizations_and_back(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moves_rows_into_personal_organizations_and_back_postgres() {
    moves_rows_into_personal_organizations_and_back(Backend::Postgres).await;
}
