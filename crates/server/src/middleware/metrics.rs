//! HTTP metrics (second layer): requests, latency and requests in progress, labelled by method
//! and the route template (`MatchedPath`), so label cardinality stays bounded. Requests that
//! match no route are labelled `unmatched`.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;

use grandma_shared::metrics::{
    HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_IN_PROGRESS, HTTP_REQUESTS_TOTAL,
};

/// The `method` label: the standard methods, anything else `OTHER`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "OTHER",
    }
}

/// Decrements the in-progress gauge even when the request future is dropped.
struct InProgress(metrics::Gauge);

impl Drop for InProgress {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// The middleware.
pub async fn layer(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let endpoint = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let labels = [("method", method.to_owned()), ("endpoint", endpoint)];
    let gauge = metrics::gauge!(HTTP_REQUESTS_IN_PROGRESS, &labels);
    gauge.increment(1.0);
    let guard = InProgress(gauge);
    let started = Instant::now();
    let response = next.run(request).await;
    drop(guard);
    metrics::histogram!(HTTP_REQUEST_DURATION_SECONDS, &labels).record(started.elapsed());
    let [method, endpoint] = labels;
    metrics::counter!(
        HTTP_REQUESTS_TOTAL,
        &[
            method,
            endpoint,
            ("status_code", response.status().as_u16().to_string()),
        ]
    )
    .increment(1);
    response
}
