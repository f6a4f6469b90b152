//! Conditional requests on repeat runs, end to end: a catalogue on 127.0.0.1 that answers
//! `If-None-Match` (odd pages, which send an ETag) and `If-Modified-Since` (even pages, which send
//! only Last-Modified) with 304 and counts full answers, 304s and body bytes; real workers
//! crawl it again and again. Every test runs on SQLite and on PostgreSQL.
//!
//! The ignored `conditional_figures` test is the benchmark behind `bench/conditional.sh`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use grandma_store::{JobIn, Paging, ResultRow, RunStatus, Scope, Store, User, Uuid};
use serde_json::json;

use common::{Pool, TestDb, owner, test_config, wait_for};

both_backends!(
    a_repeat_run_revalidates_and_reuses_exactly_what_a_full_fetch_gives,
    a_changed_job_or_pruned_items_are_never_reused,
    numbered_pages_are_revalidated_concurrently_and_end_at_the_404,
);

/// What the site answered, and with which validators it was asked.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Tally {
    /// 200 answers with a body.
    full: usize,
    /// 304 answers.
    not_modified: usize,
    /// Requests that carried `If-None-Match` or `If-Modified-Since`.
    conditional: usize,
    /// Body bytes sent.
    bytes: u64,
    /// Time spent building answers.
    busy: Duration,
}

/// The catalogue: `/c/list-N.html`, N in 1..=pages, `per_page` products each, with a next
/// link while more pages follow; past the last page 404. A page's version changes the first
/// product's price and the page's validators.
#[derive(Clone)]
struct Site {
    versions: Arc<Mutex<Vec<u32>>>,
    per_page: usize,
    /// Padding per product, so pages weigh what real listings do.
    filler: usize,
    tally: Arc<Mutex<Tally>>,
}

impl Site {
    async fn start(pages: usize, per_page: usize, filler: usize) -> (Site, String) {
        let site = Site {
            versions: Arc::new(Mutex::new(vec![0; pages])),
            per_page,
            filler,
            tally: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/c/{file}", axum::routing::get(list))
            .with_state(site.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (site, base)
    }

    /// Changes page `n` (1-based).
    fn touch(&self, n: usize) {
        self.versions.lock().unwrap()[n - 1] += 1;
    }

    /// What the site answered since the last call.
    fn take(&self) -> Tally {
        std::mem::take(&mut *self.tally.lock().unwrap())
    }
}

/// `Last-Modified` of a page at `version`: one day later per version.
fn last_modified(version: u32) -> String {
    format!(
        "Mon, {:02} Dec 2025 10:00:00 GMT",
        last_modified_day(version)
    )
}

/// The day of month of the page's `Last-Modified` at `version`.
fn last_modified_day(version: u32) -> u32 {
    version + 1
}

/// The day of month of a date written by [`last_modified`].
fn day_of(date: &str) -> Option<u32> {
    date.split_whitespace().nth(1)?.parse().ok()
}

async fn list(State(site): State<Site>, Path(file): Path<String>, headers: HeaderMap) -> Response {
    let started = Instant::now();
    let n: usize = file
        .strip_prefix("list-")
        .and_then(|f| f.strip_suffix(".html"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    let versions = site.versions.lock().unwrap().clone();
    if n == 0 || n > versions.len() {
        return StatusCode::NOT_FOUND.into_response();
    }
    let version = versions[n - 1];
    // Odd pages send an ETag, even pages only Last-Modified.
    let etag = (n % 2 == 1).then(|| format!("\"p{n}v{version}\""));
    let modified = last_modified(version);
    let header_text = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let if_none_match = header_text(header::IF_NONE_MATCH);
    let if_modified_since = header_text(header::IF_MODIFIED_SINCE);
    // If-None-Match decides when present; If-Modified-Since only without it.
    let unchanged = match (if_none_match, if_modified_since) {
        (Some(tags), _) => etag
            .as_deref()
            .is_some_and(|etag| tags.split(',').any(|t| t.trim() == etag)),
        (None, Some(since)) => day_of(since).is_some_and(|day| last_modified_day(version) <= day),
        (None, None) => false,
    };
    let mut tally = site.tally.lock().unwrap();
    if if_none_match.is_some() || if_modified_since.is_some() {
        tally.conditional += 1;
    }
    let mut response = if unchanged {
        tally.not_modified += 1;
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = page_body(n, version, versions.len(), site.per_page, site.filler);
        tally.full += 1;
        tally.bytes += body.len() as u64;
        ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
    };
    let headers = response.headers_mut();
    if let Some(etag) = etag {
        headers.insert(header::ETAG, etag.parse().unwrap());
    }
    headers.insert(header::LAST_MODIFIED, modified.parse().unwrap());
    tally.busy += started.elapsed();
    response
}

fn page_body(n: usize, version: u32, pages: usize, per_page: usize, filler: usize) -> String {
    let padding = "lorem ipsum ".repeat(filler / 12);
    let products: String = (0..per_page)
        .map(|i| {
            let price = if i == 0 { 10 + version } else { 20 + i as u32 };
            format!(
                "<li class=\"product\"><a href=\"/p/{n}-{i}\">Product {n}-{i}</a>\
                 <span class=\"price\">{price}</span><p>{padding}</p></li>"
            )
        })
        .collect();
    let next = if n < pages {
        format!("<a class=\"next\" href=\"/c/list-{}.html\">next</a>", n + 1)
    } else {
        String::new()
    };
    format!("<html><body><ul>{products}</ul>{next}</body></html>")
}

fn chain_job(base: &str) -> serde_json::Value {
    json!({
        "name": "catalogue",
        "start_url": format!("{base}/c/list-1.html"),
        "item_selector": "li.product",
        "fields": [
            {"name": "name", "selector": "a"},
            {"name": "link", "selector": "a", "attribute": "href"},
            {"name": "price", "selector": "span.price"},
        ],
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "retry_count": 0,
        "respect_robots_txt": false,
    })
}

async fn create_job(store: &Store, user: &User, config: serde_json::Value) -> Uuid {
    store
        .create_job(
            user.user_id,
            &JobIn {
                name: "catalogue".into(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .unwrap()
        .job_id
}

async fn set_config(store: &Store, job: Uuid, config: serde_json::Value) {
    store
        .update_job(
            Scope::all(),
            job,
            &JobIn {
                name: "catalogue".into(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .unwrap();
}

/// Queues a run of `job` on a fresh pool with `conditional` requests on or off, and waits for
/// its end.
async fn run_once(
    store: &Store,
    user: &User,
    job: Uuid,
    conditional: bool,
    keep_runs: Option<u32>,
) -> ResultRow {
    let mut config = test_config("conditional-w", 1);
    config.conditional_requests = conditional;
    config.keep_runs = keep_runs;
    let pool = Pool::start(store.clone(), config);
    let run = store
        .enqueue_run(
            Scope::member(user.user_id),
            job,
            &grandma_store::NewRun::default(),
        )
        .await
        .unwrap();
    pool.wakeup.notify_one();
    let done = wait_for(store, run.result_id, Duration::from_secs(60), |r| {
        r.status.is_terminal()
    })
    .await;
    pool.stop().await;
    assert_eq!(done.status, RunStatus::Completed, "{done:#?}");
    done
}

/// A run's items as (seq, page, values).
async fn items(store: &Store, run: Uuid) -> Vec<(i64, i32, serde_json::Value)> {
    let page = store
        .list_items(Scope::all(), run, Paging::new(1000, 0))
        .await
        .unwrap();
    page.items
        .iter()
        .map(|row| {
            (
                row.seq,
                row.page,
                json!(
                    row.data
                        .to_json_object(&["name".into(), "link".into(), "price".into()])
                ),
            )
        })
        .collect()
}

fn counts(run: &ResultRow) -> (Option<i64>, Option<i64>, Option<i64>, Option<i64>) {
    (
        run.new_items,
        run.changed_items,
        run.removed_items,
        run.unchanged_items,
    )
}

async fn a_repeat_run_revalidates_and_reuses_exactly_what_a_full_fetch_gives(db: &TestDb) {
    let store = &db.store;
    let (site, base) = Site::start(6, 3, 0).await;
    let user = owner(store).await;
    let job = create_job(store, &user, chain_job(&base)).await;

    let first = run_once(store, &user, job, true, None).await;
    assert_eq!((first.total_items, first.pages_scraped), (18, 6));
    assert_eq!(first.pages_not_modified, 0);
    let asked = site.take();
    assert_eq!(
        (asked.full, asked.not_modified, asked.conditional),
        (6, 0, 0)
    );
    let recorded = store.run_pages(first.result_id).await.unwrap();
    assert_eq!(recorded.len(), 6);
    assert!(recorded[0].etag.is_some() && recorded[1].etag.is_none());
    assert!(
        recorded
            .iter()
            .all(|p| p.last_modified.is_some() && !p.not_modified)
    );
    assert_eq!(
        recorded[2].next_url.as_deref(),
        Some(format!("{base}/c/list-4.html").as_str())
    );

    // Page 4 (Last-Modified only) changes: its first product's price.
    site.touch(4);
    let second = run_once(store, &user, job, true, None).await;
    let asked = site.take();
    assert_eq!(
        (asked.full, asked.not_modified, asked.conditional),
        (1, 5, 6),
        "every page asked with its validators; only the changed one sent again"
    );
    assert_eq!((second.total_items, second.pages_scraped), (18, 6));
    assert_eq!(second.pages_not_modified, 5);
    assert_eq!(second.diff_base_id, Some(first.result_id));
    assert_eq!(counts(&second), (Some(0), Some(1), Some(0), Some(17)));
    let replayed: Vec<(i32, bool)> = store
        .run_pages(second.result_id)
        .await
        .unwrap()
        .iter()
        .map(|p| (p.page, p.not_modified))
        .collect();
    assert_eq!(
        replayed,
        [
            (1, true),
            (2, true),
            (3, true),
            (4, false),
            (5, true),
            (6, true)
        ],
        "pagination went on past three replayed pages to the changed one and beyond"
    );
    let reused = items(store, second.result_id).await;
    let mut expected = items(store, first.result_id).await;
    expected[9].2["price"] = json!("11");
    assert_eq!(reused, expected);

    // The same run without conditional requests: the same rows, and the same hashes (the
    // comparison finds every item unchanged).
    let full = run_once(store, &user, job, false, None).await;
    let asked = site.take();
    assert_eq!(
        (asked.full, asked.not_modified, asked.conditional),
        (6, 0, 0)
    );
    assert_eq!(full.pages_not_modified, 0);
    assert_eq!(items(store, full.result_id).await, reused);
    assert_eq!(full.diff_base_id, Some(second.result_id));
    assert_eq!(counts(&full), (Some(0), Some(0), Some(0), Some(18)));
}

async fn a_changed_job_or_pruned_items_are_never_reused(db: &TestDb) {
    let store = &db.store;
    let (site, base) = Site::start(4, 2, 0).await;
    let user = owner(store).await;
    let spec_a = chain_job(&base);
    let mut spec_b = spec_a.clone();
    spec_b["fields"][2]["selector"] = json!("span");
    let job = create_job(store, &user, spec_a.clone()).await;
    let keep = Some(1);

    let first = run_once(store, &user, job, true, keep).await;
    assert_eq!(site.take().full, 4);

    // Other extraction rules: the items of the first run must not stand in for a page.
    set_config(store, job, spec_b).await;
    let second = run_once(store, &user, job, true, keep).await;
    let asked = site.take();
    assert_eq!((asked.full, asked.conditional), (4, 0));
    assert_eq!(second.pages_not_modified, 0);
    let first = store.get_run(Scope::all(), first.result_id).await.unwrap();
    assert!(first.items_pruned, "keep_runs = 1 pruned the first run");
    assert!(store.run_pages(first.result_id).await.unwrap().is_empty());

    // Back to the first rules: the run that used them lost its items, so nothing is reused.
    set_config(store, job, spec_a).await;
    let third = run_once(store, &user, job, true, keep).await;
    let asked = site.take();
    assert_eq!((asked.full, asked.conditional), (4, 0));
    assert_eq!(third.pages_not_modified, 0);
    let expected = items(store, third.result_id).await;

    // Now the third run is there: every page is answered 304, and a replayed run can be
    // replayed again (its copied items are its own).
    let fourth = run_once(store, &user, job, true, keep).await;
    let fifth = run_once(store, &user, job, true, keep).await;
    let asked = site.take();
    assert_eq!(
        (asked.full, asked.not_modified, asked.conditional),
        (0, 8, 8)
    );
    assert_eq!(
        (fourth.pages_not_modified, fifth.pages_not_modified),
        (4, 4)
    );
    assert_eq!(items(store, fifth.result_id).await, expected);
    assert_eq!(counts(&fifth), (Some(0), Some(0), Some(0), Some(8)));
}

async fn numbered_pages_are_revalidated_concurrently_and_end_at_the_404(db: &TestDb) {
    let store = &db.store;
    let (site, base) = Site::start(7, 2, 0).await;
    let user = owner(store).await;
    let mut config = chain_job(&base);
    config["pagination"] = json!({"type": "url_pattern", "url_pattern": "list-{page}.html"});
    config["concurrent_requests"] = json!(3);
    config["max_pages"] = json!(20);
    let job = create_job(store, &user, config).await;

    let first = run_once(store, &user, job, true, None).await;
    assert_eq!((first.total_items, first.pages_scraped), (14, 7));
    site.take();
    site.touch(2);
    site.touch(7);
    let second = run_once(store, &user, job, true, None).await;
    let asked = site.take();
    assert_eq!(
        (asked.full, asked.not_modified),
        (2, 5),
        "the 404s past the end are not counted"
    );
    assert_eq!((second.total_items, second.pages_scraped), (14, 7));
    assert_eq!(second.pages_not_modified, 5);
    assert_eq!(counts(&second), (Some(0), Some(2), Some(0), Some(12)));
    let pages: Vec<i32> = items(store, second.result_id)
        .await
        .iter()
        .map(|(_, page, _)| *page)
        .collect();
    assert_eq!(pages, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7]);
}

/// Process CPU time (user + system) so far.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|i| fields.get(*i).and_then(|f| f.parse::<u64>().ok()))
        .sum();
    // Linux reports clock ticks of 1/100 s (USER_HZ).
    Duration::from_millis(ticks * 10)
}

/// The benchmark: 200 pages of 20 products (about 12 KB each), 10% of them changed between
/// run 1 and run 2; run 2 of one job with conditional requests, of a twin job without.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: bench/conditional.sh"]
async fn conditional_figures() {
    for backend in [
        grandma_store::Backend::Sqlite,
        grandma_store::Backend::Postgres,
    ] {
        let db = TestDb::new(backend).await;
        let store = &db.store;
        let (site, base) = Site::start(200, 20, 500).await;
        let user = owner(store).await;
        let mut config = chain_job(&base);
        config["pagination"] = json!({"type": "url_pattern", "url_pattern": "list-{page}.html"});
        config["concurrent_requests"] = json!(4);
        config["max_pages"] = json!(200);
        let with = create_job(store, &user, config.clone()).await;
        config["name"] = json!("twin");
        let without = create_job(store, &user, config).await;
        run_once(store, &user, with, true, None).await;
        run_once(store, &user, without, false, None).await;
        site.take();
        for n in (1..=200).step_by(10) {
            site.touch(n);
        }
        let mut measured = Vec::new();
        for (job, conditional) in [(with, true), (without, false)] {
            let cpu = cpu_time();
            let run = run_once(store, &user, job, conditional, None).await;
            let cpu = cpu_time().saturating_sub(cpu);
            // From the claim to the end, as the run records it.
            let wall = Duration::from_secs_f64(run.duration_seconds.unwrap_or_default());
            let tally = site.take();
            assert_eq!(run.total_items, 4000);
            assert_eq!(counts(&run).1, Some(20));
            measured.push((wall, cpu, tally, run.pages_not_modified));
        }
        let (w, wo) = (measured[0], measured[1]);
        println!(
            "{backend:?}: run 2 of 200 pages (20 changed), with vs without conditional requests"
        );
        println!(
            "  full answers   {:>9} vs {:>9}   304 answers {} vs {}",
            w.2.full, wo.2.full, w.2.not_modified, wo.2.not_modified
        );
        println!(
            "  body bytes     {:>9} vs {:>9}   ratio {:.3}",
            w.2.bytes,
            wo.2.bytes,
            w.2.bytes as f64 / wo.2.bytes as f64
        );
        println!(
            "  site busy      {:>7.1}ms vs {:>7.1}ms ratio {:.3}",
            w.2.busy.as_secs_f64() * 1e3,
            wo.2.busy.as_secs_f64() * 1e3,
            w.2.busy.as_secs_f64() / wo.2.busy.as_secs_f64()
        );
        println!(
            "  wall           {:>7.0}ms vs {:>7.0}ms ratio {:.3}",
            w.0.as_secs_f64() * 1e3,
            wo.0.as_secs_f64() * 1e3,
            w.0.as_secs_f64() / wo.0.as_secs_f64()
        );
        println!(
            "  process CPU    {:>7.0}ms vs {:>7.0}ms ratio {:.3}  (worker, store client, site: one process)",
            w.1.as_secs_f64() * 1e3,
            wo.1.as_secs_f64() * 1e3,
            w.1.as_secs_f64() / wo.1.as_secs_f64().max(1e-9)
        );
        println!("  pages_not_modified {} vs {}", w.3, wo.3);
        db.finish().await;
    }
}
