//! Shared test helpers: a database per test (temp SQLite file or a uniquely named PostgreSQL
//! database dropped afterwards — a missing PostgreSQL fails, never skips), a fixture site on
//! 127.0.0.1:0, and a worker pool to start and stop.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use grandma_engine::guard::NetworkGuard;
use grandma_store::{
    Backend, JobIn, NewUser, ResultRow, Role, RunStatus, Scope, Store, User, Uuid,
};
use grandma_testkit::PgDb;
use grandma_worker::{WorkerConfig, WorkerError, run_workers};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A migrated test database; [`TestDb::finish`] drops it (a panic drops it too).
pub struct TestDb {
    pub store: Store,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    pg: Option<PgDb>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        let (url, dir, pg) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}?mode=rwc", dir.path().join("w.db").display());
                (url, Some(dir), None)
            }
            Backend::Postgres => {
                let pg = PgDb::new("gw_test").await;
                (pg.url.clone(), None, Some(pg))
            }
        };
        let store = Store::connect(&url).await.expect("open the test database");
        store.migrate_to_head().await.expect("migrate");
        TestDb {
            store,
            url,
            _dir: dir,
            pg,
        }
    }

    /// Another pool on the same database, like another process.
    pub async fn another_store(&self) -> Store {
        Store::connect(&self.url).await.expect("second store")
    }

    pub async fn finish(mut self) {
        self.store.close().await;
        if let Some(pg) = self.pg.take() {
            pg.finish().await;
        }
    }
}

/// Runs `async fn name(db: &TestDb)` on SQLite and on PostgreSQL.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::TestDb::new(grandma_store::Backend::Sqlite).await;
                super::$name(&db).await;
                db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let db = $crate::common::TestDb::new(grandma_store::Backend::Postgres).await;
                super::$name(&db).await;
                db.finish().await;
            }
        }
    )+};
}

pub const PAGES: u32 = 3;
pub const PER_PAGE: u32 = 3;

/// The fixture site: `/site/page-N.html` (3 pages of 3 items, page 3 with one more item
/// lacking its required title), `/slow/page-N.html` (the same, but pages after the first
/// take a minute), `/single.html` (one page), `/js/list.html` (one page built by a script),
/// `/broken` (HTTP 500). Counts hits per path.
#[derive(Clone)]
pub struct Fixture {
    pub base: String,
    hits: Arc<Mutex<HashMap<String, usize>>>,
}

impl Fixture {
    pub async fn start() -> Fixture {
        let hits: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let app = axum::Router::new()
            .route("/{dir}/{file}", axum::routing::get(page))
            .route("/single.html", axum::routing::get(single))
            .route("/js/list.html", axum::routing::get(js_list))
            .route(
                "/broken",
                axum::routing::get(|| async { StatusCode::INTERNAL_SERVER_ERROR }),
            )
            .layer(axum::middleware::from_fn_with_state(
                Arc::clone(&hits),
                count_hits,
            ))
            .with_state(());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await.expect("fixture server") });
        Fixture { base, hits }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    pub fn total_hits(&self, prefix: &str) -> usize {
        self.hits
            .lock()
            .unwrap()
            .iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| v)
            .sum()
    }
}

async fn count_hits(
    State(hits): State<Arc<Mutex<HashMap<String, usize>>>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    *hits
        .lock()
        .unwrap()
        .entry(request.uri().path().to_owned())
        .or_default() += 1;
    next.run(request).await
}

async fn page(Path((dir, file)): Path<(String, String)>) -> Response {
    let Some(n) = file
        .strip_prefix("page-")
        .and_then(|f| f.strip_suffix(".html"))
        .and_then(|n| n.parse::<u32>().ok())
        .filter(|n| (1..=PAGES).contains(n))
    else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if dir == "slow" && n > 1 {
        tokio::time::sleep(Duration::from_secs(60)).await;
    } else if dir != "site" && dir != "slow" {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut body = String::from("<html><body>");
    for i in 0..PER_PAGE {
        body.push_str(&format!(
            "<article class=\"item\"><h3>p{n}-i{i}</h3></article>"
        ));
    }
    if n == PAGES {
        body.push_str("<article class=\"item\"><p>no title here</p></article>");
    }
    if n < PAGES {
        body.push_str(&format!(
            "<a class=\"next\" href=\"page-{}.html\">next</a>",
            n + 1
        ));
    }
    body.push_str("</body></html>");
    Html(body).into_response()
}

async fn single() -> Html<String> {
    let items: String = (0..PER_PAGE)
        .map(|i| format!("<article class=\"item\"><h3>one-{i}</h3></article>"))
        .collect();
    Html(format!("<html><body>{items}</body></html>"))
}

/// `/js/list.html`: the same items as `/single.html` (`js-0`…), written by a script from
/// inline JSON, so only a browser sees them.
async fn js_list() -> Html<String> {
    let titles: Vec<String> = (0..PER_PAGE).map(|i| format!("\"js-{i}\"")).collect();
    Html(format!(
        "<html><body><main id=\"list\"></main><script>\
         const titles = [{}];\
         const list = document.getElementById('list');\
         for (const t of titles) {{\
           const a = document.createElement('article'); a.className = 'item';\
           const h = document.createElement('h3'); h.textContent = t;\
           a.appendChild(h); list.appendChild(a);\
         }}\
         </script></body></html>",
        titles.join(",")
    ))
}

/// Titles of the `/site/` crawl in page order (the untitled item is dropped).
pub fn expected_titles() -> Vec<String> {
    (1..=PAGES)
        .flat_map(|n| (0..PER_PAGE).map(move |i| format!("p{n}-i{i}")))
        .collect()
}

/// A job document crawling `start` with a next-button pager.
pub fn job_config(start: &str) -> serde_json::Value {
    serde_json::json!({
        "name": "fixture",
        "start_url": start,
        "item_selector": "article.item",
        "fields": [{"name": "title", "selector": "h3", "required": true}],
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "retry_count": 0,
        "timeout_seconds": 90,
        "respect_robots_txt": false,
    })
}

pub async fn owner(store: &Store) -> User {
    store
        .create_user(&NewUser {
            email: grandma_store::Email::parse(&format!("{}@example.com", Uuid::now_v7().simple()))
                .unwrap(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            role: Role::User,
            is_active: true,
        })
        .await
        .expect("create user")
}

/// Creates a job with `config` and queues one run of it.
pub async fn queue_run(store: &Store, owner: &User, config: serde_json::Value) -> ResultRow {
    let job = store
        .create_job(
            owner.user_id,
            &JobIn {
                name: "fixture".into(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .expect("create job");
    store
        .enqueue_run(
            Scope::member(owner.user_id),
            job.job_id,
            &grandma_store::NewRun::default(),
        )
        .await
        .expect("enqueue")
}

pub fn test_config(worker_id: &str, concurrency: usize) -> WorkerConfig {
    let guard = NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().unwrap()]);
    let mut config = WorkerConfig::new(guard);
    config.worker_id = worker_id.to_owned();
    config.concurrency = concurrency;
    config.lease = Duration::from_secs(3);
    config.poll_interval = Duration::from_millis(100);
    config
}

/// A running worker pool.
pub struct Pool {
    pub wakeup: Arc<Notify>,
    pub shutdown: CancellationToken,
    handle: JoinHandle<Result<(), WorkerError>>,
}

impl Pool {
    pub fn start(store: Store, config: WorkerConfig) -> Pool {
        let wakeup = Arc::new(Notify::new());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(run_workers(
            store,
            config,
            Arc::clone(&wakeup),
            shutdown.clone(),
        ));
        Pool {
            wakeup,
            shutdown,
            handle,
        }
    }

    /// Shuts down and waits (at most 15 s) for the workers to exit cleanly.
    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.handle)
            .await
            .expect("workers stop within 15 s")
            .expect("worker task")
            .expect("workers end without error");
    }
}

/// Polls the run until `done` holds (at most `within`).
pub async fn wait_for(
    store: &Store,
    result_id: Uuid,
    within: Duration,
    done: impl Fn(&ResultRow) -> bool,
) -> ResultRow {
    let started = tokio::time::Instant::now();
    loop {
        let run = store
            .get_run(Scope::all(), result_id)
            .await
            .expect("get run");
        if done(&run) {
            return run;
        }
        assert!(started.elapsed() < within, "run never got there: {run:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn wait_for_status(store: &Store, result_id: Uuid, status: RunStatus) -> ResultRow {
    wait_for(store, result_id, Duration::from_secs(30), |r| {
        r.status == status
    })
    .await
}

/// The stored titles of a run, in `seq` order.
pub async fn titles(store: &Store, result_id: Uuid) -> Vec<String> {
    let page = store
        .list_items(Scope::all(), result_id, grandma_store::Paging::new(1000, 0))
        .await
        .expect("items");
    page.items
        .iter()
        .map(|row| match &row.data.values[0] {
            grandma_store::FieldValue::Text(t) => t.clone(),
            other => panic!("title is {other:?}"),
        })
        .collect()
}
