//! The rules of a webhook: every writable field checked, every problem reported at once.

use grandma_store::{UnknownVariant, WebhookEvent, WebhookIn};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, FieldProblem};
use crate::state::AppState;
use grandma_shared::webhook::is_reserved_header;

/// Retries a webhook may ask for.
pub const MAX_RETRIES_LIMIT: i32 = 20;
/// Retries when the request does not say.
pub const DEFAULT_MAX_RETRIES: i32 = 5;

pub(super) fn parse_events(events: &[String]) -> Result<Vec<WebhookEvent>, FieldProblem> {
    if events.is_empty() {
        return Err(FieldProblem::new(
            "events",
            "subscribe to at least one event",
        ));
    }
    let mut out = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let event: WebhookEvent = e.parse().map_err(|e: UnknownVariant| {
            FieldProblem::new(format!("events[{i}]"), e.to_string())
        })?;
        if !out.contains(&event) {
            out.push(event);
        }
    }
    Ok(out)
}

/// Checks every writable field; collects all problems.
pub(super) fn check(state: &AppState, w: &WebhookIn, problems: &mut Vec<FieldProblem>) {
    if w.name.trim().is_empty() || w.name.chars().count() > 200 {
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

/// A webhook's job filter names a job of the webhook's own organization `org`: a team's
/// webhook never hears of another team's runs.
pub(super) async fn check_job(
    state: &AppState,
    caller: &Caller,
    org: Uuid,
    job_id: Option<Uuid>,
    problems: &mut Vec<FieldProblem>,
) -> ApiResult<()> {
    if let Some(job_id) = job_id {
        match state.store.get_job(caller.scope(), job_id).await {
            Ok(job) if job.org_id == org => {}
            Ok(_) => problems.push(FieldProblem::new(
                "job_id",
                "the job belongs to another organization than the webhook",
            )),
            Err(grandma_store::StoreError::NotFound) => {
                problems.push(FieldProblem::new("job_id", "no such job"))
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

pub(super) fn done(problems: Vec<FieldProblem>) -> ApiResult<()> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(problems))
    }
}
