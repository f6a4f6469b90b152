//! The Prometheus exporter: one process-wide recorder, the metric names, and the `/metrics`
//! endpoint (seed §2).
//!
//! HTTP metrics are recorded by [`crate::middleware::metrics`]; scraping metrics by the workers
//! (through the `metrics` facade) when a run ends; the queue gauges are read from the store at
//! scrape time. A `grandma worker` process serves its own `/metrics` with [`serve_standalone`].

use std::sync::OnceLock;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::state::AppState;

pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
pub const HTTP_REQUESTS_IN_PROGRESS: &str = "http_requests_in_progress";
pub const RATE_LIMIT_REJECTIONS_TOTAL: &str = "http_rate_limit_rejections_total";
pub const RATE_LIMIT_BACKEND_ERRORS_TOTAL: &str = "http_rate_limit_backend_errors_total";
pub const SCRAPING_JOBS_TOTAL: &str = "scraping_jobs_total";
pub const SCRAPING_ITEMS_TOTAL: &str = "scraping_items_total";
pub const SCRAPING_PAGES_TOTAL: &str = "scraping_pages_total";
pub const SCRAPING_JOB_DURATION_SECONDS: &str = "scraping_job_duration_seconds";
pub const SCRAPING_QUEUE_DEPTH: &str = "scraping_queue_depth";
pub const SCRAPING_RUNS_IN_FLIGHT: &str = "scraping_runs_in_flight";
pub use grandma_engine::fetch::metrics::{SCRAPING_FETCH_DURATION_SECONDS, SCRAPING_FETCHES_TOTAL};
pub use grandma_worker::metrics::{
    WEBHOOK_DELIVERY_ATTEMPTS_TOTAL, WEBHOOK_DELIVERY_DURATION_SECONDS,
};

/// Request latency buckets (seconds).
const HTTP_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Run duration buckets (seconds): a second to an hour.
const JOB_BUCKETS: &[f64] = &[
    1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0,
];

/// Page fetch and webhook attempt buckets (seconds): up to the 30 s default fetch timeout.
const FETCH_BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's exporter handle; the first call installs the global recorder. If another
/// recorder was installed first, a detached one is returned (its output stays empty) and a
/// warning logged.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full(HTTP_REQUEST_DURATION_SECONDS.into()),
                HTTP_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(SCRAPING_JOB_DURATION_SECONDS.into()),
                    JOB_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(SCRAPING_FETCH_DURATION_SECONDS.into()),
                    FETCH_BUCKETS,
                )
            })
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full(WEBHOOK_DELIVERY_DURATION_SECONDS.into()),
                    FETCH_BUCKETS,
                )
            })
            .expect("bucket lists are not empty");
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        describe();
        handle
    })
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(HTTP_REQUESTS_TOTAL, "HTTP requests answered");
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time to answer an HTTP request"
    );
    describe_gauge!(HTTP_REQUESTS_IN_PROGRESS, "HTTP requests being answered");
    describe_counter!(
        RATE_LIMIT_REJECTIONS_TOTAL,
        "Requests refused with 429, by bucket kind"
    );
    describe_counter!(
        RATE_LIMIT_BACKEND_ERRORS_TOTAL,
        "Rate-limit checks that Redis failed or was too slow to answer (the local buckets answered), by bucket kind"
    );
    describe_counter!(SCRAPING_JOBS_TOTAL, "Scraping runs ended, by final status");
    describe_counter!(SCRAPING_ITEMS_TOTAL, "Items scraped by ended runs");
    describe_counter!(SCRAPING_PAGES_TOTAL, "Pages scraped by ended runs");
    describe_histogram!(
        SCRAPING_JOB_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of ended scraping runs"
    );
    describe_gauge!(SCRAPING_QUEUE_DEPTH, "Runs waiting to be claimed");
    describe_gauge!(SCRAPING_RUNS_IN_FLIGHT, "Runs being executed");
    describe_counter!(
        SCRAPING_FETCHES_TOTAL,
        "Page fetch attempts (and refusals before sending), by outcome"
    );
    describe_histogram!(
        SCRAPING_FETCH_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of page fetch attempts, by outcome"
    );
    describe_counter!(
        WEBHOOK_DELIVERY_ATTEMPTS_TOTAL,
        "Webhook delivery attempts, by outcome (delivered, retrying, failed)"
    );
    describe_histogram!(
        WEBHOOK_DELIVERY_DURATION_SECONDS,
        Unit::Seconds,
        "Duration of webhook delivery attempts"
    );
}

/// Whether the request may read the metrics: always without a token, else with
/// `Authorization: Bearer <token>` (compared in constant time).
pub fn authorized(token: Option<&str>, headers: &HeaderMap) -> bool {
    let Some(token) = token else { return true };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, rest)| rest.trim())
        .unwrap_or("");
    let (a, b) = (given.as_bytes(), token.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The text exposition, with the content type Prometheus expects.
pub fn render() -> Response {
    let handle = handle();
    handle.run_upkeep();
    let mut response = handle.render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

fn unauthorized() -> Response {
    let mut response =
        crate::error::ApiError::Unauthorized("a metrics token is required").into_response();
    *response.status_mut() = StatusCode::UNAUTHORIZED;
    response
}

/// Reads the queue gauges from the store.
async fn update_queue_gauges(store: &grandma_store::Store) {
    match store.queue_depth().await {
        Ok(n) => metrics::gauge!(SCRAPING_QUEUE_DEPTH).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "cannot read the queue depth"),
    }
    match store.running_count().await {
        Ok(n) => metrics::gauge!(SCRAPING_RUNS_IN_FLIGHT).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "cannot count running runs"),
    }
}

/// `GET /metrics` of the API.
pub async fn serve_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = state
        .settings
        .http
        .metrics_token
        .as_ref()
        .map(|t| t.expose());
    if !authorized(token, &headers) {
        return unauthorized();
    }
    update_queue_gauges(&state.store).await;
    render()
}

/// The `/metrics` route of the API (merged by [`crate::router`]).
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(serve_metrics))
}

/// Serves `/metrics` alone on `listener` until `shutdown` resolves: for `grandma worker`
/// processes, whose scraping metrics live in their own memory.
pub async fn serve_standalone(
    listener: tokio::net::TcpListener,
    store: grandma_store::Store,
    token: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    handle();
    let app = Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let store = store.clone();
            let token = token.clone();
            async move {
                if !authorized(token.as_deref(), &headers) {
                    return unauthorized();
                }
                update_queue_gauges(&store).await;
                render()
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_check() {
        let mut h = HeaderMap::new();
        assert!(authorized(None, &h));
        assert!(!authorized(Some("s3cret"), &h));
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Bearer s3cret"),
        );
        assert!(authorized(Some("s3cret"), &h));
        assert!(!authorized(Some("s3cre"), &h));
    }
}
