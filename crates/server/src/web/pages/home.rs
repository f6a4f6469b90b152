//! The home page: the user's scrapes as cards, each with its site, last run and next scheduled
//! run, and the way to a new one.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use grandma_store::{JobFilter, Paging, RunFilter};

use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
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
    cards: Vec<JobCard>,
    total: i64,
}

async fn home(State(state): State<AppState>, user: WebUser) -> Result<Response, WebError> {
    let scope = user.scope();
    let jobs = state
        .store
        .list_jobs(scope, &JobFilter::default(), Paging::new(MAX_CARDS, 0))
        .await?;
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
        cards.push(JobCard::new(
            &job,
            last.items.first().map(RunView::of),
            next_run,
        ));
    }
    Ok(render(&HomePage {
        layout: user.layout(Nav::Home),
        cards,
        total: jobs.total,
    }))
}
