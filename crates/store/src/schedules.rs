//! `schedule`: cron schedules of jobs. The cron arithmetic (next firing in the schedule's time
//! zone) belongs to the caller; the store keeps `next_run` and makes each firing happen once,
//! however many schedulers poll.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now, stored_time};
use crate::error::Result;
use crate::filter::{Arg, Filter};
use crate::results::ResultRow;
use crate::types::{OverlapPolicy, Page, Paging, Scope};
use crate::usage::{QuotaExceeded, QuotaLimits};
use crate::users::found;

/// A schedule as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Schedule {
    pub schedule_id: Uuid,
    pub job_id: Uuid,
    /// Who created the job.
    pub owner_id: Uuid,
    /// The job's organization.
    pub org_id: Uuid,
    /// Why the latest firing queued no run (an organization over a quota), in words;
    /// `None` after a firing that queued one.
    pub last_skipped: Option<String>,
    /// Five-field cron expression.
    pub cron_expression: String,
    /// IANA time zone the expression is read in.
    pub timezone: String,
    pub enabled: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub last_run: Option<DateTime<Utc>>,
    pub overlap_policy: OverlapPolicy,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable part of a schedule; `next_run` is computed by the caller from the expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleIn {
    pub cron_expression: String,
    pub timezone: String,
    pub enabled: bool,
    pub next_run: Option<DateTime<Utc>>,
    pub overlap_policy: OverlapPolicy,
}

/// What [`Store::fire_schedule`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum FireOutcome {
    /// A run was queued.
    Enqueued(Box<ResultRow>),
    /// The previous run is still pending or running and the policy is `skip`.
    SkippedOverlap,
    /// The job is disabled; the schedule moved on without a run.
    SkippedDisabledJob,
    /// The job's organization is at its quota of stored items or of runs per day; the
    /// schedule moved on without a run.
    SkippedQuota(QuotaExceeded),
    /// Another scheduler fired this occurrence first (or the schedule changed): nothing done.
    AlreadyFired,
}

/// Inserts a schedule of a job `$9`/`$10` (the scope) may see, in the job's organization:
/// `$1` id, `$2` expression, `$3` zone, `$4` enabled, `$5` next run, `$6` overlap policy,
/// `$7` now, `$8` job; bound by `insert_schedule!`.
pub(crate) const SQL_INSERT_SCHEDULE: &str = concat!(
    "insert into schedule (schedule_id, job_id, owner_id, org_id, cron_expression, \
     timezone, enabled, next_run, overlap_policy, created_at, updated_at) \
     select $1, job_id, owner_id, org_id, $2, $3, $4, $5, $6, $7, $7 from job \
     where job_id = $8 and ",
    in_scope!("$9", "$10"),
    " returning *"
);

/// Enabled schedules due at `$1`; `idx_schedule_enabled_next_run` serves it.
pub(crate) const SQL_DUE_SCHEDULES: &str = "select * from schedule \
     where enabled = $2 and next_run <= $1 order by next_run limit $3";

impl Store {
    /// Creates a schedule for a job `scope` may see; the owner is the job's.
    pub async fn create_schedule(
        &self,
        scope: Scope,
        job_id: Uuid,
        schedule: &ScheduleIn,
    ) -> Result<Schedule> {
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            insert_schedule!(
                pool,
                job = job_id,
                scope = scope,
                schedule = schedule,
                at = at
            )
            .await?
        }))
    }

    pub async fn get_schedule(&self, scope: Scope, schedule_id: Uuid) -> Result<Schedule> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "select * from schedule where schedule_id = $1 and ",
                in_scope!("$2", "$3")
            ))
            .bind(schedule_id)
            .bind(scope.member_of())
            .bind(scope.only_org())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Schedules visible to `scope`, optionally of one job, oldest first.
    pub async fn list_schedules(
        &self,
        scope: Scope,
        job_id: Option<Uuid>,
        paging: Paging,
    ) -> Result<Page<Schedule>> {
        let mut f = Filter::new();
        f.and_scope(scope).and_opt("job_id =", job_id, Arg::Uuid);
        self.fetch_page("schedule", "created_at, schedule_id", f, paging)
            .await
    }

    pub async fn update_schedule(
        &self,
        scope: Scope,
        schedule_id: Uuid,
        schedule: &ScheduleIn,
    ) -> Result<Schedule> {
        self.update_schedule_if(scope, schedule_id, schedule, None)
            .await?
            .ok_or(crate::StoreError::NotFound)
    }

    /// Replaces a schedule like [`Store::update_schedule`], only if its `updated_at` is still
    /// `unchanged_since` (when given), in one statement. Every write of a schedule (a firing
    /// too) moves `updated_at`, so it names the whole row. `None`: no such schedule for
    /// `scope`, or it was written since.
    pub async fn update_schedule_if(
        &self,
        scope: Scope,
        schedule_id: Uuid,
        schedule: &ScheduleIn,
        unchanged_since: Option<DateTime<Utc>>,
    ) -> Result<Option<Schedule>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "update schedule set cron_expression = $3, timezone = $4, enabled = $5, \
                 next_run = $6, overlap_policy = $7, updated_at = $8 \
                 where schedule_id = $1 and ($9 is null or updated_at = $9) and ",
                in_scope!("$2", "$10"),
                " returning *"
            ))
            .bind(schedule_id)
            .bind(scope.member_of())
            .bind(&schedule.cron_expression)
            .bind(&schedule.timezone)
            .bind(schedule.enabled)
            .bind(schedule.next_run.map(stored_time))
            .bind(schedule.overlap_policy)
            .bind(now())
            .bind(unchanged_since)
            .bind(scope.only_org())
            .fetch_optional(pool)
            .await?
        }))
    }

    pub async fn delete_schedule(&self, scope: Scope, schedule_id: Uuid) -> Result<()> {
        found(self.delete_schedule_if(scope, schedule_id, None).await?)
    }

    /// Deletes a schedule like [`Store::delete_schedule`], only if its `updated_at` is still
    /// `unchanged_since` (when given), in one statement. Returns the rows deleted (0 or 1).
    pub async fn delete_schedule_if(
        &self,
        scope: Scope,
        schedule_id: Uuid,
        unchanged_since: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query(concat!(
                "delete from schedule where schedule_id = $1 and ($3 is null or updated_at = $3) \
                 and ",
                in_scope!("$2", "$4")
            ))
            .bind(schedule_id)
            .bind(scope.member_of())
            .bind(unchanged_since)
            .bind(scope.only_org())
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// Enabled schedules whose `next_run` is at or before `at`, soonest first.
    pub async fn due_schedules(&self, at: DateTime<Utc>, limit: i64) -> Result<Vec<Schedule>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_DUE_SCHEDULES)
                .bind(stored_time(at))
                .bind(true)
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Fires the occurrence `expected_next_run` of a due schedule and moves it to
    /// `following_run`, queuing a run unless the overlap policy, a disabled job or the
    /// organization's quotas (its own limits, else `defaults`) say no — all in one
    /// transaction. The move is a compare-and-set on `next_run`, so when several
    /// schedulers see the same due schedule exactly one fires it; the others get
    /// `AlreadyFired`.
    pub async fn fire_schedule(
        &self,
        schedule_id: Uuid,
        expected_next_run: DateTime<Utc>,
        following_run: Option<DateTime<Utc>>,
        defaults: &QuotaLimits,
    ) -> Result<FireOutcome> {
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let schedule: Option<Schedule> = sqlx::query_as(
                "update schedule set last_run = $3, next_run = $4, updated_at = $3, \
                 last_skipped = null \
                 where schedule_id = $1 and enabled = $5 and next_run = $2 returning *",
            )
            .bind(schedule_id)
            .bind(stored_time(expected_next_run))
            .bind(at)
            .bind(following_run.map(stored_time))
            .bind(true)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(schedule) = schedule else {
                return Ok(FireOutcome::AlreadyFired);
            };
            let (job_enabled, active_runs): (bool, i64) = sqlx::query_as(
                "select enabled, (select count(*) from result \
                 where result.job_id = job.job_id and status in ('pending', 'running')) \
                 from job where job_id = $1",
            )
            .bind(schedule.job_id)
            .fetch_one(&mut *tx)
            .await?;
            let outcome = if !job_enabled {
                FireOutcome::SkippedDisabledJob
            } else if active_runs > 0 && schedule.overlap_policy == OverlapPolicy::Skip {
                FireOutcome::SkippedOverlap
            } else if let Err(over) = {
                let limits = locked_limits!(tx, dialect, schedule.org_id, defaults);
                check_run_quota!(tx, schedule.org_id, &limits, at)
            } {
                // The schedule says why, so its page can tell the person who looks.
                sqlx::query("update schedule set last_skipped = $2 where schedule_id = $1")
                    .bind(schedule_id)
                    .bind(format!(
                        "Skipped the run due at {} UTC: {over}",
                        expected_next_run.format("%Y-%m-%d %H:%M")
                    ))
                    .execute(&mut *tx)
                    .await?;
                FireOutcome::SkippedQuota(over)
            } else {
                let run: ResultRow = insert_run!(
                    &mut *tx,
                    dialect,
                    job = schedule.job_id,
                    scope = Scope::all(),
                    at = at,
                    time_limit = None::<i32>,
                    request_id = None::<String>
                )
                .await?;
                FireOutcome::Enqueued(Box::new(run))
            };
            tx.commit().await?;
            outcome
        }))
    }
}
