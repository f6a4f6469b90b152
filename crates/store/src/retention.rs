//! Retention: the items of a job's older runs are deleted once enough newer runs completed.
//! A pruned run keeps its row and every count on it (`items_pruned` says the items are gone).

/// Runs of job `$1` that finished before its `$2`-th newest completed run (offset `$2 - 1`) and
/// still have items. Completed runs are what is kept because the next comparison needs the
/// newest one; failed and cancelled runs older than the kept ones go with them. A run whose
/// pages a pending or running run of the job replays (`revisit_base_id`) keeps its items until
/// a completion after that run's end.
pub(crate) const SQL_MARK_PRUNED: &str = "update result set items_pruned = $3 \
     where job_id = $1 and items_pruned = $4 \
     and status in ('completed', 'failed', 'cancelled') \
     and result_id not in (select revisit_base_id from result where job_id = $1 \
         and status in ('pending', 'running') and revisit_base_id is not null) \
     and completed_at < (select completed_at from result where job_id = $1 \
         and status = 'completed' order by completed_at desc, result_id desc \
         limit 1 offset $2) \
     returning result_id";

/// Prunes the items (and change rows and page records) of job `$job`'s runs past the `$keep` newest completed
/// ones, on `$conn` (the finishing transaction).
macro_rules! prune_old_runs {
    ($conn:expr, job = $job:expr, keep = $keep:expr) => {{
        let offset = i64::from($keep.max(1)) - 1;
        let pruned: Vec<uuid::Uuid> = sqlx::query_scalar($crate::retention::SQL_MARK_PRUNED)
            .bind($job)
            .bind(offset)
            .bind(true)
            .bind(false)
            .fetch_all(&mut *$conn)
            .await?;
        for run in &pruned {
            sqlx::query("delete from item where result_id = $1")
                .bind(run)
                .execute(&mut *$conn)
                .await?;
            sqlx::query("delete from item_change where result_id = $1")
                .bind(run)
                .execute(&mut *$conn)
                .await?;
            // Without its items a page cannot be replayed: the next run fetches it whole.
            sqlx::query("delete from run_page where result_id = $1")
                .bind(run)
                .execute(&mut *$conn)
                .await?;
        }
        if !pruned.is_empty() {
            tracing::info!(runs = pruned.len(), "pruned the items of older runs");
        }
    }};
}
