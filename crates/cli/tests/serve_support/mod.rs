//! Helpers for the tests that run `grandma serve` and `grandma worker` as real processes: the
//! processes themselves, an HTTP client for their API, bounded waits, and (in the submodules)
//! the fixture sites they scrape and direct store access. PostgreSQL test databases are
//! `grandma_testkit::PgDb`, shared with the other crates' tests.

pub mod shop;
pub mod store;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Serves `app` on 127.0.0.1 from the test's runtime; returns its base URL (`http://ADDR`).
pub async fn serve_local(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `grandma ARGS` on the database `db_url` with a clean environment (nothing leaks in from the
/// developer's shell), a short lease, and the fixture sites on 127.0.0.1 allowed.
pub fn grandma(db_url: &str, data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
    cmd.args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GRANDMA_DATABASE_URL", db_url)
        .env("GRANDMA_DATA_DIR", data_dir)
        .env("GRANDMA_SECRET_KEY", "test-signing-key-0123456789abcdef")
        .env("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32")
        .env("GRANDMA_LEASE_SECONDS", "5")
        .env("GRANDMA_RATE_LIMIT_ENABLED", "false")
        .env("GRANDMA_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// A child process, killed (SIGKILL) and reaped when dropped.
#[derive(Debug)]
pub struct Proc(pub Child);

impl Proc {
    pub fn kill9(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// Sends SIGTERM (a graceful shutdown), through `kill(1)`.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// The resident set size, in KiB (0 once the process is gone).
    pub fn rss_kib(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.0.id()))
            .ok()
            .and_then(|status| {
                status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .and_then(|l| l.split_whitespace().nth(1))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A `grandma serve` process and the URL its banner names (`http://127.0.0.1:PORT`).
#[derive(Debug)]
pub struct Serve {
    pub proc: Proc,
    pub base: String,
}

impl Serve {
    /// Starts a prepared `grandma serve` (its stdout is taken over; stdin and stderr are the
    /// caller's choice) and waits up to a minute for the `URL:` line of its banner. `log` says
    /// what the process printed elsewhere, for the failure when no banner comes.
    pub async fn start(mut cmd: Command, log: impl FnOnce() -> String) -> Serve {
        let mut proc = Proc(
            cmd.stdout(Stdio::piped())
                .spawn()
                .expect("start grandma serve"),
        );
        let stdout = proc.0.stdout.take().unwrap();
        // The banner names the address; stdout is drained for the rest of the process, so the
        // server never blocks on it.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(url) = line.trim().strip_prefix("URL:")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(url.trim().to_owned());
                }
            }
        });
        let banner = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await
            .unwrap();
        match banner {
            Ok(base) => Serve { proc, base },
            Err(_) => {
                proc.kill9();
                panic!("grandma serve printed no URL:\n{}", log());
            }
        }
    }

    /// The address (`127.0.0.1:PORT`), for clients that speak HTTP themselves.
    pub fn address(&self) -> &str {
        self.base.trim_start_matches("http://")
    }

    /// Waits (up to a minute) until `/readiness` answers with a success.
    pub async fn ready(&self) {
        let c = client();
        poll(
            Instant::now() + Duration::from_secs(60),
            Duration::from_millis(100),
            async || match c.get(format!("{}/readiness", self.base)).send().await {
                Ok(r) if r.status().is_success() => Ok(()),
                _ => Err("grandma serve did not become ready".to_owned()),
            },
        )
        .await;
    }
}

/// Calls `probe` every `every` until it returns `Ok`; fails with its last `Err` once `deadline`
/// has passed.
pub async fn poll<T>(
    deadline: Instant,
    every: Duration,
    mut probe: impl AsyncFnMut() -> Result<T, String>,
) -> T {
    loop {
        match probe().await {
            Ok(t) => return t,
            Err(why) => assert!(Instant::now() < deadline, "{why}"),
        }
        tokio::time::sleep(every).await;
    }
}

/// An HTTP client. reqwest is built without a default TLS provider (the project uses ring).
pub fn client() -> reqwest::Client {
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// Sends `req`, checks the status, and returns the JSON body (null when there is none).
pub async fn call(req: reqwest::RequestBuilder, expect: u16) -> Value {
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    assert_eq!(status, expect, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}
