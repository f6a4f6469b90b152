//! The home page: the user's scrapes as cards, each with its team, site, last run and next
//! scheduled run, and the way to a new one. A user in several teams picks whose scrapes to see
//! (`?org=`); "New scrape" then saves into that team.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use grandma_store::{JobFilter, Paging, RunFilter};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Action, Target};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::teams::{TeamChoice, team_choices, team_name};
use crate::web::pages::view::{JobCard, RunView};

/// Cards on the home page; an account with more finds the rest with the search box.
const MAX_CARDS: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/", get(home))
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct HomePage {
    layout: Layout,
    heading: String,
    cards: Vec<JobCard>,
    total: i64,
    /// The user's teams, to pick whose scrapes are shown; empty with only one.
    teams: Vec<TeamChoice>,
    /// The team picked, if any.
    picked: Option<Uuid>,
    /// Whether the user may make a scrape in the team picked (or in any, with none picked).
    can_create: bool,
}

impl HomePage {
    fn is_picked(&self, team: &Uuid) -> bool {
        self.picked == Some(*team)
    }
}

#[derive(Debug, Deserialize)]
struct HomeQuery {
    org: Option<String>,
}

async fn home(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<HomeQuery>,
) -> Result<Response, WebError> {
    // Something that is not an id (a typo) shows every scrape; a team the user is not in is
    // not found, as in the API.
    let picked = query
        .org
        .as_deref()
        .and_then(|o| o.trim().parse::<Uuid>().ok());
    let scope = match picked {
        Some(org) => {
            user.authorize(Target::Org(org), Action::ReadJobs)?;
            user.scope().in_org(org)
        }
        None => user.scope(),
    };
    let jobs = state
        .store
        .list_jobs(scope, &JobFilter::default(), Paging::new(MAX_CARDS, 0))
        .await?;
    let teams = team_choices(&state, &user).await?;
    let mut names: HashMap<Uuid, String> = teams.iter().map(|t| (t.id, t.name.clone())).collect();
    let mut cards = Vec::with_capacity(jobs.items.len());
    for job in jobs.items {
        let filter = RunFilter {
            job_id: Some(job.job_id),
            status: None,
        };
        let last = state
            .store
            .list_runs(scope, &filter, Paging::new(1, 0))
            .await?;
        let schedules = state
            .store
            .list_schedules(scope, Some(job.job_id), Paging::new(50, 0))
            .await?;
        let next_run = schedules
            .items
            .iter()
            .filter(|s| s.enabled)
            .filter_map(|s| s.next_run)
            .min();
        // An administrator sees teams they are not in: their names are read once each.
        if let std::collections::hash_map::Entry::Vacant(entry) = names.entry(job.org_id) {
            let org = state.store.get_org(job.org_id).await?;
            entry.insert(team_name(&org, user.user.user_id));
        }
        let mut card = JobCard::new(&job, last.items.first().map(RunView::of), next_run);
        // Someone with only their personal scrapes needs no team named on each card.
        if teams.len() > 1 || job.org_id != user.user.user_id {
            card.team = names.get(&job.org_id).cloned().unwrap_or_default();
        }
        cards.push(card);
    }
    let heading = match picked.and_then(|p| names.get(&p)) {
        Some(name) if picked == Some(user.user.user_id) => format!("{name} scrapes"),
        Some(name) => format!("Scrapes of {name}"),
        None => "My scrapes".to_owned(),
    };
    let can_create = match picked {
        Some(org) => user.authorize(Target::Org(org), Action::ChangeJobs).is_ok(),
        None => !user.writable_orgs().is_empty(),
    };
    Ok(render(&HomePage {
        layout: user.layout(Nav::Home),
        heading,
        cards,
        total: jobs.total,
        teams: if teams.len() > 1 { teams } else { Vec::new() },
        picked,
        can_create,
    }))
}
