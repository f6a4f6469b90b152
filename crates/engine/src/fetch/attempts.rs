//! One fetch's life, whatever does the fetching (plain HTTP or the browser): the guard, the
//! circuit breaker, then attempts with backoff between them, each in the `fetch` span a trace
//! shows per page, each counted in the fetch metrics.

use std::future::Future;
use std::time::{Duration, Instant};

use tracing::Instrument;
use tracing::field::Empty;
use url::Url;

use super::breaker::CircuitBreaker;
use super::metrics;
use super::retry::{self, Backoff};
use super::{FetchError, Page};
use crate::guard::{GuardError, NetworkGuard};

/// What an attempt gives: a page, or a page with what produced it (a live tab).
pub(crate) trait Fetched {
    fn status(&self) -> u16;
    /// Records how many attempts it took.
    fn set_attempts(&mut self, attempts: u32);
}

impl Fetched for Page {
    fn status(&self) -> u16 {
        self.status
    }
    fn set_attempts(&mut self, attempts: u32) {
        self.attempts = attempts;
    }
}

/// The rules a fetch follows; borrowed from the fetcher.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempts<'a> {
    pub guard: &'a NetworkGuard,
    pub breaker: &'a CircuitBreaker,
    pub backoff: &'a Backoff,
    /// Retries after the first attempt.
    pub retry_count: u32,
    /// The longest one attempt may take.
    pub timeout: Duration,
}

impl Attempts<'_> {
    /// Fetches `url` with `attempt`, retrying what [`retry::is_retryable`] allows.
    pub(crate) async fn run<T, F, Fut>(self, url: &Url, attempt: F) -> Result<T, FetchError>
    where
        T: Fetched,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FetchError>>,
    {
        let span = tracing::info_span!("fetch", url = %url, status = Empty, attempts = Empty);
        let result = self.run_inner(url, attempt).instrument(span.clone()).await;
        match &result {
            Ok(page) => {
                span.record("status", page.status());
            }
            Err(FetchError::Status { status, .. }) => {
                span.record("status", status);
            }
            Err(_) => {}
        }
        result
    }

    async fn run_inner<T, F, Fut>(self, url: &Url, mut attempt: F) -> Result<T, FetchError>
    where
        T: Fetched,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, FetchError>>,
    {
        let admitted = self
            .guard
            .check_url(url)
            .map_err(FetchError::from)
            .and_then(|()| {
                let host = url.host_str().ok_or_else(|| GuardError::NoHost {
                    url: url.to_string(),
                })?;
                self.breaker.admit(host)
            });
        let permit = match admitted {
            Ok(permit) => permit,
            Err(err) => {
                metrics::record_refusal(metrics::outcome(&Err(&err)));
                return Err(err);
            }
        };
        // A half-open circuit gets one probe, not a burst of retries.
        let max_attempts = if permit.is_trial() {
            1
        } else {
            self.retry_count.saturating_add(1)
        };

        let mut made = 0;
        let result = loop {
            made += 1;
            let started = Instant::now();
            let outcome = tokio::time::timeout(self.timeout, attempt())
                .await
                .unwrap_or_else(|_| {
                    Err(FetchError::Timeout {
                        url: url.clone(),
                        after: self.timeout,
                    })
                });
            metrics::record_attempt(
                metrics::outcome(&outcome.as_ref().map(Fetched::status)),
                started.elapsed(),
            );
            match outcome {
                Ok(mut page) => {
                    page.set_attempts(made);
                    tracing::Span::current().record("attempts", made);
                    break Ok(page);
                }
                Err(err) if made < max_attempts && retry::is_retryable(&err) => {
                    let retry_after = match &err {
                        FetchError::Status { retry_after, .. } => *retry_after,
                        _ => None,
                    };
                    let delay = self.backoff.delay(made, retry_after);
                    tracing::warn!(
                        url = %url,
                        attempt = made,
                        max_attempts,
                        delay_ms = delay.as_millis() as u64,
                        error = %err,
                        "fetch failed, retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
                Err(err) => break Err(err),
            }
        };

        match &result {
            Ok(_) => permit.succeeded(),
            Err(err) if retry::is_retryable(err) => permit.failed(),
            // The host answered (a 404, a page too large, a redirect loop): it is alive.
            Err(
                FetchError::Status { .. }
                | FetchError::TooLarge { .. }
                | FetchError::TooManyRedirects
                | FetchError::BadRedirect { .. },
            ) => permit.succeeded(),
            // Refused before sending, or not about the host: no verdict.
            Err(_) => drop(permit),
        }
        result
    }
}
