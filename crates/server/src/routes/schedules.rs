//! `/jobs/{id}/schedules` and `/schedules/{id}`: cron schedules that queue runs of a job.
//! Expressions have five fields and are read in an IANA time zone; every response carries a
//! description and the next run times so a user can check what they wrote.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use grandma_shared::cron::{CronSchedule, CronSpecError, describe};
use grandma_store::{OverlapPolicy, Page, Schedule, ScheduleIn};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::conditional::{self, ETag};
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::{PageQuery, page_type};
use crate::state::AppState;

/// Run times listed in a response.
pub const UPCOMING: usize = 5;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_schedule, list_schedules))
        .routes(routes!(get_schedule, update_schedule, delete_schedule))
        .routes(routes!(preview_schedule))
}

/// An expression to check before saving it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePreviewIn {
    /// Five fields: minute hour day-of-month month day-of-week (`0 9 * * 1-5`).
    #[schema(max_length = 200)]
    pub cron_expression: String,
    /// IANA zone the expression is read in (default `UTC`).
    pub timezone: Option<String>,
}

/// What a schedule would do.
#[derive(Debug, Serialize, ToSchema)]
pub struct SchedulePreviewOut {
    pub cron_expression: String,
    /// The expression in words.
    pub description: String,
    pub timezone: String,
    /// Its next five run times after now.
    pub upcoming_runs: Vec<DateTime<Utc>>,
}

/// Longest expression accepted: five fields with lists and ranges fit in far less.
const MAX_EXPRESSION_CHARS: usize = 200;

/// Checks an expression and answers its description and next five run times, without saving
/// anything (the web app shows them before a schedule is saved).
#[utoipa::path(post, path = "/schedules/preview", tag = "Schedules",
    request_body = SchedulePreviewIn,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The expression in words and its next runs", body = SchedulePreviewOut),
        (status = 401, description = "Not authenticated", body = ErrorOut),
        (status = 422, description = "Invalid expression or time zone", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn preview_schedule(
    caller: Caller,
    ApiJson(body): ApiJson<SchedulePreviewIn>,
) -> ApiResult<Json<SchedulePreviewOut>> {
    authorize(&caller, Target::Account, Action::ReadSchedules)?;
    let expression = body.cron_expression.trim().to_owned();
    if expression.chars().count() > MAX_EXPRESSION_CHARS {
        return Err(ApiError::invalid(
            "cron_expression",
            format!("must have at most {MAX_EXPRESSION_CHARS} characters"),
        ));
    }
    let timezone = body.timezone.unwrap_or_else(|| "UTC".to_owned());
    let cron = CronSchedule::parse(&expression, &timezone)
        .map_err(|e| ApiError::Validation(vec![cron_problem(e)]))?;
    Ok(Json(SchedulePreviewOut {
        description: describe(&expression),
        upcoming_runs: cron.upcoming(Utc::now(), UPCOMING),
        cron_expression: expression,
        timezone,
    }))
}

/// A schedule to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleCreateIn {
    /// Five fields: minute hour day-of-month month day-of-week (`0 9 * * 1-5`).
    pub cron_expression: String,
    /// IANA zone the expression is read in (default `UTC`).
    pub timezone: Option<String>,
    pub enabled: Option<bool>,
    /// `skip` (default): no run while the previous one is pending or running; `queue`.
    #[schema(value_type = Option<OverlapPolicy>)]
    pub overlap_policy: Option<String>,
}

/// Changes to a schedule; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePatchIn {
    pub cron_expression: Option<String>,
    pub timezone: Option<String>,
    pub enabled: Option<bool>,
    #[schema(value_type = Option<OverlapPolicy>)]
    pub overlap_policy: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleOut {
    pub id: Uuid,
    pub job_id: Uuid,
    /// Who created the schedule.
    pub owner_id: Uuid,
    /// The organization of the schedule's job.
    pub org_id: Uuid,
    pub cron_expression: String,
    /// The expression in words.
    pub description: String,
    pub timezone: String,
    pub enabled: bool,
    pub overlap_policy: OverlapPolicy,
    /// When the scheduler fires next (`null` while disabled).
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<DateTime<Utc>>,
    /// Why the latest firing queued no run (its organization was over a quota), in words;
    /// `null` after a firing that queued one.
    pub last_skipped: Option<String>,
    /// The next five run times of the expression, whether enabled or not.
    pub upcoming_runs: Vec<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Schedule> for ScheduleOut {
    fn from(s: Schedule) -> Self {
        let upcoming_runs = CronSchedule::parse(&s.cron_expression, &s.timezone)
            .map(|c| c.upcoming(Utc::now(), UPCOMING))
            .unwrap_or_default();
        ScheduleOut {
            id: s.schedule_id,
            job_id: s.job_id,
            owner_id: s.owner_id,
            org_id: s.org_id,
            description: describe(&s.cron_expression),
            cron_expression: s.cron_expression,
            timezone: s.timezone,
            enabled: s.enabled,
            overlap_policy: s.overlap_policy,
            next_run: s.next_run,
            last_run: s.last_run,
            last_skipped: s.last_skipped,
            upcoming_runs,
            created_at: s.created_at,
            updated_at: s.updated_at,
        }
    }
}

page_type!(SchedulePage, ScheduleOut);

fn cron_problem(e: CronSpecError) -> FieldProblem {
    match e {
        CronSpecError::TimeZone(_) => FieldProblem::new("timezone", e.to_string()),
        _ => FieldProblem::new("cron_expression", e.to_string()),
    }
}

/// Validates and computes `next_run` (after now) when enabled.
fn schedule_in(
    expression: String,
    timezone: String,
    enabled: bool,
    policy: Option<&str>,
    default_policy: OverlapPolicy,
) -> ApiResult<ScheduleIn> {
    let mut problems = Vec::new();
    let expression = expression.trim().to_owned();
    let cron = CronSchedule::parse(&expression, &timezone)
        .map_err(|e| problems.push(cron_problem(e)))
        .ok();
    let overlap_policy = match policy {
        None => default_policy,
        Some(p) => p
            .parse()
            .unwrap_or_else(|e: grandma_store::UnknownVariant| {
                problems.push(FieldProblem::new("overlap_policy", e.to_string()));
                default_policy
            }),
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let next_run = cron
        .filter(|_| enabled)
        .and_then(|c| c.next_after(Utc::now()));
    Ok(ScheduleIn {
        cron_expression: expression,
        timezone,
        enabled,
        next_run,
        overlap_policy,
    })
}

/// Creates a schedule for a job.
#[utoipa::path(post, path = "/jobs/{id}/schedules", tag = "Schedules",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    request_body = ScheduleCreateIn,
    responses(
        (status = 201, description = "Created", body = ScheduleOut),
        (status = 403, description = "Read-only user, or the organization has all its schedules (the body adds `usage`, as in QuotaErrorOut)", body = ErrorOut),
        (status = 404, description = "No such job of the caller", body = ErrorOut),
        (status = 422, description = "Invalid expression, zone or policy", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, job_id = %id))]
pub async fn create_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ScheduleCreateIn>,
) -> ApiResult<(StatusCode, Json<ScheduleOut>)> {
    let job = state.store.get_job(caller.scope(), id).await?;
    authorize(&caller, Target::Org(job.org_id), Action::ChangeSchedules)?;
    let schedule = schedule_in(
        body.cron_expression,
        body.timezone.unwrap_or_else(|| "UTC".to_owned()),
        body.enabled.unwrap_or(true),
        body.overlap_policy.as_deref(),
        OverlapPolicy::Skip,
    )?;
    let created = crate::quota::create_schedule(&state, caller.scope(), id, &schedule).await?;
    tracing::info!(schedule_id = %created.schedule_id, "schedule created");
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// A job's schedules, oldest first.
#[utoipa::path(get, path = "/jobs/{id}/schedules", tag = "Schedules",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id"), PageQuery),
    responses(
        (status = 200, description = "A page of schedules", body = SchedulePage),
        (status = 404, description = "No such job of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, job_id = %id))]
pub async fn list_schedules(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<SchedulePage>> {
    let paging = query.paging()?;
    let job = state.store.get_job(caller.scope(), id).await?;
    authorize(&caller, Target::Org(job.org_id), Action::ReadSchedules)?;
    let page = state
        .store
        .list_schedules(caller.scope(), Some(id), paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(SchedulePage::new(page, paging)))
}

/// The version of a schedule as answered: any change to what the client sees changes it,
/// including its upcoming runs once the first of them has passed.
fn schedule_tag(schedule: &ScheduleOut) -> ApiResult<ETag> {
    conditional::of_json("schedule", schedule)
}

/// With `If-Match`: the stored version the client must have read, checked against
/// `schedule`; none without the header.
fn required_version(headers: &HeaderMap, schedule: &Schedule) -> ApiResult<Option<DateTime<Utc>>> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let tag = schedule_tag(&schedule.clone().into())?;
    conditional::required_version(headers, &tag, "schedule", schedule.updated_at)
}

/// One schedule, with its `ETag`: send it back in `If-None-Match` to get a 304 while the
/// schedule is unchanged, or in `If-Match` to change or delete only the version you read.
#[utoipa::path(get, path = "/schedules/{id}", tag = "Schedules", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Schedule id"),
        ("If-None-Match" = Option<String>, Header, description = "The schedule's `ETag` from an earlier read: 304 while unchanged"),
    ),
    responses(
        (status = 200, description = "The schedule", body = ScheduleOut,
            headers(("ETag" = String, description = "The schedule's current version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 404, description = "No such schedule of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, schedule_id = %id))]
pub async fn get_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let schedule = state.store.get_schedule(caller.scope(), id).await?;
    authorize(&caller, Target::Org(schedule.org_id), Action::ReadSchedules)?;
    let schedule = ScheduleOut::from(schedule);
    let tag = schedule_tag(&schedule)?;
    Ok(conditional::changing_read(&headers, &tag, Json(schedule)))
}

/// Changes a schedule; with `If-Match`, only if the schedule is still the version read (a
/// firing changes it too). `next_run` is computed again from now when the expression, the
/// zone or `enabled` changes.
#[utoipa::path(patch, path = "/schedules/{id}", tag = "Schedules", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Schedule id"),
        ("If-Match" = Option<String>, Header, description = "The schedule's `ETag` when it was read: 412 if it changed since"),
    ),
    request_body = SchedulePatchIn,
    responses(
        (status = 200, description = "Updated", body = ScheduleOut,
            headers(("ETag" = String, description = "The schedule's new version"))),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such schedule of the caller", body = ErrorOut),
        (status = 412, description = "The schedule changed since the `If-Match` version", body = ErrorOut),
        (status = 422, description = "Invalid expression, zone or policy", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, schedule_id = %id))]
pub async fn update_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<SchedulePatchIn>,
) -> ApiResult<Response> {
    let old = state.store.get_schedule(caller.scope(), id).await?;
    authorize(&caller, Target::Org(old.org_id), Action::ChangeSchedules)?;
    // Judged against the schedule as read, but answered after the body: a malformed request
    // is a 422 whatever the version.
    let precondition = required_version(&headers, &old);
    let timing_changed = body.cron_expression.is_some()
        || body.timezone.is_some()
        || body.enabled.is_some_and(|e| e != old.enabled);
    let mut schedule = schedule_in(
        body.cron_expression.unwrap_or(old.cron_expression),
        body.timezone.unwrap_or(old.timezone),
        body.enabled.unwrap_or(old.enabled),
        body.overlap_policy.as_deref(),
        old.overlap_policy,
    )?;
    let version = precondition?;
    if !timing_changed {
        schedule.next_run = old.next_run;
    }
    let updated = state
        .store
        .update_schedule_if(caller.scope(), id, &schedule, version)
        .await?;
    match updated {
        Some(schedule) => {
            let schedule = ScheduleOut::from(schedule);
            let tag = schedule_tag(&schedule)?;
            Ok(conditional::tagged(Json(schedule), &tag))
        }
        // Written (or fired) or deleted by someone else between the read and this write.
        None if version.is_some() => Err(conditional::stale("schedule")),
        None => Err(ApiError::NotFound),
    }
}

/// Deletes a schedule (its runs stay); with `If-Match`, only if the schedule is still the
/// version read.
#[utoipa::path(delete, path = "/schedules/{id}", tag = "Schedules", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Schedule id"),
        ("If-Match" = Option<String>, Header, description = "The schedule's `ETag` when it was read: 412 if it changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such schedule of the caller", body = ErrorOut),
        (status = 412, description = "The schedule changed since the `If-Match` version", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, schedule_id = %id))]
pub async fn delete_schedule(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let existing = state.store.get_schedule(caller.scope(), id).await?;
    authorize(
        &caller,
        Target::Org(existing.org_id),
        Action::ChangeSchedules,
    )?;
    if !headers.contains_key(header::IF_MATCH) {
        state.store.delete_schedule(caller.scope(), id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let version = required_version(&headers, &existing)?;
    match state
        .store
        .delete_schedule_if(caller.scope(), id, version)
        .await?
    {
        0 => Err(conditional::stale("schedule")),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}
