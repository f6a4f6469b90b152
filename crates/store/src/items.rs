//! `item`: one row per scraped item, numbered by `seq` within its run.
//!
//! `seq` is dense (0, 1, 2, … in insertion order, see [`Store::save_page`]), so an offset is a
//! key: pages and streams read `seq >= n` from the primary key instead of skipping rows.

use futures::{Stream, TryStreamExt};
use grandma_engine::Item;
use uuid::Uuid;

use crate::db::Store;
use crate::error::{Result, StoreError};
use crate::types::{ChangeKind, Page, Paging, Scope};

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

    /// Up to `limit` items of a run from `seq >= from` that are new or changed (as `kinds`
    /// says) compared with the previous run, in order, skipping the first `skip`.
    async fn changed_items_from(
        &self,
        result_id: Uuid,
        kinds: &[ChangeKind],
        from: i64,
        skip: i64,
        limit: i64,
    ) -> Result<Vec<ItemRow>> {
        let new = kinds.contains(&ChangeKind::New);
        let changed = kinds.contains(&ChangeKind::Changed);
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select i.seq, i.page, i.data from item_change ch \
                 join item i on i.result_id = ch.result_id and i.seq = ch.seq \
                 where ch.result_id = $1 and ch.seq >= $2 \
                 and ((ch.kind = 'new' and $3) or (ch.kind = 'changed' and $4)) \
                 order by ch.seq limit $5 offset $6",
            )
            .bind(result_id)
            .bind(from)
            .bind(new)
            .bind(changed)
            .bind(limit)
            .bind(skip)
            .fetch_all(pool)
            .await?
        }))
    }

    /// [`Store::stream_items`] restricted to the items that are new or changed (`kinds`)
    /// compared with the previous completed run; `offset` and `limit` count those items.
    pub fn stream_changed_items(
        &self,
        result_id: Uuid,
        kinds: Vec<ChangeKind>,
        offset: i64,
        limit: Option<i64>,
    ) -> impl Stream<Item = Result<Item>> + Send + 'static {
        let store = self.clone();
        let limit = limit.map_or(i64::MAX, |l| l.max(0));
        // State: next seq to read from, items to skip first, items still wanted.
        futures::stream::try_unfold((0_i64, offset.max(0), limit), move |(next, skip, left)| {
            let store = store.clone();
            let kinds = kinds.clone();
            async move {
                if left <= 0 {
                    return Ok::<_, StoreError>(None);
                }
                let batch = store
                    .changed_items_from(result_id, &kinds, next, skip, left.min(STREAM_BATCH))
                    .await?;
                let Some(last) = batch.last() else {
                    return Ok(None);
                };
                let next = last.seq + 1;
                let left = left - i64::try_from(batch.len()).unwrap_or(i64::MAX);
                let items = batch.into_iter().map(|row| Ok(row.data));
                Ok(Some((futures::stream::iter(items), (next, 0, left))))
            }
        })
        .try_flatten()
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
