//! One module per page or group of pages, each with its own `router()`; this module only
//! merges them. The wizard's pages (`/jobs/new`, `/jobs/{id}/edit`) live in their own module.

pub mod account;
pub mod changes;
pub mod gallery;
pub mod home;
pub mod invitations;
pub mod jobs;
pub mod notifications;
pub mod schedules;
pub mod teams;
pub mod users;
pub mod view;
pub mod wizard;

use axum::Router;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(account::router())
        .merge(home::router())
        .merge(invitations::router())
        .merge(jobs::router())
        .merge(notifications::router())
        .merge(schedules::router())
        .merge(teams::router())
        .merge(gallery::router())
        .merge(users::router())
        .merge(wizard::router())
}
