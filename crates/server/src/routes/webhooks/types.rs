//! What the webhook endpoints read and answer.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use grandma_store::{Delivery, DeliveryAttempt, DeliveryStatus, Webhook, WebhookEvent};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::routes::page::page_type;

/// A webhook to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreateIn {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// `http` or `https`; checked against the server's network guard.
    pub url: String,
    /// Subscribed events (default: the three final ones). Read as text so that an unknown
    /// one is reported with every other problem of the request.
    #[schema(value_type = Option<Vec<WebhookEvent>>, min_items = 1)]
    pub events: Option<Vec<String>>,
    /// Only this job's runs (default: every job of the organization).
    pub job_id: Option<Uuid>,
    /// The organization whose runs it hears of: by default the API token's organization,
    /// else the caller's personal one.
    pub org_id: Option<Uuid>,
    /// HMAC key of `X-Webhook-Signature`; generated when not given. Shown only in this
    /// response. At least 8 bytes.
    #[schema(min_length = 8)]
    pub secret: Option<String>,
    /// Extra request headers; they cannot replace `X-Webhook-*`, `Host` or the framing headers.
    pub headers: Option<BTreeMap<String, String>>,
    pub enabled: Option<bool>,
    pub retry_on_failure: Option<bool>,
    /// Retries after the first attempt, 0..=20 (default 5).
    #[schema(minimum = 0, maximum = 20)]
    pub max_retries: Option<i32>,
}

/// Changes to a webhook; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchIn {
    /// 1 to 200 characters.
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    pub url: Option<String>,
    #[schema(value_type = Option<Vec<WebhookEvent>>, min_items = 1)]
    pub events: Option<Vec<String>>,
    /// `null` leaves the job filter; use `all_jobs: true` to remove it.
    pub job_id: Option<Uuid>,
    /// Removes the job filter.
    pub all_jobs: Option<bool>,
    pub headers: Option<BTreeMap<String, String>>,
    /// Enabling again clears an automatic disable and its failure count.
    pub enabled: Option<bool>,
    pub retry_on_failure: Option<bool>,
    /// Retries after the first attempt, 0..=20.
    #[schema(minimum = 0, maximum = 20)]
    pub max_retries: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    /// Who created the webhook.
    pub owner_id: Uuid,
    /// The organization whose runs it hears of.
    pub org_id: Uuid,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<WebhookEvent>,
    pub job_id: Option<Uuid>,
    /// Whether deliveries are signed (the secret itself is shown only on create and rotate).
    pub has_secret: bool,
    pub headers: BTreeMap<String, String>,
    pub retry_on_failure: bool,
    pub max_retries: i32,
    /// Deliveries that failed for good in a row.
    pub consecutive_failures: i32,
    /// Why the system disabled the webhook, if it did.
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        WebhookOut {
            id: w.webhook_id,
            owner_id: w.owner_id,
            org_id: w.org_id,
            name: w.name,
            url: w.url,
            enabled: w.enabled,
            events: w.events,
            job_id: w.job_id,
            has_secret: w.secret.is_some(),
            headers: w.headers,
            retry_on_failure: w.retry_on_failure,
            max_retries: w.max_retries,
            consecutive_failures: w.consecutive_failures,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A created webhook with its secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookCreatedOut {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    pub secret: String,
}

/// A new secret, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecretOut {
    pub secret: String,
}

page_type!(WebhookPage, WebhookOut);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WebhookListQuery {
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    pub enabled: Option<bool>,
    /// Only this organization's webhooks (default: those of every organization of the caller).
    pub org_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub result_id: Option<Uuid>,
    pub event: WebhookEvent,
    pub status: DeliveryStatus,
    /// The JSON body sent (signed byte for byte).
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub response_status: Option<i32>,
    /// The last response body, cut to 4 KiB.
    pub response_body: Option<String>,
    pub attempts: i32,
    pub next_retry: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Sent as `X-Request-ID`: the request that queued the run (absent for scheduled runs).
    pub request_id: Option<String>,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        let pending = matches!(d.status, DeliveryStatus::Pending | DeliveryStatus::Retrying);
        DeliveryOut {
            id: d.delivery_id,
            webhook_id: d.webhook_id,
            result_id: d.result_id,
            event: d.event_type,
            status: d.status,
            payload: d.payload,
            response_status: d.response_status,
            response_body: d.response_body,
            attempts: d.attempts,
            next_retry: d.next_retry.filter(|_| pending),
            delivered_at: d.delivered_at,
            created_at: d.created_at,
            request_id: d.request_id,
        }
    }
}

page_type!(DeliveryPage, DeliveryOut);

/// One HTTP attempt.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptOut {
    pub attempted_at: DateTime<Utc>,
    pub response_status: Option<i32>,
    /// Transport error, timeout or guard refusal.
    pub error: Option<String>,
    pub duration_ms: i64,
}

impl From<DeliveryAttempt> for AttemptOut {
    fn from(a: DeliveryAttempt) -> Self {
        AttemptOut {
            attempted_at: a.attempted_at,
            response_status: a.response_status,
            error: a.error,
            duration_ms: a.duration_ms,
        }
    }
}

/// A delivery with every attempt, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDetailOut {
    #[serde(flatten)]
    pub delivery: DeliveryOut,
    pub attempt_log: Vec<AttemptOut>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveryListQuery {
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    #[param(value_type = Option<DeliveryStatus>)]
    pub status: Option<DeliveryStatus>,
    #[param(value_type = Option<WebhookEvent>)]
    pub event: Option<WebhookEvent>,
    /// Only deliveries about this run.
    pub result_id: Option<Uuid>,
}

/// The result of a test ping (not stored as a delivery).
#[derive(Debug, Serialize, ToSchema)]
pub struct TestAttemptOut {
    /// A 2xx answer.
    pub delivered: bool,
    pub delivery_id: Uuid,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub response_status: Option<u16>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}
