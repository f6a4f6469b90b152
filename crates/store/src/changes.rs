//! `item_change`: what changed in a completed run compared with the previous completed run of
//! its job.
//!
//! The comparison is made of set operations on the items' key and content hashes
//! ([`grandma_engine::identity`]), run by the database inside the transaction that marks the run
//! completed ([`Store::finish_run`]): either the run is completed *and* compared, or neither,
//! so a worker killed halfway leaves a running run whose next owner completes and compares it
//! exactly once. Nothing is loaded into memory but the counts.
//!
//! Within a run, the first item of a key (lowest `seq`) stands for the key; later items with the
//! same key are counted as duplicates and otherwise left out of the comparison.

use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::db::Store;
use crate::error::Result;
use crate::results::ResultRow;
use crate::types::{ChangeKind, Page, Paging, Scope};

/// How many changes a `job.items_changed` webhook carries.
pub const CHANGES_IN_WEBHOOK: usize = 20;

/// The counts of a comparison, stored on the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ChangeCounts {
    pub new: i64,
    pub changed: i64,
    pub removed: i64,
    pub unchanged: i64,
}

impl ChangeCounts {
    /// Anything new, changed or removed.
    pub fn any(&self) -> bool {
        self.new + self.changed + self.removed > 0
    }
}

/// One field whose value differs, with both values as JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: String,
    pub old: Value,
    pub new: Value,
}

/// One item that is new, changed or removed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ItemChange {
    pub kind: ChangeKind,
    /// Position of the item in this run (new, changed) or in the base run (removed).
    pub seq: i64,
    /// The item as this run has it (new, changed).
    pub item: Option<Map<String, Value>>,
    /// The item as the base run had it (changed, removed).
    pub previous: Option<Map<String, Value>>,
    /// For a changed item, the fields whose values differ, in this run's column order (then
    /// fields the base run had and this one lacks).
    pub fields: Vec<FieldChange>,
}

/// A stored change row with the current item's values (joined on read).
#[derive(Debug, sqlx::FromRow)]
pub(crate) struct ChangeRow {
    kind: ChangeKind,
    seq: i64,
    #[sqlx(json(nullable))]
    old_data: Option<grandma_engine::Item>,
    #[sqlx(json(nullable))]
    data: Option<grandma_engine::Item>,
}

/// The fields whose values differ between `previous` and `current`, matched by name.
pub fn changed_fields(
    previous: &Map<String, Value>,
    current: &Map<String, Value>,
) -> Vec<FieldChange> {
    let mut fields: Vec<FieldChange> = current
        .iter()
        .filter(|(name, new)| previous.get(*name).unwrap_or(&Value::Null) != *new)
        .map(|(name, new)| FieldChange {
            field: name.clone(),
            old: previous.get(name).cloned().unwrap_or(Value::Null),
            new: new.clone(),
        })
        .collect();
    fields.extend(
        previous
            .iter()
            .filter(|(name, old)| !current.contains_key(*name) && !old.is_null())
            .map(|(name, old)| FieldChange {
                field: name.clone(),
                old: old.clone(),
                new: Value::Null,
            }),
    );
    fields
}

/// Turns stored rows into changes, with the two runs' columns.
fn to_changes(
    rows: Vec<ChangeRow>,
    columns: &[String],
    base_columns: &[String],
) -> Vec<ItemChange> {
    rows.into_iter()
        .map(|row| {
            let item = row.data.map(|d| d.to_json_object(columns));
            let previous = row.old_data.map(|d| d.to_json_object(base_columns));
            let fields = match (&previous, &item) {
                (Some(p), Some(c)) if row.kind == ChangeKind::Changed => changed_fields(p, c),
                _ => Vec::new(),
            };
            ItemChange {
                kind: row.kind,
                seq: row.seq,
                item,
                previous,
                fields,
            }
        })
        .collect()
}

/// Counts an item whose key an earlier item of the run had. `$1` run.
pub(crate) const SQL_DUPLICATES: &str = "select count(*) from item c where c.result_id = $1 \
     and c.key_hash is not null and exists (select 1 from item d \
     where d.result_id = $1 and d.key_hash = c.key_hash and d.seq < c.seq)";
/// Items of the run that have a key. `$1` run.
pub(crate) const SQL_KEYED: &str =
    "select count(*) from item where result_id = $1 and key_hash is not null";
/// First items of keys of run `$1` that run `$2` lacks.
const SQL_INSERT_NEW: &str = "insert into item_change (result_id, kind, seq, old_data) \
     select $1, 'new', c.seq, null from item c \
     where c.result_id = $1 and c.key_hash is not null \
     and not exists (select 1 from item d where d.result_id = $1 \
         and d.key_hash = c.key_hash and d.seq < c.seq) \
     and not exists (select 1 from item p where p.result_id = $2 and p.key_hash = c.key_hash)";
/// First items of keys of run `$2` that run `$1` lacks, with their values.
const SQL_INSERT_REMOVED: &str = "insert into item_change (result_id, kind, seq, old_data) \
     select $1, 'removed', p.seq, p.data from item p \
     where p.result_id = $2 and p.key_hash is not null \
     and not exists (select 1 from item d where d.result_id = $2 \
         and d.key_hash = p.key_hash and d.seq < p.seq) \
     and not exists (select 1 from item c where c.result_id = $1 and c.key_hash = p.key_hash)";
/// First items of keys in both runs whose content differs, with the base run's values.
const SQL_INSERT_CHANGED: &str = "insert into item_change (result_id, kind, seq, old_data) \
     select $1, 'changed', c.seq, p.data from item c \
     join item p on p.result_id = $2 and p.key_hash = c.key_hash \
     where c.result_id = $1 and c.content_hash <> p.content_hash \
     and not exists (select 1 from item d where d.result_id = $1 \
         and d.key_hash = c.key_hash and d.seq < c.seq) \
     and not exists (select 1 from item q where q.result_id = $2 \
         and q.key_hash = p.key_hash and q.seq < p.seq)";
/// The previous completed run of a job whose items are still there. `$1` job, `$2` this run.
pub(crate) const SQL_BASE_RUN: &str = "select result_id from result where job_id = $1 and result_id <> $2 \
     and status = 'completed' and items_pruned = $3 \
     order by completed_at desc, result_id desc limit 1";
/// Records the comparison on the run. `$1` run, `$2` base, `$3`–`$6` counts, `$7` duplicates.
pub(crate) const SQL_RECORD_COUNTS: &str = "update result set diff_base_id = $2, new_items = $3, \
     changed_items = $4, removed_items = $5, unchanged_items = $6, duplicate_keys = $7 \
     where result_id = $1";
/// A page of a run's changes, joined with the current items. `$1` run, `$2` kind (null: all),
/// `$3` limit, `$4` offset.
pub(crate) const SQL_PAGE: &str = "select ch.kind, ch.seq, ch.old_data, i.data from item_change ch \
     left join item i on ch.kind <> 'removed' and i.result_id = ch.result_id and i.seq = ch.seq \
     where ch.result_id = $1 and ($2 is null or ch.kind = $2) \
     order by case ch.kind when 'new' then 0 when 'changed' then 1 else 2 end, ch.seq \
     limit $3 offset $4";
/// The new and changed items of a run whose `seq` is in `$2..$3`, joined with the current
/// items (for marking a page of rows). Uses `idx_item_change_seq`.
const SQL_RANGE: &str = "select ch.kind, ch.seq, ch.old_data, i.data from item_change ch \
     join item i on i.result_id = ch.result_id and i.seq = ch.seq \
     where ch.result_id = $1 and ch.seq >= $2 and ch.seq < $3 and ch.kind <> 'removed' \
     order by ch.seq";
const SQL_COUNT: &str =
    "select count(*) from item_change where result_id = $1 and ($2 is null or kind = $2)";

/// Compares run `$run` (of `$job`) with the previous completed run on `$conn` (a transaction)
/// and records the counts; evaluates to `Option<ChangeCounts>` (`None` for a first run).
macro_rules! compare_with_previous_run {
    ($conn:expr, run = $run:expr, job = $job:expr) => {{
        let base: Option<uuid::Uuid> = sqlx::query_scalar($crate::changes::SQL_BASE_RUN)
            .bind($job)
            .bind($run)
            .bind(false)
            .fetch_optional(&mut *$conn)
            .await?;
        let keyed: i64 = sqlx::query_scalar($crate::changes::SQL_KEYED)
            .bind($run)
            .fetch_one(&mut *$conn)
            .await?;
        let duplicates: i64 = sqlx::query_scalar($crate::changes::SQL_DUPLICATES)
            .bind($run)
            .fetch_one(&mut *$conn)
            .await?;
        let counts = match base {
            None => None,
            Some(base) => {
                let mut affected = [0_i64; 3];
                for (slot, sql) in affected.iter_mut().zip($crate::changes::SQL_INSERTS) {
                    let done = sqlx::query(sql)
                        .bind($run)
                        .bind(base)
                        .execute(&mut *$conn)
                        .await?;
                    *slot = i64::try_from(done.rows_affected()).unwrap_or(i64::MAX);
                }
                let [new, removed, changed] = affected;
                Some($crate::changes::ChangeCounts {
                    new,
                    changed,
                    removed,
                    unchanged: (keyed - duplicates - new - changed).max(0),
                })
            }
        };
        sqlx::query($crate::changes::SQL_RECORD_COUNTS)
            .bind($run)
            .bind(base)
            .bind(counts.map(|c| c.new))
            .bind(counts.map(|c| c.changed))
            .bind(counts.map(|c| c.removed))
            .bind(counts.map(|c| c.unchanged))
            .bind(duplicates)
            .execute(&mut *$conn)
            .await?;
        counts
    }};
}

/// New, removed, changed: the order of the counts the macro reads back.
pub(crate) const SQL_INSERTS: [&str; 3] = [SQL_INSERT_NEW, SQL_INSERT_REMOVED, SQL_INSERT_CHANGED];

/// Reads the first `limit` changes of a run on `$conn` (inside the finishing transaction, for
/// the webhook).
macro_rules! first_changes {
    ($conn:expr, run = $run:expr, limit = $limit:expr) => {{
        let rows: Vec<$crate::changes::ChangeRow> = sqlx::query_as($crate::changes::SQL_PAGE)
            .bind($run)
            .bind(Option::<$crate::types::ChangeKind>::None)
            .bind($limit)
            .bind(0_i64)
            .fetch_all(&mut *$conn)
            .await?;
        rows
    }};
}

/// The changes of `run` for a webhook, given the base run's columns.
pub(crate) fn webhook_changes(
    rows: Vec<ChangeRow>,
    run: &ResultRow,
    base_columns: &[String],
) -> Vec<ItemChange> {
    to_changes(rows, &run.columns, base_columns)
}

/// The `job.items_changed` body: `base` (the run's own fields) with `changes` (the counts) and
/// `first_changes`.
pub(crate) fn items_changed_payload(
    base: &Value,
    counts: ChangeCounts,
    changes: &[ItemChange],
) -> Value {
    let mut payload = base.clone();
    if let Some(object) = payload.as_object_mut() {
        object.insert(
            "changes".into(),
            serde_json::to_value(counts).expect("counts are plain JSON"),
        );
        object.insert(
            "first_changes".into(),
            serde_json::to_value(changes).expect("changes are plain JSON"),
        );
    }
    payload
}

impl Store {
    /// A page of the changes of a run `scope` may see, new first, then changed, then removed,
    /// each in item order; `kind` keeps one kind. `total` counts the matching changes.
    pub async fn list_changes(
        &self,
        scope: Scope,
        result_id: Uuid,
        kind: Option<ChangeKind>,
        paging: Paging,
    ) -> Result<Page<ItemChange>> {
        let run = self.get_run(scope, result_id).await?;
        let base_columns = self.base_columns(&run).await?;
        let (rows, total): (Vec<ChangeRow>, i64) = dispatch!(self, |pool, dialect| {
            let rows = sqlx::query_as(SQL_PAGE)
                .bind(result_id)
                .bind(kind)
                .bind(paging.limit)
                .bind(paging.offset)
                .fetch_all(pool)
                .await?;
            let total = sqlx::query_scalar(SQL_COUNT)
                .bind(result_id)
                .bind(kind)
                .fetch_one(pool)
                .await?;
            (rows, total)
        });
        Ok(Page {
            items: to_changes(rows, &run.columns, &base_columns),
            total,
        })
    }

    /// The new and changed items among a run's items `from_seq..to_seq` (a page of its rows),
    /// in `seq` order, so a page can mark them without reading every change.
    pub async fn changes_between(
        &self,
        scope: Scope,
        result_id: Uuid,
        from_seq: i64,
        to_seq: i64,
    ) -> Result<Vec<ItemChange>> {
        let run = self.get_run(scope, result_id).await?;
        let base_columns = self.base_columns(&run).await?;
        let rows: Vec<ChangeRow> = dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_RANGE)
                .bind(result_id)
                .bind(from_seq)
                .bind(to_seq)
                .fetch_all(pool)
                .await?
        });
        Ok(to_changes(rows, &run.columns, &base_columns))
    }

    /// The columns of the run a run was compared with (its own when the base is gone).
    async fn base_columns(&self, run: &ResultRow) -> Result<Vec<String>> {
        let Some(base) = run.diff_base_id else {
            return Ok(run.columns.clone());
        };
        let columns: Option<sqlx::types::Json<Vec<String>>> = dispatch!(self, |pool, dialect| {
            sqlx::query_scalar("select columns from result where result_id = $1")
                .bind(base)
                .fetch_optional(pool)
                .await?
        });
        Ok(columns.map_or_else(|| run.columns.clone(), |c| c.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn changed_fields_are_matched_by_name() {
        let old = json!({"title": "A", "price": "10", "gone": "x"});
        let new = json!({"title": "A", "price": "12", "added": null});
        let fields = changed_fields(old.as_object().unwrap(), new.as_object().unwrap());
        assert_eq!(
            fields,
            vec![
                FieldChange {
                    field: "price".into(),
                    old: json!("10"),
                    new: json!("12")
                },
                FieldChange {
                    field: "gone".into(),
                    old: json!("x"),
                    new: Value::Null
                },
            ]
        );
    }
}
