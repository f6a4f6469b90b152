//! What an organization uses of its quotas, and the writes that must stay within them.
//!
//! A quota is checked in the transaction that creates the thing counted: the organization's
//! row is locked first (PostgreSQL: `for no key update`, which waits for other quota checks of
//! the same organization but not for the foreign-key checks of ordinary inserts; SQLite: the
//! write transaction is already the only writer), then its limits are read, the usage counted
//! and the row inserted. So two requests racing for the last free place cannot both get it:
//! the second one counts after the first committed, and is refused.
//!
//! The counts use the `org_id` indexes; stored items are the sum of the runs' `total_items`
//! (one row per run, never the items themselves), leaving out runs whose items retention has
//! deleted.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::error::{Result, StoreError};
use crate::jobs::{Job, JobIn};
use crate::orgs::OrgQuotas;
use crate::results::{NewRun, ResultRow};
use crate::schedules::{Schedule, ScheduleIn};
use crate::types::Scope;

/// The window runs per day are counted over: the 24 hours before now (rolling, not a
/// calendar day, so there is no midnight rush).
pub const RUNS_WINDOW: Duration = Duration::hours(24);

/// The limits of one organization: its own overrides where set, else the instance defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaLimits {
    pub max_jobs: i64,
    pub max_runs_per_day: i64,
    pub max_concurrent_runs: i64,
    pub max_stored_items: i64,
    pub max_schedules: i64,
}

impl OrgQuotas {
    /// The organization's own limit of `kind`, `None` for the instance default.
    pub fn of(&self, kind: QuotaKind) -> Option<i64> {
        match kind {
            QuotaKind::Jobs => self.max_jobs.map(i64::from),
            QuotaKind::RunsPerDay => self.max_runs_per_day.map(i64::from),
            QuotaKind::ConcurrentRuns => self.max_concurrent_runs.map(i64::from),
            QuotaKind::StoredItems => self.max_stored_items,
            QuotaKind::Schedules => self.max_schedules.map(i64::from),
        }
    }
}

impl QuotaLimits {
    /// Limits that never refuse anything, for callers that do not hold organizations to
    /// quotas (tests of other behaviour).
    pub const UNLIMITED: QuotaLimits = QuotaLimits {
        max_jobs: i64::MAX,
        max_runs_per_day: i64::MAX,
        max_concurrent_runs: i64::MAX,
        max_stored_items: i64::MAX,
        max_schedules: i64::MAX,
    };
}

/// The five quotas.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    Jobs,
    RunsPerDay,
    ConcurrentRuns,
    StoredItems,
    Schedules,
}

impl QuotaKind {
    /// Its name in the API (`usage` objects) and, with `max_`, in the settings.
    pub fn as_str(self) -> &'static str {
        match self {
            QuotaKind::Jobs => "jobs",
            QuotaKind::RunsPerDay => "runs_per_day",
            QuotaKind::ConcurrentRuns => "concurrent_runs",
            QuotaKind::StoredItems => "stored_items",
            QuotaKind::Schedules => "schedules",
        }
    }
}

/// What an organization uses now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OrgUsage {
    pub jobs: i64,
    /// Runs queued in the last 24 hours, whatever became of them (deleted runs excepted).
    pub runs_last_day: i64,
    /// Runs a worker is crawling now.
    pub running_runs: i64,
    /// Items held by the organization's runs (runs whose items were pruned hold none).
    pub stored_items: i64,
    pub schedules: i64,
}

impl OrgUsage {
    pub fn of(&self, kind: QuotaKind) -> i64 {
        match kind {
            QuotaKind::Jobs => self.jobs,
            QuotaKind::RunsPerDay => self.runs_last_day,
            QuotaKind::ConcurrentRuns => self.running_runs,
            QuotaKind::StoredItems => self.stored_items,
            QuotaKind::Schedules => self.schedules,
        }
    }
}

impl QuotaLimits {
    pub fn of(&self, kind: QuotaKind) -> i64 {
        match kind {
            QuotaKind::Jobs => self.max_jobs,
            QuotaKind::RunsPerDay => self.max_runs_per_day,
            QuotaKind::ConcurrentRuns => self.max_concurrent_runs,
            QuotaKind::StoredItems => self.max_stored_items,
            QuotaKind::Schedules => self.max_schedules,
        }
    }
}

/// A write refused because the organization has used all of one quota.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuotaExceeded {
    pub kind: QuotaKind,
    pub used: i64,
    pub limit: i64,
    /// Runs per day: when enough of the counted runs are more than 24 hours old for one more.
    pub free_at: Option<DateTime<Utc>>,
}

impl std::fmt::Display for QuotaExceeded {
    /// One sentence with the usage and the limit, then what to do about it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let used = grouped(self.used);
        let limit = grouped(self.limit);
        let one = self.limit == 1;
        match self.kind {
            QuotaKind::Jobs => write!(
                f,
                "This organization has {used} of its {limit} {}. Delete a job or ask an \
                 administrator to raise the limit.",
                if one { "job" } else { "jobs" }
            ),
            QuotaKind::Schedules => write!(
                f,
                "This organization has {used} of its {limit} {}. Delete a schedule or ask an \
                 administrator to raise the limit.",
                if one { "schedule" } else { "schedules" }
            ),
            QuotaKind::RunsPerDay => {
                write!(
                    f,
                    "This organization queued {used} of its {limit} {} in the last 24 hours.",
                    if one { "run" } else { "runs" }
                )?;
                match self.free_at {
                    Some(at) => write!(
                        f,
                        " Try again after {} or ask an administrator to raise the limit.",
                        at.format("%Y-%m-%d %H:%M UTC")
                    ),
                    None => {
                        f.write_str(" Try again later or ask an administrator to raise the limit.")
                    }
                }
            }
            QuotaKind::StoredItems => write!(
                f,
                "This organization stores {used} of its {limit} {}. Delete older runs or ask an \
                 administrator to raise the limit.",
                if one { "item" } else { "items" }
            ),
            QuotaKind::ConcurrentRuns => write!(
                f,
                "This organization has {used} of its {limit} {} running at once. Wait for one \
                 to finish or ask an administrator to raise the limit.",
                if one { "run" } else { "runs" }
            ),
        }
    }
}

/// `1234567` as `1,234,567`: limits are read by people.
pub fn grouped(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The organization's limits, its overrides falling back on `$2..$6`. PostgreSQL locks the
/// row against other quota checks (see the module's note).
pub(crate) const SQL_LIMITS: &str = "select coalesce(max_jobs, $2), coalesce(max_runs_per_day, $3), \
     coalesce(max_concurrent_runs, $4), coalesce(max_stored_items, $5), \
     coalesce(max_schedules, $6) from organization where org_id = $1";
pub(crate) const SQL_LIMITS_LOCKED: &str = "select coalesce(max_jobs, $2), coalesce(max_runs_per_day, $3), \
     coalesce(max_concurrent_runs, $4), coalesce(max_stored_items, $5), \
     coalesce(max_schedules, $6) from organization where org_id = $1 for no key update";

/// Every count of [`OrgUsage`] in one statement; `$1` the organization, `$2` the start of
/// the runs' window.
pub(crate) const SQL_USAGE: &str = "select \
     (select count(*) from job where org_id = $1), \
     (select count(*) from result where org_id = $1 and created_at > $2), \
     (select count(*) from result where org_id = $1 and status = 'running'), \
     (select cast(coalesce(sum(total_items), 0) as bigint) from result \
      where org_id = $1 and not items_pruned), \
     (select count(*) from schedule where org_id = $1)";

/// Jobs of `$1`.
pub(crate) const SQL_COUNT_JOBS: &str = "select count(*) from job where org_id = $1";
/// Schedules of `$1`.
pub(crate) const SQL_COUNT_SCHEDULES: &str = "select count(*) from schedule where org_id = $1";
/// What queuing a run of `$1` depends on: items stored, runs queued since `$2`.
pub(crate) const SQL_RUN_USAGE: &str = "select \
     (select cast(coalesce(sum(total_items), 0) as bigint) from result \
      where org_id = $1 and not items_pruned), \
     (select count(*) from result where org_id = $1 and created_at > $2)";
/// The creation time of the run whose leaving the window frees a place: `$3` runs after the
/// oldest one counted.
pub(crate) const SQL_RUNS_FREE_AT: &str = "select created_at from result \
     where org_id = $1 and created_at > $2 order by created_at limit 1 offset $3";

/// Reads `org_id`'s limits inside a transaction, locking its row on PostgreSQL; `NotFound`
/// when the organization does not exist.
macro_rules! locked_limits {
    ($tx:expr, $dialect:expr, $org_id:expr, $defaults:expr) => {{
        let d: &$crate::usage::QuotaLimits = $defaults;
        let row: (i64, i64, i64, i64, i64) = sqlx::query_as(
            $dialect.pick($crate::usage::SQL_LIMITS, $crate::usage::SQL_LIMITS_LOCKED),
        )
        .bind($org_id)
        .bind(d.max_jobs)
        .bind(d.max_runs_per_day)
        .bind(d.max_concurrent_runs)
        .bind(d.max_stored_items)
        .bind(d.max_schedules)
        .fetch_one(&mut *$tx)
        .await?;
        $crate::usage::QuotaLimits::from_row(row)
    }};
}

/// Refuses a run of `$org_id` when its stored items or its runs of the last day are at their
/// limit, inside the transaction `$tx` that will queue it (after [`locked_limits!`]).
macro_rules! check_run_quota {
    ($tx:expr, $org_id:expr, $limits:expr, $at:expr) => {{
        let limits: &$crate::usage::QuotaLimits = $limits;
        let since = $at - $crate::usage::RUNS_WINDOW;
        let (stored, runs): (i64, i64) = sqlx::query_as($crate::usage::SQL_RUN_USAGE)
            .bind($org_id)
            .bind(since)
            .fetch_one(&mut *$tx)
            .await?;
        if stored >= limits.max_stored_items {
            Err($crate::usage::QuotaExceeded {
                kind: $crate::usage::QuotaKind::StoredItems,
                used: stored,
                limit: limits.max_stored_items,
                free_at: None,
            })
        } else if runs >= limits.max_runs_per_day {
            let first: Option<chrono::DateTime<chrono::Utc>> =
                sqlx::query_scalar($crate::usage::SQL_RUNS_FREE_AT)
                    .bind($org_id)
                    .bind(since)
                    .bind(runs - limits.max_runs_per_day)
                    .fetch_optional(&mut *$tx)
                    .await?;
            Err($crate::usage::QuotaExceeded {
                kind: $crate::usage::QuotaKind::RunsPerDay,
                used: runs,
                limit: limits.max_runs_per_day,
                free_at: first.map(|at| at + $crate::usage::RUNS_WINDOW),
            })
        } else {
            Ok(())
        }
    }};
}

impl QuotaLimits {
    pub(crate) fn from_row(row: (i64, i64, i64, i64, i64)) -> Self {
        QuotaLimits {
            max_jobs: row.0,
            max_runs_per_day: row.1,
            max_concurrent_runs: row.2,
            max_stored_items: row.3,
            max_schedules: row.4,
        }
    }
}

/// Refuses when `used` leaves no room under `limit` for one more.
pub(crate) fn room_for_one(kind: QuotaKind, used: i64, limit: i64) -> Result<()> {
    if used >= limit {
        return Err(StoreError::OverQuota(QuotaExceeded {
            kind,
            used,
            limit,
            free_at: None,
        }));
    }
    Ok(())
}

/// The organization of a job `$2`/`$3` (the scope) may see.
const SQL_JOB_ORG: &str = concat!(
    "select org_id from job where job_id = $1 and ",
    in_scope!("$2", "$3")
);

impl Store {
    /// Creates a job in `org_id`, made by `owner_id`, unless the organization already has
    /// all its jobs (`OverQuota`). The count and the insert are one transaction behind the
    /// organization's lock, so concurrent creates never pass the limit together.
    pub async fn create_job_within_quota(
        &self,
        org_id: Uuid,
        owner_id: Uuid,
        job: &JobIn,
        defaults: &QuotaLimits,
    ) -> Result<Job> {
        let at = now();
        dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let limits = locked_limits!(tx, dialect, org_id, defaults);
            let used: i64 = sqlx::query_scalar(SQL_COUNT_JOBS)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
            room_for_one(QuotaKind::Jobs, used, limits.max_jobs)?;
            let created: Job =
                insert_job!(&mut *tx, org = org_id, owner = owner_id, job = job, at = at).await?;
            tx.commit().await?;
            Ok(created)
        })
    }

    /// Queues a run of a job `scope` may see, unless its organization stores all the items it
    /// may or queued all its runs of the last 24 hours (`OverQuota`; stored items are looked
    /// at first: that limit does not free itself). One transaction, as for jobs.
    pub async fn enqueue_run_within_quota(
        &self,
        scope: Scope,
        job_id: Uuid,
        run: &NewRun,
        defaults: &QuotaLimits,
    ) -> Result<ResultRow> {
        let at = now();
        dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let org_id: Uuid = sqlx::query_scalar(SQL_JOB_ORG)
                .bind(job_id)
                .bind(scope.member_of())
                .bind(scope.only_org())
                .fetch_one(&mut *tx)
                .await?;
            let limits = locked_limits!(tx, dialect, org_id, defaults);
            check_run_quota!(tx, org_id, &limits, at).map_err(StoreError::OverQuota)?;
            let queued: ResultRow = insert_run!(
                &mut *tx,
                dialect,
                job = job_id,
                scope = scope,
                at = at,
                time_limit = run.time_limit_seconds,
                request_id = run.request_id.as_deref()
            )
            .await?;
            tx.commit().await?;
            Ok(queued)
        })
    }

    /// Creates a schedule of a job `scope` may see, unless the job's organization already
    /// has all its schedules (`OverQuota`). One transaction, as for jobs.
    pub async fn create_schedule_within_quota(
        &self,
        scope: Scope,
        job_id: Uuid,
        schedule: &ScheduleIn,
        defaults: &QuotaLimits,
    ) -> Result<Schedule> {
        let at = now();
        dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let org_id: Uuid = sqlx::query_scalar(SQL_JOB_ORG)
                .bind(job_id)
                .bind(scope.member_of())
                .bind(scope.only_org())
                .fetch_one(&mut *tx)
                .await?;
            let limits = locked_limits!(tx, dialect, org_id, defaults);
            let used: i64 = sqlx::query_scalar(SQL_COUNT_SCHEDULES)
                .bind(org_id)
                .fetch_one(&mut *tx)
                .await?;
            room_for_one(QuotaKind::Schedules, used, limits.max_schedules)?;
            let created: Schedule = insert_schedule!(
                &mut *tx,
                job = job_id,
                scope = scope,
                schedule = schedule,
                at = at
            )
            .await?;
            tx.commit().await?;
            Ok(created)
        })
    }

    /// What `org_id` uses now, counted in one statement.
    pub async fn org_usage(&self, org_id: Uuid) -> Result<OrgUsage> {
        let since = now() - RUNS_WINDOW;
        let row: (i64, i64, i64, i64, i64) = dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_USAGE)
                .bind(org_id)
                .bind(since)
                .fetch_one(pool)
                .await?
        });
        Ok(OrgUsage {
            jobs: row.0,
            runs_last_day: row.1,
            running_runs: row.2,
            stored_items: row.3,
            schedules: row.4,
        })
    }

    /// `org_id`'s limits: its overrides, else `defaults`. `NotFound` for no such organization.
    pub async fn org_limits(&self, org_id: Uuid, defaults: &QuotaLimits) -> Result<QuotaLimits> {
        let row: (i64, i64, i64, i64, i64) = dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_LIMITS)
                .bind(org_id)
                .bind(defaults.max_jobs)
                .bind(defaults.max_runs_per_day)
                .bind(defaults.max_concurrent_runs)
                .bind(defaults.max_stored_items)
                .bind(defaults.max_schedules)
                .fetch_one(pool)
                .await?
        });
        Ok(QuotaLimits::from_row(row))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(10_000_000), "10,000,000");
        assert_eq!(grouped(-12345), "-12,345");
    }

    #[test]
    fn messages_say_usage_limit_and_what_to_do() {
        let over = QuotaExceeded {
            kind: QuotaKind::Jobs,
            used: 1000,
            limit: 1000,
            free_at: None,
        };
        assert_eq!(
            over.to_string(),
            "This organization has 1,000 of its 1,000 jobs. Delete a job or ask an \
             administrator to raise the limit."
        );
        let one = QuotaExceeded {
            kind: QuotaKind::Schedules,
            used: 1,
            limit: 1,
            free_at: None,
        };
        assert!(one.to_string().contains("1 of its 1 schedule."), "{one}");
        let at = DateTime::parse_from_rfc3339("2026-12-03T08:05:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let runs = QuotaExceeded {
            kind: QuotaKind::RunsPerDay,
            used: 5000,
            limit: 5000,
            free_at: Some(at),
        };
        assert_eq!(
            runs.to_string(),
            "This organization queued 5,000 of its 5,000 runs in the last 24 hours. Try again \
             after 2026-12-03 08:05 UTC or ask an administrator to raise the limit."
        );
    }
}
