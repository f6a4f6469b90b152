//! A request that declares a body larger than the limit is refused with 413 before any of it
//! is read: waiting for gigabytes the server would refuse anyway only ties up a connection.
//! Bodies without a declared length (chunked) are cut off at the limit as they are read.

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// The middleware; its state is the body limit in bytes.
pub async fn layer(State(max_body): State<usize>, request: Request, next: Next) -> Response {
    let declared = request
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(length) if length > max_body as u64 => {
            tracing::info!(length, max_body, "declared body over the limit");
            let mut response = ApiError::PayloadTooLarge.into_response();
            // The unread body stays on the connection: it cannot carry another request.
            response
                .headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            response
        }
        _ => next.run(request).await,
    }
}
