//! A flood of wrong logins from many addresses, with the rate limiter on: password hashing is
//! bounded, so the server keeps answering and its memory stays bounded; logins beyond the
//! bound are refused with `503` and `Retry-After`.
//!
//! Its own test binary, so the process's peak resident memory (`VmHWM`) is this test's alone.

#[allow(dead_code, unused_macros)]
#[path = "api/common.rs"]
mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use grandma_store::Backend;
use reqwest::StatusCode;

use crate::common::TestApp;

/// Concurrent wrong logins, each from its own loopback address.
const LOGINS: usize = 300;
/// The most the process's peak resident memory may grow by during the flood.
const MAX_GROWTH_KIB: u64 = 200 * 1024;

/// The process's peak resident set size so far, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}

async fn flood(backend: Backend) {
    // The rate limiter stays on, as in production: every login comes from another address.
    let app = TestApp::start_with(backend, |s| s.rate_limit.enabled = true).await;
    app.register("victim@example.com").await;
    // The clients exist before the baseline: what they cost is the test's, not the server's.
    let clients: Vec<_> = (0..LOGINS)
        .map(|i| {
            let ip = IpAddr::V4(Ipv4Addr::new(127, 1, (i / 250) as u8, (i % 250 + 1) as u8));
            reqwest::Client::builder()
                .local_address(ip)
                .build()
                .unwrap()
        })
        .collect();
    let before = peak_rss_kib();
    let started = Instant::now();

    let logins = clients.into_iter().enumerate().map(|(i, client)| {
        // Half for the account (a real verification), half for unknown addresses (the dummy).
        let username = if i % 2 == 0 {
            "victim@example.com".to_owned()
        } else {
            format!("nobody{i}@example.com")
        };
        let url = app.api("/auth/token");
        tokio::spawn(async move {
            let response = client
                .post(url)
                .form(&[
                    ("username", username.as_str()),
                    ("password", "wrong password"),
                ])
                .send()
                .await
                .expect("login answered");
            let status = response.status();
            let retry_after = response.headers().get("retry-after").cloned();
            let body: serde_json::Value = response.json().await.expect("JSON body");
            (status, retry_after, body)
        })
    });
    let logins: Vec<_> = logins.collect();

    // The server keeps answering other requests during the flood.
    let mut slowest_probe = Duration::ZERO;
    while logins.iter().any(|h| !h.is_finished()) {
        let asked = Instant::now();
        let probe = app
            .client
            .get(app.root("/health"))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("health answered during the flood");
        assert_eq!(probe.status(), StatusCode::OK);
        slowest_probe = slowest_probe.max(asked.elapsed());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let (mut refused, mut busy) = (0, 0);
    for login in logins {
        let (status, retry_after, body) = login.await.unwrap();
        match status {
            StatusCode::UNAUTHORIZED => refused += 1,
            StatusCode::SERVICE_UNAVAILABLE => {
                busy += 1;
                let retry_after = retry_after.expect("Retry-After on a 503");
                assert!(retry_after.to_str().unwrap().parse::<u64>().unwrap() >= 1);
                assert!(body["detail"].as_str().unwrap().contains("busy"), "{body}");
            }
            other => panic!("a wrong login answered {other}: {body}"),
        }
    }
    let growth = peak_rss_kib().saturating_sub(before);
    eprintln!(
        "{backend:?}: {LOGINS} wrong logins in {:.1} s: {refused} × 401, {busy} × 503; \
         peak RSS {before} KiB before, grew by {growth} KiB; slowest /health {} ms",
        started.elapsed().as_secs_f64(),
        slowest_probe.as_millis()
    );
    assert!(refused > 0, "some logins were checked");
    assert!(
        growth < MAX_GROWTH_KIB,
        "peak RSS grew by {growth} KiB during the flood"
    );
    assert!(slowest_probe < Duration::from_secs(2), "{slowest_probe:?}");
    // Once the flood is over, the right password works again.
    app.login("victim@example.com").await;
    app.finish().await;
}

/// One test for both databases, one after the other: the peak is per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_logins_from_many_addresses_keep_memory_bounded() {
    flood(Backend::Sqlite).await;
    flood(Backend::Postgres).await;
}
