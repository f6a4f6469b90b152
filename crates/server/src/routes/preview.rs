//! `POST /preview`: what a job document extracts from one page, without storing anything — the
//! wizard's live preview and the selector preview on a URL.
//!
//! The page is either given inline (`html`) or fetched once from `url` (default: the job's
//! start URL) with the fetcher the job asks for (plain HTTP, or the process's headless Chromium
//! behind its guarded proxy) and the server's strict network guard, so a preview cannot be used
//! to reach internal addresses.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use grandma_engine::JobSpec;
use grandma_engine::crawl::fetch_options;
use grandma_engine::extract::{Budget, PageExtract, PageLimits, extract_page_within};
use grandma_engine::fetch::browser::shell::{ShellSign, app_shell_sign};
use grandma_engine::fetch::{
    self, BrowserPool, Escalation, FetchError, Fetcher, HttpFetcher, needs_browser,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::instrument;
use url::Url;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiError, ApiResult, ErrorOut, ValidationErrorOut};
use crate::extract::ApiJson;
use crate::state::AppState;

/// Items returned at most; the counts cover the whole page.
pub const PREVIEW_ITEMS: usize = 20;
/// A fetch for a preview waits at most this long per attempt: a person is waiting.
const MAX_PREVIEW_SECONDS: u32 = 20;
/// Longest a preview's extraction may take before the rest of the page is left out.
const PREVIEW_EXTRACTION_TIME: Duration = Duration::from_secs(10);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewIn {
    /// The job document to try.
    #[schema(value_type = Object)]
    pub config: serde_json::Value,
    /// The page to fetch (default: the document's `start_url`). With `html`, the page's
    /// address for resolving relative links.
    pub url: Option<String>,
    /// The page itself, instead of fetching it.
    pub html: Option<String>,
}

/// How often one field had a value.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldCountOut {
    pub name: String,
    /// Items (of those kept) where the field had a value.
    pub matched: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewOut {
    /// The page that was extracted (after redirects).
    pub url: String,
    /// The first items, as objects keyed by field name.
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<serde_json::Map<String, serde_json::Value>>,
    /// Elements the item selector matched on the page.
    pub items_matched: usize,
    /// Items dropped for lacking a required field.
    pub items_dropped: usize,
    pub field_counts: Vec<FieldCountOut>,
    /// The next page when pagination is `next_button` and the page has one.
    pub next_url: Option<String>,
    pub warnings: Vec<String>,
}

/// Tries a job document on one page.
#[utoipa::path(post, path = "/preview", tag = "Jobs", security(("bearer" = [])),
    request_body = PreviewIn,
    responses(
        (status = 200, description = "What the document extracts", body = PreviewOut),
        (status = 422, description = "Invalid document, or a URL the network guard refuses", body = ValidationErrorOut),
        (status = 429, description = "The user already has as many previews running as allowed", body = ErrorOut),
        (status = 502, description = "The page could not be fetched", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<PreviewIn>,
) -> Response {
    if let Err(refused) = authorize(&caller, Target::Account, Action::UseTools) {
        return refused.into_response();
    }
    let slot = match state.page_slots.take_or_busy(caller.user.user_id) {
        Ok(slot) => slot,
        Err(busy) => return busy.into_response(),
    };
    // When the client leaves, this future is dropped, and with it the guard that cancels the
    // extraction running on a blocking thread.
    let cancel = CancellationToken::new();
    let _cancel_on_drop = cancel.clone().drop_guard();
    let answer = run(state, body, &cancel).await;
    drop(slot);
    answer.into_response()
}

pub(crate) async fn run(
    state: AppState,
    body: PreviewIn,
    cancel: &CancellationToken,
) -> ApiResult<Json<PreviewOut>> {
    let spec = JobSpec::from_value(&body.config)?;
    let url = match &body.url {
        Some(text) => Url::parse(text).map_err(|e| ApiError::invalid("url", e.to_string()))?,
        None => spec.start_url.clone(),
    };
    let mut warnings = Vec::new();
    let spec = Arc::new(spec);
    let columns = spec.columns();
    let (page_url, extract) = match body.html {
        Some(html) => {
            let (page_url, extract, _) = extract_blocking(&spec, html, url, cancel).await?;
            (page_url, extract)
        }
        None => {
            let url_path = if body.url.is_some() {
                "url"
            } else {
                "config.start_url"
            };
            let guard = state.settings.network_guard();
            guard
                .check_url(&url)
                .map_err(|e| ApiError::invalid(url_path, e.to_string()))?;
            let browser = match &state.browser {
                Ok(pool) => Some(pool),
                Err(missing) if needs_browser(&spec) => {
                    warnings.push(format!("{missing}; the preview used plain HTTP"));
                    None
                }
                Err(_) => None,
            };
            let fetcher = preview_fetcher(&spec, guard, browser)?;
            let (page_url, html) = fetch_once(fetcher.as_ref(), &url, url_path).await?;
            let (page_url, extract, sign) = extract_blocking(&spec, html, page_url, cancel).await?;
            // `auto` renders a page built by scripts, as a run does.
            let sign = sign.filter(|_| !fetcher.renders_javascript());
            match sign.map(|sign| (sign, fetcher.render_from_now())) {
                Some((sign, Escalation::Switched)) => {
                    warnings.push(format!(
                        "the item selector matched nothing over plain HTTP and the page looks \
                         built by scripts ({sign}); the preview rendered it in the browser"
                    ));
                    let (page_url, html) = fetch_once(fetcher.as_ref(), &url, url_path).await?;
                    let (page_url, extract, _) =
                        extract_blocking(&spec, html, page_url, cancel).await?;
                    (page_url, extract)
                }
                Some((sign, Escalation::Unavailable(why))) => {
                    warnings.push(format!(
                        "the item selector matched nothing, and the page looks built by scripts \
                         ({sign}); {why}"
                    ));
                    (page_url, extract)
                }
                _ => (page_url, extract),
            }
        }
    };
    let field_counts = columns
        .iter()
        .enumerate()
        .map(|(i, name)| FieldCountOut {
            name: name.clone(),
            matched: extract
                .items
                .iter()
                .filter(|item| {
                    item.values.get(i).is_some_and(|v| match v {
                        grandma_engine::FieldValue::Null => false,
                        grandma_engine::FieldValue::Text(_) => true,
                        grandma_engine::FieldValue::List(l) => !l.is_empty(),
                    })
                })
                .count(),
        })
        .collect();
    if extract.matched == 0 {
        warnings.push("the item selector matched nothing on this page".to_owned());
    }
    warnings.extend(extract.warnings);
    Ok(Json(PreviewOut {
        url: page_url.to_string(),
        items: extract
            .items
            .iter()
            .take(PREVIEW_ITEMS)
            .map(|item| item.to_json_object(&columns))
            .collect(),
        items_matched: extract.matched,
        items_dropped: extract.dropped,
        field_counts,
        next_url: extract.next_url.map(|u| u.to_string()),
        warnings,
    }))
}

/// The fetcher the job asks for (the browser when it needs one and there is one, else plain
/// HTTP), with at most one retry and a bounded timeout, since a person is waiting.
fn preview_fetcher(
    spec: &JobSpec,
    guard: grandma_engine::guard::NetworkGuard,
    browser: Option<&BrowserPool>,
) -> ApiResult<Arc<dyn Fetcher>> {
    let mut bounded = spec.clone();
    bounded.retry_count = bounded.retry_count.min(1);
    bounded.timeout_seconds = bounded.timeout_seconds.min(MAX_PREVIEW_SECONDS);
    Ok(match browser {
        Some(pool) => fetch::for_job(&bounded, guard, Some(pool)).map_err(ApiError::internal)?,
        None => {
            Arc::new(HttpFetcher::new(guard, fetch_options(&bounded)).map_err(ApiError::internal)?)
        }
    })
}

/// Fetches one page; a refusal of the network guard is the caller's mistake (422).
async fn fetch_once(
    fetcher: &dyn Fetcher,
    url: &Url,
    url_path: &'static str,
) -> ApiResult<(Url, String)> {
    match fetcher.fetch(url).await {
        Ok(page) => Ok((page.final_url, page.body)),
        Err(FetchError::Blocked(e)) => Err(ApiError::invalid(url_path, e.to_string())),
        Err(e) => Err(ApiError::BadGateway(e.to_string())),
    }
}

/// Extracts the page on a blocking thread (parsing and selecting is CPU work), and says whether
/// a page where nothing matched looks built by scripts.
async fn extract_blocking(
    spec: &Arc<JobSpec>,
    html: String,
    url: Url,
    cancel: &CancellationToken,
) -> ApiResult<(Url, PageExtract, Option<ShellSign>)> {
    let spec = Arc::clone(spec);
    let budget = Budget::for_time(PREVIEW_EXTRACTION_TIME).with_cancel(cancel.clone());
    tokio::task::spawn_blocking(move || {
        let extract = extract_page_within(&spec, &html, &url, &PageLimits::default(), &budget);
        let sign = (extract.matched == 0)
            .then(|| app_shell_sign(&html))
            .flatten();
        (url, extract, sign)
    })
    .await
    .map_err(ApiError::internal)
}
