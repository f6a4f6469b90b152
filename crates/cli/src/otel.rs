//! OpenTelemetry traces (cargo feature `otel`): a `tracing-opentelemetry` layer whose spans are
//! exported over OTLP/HTTP by a batch processor on its own thread, so exporting never blocks a
//! request or a run. Only `grandma serve` and `grandma worker` export, and only when an endpoint
//! is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, used as is, or
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, to which `/v1/traces` is appended); without one nothing is
//! built and tracing costs what it did before.
//!
//! Other standard variables: `OTEL_SERVICE_NAME` (default `grandma-server` / `grandma-worker`),
//! `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL` (`http/protobuf`, the default, or `http/json`),
//! `OTEL_EXPORTER_OTLP_[TRACES_]HEADERS`, `OTEL_EXPORTER_OTLP_[TRACES_]TIMEOUT`,
//! `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER[_ARG]`, `OTEL_BSP_*`, and
//! `OTEL_SDK_DISABLED=true`.
//!
//! Every span at info level or above is exported (`request`, the handlers' spans, `run`,
//! `fetch`, `webhook_delivery`, ...) with the events inside it, except `worker_slot`: a worker
//! slot lives as long as the process, so a run is the root of its own trace instead of one
//! endless trace per slot.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry::{Key, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Subscriber;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::registry::LookupSpan;

/// Export failures are logged at most this often (the collector may be down for a while).
const WARN_EVERY: Duration = Duration::from_secs(60);

/// The tracer provider while traces are exported; flushes the spans still queued on shutdown.
#[derive(Debug)]
pub struct Provider {
    provider: SdkTracerProvider,
}

impl Provider {
    /// Exports the spans still queued (bounded by the SDK's shutdown timeout) and stops the
    /// exporter thread. Call it after the async runtime is gone, when every span has ended.
    pub fn shutdown(self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "OpenTelemetry: could not flush the last spans");
        }
    }
}

/// What the environment asks for, read before the subscriber exists (problems are returned as
/// messages and logged once logging is up).
#[derive(Debug)]
pub struct Config {
    default_service: String,
    protocol: Protocol,
    notes: Vec<String>,
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// The configuration when traces are to be exported for `default_service`, else `None`.
pub fn config(default_service: &str) -> Option<Config> {
    if !crate::logging::otlp_endpoint_configured()
        || non_empty("OTEL_SDK_DISABLED").is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    let mut notes = Vec::new();
    let protocol = match non_empty("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        .or_else(|| non_empty("OTEL_EXPORTER_OTLP_PROTOCOL"))
        .map(|p| p.to_ascii_lowercase())
        .as_deref()
    {
        None | Some("http/protobuf") => Protocol::HttpBinary,
        Some("http/json") => Protocol::HttpJson,
        Some(other) => {
            notes.push(format!(
                "OpenTelemetry: protocol {other:?} is not supported (http/protobuf or \
                 http/json); using http/protobuf"
            ));
            Protocol::HttpBinary
        }
    };
    Some(Config {
        default_service: default_service.to_owned(),
        protocol,
        notes,
    })
}

/// Builds the exporter and the layer. An exporter that cannot be built (a malformed endpoint)
/// is logged by the caller and traces are off; the process runs on.
pub fn layer<S>(config: &Config) -> Result<(impl Layer<S> + use<S>, Provider), String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // The workspace's reqwest brings no crypto provider of its own (an https endpoint needs one).
    let _already_installed = rustls::crypto::ring::default_provider().install_default();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(config.protocol)
        .build()
        .map_err(|e| format!("OpenTelemetry: no exporter, traces are off: {e}"))?;
    let provider = SdkTracerProvider::builder()
        .with_resource(resource(&config.default_service))
        .with_batch_exporter(QuietExporter::new(exporter))
        .build();
    let tracer = provider.tracer("grandma");
    let filter = EnvFilter::new("info").and(filter_fn(|meta| meta.name() != "worker_slot"));
    // A task's thread says nothing on a multi-threaded runtime.
    let layer = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_threads(false)
        .with_filter(filter);
    Ok((layer, Provider { provider }))
}

/// The process as a resource: `service.name` from `OTEL_SERVICE_NAME`, else from
/// `OTEL_RESOURCE_ATTRIBUTES`, else the command's; `service.version`; the other
/// `OTEL_RESOURCE_ATTRIBUTES`.
fn resource(default_service: &str) -> Resource {
    let service = Key::from_static_str("service.name");
    let detected = Resource::builder().build();
    let named = detected
        .get_ref(&service)
        .is_some_and(|name| !name.as_str().starts_with("unknown_service"));
    let mut builder = Resource::builder()
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")));
    if !named {
        builder = builder.with_service_name(default_service.to_owned());
    }
    builder.build()
}

/// Startup notes (an unsupported protocol) to log once the subscriber is installed.
pub fn notes(config: &Config) -> &[String] {
    &config.notes
}

/// The OTLP exporter, with failures logged at warn at most once a minute instead of being
/// handed to the SDK (which would report each one as an error).
struct QuietExporter<E> {
    inner: E,
    last_warning: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl<E> QuietExporter<E> {
    fn new(inner: E) -> Self {
        QuietExporter {
            inner,
            last_warning: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    fn failed(&self, spans: usize, error: &dyn fmt::Display) {
        let now = Instant::now();
        let mut last = self
            .last_warning
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if last.is_some_and(|at| now.duration_since(at) < WARN_EVERY) {
            self.suppressed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        *last = Some(now);
        let earlier = self.suppressed.swap(0, Ordering::Relaxed);
        tracing::warn!(
            %error,
            spans,
            earlier_failures = earlier,
            "OpenTelemetry: spans could not be exported and were dropped"
        );
    }
}

impl<E> fmt::Debug for QuietExporter<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QuietExporter").finish_non_exhaustive()
    }
}

impl<E: SpanExporter> SpanExporter for QuietExporter<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        let spans = batch.len();
        if let Err(e) = self.inner.export(batch).await {
            self.failed(spans, &e);
        }
        Ok(())
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}
