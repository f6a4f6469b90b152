//! Rate limits shared by API nodes through Redis: two servers over one database, each with its
//! own `RateLimiter` (as two nodes would have), take from the same buckets in a real Redis
//! (`GRANDMA_TEST_REDIS_URL`, default `redis://127.0.0.1:6379/`; a Redis that does not answer
//! fails these tests). Every test has its own key prefix, so they run side by side.

use std::sync::Arc;
use std::time::{Duration, Instant};

use grandma_server::{AppState, Settings};
use grandma_shared::config::{Quota, RateLimitSettings};
use grandma_store::{Backend, Role, Secret, Uuid};
use reqwest::StatusCode;
use tokio::sync::oneshot;

use crate::common::TestApp;

fn redis_url() -> String {
    std::env::var("GRANDMA_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".into())
}

/// A connection for checking keys; panics when Redis does not answer.
async fn redis() -> redis::aio::MultiplexedConnection {
    let url = redis_url();
    let connect = async {
        let client = redis::Client::open(url.as_str())?;
        let mut con = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut con).await?;
        Ok::<_, redis::RedisError>(con)
    };
    match tokio::time::timeout(Duration::from_secs(5), connect).await {
        Ok(Ok(con)) => con,
        Ok(Err(e)) => {
            panic!("Redis is required for these tests ({url}; set GRANDMA_TEST_REDIS_URL): {e}")
        }
        Err(_) => panic!("Redis is required for these tests ({url}): no answer within 5 s"),
    }
}

async fn pttl(con: &mut redis::aio::MultiplexedConnection, key: &str) -> i64 {
    redis::cmd("PTTL").arg(key).query_async(con).await.unwrap()
}

fn unique_prefix() -> String {
    format!("grandma:test:{}:", Uuid::now_v7().simple())
}

/// Limits on, shared through `url` under `prefix`; `adjust` sets the quotas. The timeout is
/// generous so that a loaded test machine does not fall back to the local buckets.
fn shared(
    url: String,
    prefix: &str,
    adjust: impl FnOnce(&mut RateLimitSettings),
) -> impl FnOnce(&mut Settings) {
    let prefix = prefix.to_owned();
    move |s: &mut Settings| {
        let rl = &mut s.rate_limit;
        rl.enabled = true;
        rl.redis_url = Some(Secret(url));
        rl.redis_prefix = prefix;
        rl.redis_timeout_ms = 2_000;
        adjust(rl);
    }
}

/// A second API node: the same database and settings (so the same signing key), its own
/// state and so its own `RateLimiter`, served on its own port.
struct Node {
    addr: std::net::SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Node {
    async fn beside(app: &TestApp) -> Node {
        let settings = (*app.state.settings).clone();
        let state = AppState::new(app.store.clone(), settings);
        assert!(!Arc::ptr_eq(&state.rate_limiter, &app.state.rate_limiter));
        assert!(state.rate_limiter.shared() && app.state.rate_limiter.shared());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(grandma_server::launch(listener, state, async move {
            let _ = rx.await;
        }));
        Node {
            addr,
            shutdown: Some(tx),
            server,
        }
    }

    fn api(&self, path: &str) -> String {
        format!("http://{}/api/v1{path}", self.addr)
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = self.server.await;
    }
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

async fn get(client: &reqwest::Client, url: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = client.get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

/// A refusal as the local limiter gives it: the headers and the request ID.
fn assert_refused(r: &reqwest::Response, limit: &str) {
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(r, "x-ratelimit-limit"), Some(limit));
    assert_eq!(header(r, "x-ratelimit-remaining"), Some("0"));
    let retry: u64 = header(r, "retry-after").unwrap().parse().unwrap();
    assert!(retry >= 1, "{retry}");
    assert!(header(r, "x-request-id").is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_burst_is_shared_by_two_nodes() {
    let mut con = redis().await;
    let prefix = unique_prefix();
    // Burst 10, one token every 30 s: nothing refills while the test runs.
    let a = TestApp::start_with(
        Backend::Sqlite,
        shared(redis_url(), &prefix, |rl| rl.per_ip = Quota::new(2, 10)),
    )
    .await;
    let b = Node::beside(&a).await;
    let client = &a.client;
    let mut remaining = Vec::new();
    for _ in 0..6 {
        let r = get(client, &a.api("/jobs"), None).await;
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, "x-ratelimit-limit"), Some("2"));
        remaining.push(header(&r, "x-ratelimit-remaining").unwrap().to_owned());
    }
    for _ in 0..4 {
        let r = get(client, &b.api("/jobs"), None).await;
        assert_eq!(r.status(), 401);
        remaining.push(header(&r, "x-ratelimit-remaining").unwrap().to_owned());
    }
    assert_eq!(
        remaining,
        ["9", "8", "7", "6", "5", "4", "3", "2", "1", "0"]
    );
    for url in [a.api("/jobs"), b.api("/jobs")] {
        let r = get(client, &url, None).await;
        assert_refused(&r, "2");
        let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
        assert!(retry <= 30, "{retry}");
    }
    // One key under the prefix, which expires once the bucket would be full again (301 s).
    let ttl = pttl(&mut con, &format!("{prefix}ip:127.0.0.1")).await;
    assert!((290_000..=301_000).contains(&ttl), "{ttl}");
    b.stop().await;
    a.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_quota_is_shared_by_two_nodes() {
    let mut con = redis().await;
    let prefix = unique_prefix();
    let a = TestApp::start_with(
        Backend::Sqlite,
        shared(redis_url(), &prefix, |rl| {
            rl.per_ip = Quota::new(100_000, 10_000);
            rl.user = Quota::new(2, 3);
            rl.admin = Quota::new(2, 5);
        }),
    )
    .await;
    let b = Node::beside(&a).await;
    let (user_id, user) = a.user("shared-user@example.com", Role::User).await;
    let (_, admin) = a.user("shared-admin@example.com", Role::Admin).await;
    let client = &a.client;
    let mut seen = Vec::new();
    for url in [a.api("/jobs"), b.api("/jobs"), a.api("/jobs")] {
        seen.push(get(client, &url, Some(&user)).await.status().as_u16());
    }
    assert_eq!(seen, [200, 200, 200]);
    for url in [b.api("/jobs"), a.api("/jobs")] {
        let r = get(client, &url, Some(&user)).await;
        assert_refused(&r, "2");
    }
    // The admin's bucket is another, sized by the role, and shared too.
    let mut seen = Vec::new();
    for i in 0..6 {
        let url = if i % 2 == 0 {
            a.api("/jobs")
        } else {
            b.api("/jobs")
        };
        seen.push(get(client, &url, Some(&admin)).await.status().as_u16());
    }
    assert_eq!(seen, [200, 200, 200, 200, 200, 429]);
    let ttl = pttl(&mut con, &format!("{prefix}user:{user_id}")).await;
    assert!(ttl > 0, "{ttl}");
    b.stop().await;
    a.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_buckets_refill() {
    let _ = redis().await;
    let prefix = unique_prefix();
    // 120/min: a token every 500 ms, burst 2.
    let a = TestApp::start_with(
        Backend::Sqlite,
        shared(redis_url(), &prefix, |rl| rl.per_ip = Quota::new(120, 2)),
    )
    .await;
    let b = Node::beside(&a).await;
    let client = &a.client;
    for _ in 0..2 {
        assert_eq!(get(client, &a.api("/jobs"), None).await.status(), 401);
    }
    let r = get(client, &b.api("/jobs"), None).await;
    assert_refused(&r, "120");
    assert_eq!(header(&r, "retry-after"), Some("1"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    // The token that came back is taken on B, and then it is gone on A too.
    assert_eq!(get(client, &b.api("/jobs"), None).await.status(), 401);
    assert_refused(&get(client, &a.api("/jobs"), None).await, "120");
    b.stop().await;
    a.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_redis_falls_back_to_local_buckets() {
    // A port nobody listens on any more.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        let rl = &mut s.rate_limit;
        rl.enabled = true;
        rl.redis_url = Some(Secret(format!("redis://127.0.0.1:{closed}/")));
        rl.redis_prefix = unique_prefix();
        // Burst 6, one token every 30 s.
        rl.per_ip = Quota::new(2, 6);
    })
    .await;
    assert!(app.state.rate_limiter.shared());
    let started = Instant::now();
    let timed = |r: reqwest::Response, at: Instant| {
        assert!(at.elapsed() < Duration::from_secs(2), "{:?}", at.elapsed());
        assert_ne!(r.status(), 500);
        r
    };
    // The first request finds Redis gone: answered at once, from the local bucket.
    let t = Instant::now();
    let r = timed(get(&app.client, &app.api("/jobs"), None).await, t);
    assert_eq!(r.status(), 401);
    assert_eq!(header(&r, "x-ratelimit-remaining"), Some("5"));
    // The user bucket falls back too: register, log in, then read.
    app.register("down@example.com").await;
    let token = app.login("down@example.com").await;
    let mut remaining = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = timed(get(&app.client, &app.api("/jobs"), Some(&token)).await, t);
        assert_eq!(r.status(), 200);
        remaining.push(header(&r, "x-ratelimit-remaining").unwrap().to_owned());
    }
    // This node's own bucket counted all six requests.
    assert_eq!(remaining, ["2", "1", "0"]);
    let t = Instant::now();
    let r = timed(get(&app.client, &app.api("/jobs"), Some(&token)).await, t);
    assert_refused(&r, "2");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
    // The failures are counted.
    let metrics = app
        .client
        .get(app.root("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("http_rate_limit_backend_errors_total{scope=\"ip\"}"),
        "{metrics}"
    );
    app.finish().await;
}
