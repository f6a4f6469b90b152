//! Fetch metrics, recorded through the `metrics` facade: one count and one duration per HTTP
//! attempt, labelled by outcome, plus a count of fetches refused before anything was sent.
//! The process that installed an exporter (the API server, or `grandma worker` with its own
//! `/metrics`) exposes them; the CLI installs none, so there they cost a no-op call.

use std::time::Duration;

use super::FetchError;

/// Fetch attempts (and refusals before sending), by outcome.
pub const SCRAPING_FETCHES_TOTAL: &str = "scraping_fetches_total";
/// Duration of each HTTP attempt, redirects and body included, by outcome.
pub const SCRAPING_FETCH_DURATION_SECONDS: &str = "scraping_fetch_duration_seconds";

/// A bounded set of label values: a status class rather than the code, an error kind rather
/// than its message.
pub(crate) fn outcome(result: &Result<u16, &FetchError>) -> &'static str {
    match result {
        Ok(status) => status_class(*status),
        Err(FetchError::Status { status, .. }) => status_class(*status),
        Err(FetchError::Timeout { .. }) => "timeout",
        Err(FetchError::Network { .. }) => "network_error",
        Err(FetchError::Blocked(_)) => "blocked",
        Err(FetchError::TooLarge { .. }) => "too_large",
        Err(FetchError::CircuitOpen { .. }) => "circuit_open",
        Err(FetchError::TooManyRedirects | FetchError::BadRedirect { .. }) => "bad_redirect",
        Err(FetchError::Browser(_)) => "browser_error",
        Err(_) => "error",
    }
}

fn status_class(status: u16) -> &'static str {
    match status {
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        500..=599 => "5xx",
        _ => "other_status",
    }
}

/// One HTTP attempt that was sent.
pub fn record_attempt(outcome: &'static str, took: Duration) {
    metrics::counter!(SCRAPING_FETCHES_TOTAL, "outcome" => outcome).increment(1);
    metrics::histogram!(SCRAPING_FETCH_DURATION_SECONDS, "outcome" => outcome)
        .record(took.as_secs_f64());
}

/// A fetch refused before sending (guard, open circuit): counted, no duration.
pub fn record_refusal(outcome: &'static str) {
    metrics::counter!(SCRAPING_FETCHES_TOTAL, "outcome" => outcome).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::guard::GuardError;

    #[test]
    fn outcomes_are_classes_not_codes() {
        assert_eq!(outcome(&Ok(200)), "2xx");
        assert_eq!(outcome(&Ok(204)), "2xx");
        let not_found = FetchError::Status {
            status: 404,
            retry_after: None,
            url: "http://a.test/".parse().unwrap(),
        };
        assert_eq!(outcome(&Err(&not_found)), "4xx");
        let unavailable = FetchError::Status {
            status: 503,
            retry_after: None,
            url: "http://a.test/".parse().unwrap(),
        };
        assert_eq!(outcome(&Err(&unavailable)), "5xx");
        let blocked = FetchError::Blocked(GuardError::NoHost {
            url: "data:,".to_owned(),
        });
        assert_eq!(outcome(&Err(&blocked)), "blocked");
        assert_eq!(outcome(&Err(&FetchError::TooManyRedirects)), "bad_redirect");
        assert_eq!(outcome(&Err(&FetchError::Cancelled)), "error");
    }
}
