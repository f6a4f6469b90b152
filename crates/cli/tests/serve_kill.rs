//! Crash safety and live progress with real processes on a real PostgreSQL database (a missing
//! PostgreSQL fails, never skips): `grandma worker` processes killed with SIGKILL mid-run, and
//! WebSocket clients of a `grandma serve --no-worker` process following runs executed by a
//! `grandma worker` process.
//!
//! Both tests print the figures of the issue's closing note (`cargo test -p grandma-cli --test
//! serve_kill -- --nocapture`); timing is reported, never asserted.

#[allow(dead_code)]
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use grandma_store::{Paging, RunFilter, RunStatus, Scope, Store, Uuid};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

use grandma_testkit::PgDb;
use serve_support::shop::{CATALOGUE_PER_PAGE, catalogue_job, catalogue_titles, slow_catalogue};
use serve_support::store::{create_user, migrated_store, queue, stored_titles};
use serve_support::{Proc, Serve, grandma, poll};

const PASSWORD: &str = "correct horse battery staple";

fn start_worker(db_url: &str, dir: &Path, concurrency: &str) -> Proc {
    let child = grandma(db_url, dir, &["worker", "--concurrency", concurrency])
        .env("GRANDMA_MAX_ATTEMPTS", "1000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start grandma worker");
    Proc(child)
}

/// Several worker processes, one of them killed with SIGKILL every ~1.5 s (and replaced) while
/// runs are in flight, at least 20 times: every run completes with exactly its items.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_workers_lose_and_duplicate_nothing() {
    const PAGES: u32 = 30;
    const KILLS: usize = 20;
    let db = PgDb::new("gkill_test").await;
    let dir = tempfile::tempdir().unwrap();
    let store = migrated_store(&db.url).await;
    let owner = create_user(&store, "killer@example.com").await;
    let site = slow_catalogue().await;

    let mut workers: Vec<Proc> = (0..3)
        .map(|_| start_worker(&db.url, dir.path(), "2"))
        .collect();
    let mut runs: Vec<(String, Uuid)> = Vec::new();
    let mut kills = 0;
    let started = Instant::now();
    while kills < KILLS {
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the kill loop took too long"
        );
        // Keep runs in flight so every kill interrupts something.
        let active = store.running_count().await.unwrap() + store.queue_depth().await.unwrap();
        if active < 6 {
            for _ in 0..2 {
                let tag = format!("run{}", runs.len());
                let id = queue(&store, owner, catalogue_job(&site, &tag, PAGES, 100)).await;
                runs.push((tag, id));
            }
        }
        tokio::time::sleep(Duration::from_millis(700)).await;
        // The victim: a worker holding a live lease, i.e. crawling a run right now.
        let running = store
            .list_runs(
                Scope::all(),
                &RunFilter {
                    job_id: None,
                    status: Some(RunStatus::Running),
                },
                Paging::new(100, 0),
            )
            .await
            .unwrap();
        let now = chrono::Utc::now();
        let victim = running.items.iter().find_map(|run| {
            let owner = run.lease_owner.as_deref()?;
            if run.lease_expires_at? < now || run.pages_scraped < 1 {
                return None;
            }
            let pid: u32 = owner.rsplit('-').nth(1)?.parse().ok()?;
            workers.iter().position(|w| w.0.id() == pid)
        });
        let Some(victim) = victim else { continue };
        workers[victim].kill9();
        kills += 1;
        workers[victim] = start_worker(&db.url, dir.path(), "2");
    }

    // Every run completes with exactly its items.
    let deadline = Instant::now() + Duration::from_secs(300);
    let (mut lost, mut duplicated, mut resumed, mut attempts_total) = (0, 0, 0, 0);
    for (tag, id) in &runs {
        let run = poll(deadline, Duration::from_millis(200), async || {
            let run = store.get_run(Scope::all(), *id).await.unwrap();
            if run.status.is_terminal() {
                Ok(run)
            } else {
                Err(format!("run {tag} never finished: {run:#?}"))
            }
        })
        .await;
        assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
        let titles = stored_titles(&store, *id).await;
        let expected = catalogue_titles(tag, PAGES);
        let mut unique = titles.clone();
        unique.dedup();
        duplicated += titles.len() - unique.len();
        lost += expected.iter().filter(|t| !unique.contains(t)).count();
        assert_eq!(titles, expected, "run {tag}: items differ");
        assert_eq!(run.total_items, i64::from(PAGES * CATALOGUE_PER_PAGE));
        assert!(run.attempts >= 1);
        attempts_total += run.attempts;
        if run.attempts > 1 {
            resumed += 1;
        }
    }
    let runs_count = i32::try_from(runs.len()).unwrap();
    // Each kill interrupted at least one claimed run, which was claimed again.
    assert!(
        attempts_total - runs_count >= i32::try_from(KILLS).unwrap() / 2,
        "{attempts_total} attempts for {runs_count} runs after {kills} kills"
    );
    assert!(resumed > 0, "no run was interrupted by a kill");
    eprintln!(
        "FIGURES kill test: {kills} SIGKILLs, {} runs of {} items, {resumed} resumed, \
         {attempts_total} attempts in all, items lost {lost}, duplicated {duplicated}, {:.1} s",
        runs.len(),
        PAGES * CATALOGUE_PER_PAGE,
        started.elapsed().as_secs_f64()
    );
    drop(workers);
    store.close().await;
    db.finish().await;
}

/// A `grandma serve ARGS --bind 127.0.0.1:0` process with an initial admin, and its address.
async fn start_server(db_url: &str, dir: &Path, args: &[&str]) -> (Serve, String) {
    let args: Vec<&str> = [&["serve"], args, &["--bind", "127.0.0.1:0"]].concat();
    let mut cmd = grandma(db_url, dir, &args);
    cmd.env("GRANDMA_ADMIN_EMAIL", "admin@example.com")
        .env("GRANDMA_ADMIN_PASSWORD", PASSWORD)
        .stderr(Stdio::null());
    let server = Serve::start(cmd, || "(stderr not kept)".to_owned()).await;
    let address = server.address().to_owned();
    (server, address)
}

/// A minimal HTTP/1.1 request; returns the status and the JSON body.
fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: Body) -> (u16, Value) {
    let mut stream = TcpStream::connect(address).expect("connect to the API");
    let (content_type, payload) = match body {
        Body::None => ("application/json", String::new()),
        Body::Json(v) => ("application/json", v.to_string()),
        Body::Form(f) => ("application/x-www-form-urlencoded", f),
    };
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{auth}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().expect("status code");
    let body = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    // Chunked bodies: the JSON is the part between the first and the last braces.
    let json_text = match (body.find(['{', '[']), body.rfind(['}', ']'])) {
        (Some(a), Some(b)) if b >= a => &body[a..=b],
        _ => "null",
    };
    (
        status,
        serde_json::from_str(json_text).unwrap_or(Value::Null),
    )
}

enum Body {
    None,
    Json(Value),
    Form(String),
}

fn login(address: &str, email: &str) -> String {
    let (status, body) = http(
        address,
        "POST",
        "/api/v1/auth/token",
        None,
        Body::Form(format!(
            "username={}&password={}",
            email.replace('@', "%40"),
            PASSWORD.replace(' ', "+")
        )),
    );
    assert_eq!(status, 200, "{body}");
    body["access_token"].as_str().unwrap().to_owned()
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(address: &str, path: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{address}{path}"))
        .await
        .expect("WebSocket connect");
    ws
}

/// The next JSON message (pings and pongs of the protocol skipped); `None` once closed.
async fn next_json(ws: &mut Ws) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("a message within 60 s")?
            .ok()?;
        match message {
            Message::Text(text) => return Some(serde_json::from_str(text.as_str()).unwrap()),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// The close code the server ends the connection with.
async fn close_code(ws: &mut Ws) -> Option<CloseCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(20), ws.next())
            .await
            .expect("closed within 20 s")
        {
            Some(Ok(Message::Close(frame))) => return frame.map(|f| f.code),
            Some(Ok(_)) => {}
            Some(Err(_)) | None => return None,
        }
    }
}

/// Messages until the run's completion.
async fn until_completion(ws: &mut Ws, result_id: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Some(message) = next_json(ws).await {
        let done = message["type"] == "completion" && message["result_id"] == result_id;
        seen.push(message);
        if done {
            return seen;
        }
    }
    panic!("closed before the completion: {seen:#?}");
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    let i = ((values.len() as f64 - 1.0) * p).round() as usize;
    values.get(i).copied().unwrap_or(f64::NAN)
}

/// WebSocket clients of one `grandma serve --no-worker` process receive the progress and
/// completion of runs executed by a separate `grandma worker` process; authentication and
/// ownership are enforced; many clients follow one run at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_clients_follow_runs_of_another_process() {
    const PAGES: u32 = 4;
    let db = PgDb::new("gkill_test").await;
    let dir = tempfile::tempdir().unwrap();
    let site = slow_catalogue().await;
    let (server, address) = start_server(&db.url, dir.path(), &["--no-worker"]).await;
    let _worker = start_worker(&db.url, dir.path(), "4");

    let (status, body) = http(
        &address,
        "POST",
        "/api/v1/auth/register",
        None,
        Body::Json(json!({"email": "alice@example.com", "password": PASSWORD})),
    );
    assert_eq!(status, 201, "{body}");
    let (status, _) = http(
        &address,
        "POST",
        "/api/v1/auth/register",
        None,
        Body::Json(json!({"email": "bob@example.com", "password": PASSWORD})),
    );
    assert_eq!(status, 201);
    let alice = login(&address, "alice@example.com");
    let bob = login(&address, "bob@example.com");
    let admin = login(&address, "admin@example.com");

    let (status, job) = http(
        &address,
        "POST",
        "/api/v1/jobs/",
        Some(&alice),
        Body::Json(json!({"config": catalogue_job(&site, "ws", PAGES, 300)})),
    );
    assert_eq!(status, 201, "{job}");
    let job_id = job["id"].as_str().unwrap().to_owned();

    // Alice follows all her runs, authenticating with her first message.
    let mut user_ws = connect(&address, "/api/v1/ws/user").await;
    user_ws
        .send(Message::text(
            json!({"type": "auth", "token": alice}).to_string(),
        ))
        .await
        .unwrap();
    user_ws
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(next_json(&mut user_ws).await.unwrap()["type"], "pong");

    let run_path = format!("/api/v1/jobs/{job_id}/run");
    let (status, queued) = http(&address, "POST", &run_path, Some(&alice), Body::None);
    assert_eq!(status, 202, "{queued}");
    let result_id = queued["result_id"].as_str().unwrap().to_owned();

    // The owner (token in the query) and an admin may follow the run; Bob may not.
    let mut owner_ws = connect(
        &address,
        &format!("/api/v1/ws/results/{result_id}?token={alice}"),
    )
    .await;
    let mut admin_ws = connect(
        &address,
        &format!("/api/v1/ws/results/{result_id}?token={admin}"),
    )
    .await;
    let mut bob_ws = connect(
        &address,
        &format!("/api/v1/ws/results/{result_id}?token={bob}"),
    )
    .await;
    assert_eq!(close_code(&mut bob_ws).await, Some(CloseCode::Policy));
    let mut anonymous = connect(&address, &format!("/api/v1/ws/results/{result_id}")).await;
    anonymous
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    assert_eq!(close_code(&mut anonymous).await, Some(CloseCode::Policy));
    let mut forged = connect(&address, "/api/v1/ws/user?token=not-a-token").await;
    assert_eq!(close_code(&mut forged).await, Some(CloseCode::Policy));

    let expected_items = i64::from(PAGES * CATALOGUE_PER_PAGE);
    for ws in [&mut user_ws, &mut owner_ws, &mut admin_ws] {
        let messages = until_completion(ws, &result_id).await;
        let completion = messages.last().unwrap();
        assert_eq!(completion["status"], "completed", "{messages:#?}");
        assert_eq!(completion["total_items"], expected_items);
        assert_eq!(completion["total_pages"], PAGES);
        assert!(completion.get("owner_id").is_none());
        let progress: Vec<&Value> = messages
            .iter()
            .filter(|m| m["type"] == "progress" && m["result_id"] == result_id.as_str())
            .collect();
        let pages: Vec<i64> = progress
            .iter()
            .filter(|m| m["current_url"].is_string())
            .map(|m| m["pages_scraped"].as_i64().unwrap())
            .collect();
        assert!(!pages.is_empty(), "no page progress: {messages:#?}");
        assert!(pages.windows(2).all(|w| w[0] <= w[1]), "{pages:?}");
        for m in &progress {
            for key in [
                "status",
                "timestamp",
                "items_scraped",
                "pages_scraped",
                "message",
            ] {
                assert!(m.get(key).is_some(), "{key} missing in {m}");
            }
        }
    }

    // A late client gets the finished state at once.
    let mut late = connect(
        &address,
        &format!("/api/v1/ws/results/{result_id}?token={alice}"),
    )
    .await;
    let snapshot = next_json(&mut late).await.unwrap();
    assert_eq!(
        (snapshot["type"].as_str(), snapshot["total_items"].as_i64()),
        (Some("completion"), Some(expected_items))
    );

    // Many clients on one run; POST → running latency and page-commit → client delay.
    let clients: usize = std::env::var("GRANDMA_WS_CLIENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100);
    let rss_before = server.proc.rss_kib();
    let mut latencies = Vec::new();
    let mut delays = Vec::new();
    let (status, queued) = http(&address, "POST", &run_path, Some(&alice), Body::None);
    assert_eq!(status, 202);
    let many_id = queued["result_id"].as_str().unwrap().to_owned();
    let mut many = Vec::new();
    for _ in 0..clients {
        many.push(
            connect(
                &address,
                &format!("/api/v1/ws/results/{many_id}?token={alice}"),
            )
            .await,
        );
    }
    let rss_after = server.proc.rss_kib();
    let per_client = (rss_after.saturating_sub(rss_before)) as f64 / clients as f64;
    let mut tasks = Vec::new();
    for mut ws in many {
        let id = many_id.clone();
        tasks.push(tokio::spawn(async move {
            let mut delays = Vec::new();
            while let Some(m) = next_json(&mut ws).await {
                if m["current_url"].is_string()
                    && let Some(at) = m["timestamp"].as_str()
                {
                    let at = chrono::DateTime::parse_from_rfc3339(at).unwrap();
                    let delay = chrono::Utc::now().signed_duration_since(at);
                    delays.push(delay.num_microseconds().unwrap_or(0) as f64 / 1000.0);
                }
                if m["type"] == "completion" && m["result_id"] == id.as_str() {
                    assert_eq!(m["status"], "completed");
                    return delays;
                }
            }
            panic!("a client was closed before the completion");
        }));
    }
    for task in tasks {
        delays.extend(task.await.expect("client task"));
    }

    // POST → running, woken by NOTIFY (the worker polls only every second otherwise).
    // A one-page job, so every run finds a free worker slot.
    let (status, quick) = http(
        &address,
        "POST",
        "/api/v1/jobs/",
        Some(&alice),
        Body::Json(json!({"config": catalogue_job(&site, "quick", 1, 0)})),
    );
    assert_eq!(status, 201, "{quick}");
    let quick_path = format!("/api/v1/jobs/{}/run", quick["id"].as_str().unwrap());
    let store = Store::connect(&db.url).await.unwrap();
    let rounds: usize = std::env::var("GRANDMA_LATENCY_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    for _ in 0..rounds {
        // Let the previous run finish and the worker go idle, waiting for a wakeup.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let sent = Instant::now();
        let (status, queued) = http(&address, "POST", &quick_path, Some(&alice), Body::None);
        assert_eq!(status, 202);
        let id: Uuid = queued["result_id"].as_str().unwrap().parse().unwrap();
        loop {
            let run = store.get_run(Scope::all(), id).await.unwrap();
            if run.status != RunStatus::Pending {
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                break;
            }
            assert!(sent.elapsed() < Duration::from_secs(30));
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    eprintln!(
        "FIGURES websocket test: POST→running median {:.1} ms, p99 {:.1} ms ({rounds} runs); \
         page commit→client median {:.1} ms over {} messages; {clients} clients on one run, \
         server RSS {rss_before} KiB → {rss_after} KiB (≈{per_client:.1} KiB per client)",
        median(latencies.clone()),
        percentile(latencies, 0.99),
        median(delays.clone()),
        delays.len(),
    );
    store.close().await;
    drop(server);
    db.finish().await;
}

/// On SQLite (one process, workers in-process) the progress reaches WebSocket clients through
/// the in-process channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_progress_on_sqlite_single_node() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("grandma.db").display()
    );
    let site = slow_catalogue().await;
    let (_server, address) = start_server(&url, dir.path(), &[]).await;
    let admin = login(&address, "admin@example.com");
    let (status, job) = http(
        &address,
        "POST",
        "/api/v1/jobs/",
        Some(&admin),
        Body::Json(json!({"config": catalogue_job(&site, "lite", 3, 100)})),
    );
    assert_eq!(status, 201, "{job}");
    let mut ws = connect(&address, &format!("/api/v1/ws/user?token={admin}")).await;
    ws.send(Message::text(r#"{"type":"ping"}"#)).await.unwrap();
    assert_eq!(next_json(&mut ws).await.unwrap()["type"], "pong");
    let run_path = format!("/api/v1/jobs/{}/run", job["id"].as_str().unwrap());
    let (status, queued) = http(&address, "POST", &run_path, Some(&admin), Body::None);
    assert_eq!(status, 202);
    let result_id = queued["result_id"].as_str().unwrap().to_owned();
    let messages = until_completion(&mut ws, &result_id).await;
    let pages: Vec<i64> = messages
        .iter()
        .filter(|m| m["type"] == "progress" && m["current_url"].is_string())
        .map(|m| m["pages_scraped"].as_i64().unwrap())
        .collect();
    assert_eq!(pages, vec![1, 2, 3], "{messages:#?}");
    let completion = messages.last().unwrap();
    assert_eq!(completion["status"], "completed");
    assert_eq!(completion["total_items"], i64::from(3 * CATALOGUE_PER_PAGE));
}
