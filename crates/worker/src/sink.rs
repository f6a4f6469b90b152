//! The crawl's [`PageSink`]: each page's items (with their key and content hashes), counters,
//! checkpoint and page record go to the store in one transaction ([`Store::save_crawled_page`]),
//! only while this worker holds the run's lease. A page answered 304 is saved as a copy of the
//! earlier run's items for it, made by the database.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use grandma_engine::crawl::{Control, PageOutput, PageSink, SinkError};
use grandma_engine::identity::ItemIdentity;
use grandma_store::{
    CopiedItems, CrawledPage, PubSub, RunCounters, RunEvent, RunProgress, RunStatus, Store,
    StoreError, Uuid,
};

/// Why a crawl was stopped from outside the engine; the first reason wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StopReason {
    /// The user asked to cancel (the store's `cancel_requested`).
    UserCancel,
    /// Another worker owns the run now, or it was deleted: write nothing more.
    LeaseLost,
    /// This process is shutting down: give the run back to the queue.
    Shutdown,
    /// The run's `time_limit_seconds` passed.
    TimeLimit,
}

pub(crate) type StopFlag = Arc<OnceLock<StopReason>>;

/// Attempts of a page save that failed for a reason other than the lease (a dropped
/// connection, a busy SQLite file): a transient database problem should not fail a long run.
const SAVE_ATTEMPTS: u32 = 3;
const SAVE_RETRY_BASE: Duration = Duration::from_millis(500);

/// The sink is refused once the lease is lost; the engine then fails the run, and the worker
/// sees [`StopReason::LeaseLost`] and writes nothing more.
#[derive(Debug, thiserror::Error)]
#[error("the run's lease was lost (another worker owns it, or it was deleted)")]
pub(crate) struct LeaseLost;

#[derive(Debug)]
pub(crate) struct StoreSink<'a> {
    pub(crate) store: &'a Store,
    pub(crate) worker_id: &'a str,
    pub(crate) result_id: Uuid,
    pub(crate) owner_id: Uuid,
    pub(crate) org_id: Uuid,
    /// Which fields make an item's key: each item is stored with its key and content hashes.
    pub(crate) identity: ItemIdentity,
    /// The earlier run whose stored items stand for the pages answered 304.
    pub(crate) reused_from: Option<Uuid>,
    pub(crate) stop: StopFlag,
    /// Each stored page's progress is published here, after its transaction committed.
    pub(crate) events: Option<&'a PubSub>,
}

impl PageSink for StoreSink<'_> {
    async fn save(&mut self, page: PageOutput) -> Result<Control, SinkError> {
        let checkpoint = &page.checkpoint;
        let counters = RunCounters {
            pages_scraped: i32::try_from(checkpoint.pages_scraped).unwrap_or(i32::MAX),
            items_dropped: i64::try_from(checkpoint.items_dropped).unwrap_or(i64::MAX),
        };
        let checkpoint_json = serde_json::to_value(checkpoint)?;
        let page_number = i32::try_from(page.page).unwrap_or(i32::MAX);
        let copied = match (page.record.reused, self.reused_from) {
            (None, _) => None,
            (Some(reused), Some(from_run)) => Some(CopiedItems {
                from_run,
                from_page: i32::try_from(reused.from_page).unwrap_or(i32::MAX),
                items: i64::from(reused.items),
            }),
            (Some(_), None) => return Err("a page was replayed without an earlier run".into()),
        };
        let stored_items = copied.map_or(page.items.len() as u64, |c| c.items as u64);
        let mut attempt = 1;
        loop {
            let crawled = CrawledPage {
                page: page_number,
                items: &page.items,
                identity: &self.identity,
                counters,
                checkpoint: Some(&checkpoint_json),
                record: Some((page.url.as_str(), &page.record)),
                copied,
            };
            let saved = self
                .store
                .save_crawled_page(self.result_id, self.worker_id, crawled)
                .await;
            match saved {
                Ok(saved) => {
                    tracing::debug!(
                        page = page.page,
                        items_on_page = stored_items,
                        not_modified = copied.is_some(),
                        total_items = saved.total_items,
                        "page saved"
                    );
                    if let Some(events) = self.events {
                        events.publish(RunEvent::Progress(RunProgress {
                            result_id: self.result_id,
                            owner_id: self.owner_id,
                            org_id: self.org_id,
                            status: RunStatus::Running,
                            timestamp: Utc::now(),
                            items_scraped: saved.total_items,
                            pages_scraped: counters.pages_scraped,
                            current_url: Some(page.url.to_string()),
                            message: Some(match copied {
                                Some(_) => format!(
                                    "page {} not modified; {stored_items} item(s) kept from the last run",
                                    page.page
                                ),
                                None => {
                                    format!("page {} stored with {stored_items} item(s)", page.page)
                                }
                            }),
                        }));
                    }
                    if saved.cancel_requested {
                        let _ = self.stop.set(StopReason::UserCancel);
                        return Ok(Control::Cancel);
                    }
                    return Ok(Control::Continue);
                }
                Err(StoreError::LeaseLost) => {
                    let _ = self.stop.set(StopReason::LeaseLost);
                    return Err(Box::new(LeaseLost));
                }
                Err(error) if attempt < SAVE_ATTEMPTS => {
                    tracing::warn!(%error, page = page.page, attempt, "saving a page failed; retrying");
                    tokio::time::sleep(SAVE_RETRY_BASE * 2_u32.pow(attempt - 1)).await;
                    attempt += 1;
                }
                Err(error) => return Err(Box::new(error)),
            }
        }
    }
}
