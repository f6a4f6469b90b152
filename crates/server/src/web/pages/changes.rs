//! What a run changed and how well it filled its columns, as the run page shows them: the
//! summary in words ("3 new, 1 price changed, 2 gone since yesterday"), marks on a page of
//! rows (new rows, changed cells with the value they had), the rows of one kind of change, and
//! the quality report with its warnings in plain words.

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Datelike, Utc};
use grandma_store::{ChangeKind, ItemChange, ResultRow};
use serde_json::{Map, Value};

use crate::web::pages::view::{When, plural};

/// Changed items read to name the fields that changed; beyond this the summary says "changed"
/// without names rather than name fields from a sample.
pub const FIELD_SAMPLE: i64 = 500;
/// A column filled in fewer rows than this share gets a warning.
const LOW_FILL: f64 = 0.5;
/// Pages listed in the items-per-page table.
const PAGES_LISTED: usize = 200;

/// Which rows the run page lists: all, or one kind of change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Show {
    All,
    New,
    Changed,
    Removed,
}

impl Show {
    /// `?show=` as written; anything unknown lists all rows.
    pub fn parse(text: Option<&str>) -> Show {
        match text.map(str::trim) {
            Some("new") => Show::New,
            Some("changed") => Show::Changed,
            Some("removed") => Show::Removed,
            _ => Show::All,
        }
    }

    pub fn kind(self) -> Option<ChangeKind> {
        match self {
            Show::All => None,
            Show::New => Some(ChangeKind::New),
            Show::Changed => Some(ChangeKind::Changed),
            Show::Removed => Some(ChangeKind::Removed),
        }
    }

    /// The query that keeps this choice on the pager's links (`show=new&`), empty for all.
    pub fn query(self) -> &'static str {
        match self {
            Show::All => "",
            Show::New => "show=new&",
            Show::Changed => "show=changed&",
            Show::Removed => "show=removed&",
        }
    }
}

/// One cell of the rows table; `was` is the previous run's value of a changed cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub was: Option<String>,
}

/// One row of the rows table. `mark` is `new`, `changed`, `removed` or empty (the row's CSS
/// class; the template adds the words).
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub number: i64,
    pub mark: &'static str,
    pub cells: Vec<Cell>,
}

/// A JSON value of a change as a table cell, the way exports write item values.
fn cell_text(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(list)) => list
            .iter()
            .map(|v| cell_text(Some(v)))
            .collect::<Vec<_>>()
            .join("; "),
        Some(other) => other.to_string(),
    }
}

/// "was 9.99", or "was empty" for a value that was not there.
fn was_words(old: &Value) -> String {
    let text = cell_text(Some(old));
    if text.is_empty() {
        "was empty".to_owned()
    } else {
        format!("was {text}")
    }
}

/// A row of this run (`values` aligned with `columns`) marked by its change, if any.
pub fn marked_row(
    number: i64,
    values: Vec<String>,
    columns: &[String],
    change: Option<&ItemChange>,
) -> Row {
    let Some(change) = change else {
        return Row {
            number,
            mark: "",
            cells: values
                .into_iter()
                .map(|text| Cell { text, was: None })
                .collect(),
        };
    };
    let cells = values
        .into_iter()
        .zip(columns)
        .map(|(text, column)| Cell {
            text,
            was: change
                .fields
                .iter()
                .find(|f| &f.field == column)
                .map(|f| was_words(&f.old)),
        })
        .collect();
    Row {
        number,
        mark: mark_of(change.kind),
        cells,
    }
}

fn mark_of(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::New => "new",
        ChangeKind::Changed => "changed",
        ChangeKind::Removed => "removed",
    }
}

/// The rows of one kind of change: new and changed items as this run has them, removed ones as
/// the previous run had them. Returns the columns to show (this run's, then any only the
/// previous run had) and the rows, numbered by their place in their run.
pub fn change_rows(changes: &[ItemChange], columns: &[String]) -> (Vec<String>, Vec<Row>) {
    let mut columns = columns.to_vec();
    for change in changes {
        if let Some(previous) = change.previous.as_ref().filter(|_| change.item.is_none()) {
            for name in previous.keys() {
                if !columns.contains(name) {
                    columns.push(name.clone());
                }
            }
        }
    }
    let empty = Map::new();
    let rows = changes
        .iter()
        .map(|change| {
            let values = change
                .item
                .as_ref()
                .or(change.previous.as_ref())
                .unwrap_or(&empty);
            let texts = columns.iter().map(|c| cell_text(values.get(c))).collect();
            marked_row(change.seq + 1, texts, &columns, Some(change))
        })
        .collect();
    (columns, rows)
}

/// A field name as words: `unit_price` → "unit price".
fn field_words(name: &str) -> String {
    name.replace(['_', '-'], " ").trim().to_owned()
}

/// The English plural of a field's words when they are plain words ("prices", "addresses",
/// "categories"); `None` for names that are not ("sku2", "Preis (€)").
fn plural_words(words: &str) -> Option<String> {
    if words.is_empty() || !words.chars().all(|c| c.is_ascii_alphabetic() || c == ' ') {
        return None;
    }
    let lower = words.to_ascii_lowercase();
    let consonant_y =
        lower.ends_with('y') && !lower[..lower.len() - 1].ends_with(['a', 'e', 'i', 'o', 'u']);
    Some(if consonant_y {
        format!("{}ies", &words[..words.len() - 1])
    } else if ["s", "x", "z", "ch", "sh"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        format!("{words}es")
    } else {
        format!("{words}s")
    })
}

/// How the changed items are counted in the summary: "1 price changed", "4 prices changed",
/// "2 changed (price and stock)", or "2 changed" when the fields are many or not all known.
/// `fields`: the fields each changed item changed, for all of them or a sample.
pub fn changed_words(count: i64, fields: &[Vec<String>]) -> String {
    let all_known = i64::try_from(fields.len()).is_ok_and(|n| n == count);
    let names: BTreeSet<&str> = fields.iter().flatten().map(String::as_str).collect();
    if !all_known || names.is_empty() {
        return format!("{count} changed");
    }
    let words: Vec<String> = names.iter().map(|n| field_words(n)).collect();
    if let [one] = words.as_slice() {
        if count == 1 {
            return format!("1 {one} changed");
        }
        if let Some(many) = plural_words(one) {
            return format!("{count} {many} changed");
        }
        return format!("{count} changed ({one})");
    }
    match words.as_slice() {
        [a, b] => format!("{count} changed ({a} and {b})"),
        [a, b, c] => format!("{count} changed ({a}, {b} and {c})"),
        _ => format!("{count} changed"),
    }
}

/// "3 new, 1 price changed, 2 gone", or "nothing changed".
pub fn counts_words(new: i64, changed: &str, changed_count: i64, removed: i64) -> String {
    let mut parts = Vec::new();
    if new > 0 {
        parts.push(format!("{new} new"));
    }
    if changed_count > 0 {
        parts.push(changed.to_owned());
    }
    if removed > 0 {
        parts.push(format!("{removed} gone"));
    }
    if parts.is_empty() {
        "nothing changed".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The day of the run compared with, as "since …" finishes it: "earlier today", "yesterday",
/// "Monday" within a week, else "3 Nov" (and the year when it is not this one). Days are UTC
/// days here; `app.js` rewrites the words in the browser's own time zone.
pub fn since_words(then: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let days = (now.date_naive() - then.date_naive()).num_days();
    match days {
        i64::MIN..=0 => "earlier today".to_owned(),
        1 => "yesterday".to_owned(),
        2..=6 => then.format("%A").to_string(),
        _ if then.year() == now.year() => then.format("%-d %b").to_string(),
        _ => then.format("%-d %b %Y").to_string(),
    }
}

/// What a run changed, for the run page.
#[derive(Debug, Clone)]
pub struct ChangeSummary {
    /// "3 new, 1 price changed, 2 gone".
    pub words: String,
    /// The base run's finish time and its day in words; `None` when that run was deleted.
    pub since: Option<(When, String)>,
    pub new: i64,
    pub changed: i64,
    pub removed: i64,
}

impl ChangeSummary {
    /// `None` for a run that was not compared (a first run, one that did not complete).
    pub fn of(
        run: &ResultRow,
        changed_fields: &[Vec<String>],
        base_finished: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Option<ChangeSummary> {
        run.diff_base_id?;
        let new = run.new_items.unwrap_or(0);
        let changed = run.changed_items.unwrap_or(0);
        let removed = run.removed_items.unwrap_or(0);
        Some(ChangeSummary {
            words: counts_words(
                new,
                &changed_words(changed, changed_fields),
                changed,
                removed,
            ),
            since: base_finished.map(|at| (When::of(at), since_words(at, now))),
            new,
            changed,
            removed,
        })
    }
}

/// A link of the "which rows" choice.
#[derive(Debug, Clone)]
pub struct ShowLink {
    pub href: String,
    pub label: String,
    pub current: bool,
}

/// The choices for a compared run: all rows, and each kind of change with its count.
pub fn show_links(summary: &ChangeSummary, total: i64, show: Show) -> Vec<ShowLink> {
    [
        (Show::All, "?", format!("All rows ({total})")),
        (Show::New, "?show=new", format!("New ({})", summary.new)),
        (
            Show::Changed,
            "?show=changed",
            format!("Changed ({})", summary.changed),
        ),
        (
            Show::Removed,
            "?show=removed",
            format!("Gone ({})", summary.removed),
        ),
    ]
    .into_iter()
    .map(|(which, href, label)| ShowLink {
        href: href.to_owned(),
        label,
        current: which == show,
    })
    .collect()
}

/// One column's fill rate.
#[derive(Debug, Clone)]
pub struct FieldQuality {
    pub name: String,
    pub filled: i64,
    /// Rounded down, so "100%" means every row.
    pub percent: i64,
    pub low: bool,
}

/// The quality report of a run in words.
#[derive(Debug, Clone)]
pub struct QualityView {
    pub items: i64,
    pub fields: Vec<FieldQuality>,
    /// (page, items) for the first pages, those without rows included.
    pub pages: Vec<(i64, i64)>,
    /// Pages beyond the ones listed.
    pub pages_left_out: usize,
    pub warnings: Vec<String>,
}

impl QualityView {
    /// The stored `quality` of a run (`RunQuality` as JSON) with the run's page count, and the
    /// quality of the run it was compared with, if any (a column that was well filled then and
    /// is mostly empty now points at a redesign); `None` when there is none or it cannot be read.
    pub fn of(quality: &Value, pages_scraped: i32, before: Option<&Value>) -> Option<QualityView> {
        let items = quality.get("items")?.as_i64()?;
        let fields: Vec<FieldQuality> = quality
            .get("fields")?
            .as_array()?
            .iter()
            .filter_map(|f| {
                let rate = f.get("rate")?.as_f64()?;
                Some(FieldQuality {
                    name: f.get("field")?.as_str()?.to_owned(),
                    filled: f.get("filled")?.as_i64()?,
                    percent: (rate * 100.0).floor() as i64,
                    low: items > 0 && rate < LOW_FILL,
                })
            })
            .collect();
        let with_items: HashMap<i64, i64> = quality
            .get("pages")?
            .as_array()?
            .iter()
            .filter_map(|p| Some((p.get("page")?.as_i64()?, p.get("items")?.as_i64()?)))
            .collect();
        let scraped = i64::from(pages_scraped.max(0));
        let empty_pages = usize::try_from(scraped)
            .unwrap_or(0)
            .saturating_sub(with_items.len());
        // Pages are numbered from 1; when the pages without rows are exactly the numbers
        // missing from 1..=scraped they can be named, otherwise (failed pages skip numbers)
        // only counted.
        let last = with_items.keys().copied().max().unwrap_or(0).max(scraped);
        let missing: Vec<i64> = (1..=scraped)
            .filter(|p| !with_items.contains_key(p))
            .collect();
        let named = missing.len() == empty_pages;
        let mut pages: Vec<(i64, i64)> = (1..=last)
            .filter_map(|p| match with_items.get(&p) {
                Some(n) => Some((p, *n)),
                None if named && p <= scraped => Some((p, 0)),
                None => None,
            })
            .collect();
        let pages_left_out = pages.len().saturating_sub(PAGES_LISTED);
        pages.truncate(PAGES_LISTED);

        let mut warnings = Vec::new();
        let rate_before = |name: &str| {
            before?
                .get("fields")?
                .as_array()?
                .iter()
                .find(|f| f.get("field").and_then(Value::as_str) == Some(name))?
                .get("rate")?
                .as_f64()
                .filter(|rate| *rate >= LOW_FILL)
        };
        for f in fields.iter().filter(|f| f.low) {
            let name = field_words(&f.name);
            let then = rate_before(&f.name)
                .map(|rate| {
                    format!(
                        ", against {}% in the previous run",
                        (rate * 100.0).floor() as i64
                    )
                })
                .unwrap_or_default();
            let what = if f.filled == 0 {
                format!("No row has a value for “{name}”{then}.")
            } else {
                format!(
                    "Only {} of {} have a value for “{name}” ({}%){then}.",
                    f.filled,
                    plural(items, "row", "rows"),
                    f.percent
                )
            };
            warnings.push(format!(
                "{what} If the site changed how its pages look, pick that column again in the \
                 editor."
            ));
        }
        if empty_pages > 0 {
            let which = if named {
                page_list(&missing)
            } else {
                plural(empty_pages as i64, "page", "pages")
            };
            warnings.push(format!(
                "{which} gave no rows. The list may be empty there, or the site changed how \
                 its pages look."
            ));
        }
        Some(QualityView {
            items,
            fields,
            pages,
            pages_left_out,
            warnings,
        })
    }
}

/// "Page 3", "Pages 3 and 4", "Pages 2, 5 and 7", "Pages 2, 5, 7 and 9 more".
fn page_list(pages: &[i64]) -> String {
    match pages {
        [one] => format!("Page {one}"),
        [rest @ .., last] if rest.len() < 4 => format!(
            "Pages {} and {last}",
            rest.iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => format!(
            "Pages {} and {} more",
            pages[..3]
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            pages.len() - 3
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn fields(list: &[&[&str]]) -> Vec<Vec<String>> {
        list.iter()
            .map(|f| f.iter().map(|s| (*s).to_owned()).collect())
            .collect()
    }

    #[test]
    fn changed_items_name_their_field() {
        assert_eq!(changed_words(1, &fields(&[&["price"]])), "1 price changed");
        assert_eq!(
            changed_words(3, &fields(&[&["price"], &["price"], &["price"]])),
            "3 prices changed"
        );
        assert_eq!(
            changed_words(2, &fields(&[&["category"], &["category"]])),
            "2 categories changed"
        );
        assert_eq!(
            changed_words(2, &fields(&[&["unit_price"], &["unit_price"]])),
            "2 unit prices changed"
        );
        assert_eq!(
            changed_words(2, &fields(&[&["box"], &["box"]])),
            "2 boxes changed"
        );
        assert_eq!(
            changed_words(2, &fields(&[&["sku2"], &["sku2"]])),
            "2 changed (sku2)"
        );
        assert_eq!(
            changed_words(2, &fields(&[&["price"], &["title", "price"]])),
            "2 changed (price and title)"
        );
        assert_eq!(
            changed_words(2, &fields(&[&["a", "b"], &["c", "d"]])),
            "2 changed"
        );
        // A sample that is not every changed item names nothing.
        assert_eq!(changed_words(900, &fields(&[&["price"]])), "900 changed");
    }

    #[test]
    fn the_summary_reads_as_a_sentence() {
        assert_eq!(
            counts_words(3, "1 price changed", 1, 2),
            "3 new, 1 price changed, 2 gone"
        );
        assert_eq!(counts_words(0, "0 changed", 0, 2), "2 gone");
        assert_eq!(counts_words(4, "", 0, 1), "4 new, 1 gone");
        assert_eq!(counts_words(0, "0 changed", 0, 0), "nothing changed");
    }

    #[test]
    fn the_base_run_day_in_words() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
        let at = |d, h| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
        assert_eq!(since_words(at(3, 1), now), "earlier today");
        assert_eq!(since_words(at(2, 23), now), "yesterday");
        assert_eq!(since_words(at(1, 8), now), "Tuesday");
        assert_eq!(
            since_words(Utc.with_ymd_and_hms(2026, 11, 3, 8, 0, 0).unwrap(), now),
            "3 Nov"
        );
        assert_eq!(
            since_words(Utc.with_ymd_and_hms(2025, 11, 3, 8, 0, 0).unwrap(), now),
            "3 Nov 2025"
        );
    }

    #[test]
    fn quality_warns_about_empty_columns_and_pages() {
        let quality = json!({
            "items": 10,
            "fields": [
                {"field": "name", "filled": 10, "rate": 1.0},
                {"field": "unit_price", "filled": 2, "rate": 0.2},
                {"field": "stock", "filled": 0, "rate": 0.0},
            ],
            "pages": [{"page": 1, "items": 6}, {"page": 2, "items": 4}],
        });
        let before = json!({"items": 9, "fields": [
            {"field": "name", "filled": 9, "rate": 1.0},
            {"field": "unit_price", "filled": 9, "rate": 0.955},
            {"field": "stock", "filled": 1, "rate": 0.11},
        ]});
        let view = QualityView::of(&quality, 3, Some(&before)).unwrap();
        assert_eq!(view.pages, vec![(1, 6), (2, 4), (3, 0)]);
        assert_eq!(
            view.fields
                .iter()
                .map(|f| (f.percent, f.low))
                .collect::<Vec<_>>(),
            vec![(100, false), (20, true), (0, true)]
        );
        assert_eq!(
            view.warnings,
            vec![
                "Only 2 of 10 rows have a value for “unit price” (20%), against 95% in the \
                 previous run. If the site changed how its pages look, pick that column again \
                 in the editor."
                    .to_owned(),
                "No row has a value for “stock”. If the site changed how its pages look, pick \
                 that column again in the editor."
                    .to_owned(),
                "Page 3 gave no rows. The list may be empty there, or the site changed how its \
                 pages look."
                    .to_owned(),
            ]
        );
        let fine = json!({"items": 4, "fields": [{"field": "name", "filled": 4, "rate": 1.0}],
            "pages": [{"page": 1, "items": 4}]});
        assert!(QualityView::of(&fine, 1, None).unwrap().warnings.is_empty());
        assert_eq!(page_list(&[3, 4]), "Pages 3 and 4");
        assert_eq!(page_list(&[1, 2, 3, 4, 5, 6]), "Pages 1, 2, 3 and 3 more");
    }

    #[test]
    fn changed_cells_carry_the_old_value() {
        let change = ItemChange {
            kind: ChangeKind::Changed,
            seq: 4,
            item: None,
            previous: None,
            fields: vec![grandma_store::FieldChange {
                field: "price".into(),
                old: json!("9.99"),
                new: json!("10.49"),
            }],
        };
        let columns = ["name".to_owned(), "price".to_owned()];
        let row = marked_row(
            5,
            vec!["Tea".into(), "10.49".into()],
            &columns,
            Some(&change),
        );
        assert_eq!(row.mark, "changed");
        assert_eq!(row.cells[0].was, None);
        assert_eq!(row.cells[1].was.as_deref(), Some("was 9.99"));
    }
}
