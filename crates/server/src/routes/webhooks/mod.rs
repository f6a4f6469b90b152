//! `/webhooks` and `/webhook-deliveries`: webhook subscriptions, their signed deliveries and
//! the attempts of each. Owner-scoped (admins see all); read-only users cannot write.

mod check;
mod deliveries;
mod ping;
mod subscriptions;
pub mod types;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub use check::{DEFAULT_MAX_RETRIES, MAX_RETRIES_LIMIT};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(subscriptions::router())
        .merge(ping::router())
        .merge(deliveries::router())
}
