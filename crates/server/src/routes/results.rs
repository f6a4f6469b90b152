//! `/results`: runs of jobs, their items, cancellation. Exports are in
//! [`super::export`].

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use grandma_store::{CancelOutcome, Page, ResultRow, RunFilter, RunStatus};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::conditional;
use crate::error::{ApiError, ApiResult, ErrorOut};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::page::{PageQuery, page_type};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_results))
        .routes(routes!(get_result, delete_result))
        .routes(routes!(cancel_result))
        .routes(routes!(list_items))
}

/// A run as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ResultOut {
    pub id: Uuid,
    /// The run's identifier in logs and progress events.
    pub run_id: Uuid,
    pub job_id: Uuid,
    /// Who created the run's job.
    pub owner_id: Uuid,
    /// The organization that owns the run's job.
    pub org_id: Uuid,
    pub status: RunStatus,
    /// The item fields, in the job's order.
    pub columns: Vec<String>,
    pub total_items: i64,
    pub pages_scraped: i32,
    pub items_dropped: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub error_message: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub error_details: Option<serde_json::Value>,
    pub warnings: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub cancel_requested: bool,
    /// The `X-Request-ID` of the API request that queued the run (absent for scheduled runs).
    pub request_id: Option<String>,
    /// What changed since the previous completed run of the job; null until the run completed,
    /// and for a job's first completed run. The items are at `/results/{id}/changes`.
    pub changes: Option<ChangeCountsOut>,
    /// Items whose key an earlier item of the run already had (counted, not merged); null
    /// until the run completed.
    pub duplicate_keys: Option<i64>,
    /// Per-field fill rates (`fields[]`: `field`, `filled`, `rate`) and per-page item counts
    /// (`pages[]`: `page`, `items`), recorded when the run ended.
    #[schema(value_type = Option<Object>)]
    pub quality: Option<serde_json::Value>,
    /// The items were deleted by retention (`[worker] keep_runs`); the counts stay.
    pub items_pruned: bool,
    /// Pages the site answered `304 Not Modified` to the last run's validators, whose items
    /// were copied from that run (counted in `pages_scraped` too).
    pub pages_not_modified: i32,
}

/// The comparison of a run with the previous completed run of its job.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeCountsOut {
    /// The run compared with.
    pub previous_result_id: Uuid,
    /// Keys the previous run did not have.
    pub new: i64,
    /// Keys in both runs whose values differ.
    pub changed: i64,
    /// Keys of the previous run this one lacks.
    pub removed: i64,
    /// Keys in both runs with the same values.
    pub unchanged: i64,
}

impl From<ResultRow> for ResultOut {
    fn from(r: ResultRow) -> Self {
        ResultOut {
            id: r.result_id,
            run_id: r.run_id,
            job_id: r.job_id,
            owner_id: r.owner_id,
            org_id: r.org_id,
            status: r.status,
            columns: r.columns,
            total_items: r.total_items,
            pages_scraped: r.pages_scraped,
            items_dropped: r.items_dropped,
            started_at: r.started_at,
            completed_at: r.completed_at,
            duration_seconds: r.duration_seconds,
            error_message: r.error_message,
            error_details: r.error_details,
            warnings: r.warnings,
            created_at: r.created_at,
            attempts: r.attempts,
            cancel_requested: r.cancel_requested,
            request_id: r.request_id,
            changes: match (
                r.diff_base_id,
                r.new_items,
                r.changed_items,
                r.removed_items,
                r.unchanged_items,
            ) {
                (Some(base), Some(new), Some(changed), Some(removed), Some(unchanged)) => {
                    Some(ChangeCountsOut {
                        previous_result_id: base,
                        new,
                        changed,
                        removed,
                        unchanged,
                    })
                }
                _ => None,
            },
            duplicate_keys: r.duplicate_keys,
            quality: r.quality,
            items_pruned: r.items_pruned,
            pages_not_modified: r.pages_not_modified,
        }
    }
}

page_type!(ResultPage, ResultOut);

/// Items as JSON objects keyed by the run's columns.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Items stored for the run.
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ResultListQuery {
    pub job_id: Option<Uuid>,
    #[param(value_type = Option<RunStatus>)]
    pub status: Option<RunStatus>,
    pub limit: Option<i64>,
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Only this organization's runs (default: those of every organization of the caller).
    pub org_id: Option<Uuid>,
}

/// Runs visible to the caller, newest first.
#[utoipa::path(get, path = "/results/", tag = "Results", security(("bearer" = [])),
    params(ResultListQuery),
    responses((status = 200, description = "A page of runs", body = ResultPage)))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn list_results(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ResultListQuery>,
) -> ApiResult<Json<ResultPage>> {
    let paging = crate::routes::page::paging(query.limit, query.offset)?;
    let scope = caller.scope_in(query.org_id, Action::ReadResults)?;
    let filter = RunFilter {
        job_id: query.job_id,
        status: query.status,
    };
    let page = state
        .store
        .list_runs(scope, &filter, paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(ResultPage::new(page, paging)))
}

/// One run, with its `ETag` (it changes with every page a running run saves).
#[utoipa::path(get, path = "/results/{id}", tag = "Results", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Result (run) id"),
        ("If-None-Match" = Option<String>, Header, description = "The run's `ETag` from an earlier read: 304 while unchanged"),
    ),
    responses(
        (status = 200, description = "The run", body = ResultOut,
            headers(("ETag" = String, description = "The run's current state"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 404, description = "No such run of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, result_id = %id))]
pub async fn get_result(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let run = state.store.get_run(caller.scope(), id).await?;
    authorize(&caller, Target::Org(run.org_id), Action::ReadResults)?;
    let run = ResultOut::from(run);
    let tag = conditional::of_json("result", &run)?;
    if conditional::none_match_hits(&headers, &tag) {
        return Ok(conditional::not_modified(
            &tag,
            Some(conditional::REVALIDATE),
        ));
    }
    let mut response = Json(run).into_response();
    conditional::set_validators(response.headers_mut(), &tag, Some(conditional::REVALIDATE));
    Ok(response)
}

/// Deletes a run and its items; a worker still running it stops at its next page. With
/// `If-Match`, only if the run is still in the state read.
#[utoipa::path(delete, path = "/results/{id}", tag = "Results", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Result (run) id"),
        ("If-Match" = Option<String>, Header, description = "The run's `ETag` when it was read: 412 if it changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such run of the caller", body = ErrorOut),
        (status = 412, description = "The run changed since the `If-Match` version", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, result_id = %id))]
pub async fn delete_result(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    let run = state.store.get_run(caller.scope(), id).await?;
    authorize(&caller, Target::Org(run.org_id), Action::ChangeRuns)?;
    if headers.contains_key(header::IF_MATCH) {
        // Checked on the row as read here: a running run that saves a page between this read
        // and the delete below is still deleted. Only finished runs, which never change, get
        // an exact guarantee.
        let run = ResultOut::from(run);
        conditional::check_if_match(&headers, &conditional::of_json("result", &run)?, "run")?;
    }
    state.store.delete_run(caller.scope(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Cancels a run: a pending one at once, a running one at its worker's next page.
#[utoipa::path(post, path = "/results/{id}/cancel", tag = "Results", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Result (run) id")),
    responses(
        (status = 200, description = "Cancelled, or cancellation requested", body = ResultOut),
        (status = 403, description = "Read-only user", body = ErrorOut),
        (status = 404, description = "No such run of the caller", body = ErrorOut),
        (status = 409, description = "The run had already finished", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, result_id = %id))]
pub async fn cancel_result(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<ResultOut>> {
    let run = state.store.get_run(caller.scope(), id).await?;
    authorize(&caller, Target::Org(run.org_id), Action::ChangeRuns)?;
    match state.store.request_cancel(caller.scope(), id).await? {
        CancelOutcome::Cancelled(row) => {
            // Nobody else will announce the end of a run that never started.
            state
                .pubsub
                .publish(grandma_store::RunEvent::snapshot(&row));
            Ok(Json(row.into()))
        }
        CancelOutcome::Requested(row) => Ok(Json(row.into())),
        CancelOutcome::AlreadyFinished(row) => Err(ApiError::Conflict(format!(
            "the run already finished ({})",
            row.status
        ))),
    }
}

/// A page of a run's items, as objects keyed by the run's columns. A finished run's pages
/// never change: they carry a strong `ETag` and may be cached (`immutable`).
#[utoipa::path(get, path = "/results/{id}/items", tag = "Results", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Result (run) id"),
        PageQuery,
        ("If-None-Match" = Option<String>, Header, description = "The page's `ETag` from an earlier read of a finished run: 304 without reading the items"),
    ),
    responses(
        (status = 200, description = "Items", body = ItemPage),
        (status = 304, description = "A finished run's page the client already has"),
        (status = 404, description = "No such run of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, result_id = %id))]
pub async fn list_items(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<PageQuery>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let paging = query.paging()?;
    let run = state.store.get_run(caller.scope(), id).await?;
    authorize(&caller, Target::Org(run.org_id), Action::ReadResults)?;
    let tag = conditional::finished_run(&run, "items", raw_query.as_deref());
    if let Some(tag) = &tag
        && conditional::none_match_hits(&headers, tag)
    {
        return Ok(conditional::not_modified(tag, Some(conditional::IMMUTABLE)));
    }
    let page = state.store.list_items(caller.scope(), id, paging).await?;
    let mut response = Json(ItemPage {
        items: page
            .items
            .iter()
            .map(|row| row.data.to_json_object(&run.columns))
            .collect(),
        total: page.total,
        limit: paging.limit,
        offset: paging.offset,
    })
    .into_response();
    if let Some(tag) = &tag {
        conditional::set_validators(response.headers_mut(), tag, Some(conditional::IMMUTABLE));
    }
    Ok(response)
}
