//! The wizard: paste an address, see the page, click two items, click values inside one, watch
//! the engine's rows, choose how to reach more pages, save (and run). `/jobs/new` starts empty
//! (`?template=<slug>` shows that kind's hint and column names), `/jobs/{id}/edit` starts from
//! the job's document. The page is a frame over the user's snapshot; every answer comes from the
//! snapshot API (`routes::snapshots`), the browser only sends the numbers of clicked elements
//! (`assets/wizard.js`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Action, Target};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::gallery::{self, Template as Kind};
use crate::web::layout::{Layout, Nav, render};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs/new", get(new_job))
        .route("/jobs/{id}/edit", get(edit_job))
}

#[derive(Template)]
#[template(path = "web/wizard.html")]
struct WizardPage {
    layout: Layout,
    heading: String,
    /// The job edited; empty for a new one.
    job_id: String,
    /// The job's document as JSON (`null` for a new job).
    config_json: String,
    kind: Option<&'static Kind>,
    /// The kind's usual column names, comma-separated.
    columns: String,
}

#[derive(Debug, Deserialize)]
struct NewQuery {
    template: Option<String>,
}

async fn new_job(user: WebUser, Query(query): Query<NewQuery>) -> Result<Response, WebError> {
    user.authorize(Target::Account, Action::ChangeJobs)?;
    let kind = query.template.as_deref().and_then(gallery::find);
    Ok(render(&WizardPage {
        layout: user.layout(Nav::None),
        heading: match kind {
            Some(k) => format!("New scrape: {}", k.title),
            None => "New scrape".into(),
        },
        job_id: String::new(),
        config_json: "null".into(),
        kind,
        columns: kind.map(|k| k.columns.join(",")).unwrap_or_default(),
    }))
}

async fn edit_job(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let id: Uuid = id.parse().map_err(|_| WebError::NotFound)?;
    let job = state.store.get_job(user.scope(), id).await?;
    user.authorize(Target::Org(job.org_id), Action::ChangeJobs)?;
    // Inside `<script type="application/json">`: no `<` may close the element early.
    let config_json = serde_json::to_string(&job.config)
        .map_err(|e| WebError::Internal(crate::error::ApiError::internal(e)))?
        .replace('<', "\\u003c");
    Ok(render(&WizardPage {
        layout: user.layout(Nav::None),
        heading: format!("Edit {}", job.name),
        job_id: id.to_string(),
        config_json,
        kind: None,
        columns: String::new(),
    }))
}
