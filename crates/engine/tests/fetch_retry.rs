//! Retries, Retry-After and the circuit breaker, against real servers on 127.0.0.1.

mod fetch_support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use fetch_support::{Hits, fetcher, options, serve, url};
use grandma_engine::fetch::{FetchError, FetchOptions, Fetcher};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Status and headers of each scripted answer.
type Script = Arc<Vec<(StatusCode, Vec<(String, String)>)>>;

/// A server whose n-th request (0-based) gets `script[n]`, the last entry forever after.
async fn scripted(script: Vec<Response>) -> (std::net::SocketAddr, Hits) {
    let hits = Hits::default();
    let script: Script = Arc::new(
        script
            .into_iter()
            .map(|r| {
                let headers = r
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or_default().to_owned()))
                    .collect();
                (r.status(), headers)
            })
            .collect(),
    );
    let state = (hits.clone(), script);
    let app = Router::new()
        .route(
            "/",
            get(|State((hits, script)): State<(Hits, Script)>| async move {
                let n = hits.hit().min(script.len() - 1);
                let (status, headers) = &script[n];
                let mut response = (*status, format!("answer {n}")).into_response();
                for (k, v) in headers {
                    response.headers_mut().insert(
                        header::HeaderName::from_bytes(k.as_bytes()).expect("name"),
                        v.parse().expect("value"),
                    );
                }
                response
            }),
        )
        .with_state(state);
    (serve(app).await, hits)
}

fn status(code: u16) -> Response {
    StatusCode::from_u16(code).expect("status").into_response()
}

#[tokio::test]
async fn too_many_requests_waits_for_retry_after() {
    let limited = ([(header::RETRY_AFTER, "1")], StatusCode::TOO_MANY_REQUESTS).into_response();
    let (addr, hits) = scripted(vec![limited, status(200)]).await;
    let started = Instant::now();
    let page = fetcher(options())
        .fetch(&url(addr, "/"))
        .await
        .expect("second try");
    assert_eq!(page.attempts, 2);
    assert_eq!(page.body, "answer 1");
    assert_eq!(hits.get(), 2);
    // The retry base is 5 ms, so only Retry-After explains a wait of a second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let when = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(2));
    let unavailable = (
        [(header::RETRY_AFTER, when)],
        StatusCode::SERVICE_UNAVAILABLE,
    )
        .into_response();
    let (addr, _) = scripted(vec![unavailable, status(200)]).await;
    let started = Instant::now();
    let page = fetcher(options())
        .fetch(&url(addr, "/"))
        .await
        .expect("second try");
    assert_eq!(page.attempts, 2);
    // HTTP dates have whole-second precision: at least ~1 s of the 2 s remain.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn service_unavailable_twice_then_ok() {
    let (addr, hits) = scripted(vec![status(503), status(503), status(200)]).await;
    let page = fetcher(options())
        .fetch(&url(addr, "/"))
        .await
        .expect("third try");
    assert_eq!(page.attempts, 3);
    assert_eq!(page.body, "answer 2");
    assert_eq!(hits.get(), 3);
}

#[tokio::test]
async fn request_timeout_status_is_retried() {
    let (addr, _) = scripted(vec![status(408), status(200)]).await;
    let page = fetcher(options())
        .fetch(&url(addr, "/"))
        .await
        .expect("second try");
    assert_eq!(page.attempts, 2);
}

#[tokio::test]
async fn server_error_forever_gives_up_after_retry_count_plus_one() {
    let (addr, hits) = scripted(vec![status(500)]).await;
    let f = fetcher(FetchOptions {
        retry_count: 2,
        ..options()
    });
    let err = f.fetch(&url(addr, "/")).await.expect_err("always 500");
    assert_eq!(err.status(), Some(500));
    assert_eq!(hits.get(), 3);
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let (addr, hits) = scripted(vec![status(404), status(200)]).await;
    let err = fetcher(options())
        .fetch(&url(addr, "/"))
        .await
        .expect_err("404");
    assert_eq!(err.status(), Some(404));
    assert!(matches!(err, FetchError::Status { status: 404, .. }));
    assert_eq!(hits.get(), 1);
}

#[tokio::test]
async fn slow_first_answer_times_out_then_retry_succeeds() {
    let hits = Hits::default();
    let app = Router::new()
        .route(
            "/",
            get(|State(hits): State<Hits>| async move {
                if hits.hit() == 0 {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                }
                "fast now"
            }),
        )
        .with_state(hits.clone());
    let addr = serve(app).await;
    let f = fetcher(FetchOptions {
        timeout: Duration::from_millis(300),
        ..options()
    });
    let page = f.fetch(&url(addr, "/")).await.expect("retry");
    assert_eq!(page.attempts, 2);
    assert_eq!(page.body, "fast now");
}

/// The first connection is closed without an answer (a network error), the second answered.
#[tokio::test]
async fn dropped_connection_is_retried() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let (first, _) = listener.accept().await.expect("accept");
        drop(first);
        loop {
            let (mut conn, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0; 4096];
            let _ = conn.read(&mut buf).await;
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                .await;
        }
    });
    let page = fetcher(options())
        .fetch(&url(addr, "/"))
        .await
        .expect("retried");
    assert_eq!(page.attempts, 2);
    assert_eq!(page.body, "ok");
}

#[tokio::test]
async fn circuit_breaker_opens_then_half_opens() {
    let hits = Hits::default();
    let healthy = Arc::new(AtomicBool::new(false));
    let app = Router::new()
        .route(
            "/",
            get(
                |State((hits, healthy)): State<(Hits, Arc<AtomicBool>)>| async move {
                    hits.hit();
                    if healthy.load(Ordering::SeqCst) {
                        (StatusCode::OK, "up")
                    } else {
                        (StatusCode::BAD_GATEWAY, "down")
                    }
                },
            ),
        )
        .with_state((hits.clone(), Arc::clone(&healthy)));
    let addr = serve(app).await;
    let f = fetcher(FetchOptions {
        retry_count: 1,
        ..options()
    })
    .with_circuit_breaker(3, Duration::from_millis(400));
    let target = url(addr, "/");

    for _ in 0..3 {
        let err = f.fetch(&target).await.expect_err("502");
        assert_eq!(err.status(), Some(502));
    }
    assert_eq!(hits.get(), 6, "3 fetches of 2 attempts each");

    // Open: fails fast, the server sees nothing.
    let started = Instant::now();
    let err = f.fetch(&target).await.expect_err("open");
    assert!(
        matches!(&err, FetchError::CircuitOpen { host } if host == "127.0.0.1"),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_millis(50));
    assert_eq!(hits.get(), 6);

    // Half-open after the cool-down: one trial, a single attempt; it fails and reopens.
    tokio::time::sleep(Duration::from_millis(450)).await;
    let err = f.fetch(&target).await.expect_err("trial fails");
    assert_eq!(err.status(), Some(502));
    assert_eq!(hits.get(), 7, "the trial is one attempt, not retried");
    assert!(matches!(
        f.fetch(&target).await,
        Err(FetchError::CircuitOpen { .. })
    ));

    // Next trial succeeds and closes the circuit.
    healthy.store(true, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(f.fetch(&target).await.expect("trial").body, "up");
    assert_eq!(f.fetch(&target).await.expect("closed").body, "up");
    assert_eq!(hits.get(), 9);
}

#[tokio::test]
async fn not_found_does_not_trip_the_breaker() {
    let (addr, hits) = scripted(vec![status(404)]).await;
    let f = fetcher(options()).with_circuit_breaker(2, Duration::from_secs(60));
    for _ in 0..5 {
        let err = f.fetch(&url(addr, "/")).await.expect_err("404");
        assert_eq!(err.status(), Some(404));
    }
    assert_eq!(hits.get(), 5);
}
