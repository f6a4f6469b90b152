//! Backups: a populated SQLite database → archive → PostgreSQL → archive → SQLite keeps every
//! row of every table (ids and times included), refusals change nothing, and damaged or
//! hostile archives are refused with a clear error.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use grandma_store::backup::{BackupError, Manifest, verify_backup};
use grandma_store::{
    ApiToken, AttemptOutcome, Backend, FieldValue, Item, ItemRow, Job, NewApiToken, NewRun,
    OverlapPolicy, Page, Paging, ResultRow, Role, RunCounters, RunOutcome, RunStatus, Schedule,
    ScheduleIn, Scope, Store, User, Verdict, Webhook, WebhookEvent, WebhookIn,
};
use sqlx::{Row, TypeInfo, ValueRef};

use crate::common::{TestDb, job_in, user};

store_test!(
    restore_refuses_a_database_with_rows,
    restore_refuses_a_corrupt_archive_before_writing,
    restore_refuses_a_newer_schema,
    backup_of_every_table_restores_on_the_same_backend,
);

/// Fills every table the core schema has, through the store, as the server and workers would.
async fn populate(store: &Store) {
    let alice = user(store, "alice@example.com", Role::Admin).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    store
        .create_api_token(&NewApiToken {
            user_id: alice.user_id,
            name: "ci".into(),
            token_hash: "ab".repeat(32),
            prefix: "gs_abcd".into(),
            org_id: alice.user_id,
            scopes: vec!["jobs:read".into(), "runs:write".into()],
            expires_at: None,
        })
        .await
        .unwrap();
    store.worker_heartbeat("worker-1", "host-a").await.unwrap();
    let hook = store
        .create_webhook(
            alice.user_id,
            &WebhookIn {
                name: "hook".into(),
                url: "https://hooks.example.com/x".into(),
                enabled: true,
                events: vec![WebhookEvent::JobCompleted],
                job_id: None,
                secret: Some("s3cret".into()),
                headers: [("X-Team".to_owned(), "data".to_owned())].into(),
                retry_on_failure: true,
                max_retries: 3,
            },
        )
        .await
        .unwrap();
    let _ = hook;
    for (owner, name) in [(alice.user_id, "prices"), (bob.user_id, "news")] {
        let job = store
            .create_job(owner, &job_in(name, &["title", "tags", "price"]))
            .await
            .unwrap();
        store
            .create_schedule(
                Scope::all(),
                job.job_id,
                &ScheduleIn {
                    cron_expression: "*/5 * * * *".into(),
                    timezone: "Europe/Paris".into(),
                    enabled: true,
                    next_run: Some(Utc::now()),
                    overlap_policy: OverlapPolicy::Queue,
                },
            )
            .await
            .unwrap();
        let run = store
            .enqueue_run(
                Scope::all(),
                job.job_id,
                &NewRun {
                    time_limit_seconds: Some(600),
                    request_id: Some(format!("req-{name}")),
                },
            )
            .await
            .unwrap();
        let claim = store
            .claim_run("w1", Duration::from_secs(60), 3)
            .await
            .unwrap()
            .expect("a run to claim");
        assert_eq!(claim.run.result_id, run.result_id);
        for page in 1..=3 {
            let items: Vec<Item> = (0..25)
                .map(|i| {
                    Item::new(vec![
                        FieldValue::Text(format!("{name} p{page} #{i} – ünïcode \"q\"")),
                        FieldValue::List(vec!["a".into(), "b".into()]),
                        FieldValue::Null,
                    ])
                })
                .collect();
            store
                .save_page(
                    run.result_id,
                    "w1",
                    page,
                    &items,
                    RunCounters {
                        pages_scraped: page,
                        items_dropped: 1,
                    },
                    Some(&serde_json::json!({"next_page": page + 1, "z": 1, "a": [1.5, null]})),
                )
                .await
                .unwrap();
        }
        store
            .finish_run(
                run.result_id,
                "w1",
                &RunOutcome {
                    status: RunStatus::Completed,
                    error_message: None,
                    error_details: Some(serde_json::json!({"kind": "none", "n": 0.1})),
                    warnings: vec!["slow page".into()],
                    duration_seconds: 12.345678,
                    webhook_payload: Some(
                        serde_json::json!({"event": "job.completed", "b": 2, "a": 1}),
                    ),
                    quality: None,
                    changes_payload: None,
                    keep_runs: None,
                },
            )
            .await
            .unwrap();
    }
    let deliveries = store
        .claim_deliveries("d1", Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert!(!deliveries.is_empty(), "the outbox queued a delivery");
    for d in deliveries {
        store
            .record_attempt(
                d.delivery_id,
                "d1",
                &AttemptOutcome {
                    verdict: Verdict::Delivered,
                    response_status: Some(200),
                    response_body: Some("ok".into()),
                    error: None,
                    duration_ms: 42,
                },
            )
            .await
            .unwrap();
    }
}

/// The tables of the schema, read from the catalogue without the backup code.
async fn table_names(db: &TestDb) -> Vec<String> {
    let sql = match db.store.backend() {
        Backend::Sqlite => {
            "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' \
             and name <> '_sqlx_migrations' order by name"
        }
        Backend::Postgres => {
            "select table_name::text from information_schema.tables where table_schema = \
             current_schema() and table_type = 'BASE TABLE' and table_name <> '_sqlx_migrations' \
             order by 1"
        }
    };
    match db.store.backend() {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(db.url()).await.unwrap();
            let names = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            names
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
            let names = sqlx::query_scalar(sql).fetch_all(&pool).await.unwrap();
            pool.close().await;
            names
        }
    }
}

/// Every row of every table of a SQLite database, each value in a comparable form: blobs as
/// hex, JSON text parsed (PostgreSQL's jsonb does not keep key order or spacing), the rest as
/// stored. Rows are sorted, so the comparison ignores physical order.
async fn sqlite_rows(url: &str) -> BTreeMap<String, Vec<Vec<String>>> {
    let pool = sqlx::SqlitePool::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "select name from sqlite_master where type = 'table' and name not like 'sqlite_%' \
         and name <> '_sqlx_migrations'",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut all = BTreeMap::new();
    for table in tables {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("select * from \"{table}\"")))
            .fetch_all(&pool)
            .await
            .unwrap();
        let mut out: Vec<Vec<String>> = rows
            .iter()
            .map(|row| {
                (0..row.len())
                    .map(|i| {
                        let raw = row.try_get_raw(i).unwrap();
                        if raw.is_null() {
                            return "NULL".to_owned();
                        }
                        match raw.type_info().name() {
                            "INTEGER" => format!("i:{}", row.get::<i64, _>(i)),
                            "REAL" => format!("f:{:?}", row.get::<f64, _>(i)),
                            "BLOB" => format!("b:{}", hex::encode(row.get::<Vec<u8>, _>(i))),
                            _ => {
                                let text: String = row.get(i);
                                match serde_json::from_str::<serde_json::Value>(&text) {
                                    Ok(
                                        v @ (serde_json::Value::Object(_)
                                        | serde_json::Value::Array(_)),
                                    ) => {
                                        format!("j:{}", canonical(&v))
                                    }
                                    _ => format!("t:{text}"),
                                }
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        out.sort();
        all.insert(table, out);
    }
    pool.close().await;
    all
}

/// JSON with object keys sorted.
fn canonical(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(map) => {
            let sorted: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            let parts: Vec<String> = sorted
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", serde_json::to_string(k).unwrap()))
                .collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items.iter().map(canonical).collect::<Vec<_>>().join(",")
            )
        }
        other => other.to_string(),
    }
}

/// The core tables the populated database fills.
const CORE_TABLES: &[&str] = &[
    "app_user",
    "api_token",
    "job",
    "result",
    "item",
    "schedule",
    "webhook",
    "webhook_delivery",
    "worker",
];

/// One answer of the store's reads. PartialEq compares JSON values by content: PostgreSQL's
/// jsonb keeps neither key order nor spacing, and the API promises neither.
#[derive(Debug, PartialEq)]
enum Read {
    Users(Page<User>),
    Tokens(Vec<ApiToken>),
    Jobs(Page<Job>),
    Runs(Page<ResultRow>),
    Items(Page<ItemRow>),
    Schedules(Page<Schedule>),
    Webhooks(Page<Webhook>),
}

/// Fails at the first difference of two views, showing only it (the views are long).
fn assert_same_view(left: &[Read], right: &[Read]) {
    for (a, b) in left.iter().zip(right) {
        assert_eq!(a, b);
    }
    assert_eq!(left.len(), right.len());
}

/// The reads the API answers from, on every user's rows.
async fn api_view(store: &Store) -> Vec<Read> {
    let users = store.list_users(Paging::default()).await.unwrap();
    let mut view = Vec::new();
    for user in &users.items {
        view.push(Read::Tokens(
            store.list_api_tokens(user.user_id).await.unwrap(),
        ));
        let scope = Scope::member(user.user_id);
        let jobs = store
            .list_jobs(scope, &Default::default(), Paging::default())
            .await
            .unwrap();
        for job in &jobs.items {
            let runs = store
                .list_runs(
                    scope,
                    &grandma_store::RunFilter {
                        job_id: Some(job.job_id),
                        status: None,
                    },
                    Paging::default(),
                )
                .await
                .unwrap();
            for run in &runs.items {
                let paging = Paging {
                    offset: 0,
                    limit: 1000,
                };
                view.push(Read::Items(
                    store
                        .list_items(scope, run.result_id, paging)
                        .await
                        .unwrap(),
                ));
            }
            view.push(Read::Runs(runs));
        }
        view.push(Read::Jobs(jobs));
        let schedules = store.list_schedules(scope, None, Paging::default());
        view.push(Read::Schedules(schedules.await.unwrap()));
        let webhooks = store.list_webhooks(scope, None, Paging::default());
        view.push(Read::Webhooks(webhooks.await.unwrap()));
    }
    view.push(Read::Users(users));
    view
}

fn only_archive(dir: &Path) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found[0].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_to_postgres_to_sqlite_keeps_every_row() {
    let source = TestDb::new(Backend::Sqlite).await;
    populate(&source.store).await;
    let dir = tempfile::tempdir().unwrap();

    let first = source
        .store
        .create_backup(&dir.path().join("a"))
        .await
        .unwrap();
    assert_eq!(first.manifest.source, "sqlite");
    let mut archived: Vec<String> = first
        .manifest
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    archived.sort();
    // Every table of the current schema is in the archive, found without a list.
    assert_eq!(archived, table_names(&source).await);
    for core in CORE_TABLES {
        let table = first
            .manifest
            .table(core)
            .unwrap_or_else(|| panic!("{core} archived"));
        assert!(table.rows > 0, "{core} has rows to carry");
    }
    assert_eq!(first.manifest.table("item").unwrap().rows, 150);

    let middle = TestDb::empty(Backend::Postgres).await;
    let restored = middle.store.restore_backup(&first.path).await.unwrap();
    assert_eq!(restored, first.manifest);
    assert!(middle.store.schema_ready().await.unwrap());
    // PostgreSQL answers the store's reads exactly as SQLite did: ids, times, JSON, counters.
    assert_same_view(
        &api_view(&middle.store).await,
        &api_view(&source.store).await,
    );

    let second = middle
        .store
        .create_backup(&dir.path().join("b"))
        .await
        .unwrap();
    assert_eq!(second.manifest.source, "postgres");
    for table in &first.manifest.tables {
        assert_eq!(
            second.manifest.table(&table.name).map(|t| t.rows),
            Some(table.rows),
            "{}",
            table.name
        );
    }

    let last = TestDb::empty(Backend::Sqlite).await;
    last.store.restore_backup(&second.path).await.unwrap();
    assert_eq!(
        sqlite_rows(last.url()).await,
        sqlite_rows(source.url()).await
    );
    assert_same_view(&api_view(&last.store).await, &api_view(&source.store).await);
    source.finish().await;
    middle.finish().await;
    last.finish().await;
}

async fn backup_of_every_table_restores_on_the_same_backend(db: &TestDb) {
    populate(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let made = db.store.create_backup(dir.path()).await.unwrap();
    assert_eq!(only_archive(dir.path()), made.path);
    let mut archived: Vec<String> = made
        .manifest
        .tables
        .iter()
        .map(|t| t.name.clone())
        .collect();
    archived.sort();
    assert_eq!(archived, table_names(db).await);
    assert_eq!(verify_backup(&made.path).await.unwrap(), made.manifest);

    let copy = TestDb::empty(db.store.backend()).await;
    copy.store.restore_backup(&made.path).await.unwrap();
    assert_same_view(&api_view(&copy.store).await, &api_view(&db.store).await);
    copy.finish().await;
}

/// A database's visible state: its schema version and every table's row count.
async fn state(db: &TestDb) -> (Option<i64>, Vec<(String, i64)>) {
    let version = db.store.current().await.unwrap().map(|r| r.version);
    let mut counts = Vec::new();
    for table in table_names(db).await {
        let sql = format!("select count(*) from \"{table}\"");
        let n: i64 = match db.store.backend() {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(db.url()).await.unwrap();
                let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                n
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(db.url()).await.unwrap();
                let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .fetch_one(&pool)
                    .await
                    .unwrap();
                pool.close().await;
                n
            }
        };
        counts.push((table, n));
    }
    (version, counts)
}

async fn restore_refuses_a_database_with_rows(db: &TestDb) {
    populate(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let made = db.store.create_backup(dir.path()).await.unwrap();
    // A database with a single row, even at an older schema, is refused untouched.
    let target = TestDb::new(db.store.backend()).await;
    user(&target.store, "someone@example.com", Role::User).await;
    let before = state(&target).await;
    let err = target.store.restore_backup(&made.path).await.unwrap_err();
    assert!(
        matches!(&err, BackupError::NotEmpty { table } if table == "app_user"),
        "{err}"
    );
    assert!(err.to_string().contains("not empty"), "{err}");
    assert_eq!(state(&target).await, before);
    target.finish().await;
}

/// Rewrites an archive member by member: `edit` sees each member's name and bytes.
fn repack(from: &Path, to: &Path, edit: impl Fn(&str, Vec<u8>) -> Option<Vec<u8>>) {
    let mut archive = tar::Archive::new(std::fs::File::open(from).unwrap());
    let mut out = tar::Builder::new(std::fs::File::create(to).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        if let Some(data) = edit(&name, data) {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(tar::EntryType::Regular);
            out.append_data(&mut header, &name, &data[..]).unwrap();
        }
    }
    out.finish().unwrap();
}

fn gunzip(data: &[u8]) -> String {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(data), &mut text).unwrap();
    text
}

fn gzip(text: &str) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap()
}

fn edit_manifest(data: Vec<u8>, edit: impl Fn(&mut Manifest)) -> Vec<u8> {
    let mut manifest: Manifest = serde_json::from_slice(&data).unwrap();
    edit(&mut manifest);
    serde_json::to_vec(&manifest).unwrap()
}

async fn restore_refuses_a_corrupt_archive_before_writing(db: &TestDb) {
    populate(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let made = db
        .store
        .create_backup(&dir.path().join("ok"))
        .await
        .unwrap();
    // One item's text changed, the manifest left alone: only the checksum can tell.
    let bad = dir.path().join("tampered.tar");
    repack(&made.path, &bad, |name, data| match name {
        "tables/item.jsonl.gz" => Some(gzip(&gunzip(&data).replacen("p3", "p4", 1))),
        _ => Some(data),
    });
    let target = TestDb::empty(db.store.backend()).await;
    let err = target.store.restore_backup(&bad).await.unwrap_err();
    assert!(
        matches!(&err, BackupError::Corrupt { table, detail } if table == "item" && detail.contains("checksum")),
        "{err}"
    );
    assert!(err.to_string().contains("table item"), "{err}");
    // Nothing was written: not even a migration.
    assert_eq!(state(&target).await, (None, vec![]));
    assert!(matches!(
        verify_backup(&bad).await,
        Err(BackupError::Corrupt { .. })
    ));
    target.finish().await;
}

async fn restore_refuses_a_newer_schema(db: &TestDb) {
    populate(&db.store).await;
    let dir = tempfile::tempdir().unwrap();
    let made = db
        .store
        .create_backup(&dir.path().join("ok"))
        .await
        .unwrap();
    let newer = dir.path().join("newer.tar");
    repack(&made.path, &newer, |name, data| match name {
        "manifest.json" => Some(edit_manifest(data, |m| m.schema_version = 9_999)),
        _ => Some(data),
    });
    let target = TestDb::empty(db.store.backend()).await;
    let err = target.store.restore_backup(&newer).await.unwrap_err();
    assert!(
        matches!(err, BackupError::NewerSchema { archive: 9_999, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    assert_eq!(state(&target).await, (None, vec![]));
    target.finish().await;
}

/// A valid archive of a small database, for the hostile-input cases below.
async fn small_archive(dir: &Path) -> PathBuf {
    let db = TestDb::new(Backend::Sqlite).await;
    populate(&db.store).await;
    let made = db.store.create_backup(&dir.join("ok")).await.unwrap();
    db.finish().await;
    made.path
}

fn raw_tar(to: &Path, members: &[(&str, tar::EntryType, Vec<u8>)]) {
    let mut out = tar::Builder::new(std::fs::File::create(to).unwrap());
    for (name, kind, data) in members {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(*kind);
        // `append_data` refuses `..`; a hostile writer would not, so set the name raw.
        let field = &mut header.as_old_mut().name;
        field[..name.len()].copy_from_slice(name.as_bytes());
        header.set_cksum();
        out.append(&header, &data[..]).unwrap();
    }
    out.finish().unwrap();
}

async fn refusal(path: &Path) -> String {
    verify_backup(path).await.unwrap_err().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_and_damaged_archives_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = small_archive(dir.path()).await;
    let bytes = std::fs::read(&good).unwrap();
    let path = |name: &str| dir.path().join(name);

    std::fs::write(path("empty.tar"), b"").unwrap();
    assert!(refusal(&path("empty.tar")).await.contains("empty"));
    std::fs::write(
        path("noise.tar"),
        b"this is not an archive at all".repeat(40),
    )
    .unwrap();
    assert!(
        refusal(&path("noise.tar"))
            .await
            .contains("not a usable backup archive")
    );
    assert!(refusal(&path("missing.tar")).await.contains("missing.tar"));

    // Cut short: the last members are gone or incomplete.
    std::fs::write(path("cut.tar"), &bytes[..bytes.len() / 2]).unwrap();
    let cut = refusal(&path("cut.tar")).await;
    assert!(
        cut.contains("not a usable backup archive") || cut.contains("corrupt"),
        "{cut}"
    );

    let manifest = {
        let mut archive = tar::Archive::new(&bytes[..]);
        let mut first = archive.entries().unwrap().next().unwrap().unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut first, &mut data).unwrap();
        data
    };

    // A path-traversal member beside the real ones.
    repack(&good, &path("base.tar"), |_, d| Some(d));
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    let mut archive = tar::Archive::new(std::fs::File::open(&good).unwrap());
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let name = String::from_utf8(entry.path_bytes().into_owned()).unwrap();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).unwrap();
        members.push((name, data));
    }
    let regular = tar::EntryType::Regular;
    let mut evil: Vec<(&str, tar::EntryType, Vec<u8>)> = members
        .iter()
        .map(|(n, d)| (n.as_str(), regular, d.clone()))
        .collect();
    evil.push(("../../etc/passwd", regular, b"root:x:0:0".to_vec()));
    raw_tar(&path("traversal.tar"), &evil);
    let err = refusal(&path("traversal.tar")).await;
    assert!(
        err.contains("unexpected member \"../../etc/passwd\""),
        "{err}"
    );

    // A member named like a table but a symbolic link.
    let mut link: Vec<(&str, tar::EntryType, Vec<u8>)> = evil[..evil.len() - 1].to_vec();
    let item = link
        .iter()
        .position(|m| m.0 == "tables/item.jsonl.gz")
        .unwrap();
    link[item].1 = tar::EntryType::Symlink;
    link[item].2 = vec![];
    raw_tar(&path("link.tar"), &link);
    assert!(
        refusal(&path("link.tar"))
            .await
            .contains("not a regular file")
    );

    // The manifest not first, a member twice, a table missing.
    let mut reordered = evil[..evil.len() - 1].to_vec();
    reordered.swap(0, 1);
    raw_tar(&path("order.tar"), &reordered);
    assert!(
        refusal(&path("order.tar"))
            .await
            .contains("not manifest.json")
    );
    let mut twice = evil[..evil.len() - 1].to_vec();
    twice.push(twice[1].clone());
    raw_tar(&path("twice.tar"), &twice);
    assert!(refusal(&path("twice.tar")).await.contains("twice"));
    let mut missing = evil[..evil.len() - 1].to_vec();
    missing.remove(item);
    raw_tar(&path("gone.tar"), &missing);
    assert!(
        refusal(&path("gone.tar"))
            .await
            .contains("table item is missing")
    );

    // A huge manifest is refused by its size, before parsing.
    let huge = vec![b' '; 5 * 1024 * 1024];
    raw_tar(&path("huge.tar"), &[("manifest.json", regular, huge)]);
    assert!(
        refusal(&path("huge.tar"))
            .await
            .contains("manifest is 5242880 bytes")
    );

    // Manifests that lie: a table name that is a path, an unknown format, wrong JSON types.
    type Lie = Box<dyn Fn(&mut Manifest)>;
    let lies: [(&str, Lie, &str); 3] = [
        (
            "name.tar",
            Box::new(|m: &mut Manifest| m.tables[0].name = "../x".into()),
            "not a plain identifier",
        ),
        (
            "format.tar",
            Box::new(|m: &mut Manifest| m.format_version = 99),
            "format version 99",
        ),
        (
            "sha.tar",
            Box::new(|m: &mut Manifest| m.tables[0].sha256 = "zz".into()),
            "sha256",
        ),
    ];
    for (file, edit, expected) in lies {
        let mut with = evil[..evil.len() - 1].to_vec();
        with[0].2 = edit_manifest(manifest.clone(), edit);
        raw_tar(&path(file), &with);
        let err = refusal(&path(file)).await;
        assert!(err.contains(expected), "{file}: {err}");
    }
    let mut typed = evil[..evil.len() - 1].to_vec();
    typed[0].2 = String::from_utf8(manifest.clone())
        .unwrap()
        .replacen("\"schema_version\": ", "\"schema_version\": \"", 1)
        .replacen(",\n  \"tables\"", "\",\n  \"tables\"", 1)
        .into_bytes();
    raw_tar(&path("types.tar"), &typed);
    assert!(
        refusal(&path("types.tar"))
            .await
            .contains("manifest is not valid")
    );

    // A row whose values have the wrong types, with the checksum made to match: the value
    // check names the table, row and column.
    let user_member = members
        .iter()
        .find(|m| m.0 == "tables/app_user.jsonl.gz")
        .unwrap();
    let text = gunzip(&user_member.1);
    let first_line = text.lines().next().unwrap();
    let mut values: Vec<serde_json::Value> = serde_json::from_str(first_line).unwrap();
    values[0] = serde_json::json!(12);
    let bad_text = text.replacen(first_line, &serde_json::to_string(&values).unwrap(), 1);
    let sha = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(bad_text.as_bytes()))
    };
    let mut wrong = evil[..evil.len() - 1].to_vec();
    wrong[0].2 = edit_manifest(manifest.clone(), |m| {
        m.tables
            .iter_mut()
            .find(|t| t.name == "app_user")
            .unwrap()
            .sha256 = sha.clone();
    });
    let at = wrong
        .iter()
        .position(|m| m.0 == "tables/app_user.jsonl.gz")
        .unwrap();
    wrong[at].2 = gzip(&bad_text);
    raw_tar(&path("wrong.tar"), &wrong);
    let err = refusal(&path("wrong.tar")).await;
    assert!(
        err.contains("table app_user")
            && err.contains("row 1")
            && err.contains("12 is not a bytes value"),
        "{err}"
    );

    // Damaged compression inside a member names the table.
    let mut flipped = evil[..evil.len() - 1].to_vec();
    let data = &mut flipped[item].2;
    let mid = data.len() / 2;
    data[mid] ^= 0xff;
    raw_tar(&path("flipped.tar"), &flipped);
    let err = refusal(&path("flipped.tar")).await;
    assert!(err.contains("table item"), "{err}");

    // And the untouched archive still verifies.
    verify_backup(&good).await.unwrap();
}
