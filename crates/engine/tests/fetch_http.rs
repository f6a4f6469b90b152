//! HttpFetcher against real HTTP servers on 127.0.0.1: decompression, charsets, redirects,
//! size and time limits, user-agent rotation, and the guard on every hop.

mod fetch_support;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use fetch_support::{Hits, brotli, fetcher, gzip, options, serve, url};
use grandma_engine::fetch::{FetchError, FetchOptions, Fetcher, HttpFetcher};
use grandma_engine::guard::{BlockReason, GuardError, NetworkGuard};

const HTML: &str = "<html><body><p class=\"x\">Grandma's café</p></body></html>";

fn encoded(encoding: &'static str, body: Vec<u8>, headers: &HeaderMap) -> Response {
    let accepted = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !accepted.contains(encoding) {
        return (StatusCode::BAD_REQUEST, "client did not offer the encoding").into_response();
    }
    (
        [
            (header::CONTENT_ENCODING, encoding),
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        ],
        body,
    )
        .into_response()
}

#[tokio::test]
async fn gzip_and_brotli_bodies_are_decoded() {
    let app = Router::new()
        .route(
            "/gzip",
            get(|h: HeaderMap| async move { encoded("gzip", gzip(HTML.as_bytes()), &h) }),
        )
        .route(
            "/br",
            get(|h: HeaderMap| async move { encoded("br", brotli(HTML.as_bytes()), &h) }),
        );
    let addr = serve(app).await;
    let f = fetcher(options());
    for path in ["/gzip", "/br"] {
        let page = f.fetch(&url(addr, path)).await.expect(path);
        assert_eq!(page.status, 200);
        assert_eq!(page.body, HTML, "{path}");
        assert_eq!(page.attempts, 1);
        assert_eq!(
            page.content_type.as_deref(),
            Some("text/html; charset=utf-8")
        );
    }
}

#[tokio::test]
async fn large_compressed_body_spanning_blocks() {
    let big = "<p>row</p>".repeat(20_000); // 200 KB: several stored blocks / meta-blocks
    let gz = gzip(big.as_bytes());
    let br = brotli(big.as_bytes());
    let app = Router::new()
        .route(
            "/gzip",
            get(move |h: HeaderMap| {
                let gz = gz.clone();
                async move { encoded("gzip", gz, &h) }
            }),
        )
        .route(
            "/br",
            get(move |h: HeaderMap| {
                let br = br.clone();
                async move { encoded("br", br, &h) }
            }),
        );
    let addr = serve(app).await;
    let f = fetcher(options());
    assert_eq!(f.fetch(&url(addr, "/gzip")).await.expect("gzip").body, big);
    assert_eq!(f.fetch(&url(addr, "/br")).await.expect("br").body, big);
}

#[tokio::test]
async fn charset_from_header_and_meta() {
    // "Привет" in windows-1251 and "café" in ISO-8859-1.
    let cp1251: &[u8] = b"\xcf\xf0\xe8\xe2\xe5\xf2";
    let app = Router::new()
        .route(
            "/latin1",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=ISO-8859-1")],
                    b"<p>caf\xe9</p>".to_vec(),
                )
            }),
        )
        .route(
            "/cp1251",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=windows-1251")],
                    cp1251.to_vec(),
                )
            }),
        )
        .route(
            "/meta",
            get(move || async move {
                let mut body = b"<html><head><meta charset=\"windows-1251\"></head><body>".to_vec();
                body.extend_from_slice(cp1251);
                ([(header::CONTENT_TYPE, "text/html")], body)
            }),
        )
        .route(
            "/http-equiv",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html")],
                    b"<head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"></head>caf\xe9"
                        .to_vec(),
                )
            }),
        )
        .route(
            "/bom",
            get(|| async {
                let mut body = vec![0xEF, 0xBB, 0xBF];
                body.extend_from_slice("café".as_bytes());
                ([(header::CONTENT_TYPE, "text/html")], body)
            }),
        );
    let addr = serve(app).await;
    let f = fetcher(options());
    let body = |path: &'static str| {
        let f = &f;
        async move { f.fetch(&url(addr, path)).await.expect(path).body }
    };
    assert_eq!(body("/latin1").await, "<p>café</p>");
    assert_eq!(body("/cp1251").await, "Привет");
    assert!(body("/meta").await.ends_with("<body>Привет"));
    assert!(body("/http-equiv").await.ends_with("café"));
    assert_eq!(body("/bom").await, "café");
}

#[tokio::test]
async fn timeout_is_reported_as_timeout() {
    let app = Router::new().route(
        "/slow",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(10)).await;
            "late"
        }),
    );
    let addr = serve(app).await;
    let f = fetcher(FetchOptions {
        timeout: Duration::from_millis(300),
        retry_count: 0,
        ..options()
    });
    let started = Instant::now();
    let err = f
        .fetch(&url(addr, "/slow"))
        .await
        .expect_err("must time out");
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn oversized_bodies_are_refused_with_and_without_content_length() {
    let app = Router::new()
        .route("/declared", get(|| async { "x".repeat(5_000) }))
        .route(
            "/streamed",
            get(|| async {
                // A stream body has no Content-Length: the running total must catch it.
                let chunks = (0..10).map(|_| Ok::<_, std::io::Error>("y".repeat(1_000)));
                Body::from_stream(futures::stream::iter(chunks))
            }),
        )
        .route("/fits", get(|| async { "z".repeat(1_000) }));
    let addr = serve(app).await;
    let f = fetcher(FetchOptions {
        max_body_bytes: 2_000,
        ..options()
    });
    for path in ["/declared", "/streamed"] {
        let err = f.fetch(&url(addr, path)).await.expect_err(path);
        assert!(
            matches!(err, FetchError::TooLarge { limit: 2_000 }),
            "{path}: {err:?}"
        );
    }
    assert_eq!(
        f.fetch(&url(addr, "/fits")).await.expect("fits").body.len(),
        1_000
    );
}

#[tokio::test]
async fn redirect_chain_is_followed() {
    let app = Router::new()
        .route("/start", get(|| async { Redirect::permanent("/middle") }))
        .route(
            "/middle",
            get(|| async { Redirect::temporary("../final?x=1") }),
        )
        .route("/final", get(|| async { "arrived" }));
    let addr = serve(app).await;
    let start = url(addr, "/start");
    let page = fetcher(options()).fetch(&start).await.expect("chain");
    assert_eq!(page.url, start);
    assert_eq!(page.final_url, url(addr, "/final?x=1"));
    assert_eq!(page.body, "arrived");
}

#[tokio::test]
async fn redirect_into_blocked_networks_is_refused_before_connecting() {
    let app = Router::new()
        .route(
            "/metadata",
            get(|| async { Redirect::to("http://169.254.169.254/latest/meta-data/") }),
        )
        .route(
            "/private",
            get(|| async { Redirect::to("http://10.0.0.1/admin") }),
        )
        .route(
            "/file",
            get(|| async { Redirect::to("file:///etc/passwd") }),
        )
        .route(
            "/decimal",
            get(|| async { Redirect::to("http://2130706433:1/") }),
        );
    let addr = serve(app).await;
    let f = fetcher(options());
    let started = Instant::now();
    let expect_blocked = |err: FetchError, reason: BlockReason| match err {
        FetchError::Blocked(GuardError::Blocked { reason: r, .. }) => assert_eq!(r, reason),
        other => panic!("expected {reason:?}, got {other:?}"),
    };
    expect_blocked(
        f.fetch(&url(addr, "/metadata"))
            .await
            .expect_err("metadata"),
        BlockReason::CloudMetadata,
    );
    expect_blocked(
        f.fetch(&url(addr, "/private")).await.expect_err("private"),
        BlockReason::Private,
    );
    // 2130706433 is 127.0.0.1; the allow-list opens 127.0.0.1 so this one is allowed, and
    // fails only because nothing listens on port 1.
    let err = f.fetch(&url(addr, "/decimal")).await.expect_err("port 1");
    assert!(!matches!(err, FetchError::Blocked(_)), "{err:?}");
    let err = f.fetch(&url(addr, "/file")).await.expect_err("file");
    assert!(
        matches!(err, FetchError::Blocked(GuardError::Scheme { .. })),
        "{err:?}"
    );
    // Refusals are immediate: no connection attempt to 10.0.0.1 or the metadata address, no
    // retries.
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn redirect_loops_stop_at_the_limit() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/loop",
            get(|State(hits): State<Hits>| async move {
                hits.hit();
                Redirect::temporary("/loop")
            }),
        )
        .with_state(hits.clone());
    let addr = serve(app).await;
    let f = fetcher(FetchOptions {
        max_redirects: 3,
        retry_count: 2,
        ..options()
    });
    let err = f.fetch(&url(addr, "/loop")).await.expect_err("loop");
    assert!(matches!(err, FetchError::TooManyRedirects), "{err:?}");
    assert_eq!(
        hits.get(),
        4,
        "the first request and 3 redirects, never retried"
    );
}

#[tokio::test]
async fn user_agents_rotate() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let app = Router::new()
        .route(
            "/",
            get(
                |State(seen): State<Arc<Mutex<Vec<String>>>>, h: HeaderMap| async move {
                    let ua = h
                        .get(header::USER_AGENT)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default()
                        .to_owned();
                    seen.lock().expect("lock").push(ua);
                    "ok"
                },
            ),
        )
        .with_state(Arc::clone(&seen));
    let addr = serve(app).await;
    let f = fetcher(FetchOptions {
        user_agents: vec!["Agent/A".into(), "Agent/B".into()],
        ..options()
    });
    for _ in 0..4 {
        f.fetch(&url(addr, "/")).await.expect("fetch");
    }
    assert_eq!(
        *seen.lock().expect("lock"),
        ["Agent/A", "Agent/B", "Agent/A", "Agent/B"]
    );
}

#[tokio::test]
async fn invalid_user_agent_is_a_setup_error() {
    let err = HttpFetcher::new(
        NetworkGuard::strict(),
        FetchOptions {
            user_agents: vec!["bad\nagent".into()],
            ..options()
        },
    )
    .expect_err("newline in header");
    assert!(
        matches!(err, FetchError::InvalidUserAgent { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn strict_guard_refuses_loopback_without_touching_the_server() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/",
            get(|State(hits): State<Hits>| async move {
                hits.hit();
                "secret"
            }),
        )
        .with_state(hits.clone());
    let addr = serve(app).await;
    let f = HttpFetcher::new(NetworkGuard::strict(), options()).expect("fetcher");
    for target in [
        format!("http://127.0.0.1:{}/", addr.port()),
        format!("http://localhost:{}/", addr.port()),
        format!("http://[::ffff:127.0.0.1]:{}/", addr.port()),
        format!("http://0x7f.1:{}/", addr.port()),
    ] {
        let err = f
            .fetch(&url::Url::parse(&target).expect("url"))
            .await
            .expect_err(&target);
        assert!(matches!(err, FetchError::Blocked(_)), "{target}: {err:?}");
    }
    assert_eq!(hits.get(), 0);
}

/// A name that DNS (here /etc/hosts) maps to loopback passes `check_url`; the guard, acting as
/// reqwest's resolver, must still refuse it at connect time.
#[tokio::test]
async fn resolver_refuses_names_that_resolve_to_blocked_addresses() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/",
            get(|State(hits): State<Hits>| async move {
                hits.hit();
                "secret"
            }),
        )
        .with_state(hits.clone());
    let addr = serve(app).await;
    let Some(name) = loopback_alias().await else {
        eprintln!("no non-localhost name resolves to loopback here; resolver path not exercised");
        return;
    };
    let target = url::Url::parse(&format!("http://{name}:{}/", addr.port())).expect("url");
    let f = HttpFetcher::new(NetworkGuard::strict(), options()).expect("fetcher");
    let err = f.fetch(&target).await.expect_err("resolves to loopback");
    assert!(
        matches!(
            err,
            FetchError::Blocked(GuardError::Blocked {
                reason: BlockReason::Loopback,
                ..
            })
        ),
        "{err:?}"
    );
    assert_eq!(hits.get(), 0);
    // The same name through a guard that opens 127.0.0.1 reaches the server.
    let page = fetcher(options()).fetch(&target).await.expect("allowed");
    assert_eq!(page.body, "secret");
}

/// The machine's host name, when it resolves to 127.0.0.1 only (true in the dev/CI image).
async fn loopback_alias() -> Option<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").ok()?;
    let name = name.trim().to_owned();
    if name.is_empty() || name.eq_ignore_ascii_case("localhost") {
        return None;
    }
    let addrs: Vec<_> = tokio::net::lookup_host((name.as_str(), 0))
        .await
        .ok()?
        .collect();
    let loopback_v4 = |a: &std::net::SocketAddr| a.ip() == std::net::Ipv4Addr::LOCALHOST;
    (!addrs.is_empty() && addrs.iter().all(loopback_v4)).then_some(name)
}

#[tokio::test]
async fn cookies_set_by_one_page_go_back_on_the_next_but_not_to_another_fetcher() {
    let app = Router::new()
        .route(
            "/start",
            get(|| async {
                (
                    [(header::SET_COOKIE, "session=s3cret; Path=/; HttpOnly")],
                    HTML,
                )
            }),
        )
        .route(
            "/next",
            get(|headers: HeaderMap| async move {
                let cookie = headers
                    .get(header::COOKIE)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                if cookie == "session=s3cret" {
                    (StatusCode::OK, HTML).into_response()
                } else {
                    (StatusCode::FORBIDDEN, format!("cookie {cookie:?}")).into_response()
                }
            }),
        )
        .route(
            "/hop",
            get(|| async {
                (
                    StatusCode::FOUND,
                    [
                        (header::SET_COOKIE, "session=s3cret; Path=/"),
                        (header::LOCATION, "/next"),
                    ],
                )
            }),
        );
    let addr = serve(app).await;
    let run = fetcher(options());
    run.fetch(&url(addr, "/start")).await.unwrap();
    assert_eq!(run.fetch(&url(addr, "/next")).await.unwrap().status, 200);
    // Another run (another fetcher) starts without the cookie.
    let other = fetcher(options());
    let err = other.fetch(&url(addr, "/next")).await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    // A cookie set on a redirect applies to the hop it leads to.
    assert_eq!(other.fetch(&url(addr, "/hop")).await.unwrap().status, 200);
}
