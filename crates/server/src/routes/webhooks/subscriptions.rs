//! The subscriptions: create, list, read, change, delete, and rotate the signing secret.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use grandma_shared::webhook::generate_secret;
use grandma_store::{Page, Secret, Webhook, WebhookEvent, WebhookIn, WebhookVersion};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::check::{DEFAULT_MAX_RETRIES, check, check_job, done, parse_events};
use super::types::{
    SecretOut, WebhookCreateIn, WebhookCreatedOut, WebhookListQuery, WebhookOut, WebhookPage,
    WebhookPatchIn,
};
use crate::auth::{Action, Caller, Target, authorize};
use crate::conditional::{self, ETag};
use crate::error::{ApiError, ApiResult, ErrorOut, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_webhook, list_webhooks))
        .routes(routes!(get_webhook, update_webhook, delete_webhook))
        .routes(routes!(rotate_secret))
}

/// Creates a webhook. The secret (generated when not given) is in this response only.
#[utoipa::path(post, path = "/webhooks", tag = "Webhooks", security(("bearer" = [])),
    request_body = WebhookCreateIn,
    responses(
        (status = 201, description = "Created, with its secret", body = WebhookCreatedOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 422, description = "Every problem found", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn create_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<WebhookCreateIn>,
) -> ApiResult<(StatusCode, Json<WebhookCreatedOut>)> {
    let org = body.org_id.unwrap_or_else(|| caller.default_org());
    authorize(&caller, Target::Org(org), Action::ChangeWebhooks)?;
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
    check_job(&state, &caller, org, webhook.job_id, &mut problems).await?;
    done(problems)?;
    let created = state
        .store
        .create_webhook_in(org, caller.user.user_id, &webhook)
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

/// The webhooks of the caller's organizations (an admin's: everyone's; an API token's: its
/// organization's), oldest first.
#[utoipa::path(get, path = "/webhooks", tag = "Webhooks", security(("bearer" = [])),
    params(WebhookListQuery),
    responses((status = 200, description = "A page of webhooks", body = WebhookPage)))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<WebhookListQuery>,
) -> ApiResult<Json<WebhookPage>> {
    let paging = crate::routes::page::paging(query.limit, query.offset)?;
    let scope = caller.scope_in(query.org_id, Action::ReadWebhooks)?;
    let page = state
        .store
        .list_webhooks(scope, query.enabled, paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(WebhookPage::new(page, paging)))
}

/// The version of a webhook as answered: any change to what the client sees changes it.
fn webhook_tag(webhook: &WebhookOut) -> ApiResult<ETag> {
    conditional::of_json("webhook", webhook)
}

/// With `If-Match`: the stored version the client must have read, checked against `webhook`;
/// none without the header.
fn required_version(headers: &HeaderMap, webhook: &Webhook) -> ApiResult<Option<WebhookVersion>> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let tag = webhook_tag(&webhook.clone().into())?;
    conditional::required_version(headers, &tag, "webhook", WebhookVersion::from(webhook))
}

/// One webhook, with its `ETag`: send it back in `If-None-Match` to get a 304 while the
/// webhook is unchanged, or in `If-Match` to change or delete only the version you read.
#[utoipa::path(get, path = "/webhooks/{id}", tag = "Webhooks", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Webhook id"),
        ("If-None-Match" = Option<String>, Header, description = "The webhook's `ETag` from an earlier read: 304 while unchanged"),
    ),
    responses(
        (status = 200, description = "The webhook", body = WebhookOut,
            headers(("ETag" = String, description = "The webhook's current version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, webhook_id = %id))]
pub async fn get_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let webhook = state.store.get_webhook(caller.scope(), id).await?;
    authorize(&caller, Target::Org(webhook.org_id), Action::ReadWebhooks)?;
    let webhook = WebhookOut::from(webhook);
    let tag = webhook_tag(&webhook)?;
    Ok(conditional::changing_read(&headers, &tag, Json(webhook)))
}

/// Changes a webhook: enable or disable it, its events, URL (checked again), headers, retries;
/// with `If-Match`, only if the webhook is still the version read (a failed delivery changes
/// it too).
#[utoipa::path(patch, path = "/webhooks/{id}", tag = "Webhooks", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Webhook id"),
        ("If-Match" = Option<String>, Header, description = "The webhook's `ETag` when it was read: 412 if it changed since"),
    ),
    request_body = WebhookPatchIn,
    responses(
        (status = 200, description = "Updated", body = WebhookOut,
            headers(("ETag" = String, description = "The webhook's new version"))),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
        (status = 412, description = "The webhook changed since the `If-Match` version", body = ErrorOut),
        (status = 422, description = "Every problem found", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, webhook_id = %id))]
pub async fn update_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<WebhookPatchIn>,
) -> ApiResult<Response> {
    let old = state.store.get_webhook(caller.scope(), id).await?;
    authorize(&caller, Target::Org(old.org_id), Action::ChangeWebhooks)?;
    // Judged against the webhook as read, but answered after the body: a malformed request is
    // a 422 whatever the version.
    let precondition = required_version(&headers, &old);
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
        check_job(&state, &caller, old.org_id, webhook.job_id, &mut problems).await?;
    }
    done(problems)?;
    let version = precondition?;
    let updated = state
        .store
        .update_webhook_if(caller.scope(), id, &webhook, version)
        .await?;
    match updated {
        Some(webhook) => {
            let webhook = WebhookOut::from(webhook);
            let tag = webhook_tag(&webhook)?;
            Ok(conditional::tagged(Json(webhook), &tag))
        }
        // Written or deleted by someone else between the read and this write.
        None if version.is_some() => Err(conditional::stale("webhook")),
        None => Err(ApiError::NotFound),
    }
}

/// Deletes a webhook with its delivery history; with `If-Match`, only if the webhook is still
/// the version read.
#[utoipa::path(delete, path = "/webhooks/{id}", tag = "Webhooks", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Webhook id"),
        ("If-Match" = Option<String>, Header, description = "The webhook's `ETag` when it was read: 412 if it changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such webhook of the caller", body = ErrorOut),
        (status = 412, description = "The webhook changed since the `If-Match` version", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, webhook_id = %id))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let existing = state.store.get_webhook(caller.scope(), id).await?;
    authorize(&caller, Target::Org(existing.org_id), Action::ChangeWebhooks)?;
    if !headers.contains_key(header::IF_MATCH) {
        state.store.delete_webhook(caller.scope(), id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let version = required_version(&headers, &existing)?;
    match state
        .store
        .delete_webhook_if(caller.scope(), id, version)
        .await?
    {
        0 => Err(conditional::stale("webhook")),
        _ => Ok(StatusCode::NO_CONTENT),
    }
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
#[instrument(skip_all, fields(user_id = %caller.user.user_id, webhook_id = %id))]
pub async fn rotate_secret(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SecretOut>> {
    let old = state.store.get_webhook(caller.scope(), id).await?;
    authorize(&caller, Target::Org(old.org_id), Action::ChangeWebhooks)?;
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
        .update_webhook(caller.scope(), id, &webhook)
        .await?;
    tracing::info!("webhook secret rotated");
    Ok(Json(SecretOut { secret }))
}
