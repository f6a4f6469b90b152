//! PostgreSQL restarts while a `grandma worker` process is in the middle of a run: the worker
//! reconnects, and the run completes with exactly its items (none lost, none twice).
//!
//! This restarts the machine's PostgreSQL cluster (`pg_ctlcluster ... restart`), so it is the
//! only test in its binary: cargo runs test binaries one after another, so no other test is
//! talking to the database meanwhile. A missing PostgreSQL fails the test, never skips it.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, Query};
use axum::response::Html;
use grandma_store::{FieldValue, JobIn, NewUser, Paging, Role, RunStatus, Scope, Store, Uuid};
use serde_json::json;
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

const PAGES: u64 = 16;
const PER_PAGE: u64 = 3;

fn pg_admin_url() -> String {
    std::env::var("GRANDMA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// Pages 1..=PAGES of a catalogue, each answered after 250 ms, with a next link.
async fn start_site() -> String {
    async fn page(
        UrlPath(file): UrlPath<String>,
        Query(_q): Query<BTreeMap<String, String>>,
    ) -> Html<String> {
        let n: u64 = file
            .strip_prefix("page-")
            .and_then(|f| f.strip_suffix(".html"))
            .and_then(|n| n.parse().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_millis(250)).await;
        let mut body = String::from("<html><body>");
        for i in 0..PER_PAGE {
            body.push_str(&format!("<article><h3>p{n}-i{i}</h3></article>"));
        }
        if n < PAGES {
            body.push_str(&format!(
                "<a class=\"next\" href=\"page-{}.html\">next</a>",
                n + 1
            ));
        }
        body.push_str("</body></html>");
        Html(body)
    }
    let app = axum::Router::new().route("/shop/{file}", axum::routing::get(page));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

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

struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_a_postgres_restart() {
    let admin = pg_admin_url();
    let name = format!("grestart_test_{}", Uuid::now_v7().simple());
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required ({admin}): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.ok();
    let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
    let url = format!("{base}/{name}");

    let store = Store::connect(&url).await.unwrap();
    store.migrate_to_head().await.unwrap();
    let owner = store
        .create_user(&NewUser {
            email: "restart@example.com".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role: Role::User,
            is_active: true,
        })
        .await
        .unwrap()
        .user_id;
    let site = start_site().await;
    let job = store
        .create_job(
            owner,
            &JobIn {
                name: "restart".into(),
                description: None,
                config: json!({
                    "name": "restart",
                    "start_url": format!("{site}/shop/page-1.html"),
                    "item_selector": "article",
                    "fields": [{"name": "title", "selector": "h3", "required": true}],
                    "pagination": {"type": "next_button", "next_button_selector": "a.next"},
                    "min_delay_ms": 0,
                    "max_delay_ms": 0,
                    "respect_robots_txt": false
                }),
                enabled: true,
            },
        )
        .await
        .unwrap();
    let result_id = store
        .enqueue_run(Scope::All, job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap()
        .result_id;

    let dir = tempfile::tempdir().unwrap();
    let mut worker = Worker(
        Command::new(env!("CARGO_BIN_EXE_grandma"))
            .arg("worker")
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("GRANDMA_DATABASE_URL", &url)
            .env("GRANDMA_DATA_DIR", dir.path())
            .env(
                "GRANDMA_SECRET_KEY",
                "restart-test-signing-key-0123456789abcdef",
            )
            .env("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32")
            .env("GRANDMA_LEASE_SECONDS", "5")
            .env("GRANDMA_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start grandma worker"),
    );

    // Restart once the run is under way: some pages saved, more to come.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let run = store.get_run(Scope::All, result_id).await.unwrap();
        if run.pages_scraped >= 3 {
            assert_eq!(run.status, RunStatus::Running);
            break;
        }
        if let Ok(Some(status)) = worker.0.try_wait() {
            panic!("grandma worker exited: {status}");
        }
        assert!(Instant::now() < deadline, "the run did not start: {run:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    restart_postgres();

    // The test's own pool reconnects too (connections are checked before use).
    let deadline = Instant::now() + Duration::from_secs(120);
    let run = loop {
        if let Ok(run) = store.get_run(Scope::All, result_id).await
            && matches!(
                run.status,
                RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
            )
        {
            break run;
        }
        assert!(
            Instant::now() < deadline,
            "the run did not finish after the restart"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(run.status, RunStatus::Completed, "{run:?}");
    let items = store
        .list_items(Scope::All, result_id, Paging::new(1000, 0))
        .await
        .unwrap();
    let mut titles: Vec<String> = items
        .items
        .iter()
        .map(|row| match &row.data.values[0] {
            FieldValue::Text(t) => t.clone(),
            other => panic!("title is {other:?}"),
        })
        .collect();
    titles.sort();
    let mut expected: Vec<String> = (1..=PAGES)
        .flat_map(|n| (0..PER_PAGE).map(move |i| format!("p{n}-i{i}")))
        .collect();
    expected.sort();
    assert_eq!(titles, expected, "no item lost, none stored twice");
    assert_eq!(run.total_items, (PAGES * PER_PAGE) as i64);

    store.close().await;
    let options = PgConnectOptions::from_str(&admin).unwrap();
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
