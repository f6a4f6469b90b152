//! A `grandma worker` process killed with SIGKILL while it compares a completed run with the
//! previous one (the comparison runs inside the transaction that marks the run completed):
//! the run stays running with no change rows, and the next worker completes it and compares
//! it exactly once, with the exact counts.
//!
//! The two runs are large enough for the comparison to take seconds: the previous run is
//! stored and completed directly, the new run's pages are stored directly with a checkpoint
//! past its last page and the run handed back to the queue, so the worker's whole job is to
//! resume it (nothing left to fetch) and complete it. On PostgreSQL the kill comes when
//! `pg_stat_activity` shows the worker's first comparison statement running; on SQLite, which
//! has no such view, when the file's write lock has been held for longer than any other write
//! of the worker takes: only the completing transaction writes that long.

#[allow(dead_code)]
mod serve_support;

use std::collections::HashSet;
use std::path::Path;
use std::process::Stdio;
use std::str::FromStr;
use std::time::{Duration, Instant};

use grandma_engine::identity::ItemIdentity;
use grandma_store::{
    ChangeKind, FieldValue, Item, JobIn, NewRun, Paging, ResultRow, RunCounters, RunOutcome,
    RunStatus, Scope, Store, Uuid,
};
use grandma_testkit::PgDb;
use serde_json::json;
use serve_support::store::{create_user, migrated_store};
use serve_support::{Proc, grandma, poll};
use sqlx::ConnectOptions;

const PER_PAGE: usize = 1000;
const SEEDER: &str = "test-seeder";

fn columns() -> Vec<String> {
    ["title", "url", "price"]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// Item `k`; `bump` moves its price (a changed item when its key was there before).
fn item(k: usize, bump: usize) -> Item {
    Item::new(vec![
        FieldValue::Text(format!("Item {k} with a title of ordinary length")),
        FieldValue::Text(format!("http://shop.test/item-{k}")),
        FieldValue::Text(format!("£{}.{:02}", (k + bump) % 97, k % 100)),
    ])
}

/// The two runs: the previous one has keys `0..count`; the new one lacks the first 3%, has
/// 3% new keys past the end, and a new price for every 25th key.
struct Plan {
    count: usize,
}

impl Plan {
    fn removed(&self) -> usize {
        self.count * 3 / 100
    }

    fn new_keys(&self) -> std::ops::Range<usize> {
        self.count..self.count + self.count * 3 / 100
    }

    fn current(&self) -> impl Iterator<Item = Item> + '_ {
        (self.removed()..self.new_keys().end).map(|k| item(k, usize::from(k % 25 == 0)))
    }

    fn expected_changed(&self) -> i64 {
        (self.removed()..self.count).filter(|k| k % 25 == 0).count() as i64
    }
}

fn completed() -> RunOutcome {
    RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 0.0,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs: None,
    }
}

/// Claims the job's pending run as the seeder and stores `items` in pages of 1,000; the last
/// page's checkpoint says the crawl is past its only page. Returns the run.
async fn store_pages(store: &Store, items: impl Iterator<Item = Item>) -> Uuid {
    let run = store
        .claim_next(SEEDER, Duration::from_secs(3600))
        .await
        .unwrap()
        .expect("a queued run");
    let identity = ItemIdentity::for_columns(&columns(), &["url".to_owned()]);
    let mut items = items.peekable();
    let (mut page, mut total) = (0_i32, 0_u64);
    let mut batch = Vec::with_capacity(PER_PAGE);
    while items.peek().is_some() {
        batch.clear();
        batch.extend(items.by_ref().take(PER_PAGE));
        page += 1;
        total += batch.len() as u64;
        let checkpoint = json!({
            "next_page": 2,
            "next_url": null,
            "total_items": total,
            "pages_scraped": page,
            "items_dropped": 0,
        });
        store
            .save_keyed_page(
                run.result_id,
                SEEDER,
                page,
                &batch,
                &identity,
                RunCounters {
                    pages_scraped: page,
                    items_dropped: 0,
                },
                Some(&checkpoint),
            )
            .await
            .unwrap();
    }
    run.result_id
}

/// A job with the previous run completed and the new run stored but not completed, back in
/// the queue. Returns the new run.
async fn seed(store: &Store, plan: &Plan) -> Uuid {
    let owner = create_user(store, "diff@example.com").await;
    let fields: Vec<serde_json::Value> = columns()
        .iter()
        .map(|c| json!({"name": c, "selector": format!(".{c}")}))
        .collect();
    let job = store
        .create_job(
            owner,
            &JobIn {
                name: "diff kill".into(),
                description: None,
                config: json!({
                    "name": "diff kill",
                    "start_url": "http://127.0.0.1:9/catalogue",
                    "item_selector": ".item",
                    "fields": fields,
                    "item_key": ["url"],
                }),
                enabled: true,
            },
        )
        .await
        .unwrap();
    store
        .enqueue_run(Scope::all(), job.job_id, &NewRun::default())
        .await
        .unwrap();
    let previous = store_pages(store, (0..plan.count).map(|k| item(k, 0))).await;
    store
        .finish_run(previous, SEEDER, &completed())
        .await
        .unwrap();
    store
        .enqueue_run(Scope::all(), job.job_id, &NewRun::default())
        .await
        .unwrap();
    let current = store_pages(store, plan.current()).await;
    store.release_run(current, SEEDER).await.unwrap();
    current
}

fn worker(url: &str, dir: &Path) -> Proc {
    Proc(
        grandma(url, dir, &["worker"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start grandma worker"),
    )
}

/// The run as the database has it now.
async fn run_row(store: &Store, id: Uuid) -> ResultRow {
    store.get_run(Scope::all(), id).await.unwrap()
}

/// After the kill: still running, compared by nobody.
async fn assert_left_uncompleted(store: &Store, id: Uuid) {
    let run = run_row(store, id).await;
    assert_eq!(run.status, RunStatus::Running, "{run:?}");
    assert_eq!(run.new_items, None, "{run:?}");
    let changes = store
        .list_changes(Scope::all(), id, None, Paging::new(10, 0))
        .await
        .unwrap();
    assert_eq!(changes.total, 0, "no change row survives the kill");
}

/// Starts a second worker, waits for the run to complete and checks it was compared once.
async fn completes_once(url: &str, dir: &Path, store: &Store, id: Uuid, plan: &Plan) {
    let _second = worker(url, dir);
    let run = poll(
        Instant::now() + Duration::from_secs(180),
        Duration::from_millis(200),
        async || {
            let run = run_row(store, id).await;
            match run.status.is_terminal() {
                true => Ok(run),
                false => Err(format!("the run did not complete: {run:?}")),
            }
        },
    )
    .await;
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    let new = plan.new_keys().len() as i64;
    let removed = plan.removed() as i64;
    let changed = plan.expected_changed();
    assert_eq!(run.new_items, Some(new));
    assert_eq!(run.removed_items, Some(removed));
    assert_eq!(run.changed_items, Some(changed));
    assert_eq!(
        run.unchanged_items,
        Some((plan.count - plan.removed()) as i64 - changed)
    );
    assert_eq!(
        run.total_items,
        (plan.count + plan.new_keys().len() - plan.removed()) as i64
    );

    // Exactly one set of change rows: one per new, changed and removed key, none twice.
    let mut seen = HashSet::new();
    let mut per_kind = [0_i64; 3];
    let mut offset = 0;
    loop {
        let page = store
            .list_changes(Scope::all(), id, None, Paging::new(1000, offset))
            .await
            .unwrap();
        if page.items.is_empty() {
            break;
        }
        for change in &page.items {
            assert!(
                seen.insert((change.kind, change.seq)),
                "{:?} {} twice",
                change.kind,
                change.seq
            );
            per_kind[match change.kind {
                ChangeKind::New => 0,
                ChangeKind::Changed => 1,
                ChangeKind::Removed => 2,
            }] += 1;
        }
        offset += page.items.len() as i64;
    }
    assert_eq!(per_kind, [new, changed, removed]);
}

/// A first comparison statement of the worker's completing transaction, running now.
async fn diff_running(pg: &mut sqlx::PgConnection, database: &str) -> bool {
    sqlx::query_scalar::<_, bool>(
        "select exists (select 1 from pg_stat_activity where datname = $1 \
         and state = 'active' and query like 'insert into item_change%''new''%')",
    )
    .bind(database)
    .fetch_one(pg)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_during_the_comparison_leaves_it_to_the_next_on_postgres() {
    let db = PgDb::new("gdiffkill_test").await;
    let store = migrated_store(&db.url).await;
    let plan = Plan { count: 150_000 };
    let current = seed(&store, &plan).await;
    let dir = tempfile::tempdir().unwrap();

    let database = db.url.rsplit('/').next().unwrap().to_owned();
    let mut watch = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
        .await
        .unwrap();
    let mut first = worker(&db.url, dir.path());
    let started = Instant::now();
    poll(
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(5),
        async || {
            if diff_running(&mut watch, &database).await {
                return Ok(());
            }
            if let Ok(Some(status)) = first.0.try_wait() {
                panic!("grandma worker exited: {status}");
            }
            let run = run_row(&store, current).await;
            assert!(
                !run.status.is_terminal(),
                "completed before the kill: {run:?}"
            );
            Err("the comparison did not start".to_owned())
        },
    )
    .await;
    first.kill9();
    eprintln!(
        "killed the worker {:?} after its start, during the comparison",
        started.elapsed()
    );
    assert_left_uncompleted(&store, current).await;

    completes_once(&db.url, dir.path(), &store, current, &plan).await;
    store.close().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_during_the_comparison_leaves_it_to_the_next_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("grandma.db").display()
    );
    let store = migrated_store(&url).await;
    let plan = Plan { count: 150_000 };
    let current = seed(&store, &plan).await;

    let mut probe = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
        .unwrap()
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .unwrap();
    let mut first = worker(&url, dir.path());
    let mut held_since: Option<Instant> = None;
    poll(
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(5),
        async || {
            if let Ok(Some(status)) = first.0.try_wait() {
                panic!("grandma worker exited: {status}");
            }
            if !write_lock_held(&mut probe).await {
                held_since = None;
                let run = run_row(&store, current).await;
                assert!(
                    !run.status.is_terminal(),
                    "completed before the kill: {run:?}"
                );
                return Err("the comparison did not start".to_owned());
            }
            let since = *held_since.get_or_insert_with(Instant::now);
            match since.elapsed() >= LONG_WRITE {
                true => Ok(()),
                false => Err("a short write".to_owned()),
            }
        },
    )
    .await;
    first.kill9();
    eprintln!(
        "killed the worker after its write lock had been held for {:?}",
        held_since.map(|at| at.elapsed())
    );
    assert_left_uncompleted(&store, current).await;

    completes_once(&url, dir.path(), &store, current, &plan).await;
    store.close().await;
}

/// How long the SQLite write lock stays taken before it is the completing transaction: the
/// worker's other writes (claim, heartbeat) take milliseconds, the comparison seconds.
const LONG_WRITE: Duration = Duration::from_millis(300);

/// Whether another connection holds the SQLite file's write lock now (a write transaction is
/// open): `BEGIN IMMEDIATE` without waiting fails with "database is locked".
async fn write_lock_held(probe: &mut sqlx::SqliteConnection) -> bool {
    match sqlx::query("begin immediate").execute(&mut *probe).await {
        Ok(_) => {
            sqlx::query("rollback").execute(&mut *probe).await.unwrap();
            false
        }
        Err(sqlx::Error::Database(e)) if e.message().contains("locked") => true,
        Err(e) => panic!("{e}"),
    }
}
