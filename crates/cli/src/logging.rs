//! Logging of the commands. `serve` and `worker` write JSON lines (one object per event:
//! `timestamp`, `level`, `target`, `message`, the event's fields, and the fields of the spans
//! it is in, so `request_id`, `trace_id`, `user_id`, `method`, `path`, `status` and
//! `duration_ms` of the HTTP request span are top-level keys) when stderr is not a terminal or
//! `GRANDMA_LOG_FORMAT=json`; a human format on a terminal or with `GRANDMA_LOG_FORMAT=text`.
//! The one-shot commands always log in the human format. Built with the cargo feature `otel`,
//! `serve` and `worker` also export their spans over OTLP when an endpoint is configured
//! (`otel.rs`); without it, a configured endpoint gets one warning at startup.

use std::fmt;
use std::io::IsTerminal;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// Whether to log JSON: `GRANDMA_LOG_FORMAT` decides, else JSON for services off a terminal.
pub fn want_json(format: Option<&str>, service: bool, terminal: bool) -> bool {
    match format.map(|f| f.trim().to_ascii_lowercase()) {
        Some(f) if f == "json" => true,
        Some(f) if matches!(f.as_str(), "text" | "human" | "pretty") => false,
        _ => service && !terminal,
    }
}

/// Installs the global subscriber (stderr, `GRANDMA_LOG` filter). `service` names the
/// long-running command (`grandma-server`, `grandma-worker`): only those log at info by default
/// and, with the `otel` feature and an OTLP endpoint configured, export their spans. The guard
/// flushes the spans still queued when it is shut down at exit.
pub fn init(verbose: bool, service: Option<&str>) -> Telemetry {
    let default = if verbose {
        "info,grandma=debug"
    } else if service.is_some() {
        "info"
    } else {
        "error"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GRANDMA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let format = std::env::var("GRANDMA_LOG_FORMAT").ok();
    let output = if want_json(
        format.as_deref(),
        service.is_some(),
        std::io::stderr().is_terminal(),
    ) {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .boxed()
    } else {
        tracing_subscriber::fmt::layer()
            .with_writer(std::io::stderr)
            .with_target(verbose)
            .boxed()
    };
    let (traces, telemetry, notes) = traces(service);
    let layers: Vec<Boxed> = std::iter::once(output.with_filter(filter).boxed())
        .chain(traces)
        .collect();
    tracing_subscriber::registry().with(layers).init();
    for note in notes {
        tracing::warn!("{note}");
    }
    telemetry
}

type Boxed = Box<dyn Layer<Registry> + Send + Sync>;

/// The OpenTelemetry layer when `service` exports traces, and what to log about it once the
/// subscriber is installed.
#[cfg(feature = "otel")]
fn traces(service: Option<&str>) -> (Option<Boxed>, Telemetry, Vec<String>) {
    let Some(config) = service.and_then(crate::otel::config) else {
        return (None, Telemetry::default(), Vec::new());
    };
    let mut notes = crate::otel::notes(&config).to_vec();
    match crate::otel::layer(&config) {
        Ok((layer, exporting)) => (
            Some(layer.boxed()),
            Telemetry {
                exporting: Some(exporting),
            },
            notes,
        ),
        Err(e) => {
            notes.push(e);
            (None, Telemetry::default(), notes)
        }
    }
}

/// Without the `otel` feature: a warning when an endpoint is configured all the same.
#[cfg(not(feature = "otel"))]
fn traces(service: Option<&str>) -> (Option<Boxed>, Telemetry, Vec<String>) {
    let mut notes = Vec::new();
    if service.is_some() && otlp_endpoint_configured() {
        notes.push(
            "an OTLP endpoint is configured (OTEL_EXPORTER_OTLP_ENDPOINT) but this build of \
             grandma has no OpenTelemetry support (cargo feature `otel`): no traces are exported"
                .to_owned(),
        );
    }
    (None, Telemetry::default(), notes)
}

/// Whether an OTLP endpoint for traces is configured (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` or
/// `OTEL_EXPORTER_OTLP_ENDPOINT`, not empty).
pub fn otlp_endpoint_configured() -> bool {
    [
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_ENDPOINT",
    ]
    .iter()
    .any(|name| std::env::var(name).is_ok_and(|v| !v.trim().is_empty()))
}

/// Flushes the exported spans at exit; nothing to do when traces are not exported.
#[derive(Debug, Default)]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    exporting: Option<crate::otel::Provider>,
}

impl Telemetry {
    /// Exports the spans still queued. Call it last, after the async runtime is gone.
    pub fn shutdown(self) {
        #[cfg(feature = "otel")]
        if let Some(exporting) = self.exporting {
            exporting.shutdown();
        }
    }
}

/// One flat JSON object per event.
#[derive(Debug, Clone, Copy)]
pub struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let meta = event.metadata();
        let mut object = Map::new();
        object.insert("timestamp".into(), Value::String(timestamp));
        object.insert("level".into(), Value::String(meta.level().to_string()));
        object.insert("target".into(), Value::String(meta.target().to_owned()));
        // Span fields, outermost first, so inner spans and the event itself win on a clash.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                if let Some(fields) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(map)) = serde_json::from_str::<Value>(fields.as_str())
                {
                    object.extend(map);
                }
            }
        }
        event.record(&mut Fields(&mut object));
        writeln!(writer, "{}", Value::Object(object))
    }
}

/// Collects an event's fields as JSON values.
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.to_owned()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn format_choice() {
        assert!(want_json(Some("json"), false, true));
        assert!(!want_json(Some("text"), true, false));
        assert!(want_json(None, true, false));
        assert!(!want_json(None, true, true));
        assert!(!want_json(None, false, false));
    }

    #[test]
    fn events_are_flat_json_with_span_fields() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(move || writer.clone())
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!(
                "request",
                request_id = "r-1",
                method = "GET",
                path = "/x",
                user_id = tracing::field::Empty,
                status = tracing::field::Empty,
                duration_ms = tracing::field::Empty,
            );
            span.record("user_id", "u-9");
            span.record("status", 200u16);
            span.record("duration_ms", 1.5);
            span.in_scope(|| tracing::info!(extra = 3, "request finished"));
        });
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        let line: Value = serde_json::from_str(text.trim()).unwrap();
        assert_eq!(line["message"], "request finished");
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["request_id"], "r-1");
        assert_eq!(line["user_id"], "u-9");
        assert_eq!(line["method"], "GET");
        assert_eq!(line["path"], "/x");
        assert_eq!(line["status"], 200);
        assert_eq!(line["duration_ms"], 1.5);
        assert_eq!(line["extra"], 3);
        assert!(line["timestamp"].as_str().unwrap().contains('T'));
        assert!(line["target"].as_str().unwrap().contains("logging"));
    }
}
