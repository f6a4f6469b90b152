//! A webhook's deliveries: the history with every attempt, and redelivery.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use grandma_store::{DeliveryFilter, Page};
use tracing::instrument;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use super::types::{DeliveryDetailOut, DeliveryListQuery, DeliveryOut, DeliveryPage};
use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiResult, ErrorOut};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub(super) fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_deliveries))
        .routes(routes!(get_delivery))
        .routes(routes!(redeliver))
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
#[instrument(skip_all, fields(user_id = %caller.user.user_id, webhook_id = %id))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<DeliveryListQuery>,
) -> ApiResult<Json<DeliveryPage>> {
    let paging = crate::routes::page::paging(query.limit, query.offset)?;
    let webhook = state.store.get_webhook(caller.scope(), id).await?;
    authorize(&caller, Target::Org(webhook.org_id), Action::ReadWebhooks)?;
    let filter = DeliveryFilter {
        status: query.status,
        event: query.event,
        result_id: query.result_id,
    };
    let page = state
        .store
        .search_deliveries(caller.scope(), id, &filter, paging)
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
#[instrument(skip_all, fields(user_id = %caller.user.user_id, delivery_id = %id))]
pub async fn get_delivery(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<DeliveryDetailOut>> {
    let delivery = state.store.get_delivery(caller.scope(), id).await?;
    let webhook = state
        .store
        .get_webhook(caller.scope(), delivery.webhook_id)
        .await?;
    authorize(&caller, Target::Org(webhook.org_id), Action::ReadWebhooks)?;
    let attempts = state.store.list_attempts(caller.scope(), id).await?;
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
#[instrument(skip_all, fields(user_id = %caller.user.user_id, delivery_id = %id))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<DeliveryOut>)> {
    let delivery = state.store.get_delivery(caller.scope(), id).await?;
    let webhook = state
        .store
        .get_webhook(caller.scope(), delivery.webhook_id)
        .await?;
    authorize(&caller, Target::Org(webhook.org_id), Action::ChangeWebhooks)?;
    let delivery = state.store.redeliver(caller.scope(), id).await?;
    tracing::info!("delivery queued again");
    Ok((StatusCode::ACCEPTED, Json(delivery.into())))
}
