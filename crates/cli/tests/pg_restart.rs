//! PostgreSQL restarts while a `grandma worker` process is in the middle of a run: the worker
//! reconnects, and the run completes with exactly its items (none lost, none twice).
//!
//! This restarts the machine's PostgreSQL cluster (`pg_ctlcluster ... restart`), so it is the
//! only test in its binary: cargo runs test binaries one after another, so no other test is
//! talking to the database meanwhile. A missing PostgreSQL fails the test, never skips it.

#[allow(dead_code)]
mod serve_support;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grandma_store::{RunStatus, Scope};
use serde_json::json;

use grandma_testkit::PgDb;
use serve_support::shop::{CATALOGUE_PER_PAGE, catalogue_titles, catalogue_url, slow_catalogue};
use serve_support::store::{create_user, migrated_store, queue, stored_titles};
use serve_support::{Proc, grandma, poll};

const PAGES: u32 = 16;

/// The cluster `pg_ctlcluster` manages on this machine (`/etc/postgresql/<version>/main`).
fn restart_postgres() {
    let version = std::fs::read_dir("/etc/postgresql")
        .expect("PostgreSQL's cluster configuration in /etc/postgresql")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .max()
        .expect("a PostgreSQL version");
    let status = Command::new("pg_ctlcluster")
        .args(["--skip-systemctl-redirect", &version, "main", "restart"])
        .status()
        .expect("run pg_ctlcluster");
    assert!(status.success(), "pg_ctlcluster restart failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_a_postgres_restart() {
    let db = PgDb::new("grestart_test").await;
    let store = migrated_store(&db.url).await;
    let owner = create_user(&store, "restart@example.com").await;
    // Pages 1..=PAGES of the catalogue, each answered after 250 ms.
    let site = slow_catalogue().await;
    let config = json!({
        "name": "restart",
        "start_url": catalogue_url(&site, "restart", PAGES, 250),
        "item_selector": "article.item",
        "fields": [{"name": "title", "selector": "h3", "required": true}],
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "respect_robots_txt": false
    });
    let result_id = queue(&store, owner, config).await;

    let dir = tempfile::tempdir().unwrap();
    let mut worker = Proc(
        grandma(&db.url, dir.path(), &["worker"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start grandma worker"),
    );

    // Restart once the run is under way: some pages saved, more to come.
    poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(50),
        async || {
            let run = store.get_run(Scope::all(), result_id).await.unwrap();
            if run.pages_scraped >= 3 {
                assert_eq!(run.status, RunStatus::Running);
                return Ok(());
            }
            if let Ok(Some(status)) = worker.0.try_wait() {
                panic!("grandma worker exited: {status}");
            }
            Err(format!("the run did not start: {run:?}"))
        },
    )
    .await;
    restart_postgres();

    // The test's own pool reconnects too (connections are checked before use).
    let run = poll(
        Instant::now() + Duration::from_secs(120),
        Duration::from_millis(200),
        async || match store.get_run(Scope::all(), result_id).await {
            Ok(run)
                if matches!(
                    run.status,
                    RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
                ) =>
            {
                Ok(run)
            }
            _ => Err("the run did not finish after the restart".to_owned()),
        },
    )
    .await;
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    let titles = stored_titles(&store, result_id).await;
    let expected = catalogue_titles("restart", PAGES);
    assert_eq!(titles, expected, "no item lost, none stored twice");
    assert_eq!(run.total_items, i64::from(PAGES * CATALOGUE_PER_PAGE));

    store.close().await;
    db.finish().await;
}
