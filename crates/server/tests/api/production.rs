//! The production middleware through real HTTP: request IDs (echo, validation, error bodies,
//! traceparent), gzip, gzip, rate limits, CORS and the stack's order. The exact `/metrics`
//! counts are in `tests/metrics.rs`, a binary of their own, since the recorder is per process.

use std::io::Read;

use grandma_server::Settings;
use grandma_shared::config::{List, Quota};
use grandma_store::{Backend, Role};
use reqwest::StatusCode;
use serde_json::Value;

use crate::common::TestApp;

async fn sqlite_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    TestApp::start_with(Backend::Sqlite, adjust).await
}

fn header<'a>(r: &'a reqwest::Response, name: &str) -> Option<&'a str> {
    r.headers().get(name).map(|v| v.to_str().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_are_echoed_validated_and_in_error_bodies() {
    let app = sqlite_with(|_| {}).await;
    // Generated when absent: a UUID, also in the error body.
    let r = app.client.get(app.api("/jobs")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let id = header(&r, "x-request-id").unwrap().to_owned();
    assert!(grandma_store::Uuid::parse_str(&id).is_ok(), "{id}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], id.as_str(), "{body}");
    assert!(body["detail"].is_string());

    // A valid client ID is kept, on successes too.
    let r = app
        .client
        .get(app.root("/liveness"))
        .header("X-Request-ID", "client-abc_123.x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(header(&r, "x-request-id"), Some("client-abc_123.x"));

    // The longest accepted is 128 characters; longer or unprintable ones are replaced.
    let longest = "a".repeat(128);
    for (sent, kept) in [
        (longest.as_str(), true),
        (&"b".repeat(129), false),
        ("with space", false),
        ("", false),
    ] {
        let r = app
            .client
            .get(app.api("/nope"))
            .header("X-Request-ID", sent)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
        let echoed = header(&r, "x-request-id").unwrap().to_owned();
        assert_eq!(echoed == sent, kept, "{sent:?} -> {echoed:?}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["request_id"], echoed.as_str());
    }

    // Validation errors (422) carry it too.
    let token = {
        app.register("ids@example.com").await;
        app.login("ids@example.com").await
    };
    let r = app
        .client
        .post(app.api("/jobs"))
        .bearer_auth(&token)
        .header("X-Request-ID", "req-422")
        .json(&serde_json::json!({"name": "x", "config": {"name": "x"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], "req-422", "{body}");
    app.finish().await;
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("valid gzip");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gzip_large_json_only_when_accepted() {
    let app = sqlite_with(|_| {}).await;
    let raw = reqwest::Client::builder().no_gzip().build().unwrap();
    let get = |path: &'static str, gzip: bool| {
        let mut request = raw.get(app.root(path));
        if gzip {
            request = request.header("Accept-Encoding", "gzip");
        }
        async move { request.send().await.unwrap() }
    };

    // A large JSON document: compressed, decodes to exactly the identity body.
    let plain = get("/api/openapi.json", false).await;
    assert_eq!(header(&plain, "content-encoding"), None);
    let plain = plain.bytes().await.unwrap();
    assert!(plain.len() >= 500);
    let zipped = get("/api/openapi.json", true).await;
    assert_eq!(zipped.status(), 200);
    assert_eq!(header(&zipped, "content-encoding"), Some("gzip"));
    assert!(
        header(&zipped, "vary")
            .unwrap()
            .to_ascii_lowercase()
            .contains("accept-encoding")
    );
    assert!(header(&zipped, "x-request-id").is_some());
    let zipped = zipped.bytes().await.unwrap();
    assert!(
        zipped.len() < plain.len() / 3,
        "{} vs {}",
        zipped.len(),
        plain.len()
    );
    assert_eq!(gunzip(&zipped), plain);

    // A small JSON answer (< 500 bytes) is left intact and complete.
    let small = get("/liveness", true).await;
    assert_eq!(header(&small, "content-encoding"), None);
    let body = small.bytes().await.unwrap();
    assert!(body.len() < 500);
    let parsed: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(parsed["status"], "alive");

    // Error bodies too.
    let missing = get("/api/v1/nope", true).await;
    assert_eq!(header(&missing, "content-encoding"), None);
    let parsed: Value = missing.json().await.unwrap();
    assert_eq!(parsed["detail"], "not found");

    // Not a listed type (the Swagger page's JS is, its PNG-free HTML is): a plain-text
    // metrics scrape is never compressed.
    let metrics = get("/metrics", true).await;
    assert_eq!(header(&metrics, "content-encoding"), None);
    app.finish().await;

    // The threshold follows the settings.
    let app = sqlite_with(|s| s.http.gzip_min_bytes = u16::MAX).await;
    let r = raw
        .get(app.root("/api/openapi.json"))
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    let len = r.content_length();
    let enc = header(&r, "content-encoding").map(str::to_owned);
    if len.is_some_and(|l| l < u64::from(u16::MAX)) {
        assert_eq!(enc, None);
    }
    app.finish().await;
}

fn limited(per_ip: Quota) -> impl FnOnce(&mut Settings) {
    move |s: &mut Settings| {
        s.rate_limit.enabled = true;
        s.rate_limit.per_ip = per_ip;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_rate_limit_burst_headers_exemptions_and_refill() {
    // 30/min = one token per 2 s, burst 3.
    let app = sqlite_with(limited(Quota::new(30, 3))).await;
    for remaining in ["2", "1", "0"] {
        let r = app.client.get(app.api("/jobs")).send().await.unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(header(&r, "x-ratelimit-limit"), Some("30"));
        assert_eq!(header(&r, "x-ratelimit-remaining"), Some(remaining));
    }
    // Probes and metrics are exempt, however many.
    for path in ["/health", "/liveness", "/api/v1/readiness", "/metrics"] {
        for _ in 0..3 {
            let r = app.client.get(app.root(path)).send().await.unwrap();
            assert_eq!(r.status(), 200, "{path}");
        }
    }
    // The next counted request is refused, with its request ID and the headers.
    let r = app
        .client
        .get(app.api("/jobs"))
        .header("X-Request-ID", "limited-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "x-request-id"), Some("limited-1"));
    assert_eq!(header(&r, "x-ratelimit-limit"), Some("30"));
    assert_eq!(header(&r, "x-ratelimit-remaining"), Some("0"));
    let retry: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["request_id"], "limited-1");
    // A token comes back within 2 s.
    tokio::time::sleep(std::time::Duration::from_millis(2_100)).await;
    let r = app.client.get(app.api("/jobs")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_is_trusted_only_from_proxies_and_keys_are_bounded() {
    // Untrusted peer: X-Forwarded-For is ignored, so all share one bucket.
    let app = sqlite_with(limited(Quota::new(60, 2))).await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = app
            .client
            .get(app.api("/jobs"))
            .header("X-Forwarded-For", format!("203.0.113.{i}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(statuses, [401, 401, 429]);
    app.finish().await;

    // Trusted loopback proxy: each forwarded client has its own bucket; memory stays bounded.
    let app = sqlite_with(|s| {
        limited(Quota::new(60, 2))(s);
        s.http.trusted_proxies = List(vec!["127.0.0.0/8".parse().unwrap()]);
        s.rate_limit.max_keys = 32;
    })
    .await;
    for i in 0..200u32 {
        let ip = std::net::Ipv4Addr::from(0x0a00_0000 + i);
        let r = app
            .client
            .get(app.api("/jobs"))
            .header("X-Forwarded-For", format!("{ip}, 127.0.0.1"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 401, "{ip}");
    }
    let (ips, _) = app.state.rate_limiter.tracked_keys();
    assert!(ips <= 32, "{ips} keys kept");
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_quotas_follow_the_role() {
    let app = sqlite_with(|s| {
        s.rate_limit.enabled = true;
        s.rate_limit.per_ip = Quota::new(100_000, 10_000);
        s.rate_limit.user = Quota::new(30, 2);
        s.rate_limit.admin = Quota::new(30, 5);
    })
    .await;
    let (_, user) = app.user("quota-user@example.com", Role::User).await;
    let (_, admin) = app.user("quota-admin@example.com", Role::Admin).await;
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = app
            .client
            .get(app.api("/jobs"))
            .bearer_auth(&user)
            .send()
            .await
            .unwrap();
        seen.push(r.status().as_u16());
        if r.status() == 429 {
            assert_eq!(header(&r, "x-ratelimit-limit"), Some("30"));
            assert!(header(&r, "retry-after").is_some());
            assert!(header(&r, "x-request-id").is_some());
        }
    }
    assert_eq!(seen, [200, 200, 429]);
    // The admin's quota is larger and separate.
    for _ in 0..5 {
        app.get("/jobs", &admin, 200).await;
    }
    app.get("/jobs", &admin, 429).await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origins_credentials_and_preflights() {
    // Default: no origin allowed, no CORS headers.
    let app = sqlite_with(|_| {}).await;
    let r = app
        .client
        .get(app.root("/liveness"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    app.finish().await;

    let app = sqlite_with(|s| {
        limited(Quota::new(60, 1))(s);
        s.http.cors_origins = List(vec!["https://app.example".into()]);
        s.http.cors_allow_credentials = true;
    })
    .await;
    // Preflights are answered and take no token (the burst is 1).
    for _ in 0..5 {
        let r = app
            .client
            .request(reqwest::Method::OPTIONS, app.api("/jobs"))
            .header("Origin", "https://app.example")
            .header("Access-Control-Request-Method", "POST")
            .header(
                "Access-Control-Request-Headers",
                "authorization,content-type",
            )
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        assert_eq!(
            header(&r, "access-control-allow-origin"),
            Some("https://app.example")
        );
        assert_eq!(header(&r, "access-control-allow-credentials"), Some("true"));
        assert!(
            header(&r, "access-control-allow-methods")
                .unwrap()
                .contains("POST")
        );
    }
    let r = app
        .client
        .get(app.api("/jobs"))
        .header("Origin", "https://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "the preflights used no token");
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://app.example")
    );
    let exposed = header(&r, "access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    // Another origin gets no allowance.
    let r = app
        .client
        .get(app.root("/liveness"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "access-control-allow-origin"), None);
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ip_429_carries_cors_headers_for_allowed_origins_only() {
    // The rate limiter sits outside the CORS layer; its 429s get the same headers anyway.
    let app = sqlite_with(|s| {
        limited(Quota::new(2, 1))(s);
        s.http.cors_origins = List(vec!["https://app.example".into()]);
        s.http.cors_allow_credentials = true;
    })
    .await;
    let from = |origin: Option<&str>| {
        let mut request = app.client.get(app.api("/jobs"));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.header("X-Request-ID", "cors-429").send()
    };
    assert_eq!(
        from(Some("https://app.example")).await.unwrap().status(),
        401
    );

    let r = from(Some("https://app.example")).await.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        header(&r, "access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(header(&r, "access-control-allow-credentials"), Some("true"));
    let exposed = header(&r, "access-control-expose-headers")
        .unwrap()
        .to_ascii_lowercase();
    for name in [
        "x-request-id",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "retry-after",
    ] {
        assert!(exposed.contains(name), "{exposed}");
    }
    let vary = header(&r, "vary").unwrap().to_ascii_lowercase();
    assert!(vary.contains("origin"), "{vary}");
    assert_eq!(header(&r, "x-request-id"), Some("cors-429"));
    assert!(header(&r, "retry-after").is_some());

    // Another origin, or none, reads nothing.
    for origin in [Some("https://evil.example"), None] {
        let r = from(origin).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        for name in [
            "access-control-allow-origin",
            "access-control-allow-credentials",
            "access-control-expose-headers",
        ] {
            assert_eq!(header(&r, name), None, "{origin:?} {name}");
        }
    }
    app.finish().await;
}
