//! `result`: runs of jobs (called results in the API). The queue operations on the same table are in
//! [`crate::queue`].

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::error::Result;
use crate::filter::{Arg, Filter};
use crate::types::{Page, Paging, RunStatus, Scope};
use crate::users::found;

/// A run as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ResultRow {
    pub result_id: Uuid,
    /// The engine's and the logs' identifier of the run.
    pub run_id: Uuid,
    pub job_id: Uuid,
    /// Who created the job.
    pub owner_id: Uuid,
    /// The job's organization.
    pub org_id: Uuid,
    pub status: RunStatus,
    /// The job's field names when the run was queued; item values align with them.
    #[sqlx(json)]
    pub columns: Vec<String>,
    pub total_items: i64,
    pub pages_scraped: i32,
    pub items_dropped: i64,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub duration_seconds: Option<f64>,
    pub error_message: Option<String>,
    #[sqlx(json(nullable))]
    pub error_details: Option<serde_json::Value>,
    #[sqlx(json)]
    pub warnings: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// The worker holding the run, `None` when unclaimed.
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// How many times a worker claimed the run (a re-claim after a crash adds one).
    pub attempts: i32,
    pub cancel_requested: bool,
    /// Where a resumed run continues (next page, pending URLs); `None` at the start.
    #[sqlx(json(nullable))]
    pub checkpoint: Option<serde_json::Value>,
    pub time_limit_seconds: Option<i32>,
    /// The API request that queued the run (`X-Request-ID`), `None` for scheduled runs.
    pub request_id: Option<String>,
    /// Items whose key an earlier item of the run already had; `None` until it completed.
    pub duplicate_keys: Option<i64>,
    /// The previous completed run of the job this one was compared with; `None` for the
    /// first run (or one that did not complete).
    pub diff_base_id: Option<Uuid>,
    /// Compared with the base run: keys it lacked, keys whose content differs, its keys this
    /// run lacks, and keys with the same content. `None` until the run completed.
    pub new_items: Option<i64>,
    pub changed_items: Option<i64>,
    pub removed_items: Option<i64>,
    pub unchanged_items: Option<i64>,
    /// Per-field fill rates and per-page item counts, recorded when the run ended.
    #[sqlx(json(nullable))]
    pub quality: Option<serde_json::Value>,
    /// Retention deleted the run's items; its counts stay.
    pub items_pruned: bool,
    /// Pages answered 304 (not modified) whose items were copied from an earlier run.
    pub pages_not_modified: i32,
}

/// What a queued run carries besides its job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewRun {
    /// Overrides the job's and the operator's limit.
    pub time_limit_seconds: Option<i32>,
    /// The ID of the API request that queued it.
    pub request_id: Option<String>,
}

/// Listing filters for runs.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub job_id: Option<Uuid>,
    pub status: Option<RunStatus>,
}

/// What [`Store::request_cancel`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum CancelOutcome {
    /// The run was still pending: it is now cancelled and will never start.
    Cancelled(ResultRow),
    /// The run is running: its worker stops at the next page (`cancel_requested`).
    Requested(ResultRow),
    /// The run had already finished; nothing changed.
    AlreadyFinished(ResultRow),
}

/// Builds the `where` clause of a run listing; shared with [`crate::explain`].
pub(crate) fn run_filter(scope: Scope, filter: &RunFilter) -> Filter {
    let mut f = Filter::new();
    f.and_scope(scope)
        .and_opt("job_id =", filter.job_id, Arg::Uuid)
        .and_opt("status =", filter.status, |s| {
            Arg::Text(s.as_str().to_owned())
        });
    f
}

/// Queues a run of a job: the columns are the job's `fields[].name` in order, read in SQL so
/// the snapshot and the insert are one statement. `$1` run row id, `$2` run id, `$3` now,
/// `$4` time limit, `$5` job id, `$6` and `$8` the scope, `$7` request id. The run belongs to
/// the job's organization.
pub(crate) const SQL_ENQUEUE_SQLITE: &str = concat!(
    "insert into result (result_id, run_id, job_id, \
     owner_id, org_id, status, columns, warnings, created_at, time_limit_seconds, request_id) \
     select $1, $2, job_id, owner_id, org_id, 'pending', \
     (select json_group_array(json_extract(f.value, '$.name') order by f.key) \
      from json_each(job.config, '$.fields') as f), \
     '[]', $3, $4, $7 from job where job_id = $5 and ",
    in_scope!("$6", "$8"),
    " returning *"
);
pub(crate) const SQL_ENQUEUE_POSTGRES: &str = concat!(
    "insert into result (result_id, run_id, job_id, \
     owner_id, org_id, status, columns, warnings, created_at, time_limit_seconds, request_id) \
     select $1, $2, job_id, owner_id, org_id, 'pending', \
     jsonb_path_query_array(config, '$.fields[*].name'), \
     '[]', $3, $4, $7 from job where job_id = $5 and ",
    in_scope!("$6", "$8"),
    " returning *"
);

/// Lookup by run id; `idx_result_run_id` serves it.
pub(crate) const SQL_RUN_BY_RUN_ID: &str = concat!(
    "select * from result where run_id = $1 and ",
    in_scope!("$2", "$3")
);

impl Store {
    /// Queues a run of a job `scope` may see (`POST /jobs/{id}/run`).
    pub async fn enqueue_run(&self, scope: Scope, job_id: Uuid, run: &NewRun) -> Result<ResultRow> {
        Ok(dispatch!(self, |pool, dialect| {
            insert_run!(
                pool,
                dialect,
                job = job_id,
                scope = scope,
                at = now(),
                time_limit = run.time_limit_seconds,
                request_id = run.request_id.as_deref()
            )
            .await?
        }))
    }

    pub async fn get_run(&self, scope: Scope, result_id: Uuid) -> Result<ResultRow> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "select * from result where result_id = $1 and ",
                in_scope!("$2", "$3")
            ))
            .bind(result_id)
            .bind(scope.member_of())
            .bind(scope.only_org())
            .fetch_one(pool)
            .await?
        }))
    }

    pub async fn get_run_by_run_id(&self, scope: Scope, run_id: Uuid) -> Result<ResultRow> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_RUN_BY_RUN_ID)
                .bind(run_id)
                .bind(scope.member_of())
                .bind(scope.only_org())
                .fetch_one(pool)
                .await?
        }))
    }

    /// Runs visible to `scope`, newest first, with the total count.
    pub async fn list_runs(
        &self,
        scope: Scope,
        filter: &RunFilter,
        paging: Paging,
    ) -> Result<Page<ResultRow>> {
        let f = run_filter(scope, filter);
        self.fetch_page("result", "created_at desc, result_id desc", f, paging)
            .await
    }

    /// Deletes a run and its items. A worker still running it loses its lease.
    pub async fn delete_run(&self, scope: Scope, result_id: Uuid) -> Result<()> {
        let deleted = dispatch!(self, |pool, dialect| {
            sqlx::query(concat!(
                "delete from result where result_id = $1 and ",
                in_scope!("$2", "$3")
            ))
            .bind(result_id)
            .bind(scope.member_of())
            .bind(scope.only_org())
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(deleted)
    }

    /// Cancels a run: a pending run is cancelled at once; a running one is flagged and its
    /// worker stops at the next page. Each step is a conditional update, so a run claimed
    /// between the two is caught by the second.
    pub async fn request_cancel(&self, scope: Scope, result_id: Uuid) -> Result<CancelOutcome> {
        // One statement, so a run that changes state meanwhile (claimed, or released back to
        // the queue by a worker shutting down) is still cancelled or flagged, never missed.
        // SET expressions read the row as it was before the update.
        let changed: Option<ResultRow> = dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "update result set \
                 status = case when status = 'pending' then 'cancelled' else status end, \
                 completed_at = case when status = 'pending' then $3 else completed_at end, \
                 cancel_requested = case when status = 'running' then $4 \
                 else cancel_requested end \
                 where result_id = $1 and status in ('pending', 'running') and ",
                in_scope!("$2", "$5"),
                " returning *"
            ))
            .bind(result_id)
            .bind(scope.member_of())
            .bind(now())
            .bind(true)
            .bind(scope.only_org())
            .fetch_optional(pool)
            .await?
        });
        match changed {
            Some(row) if row.status == RunStatus::Cancelled => {
                return Ok(CancelOutcome::Cancelled(row));
            }
            Some(row) => return Ok(CancelOutcome::Requested(row)),
            None => {}
        }
        Ok(CancelOutcome::AlreadyFinished(
            self.get_run(scope, result_id).await?,
        ))
    }

    /// Runs waiting for a worker.
    pub async fn queue_depth(&self) -> Result<i64> {
        self.count_runs_with_status(RunStatus::Pending).await
    }

    /// Runs being worked on.
    pub async fn running_count(&self) -> Result<i64> {
        self.count_runs_with_status(RunStatus::Running).await
    }

    async fn count_runs_with_status(&self, status: RunStatus) -> Result<i64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_scalar("select count(*) from result where status = $1")
                .bind(status)
                .fetch_one(pool)
                .await?
        }))
    }
}
