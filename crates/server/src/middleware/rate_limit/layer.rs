//! The middleware: a token from the client IP's bucket for every request but the exempt ones,
//! `X-RateLimit-*` headers on the answer, and a 429 with the CORS headers of the same policy.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::decision::{X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, too_many};
use super::limiter::RateLimiter;
use crate::middleware::cors::CorsPolicy;

/// Paths never limited: the probes (root and `/api/v1`) and the metrics; and the web app's
/// embedded files (`/assets/…`), which cost nothing to serve and which a first page view asks
/// for several of at once.
const EXEMPT: &[&str] = &[
    "/health",
    "/readiness",
    "/liveness",
    "/api/v1/health",
    "/api/v1/readiness",
    "/api/v1/liveness",
    "/metrics",
];

fn exempt(request: &Request) -> bool {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let path = request.uri().path();
    preflight || EXEMPT.contains(&path) || path.starts_with("/assets/")
}

/// What the middleware needs: the limiter, and the CORS policy that its 429s follow.
#[derive(Debug, Clone)]
pub struct LayerState {
    pub limiter: Arc<RateLimiter>,
    /// `None` when CORS is off (no origin allowed).
    pub cors: Option<Arc<CorsPolicy>>,
}

/// The middleware.
pub async fn layer(State(state): State<LayerState>, request: Request, next: Next) -> Response {
    let limiter = &state.limiter;
    if !limiter.enabled() || exempt(&request) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = limiter.client_ip(peer, request.headers());
    let decision = limiter.check_ip(ip).await;
    if !decision.allowed {
        tracing::info!(client_ip = %ip, "rate limited");
        let mut response = too_many(decision, "ip").into_response();
        // Made outside the CORS layer: the same headers it would add, from the same policy.
        if let Some(cors) = &state.cors {
            cors.decorate(request.headers(), response.headers_mut());
        }
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(&X_RATELIMIT_LIMIT) {
        headers.insert(X_RATELIMIT_LIMIT.clone(), HeaderValue::from(decision.limit));
        headers.insert(
            X_RATELIMIT_REMAINING.clone(),
            HeaderValue::from(decision.remaining),
        );
    }
    response
}
