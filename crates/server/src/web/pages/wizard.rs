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
use crate::web::pages::teams::{TeamChoice, team_choices};

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
    /// The teams a new scrape may be saved in (empty when editing).
    teams: Vec<TeamChoice>,
    /// The team chosen at first.
    team: Option<Uuid>,
}

impl WizardPage {
    fn is_team(&self, id: &Uuid) -> bool {
        self.team == Some(*id)
    }
}

#[derive(Debug, Deserialize)]
struct NewQuery {
    template: Option<String>,
    /// The team to save in, preselected (the home page passes the team it shows).
    org: Option<String>,
}

async fn new_job(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<NewQuery>,
) -> Result<Response, WebError> {
    user.authorize(Target::Account, Action::ChangeJobs)?;
    let teams: Vec<TeamChoice> = team_choices(&state, &user)
        .await?
        .into_iter()
        .filter(|t| {
            user.authorize(Target::Org(t.id), Action::ChangeJobs)
                .is_ok()
        })
        .collect();
    if teams.is_empty() {
        return Err(WebError::Forbidden(
            "you may look at the scrapes of your teams but not make new ones: ask an owner for the editor role",
        ));
    }
    // The team asked for when the user may save there, else their personal one, else the first.
    let asked = query
        .org
        .as_deref()
        .and_then(|o| o.trim().parse::<Uuid>().ok());
    let team = [asked, Some(user.user.user_id)]
        .into_iter()
        .flatten()
        .find(|id| teams.iter().any(|t| t.id == *id))
        .or(teams.first().map(|t| t.id));
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
        teams,
        team,
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
        teams: Vec::new(),
        team: None,
    }))
}
