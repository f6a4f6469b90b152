//! `/webhooks` and `/webhook-deliveries`: webhook subscriptions, their signed deliveries and
//! the attempts of each (seed §5). Owner-scoped (admins see all); read-only users cannot write.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use grandma_shared::webhook::{
    Outgoing, WebhookClient, WebhookPayload, generate_secret, is_reserved_header,
};
use grandma_store::{
    Delivery, DeliveryAttempt, DeliveryFilter, DeliveryStatus, Page, Secret, Webhook, WebhookEvent,
    WebhookIn,
};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::middleware::request_id;
use crate::routes::page::{DEFAULT_LIMIT, page_type};
use crate::state::AppState;

/// Retries a webhook may ask for.
pub const MAX_RETRIES_LIMIT: i32 = 20;
/// Retries when the request does not say.
pub const DEFAULT_MAX_RETRIES: i32 = 5;
/// Timeout of the test ping.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
        .routes(routes!(test_webhook))
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
}

/// A webhook to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookCreateIn {
    pub name: String,
    /// `http` or `https`; checked against the server's network guard.
    pub url: String,
    /// Subscribed events: `job.started`, `job.completed`, `job.failed`, `job.cancelled`
    /// (default: the three final ones).
    pub events: Option<Vec<String>>,
    /// Only this job's runs (default: every job of the owner).
    pub job_id: Option<Uuid>,
    /// HMAC key of `X-Webhook-Signature`; generated when not given. Shown only in this
    /// response.
    pub secret: Option<String>,
    /// Extra request headers; they cannot replace `X-Webhook-*`, `Host` or the framing headers.
    pub headers: Option<BTreeMap<String, String>>,
    pub enabled: Option<bool>,
    pub retry_on_failure: Option<bool>,
    /// Retries after the first attempt, 0..=20 (default 5).
    pub max_retries: Option<i32>,
}

/// Changes to a webhook; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchIn {
    pub name: Option<String>,
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    /// `null` leaves the job filter; use `all_jobs: true` to remove it.
    pub job_id: Option<Uuid>,
    /// Removes the job filter.
    pub all_jobs: Option<bool>,
    pub headers: Option<BTreeMap<String, String>>,
    /// Enabling again clears an automatic disable and its failure count.
    pub enabled: Option<bool>,
    pub retry_on_failure: Option<bool>,
    pub max_retries: Option<i32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub owner_id: Uuid,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<String>,
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
            name: w.name,
            url: w.url,
            enabled: w.enabled,
            events: w.events.iter().map(|e| e.as_str().to_owned()).collect(),
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
    pub offset: Option<i64>,
    pub enabled: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    pub id: Uuid,
    pub webhook_id: Uuid,
    pub result_id: Option<Uuid>,
    pub event: String,
    /// `pending`, `retrying`, `delivered` or `failed`.
    pub status: String,
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
            event: d.event_type.as_str().to_owned(),
            status: d.status.as_str().to_owned(),
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
    pub offset: Option<i64>,
    /// `pending`, `retrying`, `delivered` or `failed`.
    pub status: Option<String>,
    /// An event name such as `job.completed`.
    pub event: Option<String>,
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

fn parse_events(events: &[String]) -> Result<Vec<WebhookEvent>, FieldProblem> {
    if events.is_empty() {
        return Err(FieldProblem::new(
            "events",
            "subscribe to at least one event",
        ));
    }
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let event: WebhookEvent = e.parse().map_err(|_| {
            FieldProblem::new(
                format!("events[{i}]"),
                format!(
                    "unknown event {e:?}; expected job.started, job.completed, job.failed or \
                     job.cancelled"
                ),
            )
        })?;
        if !out.contains(&event) {
            out.push(event);
        }
    }
    Ok(out)
}

/// Checks every writable field; collects all problems.
fn check(state: &AppState, w: &WebhookIn, problems: &mut Vec<FieldProblem>) {
    if w.name.trim().is_empty() || w.name.len() > 200 {
        problems.push(FieldProblem::new("name", "1 to 200 characters"));
    }
    match url::Url::parse(&w.url) {
        Ok(url) => {
            if let Err(e) = state.settings.network_guard().check_url(&url) {
                problems.push(FieldProblem::new("url", e.to_string()));
            }
        }
        Err(e) => problems.push(FieldProblem::new("url", format!("not a URL: {e}"))),
    }
    for (name, value) in &w.headers {
        let path = format!("headers.{name}");
        if is_reserved_header(name) {
            problems.push(FieldProblem::new(path, "this header is set by the server"));
        } else if axum::http::HeaderName::from_bytes(name.as_bytes()).is_err()
            || axum::http::HeaderValue::from_str(value).is_err()
        {
            problems.push(FieldProblem::new(path, "not a valid HTTP header"));
        }
    }
    if !(0..=MAX_RETRIES_LIMIT).contains(&w.max_retries) {
        problems.push(FieldProblem::new(
            "max_retries",
            format!("between 0 and {MAX_RETRIES_LIMIT}"),
        ));
    }
    if w.secret.as_ref().is_some_and(|s| s.expose().len() < 8) {
        problems.push(FieldProblem::new("secret", "at least 8 characters"));
    }
}

async fn check_job(
    state: &AppState,
    current: &CurrentUser,
    job_id: Option<Uuid>,
    problems: &mut Vec<FieldProblem>,
) -> ApiResult<()> {
    if let Some(job_id) = job_id {
        match state.store.get_job(current.scope(), job_id).await {
            Ok(_) => {}
            Err(grandma_store::StoreError::NotFound) => {
                problems.push(FieldProblem::new("job_id", "no such job"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

fn done(problems: Vec<FieldProblem>) -> ApiResult<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(problems))
    }
}

/// Creates a webhook. The secret (generated when not given) is in this response only.
#[utoipa::path(post, path = "/webhooks", tag = "Webhooks", security(("bearer" = [])),
    request_body = WebhookCreateIn,
    responses(
        (status = 201, description = "Created, with its secret", body = WebhookCreatedOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 422, description = "Every problem found", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id))]
pub async fn create_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiJson(body): ApiJson<WebhookCreateIn>,
) -> ApiResult<(StatusCode, Json<WebhookCreatedOut>)> {
    current.require_writer()?;
    let mut problems = Vec::new();
    let events = match body.events {
        None => vec![
            WebhookEvent::JobCompleted,
            WebhookEvent::JobFailed,
            WebhookEvent::JobCancelled,
        ],
        Some(events) => parse_events(&events).unwrap_or_else(|p| {
            problems.push(p);
            Vec::new()
        }),
    };
    let secret = body.secret.unwrap_or_else(generate_secret);
    let webhook = WebhookIn {
        name: body.name,
        url: body.url,
        enabled: body.enabled.unwrap_or(true),
        events,
        job_id: body.job_id,
        secret: Some(Secret::from(secret.clone())),
        headers: body.headers.unwrap_or_default(),
        retry_on_failure: body.retry_on_failure.unwrap_or(true),
        max_retries: body.max_retries.unwrap_or(DEFAULT_MAX_RETRIES),
    };
    check(&state, &webhook, &mut problems);
    check_job(&state, &current, webhook.job_id, &mut problems).await?;
    done(problems)?;
    let created = state
        .store
        .create_webhook(current.user.user_id, &webhook)
        .await?;
    tracing::info!(webhook_id = %created.webhook_id, "webhook created");
    Ok((
        StatusCode::CREATED,
        Json(WebhookCreatedOut {
            webhook: created.into(),
            secret,
        }),
    ))
}

/// The caller's webhooks (an admin's: everyone's), oldest first.
#[utoipa::path(get, path = "/webhooks", tag = "Webhooks", security(("bearer" = [])),
    params(WebhookListQuery),
    responses((status = 200, description = "A page of webhooks", body = WebhookPage)))]
#[instrument(skip_all, fields(user_id = %current.user.user_id))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiQuery(query): ApiQuery<WebhookListQuery>,
) -> ApiResult<Json<WebhookPage>> {
    let paging = grandma_store::Paging::new(
        query.limit.unwrap_or(DEFAULT_LIMIT),
        query.offset.unwrap_or(0),
    );
    let page = state
        .store
        .list_webhooks(current.scope(), query.enabled, paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(WebhookPage::new(page, paging)))
}

/// One webhook.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "Webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The webhook", body = WebhookOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, webhook_id = %id))]
pub async fn get_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<WebhookOut>> {
    Ok(Json(
        state.store.get_webhook(current.scope(), id).await?.into(),
    ))
}

/// Changes a webhook: enable or disable it, its events, URL (checked again), headers, retries.
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "Webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    request_body = WebhookPatchIn,
    responses(
        (status = 200, description = "Updated", body = WebhookOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
        (status = 422, description = "Every problem found", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, webhook_id = %id))]
pub async fn update_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<WebhookPatchIn>,
) -> ApiResult<Json<WebhookOut>> {
    current.require_writer()?;
    let old = state.store.get_webhook(current.scope(), id).await?;
    let mut problems = Vec::new();
    let events = match body.events {
        None => old.events.clone(),
        Some(events) => parse_events(&events).unwrap_or_else(|p| {
            problems.push(p);
            Vec::new()
        }),
    };
    let job_id = if body.all_jobs == Some(true) {
        None
    } else {
        body.job_id.or(old.job_id)
    };
    let webhook = WebhookIn {
        name: body.name.unwrap_or(old.name),
        url: body.url.unwrap_or(old.url),
        enabled: body.enabled.unwrap_or(old.enabled),
        events,
        job_id,
        secret: old.secret,
        headers: body.headers.unwrap_or(old.headers),
        retry_on_failure: body.retry_on_failure.unwrap_or(old.retry_on_failure),
        max_retries: body.max_retries.unwrap_or(old.max_retries),
    };
    check(&state, &webhook, &mut problems);
    if body.job_id.is_some() {
        check_job(&state, &current, webhook.job_id, &mut problems).await?;
    }
    done(problems)?;
    let updated = state
        .store
        .update_webhook(current.scope(), id, &webhook)
        .await?;
    Ok(Json(updated.into()))
}

/// Deletes a webhook with its delivery history.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "Webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, webhook_id = %id))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    current.require_writer()?;
    state.store.delete_webhook(current.scope(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces the signing secret with a new random one, shown in this response only. Retries of
/// earlier deliveries are signed with the new secret.
#[utoipa::path(post, path = "/webhooks/{id}/rotate-secret", tag = "Webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The new secret", body = SecretOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, webhook_id = %id))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SecretOut>> {
    current.require_writer()?;
    let old = state.store.get_webhook(current.scope(), id).await?;
    let secret = generate_secret();
    let webhook = WebhookIn {
        name: old.name,
        url: old.url,
        enabled: old.enabled,
        events: old.events,
        job_id: old.job_id,
        secret: Some(Secret::from(secret.clone())),
        headers: old.headers,
        retry_on_failure: old.retry_on_failure,
        max_retries: old.max_retries,
    };
    state
        .store
        .update_webhook(current.scope(), id, &webhook)
        .await?;
    tracing::info!("webhook secret rotated");
    Ok(Json(SecretOut { secret }))
}

/// Sends a signed `ping` event to the webhook now (even when disabled) and returns the
/// attempt. Nothing is stored or retried.
#[utoipa::path(post, path = "/webhooks/{id}/test", tag = "Webhooks", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id")),
    responses(
        (status = 200, description = "The attempt (see `delivered`)", body = TestAttemptOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, webhook_id = %id))]
pub async fn test_webhook(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TestAttemptOut>> {
    current.require_writer()?;
    let webhook = state.store.get_webhook(current.scope(), id).await?;
    let delivery_id = Uuid::now_v7();
    let payload = WebhookPayload::ping(&webhook);
    let body = serde_json::to_vec(&payload).map_err(ApiError::internal)?;
    let client = WebhookClient::new(state.settings.network_guard(), TEST_TIMEOUT)
        .map_err(ApiError::internal)?;
    let request_id = request_id::current();
    let sent = client
        .send(Outgoing {
            url: &webhook.url,
            delivery_id,
            event: &payload.event,
            secret: webhook.secret.as_ref().map(|s| s.expose()),
            headers: &webhook.headers,
            body: &body,
            request_id: request_id.as_deref(),
        })
        .await;
    Ok(Json(TestAttemptOut {
        delivered: sent.is_success(),
        delivery_id,
        payload: payload.to_value(),
        response_status: sent.status,
        response_body: sent.body,
        error: sent.error,
        duration_ms: i64::try_from(sent.duration.as_millis()).unwrap_or(i64::MAX),
    }))
}

/// A webhook's deliveries, newest first, filtered by status, event and run.
#[utoipa::path(get, path = "/webhooks/{id}/deliveries", tag = "Webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Webhook id"), DeliveryListQuery),
    responses(
        (status = 200, description = "A page of deliveries", body = DeliveryPage),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
        (status = 422, description = "Unknown status or event", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, webhook_id = %id))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DeliveryListQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    let paging = grandma_store::Paging::new(
        query.limit.unwrap_or(DEFAULT_LIMIT),
        query.offset.unwrap_or(0),
    );
    let status = query
        .status
        .as_deref()
        .map(str::parse::<DeliveryStatus>)
        .transpose()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let event = query
        .event
        .as_deref()
        .map(str::parse::<WebhookEvent>)
        .transpose()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let filter = DeliveryFilter {
        status,
        event,
        result_id: query.result_id,
    };
    let page = state
        .store
        .search_deliveries(current.scope(), id, &filter, paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(DeliveryPage::new(page, paging)))
}

/// One delivery with all its attempts.
#[utoipa::path(get, path = "/webhook-deliveries/{id}", tag = "Webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Delivery id (the `X-Webhook-Id` header)")),
    responses(
        (status = 200, description = "The delivery", body = DeliveryDetailOut),
        (status = 404, description = "No such delivery of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, delivery_id = %id))]
pub async fn get_delivery(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DeliveryDetailOut>> {
    let delivery = state.store.get_delivery(current.scope(), id).await?;
    let attempts = state.store.list_attempts(current.scope(), id).await?;
    Ok(Json(DeliveryDetailOut {
        delivery: delivery.into(),
        attempt_log: attempts.into_iter().map(Into::into).collect(),
    }))
}

/// Queues a delivery again, due now, with the same id and payload.
#[utoipa::path(post, path = "/webhook-deliveries/{id}/redeliver", tag = "Webhooks",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Delivery id")),
    responses(
        (status = 202, description = "Queued", body = DeliveryOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such delivery of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %current.user.user_id, delivery_id = %id))]
pub async fn redeliver(
    State(state): State<AppState>,
    current: CurrentUser,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<DeliveryOut>)> {
    current.require_writer()?;
    let delivery = state.store.redeliver(current.scope(), id).await?;
    tracing::info!("delivery queued again");
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}
