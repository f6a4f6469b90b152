//! Figures for the production layer (a benchmark program, not a test):
//!
//! ```text
//! cargo run --release -p grandma-server --example production_figures -- serve   # then wrk
//! cargo run --release -p grandma-server --example production_figures -- memory
//! cargo run --release -p grandma-server --example production_figures -- gzip
//! ```
//!
//! `serve` listens on 127.0.0.1:18081 (bare router) and 127.0.0.1:18082 (the same router inside
//! the whole middleware stack, rate limits on with a quota too large to refuse), both answering
//! `GET /liveness` (exempt from rate limits), `GET /ping` (limited) and `GET /page` (a ~150 KB JSON result page), so `wrk` can compare them in one
//! run. `memory` feeds 1 000 000 distinct client IPs to the rate limiter and prints the resident
//! memory it grew by; `gzip` prints the size of the result page before and after the stack.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use grandma_server::middleware::{self, RateLimiter};
use grandma_shared::config::{HttpSettings, Quota, RateLimitSettings};
use serde_json::{Value, json};

const RATINGS: [&str; 5] = ["One", "Two", "Three", "Four", "Five"];

fn page() -> Value {
    let items: Vec<Value> = (0..900)
        .map(|i| {
            json!({
                "title": format!("Product number {i} — a sturdy everyday item"),
                "price": format!("£{}.{:02}", 5 + i % 90, i % 100),
                "link": format!("https://shop.example.com/catalogue/item-{i}/index.html"),
                "rating": RATINGS[i % 5],
                "in_stock": i % 3 != 0,
            })
        })
        .collect();
    json!({"items": items, "total": 900, "limit": 900, "offset": 0})
}

fn bare() -> Router {
    let page = Arc::new(page());
    Router::new()
        .route(
            "/liveness",
            get(|| async { axum::Json(json!({"status": "alive"})) }),
        )
        .route("/ping", get(|| async { axum::Json(json!({"pong": true})) }))
        .route(
            "/page",
            get(move || {
                let page = Arc::clone(&page);
                async move { axum::Json((*page).clone()) }
            }),
        )
}

fn rate_limits() -> RateLimitSettings {
    RateLimitSettings {
        per_ip: Quota::new(u32::MAX / 2, u32::MAX / 2),
        ..Default::default()
    }
}

fn stacked() -> Router {
    let limiter = Arc::new(RateLimiter::new(rate_limits(), Vec::new()));
    grandma_shared::metrics::install();
    middleware::apply(bare(), &HttpSettings::default(), limiter)
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn memory() {
    for max_keys in [100_000usize, 2_000_000] {
        let before = rss_bytes();
        let limiter = RateLimiter::new(
            RateLimitSettings {
                max_keys,
                ..Default::default()
            },
            Vec::new(),
        );
        for i in 0..1_000_000u32 {
            let ip = IpAddr::V4(Ipv4Addr::from(0x0b00_0000 + i));
            limiter.check_ip_at(ip, u64::from(i / 100));
        }
        let after = rss_bytes();
        println!(
            "max_keys {max_keys}: {} keys kept after 1000000 distinct IPs, RSS grew {:.1} MiB",
            limiter.tracked_keys().0,
            (after.saturating_sub(before)) as f64 / (1024.0 * 1024.0)
        );
        drop(limiter);
    }
}

async fn gzip() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            stacked().into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder().no_gzip().build().unwrap();
    let url = format!("http://{addr}/page");
    let plain = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let zipped = client
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    println!(
        "result page: {} bytes, gzip level 6: {} bytes, ratio {:.1}x ({:.1}% of the original)",
        plain.len(),
        zipped.len(),
        plain.len() as f64 / zipped.len() as f64,
        100.0 * zipped.len() as f64 / plain.len() as f64
    );
}

async fn serve() {
    let a = tokio::net::TcpListener::bind("127.0.0.1:18081")
        .await
        .unwrap();
    let b = tokio::net::TcpListener::bind("127.0.0.1:18082")
        .await
        .unwrap();
    println!("bare on :18081, full stack on :18082");
    let bare = tokio::spawn(async move {
        axum::serve(
            a,
            bare().into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let full = tokio::spawn(async move {
        axum::serve(
            b,
            stacked().into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    let _ = tokio::join!(bare, full);
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("memory") => memory(),
        Some("gzip") => gzip().await,
        Some("serve") => serve().await,
        _ => eprintln!("usage: production_figures serve|memory|gzip"),
    }
}
