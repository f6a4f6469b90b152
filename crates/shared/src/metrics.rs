//! Every metric's name, its histogram buckets, and the process's one Prometheus recorder.
//!
//! HTTP metrics are recorded by the API's middleware; scraping metrics by the workers when a
//! run ends; webhook metrics by the dispatcher after each attempt; fetch metrics by the
//! engine. A process exposes what it recorded once [`install`] has been called (the API's
//! `/metrics`, or a worker process's own endpoint); before that, recording costs nothing.

use std::sync::OnceLock;

use grandma_store::{RunStatus, Store, Verdict};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub use grandma_engine::fetch::metrics::{SCRAPING_FETCH_DURATION_SECONDS, SCRAPING_FETCHES_TOTAL};

pub const HTTP_REQUESTS_TOTAL: &str = "http_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_request_duration_seconds";
pub const HTTP_REQUESTS_IN_PROGRESS: &str = "http_requests_in_progress";
pub const RATE_LIMIT_REJECTIONS_TOTAL: &str = "http_rate_limit_rejections_total";
pub const RATE_LIMIT_BACKEND_ERRORS_TOTAL: &str = "http_rate_limit_backend_errors_total";
/// Runs ended, by final status.
pub const SCRAPING_JOBS_TOTAL: &str = "scraping_jobs_total";
/// Items of ended runs.
pub const SCRAPING_ITEMS_TOTAL: &str = "scraping_items_total";
/// Pages of ended runs.
pub const SCRAPING_PAGES_TOTAL: &str = "scraping_pages_total";
/// Durations of ended runs (a histogram).
pub const SCRAPING_JOB_DURATION_SECONDS: &str = "scraping_job_duration_seconds";
pub const SCRAPING_QUEUE_DEPTH: &str = "scraping_queue_depth";
pub const SCRAPING_RUNS_IN_FLIGHT: &str = "scraping_runs_in_flight";
/// Webhook delivery attempts, by outcome: `delivered`, `retrying` (failed, another attempt is
/// scheduled) or `failed` (failed for good).
pub const WEBHOOK_DELIVERY_ATTEMPTS_TOTAL: &str = "webhook_delivery_attempts_total";
/// Durations of webhook delivery attempts (a histogram).
pub const WEBHOOK_DELIVERY_DURATION_SECONDS: &str = "webhook_delivery_duration_seconds";

/// When the last scheduled backup was completed (Unix seconds); absent until one is.
pub const BACKUP_LAST_SUCCESS_TIMESTAMP_SECONDS: &str = "backup_last_success_timestamp_seconds";
/// Scheduled backups that failed.
pub const BACKUP_FAILURES_TOTAL: &str = "backup_failures_total";

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

/// Records one ended run.
pub fn record_run(status: RunStatus, items: i64, pages: i64, duration_seconds: f64) {
    metrics::counter!(SCRAPING_JOBS_TOTAL, "status" => status.as_str()).increment(1);
    metrics::counter!(SCRAPING_ITEMS_TOTAL).increment(items.max(0) as u64);
    metrics::counter!(SCRAPING_PAGES_TOTAL).increment(pages.max(0) as u64);
    if duration_seconds.is_finite() && duration_seconds >= 0.0 {
        metrics::histogram!(SCRAPING_JOB_DURATION_SECONDS).record(duration_seconds);
    }
}

/// The `outcome` label of a webhook attempt with this verdict.
pub fn attempt_outcome(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Delivered => "delivered",
        Verdict::RetryAt(_) => "retrying",
        Verdict::GiveUp => "failed",
    }
}

/// Records one webhook attempt.
pub fn record_delivery_attempt(verdict: &Verdict, duration_seconds: f64) {
    metrics::counter!(WEBHOOK_DELIVERY_ATTEMPTS_TOTAL, "outcome" => attempt_outcome(verdict))
        .increment(1);
    if duration_seconds.is_finite() && duration_seconds >= 0.0 {
        metrics::histogram!(WEBHOOK_DELIVERY_DURATION_SECONDS).record(duration_seconds);
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process's Prometheus recorder (once; later calls return the same handle). If
/// another recorder was installed first, the returned handle renders nothing and a warning is
/// logged. Called at start-up by the processes that serve `/metrics`.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let buckets = [
            (HTTP_REQUEST_DURATION_SECONDS, HTTP_BUCKETS),
            (SCRAPING_JOB_DURATION_SECONDS, JOB_BUCKETS),
            (SCRAPING_FETCH_DURATION_SECONDS, FETCH_BUCKETS),
            (WEBHOOK_DELIVERY_DURATION_SECONDS, FETCH_BUCKETS),
        ];
        let builder = buckets
            .into_iter()
            .try_fold(PrometheusBuilder::new(), |b, (name, list)| {
                b.set_buckets_for_metric(Matcher::Full(name.into()), list)
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

/// The text exposition of everything recorded so far (empty before [`install`]).
pub fn render() -> String {
    match HANDLE.get() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}

/// Reads the queue gauges from the store (at scrape time: they are the database's numbers).
pub async fn update_queue_gauges(store: &Store) {
    match store.queue_depth().await {
        Ok(n) => metrics::gauge!(SCRAPING_QUEUE_DEPTH).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "cannot read the queue depth"),
    }
    match store.running_count().await {
        Ok(n) => metrics::gauge!(SCRAPING_RUNS_IN_FLIGHT).set(n as f64),
        Err(e) => tracing::warn!(error = %e, "cannot count running runs"),
    }
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
    describe_gauge!(
        BACKUP_LAST_SUCCESS_TIMESTAMP_SECONDS,
        Unit::Seconds,
        "When the last scheduled backup was completed (Unix time)"
    );
    describe_counter!(BACKUP_FAILURES_TOTAL, "Scheduled backups that failed");
}

/// Records a completed backup (`at`: Unix seconds).
pub fn record_backup_success(at: f64) {
    metrics::gauge!(BACKUP_LAST_SUCCESS_TIMESTAMP_SECONDS).set(at);
}

/// Records a failed backup.
pub fn record_backup_failure() {
    metrics::counter!(BACKUP_FAILURES_TOTAL).increment(1);
}
