//! Request IDs and the request span (outermost layer).
//!
//! A client's `X-Request-ID` is kept when it is 1–128 printable ASCII characters, otherwise a
//! UUID is generated. The ID is echoed on every response, is a field of the `request` span that
//! every log line of the request belongs to, and is in every JSON error body (through
//! [`current`], which reads a task-local set for the duration of the request). A W3C
//! `traceparent` is continued: its trace id becomes the span's `trace_id`. With the `otel`
//! feature it is also the OpenTelemetry parent of the span (with its `tracestate`), so the
//! exported span is in the caller's trace, and without one the logged `trace_id` is the trace
//! id of the exported span.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;

/// `X-Request-ID`.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const TRACEPARENT: &str = "traceparent";
#[cfg(feature = "otel")]
const TRACESTATE: &str = "tracestate";
/// Longest client-supplied ID kept.
pub const MAX_LEN: usize = 128;

/// The request's ID, also available to handlers as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub Arc<str>);

/// What the task-local holds for one request.
#[derive(Debug)]
struct Context {
    id: Arc<str>,
    span: tracing::Span,
}

tokio::task_local! {
    static CONTEXT: Arc<Context>;
}

/// The ID of the request being served, if any.
pub fn current() -> Option<String> {
    CONTEXT.try_with(|c| c.id.to_string()).ok()
}

/// Records the authenticated user on the request span (called by the auth extractor).
pub fn record_user(user_id: uuid::Uuid) {
    let _ = CONTEXT.try_with(|c| {
        c.span.record("user_id", tracing::field::display(user_id));
    });
}

/// Whether a client's ID is acceptable: 1–128 printable ASCII characters.
pub fn is_valid(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_LEN && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The trace id of a valid `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`), never all zeros.
pub fn trace_id_of(traceparent: &str) -> Option<&str> {
    traceparent_parts(traceparent).map(|(trace, _, _)| trace)
}

/// The trace id, parent span id and flags of a valid `traceparent`.
fn traceparent_parts(traceparent: &str) -> Option<(&str, &str, &str)> {
    let mut parts = traceparent.trim().split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let parent = parts.next()?;
    let flags = parts.next()?;
    let hex = |s: &str, n: usize| {
        s.len() == n
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let ok = hex(version, 2)
        && version != "ff"
        && hex(trace, 32)
        && trace.bytes().any(|b| b != b'0')
        && hex(parent, 16)
        && parent.bytes().any(|b| b != b'0')
        && hex(flags, 2)
        && (version != "00" || parts.next().is_none());
    ok.then_some((trace, parent, flags))
}

/// The middleware.
pub async fn layer(mut request: Request, next: Next) -> Response {
    let id: Arc<str> = request
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_valid(v))
        .map(Arc::from)
        .unwrap_or_else(|| Arc::from(uuid::Uuid::now_v7().to_string()));
    let traceparent = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok());
    let trace_id = traceparent.and_then(trace_id_of).map(str::to_owned);
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    macro_rules! request_span {
        ($trace_id:expr) => {
            tracing::info_span!(
                "request",
                request_id = %id,
                trace_id = $trace_id,
                method = %method,
                path = %path,
                user_id = Empty,
                status = Empty,
                duration_ms = Empty,
            )
        };
    }
    #[cfg(not(feature = "otel"))]
    let span = {
        let trace_id = trace_id.unwrap_or_else(|| grandma_shared::random::random_hex(16));
        request_span!(tracing::field::display(trace_id))
    };
    // The span continues the caller's trace, and the logged `trace_id` is the exported one.
    #[cfg(feature = "otel")]
    let span = {
        let span = request_span!(Empty);
        let tracestate = request
            .headers()
            .get(TRACESTATE)
            .and_then(|v| v.to_str().ok());
        let trace_id = otel::continue_trace(&span, traceparent, tracestate)
            .or(trace_id)
            .unwrap_or_else(|| grandma_shared::random::random_hex(16));
        span.record("trace_id", tracing::field::display(trace_id));
        span
    };
    request.extensions_mut().insert(RequestId(Arc::clone(&id)));
    let context = Arc::new(Context {
        id: Arc::clone(&id),
        span: span.clone(),
    });
    let started = Instant::now();
    let mut response = CONTEXT
        .scope(context, next.run(request).instrument(span.clone()))
        .await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64() * 1000.0;
    span.record("status", status);
    span.record("duration_ms", (elapsed * 1000.0).round() / 1000.0);
    span.in_scope(|| {
        if status >= 500 {
            tracing::error!(target: "grandma_server::http", "request failed");
        } else {
            tracing::info!(target: "grandma_server::http", "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(X_REQUEST_ID.clone(), value);
    }
    response
}

/// OpenTelemetry (feature `otel`): the `request` span as the child of the caller's span.
#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::{
        SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
    };
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    use super::traceparent_parts;

    /// Makes the span a child of the remote span of a valid `traceparent` (with its
    /// `tracestate`) and returns the span's OpenTelemetry trace id, if spans are exported.
    pub(super) fn continue_trace(
        span: &tracing::Span,
        traceparent: Option<&str>,
        tracestate: Option<&str>,
    ) -> Option<String> {
        if let Some(parent) = traceparent.and_then(|tp| remote_parent(tp, tracestate)) {
            // Fails only when no OpenTelemetry layer sees the span: nothing to continue then.
            let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(parent));
        }
        let trace_id = span.context().span().span_context().trace_id();
        (trace_id != TraceId::INVALID).then(|| trace_id.to_string())
    }

    /// The caller's span from a valid `traceparent`; only the sampled flag is kept.
    fn remote_parent(traceparent: &str, tracestate: Option<&str>) -> Option<SpanContext> {
        let (trace, parent, flags) = traceparent_parts(traceparent)?;
        let flags = u8::from_str_radix(flags, 16).ok()?;
        let state = tracestate
            .and_then(|s| s.parse::<TraceState>().ok())
            .unwrap_or_default();
        Some(SpanContext::new(
            TraceId::from_hex(trace).ok()?,
            SpanId::from_hex(parent).ok()?,
            TraceFlags::new(flags) & TraceFlags::SAMPLED,
            true,
            state,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(is_valid("abc-123"));
        assert!(is_valid(&"a".repeat(128)));
        assert!(!is_valid(&"a".repeat(129)));
        assert!(!is_valid(""));
        assert!(!is_valid("has space"));
        assert!(!is_valid("tab\there"));
        assert!(!is_valid("ünïcode"));
    }

    #[test]
    fn traceparent() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(trace_id_of(tp), Some("4bf92f3577b34da6a3ce929d0e0e4736"));
        assert_eq!(
            trace_id_of("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(
            trace_id_of("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"),
            None
        );
        assert_eq!(trace_id_of("garbage"), None);
    }
}
