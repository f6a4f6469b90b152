//! The outcome of one bucket check and the 429 answer it may become.

use axum::http::HeaderName;

use crate::error::ApiError;
use grandma_shared::metrics::RATE_LIMIT_REJECTIONS_TOTAL;

pub static X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub static X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// The outcome of one check, for the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests per minute of the bucket.
    pub limit: u32,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Seconds until a token is available (when refused).
    pub retry_after_secs: u64,
}

/// The 429 answer (also used by the auth extractor for user quotas).
pub fn too_many(decision: Decision, scope: &'static str) -> ApiError {
    metrics::counter!(RATE_LIMIT_REJECTIONS_TOTAL, "scope" => scope).increment(1);
    ApiError::TooManyRequests {
        limit: decision.limit,
        retry_after_secs: decision.retry_after_secs,
    }
}
