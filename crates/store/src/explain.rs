//! Query plans of the store's own index-backed queries, for the index tests and for
//! operators who want to check a database (`grandma db` may print them).
//!
//! The SQL explained is the SQL the store runs — the same constants and listing builders — so
//! the check cannot pass on a hand-copied query that has drifted from the real one.

use chrono::Utc;
use sqlx::Connection;
use uuid::Uuid;

use crate::db::{Dialect, Pools, Store};
use crate::error::Result;
use crate::filter::Arg;
use crate::jobs::{JobFilter, JobOrder, job_filter, job_order};
use crate::results::{RunFilter, SQL_RUN_BY_RUN_ID, run_filter};
use crate::types::{RunStatus, Scope};

/// One explained query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryPlan {
    /// What the query is for.
    pub query: &'static str,
    /// The index that exists to serve it.
    pub expected_index: &'static str,
    /// The plan as the database prints it, one line per row.
    pub plan: String,
}

impl QueryPlan {
    /// Whether the plan names the expected index.
    pub fn uses_expected_index(&self) -> bool {
        self.plan.contains(self.expected_index)
    }
}

struct Probe {
    query: &'static str,
    expected_index: &'static str,
    sql: String,
    args: Vec<Arg>,
}

fn probes(dialect: Dialect) -> Vec<Probe> {
    let id = Uuid::now_v7();
    let at = Utc::now();
    let mut probes = Vec::new();

    // One organization's jobs, as its page and its API tokens list them. A listing across all
    // of a member's organizations filters by the list of them instead: SQLite then walks jobs
    // newest first, PostgreSQL looks each organization up in this index.
    let mut jobs = job_filter(
        Scope::member(id).in_org(id),
        &JobFilter {
            enabled: Some(true),
            name_contains: None,
            order: JobOrder::CreatedDesc,
        },
    );
    let sql = jobs.page_sql("job", job_order(JobOrder::CreatedDesc, dialect), 50, 0);
    probes.push(Probe {
        query: "jobs of one organization, enabled",
        expected_index: "idx_job_org_enabled",
        sql,
        args: jobs.args,
    });

    let mut runs = run_filter(
        Scope::all(),
        &RunFilter {
            job_id: Some(id),
            status: Some(RunStatus::Completed),
        },
    );
    let sql = runs.page_sql("result", "created_at desc, result_id desc", 50, 0);
    probes.push(Probe {
        query: "runs of a job in a status",
        expected_index: "idx_result_job_status",
        sql,
        args: runs.args,
    });

    probes.push(Probe {
        query: "run by run id",
        expected_index: "idx_result_run_id",
        sql: SQL_RUN_BY_RUN_ID.to_owned(),
        // An admin's lookup: with an owner too, either index may be chosen on tiny tables.
        args: vec![Arg::Uuid(id), Arg::OptUuid(None), Arg::OptUuid(None)],
    });
    probes.push(Probe {
        query: "due schedules",
        expected_index: "idx_schedule_enabled_next_run",
        sql: crate::schedules::SQL_DUE_SCHEDULES.to_owned(),
        args: vec![Arg::Time(at), Arg::Bool(true), Arg::I64(100)],
    });
    probes.push(Probe {
        query: "due deliveries",
        expected_index: "idx_delivery_status_next_retry",
        sql: crate::deliveries::SQL_DUE_DELIVERIES.to_owned(),
        args: vec![Arg::Time(at), Arg::I64(100)],
    });
    probes.push(Probe {
        query: "deliveries of a webhook in a status",
        expected_index: "idx_delivery_webhook_status",
        sql: crate::deliveries::SQL_DELIVERIES_BY_STATUS.to_owned(),
        args: vec![
            Arg::Uuid(id),
            Arg::Text("failed".into()),
            Arg::I64(50),
            Arg::I64(0),
        ],
    });
    probes.push(Probe {
        query: "active user by e-mail",
        expected_index: "idx_user_email_active",
        sql: crate::users::SQL_ACTIVE_USER_BY_EMAIL.to_owned(),
        args: vec![Arg::Text("a@example.com".into()), Arg::Bool(true)],
    });
    probes
}

impl Store {
    /// Plans of the index-backed queries on this database.
    ///
    /// On PostgreSQL sequential scans are switched off for the session first: on the tiny
    /// tables of a fresh database a scan is cheapest and would hide whether an index *can*
    /// serve the query, which is what this checks.
    pub async fn explain_indexed_queries(&self) -> Result<Vec<QueryPlan>> {
        let mut plans = Vec::new();
        match &self.pools {
            Pools::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                for probe in probes(self.dialect()) {
                    let sql = format!("explain query plan {}", probe.sql);
                    let rows: Vec<(i64, i64, i64, String)> =
                        bind_args!(sqlx::query_as(sqlx::AssertSqlSafe(sql)), probe.args)
                            .fetch_all(&mut *conn)
                            .await?;
                    let plan = rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n");
                    plans.push(QueryPlan {
                        query: probe.query,
                        expected_index: probe.expected_index,
                        plan,
                    });
                }
            }
            Pools::Postgres(pool) => {
                // A connection of its own, closed afterwards, so the setting never leaks into
                // the pool.
                let mut conn = pool.acquire().await?.detach();
                sqlx::query("set enable_seqscan = off")
                    .execute(&mut conn)
                    .await?;
                for probe in probes(self.dialect()) {
                    let sql = format!("explain {}", probe.sql);
                    let rows: Vec<String> =
                        bind_args!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql)), probe.args)
                            .fetch_all(&mut conn)
                            .await?;
                    plans.push(QueryPlan {
                        query: probe.query,
                        expected_index: probe.expected_index,
                        plan: rows.join("\n"),
                    });
                }
                conn.close().await?;
            }
        }
        Ok(plans)
    }
}
