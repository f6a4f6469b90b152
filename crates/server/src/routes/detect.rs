//! Finding lists without writing selectors: `POST /detect` proposes the lists on a page (with
//! fields, sample rows, pagination and a ready job document), and `POST /generalize` serves a
//! picker: from example items named by their `data-gs-node` numbers, the selector for every
//! item like them, and from an element clicked inside an item, its field.
//!
//! Pages are fetched as a preview fetches them: the job's kind of fetcher, the server's strict
//! network guard, a bounded timeout. Detection is CPU work and runs on a blocking thread, and
//! each counts against the user's slots shared with previews.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use grandma_engine::detect::{self, DetectError, DetectOptions};
use grandma_engine::fetch::browser::PageOptions;
use grandma_engine::fetch::{self, FetchError, FetchOptions};
use grandma_engine::spec::{DEFAULT_USER_AGENTS, FetcherType, parse_http_url};
use grandma_engine::survey::{self, SurveyError};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use url::Url;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiError, ApiResult, ErrorOut, ValidationErrorOut};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Candidates returned at most.
const MAX_CANDIDATES: usize = 20;
/// A fetch for detection waits at most this long: a person is waiting.
const FETCH_SECONDS: u64 = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(detect_lists))
        .routes(routes!(generalize))
}

/// Which fetcher loads the page, as a job's `fetcher_type`.
#[derive(Debug, Clone, Copy, Default, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FetcherIn {
    /// Plain HTTP, and the browser when the page turns out to be built by scripts.
    #[default]
    Auto,
    Requests,
    Browser,
}

impl From<FetcherIn> for FetcherType {
    fn from(f: FetcherIn) -> Self {
        match f {
            FetcherIn::Auto => FetcherType::Auto,
            FetcherIn::Requests => FetcherType::Requests,
            FetcherIn::Browser => FetcherType::Browser,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DetectIn {
    /// The page to fetch; with `html`, the page's address (links resolve against it and it
    /// becomes the proposed jobs' `start_url`).
    pub url: Option<String>,
    /// The page itself, instead of fetching it.
    pub html: Option<String>,
    #[serde(default)]
    pub fetcher_type: FetcherIn,
    /// Candidates returned at most, 1–20 (default 8).
    pub max_candidates: Option<usize>,
}

/// The lists found on a page, the likeliest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct DetectOut {
    /// The page (after redirects).
    pub url: String,
    pub title: Option<String>,
    /// Each with `item_selector`, `count`, `fields` (name, selector, attribute, `filled`),
    /// `sample` rows, `pagination`, `score`, `item_nodes` and `job` (a valid job document).
    #[schema(value_type = Vec<Object>)]
    pub candidates: Vec<serde_json::Value>,
    /// `{type: next_button, selector, next_url}` or `{type: url_pattern, url_pattern,
    /// next_url}`.
    #[schema(value_type = Option<Object>)]
    pub pagination: Option<serde_json::Value>,
    pub warnings: Vec<String>,
}

/// Proposes the lists on a page.
#[utoipa::path(post, path = "/detect", tag = "Detection", security(("bearer" = [])),
    request_body = DetectIn,
    responses(
        (status = 200, description = "The lists found (none is an empty list)", body = DetectOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 429, description = "The user already has as many previews or detections running as allowed", body = ErrorOut),
        (status = 422, description = "No page given, an invalid address, one the network guard refuses, or no browser for `browser`", body = ValidationErrorOut),
        (status = 502, description = "The page could not be fetched", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn detect_lists(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<DetectIn>,
) -> ApiResult<Json<DetectOut>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let _slot = state.page_slots.take_or_busy(caller.user.user_id)?;
    let options = DetectOptions {
        max_candidates: match body.max_candidates {
            None => DetectOptions::default().max_candidates,
            Some(n @ 1..=MAX_CANDIDATES) => n,
            Some(n) => {
                let message = format!("must be between 1 and {MAX_CANDIDATES}, not {n}");
                return Err(ApiError::invalid("max_candidates", message));
            }
        },
        ..DetectOptions::default()
    };
    let url = match &body.url {
        Some(text) => Some(page_url(text, "url")?),
        None => None,
    };
    let found = match (body.html, url) {
        (Some(html), url) => {
            let url = url.unwrap_or_else(|| Url::parse("http://localhost/").expect("valid"));
            tokio::task::spawn_blocking(move || detect::detect_html(&html, &url, &options))
                .await
                .map_err(ApiError::internal)?
        }
        (None, Some(url)) => fetch_and_detect(&state, &url, body.fetcher_type, options).await?,
        (None, None) => {
            return Err(ApiError::invalid(
                "url",
                "give the page's address (`url`) or the page itself (`html`)",
            ));
        }
    };
    Ok(Json(DetectOut {
        url: found.url,
        title: found.title,
        candidates: found
            .candidates
            .iter()
            .map(to_json)
            .collect::<ApiResult<_>>()?,
        pagination: found.pagination.as_ref().map(to_json).transpose()?,
        warnings: found.warnings,
    }))
}

/// An absolute http(s) address with a host; a 422 on `path` otherwise.
pub(crate) fn page_url(text: &str, path: &'static str) -> ApiResult<Url> {
    parse_http_url(text).map_err(|message| ApiError::invalid(path, message))
}

async fn fetch_and_detect(
    state: &AppState,
    url: &Url,
    kind: FetcherIn,
    options: DetectOptions,
) -> ApiResult<detect::Detection> {
    let fetcher = page_fetcher(state, url, kind)?;
    match survey::fetch_and_detect(fetcher.as_ref(), url, options).await {
        Ok(found) => Ok(found),
        Err(SurveyError::Fetch(FetchError::Blocked(e))) => {
            Err(ApiError::invalid("url", e.to_string()))
        }
        Err(e @ SurveyError::NotHtml { .. }) => Err(ApiError::invalid("url", e.to_string())),
        Err(SurveyError::Detection(e)) => Err(ApiError::internal(e)),
        Err(e) => Err(ApiError::BadGateway(e.to_string())),
    }
}

/// The fetcher a person's page request gets: the kind asked for, the server's strict network
/// guard (checked on `url` first: a refusal is a 422 on `url`), one retry, a bounded timeout.
pub(crate) fn page_fetcher(
    state: &AppState,
    url: &Url,
    kind: FetcherIn,
) -> ApiResult<Arc<dyn fetch::Fetcher>> {
    let guard = state.settings.network_guard();
    guard
        .check_url(url)
        .map_err(|e| ApiError::invalid("url", e.to_string()))?;
    let pool = match (&state.browser, kind) {
        (Ok(pool), _) => Some(pool),
        (Err(missing), FetcherIn::Browser) => {
            return Err(ApiError::invalid("fetcher_type", missing.to_string()));
        }
        (Err(_), _) => None,
    };
    let fetch_options = FetchOptions {
        retry_count: 1,
        timeout: std::time::Duration::from_secs(FETCH_SECONDS),
        user_agents: DEFAULT_USER_AGENTS.iter().map(|s| s.to_string()).collect(),
        ..FetchOptions::default()
    };
    fetch::for_pages(
        kind.into(),
        guard,
        fetch_options,
        PageOptions::default(),
        pool,
    )
    .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GeneralizeIn {
    /// The page, whose elements carry `data-gs-node` numbers (as a snapshot's do).
    pub html: String,
    /// Where the page lives (links resolve against it; default `http://localhost/`).
    pub url: Option<String>,
    /// Two or more items the person picked, by `data-gs-node` number.
    #[serde(default)]
    pub examples: Vec<u32>,
    /// Elements that must not be items.
    #[serde(default)]
    pub excluded: Vec<u32>,
    /// The item selector (CSS) a `field_element` belongs to; default: the one found from
    /// `examples`.
    pub item_selector: Option<String>,
    /// An element clicked inside an item: its field is proposed.
    pub field_element: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct GeneralizeOut {
    /// The items like the examples: `item_selector`, `count`, `item_nodes`, `fields`,
    /// `sample` and a `job` document (when `examples` were given).
    #[schema(value_type = Option<Object>)]
    pub items: Option<serde_json::Value>,
    /// The field of `field_element`: `field` (name, selector, attribute), its `values` in the
    /// first items and `alternatives` (when `field_element` was given).
    #[schema(value_type = Option<Object>)]
    pub field: Option<serde_json::Value>,
}

/// From picked elements: the selector for every item like them, and a clicked element's field.
#[utoipa::path(post, path = "/generalize", tag = "Detection", security(("bearer" = [])),
    request_body = GeneralizeIn,
    responses(
        (status = 200, description = "The items and/or the field", body = GeneralizeOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 429, description = "The user already has as many previews or detections running as allowed", body = ErrorOut),
        (status = 422, description = "Too few examples, unknown node numbers, no selector that separates them, or an element outside every item", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn generalize(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<GeneralizeIn>,
) -> ApiResult<Json<GeneralizeOut>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let _slot = state.page_slots.take_or_busy(caller.user.user_id)?;
    let url = match &body.url {
        Some(text) => page_url(text, "url")?,
        None => Url::parse("http://localhost/").expect("a valid URL"),
    };
    if body.examples.is_empty() && body.field_element.is_none() {
        return Err(ApiError::invalid(
            "examples",
            "give two or more `examples`, a `field_element`, or both",
        ));
    }
    if body.field_element.is_some() && body.item_selector.is_none() && body.examples.is_empty() {
        return Err(ApiError::invalid(
            "item_selector",
            "a `field_element` needs the items it is in: an `item_selector` or `examples`",
        ));
    }
    let answer = tokio::task::spawn_blocking(move || picked(&body, &url))
        .await
        .map_err(ApiError::internal)?;
    let (items, field) = answer.map_err(|(path, e)| ApiError::invalid(path, e.to_string()))?;
    Ok(Json(GeneralizeOut {
        items: items.as_ref().map(to_json).transpose()?,
        field: field.as_ref().map(to_json).transpose()?,
    }))
}

pub(crate) fn to_json(value: &impl Serialize) -> ApiResult<serde_json::Value> {
    serde_json::to_value(value).map_err(ApiError::internal)
}

type Picked = (Option<detect::Candidate>, Option<detect::FieldSuggestion>);

/// The picker's answer on one parse of the page; an error names the request field at fault.
fn picked(body: &GeneralizeIn, url: &Url) -> Result<Picked, (&'static str, DetectError)> {
    let document = detect::parse_page(&body.html);
    let items = match body.examples.is_empty() {
        true => None,
        false => Some(
            detect::generalise_nodes(&document, url, &body.examples, &body.excluded)
                .map_err(|e| ("examples", e))?,
        ),
    };
    let field = match body.field_element {
        None => None,
        Some(node) => {
            let selector = match (&body.item_selector, &items) {
                (Some(selector), _) => selector.as_str(),
                (None, Some(items)) => items.item_selector.as_str(),
                (None, None) => unreachable!("checked before: examples or an item selector"),
            };
            Some(
                detect::propose_field_node(&document, url, selector, node)
                    .map_err(|e| ("field_element", e))?,
            )
        }
    };
    Ok((items, field))
}
