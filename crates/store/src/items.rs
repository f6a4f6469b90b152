//! `item`: one row per scraped item, numbered by `seq` within its run.
//!
//! `seq` is dense (0, 1, 2, … in insertion order, see [`Store::save_page`]), so an offset is a
//! key: pages and streams read `seq >= n` from the primary key instead of skipping rows.

use futures::{Stream, TryStreamExt};
use grandma_engine::Item;
use uuid::Uuid;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::types::{Page, Paging, Scope};

/// Rows read per query while streaming: memory stays bounded by one batch whatever the run's
/// size.
const STREAM_BATCH: i64 = 1000;

/// A stored item with its position.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ItemRow {
    /// 0-based position in the run.
    pub seq: i64,
    /// The page the item came from.
    pub page: i32,
    /// The values, aligned with the run's `columns`.
    #[sqlx(json)]
    pub data: Item,
}

impl Store {
    /// A page of a run `scope` may see, in `seq` order; `total` is the run's item count.
    pub async fn list_items(
        &self,
        scope: Scope,
        result_id: Uuid,
        paging: Paging,
    ) -> Result<Page<ItemRow>> {
        let run = self.get_run(scope, result_id).await?;
        let items = self
            .items_from(result_id, paging.offset, paging.limit)
            .await?;
        Ok(Page {
            items,
            total: run.total_items,
        })
    }

    /// Up to `limit` items of a run from `seq >= from`, in order.
    async fn items_from(&self, result_id: Uuid, from: i64, limit: i64) -> Result<Vec<ItemRow>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select seq, page, data from item where result_id = $1 and seq >= $2 \
                 order by seq limit $3",
            )
            .bind(result_id)
            .bind(from)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Streams a run's items from `offset` (at most `limit`, all when `None`) in `seq` order,
    /// in constant memory, for exports of any size. The stream owns a clone of the store, so
    /// it can outlive the borrow (an HTTP response body). It reads in batches of 1,000 rows
    /// rather than holding one cursor open, so a slow client never pins a pool connection or,
    /// on SQLite, a read snapshot that stops the WAL from being checkpointed; items of a run
    /// are append-only, so batches never see a row twice or skip one. The caller checks that
    /// the run is visible to the user first (`get_run`).
    pub fn stream_items(
        &self,
        result_id: Uuid,
        offset: i64,
        limit: Option<i64>,
    ) -> impl Stream<Item = Result<Item>> + Send + 'static {
        let store = self.clone();
        let start = offset.max(0);
        let end = limit.map_or(i64::MAX, |l| start.saturating_add(l.max(0)));
        futures::stream::try_unfold(start, move |next| {
            let store = store.clone();
            async move {
                if next >= end {
                    return Ok::<_, StoreError>(None);
                }
                let batch = store
                    .items_from(result_id, next, (end - next).min(STREAM_BATCH))
                    .await?;
                let Some(last) = batch.last() else {
                    return Ok(None);
                };
                let next = last.seq + 1;
                let items = batch.into_iter().map(|row| Ok(row.data));
                Ok(Some((futures::stream::iter(items), next)))
            }
        })
        .try_flatten()
    }
}
