//! A job's notifications: the webhooks that hear about its runs, each with its recent
//! deliveries; adding, testing (a signed ping sent now) and removing them is done by
//! `notifications.js` through the webhooks API.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use grandma_store::{DeliveryStatus, Paging, WebhookEvent};
use uuid::Uuid;

use crate::auth::{Action, Target};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::view::When;

/// Webhooks of the owner read to find this job's; deliveries shown per webhook.
const MAX_WEBHOOKS: i64 = 200;
const RECENT_DELIVERIES: i64 = 10;

pub fn router() -> Router<AppState> {
    Router::new().route("/jobs/{id}/notifications", get(notifications_page))
}

struct DeliveryView {
    event: &'static str,
    status: &'static str,
    status_words: String,
    when: When,
}

struct WebhookView {
    id: Uuid,
    name: String,
    url: String,
    enabled: bool,
    /// Empty when it hears of every job of the owner rather than this one only.
    only_this_job: bool,
    events: String,
    disabled_reason: String,
    deliveries: Vec<DeliveryView>,
}

#[derive(Template)]
#[template(path = "web/notifications.html")]
struct NotificationsPage {
    layout: Layout,
    job_id: Uuid,
    job_name: String,
    webhooks: Vec<WebhookView>,
}

fn event_words(event: WebhookEvent) -> &'static str {
    match event {
        WebhookEvent::JobStarted => "run started",
        WebhookEvent::JobCompleted => "run finished",
        WebhookEvent::JobFailed => "run failed",
        WebhookEvent::JobCancelled => "run stopped",
        WebhookEvent::JobItemsChanged => "items changed",
    }
}

async fn notifications_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(job_id): Path<String>,
) -> Result<Response, WebError> {
    let job_id: Uuid = job_id.parse().map_err(|_| WebError::NotFound)?;
    let scope = user.scope();
    let job = state.store.get_job(scope, job_id).await?;
    user.authorize(Target::Org(job.org_id), Action::ReadWebhooks)?;
    let writes = user
        .authorize(Target::Org(job.org_id), Action::ChangeWebhooks)
        .is_ok();
    let all = state
        .store
        .list_webhooks(scope, None, Paging::new(MAX_WEBHOOKS, 0))
        .await?;
    let mut webhooks = Vec::new();
    // A webhook without a job hears of every job of its owner, this one included.
    for hook in all
        .items
        .into_iter()
        .filter(|w| w.job_id.is_none_or(|j| j == job_id) && w.owner_id == job.owner_id)
    {
        let deliveries = state
            .store
            .list_deliveries(
                scope,
                hook.webhook_id,
                None,
                Paging::new(RECENT_DELIVERIES, 0),
            )
            .await?;
        let deliveries = deliveries
            .items
            .into_iter()
            .map(|d| {
                let (status, words) = match d.status {
                    DeliveryStatus::Delivered => (
                        "completed",
                        format!(
                            "delivered{}",
                            d.response_status
                                .map(|s| format!(" (answer {s})"))
                                .unwrap_or_default()
                        ),
                    ),
                    DeliveryStatus::Pending => ("pending", "waiting to be sent".to_owned()),
                    DeliveryStatus::Retrying => (
                        "cancelled",
                        format!("not delivered yet, {} tries so far", d.attempts),
                    ),
                    DeliveryStatus::Failed => (
                        "failed",
                        format!(
                            "failed after {} tries{}",
                            d.attempts,
                            d.response_status
                                .map(|s| format!(" (last answer {s})"))
                                .unwrap_or_default()
                        ),
                    ),
                };
                DeliveryView {
                    event: event_words(d.event_type),
                    status,
                    status_words: words,
                    when: When::of(d.delivered_at.unwrap_or(d.created_at)),
                }
            })
            .collect();
        webhooks.push(WebhookView {
            id: hook.webhook_id,
            only_this_job: hook.job_id.is_some(),
            events: hook
                .events
                .iter()
                .map(|e| event_words(*e))
                .collect::<Vec<_>>()
                .join(", "),
            name: hook.name,
            url: hook.url,
            enabled: hook.enabled,
            disabled_reason: hook.disabled_reason.unwrap_or_default(),
            deliveries,
        });
    }
    Ok(render(&NotificationsPage {
        layout: user.layout(Nav::None).writes_if(writes),
        job_id,
        job_name: job.name,
        webhooks,
    }))
}
