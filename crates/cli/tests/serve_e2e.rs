//! The whole product end to end, as an operator runs it: a real `grandma serve` process (API and
//! in-process workers) on SQLite and on PostgreSQL scrapes a fixture site served by this test
//! on 127.0.0.1, driven only through the REST API: register, log in, create a job, run it, wait
//! for it, then read its items and its CSV export back. The run was queued with a known
//! `X-Request-ID`, which its webhook delivery carries; `/metrics` of that process then counts
//! exactly this run, its page fetches and its webhook attempt.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection};

const PAGES: u32 = 3;
const PER_PAGE: u32 = 4;

async fn page(Path(name): Path<String>) -> Response {
    let n: Option<u32> = name
        .strip_prefix("page-")
        .and_then(|p| p.strip_suffix(".html"))
        .and_then(|p| p.parse().ok());
    let Some(n) = n.filter(|n| (1..=PAGES).contains(n)) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let mut body = String::from("<html><body>");
    for i in 1..=PER_PAGE {
        body.push_str(&format!(
            "<div class=\"book\"><h2>Book {n}.{i}</h2><a href=\"/books/{n}-{i}\">more</a>\
             <span class=\"price\"> {n}{i}.00 </span></div>"
        ));
    }
    if n < PAGES {
        body.push_str(&format!(
            "<a class=\"next\" href=\"page-{}.html\">next</a>",
            n + 1
        ));
    }
    body.push_str("</body></html>");
    ([(header::CONTENT_TYPE, "text/html")], body).into_response()
}

/// Serves the fixture site; returns its base URL.
async fn fixture_site() -> String {
    let app = Router::new().route("/shop/{page}", get(page));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

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
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), received)
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

/// An HTTP client. reqwest is built without a default TLS provider (the project uses ring).
fn client() -> reqwest::Client {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// A `grandma serve` process, killed with the value.
struct Server {
    child: Child,
    base: String,
    _data: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_server(database_url: Option<&str>) -> Server {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
    cmd.arg("serve")
        .env("GRANDMA_DATA_DIR", data.path())
        .env("GRANDMA_BIND", format!("127.0.0.1:{port}"))
        .env("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32")
        .env_remove("DATABASE_URL")
        .env_remove("GRANDMA_DATABASE_URL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.env("DATABASE_URL", url);
    }
    let server = Server {
        child: cmd.spawn().unwrap(),
        base: format!("http://127.0.0.1:{port}"),
        _data: data,
    };
    let client = client();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = client
            .get(format!("{}/readiness", server.base))
            .send()
            .await
            && r.status().is_success()
        {
            return server;
        }
        assert!(
            Instant::now() < deadline,
            "grandma serve did not become ready"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sends `req`, checks the status, and returns the JSON body (null when there is none).
async fn call(req: reqwest::RequestBuilder, expect: u16) -> Value {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, expect, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

async fn end_to_end(database_url: Option<&str>) {
    let site = fixture_site().await;
    let server = start_server(database_url).await;
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

    let config = json!({
        "name": "Books",
        "start_url": format!("{site}/shop/page-1.html"),
        "item_selector": "div.book",
        "fields": [
            {"name": "title", "selector": "h2", "required": true},
            {"name": "link", "selector": "a", "attribute": "href"},
            {"name": "price", "selector": "span.price"}
        ],
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "min_delay_ms": 0,
        "max_delay_ms": 0
    });
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

    let deadline = Instant::now() + Duration::from_secs(60);
    let result = loop {
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
            break r;
        }
        assert!(Instant::now() < deadline, "the run did not finish: {r}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(result["status"], "completed", "{result}");
    assert_eq!(result["total_items"], PAGES * PER_PAGE);
    assert_eq!(result["pages_scraped"], PAGES);
    assert_eq!(result["columns"], json!(["title", "link", "price"]));
    assert_eq!(result["request_id"], request_id.as_str());

    // The webhook delivery carries the ID of the request that queued the run.
    let deadline = Instant::now() + Duration::from_secs(30);
    let hook = loop {
        if let Some(h) = received.lock().unwrap().first().cloned() {
            break h;
        }
        assert!(Instant::now() < deadline, "no webhook delivery arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(hook["x-request-id"], request_id.as_str());
    assert_eq!(hook["x-webhook-event"], "job.completed");

    // This process's /metrics counts exactly this run, its fetches and its webhook attempt.
    let deadline = Instant::now() + Duration::from_secs(10);
    let scrape = loop {
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
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "webhook attempt not counted:\n{text}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
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
    let admin = std::env::var("GRANDMA_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let name = format!("gcli_e2e_{}", std::process::id());
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL is required ({admin}): {e}"));
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("create database {name}")))
        .execute(&mut conn)
        .await
        .unwrap();
    let options = PgConnectOptions::from_str(&admin).unwrap().database(&name);
    let url = format!(
        "postgres://{}@{}:{}/{name}",
        options.get_username(),
        options.get_host(),
        options.get_port()
    );
    end_to_end(Some(&url)).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "drop database if exists {name} with (force)"
    )))
    .execute(&mut conn)
    .await
    .unwrap();
}
