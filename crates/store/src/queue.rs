//! The run queue: the `result` table is the queue (no queue library owns our rows).
//!
//! A worker claims the oldest pending run — or a running run whose lease expired, i.e. a dead
//! worker's — and holds it with a lease it renews by heartbeat. Every write of a worker checks
//! that it still holds the lease, so a worker that was presumed dead and comes back cannot write
//! over the run's new owner. Each page's items, counters and checkpoint are written in one
//! transaction: a crash loses at most the page in flight, and the next worker resumes from the
//! checkpoint.

use std::time::Duration;

use grandma_engine::Item;
use grandma_engine::identity::ItemIdentity;
use grandma_engine::revisit::PageRecord;
use uuid::Uuid;

use crate::db::{Store, after, now};
use crate::error::{Result, StoreError};
use crate::pages::{CopiedItems, SQL_COPY_ITEMS, SQL_INSERT_PAGE};
use crate::results::ResultRow;
use crate::text::{nul_free, nul_free_item, nul_free_json};
use crate::types::{RunStatus, WebhookEvent};

/// Items per multi-row insert: 6 values each, well under both databases' parameter limits.
const ITEMS_PER_INSERT: usize = 500;

/// Counters of a run after a page, as totals (so a retried save is idempotent for them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunCounters {
    pub pages_scraped: i32,
    pub items_dropped: i64,
}

/// One delivered page as the crawl saves it ([`Store::save_crawled_page`]).
#[derive(Debug, Clone, Copy)]
pub struct CrawledPage<'a> {
    pub page: i32,
    /// Its items; empty when `copied` stands for them.
    pub items: &'a [Item],
    /// Which fields make an item's key.
    pub identity: &'a ItemIdentity,
    pub counters: RunCounters,
    pub checkpoint: Option<&'a serde_json::Value>,
    /// The URL asked for and what a later run needs to replay the page (`run_page`).
    pub record: Option<(&'a str, &'a PageRecord)>,
    /// The page was answered 304: these stored items of an earlier run are its items.
    pub copied: Option<CopiedItems>,
}

/// What [`Store::save_page`] reports back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSaved {
    /// Items stored for the run so far.
    pub total_items: i64,
    /// The user asked to cancel: the worker should stop and finish as cancelled.
    pub cancel_requested: bool,
}

/// The end of a run, written by [`Store::finish_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// `Completed`, `Failed` or `Cancelled`.
    pub status: RunStatus,
    pub error_message: Option<String>,
    pub error_details: Option<serde_json::Value>,
    pub warnings: Vec<String>,
    pub duration_seconds: f64,
    /// When set, one webhook delivery with this payload is queued, in the same transaction,
    /// for every enabled webhook of the owner subscribed to the final event (the outbox).
    pub webhook_payload: Option<serde_json::Value>,
    /// Per-field fill rates and per-page item counts ([`Store::run_quality`]).
    pub quality: Option<serde_json::Value>,
    /// For a completed run that differs from the previous one: the body of the
    /// `job.items_changed` event, to which the store adds `changes` (the counts) and
    /// `first_changes` (the first [`crate::CHANGES_IN_WEBHOOK`]) before queueing it.
    pub changes_payload: Option<serde_json::Value>,
    /// Keep the items of this many completed runs of the job (this one included) and prune
    /// older runs' items; `None` keeps all.
    pub keep_runs: Option<u32>,
}

/// A run handed to a worker by [`Store::claim_run`].
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub run: ResultRow,
    /// The run was taken from a dead worker and had already been claimed `max_attempts`
    /// times: the worker must fail it (with [`Store::finish_run`]) instead of crawling it
    /// again. Its `attempts` is left as it was.
    pub exhausted: bool,
}

/// The next claimable run: pending, or running with an expired lease. `$1` now.
const SQL_PICK_SQLITE: &str = "select result_id, status, attempts from result \
     where status = 'pending' or (status = 'running' and lease_expires_at < $1) \
     order by created_at, result_id limit 1";
/// `skip locked` passes over rows another claimer holds, so concurrent workers take different
/// runs without waiting on each other.
const SQL_PICK_POSTGRES: &str = "select result_id, status, attempts from result \
     where status = 'pending' or (status = 'running' and lease_expires_at < $1) \
     order by created_at, result_id limit 1 for update skip locked";
/// Leases the picked run. `$1` worker, `$2` lease end, `$3` now, `$4` attempts added, `$5` run.
const SQL_LEASE: &str = "update result set status = 'running', lease_owner = $1, \
     lease_expires_at = $2, attempts = attempts + $4, started_at = coalesce(started_at, $3) \
     where result_id = $5 returning *";

impl Store {
    /// Claims the oldest pending run, or a run whose worker's lease expired (its `attempts`
    /// grows by one), and leases it to `worker_id` for `lease`. `None` when nothing is
    /// waiting. Two workers never get the same run. No limit on attempts: see
    /// [`Store::claim_run`].
    pub async fn claim_next(&self, worker_id: &str, lease: Duration) -> Result<Option<ResultRow>> {
        Ok(self
            .claim_run(worker_id, lease, i32::MAX)
            .await?
            .map(|claim| claim.run))
    }

    /// [`Store::claim_next`] with a limit: a run whose lease expired (its worker died) after
    /// `max_attempts` claims is leased without counting another attempt and flagged
    /// [`Claim::exhausted`], so the worker fails it with a clear error instead of dying on it
    /// again. Pending runs (new, or released at a graceful shutdown) are always crawled.
    pub async fn claim_run(
        &self,
        worker_id: &str,
        lease: Duration,
        max_attempts: i32,
    ) -> Result<Option<Claim>> {
        let claimed: Option<Claim> = dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let at = lease_clock!(&mut *tx, dialect);
            let picked: Option<(Uuid, RunStatus, i32)> =
                sqlx::query_as(dialect.pick(SQL_PICK_SQLITE, SQL_PICK_POSTGRES))
                    .bind(at)
                    .fetch_optional(&mut *tx)
                    .await?;
            let claim = match picked {
                None => None,
                Some((result_id, status, attempts)) => {
                    let exhausted = status == RunStatus::Running && attempts >= max_attempts;
                    let run: ResultRow = sqlx::query_as(SQL_LEASE)
                        .bind(worker_id)
                        .bind(after(at, lease))
                        .bind(at)
                        .bind(if exhausted { 0_i32 } else { 1_i32 })
                        .bind(result_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    Some(Claim { run, exhausted })
                }
            };
            tx.commit().await?;
            claim
        });
        if let Some(claim) = &claimed {
            tracing::debug!(
                result_id = %claim.run.result_id,
                attempts = claim.run.attempts,
                exhausted = claim.exhausted,
                worker_id,
                "claimed run"
            );
        }
        Ok(claimed)
    }

    /// Extends the lease; returns whether cancellation was requested. `LeaseLost` if another
    /// worker owns the run now or it is no longer running.
    pub async fn heartbeat_run(
        &self,
        result_id: Uuid,
        worker_id: &str,
        lease: Duration,
    ) -> Result<bool> {
        let cancel: Option<bool> = dispatch!(self, |pool, dialect| {
            let at = lease_clock!(pool, dialect);
            sqlx::query_scalar(
                "update result set lease_expires_at = $3 \
                 where result_id = $1 and lease_owner = $2 and status = 'running' \
                 returning cancel_requested",
            )
            .bind(result_id)
            .bind(worker_id)
            .bind(after(at, lease))
            .fetch_optional(pool)
            .await?
        });
        cancel.ok_or(StoreError::LeaseLost)
    }

    /// [`Store::save_keyed_page`] with every field as the item key (a job without `item_key`
    /// and without a link field).
    pub async fn save_page(
        &self,
        result_id: Uuid,
        worker_id: &str,
        page_number: i32,
        items: &[Item],
        counters: RunCounters,
        checkpoint: Option<&serde_json::Value>,
    ) -> Result<PageSaved> {
        let width = items.first().map_or(0, |i| i.values.len());
        let identity = ItemIdentity::whole_item(width);
        self.save_keyed_page(
            result_id,
            worker_id,
            page_number,
            items,
            &identity,
            counters,
            checkpoint,
        )
        .await
    }

    /// Stores one page: its items (continuing the run's `seq`) with their key and content
    /// hashes under `identity`, the counters and the checkpoint, in one transaction and only
    /// while `worker_id` holds the lease; otherwise `LeaseLost` and nothing is written. NULs in
    /// values and checkpoint are stored as U+FFFD ([`crate::NUL_REPLACEMENT`]), and hashed as
    /// stored.
    #[allow(clippy::too_many_arguments)]
    pub async fn save_keyed_page(
        &self,
        result_id: Uuid,
        worker_id: &str,
        page_number: i32,
        items: &[Item],
        identity: &ItemIdentity,
        counters: RunCounters,
        checkpoint: Option<&serde_json::Value>,
    ) -> Result<PageSaved> {
        let page = CrawledPage {
            page: page_number,
            items,
            identity,
            counters,
            checkpoint,
            record: None,
            copied: None,
        };
        self.save_crawled_page(result_id, worker_id, page).await
    }

    /// [`Store::save_keyed_page`], also recording what a later run needs to ask for the page
    /// conditionally (`run_page`) and, for a page answered 304, copying the earlier run's
    /// stored items for it in the database (values and hashes) instead of inserting items. If
    /// those items are no longer all there (pruned or deleted meanwhile), nothing is written
    /// and the error says so.
    pub async fn save_crawled_page(
        &self,
        result_id: Uuid,
        worker_id: &str,
        page: CrawledPage<'_>,
    ) -> Result<PageSaved> {
        let CrawledPage {
            page: page_number,
            items,
            identity,
            counters,
            checkpoint,
            record,
            copied,
        } = page;
        let added = match copied {
            Some(copied) => copied.items,
            None => {
                i64::try_from(items.len()).map_err(|_| StoreError::Invalid("page too large"))?
            }
        };
        let not_modified = i32::from(copied.is_some());
        let items: Vec<_> = items
            .iter()
            .map(|item| {
                let item = nul_free_item(item);
                let hashes = identity.hashes(&item);
                (item, hashes)
            })
            .collect();
        let checkpoint = checkpoint.map(nul_free_json);
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            // The counter update comes first: it checks the lease and, on PostgreSQL, locks the
            // row, so two saves for one run cannot interleave their item numbers. It also only
            // moves `pages_scraped` forward, which makes a save idempotent: a retry after a
            // commit whose answer was lost finds the page already there and stores nothing.
            let updated: Option<(i64, bool)> = sqlx::query_as(
                "update result set total_items = total_items + $3, pages_scraped = $4, \
                 items_dropped = $5, checkpoint = $6, \
                 pages_not_modified = pages_not_modified + $7 \
                 where result_id = $1 and lease_owner = $2 and status = 'running' \
                 and pages_scraped < $4 \
                 returning total_items, cancel_requested",
            )
            .bind(result_id)
            .bind(worker_id)
            .bind(added)
            .bind(counters.pages_scraped)
            .bind(counters.items_dropped)
            .bind(checkpoint.as_deref().map(sqlx::types::Json))
            .bind(not_modified)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((total_items, cancel_requested)) = updated else {
                let held: Option<(i32, i64, bool)> = sqlx::query_as(
                    "select pages_scraped, total_items, cancel_requested from result \
                     where result_id = $1 and lease_owner = $2 and status = 'running'",
                )
                .bind(result_id)
                .bind(worker_id)
                .fetch_optional(&mut *tx)
                .await?;
                return match held {
                    Some((pages, total_items, cancel_requested))
                        if pages >= counters.pages_scraped =>
                    {
                        Ok(PageSaved {
                            total_items,
                            cancel_requested,
                        })
                    }
                    _ => Err(StoreError::LeaseLost),
                };
            };
            let mut seq = total_items - added;
            if let Some(copied) = copied {
                let done = sqlx::query(SQL_COPY_ITEMS)
                    .bind(result_id)
                    .bind(seq)
                    .bind(copied.from_run)
                    .bind(copied.from_page)
                    .bind(page_number)
                    .bind(copied.items)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if done != u64::try_from(copied.items).unwrap_or(u64::MAX) {
                    return Err(StoreError::Invalid(
                        "the earlier run's items of a page answered 304 (not modified) are \
                         gone: they were pruned or deleted while this run reused them",
                    ));
                }
            }
            if let Some((url, record)) = record {
                sqlx::query(SQL_INSERT_PAGE)
                    .bind(result_id)
                    .bind(page_number)
                    .bind(nul_free(url).into_owned())
                    .bind(nul_free(record.final_url.as_str()).into_owned())
                    .bind(
                        record
                            .validators
                            .etag
                            .as_deref()
                            .map(|v| nul_free(v).into_owned()),
                    )
                    .bind(
                        record
                            .validators
                            .last_modified
                            .as_deref()
                            .map(|v| nul_free(v).into_owned()),
                    )
                    .bind(record.next_url.as_ref().map(|u| u.to_string()))
                    .bind(i32::try_from(record.matched).unwrap_or(i32::MAX))
                    .bind(i32::try_from(added).unwrap_or(i32::MAX))
                    .bind(i32::try_from(record.dropped).unwrap_or(i32::MAX))
                    .bind(copied.is_some())
                    .bind(seq)
                    .execute(&mut *tx)
                    .await?;
            }
            for chunk in items.chunks(ITEMS_PER_INSERT) {
                let mut insert = sqlx::QueryBuilder::new(
                    "insert into item (result_id, seq, page, data, key_hash, content_hash) ",
                );
                insert.push_values(chunk, |mut row, (item, hashes)| {
                    row.push_bind(result_id)
                        .push_bind(seq)
                        .push_bind(page_number)
                        .push_bind(sqlx::types::Json(item.as_ref()))
                        .push_bind(hashes.key)
                        .push_bind(hashes.content);
                    seq += 1;
                });
                insert.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
            PageSaved {
                total_items,
                cancel_requested,
            }
        }))
    }

    /// Writes the final status of a run the worker holds and releases the lease; with a
    /// webhook payload, queues the matching deliveries in the same transaction. NULs in the
    /// error, its details and the warnings are stored as U+FFFD.
    ///
    /// A completed run is compared with the previous completed run of its job in the same
    /// transaction ([`crate::changes`]), its `job.items_changed` deliveries queued when
    /// something changed, and older runs' items pruned past `keep_runs`: a crash before the
    /// commit leaves the run running, and the worker that takes it over does all of it once.
    pub async fn finish_run(
        &self,
        result_id: Uuid,
        worker_id: &str,
        outcome: &RunOutcome,
    ) -> Result<ResultRow> {
        let Some(event) = WebhookEvent::for_final_status(outcome.status) else {
            return Err(StoreError::Invalid(
                "a run finishes as completed, failed or cancelled",
            ));
        };
        let at = now();
        let error_message = outcome.error_message.as_deref().map(nul_free);
        let error_details = outcome.error_details.as_ref().map(nul_free_json);
        let warnings: Vec<_> = outcome.warnings.iter().map(|w| nul_free(w)).collect();
        let payload = outcome.webhook_payload.as_ref().map(nul_free_json);
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let row: Option<ResultRow> = sqlx::query_as(
                "update result set status = $3, completed_at = $4, duration_seconds = $5, \
                 error_message = $6, error_details = $7, warnings = $8, \
                 lease_owner = null, lease_expires_at = null \
                 where result_id = $1 and lease_owner = $2 and status = 'running' returning *",
            )
            .bind(result_id)
            .bind(worker_id)
            .bind(outcome.status)
            .bind(at)
            .bind(outcome.duration_seconds)
            .bind(error_message.as_deref())
            .bind(error_details.as_deref().map(sqlx::types::Json))
            .bind(sqlx::types::Json(&warnings))
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else {
                return Err(StoreError::LeaseLost);
            };
            if let Some(payload) = payload.as_deref() {
                insert_event_deliveries!(
                    tx,
                    dialect,
                    org = row.org_id,
                    job = row.job_id,
                    result = Some(row.result_id),
                    event = event,
                    payload = payload,
                    at = at
                );
            }
            if let Some(quality) = &outcome.quality {
                sqlx::query("update result set quality = $2 where result_id = $1")
                    .bind(result_id)
                    .bind(sqlx::types::Json(quality))
                    .execute(&mut *tx)
                    .await?;
            }
            if outcome.status == RunStatus::Completed {
                let counts = compare_with_previous_run!(tx, run = result_id, job = row.job_id);
                if let (Some(counts), Some(base_payload)) = (counts, &outcome.changes_payload)
                    && counts.any()
                {
                    let rows = first_changes!(
                        tx,
                        run = result_id,
                        limit = crate::changes::CHANGES_IN_WEBHOOK as i64
                    );
                    let base_columns: Option<sqlx::types::Json<Vec<String>>> = sqlx::query_scalar(
                        "select b.columns from result r join result b \
                             on b.result_id = r.diff_base_id where r.result_id = $1",
                    )
                    .bind(result_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let base_columns = base_columns.map_or_else(|| row.columns.clone(), |c| c.0);
                    let changes = crate::changes::webhook_changes(rows, &row, &base_columns);
                    let payload =
                        crate::changes::items_changed_payload(base_payload, counts, &changes);
                    let payload = nul_free_json(&payload);
                    insert_event_deliveries!(
                        tx,
                        dialect,
                        org = row.org_id,
                        job = row.job_id,
                        result = Some(row.result_id),
                        event = WebhookEvent::JobItemsChanged,
                        payload = payload.as_ref(),
                        at = at
                    );
                }
                if let Some(keep) = outcome.keep_runs {
                    prune_old_runs!(tx, job = row.job_id, keep = keep);
                }
            }
            // Read again: the comparison and the quality report changed the row.
            let row: ResultRow = sqlx::query_as("select * from result where result_id = $1")
                .bind(result_id)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            row
        }))
    }

    /// Gives a run back (graceful shutdown): pending again with its checkpoint, so the next
    /// worker resumes it; cancelled instead if cancellation was requested meanwhile.
    pub async fn release_run(&self, result_id: Uuid, worker_id: &str) -> Result<ResultRow> {
        let row: Option<ResultRow> = dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "update result set \
                 status = case when cancel_requested then 'cancelled' else 'pending' end, \
                 completed_at = case when cancel_requested then $3 else null end, \
                 lease_owner = null, lease_expires_at = null \
                 where result_id = $1 and lease_owner = $2 and status = 'running' returning *",
            )
            .bind(result_id)
            .bind(worker_id)
            .bind(now())
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::LeaseLost)
    }
}
