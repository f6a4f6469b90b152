//! A job's pages: the job itself (live progress, run now, cancel, delete, run history), and a
//! run's results as a paged table with its downloads. Actions are taken by `job.js` through
//! the JSON API; these handlers only read.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use grandma_store::{Paging, RunFilter, RunStatus};
use serde::Deserialize;
use uuid::Uuid;

use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::view::{RunView, plural, site_of};

/// Runs listed on a job's page.
const HISTORY: i64 = 20;
/// Rows of a results page.
const ROWS: i64 = 50;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs/{id}", get(job_page))
        .route("/jobs/{id}/runs/{run}", get(run_page))
}

/// A path segment that must be an id; anything else names no page.
fn id(text: &str) -> Result<Uuid, WebError> {
    text.parse().map_err(|_| WebError::NotFound)
}

#[derive(Template)]
#[template(path = "web/job.html")]
struct JobPage {
    layout: Layout,
    id: Uuid,
    name: String,
    description: String,
    site: String,
    start_url: String,
    enabled: bool,
    /// 0 when the job sets no page limit (the progress bar then counts pages without a total).
    max_pages: u64,
    runs: Vec<RunView>,
    total_runs: i64,
    /// The run in progress, which the live panel follows at once.
    active: Option<RunView>,
    schedules: usize,
}

async fn job_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(job_id): Path<String>,
) -> Result<Response, WebError> {
    let job_id = id(&job_id)?;
    let scope = user.scope();
    let job = state.store.get_job(scope, job_id).await?;
    let filter = RunFilter {
        job_id: Some(job_id),
        status: None,
    };
    let runs = state
        .store
        .list_runs(scope, &filter, Paging::new(HISTORY, 0))
        .await?;
    let active = runs
        .items
        .iter()
        .find(|r| matches!(r.status, RunStatus::Pending | RunStatus::Running))
        .map(RunView::of);
    let schedules = state
        .store
        .list_schedules(scope, Some(job_id), Paging::new(1, 0))
        .await?
        .total;
    let config = &job.config;
    Ok(render(&JobPage {
        layout: user.layout(Nav::None),
        id: job.job_id,
        site: site_of(&job),
        start_url: config["start_url"].as_str().unwrap_or_default().to_owned(),
        description: job.description.clone().unwrap_or_default(),
        name: job.name,
        enabled: job.enabled,
        max_pages: config["max_pages"].as_u64().unwrap_or(0),
        runs: runs.items.iter().map(RunView::of).collect(),
        total_runs: runs.total,
        active,
        schedules: usize::try_from(schedules).unwrap_or(0),
    }))
}

#[derive(Debug, Deserialize)]
struct RowsQuery {
    page: Option<String>,
}

#[derive(Template)]
#[template(path = "web/run.html")]
struct RunPage {
    layout: Layout,
    job_id: Uuid,
    job_name: String,
    run: RunView,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    /// 1-based page of rows shown, and how many there are.
    page: i64,
    pages: i64,
    first_row: i64,
    last_row: i64,
    total: i64,
}

impl RunPage {
    fn rows_words(&self) -> String {
        plural(self.total, "row", "rows")
    }
}

async fn run_page(
    State(state): State<AppState>,
    user: WebUser,
    Path((job_id, result_id)): Path<(String, String)>,
    Query(query): Query<RowsQuery>,
) -> Result<Response, WebError> {
    let (job_id, result_id) = (id(&job_id)?, id(&result_id)?);
    let scope = user.scope();
    let job = state.store.get_job(scope, job_id).await?;
    let run = state.store.get_run(scope, result_id).await?;
    if run.job_id != job_id {
        return Err(WebError::NotFound);
    }
    // A page number that is not one shows the first page rather than an error.
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, i64::MAX / ROWS);
    let items = state
        .store
        .list_items(scope, result_id, Paging::new(ROWS, (page - 1) * ROWS))
        .await?;
    let pages = ((items.total + ROWS - 1) / ROWS).max(1);
    let rows: Vec<Vec<String>> = items
        .items
        .iter()
        .map(|row| {
            row.data
                .values
                .iter()
                .map(|v| v.to_cell().into_owned())
                .collect()
        })
        .collect();
    let first_row = if rows.is_empty() {
        0
    } else {
        (page - 1) * ROWS + 1
    };
    let last_row = (page - 1) * ROWS + i64::try_from(rows.len()).unwrap_or(0);
    Ok(render(&RunPage {
        layout: user.layout(Nav::None),
        job_id,
        job_name: job.name,
        run: RunView::of(&run),
        columns: run.columns.clone(),
        rows,
        page,
        pages,
        first_row,
        last_row,
        total: items.total,
    }))
}
