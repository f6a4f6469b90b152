//! Politeness across workers: four worker pools, each configured on its own (its own store
//! pool, its own worker id, its own politeness objects, as four processes would be), crawl one
//! fixture site at once. The site records when each request arrives; the gaps between its page
//! requests must stay at least the job's delay (here robots.txt's `Crawl-delay`, above the
//! job's `min_delay_ms`), through PostgreSQL and through Redis. The same four pools without
//! shared state show what the test guards against: requests arriving together.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use grandma_store::{Backend, RunStatus};
use tokio::time::Instant;

use common::{Pool, TestDb, owner, queue_run, test_config, wait_for};

/// The job's own delay: 150–200 ms.
const MIN_DELAY_MS: u64 = 150;
/// robots.txt asks for more, 300 ms, which every worker must honour.
const CRAWL_DELAY: Duration = Duration::from_millis(300);
/// Requests leave a worker up to a few milliseconds after their slot (a database or Redis
/// round trip, scheduling): the gap the site sees may be that much shorter than the slots'.
const JITTER: Duration = Duration::from_millis(30);
const WORKERS: usize = 4;
const PAGES: u32 = 4;

/// A site of numbered pages that records when each request arrived.
#[derive(Clone, Default)]
struct Site {
    arrivals: Arc<Mutex<Vec<(String, Instant)>>>,
}

impl Site {
    async fn start(&self) -> String {
        let app = axum::Router::new()
            .route("/robots.txt", axum::routing::get(robots))
            .route("/p/{file}", axum::routing::get(page))
            .layer(axum::middleware::from_fn_with_state(self.clone(), record))
            .with_state(());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn page_arrivals(&self) -> Vec<Instant> {
        let mut times: Vec<Instant> = self
            .arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path.starts_with("/p/"))
            .map(|(_, at)| *at)
            .collect();
        times.sort();
        times
    }

    fn robots_fetches(&self) -> usize {
        self.arrivals
            .lock()
            .unwrap()
            .iter()
            .filter(|(path, _)| path == "/robots.txt")
            .count()
    }
}

async fn record(
    State(site): State<Site>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    site.arrivals
        .lock()
        .unwrap()
        .push((request.uri().path().to_owned(), Instant::now()));
    next.run(request).await
}

async fn robots() -> &'static str {
    "User-agent: *\nCrawl-delay: 0.3\nDisallow: /private\n"
}

async fn page(Path(file): Path<String>) -> Response {
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

fn job(base: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "polite",
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

/// How the four pools hold their politeness state.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Sharing {
    /// Each run its own, as before: the control.
    None,
    /// The database (PostgreSQL).
    Database,
    /// Redis, under a prefix of this test's own.
    Redis,
}

/// Starts four pools, queues one run per pool, twice (a second wave of fresh runs after the
/// first ends), and returns the site's page arrivals of each wave and its robots.txt fetches.
async fn crawl_with_four_pools(db: &TestDb, sharing: Sharing) -> (Vec<Vec<Instant>>, Vec<usize>) {
    let site = Site::default();
    let base = site.start().await;
    let user = owner(&db.store).await;
    let prefix = format!(
        "grandma:test:polite:{}:",
        grandma_store::Uuid::now_v7().simple()
    );
    let mut pools = Vec::new();
    for i in 0..WORKERS {
        let mut config = test_config(&format!("polite-{i}"), 1);
        config.share_hosts = sharing != Sharing::None;
        if sharing == Sharing::Redis {
            let url = std::env::var("GRANDMA_TEST_REDIS_URL")
                .unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
            config.redis_url = Some(grandma_store::Secret(url));
            config.redis_prefix = prefix.clone();
        }
        pools.push(Pool::start(db.another_store().await, config));
    }
    let mut waves = Vec::new();
    let mut robots = Vec::new();
    for _ in 0..2 {
        let before = site.page_arrivals().len();
        let mut runs = Vec::new();
        for _ in 0..WORKERS {
            runs.push(queue_run(&db.store, &user, job(&base)).await);
        }
        for pool in &pools {
            pool.wakeup.notify_one();
        }
        for run in &runs {
            let done = wait_for(&db.store, run.result_id, Duration::from_secs(60), |r| {
                r.status.is_terminal()
            })
            .await;
            assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
            assert_eq!(done.total_items, i64::from(2 * PAGES));
        }
        let arrivals = site.page_arrivals();
        assert_eq!(arrivals.len() - before, WORKERS * PAGES as usize);
        waves.push(arrivals[before..].to_vec());
        robots.push(site.robots_fetches());
    }
    for pool in pools {
        pool.stop().await;
    }
    (waves, robots)
}

fn gaps(arrivals: &[Instant]) -> Vec<Duration> {
    arrivals.windows(2).map(|w| w[1] - w[0]).collect()
}

fn report(label: &str, waves: &[Vec<Instant>], robots: &[usize]) -> Duration {
    let all: Vec<Duration> = waves.iter().flat_map(|w| gaps(w)).collect();
    let min = all.iter().min().copied().unwrap_or_default();
    let span: Vec<String> = waves
        .iter()
        .map(|w| format!("{:.2}s", (w[w.len() - 1] - w[0]).as_secs_f64()))
        .collect();
    println!(
        "{label}: {} page requests from {WORKERS} pools, smallest gap {} ms, waves took {}, \
         robots.txt fetched {} times after wave 1 and {} after wave 2",
        all.len() + waves.len(),
        min.as_millis(),
        span.join(" and "),
        robots[0],
        robots[1],
    );
    min
}

async fn assert_spaced(db: &TestDb, sharing: Sharing) {
    let (waves, robots) = crawl_with_four_pools(db, sharing).await;
    let min = report(&format!("{sharing:?}"), &waves, &robots);
    assert!(
        min + JITTER >= CRAWL_DELAY,
        "with {sharing:?}, two requests reached the site {min:?} apart; the job asks for \
         {CRAWL_DELAY:?} (Crawl-delay)"
    );
    // The second wave's runs are new, with empty caches of their own: robots.txt came from
    // the shared cache, not from the site. (The first wave's four runs start together, so
    // they may each have fetched it before any stored it.)
    assert!(robots[0] <= WORKERS, "{robots:?}");
    assert_eq!(
        robots[1], robots[0],
        "the second wave fetched robots.txt again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_pools_on_postgres_keep_the_sites_delay() {
    let db = TestDb::new(Backend::Postgres).await;
    assert_spaced(&db, Sharing::Database).await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_pools_with_redis_keep_the_sites_delay() {
    let db = TestDb::new(Backend::Postgres).await;
    assert_spaced(&db, Sharing::Redis).await;
    db.finish().await;
}

/// The control: without shared state the four pools each keep the delay only among their own
/// requests, so the site sees them arrive together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_pools_without_shared_state_hit_the_site_together() {
    let db = TestDb::new(Backend::Postgres).await;
    let (waves, robots) = crawl_with_four_pools(&db, Sharing::None).await;
    let min = report("None", &waves, &robots);
    assert!(min < CRAWL_DELAY / 2, "smallest gap {min:?}");
    assert_eq!(
        robots[1],
        robots[0] + WORKERS,
        "each new run fetched robots.txt"
    );
    db.finish().await;
}
