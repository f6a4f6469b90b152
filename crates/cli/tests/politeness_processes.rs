//! Politeness across worker processes: four real `grandma worker` processes, each crawling one
//! run at a time, crawl one fixture site at once. The site records when each page request
//! arrives; the gaps between them must stay at least robots.txt's `Crawl-delay` (above the
//! job's own delay), whether the processes share each site's request slot through PostgreSQL
//! or through Redis. On SQLite each process keeps its own state, which is the control: there
//! the site sees requests arrive together, so the gap check can fail.

#[allow(dead_code)]
mod serve_support;

use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use grandma_store::{RunStatus, Scope, Store, Uuid};
use grandma_testkit::PgDb;
use serde_json::json;

use serve_support::store::{create_user, migrated_store, queue};
use serve_support::{Proc, grandma, poll, serve_local};

const PROCESSES: usize = 4;
const PAGES: u32 = 4;
/// The job's own delay: 150–200 ms.
const MIN_DELAY_MS: u64 = 150;
/// robots.txt asks for more, which every process must honour.
const CRAWL_DELAY: Duration = Duration::from_millis(300);
/// A request leaves its process a few milliseconds after its slot (a database or Redis round
/// trip, scheduling), so the gap the site sees may be that much shorter than the slots'.
const JITTER: Duration = Duration::from_millis(30);

/// When each page request reached the site.
type Arrivals = Arc<Mutex<Vec<Instant>>>;

/// A site of numbered pages behind a robots.txt with a `Crawl-delay`.
async fn polite_site(arrivals: Arrivals) -> String {
    let app = axum::Router::new()
        .route("/robots.txt", axum::routing::get(robots))
        .route("/p/{file}", axum::routing::get(page))
        .with_state(arrivals);
    serve_local(app).await
}

async fn robots() -> &'static str {
    "User-agent: *\nCrawl-delay: 0.3\n"
}

async fn page(State(arrivals): State<Arrivals>, UrlPath(file): UrlPath<String>) -> Response {
    arrivals.lock().unwrap().push(Instant::now());
    let Some(n) = file
        .strip_prefix("page-")
        .and_then(|f| f.strip_suffix(".html"))
        .and_then(|n| n.parse::<u32>().ok())
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    Html(format!(
        "<html><body><article class=\"item\"><h3>p{n}-a</h3></article>\
         <article class=\"item\"><h3>p{n}-b</h3></article></body></html>"
    ))
    .into_response()
}

fn job(base: &str, i: usize) -> serde_json::Value {
    json!({
        "name": format!("polite-{i}"),
        "start_url": format!("{base}/p/page-1.html"),
        "item_selector": "article.item",
        "fields": [{"name": "title", "selector": "h3"}],
        "pagination": {"type": "url_pattern", "url_pattern": "page-{page}.html"},
        "max_pages": PAGES,
        "min_delay_ms": MIN_DELAY_MS,
        "max_delay_ms": MIN_DELAY_MS + 50,
        "retry_count": 0,
        "respect_robots_txt": true,
    })
}

/// A `grandma worker` process crawling one run at a time, looking for queued runs often;
/// `redis` is the Redis URL and key prefix the processes share.
fn worker(db_url: &str, dir: &Path, redis: Option<(&str, &str)>) -> Proc {
    let mut cmd = grandma(db_url, dir, &["worker"]);
    cmd.env("GRANDMA_WORKER_CONCURRENCY", "1")
        .env("GRANDMA_WORKER_POLL_INTERVAL_MS", "100")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some((url, prefix)) = redis {
        cmd.env("GRANDMA_WORKER_REDIS_URL", url)
            .env("GRANDMA_WORKER_REDIS_PREFIX", prefix);
    }
    Proc(cmd.spawn().expect("start grandma worker"))
}

/// Starts four worker processes, queues one run per process and waits for all four to
/// complete. Returns the sorted arrival times of the site's page requests.
async fn crawl_with_four_processes(db_url: &str, redis_url: Option<&str>) -> Vec<Instant> {
    let store = migrated_store(db_url).await;
    let dir = tempfile::tempdir().unwrap();
    let arrivals = Arrivals::default();
    let base = polite_site(arrivals.clone()).await;
    let owner = create_user(&store, "polite@example.com").await;
    let prefix = format!("grandma:test:procs:{}:", Uuid::now_v7().simple());
    let redis = redis_url.map(|url| (url, prefix.as_str()));
    let _workers: Vec<Proc> = (0..PROCESSES)
        .map(|_| worker(db_url, dir.path(), redis))
        .collect();
    // Queue only once every process is up, so that each claims one of the runs.
    let since = chrono::Utc::now() - chrono::Duration::minutes(1);
    poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        async || match store.workers_seen_since(since).await.unwrap().len() {
            n if n >= PROCESSES => Ok(()),
            n => Err(format!("{n} of {PROCESSES} worker processes are up")),
        },
    )
    .await;
    let mut runs = Vec::new();
    for i in 0..PROCESSES {
        runs.push(queue(&store, owner, job(&base, i)).await);
    }
    for &run in &runs {
        wait_completed(&store, run).await;
    }
    assert_runs_overlapped(&store, &runs).await;
    let mut times = arrivals.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), PROCESSES * PAGES as usize);
    times
}

async fn wait_completed(store: &Store, run: Uuid) {
    let row = poll(
        Instant::now() + Duration::from_secs(90),
        Duration::from_millis(100),
        async || {
            let row = store.get_run(Scope::all(), run).await.unwrap();
            if row.status.is_terminal() {
                Ok(row)
            } else {
                Err(format!("run {run} is still {:?}", row.status))
            }
        },
    )
    .await;
    assert_eq!(row.status, RunStatus::Completed, "{row:#?}");
    assert_eq!(row.total_items, i64::from(2 * PAGES));
}

/// Each process crawls one run at a time, so runs that were all in progress at once were
/// crawled by four different processes: what makes this a test of processes, not of one.
async fn assert_runs_overlapped(store: &Store, runs: &[Uuid]) {
    let mut starts = Vec::new();
    let mut ends = Vec::new();
    for &run in runs {
        let row = store.get_run(Scope::all(), run).await.unwrap();
        starts.push(row.started_at.expect("started"));
        ends.push(row.completed_at.expect("completed"));
    }
    let last_start = starts.iter().max().unwrap();
    let first_end = ends.iter().min().unwrap();
    assert!(
        last_start < first_end,
        "the runs did not run at once (last start {last_start}, first end {first_end}): \
         the processes did not crawl side by side"
    );
}

fn smallest_gap(label: &str, times: &[Instant]) -> Duration {
    let min = times
        .windows(2)
        .map(|w| w[1] - w[0])
        .min()
        .expect("two requests");
    println!(
        "{label}: {} page requests from {PROCESSES} processes, smallest gap {} ms",
        times.len(),
        min.as_millis()
    );
    min
}

fn assert_spaced(label: &str, times: &[Instant]) {
    let min = smallest_gap(label, times);
    assert!(
        min + JITTER >= CRAWL_DELAY,
        "{label}: two requests reached the site {min:?} apart; robots.txt asks for \
         {CRAWL_DELAY:?} (Crawl-delay)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_worker_processes_on_postgres_keep_the_sites_delay() {
    let db = PgDb::new("gpolite_procs_test").await;
    let times = crawl_with_four_processes(&db.url, None).await;
    assert_spaced("PostgreSQL", &times);
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_worker_processes_with_redis_keep_the_sites_delay() {
    let db = PgDb::new("gpolite_procs_test").await;
    let redis = std::env::var("GRANDMA_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let times = crawl_with_four_processes(&db.url, Some(&redis)).await;
    assert_spaced("Redis", &times);
    db.finish().await;
}

/// The control: on SQLite each process keeps its own slots, so the site sees the four
/// processes' requests arrive together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_worker_processes_on_sqlite_each_keep_their_own_delay() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("polite.db").display()
    );
    let times = crawl_with_four_processes(&url, None).await;
    let min = smallest_gap("SQLite (per process)", &times);
    assert!(min < CRAWL_DELAY / 2, "smallest gap {min:?}");
}
