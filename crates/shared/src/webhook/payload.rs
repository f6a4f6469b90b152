//! The JSON body of every webhook request.
//!
//! A receiver gets the same shape for every event: `event`, `timestamp`, `job_id`,
//! `result_id`, `status`, `items_count`, `pages_scraped` and `duration_seconds`, plus
//! `job_name`, `run_id` and `result_url` for runs, `error_message` for failures, and
//! `webhook_id`/`webhook_name` for a test ping. The body is built once, when the event is
//! queued, and stored: every retry sends the same bytes, so `timestamp` is when the event
//! happened, not when it was sent.

use chrono::{DateTime, SecondsFormat, Utc};
use grandma_store::{ResultRow, RunStatus, Uuid, Webhook, WebhookEvent};
use serde::{Deserialize, Serialize};

/// The path prefix of the REST API; `result_url` points into it.
pub const API_PREFIX: &str = "/api/v1";

/// The `event` of a test ping (not a subscribable event).
pub const PING_EVENT: &str = "ping";

/// One webhook body. Build it with [`WebhookPayload::run_started`],
/// [`WebhookPayload::run_ended`] or [`WebhookPayload::ping`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookPayload {
    /// `job.started`, `job.completed`, `job.failed`, `job.cancelled`, `job.items_changed`, or
    /// `ping`.
    pub event: String,
    /// When the event happened: RFC 3339 in UTC, whole seconds.
    pub timestamp: String,
    /// The webhook's own id and name (test pings only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_id: Option<Uuid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_name: Option<String>,
    /// The job of the run (`null` for a ping).
    pub job_id: Option<Uuid>,
    /// The job's name when the event was queued (`null` if the job was gone).
    #[serde(default)]
    pub job_name: Option<String>,
    /// The run, as the API names it (`/results/{result_id}`; `null` for a ping).
    pub result_id: Option<Uuid>,
    /// The run's identifier in logs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<Uuid>,
    /// The run's status when the event happened (`running` for `job.started`), or `ping`.
    pub status: String,
    pub items_count: i64,
    pub pages_scraped: i32,
    pub duration_seconds: f64,
    /// Where the run is read in the API (a path under [`API_PREFIX`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_url: Option<String>,
    /// Why the run failed (`job.failed` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `job.items_changed` only: the counts against the previous completed run (`new`,
    /// `changed`, `removed`, `unchanged`), added by the store with the comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changes: Option<serde_json::Value>,
    /// `job.items_changed` only: the first changes (kind, seq, item, previous, fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_changes: Option<serde_json::Value>,
}

/// How a run ended, for [`WebhookPayload::run_ended`].
#[derive(Debug, Clone, Copy)]
pub struct RunEnd<'a> {
    pub status: RunStatus,
    pub items_count: i64,
    pub pages_scraped: i32,
    pub duration_seconds: f64,
    pub error_message: Option<&'a str>,
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The API path of a run.
pub fn result_path(result_id: Uuid) -> String {
    format!("{API_PREFIX}/results/{result_id}")
}

impl WebhookPayload {
    fn for_run(event: WebhookEvent, run: &ResultRow, job_name: Option<&str>) -> Self {
        WebhookPayload {
            event: event.as_str().to_owned(),
            timestamp: stamp(Utc::now()),
            webhook_id: None,
            webhook_name: None,
            job_id: Some(run.job_id),
            job_name: job_name.map(str::to_owned),
            result_id: Some(run.result_id),
            run_id: Some(run.run_id),
            status: RunStatus::Running.as_str().to_owned(),
            items_count: 0,
            pages_scraped: 0,
            duration_seconds: 0.0,
            result_url: Some(result_path(run.result_id)),
            error_message: None,
            changes: None,
            first_changes: None,
        }
    }

    /// `job.started`: a worker began a fresh run.
    pub fn run_started(run: &ResultRow, job_name: &str) -> Self {
        Self::for_run(WebhookEvent::JobStarted, run, Some(job_name))
    }

    /// The final event of a run that ended with `end.status`; `None` if that status is not
    /// final (nothing to announce).
    pub fn run_ended(run: &ResultRow, job_name: Option<&str>, end: RunEnd<'_>) -> Option<Self> {
        let event = WebhookEvent::for_final_status(end.status)?;
        Some(WebhookPayload {
            status: end.status.as_str().to_owned(),
            items_count: end.items_count,
            pages_scraped: end.pages_scraped,
            duration_seconds: end.duration_seconds,
            error_message: end.error_message.map(str::to_owned),
            ..Self::for_run(event, run, job_name)
        })
    }

    /// `job.items_changed`: a completed run whose items differ from the previous completed
    /// run's. The store adds `changes` and `first_changes` when it has compared the two.
    pub fn items_changed(run: &ResultRow, job_name: Option<&str>, end: RunEnd<'_>) -> Self {
        WebhookPayload {
            status: end.status.as_str().to_owned(),
            items_count: end.items_count,
            pages_scraped: end.pages_scraped,
            duration_seconds: end.duration_seconds,
            ..Self::for_run(WebhookEvent::JobItemsChanged, run, job_name)
        }
    }

    /// A test ping to `webhook`: no job, no run, zero counters.
    pub fn ping(webhook: &Webhook) -> Self {
        WebhookPayload {
            event: PING_EVENT.to_owned(),
            timestamp: stamp(Utc::now()),
            webhook_id: Some(webhook.webhook_id),
            webhook_name: Some(webhook.name.clone()),
            job_id: None,
            job_name: None,
            result_id: None,
            run_id: None,
            status: PING_EVENT.to_owned(),
            items_count: 0,
            pages_scraped: 0,
            duration_seconds: 0.0,
            result_url: None,
            error_message: None,
            changes: None,
            first_changes: None,
        }
    }

    /// The stored form (a JSON object).
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a payload is plain JSON")
    }
}
