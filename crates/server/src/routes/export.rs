//! `GET /results/{id}/export/{format}`: a run's items as CSV, JSON, JSON Lines or XLSX,
//! streamed so that a run of a million items exports in constant memory.
//!
//! CSV and JSON formats are written item by item into a small shared buffer whose chunks go to
//! the response body through a bounded channel; a slow client therefore slows the export
//! instead of growing a queue. XLSX is a zip whose directory comes last, so it is written to an
//! anonymous temporary file on a blocking thread (the library keeps rows in constant memory)
//! and that file is then streamed.

use std::io::{Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{SinkExt, Stream, StreamExt};
use grandma_engine::export::{self, ExportOptions, Format, ItemWriter};
use grandma_engine::{FieldValue, Item};
use grandma_store::{ChangeKind, StoreError};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::instrument;
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::conditional;
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// Bytes collected before a chunk is handed to the body.
const CHUNK_BYTES: usize = 64 * 1024;
/// Chunks in flight between the writer and the client.
const CHUNKS_IN_FLIGHT: usize = 4;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(export_result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// Comma-separated fields to include, in this order (default: all, in the job's order).
    pub fields: Option<String>,
    /// Comma-separated fields to leave out.
    pub omit: Option<String>,
    /// Items to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
    /// Items to export at most (default: all).
    #[param(minimum = 0)]
    pub limit: Option<i64>,
    /// Only the items that are `new` or `changed` since the previous completed run of the
    /// job, or both (`new,changed`); `offset` and `limit` then count those items.
    pub only: Option<String>,
}

/// Downloads a run's items.
#[utoipa::path(get, path = "/results/{id}/export/{format}", tag = "Results",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Result (run) id"),
        ("format" = String, Path, description = "`csv`, `json`, `jsonl` or `xlsx`"),
        ExportQuery,
        ("If-None-Match" = Option<String>, Header, description = "The `ETag` of an earlier export of the same finished run, format and query: 304 without reading the items"),
    ),
    responses(
        (status = 200, description = "The file, as an attachment", content(
            (String = "text/csv"),
            (String = "application/json"),
            (String = "application/x-ndjson"),
            (String = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 304, description = "A finished run's export the client already has"),
        (status = 404, description = "No such run of the caller, or unknown format", body = ErrorOut),
        (status = 422, description = "Unknown field names or bad offset/limit", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, result_id = %id, format = %format))]
pub async fn export_result(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, format)): ApiPath<(Uuid, String)>,
    ApiQuery(query): ApiQuery<ExportQuery>,
    RawQuery(raw_query): RawQuery,
    headers: HeaderMap,
) -> ApiResult<Response> {
    // Only the canonical names: the URL is part of the API, aliases would be a second spelling.
    let format = match format.as_str() {
        "csv" => Format::Csv,
        "json" => Format::Json,
        "jsonl" => Format::Jsonl,
        "xlsx" => Format::Xlsx,
        _ => return Err(ApiError::NotFound),
    };
    let offset = query.offset.unwrap_or(0);
    if offset < 0 {
        return Err(ApiError::invalid("query.offset", "must be 0 or more"));
    }
    let run = state.store.get_run(caller.scope(), id).await?;
    authorize(&caller, Target::Org(run.org_id), Action::ReadResults)?;
    let selected = select_columns(&run.columns, query.fields.as_deref(), query.omit.as_deref())?;
    if query.limit.is_some_and(|l| l < 0) {
        return Err(ApiError::invalid("limit", "must be 0 or more"));
    }
    let only = query.only.as_deref().map(parse_only).transpose()?;
    // A finished run's export never changes: answered from the run row alone when the client
    // has it already. An XLSX file carries its creation time, so its tag is weak (the same
    // content, not the same bytes).
    let tag =
        conditional::finished_run(&run, format.extension(), raw_query.as_deref()).map(|tag| {
            if format.is_streamable() {
                tag
            } else {
                tag.weakened()
            }
        });
    if let Some(tag) = &tag
        && conditional::none_match_hits(&headers, tag)
    {
        return Ok(conditional::not_modified(tag, Some(conditional::IMMUTABLE)));
    }
    let columns: Vec<String> = selected.iter().map(|&i| run.columns[i].clone()).collect();
    let items = match only {
        None => state.store.stream_items(id, offset, query.limit).boxed(),
        Some(kinds) => state
            .store
            .stream_changed_items(id, kinds, offset, query.limit)
            .boxed(),
    }
    .map(move |item| item.map(|item| project(&item, &selected)));

    let body = if format.is_streamable() {
        stream_body(format, columns, items)?.into_response()
    } else {
        xlsx_body(columns, items).await?
    };
    let disposition = format!(
        "attachment; filename=\"result_{id}.{}\"",
        format.extension()
    );
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    headers.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&disposition).map_err(ApiError::internal)?,
    );
    if let Some(tag) = &tag {
        conditional::set_validators(headers, tag, Some(conditional::IMMUTABLE));
    }
    Ok(response)
}

/// `only`: `new`, `changed` or both, comma-separated.
fn parse_only(list: &str) -> ApiResult<Vec<ChangeKind>> {
    let mut kinds = Vec::new();
    for name in list.split(',').map(str::trim) {
        match name.parse::<ChangeKind>() {
            Ok(kind @ (ChangeKind::New | ChangeKind::Changed)) => {
                if !kinds.contains(&kind) {
                    kinds.push(kind);
                }
            }
            _ => {
                let shown: String = name.chars().take(40).collect();
                return Err(ApiError::invalid(
                    "query.only",
                    format!("must be `new`, `changed` or `new,changed`, got {shown:?}"),
                ));
            }
        }
    }
    Ok(kinds)
}

/// Indices of the exported columns: `fields` in its order (or all), minus `omit`. Unknown names
/// are refused with the list of valid ones rather than silently exporting less.
fn select_columns(
    columns: &[String],
    fields: Option<&str>,
    omit: Option<&str>,
) -> ApiResult<Vec<usize>> {
    let mut problems = Vec::new();
    let mut lookup = |param: &'static str, list: &str| -> Vec<usize> {
        list.split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .filter_map(|name| {
                let found = columns.iter().position(|c| c == name);
                if found.is_none() {
                    problems.push(FieldProblem::new(
                        param,
                        format!(
                            "unknown field {name:?}; the run's fields are: {}",
                            columns.join(", ")
                        ),
                    ));
                }
                found
            })
            .collect()
    };
    let mut selected = match fields {
        Some(list) => lookup("fields", list),
        None => (0..columns.len()).collect(),
    };
    let omitted = omit.map(|list| lookup("omit", list)).unwrap_or_default();
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    let mut seen = std::collections::HashSet::new();
    selected.retain(|i| !omitted.contains(i) && seen.insert(*i));
    if selected.is_empty() {
        return Err(ApiError::invalid("fields", "no fields left to export"));
    }
    Ok(selected)
}

/// The item's values in the selected columns' order.
fn project(item: &Item, selected: &[usize]) -> Item {
    Item::new(
        selected
            .iter()
            .map(|&i| item.values.get(i).cloned().unwrap_or(FieldValue::Null))
            .collect(),
    )
}

/// A `Write` into a buffer that the pump drains in chunks. The exporters need an owned
/// `'static` sink, so the buffer is shared with the task that sends it on.
#[derive(Clone, Default)]
struct SharedBuf(Arc<Mutex<Vec<u8>>>);

impl SharedBuf {
    fn take_if_at_least(&self, min: usize) -> Option<Bytes> {
        let mut buf = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        (buf.len() >= min.max(1)).then(|| Bytes::from(std::mem::take(&mut *buf)))
    }
}

impl Write for SharedBuf {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

type ItemStream = futures::stream::BoxStream<'static, Result<Item, StoreError>>;

fn stream_body(
    format: Format,
    columns: Vec<String>,
    items: impl Stream<Item = Result<Item, StoreError>> + Send + 'static,
) -> ApiResult<Body> {
    let buffer = SharedBuf::default();
    let writer = export::stream_writer(format, columns, buffer.clone(), &ExportOptions::default())
        .map_err(ApiError::internal)?;
    let (tx, rx) = futures::channel::mpsc::channel(CHUNKS_IN_FLIGHT);
    tokio::spawn(pump(items.boxed(), writer, buffer, tx));
    Ok(Body::from_stream(rx))
}

/// Moves items from the store through the writer into the body until the end, an error (the
/// body is then aborted, so the client sees a broken download rather than a short one), or the
/// client going away.
async fn pump(
    mut items: ItemStream,
    mut writer: Box<dyn ItemWriter>,
    buffer: SharedBuf,
    mut tx: futures::channel::mpsc::Sender<Result<Bytes, std::io::Error>>,
) {
    let failed = |what: &str, error: &dyn std::fmt::Display| {
        tracing::error!(error = %error, "export failed while {what}");
        Err(std::io::Error::other("export failed"))
    };
    while let Some(next) = items.next().await {
        let result = match next {
            Ok(item) => writer.write_item(&item).or_else(|e| failed("writing", &e)),
            Err(e) => failed("reading items", &e),
        };
        if let Err(e) = result {
            let _ = tx.send(Err(e)).await;
            return;
        }
        if let Some(chunk) = buffer.take_if_at_least(CHUNK_BYTES)
            && tx.send(Ok(chunk)).await.is_err()
        {
            tracing::debug!("client went away during an export");
            return;
        }
    }
    if let Err(e) = writer.finish() {
        let _ = tx
            .send(failed("finishing", &e).map(|()| Bytes::new()))
            .await;
        return;
    }
    if let Some(chunk) = buffer.take_if_at_least(1) {
        let _ = tx.send(Ok(chunk)).await;
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Writes the XLSX file on a blocking thread, then streams it. If the client goes away while
/// the file is being written (axum drops this future), the writer stops at the next item
/// instead of finishing a file nobody will read.
async fn xlsx_body(
    columns: Vec<String>,
    items: impl Stream<Item = Result<Item, StoreError>> + Send + 'static,
) -> ApiResult<Response> {
    let runtime = tokio::runtime::Handle::current();
    let items = items.boxed();
    let abandoned = CancellationToken::new();
    let _cancel_when_dropped = abandoned.clone().drop_guard();
    let file =
        tokio::task::spawn_blocking(move || write_xlsx(columns, items, &runtime, &abandoned))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
    let length = file.metadata().map_err(ApiError::internal)?.len();
    let stream = tokio_util::io::ReaderStream::new(tokio::fs::File::from_std(file));
    let mut response = Body::from_stream(stream).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    Ok(response)
}

/// The XLSX file of `items`, rewound; on a blocking thread. Stops with an error once
/// `abandoned` is cancelled.
fn write_xlsx(
    columns: Vec<String>,
    mut items: ItemStream,
    runtime: &tokio::runtime::Handle,
    abandoned: &CancellationToken,
) -> Result<std::fs::File, BoxError> {
    // Anonymous: removed by the OS when the last handle closes, even after a crash.
    let mut file = tempfile::tempfile()?;
    let mut writer = export::file_writer(
        Format::Xlsx,
        columns,
        file.try_clone()?,
        &ExportOptions::default(),
    )?;
    while let Some(item) = runtime.block_on(items.next()) {
        if abandoned.is_cancelled() {
            return Err("the client went away during an XLSX export".into());
        }
        writer.write_item(&item?)?;
    }
    writer.finish()?;
    file.seek(SeekFrom::Start(0))?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<String> {
        vec!["title".into(), "price".into(), "url".into()]
    }

    #[test]
    fn fields_choose_and_order_omit_removes() {
        assert_eq!(select_columns(&cols(), None, None).unwrap(), vec![0, 1, 2]);
        assert_eq!(
            select_columns(&cols(), Some("url, title"), None).unwrap(),
            vec![2, 0]
        );
        assert_eq!(
            select_columns(&cols(), None, Some("price")).unwrap(),
            vec![0, 2]
        );
        assert_eq!(
            select_columns(&cols(), Some("title,title"), None).unwrap(),
            vec![0]
        );
    }

    fn items(n: usize) -> ItemStream {
        futures::stream::iter((0..n).map(|i| {
            Ok(Item {
                values: vec![
                    FieldValue::Text(format!("t{i}")),
                    FieldValue::Text("1".into()),
                    FieldValue::Text("u".into()),
                ],
            })
        }))
        .boxed()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_xlsx_export_stops() {
        let runtime = tokio::runtime::Handle::current();
        let abandoned = CancellationToken::new();
        let kept = abandoned.clone();
        let whole = tokio::task::spawn_blocking(move || {
            write_xlsx(cols(), items(50), &runtime, &kept).map(|f| f.metadata().unwrap().len())
        })
        .await
        .unwrap()
        .unwrap();
        assert!(whole > 0);

        abandoned.cancel();
        let runtime = tokio::runtime::Handle::current();
        let error = tokio::task::spawn_blocking(move || {
            write_xlsx(cols(), items(50), &runtime, &abandoned)
        })
        .await
        .unwrap()
        .unwrap_err();
        assert!(error.to_string().contains("went away"), "{error}");
    }

    #[test]
    fn unknown_or_empty_selections_are_refused() {
        let err = select_columns(&cols(), Some("nope"), Some("nada")).unwrap_err();
        match err {
            ApiError::Validation(problems) => {
                let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
                assert_eq!(paths, ["fields", "omit"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(select_columns(&cols(), Some("title"), Some("title")).is_err());
    }
}
