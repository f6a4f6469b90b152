//! The API's resources, one module each with its own `router()`; this module only merges them.
//! What the resources share (paging) is in `page`, below all of them.

pub mod auth;
pub mod changes;
pub mod detect;
pub mod docs;
pub mod export;
pub mod health;
pub mod jobs;
pub mod orgs;
pub mod page;
pub mod preview;
pub mod results;
pub mod schedules;
pub mod snapshots;
pub mod users;
pub mod versions;
pub mod webhooks;
pub mod ws;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

/// Every `/api/v1` resource.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(auth::router())
        .merge(users::router())
        .merge(jobs::router())
        .merge(orgs::router())
        .merge(results::router())
        .merge(changes::router())
        .merge(export::router())
        .merge(preview::router())
        .merge(detect::router())
        .merge(health::router())
        .merge(webhooks::router())
        .merge(schedules::router())
        .merge(snapshots::router())
        .merge(ws::router())
}
