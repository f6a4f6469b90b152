//! The statements that create jobs, runs and schedules, bound in one place for the plain
//! methods (`create_job_in`, `enqueue_run`, `create_schedule`) and the ones held to an
//! organization's quotas (`usage.rs`) or fired by a schedule. Each expands to the `fetch_one`
//! future on `$conn` (a pool or a transaction), so it runs inside the caller's transaction.

/// A job of organization `org`, made by `owner`, from `job` (a `JobIn`), created `at`.
macro_rules! insert_job {
    ($conn:expr, org = $org:expr, owner = $owner:expr, job = $job:expr, at = $at:expr) => {
        sqlx::query_as($crate::jobs::SQL_INSERT_JOB)
            .bind(uuid::Uuid::now_v7())
            .bind($owner)
            .bind(&$job.name)
            .bind($job.description.as_deref())
            .bind(sqlx::types::Json(&$job.config))
            .bind($job.enabled)
            .bind($at)
            .bind($org)
            .fetch_one($conn)
    };
}

/// A pending run of job `job` if `scope` may see it, queued `at`, with an optional time limit
/// and the request that queued it.
macro_rules! insert_run {
    ($conn:expr, $dialect:expr, job = $job:expr, scope = $scope:expr, at = $at:expr,
     time_limit = $limit:expr, request_id = $request:expr) => {
        sqlx::query_as($dialect.pick(
            $crate::results::SQL_ENQUEUE_SQLITE,
            $crate::results::SQL_ENQUEUE_POSTGRES,
        ))
        .bind(uuid::Uuid::now_v7())
        .bind(uuid::Uuid::now_v7())
        .bind($at)
        .bind($limit)
        .bind($job)
        .bind($scope.member_of())
        .bind($request)
        .bind($scope.only_org())
        .fetch_one($conn)
    };
}

/// A schedule (a `ScheduleIn`) of job `job` if `scope` may see it, created `at`.
macro_rules! insert_schedule {
    ($conn:expr, job = $job:expr, scope = $scope:expr, schedule = $schedule:expr, at = $at:expr) => {
        sqlx::query_as($crate::schedules::SQL_INSERT_SCHEDULE)
            .bind(uuid::Uuid::now_v7())
            .bind(&$schedule.cron_expression)
            .bind(&$schedule.timezone)
            .bind($schedule.enabled)
            .bind($schedule.next_run.map($crate::db::stored_time))
            .bind($schedule.overlap_policy)
            .bind($at)
            .bind($job)
            .bind($scope.member_of())
            .bind($scope.only_org())
            .fetch_one($conn)
    };
}
