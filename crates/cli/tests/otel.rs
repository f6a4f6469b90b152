//! OpenTelemetry traces (feature `otel`), end to end with real processes: this test runs an
//! OTLP/HTTP receiver on 127.0.0.1 that records every `POST /v1/traces` and decodes it
//! (protobuf, the default protocol), and a fixture site; a real `grandma serve` exports to it.
//!
//! - A request with a W3C `traceparent` arrives as a `request` span in the caller's trace, the
//!   caller's span as its parent, and the JSON log line of the request carries the same trace id.
//! - Without a `traceparent`, the logged `trace_id` is the exported span's trace id.
//! - A run arrives as a root `run` span with one `fetch` span per page in its trace, and the
//!   delivery of its `job.completed` webhook as a root `webhook_delivery` span.
//! - Spans still queued when the process gets SIGTERM are exported before it exits.

#![cfg(feature = "otel")]

#[allow(dead_code)]
mod serve_support;

use std::collections::HashMap;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use prost::Message;
use serde_json::{Value, json};

use serve_support::shop::{book_shop, book_shop_job};
use serve_support::{Serve, call, client, poll, serve_local};

const PAGES: u32 = 3;
const PASSWORD: &str = "correct horse battery staple";
const ADMIN: &str = "admin@example.com";
/// The caller's trace and span in the `traceparent` the test sends.
const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";
/// How long exported spans may take to arrive.
const EXPORT_WAIT: Duration = Duration::from_secs(20);

/// The part of the OTLP trace protocol (opentelemetry-proto, `trace/v1`) the test reads.
mod otlp {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ExportTraceServiceRequest {
        #[prost(message, repeated, tag = "1")]
        pub resource_spans: Vec<ResourceSpans>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResourceSpans {
        #[prost(message, optional, tag = "1")]
        pub resource: Option<Resource>,
        #[prost(message, repeated, tag = "2")]
        pub scope_spans: Vec<ScopeSpans>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Resource {
        #[prost(message, repeated, tag = "1")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ScopeSpans {
        #[prost(message, repeated, tag = "2")]
        pub spans: Vec<Span>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Span {
        #[prost(bytes = "vec", tag = "1")]
        pub trace_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "2")]
        pub span_id: Vec<u8>,
        #[prost(bytes = "vec", tag = "4")]
        pub parent_span_id: Vec<u8>,
        #[prost(string, tag = "5")]
        pub name: String,
        #[prost(message, repeated, tag = "9")]
        pub attributes: Vec<KeyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct KeyValue {
        #[prost(string, tag = "1")]
        pub key: String,
        #[prost(message, optional, tag = "2")]
        pub value: Option<AnyValue>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyValue {
        #[prost(oneof = "Value", tags = "1, 2, 3, 4")]
        pub value: Option<Value>,
    }

    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(string, tag = "1")]
        String(String),
        #[prost(bool, tag = "2")]
        Bool(bool),
        #[prost(int64, tag = "3")]
        Int(i64),
        #[prost(double, tag = "4")]
        Double(f64),
    }
}

/// One exported span, flattened.
#[derive(Debug, Clone)]
struct Exported {
    service: String,
    name: String,
    trace_id: String,
    span_id: String,
    /// Empty for a root span.
    parent_id: String,
    attributes: HashMap<String, String>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn text(value: Option<&otlp::AnyValue>) -> String {
    match value.and_then(|v| v.value.as_ref()) {
        Some(otlp::Value::String(s)) => s.clone(),
        Some(otlp::Value::Bool(b)) => b.to_string(),
        Some(otlp::Value::Int(i)) => i.to_string(),
        Some(otlp::Value::Double(d)) => d.to_string(),
        None => String::new(),
    }
}

/// The OTLP/HTTP receiver: every span of every `POST /v1/traces`.
#[derive(Clone, Default)]
struct Receiver {
    spans: Arc<Mutex<Vec<Exported>>>,
    /// Requests that were not protobuf trace exports.
    refused: Arc<Mutex<Vec<String>>>,
}

impl Receiver {
    async fn start(&self) -> String {
        let app = Router::new()
            .route("/v1/traces", post(receive))
            // The webhook of the run test.
            .route("/hook", post(|| async { StatusCode::NO_CONTENT }))
            .with_state(self.clone());
        serve_local(app).await
    }

    fn spans(&self) -> Vec<Exported> {
        let refused = self.refused.lock().unwrap();
        assert!(refused.is_empty(), "bad OTLP requests: {refused:?}");
        self.spans.lock().unwrap().clone()
    }

    /// Polls until `found` picks something out of the spans received, for [`EXPORT_WAIT`].
    async fn wait_for<T>(
        &self,
        what: &str,
        log: &LogFile,
        found: impl Fn(&[Exported]) -> Option<T>,
    ) -> T {
        poll(
            Instant::now() + EXPORT_WAIT,
            Duration::from_millis(100),
            async || {
                let spans = self.spans();
                found(&spans).ok_or_else(|| {
                    format!(
                        "no {what} exported within {EXPORT_WAIT:?}; received:\n{}\n--- server log:\n{}",
                        describe(&spans),
                        log.text()
                    )
                })
            },
        )
        .await
    }
}

async fn receive(State(receiver): State<Receiver>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if content_type != "application/x-protobuf" {
        receiver
            .refused
            .lock()
            .unwrap()
            .push(format!("content type {content_type:?}"));
        return StatusCode::UNSUPPORTED_MEDIA_TYPE.into_response();
    }
    let request = match otlp::ExportTraceServiceRequest::decode(body) {
        Ok(r) => r,
        Err(e) => {
            receiver.refused.lock().unwrap().push(e.to_string());
            return StatusCode::BAD_REQUEST.into_response();
        }
    };
    let mut spans = receiver.spans.lock().unwrap();
    for resource_spans in request.resource_spans {
        let service = resource_spans
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .map(|kv| text(kv.value.as_ref()))
            .unwrap_or_default();
        for span in resource_spans.scope_spans.into_iter().flat_map(|s| s.spans) {
            spans.push(Exported {
                service: service.clone(),
                name: span.name,
                trace_id: hex(&span.trace_id),
                span_id: hex(&span.span_id),
                parent_id: hex(&span.parent_span_id),
                attributes: span
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.clone(), text(kv.value.as_ref())))
                    .collect(),
            });
        }
    }
    // An empty ExportTraceServiceResponse: everything accepted.
    (
        [(header::CONTENT_TYPE, "application/x-protobuf")],
        Vec::<u8>::new(),
    )
        .into_response()
}

fn describe(spans: &[Exported]) -> String {
    spans
        .iter()
        .map(|s| {
            format!(
                "  {} {} trace={} span={} parent={} {:?}",
                s.service, s.name, s.trace_id, s.span_id, s.parent_id, s.attributes
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn attr<'a>(span: &'a Exported, key: &str) -> &'a str {
    span.attributes.get(key).map_or("", String::as_str)
}

/// The server's stderr (JSON log lines), in a file.
struct LogFile(PathBuf);

impl LogFile {
    fn text(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap_or_default()
    }

    /// The JSON lines of the log.
    fn lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}

/// A `grandma serve` process exporting to `otlp`; killed when dropped.
struct Server {
    serve: Serve,
    log: LogFile,
    _data: tempfile::TempDir,
}

impl Server {
    /// Starts `grandma serve` on SQLite; `schedule_delay_ms` is the batch processor's delay.
    async fn start(otlp: &str, schedule_delay_ms: u64) -> Server {
        let data = tempfile::tempdir().unwrap();
        let log = LogFile(data.path().join("stderr.log"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .env("GRANDMA_DATA_DIR", data.path())
            .env("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32")
            .env("GRANDMA_RATE_LIMIT_ENABLED", "false")
            .env("GRANDMA_ADMIN_EMAIL", ADMIN)
            .env("GRANDMA_ADMIN_PASSWORD", PASSWORD)
            .env("GRANDMA_LOG_FORMAT", "json")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", otlp)
            .env("OTEL_BSP_SCHEDULE_DELAY", schedule_delay_ms.to_string())
            .stdin(Stdio::null())
            .stderr(File::create(&log.0).unwrap());
        for name in [
            "DATABASE_URL",
            "GRANDMA_DATABASE_URL",
            "GRANDMA_LOG",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_SERVICE_NAME",
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_SDK_DISABLED",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
        ] {
            cmd.env_remove(name);
        }
        let serve = Serve::start(cmd, || log.text()).await;
        Server {
            serve,
            log,
            _data: data,
        }
    }

    /// Sends SIGTERM and waits (bounded) for a clean exit.
    async fn terminate(&mut self) {
        self.serve.proc.sigterm();
        let status = poll(
            Instant::now() + Duration::from_secs(30),
            Duration::from_millis(50),
            async || {
                self.serve.proc.0.try_wait().unwrap().ok_or_else(|| {
                    format!(
                        "grandma serve did not stop on SIGTERM:\n{}",
                        self.log.text()
                    )
                })
            },
        )
        .await;
        assert!(status.success(), "exit {status}:\n{}", self.log.text());
    }
}

async fn login(c: &reqwest::Client, api: &str) -> String {
    let body = call(
        c.post(format!("{api}/auth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "username={}&password={}",
                ADMIN.replace('@', "%40"),
                PASSWORD.replace(' ', "+")
            )),
        200,
    )
    .await;
    format!("Bearer {}", body["access_token"].as_str().unwrap())
}

/// The `trace_id` of the log line that ended the request with this `X-Request-ID`.
fn logged_trace_id(log: &LogFile, request_id: &str) -> Option<String> {
    log.lines()
        .into_iter()
        .find(|l| l["request_id"] == request_id && l["message"] == "request finished")
        .and_then(|l| l["trace_id"].as_str().map(str::to_owned))
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_exports_request_run_and_fetch_spans() {
    let receiver = Receiver::default();
    let otlp = receiver.start().await;
    let site = book_shop(PAGES, 2).await;
    let server = Server::start(&otlp, 200).await;
    let api = format!("{}/api/v1", server.serve.base);
    let c = client();

    // A caller's trace is continued.
    call(
        c.get(format!("{}/health", server.serve.base))
            .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
            .header("x-request-id", "otel-continued"),
        200,
    )
    .await;
    let request = receiver
        .wait_for("request span of GET /health", &server.log, |spans| {
            spans
                .iter()
                .find(|s| s.name == "request" && attr(s, "request_id") == "otel-continued")
                .cloned()
        })
        .await;
    assert_eq!(request.trace_id, TRACE_ID, "{request:?}");
    assert_eq!(request.parent_id, PARENT_ID, "{request:?}");
    assert_eq!(request.service, "grandma-server");
    assert_eq!(attr(&request, "method"), "GET");
    assert_eq!(attr(&request, "path"), "/health");
    assert_eq!(attr(&request, "status"), "200");
    assert_eq!(
        logged_trace_id(&server.log, "otel-continued").as_deref(),
        Some(TRACE_ID)
    );

    // Without a traceparent the log names the exported trace.
    let bearer = login(&c, &api).await;
    let config = book_shop_job(
        &site,
        json!([{"name": "title", "selector": "h2", "required": true}]),
    );
    let job = call(
        c.post(format!("{api}/jobs/"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .header("x-request-id", "otel-fresh")
            .body(json!({ "config": config }).to_string()),
        201,
    )
    .await;
    let fresh = receiver
        .wait_for("request span of POST /jobs/", &server.log, |spans| {
            spans
                .iter()
                .find(|s| s.name == "request" && attr(s, "request_id") == "otel-fresh")
                .cloned()
        })
        .await;
    assert!(fresh.parent_id.is_empty(), "{fresh:?}");
    assert_ne!(fresh.trace_id, TRACE_ID);
    assert_eq!(
        logged_trace_id(&server.log, "otel-fresh"),
        Some(fresh.trace_id.clone())
    );
    // The handler's own span is a child of the request span.
    let handler = receiver
        .wait_for("handler span of POST /jobs/", &server.log, |spans| {
            spans.iter().find(|s| s.parent_id == fresh.span_id).cloned()
        })
        .await;
    assert_eq!(handler.trace_id, fresh.trace_id);

    // A run is the root of its own trace, with one fetch span per page; its webhook delivery
    // is another root.
    let job_id = job["id"].as_str().unwrap();
    let webhook = call(
        c.post(format!("{api}/webhooks"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(
                json!({"name": "otel", "url": format!("{otlp}/hook"), "events": ["job.completed"]})
                    .to_string(),
            ),
        201,
    )
    .await;
    let webhook_id = webhook["id"].as_str().unwrap().to_owned();
    let queued = call(
        c.post(format!("{api}/jobs/{job_id}/run"))
            .header("authorization", &bearer),
        202,
    )
    .await;
    let result_id = queued["result_id"].as_str().unwrap().to_owned();
    let run = receiver
        .wait_for("run span", &server.log, |spans| {
            spans
                .iter()
                .find(|s| s.name == "run" && attr(s, "result_id") == result_id)
                .cloned()
        })
        .await;
    assert!(run.parent_id.is_empty(), "a run is a root span: {run:?}");
    assert_eq!(attr(&run, "job_id"), job_id);
    assert_eq!(attr(&run, "attempt"), "1");
    let fetches = receiver
        .wait_for("fetch spans of the run", &server.log, |spans| {
            let pages: Vec<Exported> = spans
                .iter()
                .filter(|s| s.name == "fetch" && s.trace_id == run.trace_id)
                .filter(|s| attr(s, "url").contains("/shop/page-"))
                .cloned()
                .collect();
            (pages.len() == PAGES as usize).then_some(pages)
        })
        .await;
    for fetch in &fetches {
        assert_eq!(attr(fetch, "status"), "200", "{fetch:?}");
    }
    let mut urls: Vec<&str> = fetches.iter().map(|f| attr(f, "url")).collect();
    urls.sort_unstable();
    let expected: Vec<String> = (1..=PAGES)
        .map(|n| format!("{site}/shop/page-{n}.html"))
        .collect();
    assert_eq!(urls, expected);
    let delivery = receiver
        .wait_for("webhook_delivery span", &server.log, |spans| {
            spans
                .iter()
                .find(|s| s.name == "webhook_delivery" && attr(s, "webhook_id") == webhook_id)
                .cloned()
        })
        .await;
    assert_eq!(attr(&delivery, "event"), "job.completed", "{delivery:?}");
    assert_eq!(attr(&delivery, "attempt"), "1", "{delivery:?}");
    assert!(delivery.parent_id.is_empty(), "{delivery:?}");
    assert!(
        receiver.spans().iter().all(|s| s.name != "worker_slot"),
        "worker_slot spans are not exported"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn spans_still_queued_are_exported_on_sigterm() {
    let receiver = Receiver::default();
    let otlp = receiver.start().await;
    // Far longer than the test: nothing is exported before the process stops.
    let mut server = Server::start(&otlp, 600_000).await;
    let c = client();
    call(
        c.get(format!("{}/health", server.serve.base))
            .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
            .header("x-request-id", "otel-at-exit"),
        200,
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let early = receiver.spans();
    assert!(
        !early
            .iter()
            .any(|s| attr(s, "request_id") == "otel-at-exit"),
        "exported before the schedule delay: {}",
        describe(&early)
    );
    server.terminate().await;
    // The process has exited: whatever it flushed has arrived.
    let spans = receiver.spans();
    let request = spans
        .iter()
        .find(|s| s.name == "request" && attr(s, "request_id") == "otel-at-exit")
        .unwrap_or_else(|| {
            panic!(
                "the request span was not flushed at exit:\n{}\n--- server log:\n{}",
                describe(&spans),
                server.log.text()
            )
        });
    assert_eq!(request.trace_id, TRACE_ID);
    assert_eq!(request.parent_id, PARENT_ID);
}
