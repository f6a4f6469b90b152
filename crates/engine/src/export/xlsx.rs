//! XLSX export in rust_xlsxwriter's constant-memory mode.
//!
//! Rows are written strictly in order; the library keeps one row in memory and streams the
//! worksheet XML to a temporary file, then zips everything into the output in `finish`. Memory
//! therefore stays flat however many items a run has.
//!
//! What goes into a cell:
//! - Every value is written as a *string* cell. `write_string` never creates a formula, so a
//!   scraped `=HYPERLINK(...)` or `@SUM(...)` stays inert text: this is the XLSX half of the
//!   formula-injection rule, and unlike CSV it needs no visible `'` prefix.
//! - With [`ExportOptions::numbers_as_numbers`](super::ExportOptions), values that are plain
//!   decimal numbers (see [`plain_number`]) become number cells instead.
//! - Strings longer than Excel's cell limit of 32,767 characters (counted in UTF-16 units, as
//!   Excel does) are **truncated** to the limit: Excel cannot hold more, and refusing the whole
//!   export over one long description would be worse. The full value is in CSV/JSON exports.
//!   The number of truncated cells is logged when the export finishes.
//! - Null and empty values leave the cell empty.
//!
//! Layout: the header row is bold and frozen, column widths come from the header names (data
//! widths cannot be measured without holding the rows), and past 1,048,575 data rows (Excel's
//! 1,048,576 rows minus the header) the export continues on a new worksheet with the header
//! repeated. Any number of columns up to Excel's 16,384 is accepted.

use std::io::{Seek, Write};

use rust_xlsxwriter::{ColNum, Format as CellFormat, RowNum, Workbook};

use super::{ExportError, ItemWriter, check_columns};
use crate::Item;

/// Data rows per worksheet: Excel's 1,048,576 rows less the header row.
pub(super) const MAX_DATA_ROWS_PER_SHEET: u32 = 1_048_575;
/// Excel's column limit (XFD).
pub(super) const MAX_COLUMNS: usize = 16_384;
/// Excel's limit on the characters of one cell, in UTF-16 code units.
const MAX_CELL_UTF16: usize = 32_767;
/// Above this estimated amount of uncompressed worksheet XML, the zip is written with ZIP64
/// extensions. Plain zip entries stop at 4 GiB and the library would fail at the very end of a
/// long export; ZIP64 is left off below the threshold because some older readers lack it.
const ZIP64_THRESHOLD: u64 = 3 << 30;
/// Sheet names: "Items", then "Items 2", "Items 3"… for rollovers.
const SHEET_NAME: &str = "Items";

pub(super) struct XlsxWriter<W: Write + Seek> {
    out: W,
    workbook: Workbook,
    columns: Vec<String>,
    header_format: CellFormat,
    numbers_as_numbers: bool,
    /// Data rows per sheet: [`MAX_DATA_ROWS_PER_SHEET`], smaller in tests of the rollover.
    rows_per_sheet: u32,
    /// Sheets created so far; the current one is `sheets - 1`.
    sheets: usize,
    rows_in_sheet: u32,
    /// Estimated bytes of worksheet XML so far, to decide on ZIP64.
    xml_bytes: u64,
    truncated_cells: u64,
    written: u64,
}

impl<W: Write + Seek> XlsxWriter<W> {
    pub(super) fn new(
        columns: Vec<String>,
        out: W,
        numbers_as_numbers: bool,
        rows_per_sheet: u32,
    ) -> Result<Self, ExportError> {
        if columns.len() > MAX_COLUMNS {
            return Err(ExportError::TooManyColumns {
                count: columns.len(),
                max: MAX_COLUMNS,
            });
        }
        let mut writer = XlsxWriter {
            out,
            workbook: Workbook::new(),
            columns,
            header_format: CellFormat::new().set_bold(),
            numbers_as_numbers,
            rows_per_sheet: rows_per_sheet.clamp(1, MAX_DATA_ROWS_PER_SHEET),
            sheets: 0,
            rows_in_sheet: 0,
            xml_bytes: 0,
            truncated_cells: 0,
            written: 0,
        };
        // The first sheet and its header exist even for zero items.
        writer.start_sheet()?;
        Ok(writer)
    }

    /// Adds a constant-memory worksheet with the bold, frozen header row and header-based
    /// column widths.
    fn start_sheet(&mut self) -> Result<(), ExportError> {
        let sheet = self.workbook.add_worksheet_with_constant_memory()?;
        self.sheets += 1;
        if self.sheets == 1 {
            sheet.set_name(SHEET_NAME)?;
        } else {
            sheet.set_name(format!("{SHEET_NAME} {}", self.sheets))?;
        }
        sheet.set_freeze_panes(1, 0)?;
        for (col, name) in self.columns.iter().enumerate() {
            // Fits: at most MAX_COLUMNS (16,384) columns, checked in `new`.
            let col = col as ColNum;
            sheet.set_column_width(col, header_width(name))?;
            let (text, truncated) = fit_cell(name);
            if truncated {
                self.truncated_cells += 1;
            }
            if !text.is_empty() {
                sheet.write_string_with_format(0, col, text, &self.header_format)?;
                self.xml_bytes += xml_estimate(text);
            }
        }
        self.rows_in_sheet = 0;
        Ok(())
    }
}

impl<W: Write + Seek + Send> ItemWriter for XlsxWriter<W> {
    fn write_item(&mut self, item: &Item) -> Result<(), ExportError> {
        check_columns(self.columns.len(), item)?;
        if self.rows_in_sheet == self.rows_per_sheet {
            self.start_sheet()?;
        }
        // Row 0 is the header.
        let row: RowNum = self.rows_in_sheet + 1;
        let sheet = self.workbook.worksheet_from_index(self.sheets - 1)?;
        for (col, value) in item.values.iter().enumerate() {
            let col = col as ColNum; // < MAX_COLUMNS, checked in `new`
            let cell = value.to_cell();
            if cell.is_empty() {
                continue;
            }
            if self.numbers_as_numbers
                && let Some(number) = plain_number(&cell)
            {
                sheet.write_number(row, col, number)?;
                self.xml_bytes += xml_estimate(&cell);
                continue;
            }
            let (text, truncated) = fit_cell(&cell);
            if truncated {
                self.truncated_cells += 1;
            }
            sheet.write_string(row, col, text)?;
            self.xml_bytes += xml_estimate(text);
        }
        self.rows_in_sheet += 1;
        self.written += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        let mut this = *self;
        if this.xml_bytes > ZIP64_THRESHOLD {
            this.workbook.use_zip_large_file(true);
        }
        this.workbook.save_to_writer(&mut this.out)?;
        this.out.flush()?;
        if this.truncated_cells > 0 {
            tracing::warn!(
                truncated_cells = this.truncated_cells,
                "XLSX export truncated cells longer than Excel's 32,767-character limit"
            );
        }
        Ok(())
    }

    fn items_written(&self) -> u64 {
        self.written
    }
}

/// The value as a number, when `numbers_as_numbers` should store it as one.
///
/// Accepted: an optional `-`, an integer part with no leading zero (`0` alone is fine), and an
/// optional `.` followed by digits: `42`, `-3.5`, `0.25`, `1234.50`. At most 15 significant
/// digits, which is what Excel keeps; longer digit strings are identifiers (order numbers,
/// card numbers) that a number cell would silently round.
///
/// Kept as text, because they are usually codes rather than quantities or would change when
/// read back: leading zeros (`007`, `0612345678`), a leading `+` (`+33 …`), exponents (`1e5`,
/// also product codes like `2E10`), thousands separators (`1,234`), surrounding spaces, a bare
/// `.5` or `5.`, `-0`, and anything with other characters (`555-1234`, `(555) 123`).
pub(super) fn plain_number(s: &str) -> Option<f64> {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match unsigned.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (unsigned, None),
    };
    let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !all_digits(int) || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    if frac.is_some_and(|f| !all_digits(f)) {
        return None;
    }
    let frac = frac.unwrap_or("");
    let significant = if int == "0" {
        frac.trim_start_matches('0').len()
    } else {
        int.len() + frac.len()
    };
    if significant > 15 {
        return None;
    }
    let number: f64 = s.parse().ok()?;
    // "-0" would come back as 0; keep it as written.
    if number == 0.0 && number.is_sign_negative() {
        return None;
    }
    number.is_finite().then_some(number)
}

/// The longest prefix of `s` that fits in one Excel cell, and whether it had to be cut.
fn fit_cell(s: &str) -> (&str, bool) {
    // A UTF-16 unit never takes fewer than one UTF-8 byte, so short strings fit.
    if s.len() <= MAX_CELL_UTF16 {
        return (s, false);
    }
    let mut units = 0;
    for (at, ch) in s.char_indices() {
        units += ch.len_utf16();
        if units > MAX_CELL_UTF16 {
            return (&s[..at], true);
        }
    }
    (s, false)
}

/// Column width in Excel's character units: the header name with room for the bold font,
/// at least wide enough for a short value and at most a comfortable screen width.
fn header_width(name: &str) -> f64 {
    (name.chars().count() as f64 * 1.2 + 2.0).clamp(10.0, 60.0)
}

/// Rough size of a cell in the worksheet XML: the fixed markup plus the escaped text (`&amp;`,
/// `_xHHHH_` for control characters and for underscores that could be read as one).
fn xml_estimate(text: &str) -> u64 {
    let extra: usize = text
        .bytes()
        .map(|b| match b {
            b'&' => 4,
            b'<' | b'>' => 3,
            b'_' => 6,
            b'\t' | b'\n' => 0,
            0..0x20 => 6,
            _ => 0,
        })
        .sum();
    (64 + text.len() + extra) as u64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldValue;
    use calamine::{Data, Reader, Xlsx, open_workbook};

    #[test]
    fn plain_numbers_are_recognised() {
        let yes = [
            ("0", 0.0),
            ("42", 42.0),
            ("-3.5", -3.5),
            ("0.25", 0.25),
            ("1234.50", 1234.5),
            ("0.000123", 0.000123),
            ("123456789012345", 123456789012345.0),
            ("-0.5", -0.5),
        ];
        for (s, n) in yes {
            assert_eq!(plain_number(s), Some(n), "{s}");
        }
        let no = [
            "",
            "-",
            "007",
            "00.5",
            "0612345678",
            "+33612345678",
            "+1",
            "1e5",
            "2E10",
            "1,234",
            " 1",
            "1 ",
            ".5",
            "5.",
            "1.2.3",
            "-0",
            "-0.0",
            "555-1234",
            "(555) 123",
            "1234567890123456",
            "12.34567890123456",
            "NaN",
            "inf",
            "0x10",
            "١٢",
            "--1",
        ];
        for s in no {
            assert_eq!(plain_number(s), None, "{s:?}");
        }
    }

    #[test]
    fn long_cells_are_cut_on_a_char_boundary_in_utf16_units() {
        let short = "é".repeat(MAX_CELL_UTF16);
        assert_eq!(fit_cell(&short), (short.as_str(), false));

        let long = "a".repeat(MAX_CELL_UTF16 + 10);
        let (cut, truncated) = fit_cell(&long);
        assert!(truncated);
        assert_eq!(cut.len(), MAX_CELL_UTF16);

        // An astral character takes two UTF-16 units: it must not be split, nor overflow.
        let astral = format!("{}😀", "a".repeat(MAX_CELL_UTF16 - 1));
        let (cut, truncated) = fit_cell(&astral);
        assert!(truncated);
        assert_eq!(cut, "a".repeat(MAX_CELL_UTF16 - 1));
    }

    #[test]
    fn header_widths_are_bounded() {
        assert_eq!(header_width("id"), 10.0);
        assert!(header_width("a rather long column name") > 25.0);
        assert_eq!(header_width(&"x".repeat(500)), 60.0);
    }

    #[test]
    fn zip64_estimate_counts_escapes() {
        assert_eq!(xml_estimate("ab"), 66);
        assert_eq!(xml_estimate("a&b"), 64 + 3 + 4);
        assert_eq!(xml_estimate("\u{1}"), 64 + 1 + 6);
    }

    #[test]
    fn too_many_columns_are_refused() {
        let cols = (0..=MAX_COLUMNS).map(|i| format!("c{i}")).collect();
        let out = std::io::Cursor::new(Vec::new());
        let err = XlsxWriter::new(cols, out, false, MAX_DATA_ROWS_PER_SHEET)
            .err()
            .unwrap();
        assert!(matches!(
            err,
            ExportError::TooManyColumns {
                count: 16_385,
                max: 16_384
            }
        ));
    }

    /// The sheet rollover with a limit of 3 rows per sheet instead of 1,048,575.
    #[test]
    fn rows_past_the_sheet_limit_continue_on_a_new_sheet_with_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rollover.xlsx");
        let file = std::fs::File::create(&path).unwrap();
        let columns = vec!["n".to_string(), "tags".to_string()];
        let mut w: Box<dyn ItemWriter> =
            Box::new(XlsxWriter::new(columns, file, false, 3).unwrap());
        for i in 0..8 {
            let tags = FieldValue::List(vec![format!("t{i}"), "x".into()]);
            w.write_item(&Item::new(vec![FieldValue::Text(i.to_string()), tags]))
                .unwrap();
        }
        assert_eq!(w.items_written(), 8);
        w.finish().unwrap();

        let mut book: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(book.sheet_names(), ["Items", "Items 2", "Items 3"]);
        let mut seen = Vec::new();
        for (sheet, expected_rows) in [("Items", 3), ("Items 2", 3), ("Items 3", 2)] {
            let range = book.worksheet_range(sheet).unwrap();
            let rows: Vec<_> = range.rows().collect();
            assert_eq!(rows.len(), expected_rows + 1, "{sheet}");
            assert_eq!(
                rows[0],
                [Data::String("n".into()), Data::String("tags".into())]
            );
            for row in &rows[1..] {
                seen.push(row.to_vec());
            }
        }
        let expected: Vec<Vec<Data>> = (0..8)
            .map(|i| {
                vec![
                    Data::String(i.to_string()),
                    Data::String(format!("t{i}; x")),
                ]
            })
            .collect();
        assert_eq!(seen, expected);
    }

    #[test]
    fn exactly_full_sheet_does_not_open_an_empty_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("full.xlsx");
        let file = std::fs::File::create(&path).unwrap();
        let mut w: Box<dyn ItemWriter> =
            Box::new(XlsxWriter::new(vec!["a".into()], file, false, 2).unwrap());
        for _ in 0..2 {
            w.write_item(&Item::new(vec!["v".into()])).unwrap();
        }
        w.finish().unwrap();
        let book: Xlsx<_> = open_workbook(&path).unwrap();
        assert_eq!(book.sheet_names(), ["Items"]);
    }
}
