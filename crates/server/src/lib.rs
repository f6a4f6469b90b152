//! GrandmaScraper's HTTP API: REST under `/api/v1`, health probes at the root and
//! under `/api/v1`, the OpenAPI documentation at `/api/docs`, `/api/redoc` and
//! `/api/openapi.json`, and the web app for people ([`web`]) at every other path.
//!
//! [`router`] builds the whole application from an [`AppState`], so tests can drive it without
//! a socket; [`launch`] serves it on a bound listener until a shutdown future resolves, so the
//! CLI and the integration tests start it the same way.
//!
//! Handlers are thin: they authenticate ([`auth::Caller`]), ask [`auth::authorize`] whether
//! the caller may, call the store or the engine, and map the result. Errors go through [`error::ApiError`] once.

pub mod auth;
pub mod conditional;
pub mod deprecation;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod routes;
pub mod slots;
pub mod snapshot;
pub mod state;
pub mod web;

use std::future::Future;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use error::ApiError;
pub use grandma_shared::Settings;
pub use state::{AppState, StartError};

use crate::routes::{docs, health, jobs, results, users, versions};

/// The documented routes and their OpenAPI document, completed.
fn documented() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let mut v1 = routes::api_router();
    // The versions table is the one place a version is deprecated: its routes then send the
    // headers and its operations are marked in the document.
    if let Some(notice) = versions::versions()
        .into_iter()
        .find(|v| v.prefix == grandma_shared::webhook::API_PREFIX)
        .and_then(|v| v.deprecation)
    {
        v1 = deprecation::deprecate(v1, notice);
    }
    let (api, mut openapi) = OpenApiRouter::with_openapi(docs::ApiDoc::openapi())
        .nest(grandma_shared::webhook::API_PREFIX, v1)
        // The probes also live at the root, where orchestrators look for them.
        .merge(health::root_router())
        .merge(versions::root_router())
        .split_for_parts();
    docs::complete(&mut openapi);
    (api, openapi)
}

/// The OpenAPI document the server serves at `/api/openapi.json`, built without a database,
/// so the contract test can compare it with the committed snapshot.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented().1
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = documented();
    // Collections are documented with the earlier version's trailing slash; accept them
    // without it too, since clients differ on this.
    let aliases = Router::new()
        .route("/api/v1/jobs", post(jobs::create_job).get(jobs::list_jobs))
        .route("/api/v1/results", get(results::list_results))
        .route("/api/v1/users", get(users::list_users));
    let max_body = state.settings.http.max_body_bytes;
    let http = state.settings.http.clone();
    let limiter = std::sync::Arc::clone(&state.rate_limiter);
    let app = api
        .merge(aliases)
        .merge(metrics::router())
        .merge(web::router())
        .merge(snapshot::view::router())
        .with_state(state)
        .merge(docs::router(openapi))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(max_body))
        .layer(TraceLayer::new_for_http());
    middleware::apply(app, &http, limiter)
}

/// Unknown paths answer in the API's error shape, or with the web app's error page when a
/// browser asked for a page.
async fn not_found(request: axum::extract::Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    if web::wants_page(request.uri().path(), request.headers()) {
        web::error::WebError::NotFound.into_response()
    } else {
        ApiError::NotFound.into_response()
    }
}

/// So does a known path with the wrong method.
async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Serves the application on `listener` until `shutdown` resolves, then finishes the requests
/// in flight. Creates the configured initial admin first if there is no admin yet.
pub async fn launch(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    grandma_shared::metrics::install();
    if let Err(e) = state.ensure_initial_admin().await {
        tracing::error!(error = %e, "could not create the initial admin");
    }
    if let Err(e) = state.offer_setup().await {
        tracing::error!(error = %e, "could not check for a first account");
    }
    let app = router(state);
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
