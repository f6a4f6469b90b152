//! The web app for people who do not code, served by the same process as the API: pages
//! rendered on the server from templates checked at compile time (askama, `templates/web/`),
//! small vanilla JavaScript modules that call the same `/api/v1` JSON API with the session
//! cookie and a CSRF token (`assets/api.js`), and every asset embedded in the binary.
//!
//! - [`assets`]: the embedded files, their content-hashed URLs and the import map;
//! - [`layout`]: what the base template needs ([`layout::Layout`]) and [`layout::render`];
//! - [`extract`]: [`extract::WebUser`] (signed in, or redirected to `/login`), the form
//!   extractors with their CSRF and origin checks;
//! - [`error`]: [`error::WebError`], the error page in words;
//! - [`gallery`]: the templates gallery's definitions (read by the wizard too);
//! - [`pages`]: one module per page or group of pages.

pub mod assets;
pub mod error;
pub mod extract;
pub mod gallery;
pub mod layout;
pub mod pages;

use axum::Router;
use axum::http::{HeaderMap, header};

use crate::state::AppState;

/// Every page and the assets.
pub fn router() -> Router<AppState> {
    Router::new().merge(assets::router()).merge(pages::router())
}

/// Whether a request for an unknown `path` should get the web app's error page rather than
/// the API's JSON: a browser asking for a page outside the API.
pub fn wants_page(path: &str, headers: &HeaderMap) -> bool {
    let outside_api =
        !(path == "/api" || path.starts_with("/api/") || path.starts_with("/assets/"));
    let html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    outside_api && html
}
