//! JSON (one array) and JSON Lines (one object per line) export.
//!
//! Both write each item as soon as it arrives: the array's brackets and commas are written by
//! hand around objects serialised one at a time, so the array never exists in memory.

use std::io::{BufWriter, Write};

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::{ExportError, ItemWriter, check_columns};
use crate::Item;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    /// `[` + objects separated by `,` and a newline + `]`.
    Array,
    /// One object and `\n` per item.
    Lines,
}

pub(super) struct JsonWriter<W: Write> {
    // Buffered: serde_json writes many small pieces per object.
    out: BufWriter<W>,
    columns: Vec<String>,
    layout: Layout,
    written: u64,
}

impl<W: Write> JsonWriter<W> {
    /// A JSON array writer; the opening bracket is written now.
    pub(super) fn array(columns: Vec<String>, out: W) -> Result<Self, ExportError> {
        let mut out = BufWriter::new(out);
        out.write_all(b"[")?;
        Ok(Self::with(columns, out, Layout::Array))
    }

    /// A JSON Lines writer.
    pub(super) fn lines(columns: Vec<String>, out: W) -> Self {
        Self::with(columns, BufWriter::new(out), Layout::Lines)
    }

    fn with(columns: Vec<String>, out: BufWriter<W>, layout: Layout) -> Self {
        JsonWriter {
            out,
            columns,
            layout,
            written: 0,
        }
    }
}

/// An item seen as a JSON object keyed by column, in column order. Serialises the same object
/// as [`Item::to_json_object`] without cloning every key and value into a map first.
struct JsonItem<'a> {
    columns: &'a [String],
    item: &'a Item,
}

impl Serialize for JsonItem<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.columns.len()))?;
        for (name, value) in self.columns.iter().zip(&self.item.values) {
            // FieldValue serialises untagged: null, a string, or an array of strings.
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<W: Write + Send> ItemWriter for JsonWriter<W> {
    fn write_item(&mut self, item: &Item) -> Result<(), ExportError> {
        check_columns(self.columns.len(), item)?;
        if self.layout == Layout::Array {
            self.out
                .write_all(if self.written == 0 { b"\n" } else { b",\n" })?;
        }
        let object = JsonItem {
            columns: &self.columns,
            item,
        };
        serde_json::to_writer(&mut self.out, &object)?;
        if self.layout == Layout::Lines {
            self.out.write_all(b"\n")?;
        }
        self.written += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), ExportError> {
        if self.layout == Layout::Array {
            // `[]` for no items; otherwise the last object ends its own line.
            self.out
                .write_all(if self.written == 0 { b"]\n" } else { b"\n]\n" })?;
        }
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

    fn export(array: bool, items: &[Item]) -> String {
        let sink = Shared::default();
        let cols = vec!["title".to_string(), "tags".to_string(), "price".to_string()];
        let mut w: Box<dyn ItemWriter> = if array {
            Box::new(JsonWriter::array(cols, sink.clone()).unwrap())
        } else {
            Box::new(JsonWriter::lines(cols, sink.clone()))
        };
        for item in items {
            w.write_item(item).unwrap();
        }
        w.finish().unwrap();
        String::from_utf8(sink.0.lock().unwrap().clone()).unwrap()
    }

    fn sample() -> Vec<Item> {
        vec![
            Item::new(vec![
                "A \"quoted\"\nname".into(),
                FieldValue::List(vec!["x".into(), "y".into()]),
                FieldValue::Null,
            ]),
            Item::new(vec!["B".into(), FieldValue::List(vec![]), "9.50".into()]),
        ]
    }

    #[test]
    fn array_bytes_are_exact() {
        assert_eq!(export(true, &[]), "[]\n");
        assert_eq!(
            export(true, &sample()),
            "[\n{\"title\":\"A \\\"quoted\\\"\\nname\",\"tags\":[\"x\",\"y\"],\"price\":null},\n\
             {\"title\":\"B\",\"tags\":[],\"price\":\"9.50\"}\n]\n"
        );
    }

    #[test]
    fn lines_bytes_are_exact() {
        assert_eq!(export(false, &[]), "");
        let got = export(false, &sample());
        let lines: Vec<&str> = got.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1], r#"{"title":"B","tags":[],"price":"9.50"}"#);
        assert!(got.ends_with('\n'));
    }

    #[test]
    fn objects_match_item_to_json_object() {
        let cols = vec!["title".to_string(), "tags".to_string(), "price".to_string()];
        for item in sample() {
            let ours = serde_json::to_string(&JsonItem {
                columns: &cols,
                item: &item,
            })
            .unwrap();
            let reference = serde_json::Value::Object(item.to_json_object(&cols)).to_string();
            assert_eq!(ours, reference);
        }
    }
}
