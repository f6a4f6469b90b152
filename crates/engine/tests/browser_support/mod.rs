//! Fixture pages for the browser tests, served in-test on a loopback address of their own
//! (127.0.0.5 by default) so that the guard can allow exactly that /32 and nothing else of
//! loopback.

#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use grandma_engine::fetch::{BrowserOptions, BrowserPool};
use grandma_engine::guard::NetworkGuard;

/// The address fixture sites listen on: loopback, but not 127.0.0.1.
pub const FIXTURE_IP: &str = "127.0.0.5";

/// One runtime for the whole test binary, as a program has: the browser's connection is a
/// task of it, so every test must run on it (see [`run`]).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Runs a test's body on the shared runtime.
pub fn run<F: std::future::Future>(test: F) -> F::Output {
    runtime().block_on(test)
}

/// One browser for the whole test binary, as a program would have.
pub fn pool() -> BrowserPool {
    static POOL: OnceLock<BrowserPool> = OnceLock::new();
    POOL.get_or_init(|| {
        BrowserPool::new(BrowserOptions {
            tabs: 4,
            ..BrowserOptions::default()
        })
        .expect("these tests need Chromium: apt-get install chromium")
    })
    .clone()
}

/// The guard of the tests: the server's strict policy with the fixture's /32 opened.
pub fn guard_for(addr: SocketAddr) -> NetworkGuard {
    NetworkGuard::strict().allow_networks([ipnet::IpNet::from(addr.ip())])
}

#[derive(Default)]
pub struct Log {
    pub paths: Mutex<Vec<String>>,
}

impl Log {
    pub fn count(&self, prefix: &str) -> usize {
        self.paths
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.starts_with(prefix))
            .count()
    }
}

#[derive(Clone)]
struct Site {
    log: Arc<Log>,
    served: Arc<AtomicUsize>,
}

/// Items of the fixture lists: `Item n` costs `n.00`.
pub fn item(n: usize) -> (String, String) {
    (format!("Item {n}"), format!("{n}.00"))
}

/// The page every JS test starts from: a shell that renders `count` items from inline JSON.
pub fn js_list_page(first: usize, count: usize) -> String {
    let data: Vec<String> = (first..first + count)
        .map(|n| {
            let (name, price) = item(n);
            format!(r#"{{"name":"{name}","price":"{price}"}}"#)
        })
        .collect();
    format!(
        r#"<!doctype html><html><head><title>shop</title></head><body>
<div id="app"></div>
<noscript>You need to enable JavaScript to run this app.</noscript>
<script id="data" type="application/json">[{}]</script>
<script>
  const items = JSON.parse(document.getElementById('data').textContent);
  const app = document.getElementById('app');
  for (const it of items) {{
    const div = document.createElement('div');
    div.className = 'product';
    div.innerHTML = '<h2 class="name"></h2><span class="price"></span>';
    div.querySelector('.name').textContent = it.name;
    div.querySelector('.price').textContent = it.price;
    app.appendChild(div);
  }}
</script></body></html>"#,
        data.join(",")
    )
}

/// The same items in plain HTML: a page that needs no browser.
pub fn server_list_page(first: usize, count: usize) -> String {
    let rows: String = (first..first + count)
        .map(|n| {
            let (name, price) = item(n);
            format!(r#"<div class="product"><h2 class="name">{name}</h2><span class="price">{price}</span></div>"#)
        })
        .collect();
    format!(
        "<!doctype html><html><body><div id=app>{rows}</div><script>var analytics = 1;</script></body></html>"
    )
}

#[derive(serde::Deserialize)]
struct Params {
    page: Option<usize>,
    from: Option<usize>,
    id: Option<String>,
    /// `/list`: answer this page only after this many milliseconds.
    slow: Option<usize>,
    delay_ms: Option<u64>,
}

async fn list(State(site): State<Site>, Query(q): Query<Params>) -> Html<String> {
    site.served.fetch_add(1, Ordering::SeqCst);
    let page = q.page.unwrap_or(1);
    site.log
        .paths
        .lock()
        .unwrap()
        .push(format!("/list?page={page}"));
    if q.slow == Some(page) {
        tokio::time::sleep(std::time::Duration::from_millis(q.delay_ms.unwrap_or(1500))).await;
    }
    Html(js_list_page((page - 1) * 5 + 1, 5))
}

async fn server_list(Query(q): Query<Params>) -> Html<String> {
    let page = q.page.unwrap_or(1);
    Html(server_list_page((page - 1) * 5 + 1, 5))
}

pub const SCROLL_TOTAL: usize = 35;
pub const SCROLL_BATCH: usize = 10;

/// An infinite list: the first batch comes with the page, each later one is fetched from the
/// server when the sentinel under the list comes into view.
async fn scroll_page() -> Html<String> {
    Html(
        r#"<!doctype html><html><body style="margin:0">
<ul id="list"></ul><div id="sentinel" style="height:10px"></div>
<script>
  const list = document.getElementById('list');
  let next = 1, loading = false, done = false;
  function add(items) {
    for (const it of items) {
      const li = document.createElement('li');
      li.className = 'row';
      li.style.height = '120px';
      li.innerHTML = '<b class="name"></b> <i class="price"></i>';
      li.querySelector('.name').textContent = it.name;
      li.querySelector('.price').textContent = it.price;
      list.appendChild(li);
    }
  }
  async function more() {
    if (loading || done) return;
    loading = true;
    const r = await fetch('/scroll/batch?from=' + next);
    const items = await r.json();
    if (items.length === 0) done = true;
    next += items.length;
    add(items);
    loading = false;
  }
  new IntersectionObserver((entries) => {
    if (entries.some((e) => e.isIntersecting)) more();
  }).observe(document.getElementById('sentinel'));
</script></body></html>"#
            .to_owned(),
    )
}

async fn scroll_batch(State(site): State<Site>, Query(q): Query<Params>) -> Response {
    let from = q.from.unwrap_or(1);
    site.log
        .paths
        .lock()
        .unwrap()
        .push(format!("/scroll/batch?from={from}"));
    let items: Vec<serde_json::Value> = (from..(from + SCROLL_BATCH).min(SCROLL_TOTAL + 1))
        .map(|n| {
            let (name, price) = item(n);
            serde_json::json!({"name": name, "price": price})
        })
        .collect();
    axum::Json(items).into_response()
}

pub const CLICK_PAGES: usize = 4;

/// Pages reached only by clicking: the next "link" is `href="#"` with a script behind it that
/// fetches the next page's items and replaces the list. The last page has no button.
async fn click_page() -> Html<String> {
    Html(format!(
        r##"<!doctype html><html><body>
<div id="items"></div><nav><a href="#" class="next">Next &raquo;</a></nav>
<script>
  let page = 1;
  async function show(p) {{
    const r = await fetch('/clicks/data?page=' + p);
    const items = await r.json();
    const box = document.getElementById('items');
    box.innerHTML = '';
    for (const it of items) {{
      const d = document.createElement('div');
      d.className = 'card';
      d.innerHTML = '<span class="name"></span><span class="price"></span>';
      d.querySelector('.name').textContent = it.name;
      d.querySelector('.price').textContent = it.price;
      box.appendChild(d);
    }}
    if (p >= {CLICK_PAGES}) document.querySelector('nav').remove();
  }}
  document.querySelector('.next').addEventListener('click', (e) => {{
    e.preventDefault();
    page += 1;
    show(page);
  }});
  show(1);
</script></body></html>"##
    ))
}

async fn click_data(State(site): State<Site>, Query(q): Query<Params>) -> Response {
    let page = q.page.unwrap_or(1);
    site.log
        .paths
        .lock()
        .unwrap()
        .push(format!("/clicks/data?page={page}"));
    let items: Vec<serde_json::Value> = ((page - 1) * 3 + 1..=page * 3)
        .map(|n| {
            let (name, price) = item(n);
            serde_json::json!({"name": name, "price": price})
        })
        .collect();
    axum::Json(items).into_response()
}

/// Remembers an id in a cookie and in localStorage on the first page, shows what it finds on
/// the second: a run must see its own values, and never another run's.
async fn remember(Query(q): Query<Params>) -> Response {
    let id = q.id.unwrap_or_default();
    let body = format!(
        r#"<!doctype html><html><body><div id=out></div><script>
  localStorage.setItem('who', {id:?});
  document.getElementById('out').innerHTML = '<p class="row"><span class="name">set</span><span class="price">{id}</span></p>';
</script></body></html>"#
    );
    (
        [(header::SET_COOKIE, format!("who={id}; Path=/"))],
        Html(body),
    )
        .into_response()
}

async fn recall(headers: HeaderMap) -> Html<String> {
    let cookie = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    Html(format!(
        r#"<!doctype html><html><body><div id=out></div><script>
  const stored = localStorage.getItem('who') || 'none';
  document.getElementById('out').innerHTML =
    '<p class="row"><span class="name">' + stored + '</span><span class="price">{cookie}</span></p>';
</script></body></html>"#
    ))
}

async fn not_found() -> StatusCode {
    StatusCode::NOT_FOUND
}

pub struct Fixture {
    pub addr: SocketAddr,
    pub log: Arc<Log>,
    pub served: Arc<AtomicUsize>,
}

impl Fixture {
    pub fn url(&self, path: &str) -> url::Url {
        url::Url::parse(&format!("http://{}{path}", self.addr)).unwrap()
    }
}

/// Serves the fixture site on `ip`:0.
pub async fn serve_on(ip: &str) -> Fixture {
    let log = Arc::new(Log::default());
    let served = Arc::new(AtomicUsize::new(0));
    let site = Site {
        log: Arc::clone(&log),
        served: Arc::clone(&served),
    };
    let app = Router::new()
        .route("/list", get(list))
        .route("/server-list", get(server_list))
        .route("/scroll", get(scroll_page))
        .route("/scroll/batch", get(scroll_batch))
        .route("/clicks", get(click_page))
        .route("/clicks/data", get(click_data))
        .route("/remember", get(remember))
        .route("/recall", get(recall))
        .route("/robots.txt", get(not_found))
        .with_state(site);
    let ip: IpAddr = ip.parse().unwrap();
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Fixture { addr, log, served }
}

pub async fn serve() -> Fixture {
    serve_on(FIXTURE_IP).await
}

// ---- running jobs -------------------------------------------------------------------------

use grandma_engine::crawl::{
    Checkpoint, Control, Crawl, Event, PageOutput, PageSink, RunOutcome, SinkError,
};
use grandma_engine::{FieldValue, JobSpec};
use tokio_util::sync::CancellationToken;

/// A job over the fixture: `name` and `price` of each item; `extra` is YAML appended at the
/// top level, and a key it sets replaces the default one.
pub fn job(start: &url::Url, items: &str, extra: &str) -> Arc<JobSpec> {
    let defaults: String = [
        "min_delay_ms: 0",
        "max_delay_ms: 0",
        "retry_count: 2",
        "timeout_seconds: 20",
    ]
    .iter()
    .filter(|line| {
        let key = line.split(':').next().unwrap_or_default();
        !extra.lines().any(|l| l.starts_with(&format!("{key}:")))
    })
    .map(|line| format!("{line}\n"))
    .collect();
    let yaml = format!(
        r#"
name: browser fixture
start_url: "{start}"
item_selector: "{items}"
fields:
  - {{name: name, selector: .name, required: true}}
  - {{name: price, selector: .price}}
{defaults}{extra}
"#
    );
    Arc::new(JobSpec::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}")))
}

/// Collects every page; optionally asks to stop after some pages (a worker that stops).
#[derive(Default)]
pub struct Collect {
    pub pages: Vec<PageOutput>,
    pub stop_after: Option<usize>,
}

impl PageSink for Collect {
    async fn save(&mut self, page: PageOutput) -> Result<Control, SinkError> {
        self.pages.push(page);
        Ok(match self.stop_after {
            Some(n) if self.pages.len() >= n => Control::Cancel,
            _ => Control::Continue,
        })
    }
}

impl Collect {
    /// `name=price` of every item, in delivery order.
    pub fn rows(&self) -> Vec<String> {
        self.pages
            .iter()
            .flat_map(|p| &p.items)
            .map(|i| {
                let text = |v: &FieldValue| match v {
                    FieldValue::Text(t) => t.clone(),
                    other => format!("{other:?}"),
                };
                format!("{}={}", text(&i.values[0]), text(&i.values[1]))
            })
            .collect()
    }

    pub fn last_checkpoint(&self) -> Checkpoint {
        self.pages.last().expect("a page").checkpoint.clone()
    }
}

/// `Item n=n.00` for each n.
pub fn expected_rows(range: std::ops::RangeInclusive<usize>) -> Vec<String> {
    range
        .map(|n| {
            let (name, price) = item(n);
            format!("{name}={price}")
        })
        .collect()
}

pub struct Run {
    pub outcome: RunOutcome,
    pub sink: Collect,
    pub events: Vec<Event>,
}

impl Run {
    pub fn warnings(&self) -> String {
        self.outcome.warnings.join("\n")
    }
}

/// Runs `spec` with the fetcher `for_job` builds (with the test pool), to its end.
pub async fn run_job(
    spec: Arc<JobSpec>,
    guard: NetworkGuard,
    with_browser: bool,
    sink: Collect,
    resume: Option<Checkpoint>,
) -> Run {
    let pool = pool();
    run_with(
        spec,
        guard,
        with_browser.then_some(&pool),
        sink,
        resume,
        |_| {},
    )
    .await
}

/// [`run_job`] with a pool of the caller's and a look at every event as it happens.
pub async fn run_with(
    spec: Arc<JobSpec>,
    guard: NetworkGuard,
    pool: Option<&BrowserPool>,
    sink: Collect,
    resume: Option<Checkpoint>,
    watch: impl Fn(&Event) + Send + Sync,
) -> Run {
    let fetcher = grandma_engine::fetch::for_job(&spec, guard, pool).expect("a fetcher");
    let events = Mutex::new(Vec::new());
    let record = |e: &Event| {
        watch(e);
        events.lock().unwrap().push(e.clone());
    };
    let mut sink = sink;
    let mut crawl = Crawl::new(spec, fetcher, &record, CancellationToken::new());
    if let Some(c) = resume {
        crawl = crawl.resume_from(c);
    }
    let outcome = crawl.run(&mut sink).await;
    let events = events.into_inner().unwrap();
    Run {
        outcome,
        sink,
        events,
    }
}
