//! A job's schedules: the list, and a form that writes the cron expression for the person
//! ("every day at 7:00", "weekdays at", "every N hours", or an expression for experts) in the
//! browser's time zone, showing the next five runs before saving (`schedules.js`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use grandma_shared::cron::{CronSchedule, describe};
use grandma_store::Paging;
use uuid::Uuid;

use crate::auth::{Action, Target};
use crate::routes::schedules::UPCOMING;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::view::When;

/// Schedules listed; a job with more is a script's doing, and the API lists them all.
const MAX_SCHEDULES: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/jobs/{id}/schedules", get(schedules_page))
}

/// A schedule as listed.
struct ScheduleView {
    id: Uuid,
    description: String,
    expression: String,
    timezone: String,
    enabled: bool,
    upcoming: Vec<When>,
    /// Why its latest firing queued no run, in words.
    skipped: Option<String>,
}

#[derive(Template)]
#[template(path = "web/schedules.html")]
struct SchedulesPage {
    layout: Layout,
    job_id: Uuid,
    job_name: String,
    schedules: Vec<ScheduleView>,
}

async fn schedules_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(job_id): Path<String>,
) -> Result<Response, WebError> {
    let job_id: Uuid = job_id.parse().map_err(|_| WebError::NotFound)?;
    let scope = user.scope();
    let job = state.store.get_job(scope, job_id).await?;
    user.authorize(Target::Org(job.org_id), Action::ReadSchedules)?;
    let writes = user
        .authorize(Target::Org(job.org_id), Action::ChangeSchedules)
        .is_ok();
    let schedules = state
        .store
        .list_schedules(scope, Some(job_id), Paging::new(MAX_SCHEDULES, 0))
        .await?;
    let now = Utc::now();
    let schedules = schedules
        .items
        .into_iter()
        .map(|s| ScheduleView {
            id: s.schedule_id,
            description: describe(&s.cron_expression),
            upcoming: CronSchedule::parse(&s.cron_expression, &s.timezone)
                .map(|c| {
                    c.upcoming(now, UPCOMING)
                        .into_iter()
                        .map(When::of)
                        .collect()
                })
                .unwrap_or_default(),
            skipped: s.last_skipped,
            expression: s.cron_expression,
            timezone: s.timezone,
            enabled: s.enabled,
        })
        .collect();
    Ok(render(&SchedulesPage {
        layout: user.layout(Nav::None).writes_if(writes),
        job_id,
        job_name: job.name,
        schedules,
    }))
}
