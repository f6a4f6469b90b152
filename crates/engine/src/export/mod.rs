//! Streaming exporters: CSV, JSON, JSON Lines and XLSX (with any number of columns: Excel
//! past column Z included).
//!
//! Every exporter takes items one at a time through [`ItemWriter::write_item`] and writes them
//! out as they come; none of them keeps the items. The server exports runs of a million items
//! under a fixed memory budget, so the per-item cost is bounded by one item (and, for XLSX, one
//! row the library buffers before flushing it to its temporary file).
//!
//! Shared rules:
//! - Columns are the job's field names in the job's order; `Item::values[i]` is column `i`.
//!   An item with a different number of values is a caller bug and is refused
//!   ([`ExportError::ColumnMismatch`]) rather than silently shifted into the wrong columns.
//! - Lists are joined with `"; "` in CSV and XLSX cells ([`FieldValue::to_cell`]) and stay arrays
//!   in JSON; null is an empty cell or JSON `null`.
//! - Spreadsheet formula injection is neutralised: CSV cells go through [`neutralise_formula`];
//!   XLSX cells are written as string cells, which Excel never evaluates.
//!
//! [`FieldValue::to_cell`]: crate::FieldValue::to_cell

mod csv;
mod format;
mod json;
mod xlsx;

use std::borrow::Cow;
use std::io::{Seek, Write};

pub use format::Format;

use crate::Item;

/// Options that change what is written, not where.
#[derive(Debug, Clone, Default)]
pub struct ExportOptions {
    /// Start CSV files with a UTF-8 byte-order mark, so that Excel on Windows opens them as
    /// UTF-8 instead of the local code page. Off by default: other tools treat the BOM as part
    /// of the first header name.
    pub csv_bom: bool,
    /// In XLSX, store values that look like plain decimal numbers (`42`, `-3.5`) as number cells
    /// so that they can be summed. Off by default, because "looks like a number" also matches
    /// codes and identifiers the user wants kept verbatim. See the XLSX module for the exact
    /// rule. Ignored by the other formats (CSV and JSON carry the text as scraped).
    pub numbers_as_numbers: bool,
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing the export failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("writing the XLSX file failed: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
    #[error("writing CSV failed: {0}")]
    Csv(#[from] ::csv::Error),
    #[error("writing JSON failed: {0}")]
    Json(#[from] serde_json::Error),
    #[error(
        "unknown export format {0:?}; expected one of: csv, json, jsonl (or ndjson), xlsx (or excel)"
    )]
    UnknownFormat(String),
    #[error("{0} cannot be streamed: it needs a seekable file")]
    NotStreamable(Format),
    #[error("an item has {found} values but the export has {expected} columns")]
    ColumnMismatch { expected: usize, found: usize },
    #[error("{count} columns exceed the spreadsheet limit of {max}")]
    TooManyColumns { count: usize, max: usize },
}

/// Writes items one by one in some format.
///
/// Call [`finish`](ItemWriter::finish) once at the end: it writes the format's trailer (the
/// closing `]` of JSON, the whole zip of XLSX) and flushes. Dropping a writer without finishing
/// leaves the output incomplete, which is what a cancelled export should produce (the CLI then
/// does not rename its temp file into place).
pub trait ItemWriter: Send {
    /// Writes one item; its values must line up with the columns the writer was made with.
    fn write_item(&mut self, item: &Item) -> Result<(), ExportError>;
    /// Completes the output and flushes it.
    fn finish(self: Box<Self>) -> Result<(), ExportError>;
    /// Items written so far.
    fn items_written(&self) -> u64;
}

/// A writer for CSV, JSON or JSON Lines into any sink (an HTTP body, stdout).
///
/// XLSX is refused with [`ExportError::NotStreamable`]: use [`file_writer`].
pub fn stream_writer<W: Write + Send + 'static>(
    format: Format,
    columns: Vec<String>,
    out: W,
    options: &ExportOptions,
) -> Result<Box<dyn ItemWriter>, ExportError> {
    Ok(match format {
        Format::Csv => Box::new(csv::CsvWriter::new(columns, out, options.csv_bom)?),
        Format::Json => Box::new(json::JsonWriter::array(columns, out)?),
        Format::Jsonl => Box::new(json::JsonWriter::lines(columns, out)),
        Format::Xlsx => return Err(ExportError::NotStreamable(format)),
    })
}

/// A writer for any format into a seekable sink (a file).
///
/// The XLSX writer keeps its worksheet data in a temporary file (in `std::env::temp_dir()`, so
/// `TMPDIR` chooses the disk) and assembles the zip into `out` in [`ItemWriter::finish`].
pub fn file_writer<W: Write + Seek + Send + 'static>(
    format: Format,
    columns: Vec<String>,
    out: W,
    options: &ExportOptions,
) -> Result<Box<dyn ItemWriter>, ExportError> {
    match format {
        Format::Xlsx => Ok(Box::new(xlsx::XlsxWriter::new(
            columns,
            out,
            options.numbers_as_numbers,
            xlsx::MAX_DATA_ROWS_PER_SHEET,
        )?)),
        _ => stream_writer(format, columns, out, options),
    }
}

/// Neutralises spreadsheet formula injection in one CSV cell (the OWASP "CSV injection" rule).
///
/// A cell starting with `=`, `+`, `-`, `@`, TAB or CR is prefixed with `'`, which spreadsheet
/// applications read as "this is text", unless it is a plain number (`+53`, `-2.6089`,
/// `+441174960112`, `-1.5e3`): a sign, digits with at most one decimal point and an optional
/// exponent, and nothing else, which a spreadsheet reads as that number and cannot evaluate.
pub fn neutralise_formula(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'+' | b'-') if is_plain_number(&cell[1..]) => Cow::Borrowed(cell),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

/// Digits with at most one decimal point (at least one digit), then an optional exponent
/// (`e`, an optional sign, digits).
fn is_plain_number(s: &str) -> bool {
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut digits = 0;
    let mut points = 0;
    for b in mantissa.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => points += 1,
            _ => return false,
        }
    }
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    digits > 0 && points <= 1 && exponent_ok
}

/// Refuses an item that does not line up with the columns.
fn check_columns(columns: usize, item: &Item) -> Result<(), ExportError> {
    if item.values.len() == columns {
        Ok(())
    } else {
        Err(ExportError::ColumnMismatch {
            expected: columns,
            found: item.values.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_prefixes_are_neutralised() {
        for cell in [
            "=1+1",
            "=1",
            "+1+1",
            "-1+1",
            "-A1",
            "+A1",
            "-",
            "+.",
            "-1.2.3",
            "+1e",
            "-1e5+1",
            "+1 555 0100",
            "-2,5",
            "@SUM(A1)",
            "\tx",
            "\t1",
            "\rx",
            "=HYPERLINK(\"x\")",
            "-cmd|' /C calc'!A0",
        ] {
            assert_eq!(neutralise_formula(cell), format!("'{cell}"), "{cell:?}");
        }
    }

    #[test]
    fn other_cells_are_borrowed_unchanged() {
        for cell in [
            "",
            "a=b",
            " =1",
            "'quoted",
            "1",
            "\nx",
            "é=",
            "x-y",
            "+53",
            "-2.6089",
            "+441174960112",
            "-.5",
            "+5.",
            "-1.5e3",
            "+2E-7",
        ] {
            assert!(
                matches!(neutralise_formula(cell), Cow::Borrowed(c) if c == cell),
                "{cell:?}"
            );
        }
    }

    #[test]
    fn xlsx_is_not_streamable() {
        let err = stream_writer(
            Format::Xlsx,
            vec!["a".into()],
            Vec::new(),
            &ExportOptions::default(),
        )
        .err()
        .unwrap();
        assert!(matches!(err, ExportError::NotStreamable(Format::Xlsx)));
    }

    #[test]
    fn mismatched_items_are_refused() {
        let item = Item::new(vec!["a".into()]);
        assert!(check_columns(1, &item).is_ok());
        assert!(matches!(
            check_columns(2, &item),
            Err(ExportError::ColumnMismatch {
                expected: 2,
                found: 1
            })
        ));
    }
}
