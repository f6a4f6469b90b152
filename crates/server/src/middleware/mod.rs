//! The middleware stack, outermost first:
//! RequestID → Prometheus → GZip → RateLimit → CORS → Content-Length.
//!
//! The request ID comes first so that everything after it, a 429 included, carries it; the
//! metrics see every answer, compressed or refused; compression wraps the rate limiter's and
//! the handlers' bodies alike; CORS wraps the routes and the early 413 of a declared body over
//! the limit, so a browser app can read that refusal too.

pub mod content_length;
pub mod cors;
pub mod metrics;
pub mod rate_limit;
pub mod request_id;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderMap, StatusCode, Version, header};
use tower_http::compression::predicate::{Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};

pub use grandma_shared::config::HttpSettings;
pub use rate_limit::RateLimiter;

/// Content types worth compressing: text formats; images and archives are compressed already.
pub const COMPRESSIBLE: &[&str] = &[
    "application/json",
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/xml",
    "image/svg+xml",
];

fn compressible(
    _: StatusCode,
    _: Version,
    headers: &HeaderMap,
    _: &axum::http::Extensions,
) -> bool {
    let Some(content_type) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    COMPRESSIBLE.contains(&essence.as_str())
}

/// The gzip layer: level and threshold from settings, listed content types only. Already
/// encoded responses are never compressed again (tower-http checks `Content-Encoding`).
pub fn gzip_layer(settings: &HttpSettings) -> CompressionLayer<impl Predicate + use<>> {
    CompressionLayer::new()
        .quality(CompressionLevel::Precise(settings.gzip_level as i32))
        .compress_when(
            SizeAbove::new(u64::from(settings.gzip_min_bytes))
                .and(compressible as fn(_, _, &_, &_) -> bool),
        )
}

/// Wraps `router` in the whole stack.
pub fn apply<S: Clone + Send + Sync + 'static>(
    router: Router<S>,
    settings: &HttpSettings,
    limiter: Arc<RateLimiter>,
) -> Router<S> {
    let router = router.layer(axum::middleware::from_fn_with_state(
        settings.max_body_bytes,
        content_length::layer,
    ));
    // One policy for the CORS layer and for the rate limiter's 429s, which it never sees.
    let cors = cors::CorsPolicy::from_settings(settings).map(Arc::new);
    let router = match &cors {
        Some(policy) => router.layer(policy.layer()),
        None => router,
    };
    router
        .layer(axum::middleware::from_fn_with_state(
            rate_limit::LayerState { limiter, cors },
            rate_limit::layer,
        ))
        .layer(gzip_layer(settings))
        .layer(axum::middleware::from_fn(metrics::layer))
        .layer(axum::middleware::from_fn(request_id::layer))
}
