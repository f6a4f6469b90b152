//! The whole product end to end, as an operator runs it: a real `grandma serve` process (API and
//! in-process workers) on SQLite and on PostgreSQL scrapes a fixture site served by this test
//! on 127.0.0.1, driven only through the REST API: register, log in, create a job, run it, wait
//! for it, then read its items and its CSV export back. The run was queued with a known
//! `X-Request-ID`, which its webhook delivery carries; `/metrics` of that process then counts
//! exactly this run, its page fetches and its webhook attempt.

#[allow(dead_code)]
mod serve_support;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use serde_json::json;

use grandma_testkit::PgDb;
use serve_support::shop::{book_shop, book_shop_job};
use serve_support::{Serve, call, client, free_port, poll, serve_local};

const PAGES: u32 = 3;
const PER_PAGE: u32 = 4;

/// Headers of the webhook requests a receiver on 127.0.0.1 got.
type Received = Arc<Mutex<Vec<HeaderMap>>>;

/// A webhook receiver answering 200; returns its URL.
async fn webhook_receiver() -> (String, Received) {
    let received = Received::default();
    let log = Arc::clone(&received);
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap| {
            let log = Arc::clone(&log);
            async move {
                log.lock().unwrap().push(headers);
                "ok"
            }
        }),
    );
    (format!("{}/hook", serve_local(app).await), received)
}

/// The value of the sample `name{labels}` in a Prometheus text scrape (0 when absent; the
/// labels must match exactly, in the exporter's order).
fn sample(scrape: &str, name: &str, labels: &str) -> f64 {
    let key = if labels.is_empty() {
        name.to_owned()
    } else {
        format!("{name}{{{labels}}}")
    };
    scrape
        .lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            (k == key).then(|| v.parse().unwrap())
        })
        .unwrap_or(0.0)
}

/// A ready `grandma serve` process on a data dir of its own (kept with it), configured through
/// the environment as an operator would.
async fn start_server(database_url: Option<&str>) -> (Serve, tempfile::TempDir) {
    let data = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
    cmd.arg("serve")
        .env("GRANDMA_DATA_DIR", data.path())
        .env("GRANDMA_BIND", format!("127.0.0.1:{}", free_port()))
        .env("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32")
        .env_remove("DATABASE_URL")
        .env_remove("GRANDMA_DATABASE_URL")
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    let server = Serve::start(cmd, || "(stderr not kept)".to_owned()).await;
    server.ready().await;
    (server, data)
}

async fn end_to_end(database_url: Option<&str>) {
    let site = book_shop(PAGES, PER_PAGE).await;
    let (server, _data) = start_server(database_url).await;
    let api = format!("{}/api/v1", server.base);
    let c = client();

    call(
        c.post(format!("{api}/auth/register"))
            .header("content-type", "application/json")
            .body(
                json!({"email": "grandma@example.com", "password": "knitting-needles"}).to_string(),
            ),
        201,
    )
    .await;
    let token = call(
        c.post(format!("{api}/auth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=grandma%40example.com&password=knitting-needles"),
        200,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");

    let config = book_shop_job(
        &site,
        json!([
            {"name": "title", "selector": "h2", "required": true},
            {"name": "link", "selector": "a", "attribute": "href"},
            {"name": "price", "selector": "span.price"}
        ]),
    );
    let job = call(
        c.post(format!("{api}/jobs/"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(json!({ "config": config }).to_string()),
        201,
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    let (hook_url, received) = webhook_receiver().await;
    call(
        c.post(format!("{api}/webhooks"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(
                json!({"name": "done", "url": hook_url, "events": ["job.completed"]}).to_string(),
            ),
        201,
    )
    .await;
    let request_id = format!(
        "e2e-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let queued = call(
        c.post(format!("{api}/jobs/{job_id}/run"))
            .header("authorization", &bearer)
            .header("x-request-id", &request_id),
        202,
    )
    .await;
    let result_id = queued["result_id"].as_str().unwrap().to_owned();

    let result = poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        async || {
            let r = call(
                c.get(format!("{api}/results/{result_id}"))
                    .header("authorization", &bearer),
                200,
            )
            .await;
            if matches!(
                r["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                Ok(r)
            } else {
                Err(format!("the run did not finish: {r}"))
            }
        },
    )
    .await;
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["total_items"], PAGES * PER_PAGE);
    assert_eq!(result["pages_scraped"], PAGES);
    assert_eq!(result["columns"], json!(["title", "link", "price"]));
    assert_eq!(result["request_id"], request_id.as_str());

    // The webhook delivery carries the ID of the request that queued the run.
    let hook = poll(
        Instant::now() + Duration::from_secs(30),
        Duration::from_millis(50),
        async || {
            let first = received.lock().unwrap().first().cloned();
            first.ok_or_else(|| "no webhook delivery arrived".to_owned())
        },
    )
    .await;
    assert_eq!(hook["x-request-id"], request_id.as_str());
    assert_eq!(hook["x-webhook-event"], "job.completed");

    // This process's /metrics counts exactly this run, its fetches and its webhook attempt.
    let scrape = poll(
        Instant::now() + Duration::from_secs(10),
        Duration::from_millis(50),
        async || {
            let text = c
                .get(format!("{}/metrics", server.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            if sample(
                &text,
                "webhook_delivery_attempts_total",
                r#"outcome="delivered""#,
            ) >= 1.0
            {
                Ok(text)
            } else {
                Err(format!("webhook attempt not counted:\n{text}"))
            }
        },
    )
    .await;
    let pages = f64::from(PAGES);
    for (name, labels, want) in [
        ("scraping_jobs_total", r#"status="completed""#, 1.0),
        ("scraping_pages_total", "", pages),
        ("scraping_items_total", "", pages * f64::from(PER_PAGE)),
        ("scraping_job_duration_seconds_count", "", 1.0),
        // Three pages, and robots.txt, which the fixture site does not have.
        ("scraping_fetches_total", r#"outcome="2xx""#, pages),
        ("scraping_fetches_total", r#"outcome="4xx""#, 1.0),
        (
            "scraping_fetch_duration_seconds_count",
            r#"outcome="2xx""#,
            pages,
        ),
        (
            "webhook_delivery_attempts_total",
            r#"outcome="delivered""#,
            1.0,
        ),
        ("webhook_delivery_duration_seconds_count", "", 1.0),
    ] {
        assert_eq!(
            sample(&scrape, name, labels),
            want,
            "{name}{{{labels}}}:\n{scrape}"
        );
    }

    let expected: Vec<Vec<String>> = (1..=PAGES)
        .flat_map(|n| (1..=PER_PAGE).map(move |i| (n, i)))
        .map(|(n, i)| {
            vec![
                format!("Book {n}.{i}"),
                format!("{site}/books/{n}-{i}"),
                format!("{n}{i}.00"),
            ]
        })
        .collect();

    let items = call(
        c.get(format!("{api}/results/{result_id}/items?limit=100"))
            .header("authorization", &bearer),
        200,
    )
    .await;
    assert_eq!(items["total"], PAGES * PER_PAGE);
    let got: Vec<Vec<String>> = items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            ["title", "link", "price"]
                .iter()
                .map(|k| o[*k].as_str().unwrap().to_owned())
                .collect()
        })
        .collect();
    assert_eq!(got, expected);

    let csv_text = c
        .get(format!("{api}/results/{result_id}/export/csv"))
        .header("authorization", &bearer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec!["title", "link", "price"]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(rows, expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_a_job_end_to_end_on_sqlite() {
    end_to_end(None).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_runs_a_job_end_to_end_on_postgres() {
    let db = PgDb::new("gcli_e2e").await;
    end_to_end(Some(&db.url)).await;
    db.finish().await;
}
