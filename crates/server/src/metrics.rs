//! `GET /metrics`: the process's Prometheus recorder (`grandma_shared::metrics`) as text, with
//! the queue gauges read from the store at scrape time. A worker process without the API
//! serves the same endpoint alone ([`standalone_router`]).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use grandma_shared::metrics::{render, update_queue_gauges};
use grandma_store::Store;

use crate::error::ApiError;
use crate::state::AppState;

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

/// The answer to one scrape: 401 without the token, else the exposition.
async fn scrape(store: &Store, token: Option<&str>, headers: &HeaderMap) -> Response {
    if !authorized(token, headers) {
        return ApiError::Unauthorized("a metrics token is required").into_response();
    }
    update_queue_gauges(store).await;
    let mut response = render().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Prometheus metrics of this process, in the text exposition format. With
/// `GRANDMA_METRICS_TOKEN` set, `Authorization: Bearer <that token>` is required.
#[utoipa::path(get, path = "/metrics", tag = "Monitoring",
    responses(
        (status = 200, description = "The metrics", content_type = "text/plain", body = String),
        (status = 401, description = "A metrics token is configured and was not given", body = crate::error::ErrorOut),
    ))]
pub async fn serve_metrics(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let token = state
        .settings
        .http
        .metrics_token
        .as_ref()
        .map(|t| t.expose());
    scrape(&state.store, token, &headers).await
}

/// The `/metrics` route of the API (merged by [`crate::router`]).
pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(serve_metrics))
}

/// `/metrics` alone: for worker processes, whose scraping metrics live in their own memory.
pub fn standalone_router(store: Store, token: Option<String>) -> Router {
    Router::new().route(
        "/metrics",
        get(move |headers: HeaderMap| {
            let store = store.clone();
            let token = token.clone();
            async move { scrape(&store, token.as_deref(), &headers).await }
        }),
    )
}

/// Serves [`standalone_router`] on `listener` until `shutdown` resolves.
pub async fn serve_standalone(
    listener: tokio::net::TcpListener,
    store: Store,
    token: Option<String>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    grandma_shared::metrics::install();
    axum::serve(listener, standalone_router(store, token))
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
