//! `/results/{id}/changes`: what a completed run changed compared with the previous completed
//! run of its job (new, changed and removed items, changed fields with both values).

use axum::Json;
use axum::extract::State;
use grandma_store::{ChangeKind, ItemChange, Page};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiResult, ErrorOut};
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::page::page_type;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_changes))
}

/// One field whose value changed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldChangeOut {
    pub field: String,
    /// The previous run's value (text, list of texts, or null).
    #[schema(value_type = Object)]
    pub old: serde_json::Value,
    /// This run's value.
    #[schema(value_type = Object)]
    pub new: serde_json::Value,
}

/// One new, changed or removed item.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeOut {
    pub kind: ChangeKind,
    /// The item's position in this run (new, changed) or in the previous run (removed).
    pub seq: i64,
    /// The item as this run has it (new, changed); null for removed items.
    #[schema(value_type = Option<Object>)]
    pub item: Option<serde_json::Map<String, serde_json::Value>>,
    /// The item as the previous run had it (changed, removed); null for new items.
    #[schema(value_type = Option<Object>)]
    pub previous: Option<serde_json::Map<String, serde_json::Value>>,
    /// For changed items, each field whose value differs.
    pub fields: Vec<FieldChangeOut>,
}

impl From<ItemChange> for ChangeOut {
    fn from(c: ItemChange) -> Self {
        ChangeOut {
            kind: c.kind,
            seq: c.seq,
            item: c.item,
            previous: c.previous,
            fields: c
                .fields
                .into_iter()
                .map(|f| FieldChangeOut {
                    field: f.field,
                    old: f.old,
                    new: f.new,
                })
                .collect(),
        }
    }
}

page_type!(ChangePage, ChangeOut);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeQuery {
    /// Only this kind of change (default: all, new first, then changed, then removed).
    #[param(value_type = Option<ChangeKind>)]
    pub kind: Option<ChangeKind>,
    /// Rows per page, 1..1000 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<i64>,
}

/// The changes of a run compared with the previous completed run of its job. Empty for a
/// first run and for runs that did not complete; the counts are on the run itself.
#[utoipa::path(get, path = "/results/{id}/changes", tag = "Results", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Result (run) id"), ChangeQuery),
    responses(
        (status = 200, description = "A page of changes", body = ChangePage),
        (status = 404, description = "No such run of the caller", body = ErrorOut),
        (status = 422, description = "Unknown kind, or a negative offset", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, result_id = %id))]
pub async fn list_changes(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<ChangeQuery>,
) -> ApiResult<Json<ChangePage>> {
    let paging = crate::routes::page::paging(query.limit, query.offset)?;
    let run = state.store.get_run(caller.scope(), id).await?;
    authorize(&caller, Target::Org(run.org_id), Action::ReadResults)?;
    let page = state
        .store
        .list_changes(caller.scope(), id, query.kind, paging)
        .await?;
    let page = Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(ChangePage::new(page, paging)))
}
