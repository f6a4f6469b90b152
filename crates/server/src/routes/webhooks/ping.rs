//! `POST /webhooks/{id}/test`: a signed ping sent now, through the same client as deliveries.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use grandma_shared::webhook::{Outgoing, WebhookClient, WebhookPayload};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::types::TestAttemptOut;
use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::ApiPath;
use crate::middleware::request_id;
use crate::state::AppState;

/// Timeout of the test ping.
const TEST_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(test_webhook))
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
#[instrument(skip_all, fields(user_id = %caller.user.user_id, webhook_id = %id))]
pub async fn test_webhook(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<TestAttemptOut>> {
    let webhook = state.store.get_webhook(caller.scope(), id).await?;
    authorize(&caller, Target::Org(webhook.org_id), Action::ChangeWebhooks)?;
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
