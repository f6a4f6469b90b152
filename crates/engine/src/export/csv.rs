//! CSV export: RFC 4180 quoting by the `csv` crate, `\n` line ends, formula cells neutralised.

use std::io::Write;

use super::{ExportError, ItemWriter, check_columns, neutralise_formula};
use crate::Item;

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

pub(super) struct CsvWriter<W: Write> {
    out: ::csv::Writer<W>,
    columns: usize,
    written: u64,
}

impl<W: Write> CsvWriter<W> {
    /// Writes the optional BOM and the header row straight away, so an export of zero items is
    /// still a valid file with its column names.
    pub(super) fn new(columns: Vec<String>, mut out: W, bom: bool) -> Result<Self, ExportError> {
        if bom {
            out.write_all(UTF8_BOM)?;
        }
        // The csv crate defaults to CRLF; `\n` is what every reader accepts and what the other
        // text formats use.
        let mut out = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::Any(b'\n'))
            .from_writer(out);
        // Header cells are neutralised too: a field may be named "=cmd".
        out.write_record(columns.iter().map(|c| neutralise_formula(c).into_owned()))?;
        Ok(CsvWriter {
            out,
            columns: columns.len(),
            written: 0,
        })
    }
}

impl<W: Write + Send> ItemWriter for CsvWriter<W> {
    fn write_item(&mut self, item: &Item) -> Result<(), ExportError> {
        check_columns(self.columns, item)?;
        // Field by field, so that a row costs no allocation beyond joined lists and prefixed
        // cells.
        for value in &item.values {
            let cell = value.to_cell();
            self.out.write_field(neutralise_formula(&cell).as_bytes())?;
        }
        // An empty record after write_field ends the current record.
        self.out.write_record(None::<&[u8]>)?;
        self.written += 1;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), ExportError> {
        let mut out = self.out.into_inner().map_err(|e| e.into_error())?;
        out.flush()?;
        Ok(())
    }

    fn items_written(&self) -> u64 {
        self.written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FieldValue;

    /// A sink the test can read after the writer has taken ownership of it.
    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn export(columns: &[&str], items: &[Item], bom: bool) -> String {
        let sink = Shared::default();
        let cols = columns.iter().map(|c| c.to_string()).collect();
        let mut w: Box<dyn ItemWriter> = Box::new(CsvWriter::new(cols, sink.clone(), bom).unwrap());
        for item in items {
            w.write_item(item).unwrap();
        }
        assert_eq!(w.items_written(), items.len() as u64);
        w.finish().unwrap();
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn exact_bytes_with_quoting_lists_nulls_and_formulas() {
        let items = [
            Item::new(vec![
                "plain".into(),
                FieldValue::List(vec!["a".into(), "b, c".into()]),
                FieldValue::Null,
            ]),
            Item::new(vec![
                "say \"hi\"".into(),
                "line1\nline2".into(),
                "=1+1".into(),
            ]),
        ];
        let got = export(&["name", "tags", "@x"], &items, false);
        assert_eq!(
            got,
            "name,tags,'@x\n\
             plain,\"a; b, c\",\n\
             \"say \"\"hi\"\"\",\"line1\nline2\",'=1+1\n"
        );
    }

    #[test]
    fn bom_is_optional() {
        assert!(export(&["a"], &[], true).starts_with("\u{feff}a\n"));
        assert_eq!(export(&["a"], &[], false), "a\n");
    }

    #[test]
    fn ragged_item_is_refused() {
        let mut w = CsvWriter::new(vec!["a".into(), "b".into()], Vec::new(), false).unwrap();
        let err = w.write_item(&Item::new(vec!["x".into()])).unwrap_err();
        assert!(matches!(
            err,
            ExportError::ColumnMismatch {
                expected: 2,
                found: 1
            }
        ));
        assert_eq!(w.items_written(), 0);
    }
}
