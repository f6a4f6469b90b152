//! Both kinds of process stop on SIGTERM: `grandma serve` (API, workers, scheduler and
//! dispatcher) and `grandma worker` with its own `/metrics` listener exit by themselves,
//! successfully, within a bound, having closed their listeners.

#[allow(dead_code)]
mod serve_support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use serve_support::{Proc, Serve, client, free_port, grandma, poll};

/// Waits (bounded) for the process to exit and returns its status.
fn exit_within(proc: &mut Proc, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = proc.0.try_wait().unwrap() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "the process was still running {limit:?} after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stderr_file(dir: &std::path::Path, name: &str) -> (std::fs::File, std::path::PathBuf) {
    let path = dir.join(name);
    (std::fs::File::create(&path).unwrap(), path)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_and_worker_exit_cleanly_after_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}?mode=rwc", dir.path().join("g.db").display());
    let data = dir.path().join("data");

    // `grandma serve`: API, in-process workers, scheduler and dispatcher.
    let (log, log_path) = stderr_file(dir.path(), "serve.log");
    let mut cmd = grandma(&db, &data, &["serve"]);
    cmd.env("GRANDMA_BIND", "127.0.0.1:0")
        .stderr(Stdio::from(log));
    let mut serve = Serve::start(cmd, || std::fs::read_to_string(&log_path).unwrap()).await;
    serve.ready().await;
    let address = serve.address().to_owned();
    serve.proc.sigterm();
    let status = exit_within(&mut serve.proc, Duration::from_secs(30));
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        status.success(),
        "grandma serve exited with {status}:\n{text}"
    );
    assert!(text.contains("GrandmaScraper stopped."), "{text}");
    assert!(
        std::net::TcpStream::connect(&address).is_err(),
        "the API still listens"
    );

    // `grandma worker` with its own metrics endpoint, on the database serve migrated.
    let port = free_port();
    let (log, log_path) = stderr_file(dir.path(), "worker.log");
    let mut worker = Proc(
        grandma(&db, &data, &["worker"])
            .env("GRANDMA_WORKER_METRICS_BIND", format!("127.0.0.1:{port}"))
            .env("GRANDMA_METRICS_TOKEN", "scrape-token")
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap(),
    );
    let c = client();
    let metrics = format!("http://127.0.0.1:{port}/metrics");
    poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        async || match c.get(&metrics).bearer_auth("scrape-token").send().await {
            Ok(r) if r.status().is_success() => Ok(()),
            other => Err(format!(
                "the worker's /metrics did not answer: {other:?}\n{}",
                std::fs::read_to_string(&log_path).unwrap()
            )),
        },
    )
    .await;
    let unauthorized = c.get(&metrics).send().await.unwrap();
    assert_eq!(unauthorized.status().as_u16(), 401);
    worker.sigterm();
    let status = exit_within(&mut worker, Duration::from_secs(30));
    let text = std::fs::read_to_string(&log_path).unwrap();
    assert!(
        status.success(),
        "grandma worker exited with {status}:\n{text}"
    );
    assert!(text.contains("GrandmaScraper stopped."), "{text}");
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the worker's metrics listener is still open"
    );
}
