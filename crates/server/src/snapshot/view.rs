//! `GET /snapshots/{id}`: the sanitized page, for its owner only, on the app's own origin, to
//! be shown in `<iframe sandbox="allow-same-origin">`.
//!
//! Three defences, each enough alone: the sanitizer removed everything that runs; the
//! Content-Security-Policy lets the page load images, stylesheets and fonts but run, frame,
//! connect to or fetch nothing else; the sandbox (without `allow-scripts`, `allow-forms` or
//! `allow-top-navigation`) runs no script and submits no form. `allow-same-origin` is there
//! so the wizard's own script can read the frame's elements; it gives the frame nothing while
//! no script runs in it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::error::ApiResult;
use crate::extract::ApiPath;
use crate::state::AppState;

/// The policy a snapshot is served with. `default-src` does not cover where forms go or who
/// may frame the page, so those are said too; `sandbox` makes the page as inert opened on its
/// own in a tab as in the wizard's frame (no scripts, no forms, no popups).
pub const SNAPSHOT_CSP: &str = "default-src 'none'; img-src * data:; style-src * 'unsafe-inline'; \
     font-src * data:; form-action 'none'; frame-ancestors 'self'; sandbox allow-same-origin";

pub fn router() -> Router<AppState> {
    Router::new().route("/snapshots/{id}", get(view_snapshot))
}

async fn view_snapshot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Response> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let snapshot = state.store.get_snapshot(caller.user.user_id, id).await?;
    let mut response = snapshot.html.into_response();
    let headers = response.headers_mut();
    let fixed = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, SNAPSHOT_CSP),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        // Only the app itself may frame it.
        (header::X_FRAME_OPTIONS, "SAMEORIGIN"),
        // The site's images must not learn the snapshot's address.
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "private, no-store"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    Ok(response)
}
