//! A job's pages: the job itself (live progress, run now, cancel, delete, run history), and a
//! run's results as a paged table with its downloads. Actions are taken by `job.js` through
//! the JSON API; these handlers only read.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use grandma_store::{ChangeKind, Paging, RunFilter, RunStatus};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Action, Target};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::changes::{
    ChangeSummary, FIELD_SAMPLE, QualityView, Row, Show, ShowLink, change_rows, marked_row,
    show_links,
};
use crate::web::pages::teams::team_name;
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
    /// The team the job belongs to, and its id.
    team: String,
    team_id: Uuid,
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
    user.authorize(Target::Org(job.org_id), Action::ReadJobs)?;
    // Someone who may only look (a viewer of the team, a read-only account) gets no control
    // that changes the job or its runs.
    let writes = user
        .authorize(Target::Org(job.org_id), Action::ChangeJobs)
        .is_ok()
        && user
            .authorize(Target::Org(job.org_id), Action::ChangeRuns)
            .is_ok();
    let org = state.store.get_org(job.org_id).await?;
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
        layout: user.layout(Nav::None).writes_if(writes),
        team: team_name(&org, user.user.user_id),
        team_id: org.org_id,
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
    /// `new`, `changed` or `removed`: only those rows.
    show: Option<String>,
}

#[derive(Template)]
#[template(path = "web/run.html")]
struct RunPage {
    layout: Layout,
    job_id: Uuid,
    job_name: String,
    run: RunView,
    columns: Vec<String>,
    rows: Vec<Row>,
    /// 1-based page of rows shown, and how many there are.
    page: i64,
    pages: i64,
    first_row: i64,
    last_row: i64,
    total: i64,
    /// All rows or one kind of change, and its part of the pager's query.
    show: Show,
    show_query: &'static str,
    /// What changed since the run compared with; `None` for a run not compared.
    changes: Option<ChangeSummary>,
    show_links: Vec<ShowLink>,
    quality: Option<QualityView>,
}

impl RunPage {
    fn rows_words(&self) -> String {
        plural(self.run.items, "row", "rows")
    }

    /// What the table holds, as its caption and the line above it.
    fn range_words(&self) -> String {
        let what = match self.show {
            Show::All => "Rows",
            Show::New => "New rows",
            Show::Changed => "Changed rows",
            Show::Removed => "Rows gone since the previous run",
        };
        format!(
            "{what} {} to {} of {}.",
            self.first_row, self.last_row, self.total
        )
    }

    /// Why the table is empty.
    fn empty_words(&self) -> &'static str {
        match (self.show, self.run.finished) {
            (Show::All, true) => "No rows were found.",
            (Show::All, false) => "No rows yet.",
            (Show::New, _) => "No new rows.",
            (Show::Changed, _) => "No row changed.",
            (Show::Removed, _) => "No row is gone.",
        }
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
    user.authorize(Target::Org(job.org_id), Action::ReadResults)?;
    let run = state.store.get_run(scope, result_id).await?;
    if run.job_id != job_id {
        return Err(WebError::NotFound);
    }
    user.authorize(Target::Org(run.org_id), Action::ReadResults)?;
    // A page number that is not one shows the first page rather than an error.
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, i64::MAX / ROWS);
    let compared = run.diff_base_id.is_some();
    let show = if compared {
        Show::parse(query.show.as_deref())
    } else {
        Show::All
    };
    let paging = Paging::new(ROWS, (page - 1) * ROWS);
    let (columns, rows, total) = match show.kind() {
        None => {
            let items = state.store.list_items(scope, result_id, paging).await?;
            let from = (page - 1) * ROWS;
            let changes = if compared {
                state
                    .store
                    .changes_between(scope, result_id, from, from + ROWS)
                    .await?
            } else {
                Vec::new()
            };
            let rows = items
                .items
                .iter()
                .map(|row| {
                    let values = row
                        .data
                        .values
                        .iter()
                        .map(|v| v.to_cell().into_owned())
                        .collect();
                    let change = changes.iter().find(|c| c.seq == row.seq);
                    marked_row(row.seq + 1, values, &run.columns, change)
                })
                .collect();
            (run.columns.clone(), rows, items.total)
        }
        Some(kind) => {
            let changes = state
                .store
                .list_changes(scope, result_id, Some(kind), paging)
                .await?;
            let (columns, rows) = change_rows(&changes.items, &run.columns);
            (columns, rows, changes.total)
        }
    };
    let pages = ((total + ROWS - 1) / ROWS).max(1);
    let first_row = if rows.is_empty() {
        0
    } else {
        (page - 1) * ROWS + 1
    };
    let last_row = (page - 1) * ROWS + i64::try_from(rows.len()).unwrap_or(0);

    // The run compared with may have been deleted since: then "since the previous run" and
    // no comparison of fill rates.
    let base_run = match run.diff_base_id {
        Some(base) => state.store.get_run(scope, base).await.ok(),
        None => None,
    };
    let changes = match run.diff_base_id {
        None => None,
        Some(_) => {
            let changed = run.changed_items.unwrap_or(0);
            let fields: Vec<Vec<String>> = if (1..=FIELD_SAMPLE).contains(&changed) {
                state
                    .store
                    .list_changes(
                        scope,
                        result_id,
                        Some(ChangeKind::Changed),
                        Paging::new(FIELD_SAMPLE, 0),
                    )
                    .await?
                    .items
                    .into_iter()
                    .map(|c| c.fields.into_iter().map(|f| f.field).collect())
                    .collect()
            } else {
                Vec::new()
            };
            let base_finished = base_run.as_ref().and_then(|b| b.completed_at);
            ChangeSummary::of(&run, &fields, base_finished, Utc::now())
        }
    };
    let show_links = changes
        .as_ref()
        .map(|c| show_links(c, run.total_items, show))
        .unwrap_or_default();
    let quality = run.quality.as_ref().and_then(|q| {
        let before = base_run.as_ref().and_then(|b| b.quality.as_ref());
        QualityView::of(q, run.pages_scraped, before)
    });
    Ok(render(&RunPage {
        layout: user.layout(Nav::None),
        job_id,
        job_name: job.name,
        run: RunView::of(&run),
        columns,
        rows,
        page,
        pages,
        first_row,
        last_row,
        total,
        show,
        show_query: show.query(),
        changes,
        show_links,
        quality,
    }))
}
