//! Which failures are worth another attempt, and how long to wait before it.
//!
//! Network errors, 408, 429 and 5xx are retried with exponential backoff and jitter;
//! `Retry-After` is honoured. Everything else (other 4xx, a blocked address, an oversized page)
//! would fail the same way again, so it is not retried.

use std::time::{Duration, SystemTime};

use rand::Rng;

use super::FetchError;
use crate::guard::GuardError;

/// Exponential backoff with full jitter: the wait before retry `n` is uniform in
/// `[0, min(cap, base * 2^(n-1))]`. Full jitter spreads the retries of concurrent tasks that
/// failed together; a server's `Retry-After` then acts as a floor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
    /// The longest `Retry-After` we are willing to sleep for; longer asks are clamped to it so
    /// one server cannot stall a run for hours.
    pub retry_after_cap: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base: Duration::from_millis(500),
            cap: Duration::from_secs(30),
            retry_after_cap: Duration::from_secs(60),
        }
    }
}

impl Backoff {
    /// The wait after the `failed_attempts`-th failure (1 for the first).
    pub fn delay(&self, failed_attempts: u32, retry_after: Option<Duration>) -> Duration {
        let ceiling = self.ceiling(failed_attempts);
        let jittered = if ceiling.is_zero() {
            Duration::ZERO
        } else {
            rand::rng().random_range(Duration::ZERO..=ceiling)
        };
        match retry_after {
            Some(floor) => jittered.max(floor.min(self.retry_after_cap)),
            None => jittered,
        }
    }

    /// `min(cap, base * 2^(n-1))` without overflowing for large `n`.
    pub fn ceiling(&self, failed_attempts: u32) -> Duration {
        let exponent = failed_attempts.saturating_sub(1).min(31);
        self.base
            .checked_mul(1u32 << exponent)
            .unwrap_or(self.cap)
            .min(self.cap)
    }
}

/// Whether another attempt could succeed where this one failed.
pub fn is_retryable(err: &FetchError) -> bool {
    match err {
        FetchError::Timeout { .. } => true,
        // A corrupt compressed body or a malformed request fails the same way every time.
        FetchError::Network { source, .. } => !(source.is_decode() || source.is_builder()),
        FetchError::Status { status, .. } => is_retryable_status(*status),
        // A failed lookup may be a passing resolver hiccup; a refused address never changes.
        FetchError::Blocked(GuardError::Dns { .. }) => true,
        FetchError::Browser(e) => e.is_retryable(),
        _ => false,
    }
}

pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500..=599)
}

/// Reads `Retry-After` as delay-seconds or an HTTP date (RFC 9110 §10.2.3). A date in the past
/// means "now". Unparseable values are ignored rather than failing the fetch.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_and_caps() {
        let b = Backoff::default();
        assert_eq!(b.ceiling(1), Duration::from_millis(500));
        assert_eq!(b.ceiling(2), Duration::from_secs(1));
        assert_eq!(b.ceiling(4), Duration::from_secs(4));
        assert_eq!(b.ceiling(10), Duration::from_secs(30));
        assert_eq!(b.ceiling(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn delay_stays_under_ceiling_and_respects_floor() {
        let b = Backoff::default();
        for n in 1..8 {
            assert!(b.delay(n, None) <= b.ceiling(n));
        }
        assert!(b.delay(1, Some(Duration::from_secs(5))) >= Duration::from_secs(5));
        // Clamped: a server asking for an hour gets the cap.
        assert_eq!(
            b.delay(1, Some(Duration::from_secs(3600))),
            Duration::from_secs(60)
        );
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(42));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(42))
        );
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(42));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
    }

    #[test]
    fn retryable_statuses() {
        for s in [408, 429, 500, 502, 503, 504, 599] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 301, 400, 401, 403, 404, 410, 451] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }
}
