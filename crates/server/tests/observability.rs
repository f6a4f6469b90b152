//! Log lines of a request carry its ID, user and trace (a global capturing subscriber), and
//! `/metrics` scraped and parsed after known traffic and a known run: exact counter increments,
//! route-template labels, real histograms. A binary of its own: the recorder is per process, and
//! no other test's traffic may change the counts.

#[allow(dead_code, unused_macros)]
#[path = "api/common.rs"]
mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::TestApp;
use grandma_store::{Backend, Uuid};
use serde_json::Value;

/// One sample of the text format.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A small parser of the Prometheus text format (comments skipped, label values unescaped).
fn parse(text: &str) -> Vec<Sample> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, rest) = match line.find(['{', ' ']) {
            Some(i) => line.split_at(i),
            None => panic!("bad line {line:?}"),
        };
        let mut labels = BTreeMap::new();
        let rest = if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                // key
                let start = chars.peek().expect("label").0;
                let mut eq = start;
                for (i, c) in chars.by_ref() {
                    if c == '=' {
                        eq = i;
                        break;
                    }
                }
                let key = body[start..eq].trim_start_matches(',').trim().to_owned();
                assert_eq!(chars.next().map(|x| x.1), Some('"'), "{line}");
                let mut value = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|x| x.1) {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => panic!("{line}"),
                        },
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(key, value);
                match chars.next() {
                    Some((i, '}')) => {
                        end = i;
                        break;
                    }
                    Some((_, ',')) => {
                        if matches!(chars.peek(), Some((_, '}'))) {
                            end = chars.next().unwrap().0;
                            break;
                        }
                    }
                    other => panic!("{line}: {other:?}"),
                }
            }
            &body[end + 1..]
        } else {
            rest
        };
        let value = rest.split_whitespace().next().expect("value");
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|e| panic!("{line}: {e}")),
        };
        out.push(Sample {
            name: name.to_owned(),
            labels,
            value,
        });
    }
    out
}

fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(app: &TestApp, token: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.root("/metrics"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let content_type = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = r.text().await.unwrap();
    if status == 200 {
        assert!(content_type.unwrap().starts_with("text/plain"));
    }
    (status, text)
}

#[test]
fn parser_reads_labels_and_escapes() {
    let s = parse("# HELP x y\nx_total{a=\"1\",b=\"q\\\"z\"} 3\ny 1.5\nh_bucket{le=\"+Inf\"} 2\n");
    assert_eq!(s.len(), 3);
    assert_eq!(s[0].labels["b"], "q\"z");
    assert_eq!(s[0].value, 3.0);
    assert_eq!(s[1].name, "y");
    assert_eq!(s[2].labels["le"], "+Inf");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_known_traffic_by_route_template() {
    let app = TestApp::start_with(Backend::Sqlite, |s| {
        s.http.metrics_token = Some(grandma_store::Secret("metrics-secret".into()));
    })
    .await;
    // The token is required.
    assert_eq!(scrape(&app, None).await.0, 401);
    assert_eq!(scrape(&app, Some("wrong")).await.0, 401);

    app.register("m@example.com").await;
    let token = app.login("m@example.com").await;
    let (_, before) = scrape(&app, Some("metrics-secret")).await;
    let before = parse(&before);

    for _ in 0..3 {
        app.get(&format!("/jobs/{}", Uuid::now_v7()), &token, 404)
            .await;
    }
    for _ in 0..2 {
        app.get("/results", &token, 200).await;
    }
    for _ in 0..4 {
        let r = app
            .client
            .get(app.root("/no/such/path"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    }
    grandma_shared::metrics::record_run(grandma_store::RunStatus::Completed, 12, 3, 4.5);
    grandma_shared::metrics::record_run(grandma_store::RunStatus::Failed, 0, 1, 0.5);
    // What a run's fetches and a dispatcher record (the real run is counted end to end in the
    // CLI's serve test, a process of its own).
    grandma_engine::fetch::metrics::record_attempt("2xx", std::time::Duration::from_millis(30));
    grandma_engine::fetch::metrics::record_attempt("2xx", std::time::Duration::from_millis(300));
    grandma_engine::fetch::metrics::record_refusal("blocked");
    grandma_shared::metrics::record_delivery_attempt(
        &grandma_store::Verdict::RetryAt(chrono::Utc::now()),
        0.2,
    );
    grandma_shared::metrics::record_delivery_attempt(&grandma_store::Verdict::Delivered, 0.1);
    let _ = grandma_server::middleware::rate_limit::too_many(
        grandma_server::middleware::rate_limit::Decision {
            allowed: false,
            limit: 60,
            remaining: 0,
            retry_after_secs: 1,
        },
        "ip",
    );

    let (status, after) = scrape(&app, Some("metrics-secret")).await;
    assert_eq!(status, 200);
    let after = parse(&after);
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let total = "http_requests_total";
    let job = [
        ("method", "GET"),
        ("endpoint", "/api/v1/jobs/{id}"),
        ("status_code", "404"),
    ];
    assert_eq!(delta(total, &job), 3.0);
    assert_eq!(
        delta(
            total,
            &[
                ("method", "GET"),
                ("endpoint", "/api/v1/results"),
                ("status_code", "200")
            ]
        ),
        2.0
    );
    assert_eq!(
        delta(
            total,
            &[
                ("method", "GET"),
                ("endpoint", "unmatched"),
                ("status_code", "404")
            ]
        ),
        4.0
    );
    // No raw path ever becomes a label.
    assert!(
        after.iter().all(|s| !s
            .labels
            .values()
            .any(|v| v.contains("/no/such") || v.len() > 60)),
        "a raw path leaked into a label"
    );
    // A real histogram with buckets, count and sum.
    let hist = [("method", "GET"), ("endpoint", "/api/v1/jobs/{id}")];
    assert_eq!(delta("http_request_duration_seconds_count", &hist), 3.0);
    let buckets: Vec<&Sample> = after
        .iter()
        .filter(|s| {
            s.name == "http_request_duration_seconds_bucket"
                && s.labels.get("endpoint").map(String::as_str) == Some("/api/v1/jobs/{id}")
        })
        .collect();
    assert!(buckets.len() >= 10, "{buckets:?}");
    assert!(buckets.iter().any(|b| b.labels["le"] == "+Inf"));
    // Nothing in progress once answered (the scrape itself is the one in flight).
    assert_eq!(value(&after, "http_requests_in_progress", &hist), 0.0);
    assert_eq!(
        value(
            &after,
            "http_requests_in_progress",
            &[("method", "GET"), ("endpoint", "/metrics")]
        ),
        1.0
    );
    // Scraping metrics from the worker's recorder, and the queue gauges.
    assert_eq!(
        delta("scraping_jobs_total", &[("status", "completed")]),
        1.0
    );
    assert_eq!(delta("scraping_jobs_total", &[("status", "failed")]), 1.0);
    assert_eq!(delta("scraping_items_total", &[]), 12.0);
    assert_eq!(delta("scraping_pages_total", &[]), 4.0);
    assert_eq!(delta("scraping_job_duration_seconds_count", &[]), 2.0);
    assert_eq!(
        value(
            &after,
            "scraping_job_duration_seconds_bucket",
            &[("le", "5")]
        ),
        2.0
    );
    assert_eq!(delta("scraping_fetches_total", &[("outcome", "2xx")]), 2.0);
    assert_eq!(
        delta("scraping_fetches_total", &[("outcome", "blocked")]),
        1.0
    );
    assert_eq!(
        value(
            &after,
            "scraping_fetch_duration_seconds_bucket",
            &[("outcome", "2xx"), ("le", "0.05")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "webhook_delivery_attempts_total",
            &[("outcome", "delivered")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "webhook_delivery_attempts_total",
            &[("outcome", "retrying")]
        ),
        1.0
    );
    assert_eq!(delta("webhook_delivery_duration_seconds_count", &[]), 2.0);
    assert_eq!(value(&after, "scraping_queue_depth", &[]), 0.0);
    assert!(after.iter().any(|s| s.name == "scraping_runs_in_flight"));
    assert_eq!(
        delta("http_rate_limit_rejections_total", &[("scope", "ip")]),
        1.0
    );
    // Every metric the Grafana dashboards and the alert rules query exists in this scrape.
    let names: std::collections::BTreeSet<&str> = after.iter().map(|s| s.name.as_str()).collect();
    let deploy = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let mut queried = std::collections::BTreeSet::new();
    let mut sources = vec![std::fs::read_to_string(deploy.join("prometheus/alerts.yml")).unwrap()];
    for entry in std::fs::read_dir(deploy.join("grafana/dashboards")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        let dashboard: Value = serde_json::from_str(&text).unwrap();
        for panel in dashboard["panels"].as_array().unwrap() {
            for target in panel["targets"].as_array().unwrap() {
                sources.push(target["expr"].as_str().unwrap().to_owned());
            }
        }
    }
    for text in &sources {
        for word in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if ["http_", "scraping_", "webhook_"]
                .iter()
                .any(|prefix| word.starts_with(prefix))
            {
                queried.insert(word.to_owned());
            }
        }
    }
    assert!(queried.len() >= 8, "{queried:?}");
    for metric in &queried {
        assert!(
            names.contains(metric.as_str()),
            "{metric} is queried but not exported"
        );
    }
    app.finish().await;
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// The only test that installs a global subscriber in this binary.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_lines_carry_the_request_id_user_and_trace() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .with_max_level(tracing::Level::INFO)
        .with_writer(captured.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("first subscriber");

    let app = TestApp::start(Backend::Sqlite).await;
    app.register("logs@example.com").await;
    let token = app.login("logs@example.com").await;
    let r = app
        .client
        .get(app.api("/jobs"))
        .bearer_auth(&token)
        .header("X-Request-ID", "log-me-1")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let user_id = app
        .store
        .get_user_by_email("logs@example.com")
        .await
        .unwrap()
        .user_id;
    app.finish().await;

    let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    let ours: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["spans"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s["request_id"] == "log-me-1"))
        })
        .collect();
    assert!(!ours.is_empty(), "no line with the request id:\n{text}");
    let done = ours
        .iter()
        .find(|l| l["fields"]["message"] == "request finished")
        .unwrap_or_else(|| panic!("no completion line:\n{text}"));
    let span = &done["span"];
    assert_eq!(span["method"], "GET");
    assert_eq!(span["path"], "/api/v1/jobs");
    assert_eq!(span["status"], 200);
    assert!(span["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(span["user_id"], user_id.to_string().as_str());
    assert_eq!(span["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
}
