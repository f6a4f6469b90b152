//! CORS (innermost layer): origins from settings, none by default (no CORS headers at all, so
//! browsers keep the same-origin policy). `*` allows any origin without credentials;
//! credentials are allowed only with an explicit list.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::middleware::config::HttpSettings;
use crate::middleware::rate_limit::{X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING};
use crate::middleware::request_id::X_REQUEST_ID;

/// The layer, or `None` when no origin is allowed.
pub fn layer(settings: &HttpSettings) -> Option<CorsLayer> {
    if settings.cors_origins.is_empty() {
        return None;
    }
    let any = settings.cors_origins.iter().any(|o| o == "*");
    let origin = if any {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            settings
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok()),
        )
    };
    let layer = CorsLayer::new()
        .allow_origin(origin)
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
            Method::OPTIONS,
        ])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            X_REQUEST_ID.clone(),
            HeaderName::from_static("traceparent"),
        ])
        .expose_headers([
            X_REQUEST_ID.clone(),
            X_RATELIMIT_LIMIT.clone(),
            X_RATELIMIT_REMAINING.clone(),
            header::RETRY_AFTER,
            header::CONTENT_DISPOSITION,
        ])
        .max_age(Duration::from_secs(600))
        .allow_credentials(settings.cors_allow_credentials && !any);
    Some(layer)
}
