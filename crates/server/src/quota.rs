//! Organizations' quotas on the API's side: every creation that a quota counts goes through
//! here, with the instance defaults of the settings' `[quotas]` table.
//!
//! The check and the write are one transaction in the store (`Store::*_within_quota`), so
//! the limit holds when requests race for the last free place: exactly as many succeed as
//! there is room, the others get the quota's answer. A refusal is `ApiError::OverQuota`,
//! mapped to HTTP once in `error.rs`: 429 for runs per day (it frees itself), 403 otherwise.
//!
//! Concurrent runs are not checked here: queuing a run never makes one run; workers hold an
//! organization's runs back at claim time instead.

use grandma_store::{
    Job, JobIn, NewRun, OrgUsage, QuotaKind, QuotaLimits, ResultRow, Schedule, ScheduleIn, Scope,
    StoreError, Uuid,
};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The limits of an organization that overrides none: the settings' `[quotas]`.
pub fn defaults(state: &AppState) -> QuotaLimits {
    state.settings.quotas.limits()
}

/// Creates a job in `org_id` unless the organization has all its jobs.
pub async fn create_job(
    state: &AppState,
    org_id: Uuid,
    owner_id: Uuid,
    job: &JobIn,
) -> ApiResult<Job> {
    let created = state
        .store
        .create_job_within_quota(org_id, owner_id, job, &defaults(state))
        .await;
    refused_logged(org_id, created)
}

/// Queues a run of a job `scope` may see unless its organization stores all the items it
/// may, or queued all its runs of the last 24 hours.
pub async fn queue_run(
    state: &AppState,
    scope: Scope,
    job_id: Uuid,
    run: &NewRun,
) -> ApiResult<ResultRow> {
    let queued = state
        .store
        .enqueue_run_within_quota(scope, job_id, run, &defaults(state))
        .await;
    refused_logged(job_id, queued)
}

/// Creates a schedule of a job `scope` may see unless the job's organization has all its
/// schedules.
pub async fn create_schedule(
    state: &AppState,
    scope: Scope,
    job_id: Uuid,
    schedule: &ScheduleIn,
) -> ApiResult<Schedule> {
    let created = state
        .store
        .create_schedule_within_quota(scope, job_id, schedule, &defaults(state))
        .await;
    refused_logged(job_id, created)
}

/// One quota of an organization: what it uses, its limit, and whether that limit is the
/// organization's own (set by an instance admin) rather than the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub kind: QuotaKind,
    pub used: i64,
    pub limit: i64,
    pub own_limit: bool,
}

/// Every quota of `org_id`, in a fixed order.
pub async fn standing(state: &AppState, org_id: Uuid) -> ApiResult<Vec<Standing>> {
    let defaults = defaults(state);
    let own = state.store.get_org(org_id).await?.quotas;
    let limits = state.store.org_limits(org_id, &defaults).await?;
    let usage: OrgUsage = state.store.org_usage(org_id).await?;
    Ok([
        QuotaKind::Jobs,
        QuotaKind::RunsPerDay,
        QuotaKind::ConcurrentRuns,
        QuotaKind::StoredItems,
        QuotaKind::Schedules,
    ]
    .into_iter()
    .map(|kind| Standing {
        kind,
        used: usage.of(kind),
        limit: limits.of(kind),
        own_limit: own.of(kind).is_some(),
    })
    .collect())
}

/// Logs a refusal (who hit which limit is worth knowing for operators) and maps the error.
fn refused_logged<T>(subject: Uuid, result: Result<T, StoreError>) -> ApiResult<T> {
    match result {
        Ok(value) => Ok(value),
        Err(StoreError::OverQuota(over)) => {
            tracing::info!(%subject, quota = over.kind.as_str(), used = over.used,
                limit = over.limit, "refused by a quota");
            Err(ApiError::OverQuota(over))
        }
        Err(other) => Err(other.into()),
    }
}
