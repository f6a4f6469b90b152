//! `job`: saved job documents, owned by an organization.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Dialect, Store, now};
use crate::error::{Result, StoreError};
use crate::filter::{Arg, Filter, contains_pattern};
use crate::types::{Page, Paging, Scope};
use crate::users::found;

/// A job as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Job {
    pub job_id: Uuid,
    /// Who created the job.
    pub owner_id: Uuid,
    pub name: String,
    pub description: Option<String>,
    /// The job document; validated by the engine before it is saved.
    #[sqlx(json)]
    pub config: serde_json::Value,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The organization that owns the job.
    pub org_id: Uuid,
}

/// The writable part of a job (create and full update).
#[derive(Debug, Clone, PartialEq)]
pub struct JobIn {
    pub name: String,
    pub description: Option<String>,
    pub config: serde_json::Value,
    pub enabled: bool,
}

/// Listing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JobOrder {
    /// Newest first.
    #[default]
    CreatedDesc,
    /// By name, A to Z.
    Name,
}

/// Listing filters.
#[derive(Debug, Clone, Default)]
pub struct JobFilter {
    pub enabled: Option<bool>,
    /// Case-insensitive substring of the name.
    pub name_contains: Option<String>,
    pub order: JobOrder,
}

/// `where` clause of a job listing; shared with the plan checks in [`crate::explain`].
pub(crate) fn job_filter(scope: Scope, filter: &JobFilter) -> Filter {
    let mut f = Filter::new();
    f.and_scope(scope)
        .and_opt("enabled =", filter.enabled, Arg::Bool)
        .and_like(
            "lower(name)",
            filter.name_contains.as_deref().map(contains_pattern),
        );
    f
}

/// `order by` of a job listing. Names sort case-insensitively by code point on both backends:
/// PostgreSQL's default collation would otherwise order differently from SQLite's.
pub(crate) fn job_order(order: JobOrder, dialect: Dialect) -> &'static str {
    match order {
        JobOrder::CreatedDesc => "created_at desc, job_id desc",
        JobOrder::Name => dialect.pick(
            "lower(name), name, job_id",
            "lower(name) collate \"C\", name collate \"C\", job_id",
        ),
    }
}

/// Inserts a job: `$1` id, `$2` creator, `$3` name, `$4` description, `$5` document,
/// `$6` enabled, `$7` now, `$8` organization; bound by `insert_job!`.
pub(crate) const SQL_INSERT_JOB: &str = "insert into job (job_id, owner_id, name, description, \
     config, enabled, created_at, updated_at, org_id) values ($1, $2, $3, $4, $5, $6, $7, $7, $8) \
     returning *";

impl Store {
    /// Creates a job in `owner_id`'s personal organization.
    pub async fn create_job(&self, owner_id: Uuid, job: &JobIn) -> Result<Job> {
        self.create_job_in(owner_id, owner_id, job).await
    }

    /// Creates a job in organization `org_id`, made by `owner_id`. The caller has checked that
    /// the creator may.
    pub async fn create_job_in(&self, org_id: Uuid, owner_id: Uuid, job: &JobIn) -> Result<Job> {
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            insert_job!(pool, org = org_id, owner = owner_id, job = job, at = at).await?
        }))
    }

    /// The job if `scope` may see it; other owners' jobs are `NotFound`.
    pub async fn get_job(&self, scope: Scope, job_id: Uuid) -> Result<Job> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "select * from job where job_id = $1 and ",
                in_scope!("$2", "$3")
            ))
            .bind(job_id)
            .bind(scope.member_of())
            .bind(scope.only_org())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Jobs visible to `scope`, filtered, ordered and paged, with the total count.
    pub async fn list_jobs(
        &self,
        scope: Scope,
        filter: &JobFilter,
        paging: Paging,
    ) -> Result<Page<Job>> {
        let f = job_filter(scope, filter);
        let order = job_order(filter.order, self.dialect());
        self.fetch_page("job", order, f, paging).await
    }

    /// Replaces the writable columns of a job `scope` may see.
    pub async fn update_job(&self, scope: Scope, job_id: Uuid, job: &JobIn) -> Result<Job> {
        self.update_job_if(scope, job_id, job, None)
            .await?
            .ok_or(StoreError::NotFound)
    }

    /// Replaces a job like [`Store::update_job`], only if its `updated_at` is still
    /// `unchanged_since` (when given): the compare and the write are one statement, so of two
    /// clients that read the same version only the first one's write lands. `None`: no such
    /// job for `scope`, or it was written since.
    pub async fn update_job_if(
        &self,
        scope: Scope,
        job_id: Uuid,
        job: &JobIn,
        unchanged_since: Option<DateTime<Utc>>,
    ) -> Result<Option<Job>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "update job set name = $3, description = $4, config = $5, enabled = $6, \
                 updated_at = $7 where job_id = $1 and ($8 is null or updated_at = $8) and ",
                in_scope!("$2", "$9"),
                " returning *"
            ))
            .bind(job_id)
            .bind(scope.member_of())
            .bind(&job.name)
            .bind(job.description.as_deref())
            .bind(sqlx::types::Json(&job.config))
            .bind(job.enabled)
            .bind(now())
            .bind(unchanged_since)
            .bind(scope.only_org())
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Deletes a job `scope` may see, with its runs, items and schedules.
    pub async fn delete_job(&self, scope: Scope, job_id: Uuid) -> Result<()> {
        found(self.delete_job_if(scope, job_id, None).await?)
    }

    /// Deletes a job like [`Store::delete_job`], only if its `updated_at` is still
    /// `unchanged_since` (when given), in one statement. Returns the rows deleted (0 or 1).
    pub async fn delete_job_if(
        &self,
        scope: Scope,
        job_id: Uuid,
        unchanged_since: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query(concat!(
                "delete from job where job_id = $1 and ($3 is null or updated_at = $3) and ",
                in_scope!("$2", "$4")
            ))
            .bind(job_id)
            .bind(scope.member_of())
            .bind(unchanged_since)
            .bind(scope.only_org())
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
