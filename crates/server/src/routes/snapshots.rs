//! Page snapshots and the picker that works on them.
//!
//! `POST /snapshots` fetches a page as `/detect` does (the kind of fetcher asked for, the
//! server's strict network guard, a bounded timeout, the user's page slots), sanitizes it into
//! an inert copy whose elements carry `data-gs-node` numbers (`crate::snapshot`), and stores it
//! for its owner. The web app shows it at `/snapshots/{id}` in a sandboxed frame, and the
//! person's clicks come back here as node numbers:
//!
//! - `items`: example items (plus ones added or removed by hand) → the item selector, every
//!   matching node and the count;
//! - `field`: an element clicked inside an item → the field it is, with alternatives (its link
//!   beside its text, say), a guessed name and how many items have a value;
//! - `preview`: an item selector and fields → the rows the engine's extraction gives;
//! - `pagination`: a clicked "next" link, or the page numbers → how to reach page 2 and where;
//! - `detect`: the lists detection finds on the snapshot, each with its node numbers.
//!
//! Every answer comes from `engine::detect` or the engine's extraction run on the stored
//! snapshot, parsed on a blocking thread; the browser only sends numbers.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use grandma_engine::detect::{self, DetectError, DetectOptions};
use grandma_engine::fetch::browser::shell::app_shell_sign;
use grandma_engine::fetch::{Escalation, FetchError, Fetcher};
use grandma_engine::spec::FetcherType;
use grandma_store::{NewSnapshot, Snapshot, SnapshotBounds};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tracing::instrument;
use url::Url;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiError, ApiResult, ErrorOut, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath};
use crate::routes::detect::{DetectOut, FetcherIn, page_fetcher, page_url, to_json};
use crate::routes::preview::{self, PreviewIn, PreviewOut};
use crate::snapshot::sanitize::sanitize;
use crate::state::AppState;

/// Node numbers one picker request may name, per list.
pub const MAX_NODES: usize = 500;
/// Characters of a selector a picker request may send.
pub const MAX_SELECTOR_CHARS: usize = 4096;
/// Candidates `detect` returns at most.
const MAX_CANDIDATES: usize = 20;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_snapshot))
        .routes(routes!(get_snapshot, delete_snapshot))
        .routes(routes!(pick_items))
        .routes(routes!(pick_field))
        .routes(routes!(preview_rows))
        .routes(routes!(pick_pagination))
        .routes(routes!(detect_lists_in_snapshot))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotIn {
    /// The page to copy (http or https).
    pub url: String,
    #[serde(default)]
    pub fetcher_type: FetcherIn,
}

/// A stored snapshot (without its HTML, which `view_url` serves).
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotOut {
    pub id: Uuid,
    /// The address asked for.
    pub url: String,
    /// The address after redirects: links resolve against it, and it is the job's start URL.
    pub final_url: String,
    pub title: Option<String>,
    pub fetcher_type: String,
    /// Where the app shows the sanitized page (same origin, owner only).
    pub view_url: String,
    pub size_bytes: i64,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// What was left out or changed while copying, in words.
    pub warnings: Vec<String>,
}

impl SnapshotOut {
    fn new(s: &Snapshot, warnings: Vec<String>) -> Self {
        SnapshotOut {
            id: s.snapshot_id,
            url: s.url.clone(),
            final_url: s.final_url.clone(),
            title: s.title.clone(),
            fetcher_type: s.fetcher_type.clone(),
            view_url: format!("/snapshots/{}", s.snapshot_id),
            size_bytes: s.size_bytes,
            created_at: s.created_at,
            expires_at: s.expires_at,
            warnings,
        }
    }
}

/// Copies a page for the picker.
#[utoipa::path(post, path = "/snapshots", tag = "Snapshots", security(("bearer" = [])),
    request_body = SnapshotIn,
    responses(
        (status = 201, description = "The snapshot", body = SnapshotOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 429, description = "The user already has as many page requests running as allowed", body = ErrorOut),
        (status = 422, description = "An invalid address, one the network guard refuses, not an HTML page, a page too large, or no browser for `browser`", body = ValidationErrorOut),
        (status = 502, description = "The page could not be fetched", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn create_snapshot(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<SnapshotIn>,
) -> ApiResult<Response> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let _slot = state.page_slots.take_or_busy(caller.user.user_id)?;
    let url = page_url(&body.url, "url")?;
    let fetcher = page_fetcher(&state, &url, body.fetcher_type)?;
    let (final_url, raw, mut warnings) = fetch_page(fetcher.as_ref(), &url).await?;
    let limits = &state.settings.snapshots;
    // The sanitized page is never much larger than the page, so a page far beyond the bound
    // is refused before the work of sanitizing it.
    let too_large = |bytes: usize| {
        ApiError::invalid(
            "url",
            format!(
                "the page is too large to show ({bytes} bytes; at most {} bytes)",
                limits.max_bytes
            ),
        )
    };
    if raw.len() as u64 > limits.max_bytes.saturating_mul(2) {
        return Err(too_large(raw.len()));
    }
    let page = final_url.clone();
    let clean = tokio::task::spawn_blocking(move || sanitize(&raw, &page))
        .await
        .map_err(ApiError::internal)?;
    if clean.html.len() as u64 > limits.max_bytes {
        return Err(too_large(clean.html.len()));
    }
    warnings.extend(clean.warnings);
    let stored = state
        .store
        .create_snapshot(
            &NewSnapshot {
                owner_id: caller.user.user_id,
                url: url.to_string(),
                final_url: final_url.to_string(),
                title: clean.title,
                fetcher_type: FetcherType::from(body.fetcher_type).as_str().to_owned(),
                html: clean.html,
                lifetime: chrono::Duration::minutes(i64::from(limits.ttl_minutes)),
            },
            SnapshotBounds {
                per_user: limits.per_user,
                user_bytes: limits.user_bytes,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(SnapshotOut::new(&stored, warnings)),
    )
        .into_response())
}

/// Fetches the page; under `auto`, a page built by scripts is fetched again in the browser, as
/// a run would.
async fn fetch_page(fetcher: &dyn Fetcher, url: &Url) -> ApiResult<(Url, String, Vec<String>)> {
    let mut warnings = Vec::new();
    let (mut final_url, mut body) = fetch_html(fetcher, url).await?;
    if !fetcher.renders_javascript()
        && let Some(sign) = app_shell_sign(&body)
    {
        match fetcher.render_from_now() {
            Escalation::Switched | Escalation::AlreadyRendering => {
                (final_url, body) = fetch_html(fetcher, url).await?;
                warnings.push(format!(
                    "the page looks built by scripts ({sign}); it was rendered in the browser"
                ));
            }
            Escalation::Unavailable(why) => {
                warnings.push(format!("the page looks built by scripts ({sign}); {why}"));
            }
        }
    }
    Ok((final_url, body, warnings))
}

async fn fetch_html(fetcher: &dyn Fetcher, url: &Url) -> ApiResult<(Url, String)> {
    let page = match fetcher.fetch(url).await {
        Ok(page) => page,
        Err(FetchError::Blocked(e)) => return Err(ApiError::invalid("url", e.to_string())),
        Err(e) => return Err(ApiError::BadGateway(e.to_string())),
    };
    if let Some(content_type) = &page.content_type {
        let lower = content_type.to_ascii_lowercase();
        if !lower.contains("html") && !lower.contains("xml") {
            return Err(ApiError::invalid(
                "url",
                format!(
                    "{} is not an HTML page (its content type is {content_type})",
                    page.final_url
                ),
            ));
        }
    }
    Ok((page.final_url, page.body))
}

/// A snapshot's details.
#[utoipa::path(get, path = "/snapshots/{id}", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    responses(
        (status = 200, description = "The snapshot", body = SnapshotOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user, or it expired", body = ErrorOut),
    ))]
pub async fn get_snapshot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<SnapshotOut>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let s = state.store.get_snapshot(caller.user.user_id, id).await?;
    Ok(Json(SnapshotOut::new(&s, Vec::new())))
}

/// Deletes a snapshot.
#[utoipa::path(delete, path = "/snapshots/{id}", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user", body = ErrorOut),
    ))]
pub async fn delete_snapshot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    state
        .store
        .delete_snapshot(caller.user.user_id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Loads the caller's snapshot and runs `work` on its parse on a blocking thread, holding one
/// of the user's page slots.
async fn on_snapshot<T, F>(
    state: &AppState,
    caller: &Caller,
    id: Uuid,
    work: F,
) -> ApiResult<T>
where
    T: Send + 'static,
    F: FnOnce(&scraper::Html, &Url) -> ApiResult<T> + Send + 'static,
{
    let _slot = state.page_slots.take_or_busy(caller.user.user_id)?;
    let snapshot = state.store.get_snapshot(caller.user.user_id, id).await?;
    let url = Url::parse(&snapshot.final_url).map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(move || {
        let document = detect::parse_page(&snapshot.html);
        work(&document, &url)
    })
    .await
    .map_err(ApiError::internal)?
}

/// Checks a list of node numbers from a request.
fn nodes(path: &'static str, list: &[u32]) -> ApiResult<()> {
    if list.len() > MAX_NODES {
        return Err(ApiError::invalid(
            path,
            format!("at most {MAX_NODES} elements, not {}", list.len()),
        ));
    }
    Ok(())
}

fn selector_text(path: &'static str, selector: &str) -> ApiResult<()> {
    if selector.trim().is_empty() {
        return Err(ApiError::invalid(path, "must not be empty"));
    }
    if selector.chars().count() > MAX_SELECTOR_CHARS {
        return Err(ApiError::invalid(
            path,
            format!("at most {MAX_SELECTOR_CHARS} characters"),
        ));
    }
    Ok(())
}

fn picker_error(path: &'static str) -> impl Fn(DetectError) -> ApiError {
    move |e| ApiError::invalid(path, e.to_string())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemsIn {
    /// Two or more items the person clicked (anywhere inside each), by `data-gs-node` number.
    pub examples: Vec<u32>,
    /// Items she said are not items (anywhere inside each).
    #[serde(default)]
    pub excluded: Vec<u32>,
    /// Items she added by hand (anywhere inside each): examples like the others.
    #[serde(default)]
    pub included: Vec<u32>,
}

/// The items like the examples.
#[derive(Debug, Serialize, ToSchema)]
pub struct ItemsOut {
    /// CSS selector matching every item.
    pub item_selector: String,
    /// Items on the page.
    pub count: usize,
    /// The items' `data-gs-node` numbers.
    pub item_nodes: Vec<u32>,
    /// Fields proposed for these items (name, selector, attribute, `filled`).
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<serde_json::Value>,
    /// The first rows with those fields.
    #[schema(value_type = Vec<Object>)]
    pub sample: Vec<serde_json::Value>,
    /// How the page leads to the next one, if it does.
    #[schema(value_type = Option<Object>)]
    pub pagination: Option<serde_json::Value>,
    /// A job document with all of the above.
    #[schema(value_type = Object)]
    pub job: serde_json::Value,
}

/// From example items to all items like them.
#[utoipa::path(post, path = "/snapshots/{id}/items", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    request_body = ItemsIn,
    responses(
        (status = 200, description = "The items like the examples", body = ItemsOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user, or it expired", body = ErrorOut),
        (status = 422, description = "Too few examples, unknown node numbers, or no selector that separates them", body = ValidationErrorOut),
        (status = 429, description = "Too many page requests at once", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn pick_items(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<ItemsIn>,
) -> ApiResult<Json<ItemsOut>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    nodes("examples", &body.examples)?;
    nodes("excluded", &body.excluded)?;
    nodes("included", &body.included)?;
    let found = on_snapshot(&state, &caller, id, move |document, url| {
        let (examples, excluded) = picked_items(document, body)?;
        detect::generalise_nodes(document, url, &examples, &excluded)
            .map_err(picker_error("examples"))
    })
    .await?;
    Ok(Json(ItemsOut {
        item_selector: found.item_selector.clone(),
        count: found.count,
        item_nodes: found.item_nodes.clone(),
        fields: found.fields.iter().map(to_json).collect::<ApiResult<_>>()?,
        sample: found.sample.iter().map(to_json).collect::<ApiResult<_>>()?,
        pagination: found.pagination.as_ref().map(to_json).transpose()?,
        job: found.job,
    }))
}

/// The items meant by the clicks (`examples` and `included` may land anywhere inside an item;
/// `excluded` anywhere inside a matched one): the examples and the excluded items.
fn picked_items(document: &scraper::Html, body: ItemsIn) -> ApiResult<(Vec<u32>, Vec<u32>)> {
    let error = picker_error("examples");
    // The first clicks say how deep the items are; added ones are taken at that depth.
    let (clicks, others) = match body.examples.len() {
        0 | 1 => {
            let mut clicks = body.examples;
            clicks.extend(&body.included);
            (clicks, body.excluded.clone())
        }
        _ => {
            let mut others = body.included.clone();
            others.extend(&body.excluded);
            (body.examples, others)
        }
    };
    let (mut items, others) = detect::items_of_clicks(document, &clicks, &others).map_err(error)?;
    let excluded_from = others.len() - body.excluded.len();
    items.extend(&others[..excluded_from]);
    let mut excluded = others[excluded_from..].to_vec();
    dedup(&mut items);
    dedup(&mut excluded);
    if items.iter().any(|i| excluded.contains(i)) {
        return Err(ApiError::invalid(
            "excluded",
            "an item is both picked and excluded; pick it as one or the other",
        ));
    }
    Ok((items, excluded))
}

/// Sorted, each once.
fn dedup(list: &mut Vec<u32>) {
    list.sort_unstable();
    list.dedup();
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldIn {
    /// The items' CSS selector (from `items`).
    pub item_selector: String,
    /// The element clicked inside an item, by `data-gs-node` number.
    pub node: u32,
}

/// The field of a clicked element.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOut {
    /// The likeliest field: `name` (a guess to edit), `selector`, `attribute`, `filled` (items
    /// with a value).
    #[schema(value_type = Object)]
    pub field: serde_json::Value,
    /// Its value in the first items (null where missing).
    #[schema(value_type = Vec<Object>)]
    pub values: Vec<serde_json::Value>,
    /// Other values the element offers (its link, image, date or another attribute).
    #[schema(value_type = Vec<Object>)]
    pub alternatives: Vec<serde_json::Value>,
}

/// From an element clicked inside an item to the field it is.
#[utoipa::path(post, path = "/snapshots/{id}/field", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    request_body = FieldIn,
    responses(
        (status = 200, description = "The field and its alternatives", body = FieldOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user, or it expired", body = ErrorOut),
        (status = 422, description = "An invalid item selector, an unknown node, or an element outside every item or without a value", body = ValidationErrorOut),
        (status = 429, description = "Too many page requests at once", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn pick_field(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<FieldIn>,
) -> ApiResult<Json<FieldOut>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    selector_text("item_selector", &body.item_selector)?;
    let found = on_snapshot(&state, &caller, id, move |document, url| {
        detect::propose_field_node(document, url, &body.item_selector, body.node).map_err(|e| {
            let path = match e {
                DetectError::InvalidItemSelector { .. } => "item_selector",
                _ => "node",
            };
            ApiError::invalid(path, e.to_string())
        })
    })
    .await?;
    Ok(Json(FieldOut {
        field: to_json(&found.field)?,
        values: found.values,
        alternatives: found
            .alternatives
            .iter()
            .map(to_json)
            .collect::<ApiResult<_>>()?,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RowsIn {
    /// The items' selector.
    pub item_selector: String,
    /// `css` (default) or `xpath`.
    pub item_selector_type: Option<String>,
    /// The fields, as in a job document (`name`, `selector`, `attribute`, …).
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<serde_json::Value>,
}

/// The rows a job with these items and fields extracts from the snapshot.
#[utoipa::path(post, path = "/snapshots/{id}/preview", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    request_body = RowsIn,
    responses(
        (status = 200, description = "What the engine extracts", body = PreviewOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user, or it expired", body = ErrorOut),
        (status = 422, description = "Invalid selectors or fields, located under `config`", body = ValidationErrorOut),
        (status = 429, description = "Too many page requests at once", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn preview_rows(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<RowsIn>,
) -> Response {
    if let Err(refused) = authorize(&caller, Target::Account, Action::UseTools) {
        return refused.into_response();
    }
    let slot = match state.page_slots.take_or_busy(caller.user.user_id) {
        Ok(slot) => slot,
        Err(busy) => return busy.into_response(),
    };
    let snapshot = match state.store.get_snapshot(caller.user.user_id, id).await {
        Ok(s) => s,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let config = serde_json::json!({
        "name": "Preview",
        "start_url": snapshot.final_url,
        "item_selector": body.item_selector,
        "item_selector_type": body.item_selector_type.unwrap_or_else(|| "css".into()),
        "fields": body.fields,
    });
    let request = PreviewIn {
        config,
        url: Some(snapshot.final_url),
        html: Some(snapshot.html),
    };
    // When the client leaves, the extraction on the blocking thread is cancelled.
    let cancel = CancellationToken::new();
    let _cancel_on_drop = cancel.clone().drop_guard();
    let answer = preview::run(state.clone(), request, &cancel).await;
    drop(slot);
    answer.into_response()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaginationIn {
    /// The "next" link the person clicked (or an element inside it), by `data-gs-node`.
    pub next_node: Option<u32>,
    /// Pages by number: the page-number links become a `url_pattern`.
    #[serde(default)]
    pub page_numbers: bool,
}

/// How to reach the next page.
#[utoipa::path(post, path = "/snapshots/{id}/pagination", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    request_body = PaginationIn,
    responses(
        (status = 200, description = "`{type: next_button, selector, selector_type, next_url}` or `{type: url_pattern, url_pattern, next_url}` (`next_url` is page 2)", body = Object),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user, or it expired", body = ErrorOut),
        (status = 422, description = "Neither or both asked for, an unknown node, not a link, or no page numbers", body = ValidationErrorOut),
        (status = 429, description = "Too many page requests at once", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn pick_pagination(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<PaginationIn>,
) -> ApiResult<Json<serde_json::Value>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let next_node = match (body.next_node, body.page_numbers) {
        (Some(_), true) | (None, false) => {
            return Err(ApiError::invalid(
                "next_node",
                "give the clicked link (`next_node`) or ask for pages by number \
                 (`page_numbers: true`), not both",
            ));
        }
        (node, _) => node,
    };
    let found = on_snapshot(&state, &caller, id, move |document, url| match next_node {
        Some(node) => {
            detect::next_link_node(document, url, node).map_err(picker_error("next_node"))
        }
        None => detect::page_number_pattern(document, url).map_err(picker_error("page_numbers")),
    })
    .await?;
    Ok(Json(to_json(&found)?))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotDetectIn {
    /// Candidates returned at most, 1–20 (default 8).
    pub max_candidates: Option<usize>,
}

/// The lists detection finds on the snapshot, with their node numbers.
#[utoipa::path(post, path = "/snapshots/{id}/detect", tag = "Snapshots", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Snapshot id")),
    request_body = SnapshotDetectIn,
    responses(
        (status = 200, description = "The lists found (none is an empty list)", body = DetectOut),
        (status = 401, description = "Not signed in", body = ErrorOut),
        (status = 404, description = "No such snapshot of this user, or it expired", body = ErrorOut),
        (status = 422, description = "`max_candidates` out of range", body = ValidationErrorOut),
        (status = 429, description = "Too many page requests at once", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn detect_lists_in_snapshot(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<SnapshotDetectIn>,
) -> ApiResult<Json<DetectOut>> {
    authorize(&caller, Target::Account, Action::UseTools)?;
    let options = DetectOptions {
        max_candidates: match body.max_candidates {
            None => DetectOptions::default().max_candidates,
            Some(n @ 1..=MAX_CANDIDATES) => n,
            Some(n) => {
                return Err(ApiError::invalid(
                    "max_candidates",
                    format!("must be between 1 and {MAX_CANDIDATES}, not {n}"),
                ));
            }
        },
        ..DetectOptions::default()
    };
    let found = on_snapshot(&state, &caller, id, move |document, url| {
        Ok(detect::detect_with(document, url, &options))
    })
    .await?;
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
