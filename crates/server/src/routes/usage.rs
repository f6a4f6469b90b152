//! `/orgs/{id}/usage` and `/orgs/{id}/quotas`: what an organization uses of its quotas, and
//! an instance admin's limits for one organization.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Deserializer, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use grandma_store::{OrgQuotas, QuotaKind};

use crate::auth::{Action, Caller, Target, authorize};
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath};
use crate::quota::{self, Standing};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_usage))
        .routes(routes!(set_quotas))
}

/// One quota as it stands.
#[derive(Debug, Serialize, ToSchema)]
pub struct QuotaStandingOut {
    /// What the organization uses now.
    pub used: i64,
    /// Its limit: the organization's own when `overridden`, else the instance default.
    pub limit: i64,
    /// Whether an instance admin set this organization's own limit.
    pub overridden: bool,
}

impl From<Standing> for QuotaStandingOut {
    fn from(s: Standing) -> Self {
        QuotaStandingOut {
            used: s.used,
            limit: s.limit,
            overridden: s.own_limit,
        }
    }
}

/// Every quota of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgUsageOut {
    pub org_id: Uuid,
    /// Jobs it has.
    pub jobs: QuotaStandingOut,
    /// Runs it queued in the last 24 hours (by hand, by API or by schedule).
    pub runs_per_day: QuotaStandingOut,
    /// Its runs that workers crawl now; more wait in the queue.
    pub concurrent_runs: QuotaStandingOut,
    /// Items its runs hold (runs whose items retention deleted hold none).
    pub stored_items: QuotaStandingOut,
    /// Schedules it has.
    pub schedules: QuotaStandingOut,
}

async fn usage_out(state: &AppState, org_id: Uuid) -> ApiResult<OrgUsageOut> {
    let standing = quota::standing(state, org_id).await?;
    let of = |kind: QuotaKind| {
        let s = standing
            .iter()
            .find(|s| s.kind == kind)
            .copied()
            .unwrap_or(Standing {
                kind,
                used: 0,
                limit: 0,
                own_limit: false,
            });
        QuotaStandingOut::from(s)
    };
    Ok(OrgUsageOut {
        org_id,
        jobs: of(QuotaKind::Jobs),
        runs_per_day: of(QuotaKind::RunsPerDay),
        concurrent_runs: of(QuotaKind::ConcurrentRuns),
        stored_items: of(QuotaKind::StoredItems),
        schedules: of(QuotaKind::Schedules),
    })
}

/// What an organization uses of each quota, and the limits. Any member may read it.
#[utoipa::path(get, path = "/orgs/{id}/usage", tag = "Organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "Usage and limits", body = OrgUsageOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn get_usage(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OrgUsageOut>> {
    authorize(&caller, Target::Org(id), Action::ReadOrg)?;
    Ok(Json(usage_out(&state, id).await?))
}

/// An organization's own limits. A field left out keeps its value; `null` returns the quota
/// to the instance default (the settings' `[quotas]`); a number is the organization's limit.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuotasIn {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub max_jobs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub max_runs_per_day: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub max_concurrent_runs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub max_stored_items: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>, nullable, minimum = 1)]
    pub max_schedules: Option<Option<i64>>,
}

/// A field that is present: `null` is `Some(None)`, left out is `None` (by `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

impl QuotasIn {
    /// `current` with this body's changes, or every problem at once. Limits are stored as
    /// `integer` columns but for stored items (`bigint`), which bounds what may be asked.
    fn applied_to(&self, current: OrgQuotas) -> ApiResult<OrgQuotas> {
        let mut problems = Vec::new();
        let mut next = current;
        let small = [
            ("max_jobs", self.max_jobs, &mut next.max_jobs),
            (
                "max_runs_per_day",
                self.max_runs_per_day,
                &mut next.max_runs_per_day,
            ),
            (
                "max_concurrent_runs",
                self.max_concurrent_runs,
                &mut next.max_concurrent_runs,
            ),
        ];
        for (name, given, slot) in small {
            if let Some(value) = given {
                match limit(name, value, i64::from(i32::MAX)) {
                    Ok(n) => *slot = n.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                    Err(problem) => problems.push(problem),
                }
            }
        }
        if let Some(value) = self.max_stored_items {
            match limit("max_stored_items", value, i64::MAX) {
                Ok(n) => next.max_stored_items = n,
                Err(problem) => problems.push(problem),
            }
        }
        if let Some(value) = self.max_schedules {
            match limit("max_schedules", value, i64::from(i32::MAX)) {
                Ok(n) => next.max_schedules = n.map(|n| i32::try_from(n).unwrap_or(i32::MAX)),
                Err(problem) => problems.push(problem),
            }
        }
        if problems.is_empty() {
            Ok(next)
        } else {
            Err(ApiError::Validation(problems))
        }
    }
}

/// A limit given for `name`: `None` (null) for the default, else a whole number from 1 to
/// `max`.
fn limit(name: &str, value: Option<i64>, max: i64) -> Result<Option<i64>, FieldProblem> {
    match value {
        None => Ok(None),
        Some(n) if (1..=max).contains(&n) => Ok(Some(n)),
        Some(n) => Err(FieldProblem::new(
            name,
            format!(
                "must be a whole number from 1 to {max}, not {n}; null returns it to the \
                 instance default"
            ),
        )),
    }
}

/// Sets or resets an organization's own limits (instance admins only); answers its usage
/// with the new limits. Lowering a limit below the usage deletes nothing: the organization
/// only stops growing.
#[utoipa::path(put, path = "/orgs/{id}/quotas", tag = "Organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = QuotasIn,
    responses(
        (status = 200, description = "Usage and the new limits", body = OrgUsageOut),
        (status = 403, description = "Not an instance admin", body = ErrorOut),
        (status = 404, description = "No such organization", body = ErrorOut),
        (status = 422, description = "A limit that is not a positive whole number", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn set_quotas(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<QuotasIn>,
) -> ApiResult<Json<OrgUsageOut>> {
    authorize(&caller, Target::Instance, Action::ManageQuotas)?;
    let overrides = body.applied_to(state.store.get_org(id).await?.quotas)?;
    state.store.set_org_quotas(id, &overrides).await?;
    tracing::info!(?overrides, "organization quotas set");
    Ok(Json(usage_out(&state, id).await?))
}
