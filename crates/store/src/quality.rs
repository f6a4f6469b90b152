//! The data-quality report of a run: how often each field was filled, and how many items each
//! page gave. Counted by the database over the stored items, so a run of any size costs one
//! pass and no memory.

use serde::Serialize;
use uuid::Uuid;

use crate::db::Store;
use crate::error::Result;

/// Filled (not null, not empty text, not an empty list) values per column position. `$1` run.
const SQL_FILLED_SQLITE: &str = "select cast(j.key as integer), count(*) \
     from item, json_each(item.data) as j \
     where item.result_id = $1 and j.type <> 'null' \
     and not (j.type = 'text' and j.atom = '') \
     and not (j.type = 'array' and json_array_length(j.value) = 0) \
     group by j.key";
const SQL_FILLED_POSTGRES: &str = "select (e.idx - 1)::bigint, count(*) \
     from item, jsonb_array_elements(item.data) with ordinality as e(v, idx) \
     where item.result_id = $1 and jsonb_typeof(e.v) <> 'null' \
     and e.v <> '\"\"'::jsonb and e.v <> '[]'::jsonb \
     group by e.idx";
/// Items per page. `$1` run.
const SQL_PAGES: &str =
    "select page, count(*) from item where result_id = $1 group by page order by page";

/// Filled values per column position, as the database counts them.
type FilledCounts = Vec<(i64, i64)>;
/// Items per page number.
type PageCounts = Vec<(i32, i64)>;

/// How well one field was filled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldFill {
    pub field: String,
    /// Items with a value.
    pub filled: i64,
    /// `filled / items`, 0–1 (1 for a run without items: nothing was missing).
    pub rate: f64,
}

/// Items stored from one page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PageCount {
    pub page: i32,
    pub items: i64,
}

/// The quality report of a run, stored on it as `quality`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunQuality {
    pub items: i64,
    /// In the run's column order.
    pub fields: Vec<FieldFill>,
    /// Pages that gave items, in page order; a page scraped without items is absent.
    pub pages: Vec<PageCount>,
}

impl RunQuality {
    /// The fill rate of a field, if it is a column of the run.
    pub fn rate(&self, field: &str) -> Option<f64> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.rate)
    }

    /// The items of page `page` (0 when it gave none).
    pub fn items_on(&self, page: i32) -> i64 {
        self.pages
            .iter()
            .find(|p| p.page == page)
            .map_or(0, |p| p.items)
    }

    pub fn to_value(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("a quality report is plain JSON")
    }
}

impl Store {
    /// Counts the fill rate of each of `columns` and the items of each page of a run.
    pub async fn run_quality(&self, result_id: Uuid, columns: &[String]) -> Result<RunQuality> {
        let (filled, pages): (FilledCounts, PageCounts) = dispatch!(self, |pool, dialect| {
            let filled = sqlx::query_as(dialect.pick(SQL_FILLED_SQLITE, SQL_FILLED_POSTGRES))
                .bind(result_id)
                .fetch_all(pool)
                .await?;
            let pages = sqlx::query_as(SQL_PAGES)
                .bind(result_id)
                .fetch_all(pool)
                .await?;
            (filled, pages)
        });
        let items: i64 = pages.iter().map(|(_, n)| n).sum();
        let fields = columns
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let filled = filled
                    .iter()
                    .find(|(idx, _)| usize::try_from(*idx).ok() == Some(i))
                    .map_or(0, |(_, n)| *n);
                let rate = if items == 0 {
                    1.0
                } else {
                    filled as f64 / items as f64
                };
                FieldFill {
                    field: field.clone(),
                    filled,
                    rate,
                }
            })
            .collect();
        Ok(RunQuality {
            items,
            fields,
            pages: pages
                .into_iter()
                .map(|(page, items)| PageCount { page, items })
                .collect(),
        })
    }
}
