//! Scraping metrics, recorded through the `metrics` facade when a run ends (seed §2), and
//! webhook metrics, recorded by the dispatcher after each attempt. The
//! process that installs an exporter (the API server, or `grandma worker` with its own
//! `/metrics`) exposes them; without one they cost nothing.

/// Runs ended, by final status.
pub const SCRAPING_JOBS_TOTAL: &str = "scraping_jobs_total";
/// Items of ended runs.
pub const SCRAPING_ITEMS_TOTAL: &str = "scraping_items_total";
/// Pages of ended runs.
pub const SCRAPING_PAGES_TOTAL: &str = "scraping_pages_total";
/// Durations of ended runs (a histogram).
pub const SCRAPING_JOB_DURATION_SECONDS: &str = "scraping_job_duration_seconds";

/// Records one ended run.
pub fn record_run(status: &str, items: i64, pages: i64, duration_seconds: f64) {
    metrics::counter!(SCRAPING_JOBS_TOTAL, "status" => status.to_owned()).increment(1);
    metrics::counter!(SCRAPING_ITEMS_TOTAL).increment(items.max(0) as u64);
    metrics::counter!(SCRAPING_PAGES_TOTAL).increment(pages.max(0) as u64);
    if duration_seconds.is_finite() && duration_seconds >= 0.0 {
        metrics::histogram!(SCRAPING_JOB_DURATION_SECONDS).record(duration_seconds);
    }
}

/// Webhook delivery attempts, by outcome: `delivered`, `retrying` (failed, another attempt is
/// scheduled) or `failed` (failed for good).
pub const WEBHOOK_DELIVERY_ATTEMPTS_TOTAL: &str = "webhook_delivery_attempts_total";
/// Durations of webhook delivery attempts (a histogram).
pub const WEBHOOK_DELIVERY_DURATION_SECONDS: &str = "webhook_delivery_duration_seconds";

/// Records one webhook attempt.
pub fn record_delivery_attempt(outcome: &'static str, duration_seconds: f64) {
    metrics::counter!(WEBHOOK_DELIVERY_ATTEMPTS_TOTAL, "outcome" => outcome).increment(1);
    if duration_seconds.is_finite() && duration_seconds >= 0.0 {
        metrics::histogram!(WEBHOOK_DELIVERY_DURATION_SECONDS).record(duration_seconds);
    }
}
