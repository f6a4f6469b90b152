//! `/jobs`: saved job documents and queuing runs of them.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use grandma_engine::JobSpec;
use grandma_engine::fetch::needs_browser;
use grandma_engine::spec::FetcherType;
use grandma_store::{Job, JobFilter, JobIn, JobOrder, NewRun, Page, RunStatus};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::conditional::{self, ETag};
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::middleware::request_id;
use crate::routes::page::page_type;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_job, list_jobs))
        .routes(routes!(get_job, update_job, delete_job))
        .routes(routes!(run_job))
}

/// A job to create or replace. `name` and `description` may be given at the top level (the
/// earlier API's shape), in the document, or in both with the same value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct JobCreateIn {
    /// The job's name; the document's `name` when that is missing.
    pub name: Option<String>,
    /// The job's description; the document's `description` when that is missing.
    pub description: Option<String>,
    /// The job document, the same as a job file.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// Whether schedules may start it (default true).
    pub enabled: Option<bool>,
    /// The organization that owns the job (creating only): by default the API token's
    /// organization, else the caller's personal one. A job never moves to another one.
    pub org_id: Option<Uuid>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct JobOut {
    pub id: Uuid,
    /// Who created the job.
    pub owner_id: Uuid,
    /// The organization that owns the job.
    pub org_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The validated document with every default filled in.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Job> for JobOut {
    fn from(j: Job) -> Self {
        JobOut {
            id: j.job_id,
            owner_id: j.owner_id,
            org_id: j.org_id,
            name: j.name,
            description: j.description,
            config: j.config,
            enabled: j.enabled,
            created_at: j.created_at,
            updated_at: j.updated_at,
        }
    }
}

page_type!(JobPage, JobOut);

#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum JobOrderIn {
    /// Newest first (default).
    #[default]
    Created,
    /// By name, A to Z.
    Name,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobListQuery {
    /// Rows per page, 1..1000 (default 50).
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    pub enabled: Option<bool>,
    /// Case-insensitive part of the name.
    pub name: Option<String>,
    /// `created` (newest first, default) or `name`.
    #[param(value_type = Option<JobOrderIn>, inline)]
    pub order: Option<JobOrderIn>,
    /// Only this organization's jobs (default: those of every organization of the caller).
    pub org_id: Option<Uuid>,
}

/// A queued run.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunQueuedOut {
    pub result_id: Uuid,
    pub run_id: Uuid,
    /// Always `pending`: a worker picks it up.
    pub status: RunStatus,
}

/// Validates a job document and checks its start URL against the server's network guard.
/// Returns the row to store: name and description from the document, the document normalised.
/// A top-level `name` or `description` fills the document's when that is missing; given in
/// both places with different values, it is a 422 naming the field.
fn job_in(state: &AppState, body: JobCreateIn) -> ApiResult<JobIn> {
    let mut config = body.config;
    if let Some(document) = config.as_object_mut() {
        let mut problems = Vec::new();
        for (key, given) in [("name", body.name), ("description", body.description)] {
            let Some(given) = given else { continue };
            match document.get(key) {
                None | Some(serde_json::Value::Null) => {
                    document.insert(key.to_owned(), serde_json::Value::String(given));
                }
                Some(serde_json::Value::String(inner)) if *inner == given => {}
                Some(_) => problems.push(FieldProblem::new(
                    key,
                    format!(
                        "differs from config.{key}: give the {key} once, or the same in both places"
                    ),
                )),
            }
        }
        if !problems.is_empty() {
            return Err(ApiError::Validation(problems));
        }
    }
    let spec = JobSpec::from_value(&config)?;
    if let Err(e) = state.settings.network_guard().check_url(&spec.start_url) {
        return Err(ApiError::invalid("config.start_url", e.to_string()));
    }
    if let Err(missing) = &state.browser
        && needs_browser(&spec)
    {
        let path = match spec.fetcher_type {
            FetcherType::Browser => "config.fetcher_type",
            _ => "config.pagination",
        };
        return Err(ApiError::invalid(path, missing.to_string()));
    }
    Ok(JobIn {
        name: spec.name.clone(),
        description: spec.description.clone(),
        config: spec.to_value(),
        enabled: body.enabled.unwrap_or(true),
    })
}

/// Creates a job from a validated document.
#[utoipa::path(post, path = "/jobs/", tag = "Jobs", security(("bearer" = [])),
    request_body = JobCreateIn,
    responses(
        (status = 201, description = "Created", body = JobOut),
        (status = 403, description = "Read-only user, or a viewer of the organization", body = ErrorOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
        (status = 422, description = "Every problem in the document, with its path", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn create_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<JobCreateIn>,
) -> ApiResult<(StatusCode, Json<JobOut>)> {
    let org = body.org_id.unwrap_or_else(|| caller.default_org());
    authorize(&caller, Target::Org(org), Action::ChangeJobs)?;
    let job = job_in(&state, body)?;
    let job = state
        .store
        .create_job_in(org, caller.user.user_id, &job)
        .await?;
    tracing::info!(job_id = %job.job_id, "job created");
    Ok((StatusCode::CREATED, Json(job.into())))
}

/// The jobs of the caller's organizations (an admin's: everyone's; an API token's: its
/// organization's), filtered and paged.
#[utoipa::path(get, path = "/jobs/", tag = "Jobs", security(("bearer" = [])),
    params(JobListQuery),
    responses((status = 200, description = "A page of jobs", body = JobPage)))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn list_jobs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<JobListQuery>,
) -> ApiResult<Json<JobPage>> {
    let paging = crate::routes::page::paging(query.limit, query.offset)?;
    let scope = caller.scope_in(query.org_id, Action::ReadJobs)?;
    let filter = JobFilter {
        enabled: query.enabled,
        name_contains: query.name.filter(|n| !n.is_empty()),
        order: match query.order.unwrap_or_default() {
            JobOrderIn::Created => JobOrder::CreatedDesc,
            JobOrderIn::Name => JobOrder::Name,
        },
    };
    let page = state
        .store
        .list_jobs(scope, &filter, paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(JobPage::new(page, paging)))
}

/// One job, with its `ETag`: send it back in `If-None-Match` to get a 304 while the job is
/// unchanged, or in `If-Match` to update or delete only the version you read.
#[utoipa::path(get, path = "/jobs/{id}", tag = "Jobs", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Job id"),
        ("If-None-Match" = Option<String>, Header, description = "The job's `ETag` from an earlier read: 304 while unchanged"),
    ),
    responses(
        (status = 200, description = "The job", body = JobOut,
            headers(("ETag" = String, description = "The job's current version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 404, description = "No such job of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, job_id = %id))]
pub async fn get_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let job = state.store.get_job(caller.scope(), id).await?;
    authorize(&caller, Target::Org(job.org_id), Action::ReadJobs)?;
    let job = JobOut::from(job);
    let tag = job_tag(&job)?;
    Ok(conditional::changing_read(&headers, &tag, Json(job)))
}

/// The version of a job as answered: any change to what the client sees changes it.
fn job_tag(job: &JobOut) -> ApiResult<ETag> {
    conditional::of_json("job", job)
}

/// With `If-Match`: the stored version the client must have read, checked against `job`;
/// none without the header (the write is unconditional, as it always was).
fn required_version(headers: &HeaderMap, job: &Job) -> ApiResult<Option<DateTime<Utc>>> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let tag = job_tag(&job.clone().into())?;
    conditional::required_version(headers, &tag, "job", job.updated_at)
}

/// Replaces a job's document; with `If-Match`, only if the job is still the version read.
#[utoipa::path(put, path = "/jobs/{id}", tag = "Jobs", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Job id"),
        ("If-Match" = Option<String>, Header, description = "The job's `ETag` when it was read: 412 if it changed since"),
    ),
    request_body = JobCreateIn,
    responses(
        (status = 200, description = "Updated", body = JobOut,
            headers(("ETag" = String, description = "The job's new version"))),
        (status = 403, description = "Read-only user, or a role or token scope too low", body = ErrorOut),
        (status = 404, description = "No such job of the caller", body = ErrorOut),
        (status = 412, description = "The job changed since the `If-Match` version", body = ErrorOut),
        (status = 422, description = "Every problem in the document", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, job_id = %id))]
pub async fn update_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<JobCreateIn>,
) -> ApiResult<Response> {
    // Existence first, so another team's id is a 404 even with an invalid document; the
    // precondition next, before the document is judged.
    let existing = state.store.get_job(caller.scope(), id).await?;
    authorize(&caller, Target::Org(existing.org_id), Action::ChangeJobs)?;
    let version = required_version(&headers, &existing)?;
    if body.org_id.is_some_and(|org| org != existing.org_id) {
        return Err(ApiError::invalid(
            "org_id",
            "a job stays in the organization it was created in: leave org_id out, or create \
             the job anew in the other organization",
        ));
    }
    let job = job_in(&state, body)?;
    let updated = state
        .store
        .update_job_if(caller.scope(), id, &job, version)
        .await?;
    match updated {
        Some(job) => {
            let job = JobOut::from(job);
            let tag = job_tag(&job)?;
            Ok(conditional::tagged(Json(job), &tag))
        }
        // Written or deleted by someone else between the read and this write.
        None if version.is_some() => Err(conditional::stale("job")),
        None => Err(ApiError::NotFound),
    }
}

/// Deletes a job with its runs, items and schedules; with `If-Match`, only if the job is
/// still the version read.
#[utoipa::path(delete, path = "/jobs/{id}", tag = "Jobs", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Job id"),
        ("If-Match" = Option<String>, Header, description = "The job's `ETag` when it was read: 412 if it changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Read-only user, or a role or token scope too low", body = ErrorOut),
        (status = 404, description = "No such job of the caller", body = ErrorOut),
        (status = 412, description = "The job changed since the `If-Match` version", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, job_id = %id))]
pub async fn delete_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let existing = state.store.get_job(caller.scope(), id).await?;
    authorize(&caller, Target::Org(existing.org_id), Action::ChangeJobs)?;
    if !headers.contains_key(header::IF_MATCH) {
        state.store.delete_job(caller.scope(), id).await?;
        return Ok(StatusCode::NO_CONTENT);
    }
    let version = required_version(&headers, &existing)?;
    match state
        .store
        .delete_job_if(caller.scope(), id, version)
        .await?
    {
        0 => Err(conditional::stale("job")),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// Queues a run of the job; a worker executes it. Nothing is scraped inside the request.
#[utoipa::path(post, path = "/jobs/{id}/run", tag = "Jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses(
        (status = 202, description = "Queued", body = RunQueuedOut),
        (status = 403, description = "Read-only user, or a role or token scope too low", body = ErrorOut),
        (status = 404, description = "No such job of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, job_id = %id))]
pub async fn run_job(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<(StatusCode, Json<RunQueuedOut>)> {
    let job = state.store.get_job(caller.scope(), id).await?;
    authorize(&caller, Target::Org(job.org_id), Action::ChangeRuns)?;
    // The run keeps this request's ID: its logs and its webhooks carry it.
    let new_run = NewRun {
        request_id: request_id::current(),
        ..NewRun::default()
    };
    let run = state
        .store
        .enqueue_run(caller.scope(), id, &new_run)
        .await?;
    // Pokes `run_wakeup` and, on PostgreSQL, the workers of every process.
    state.pubsub.notify_run_queued().await;
    tracing::info!(result_id = %run.result_id, run_id = %run.run_id, "run queued");
    Ok((
        StatusCode::ACCEPTED,
        Json(RunQueuedOut {
            result_id: run.result_id,
            run_id: run.run_id,
            status: run.status,
        }),
    ))
}
