//! CSV, JSON and JSON Lines exports through the public API, read back with real parsers.

use std::io::Write;
use std::sync::{Arc, Mutex};

use grandma_engine::export::{
    ExportError, ExportOptions, Format, ItemWriter, file_writer, stream_writer,
};
use grandma_engine::{FieldValue, Item};

/// A sink the test can inspect while and after the writer owns it.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Sink {
    fn bytes(&self) -> Vec<u8> {
        self.0.lock().unwrap().clone()
    }
    fn len(&self) -> usize {
        self.0.lock().unwrap().len()
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn columns() -> Vec<String> {
    ["title", "=cmd", "tags", "price", "note"]
        .map(String::from)
        .to_vec()
}

fn items() -> Vec<Item> {
    vec![
        Item::new(vec![
            "Plain".into(),
            "=HYPERLINK(\"http://evil\",\"x\")".into(),
            FieldValue::List(vec!["red".into(), "green, blue".into()]),
            "12.50".into(),
            FieldValue::Null,
        ]),
        Item::new(vec![
            "Quote \"here\", comma".into(),
            "+1 555 0100".into(),
            FieldValue::List(vec![]),
            "-3".into(),
            "line one\nline two\r\nline three".into(),
        ]),
        Item::new(vec![
            "Ünïcødé — 日本語 😀".into(),
            "@SUM(A1:A2)".into(),
            FieldValue::List(vec!["only".into()]),
            "\tindented".into(),
            "\rcarriage".into(),
        ]),
    ]
}

fn export(format: Format, options: &ExportOptions, items: &[Item]) -> Vec<u8> {
    let sink = Sink::default();
    let mut writer = stream_writer(format, columns(), sink.clone(), options).unwrap();
    for item in items {
        writer.write_item(item).unwrap();
    }
    assert_eq!(writer.items_written(), items.len() as u64);
    writer.finish().unwrap();
    sink.bytes()
}

fn read_csv(bytes: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(bytes);
    reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect()
}

#[test]
fn csv_reads_back_exactly_with_neutralised_formulas() {
    let bytes = export(Format::Csv, &ExportOptions::default(), &items());
    assert!(!bytes.starts_with(b"\xEF\xBB\xBF"));
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(!text.contains("\r\n\""), "records end with \\n only");
    let rows = read_csv(&bytes);
    let expected: Vec<Vec<&str>> = vec![
        vec!["title", "'=cmd", "tags", "price", "note"],
        vec![
            "Plain",
            "'=HYPERLINK(\"http://evil\",\"x\")",
            "red; green, blue",
            "12.50",
            "",
        ],
        vec![
            "Quote \"here\", comma",
            "'+1 555 0100",
            "",
            "-3",
            "line one\nline two\r\nline three",
        ],
        vec![
            "Ünïcødé — 日本語 😀",
            "'@SUM(A1:A2)",
            "only",
            "'\tindented",
            "'\rcarriage",
        ],
    ];
    assert_eq!(rows, expected);
}

#[test]
fn csv_bom_is_written_only_when_asked() {
    let options = ExportOptions {
        csv_bom: true,
        numbers_as_numbers: false,
    };
    let with = export(Format::Csv, &options, &items());
    let without = export(Format::Csv, &ExportOptions::default(), &items());
    assert_eq!(&with[..3], b"\xEF\xBB\xBF");
    assert_eq!(&with[3..], &without[..]);
    assert_eq!(read_csv(&with[3..]), read_csv(&without));
}

#[test]
fn csv_of_zero_items_is_the_header() {
    let bytes = export(Format::Csv, &ExportOptions::default(), &[]);
    assert_eq!(bytes, b"title,'=cmd,tags,price,note\n");
}

#[test]
fn json_is_one_array_of_ordered_objects() {
    let bytes = export(Format::Json, &ExportOptions::default(), &items());
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let array = value.as_array().unwrap();
    assert_eq!(array.len(), 3);
    for (object, item) in array.iter().zip(items()) {
        let object = object.as_object().unwrap();
        // Keys in column order (serde_json preserves order here).
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, ["title", "=cmd", "tags", "price", "note"]);
        // Values untouched: no formula prefix in JSON, lists as arrays, null as null.
        assert_eq!(Item::from_json_object(object, &columns()), item);
    }
    assert_eq!(array[0]["tags"], serde_json::json!(["red", "green, blue"]));
    assert_eq!(array[0]["note"], serde_json::Value::Null);
    assert_eq!(array[1]["tags"], serde_json::json!([]));
    assert_eq!(array[1]["=cmd"], "+1 555 0100");
}

#[test]
fn json_of_zero_items_is_an_empty_array() {
    let bytes = export(Format::Json, &ExportOptions::default(), &[]);
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(value, serde_json::json!([]));
}

#[test]
fn jsonl_is_one_object_per_line() {
    let bytes = export(Format::Jsonl, &ExportOptions::default(), &items());
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    for (line, item) in lines.iter().zip(items()) {
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).unwrap();
        let keys: Vec<&str> = object.keys().map(String::as_str).collect();
        assert_eq!(keys, ["title", "=cmd", "tags", "price", "note"]);
        assert_eq!(Item::from_json_object(&object, &columns()), item);
    }
    assert!(export(Format::Jsonl, &ExportOptions::default(), &[]).is_empty());
}

#[test]
fn json_and_jsonl_carry_the_same_objects() {
    let array: Vec<serde_json::Value> =
        serde_json::from_slice(&export(Format::Json, &ExportOptions::default(), &items())).unwrap();
    let jsonl = export(Format::Jsonl, &ExportOptions::default(), &items());
    let lines: Vec<serde_json::Value> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(array, lines);
}

/// The writers hand bytes on while items arrive instead of collecting them: after many items
/// and before `finish`, most of the output has already reached the sink.
#[test]
fn text_writers_stream_before_finish() {
    for format in [Format::Csv, Format::Json, Format::Jsonl] {
        let sink = Sink::default();
        let mut writer =
            stream_writer(format, columns(), sink.clone(), &ExportOptions::default()).unwrap();
        let item = &items()[0];
        for _ in 0..5_000 {
            writer.write_item(item).unwrap();
        }
        let before = sink.len();
        writer.finish().unwrap();
        let after = sink.len();
        assert!(before > 0, "{format}: nothing written before finish");
        assert!(
            after - before < 64 * 1024,
            "{format}: {after} - {before} held back"
        );
    }
}

#[test]
fn file_writer_writes_the_same_bytes_as_stream_writer() {
    let dir = tempfile::tempdir().unwrap();
    for format in [Format::Csv, Format::Json, Format::Jsonl] {
        let path = dir.path().join(format!("out.{}", format.extension()));
        assert_eq!(Format::from_extension(&path), Some(format));
        let file = std::fs::File::create(&path).unwrap();
        let mut writer = file_writer(format, columns(), file, &ExportOptions::default()).unwrap();
        for item in items() {
            writer.write_item(&item).unwrap();
        }
        writer.finish().unwrap();
        let streamed = export(format, &ExportOptions::default(), &items());
        assert_eq!(std::fs::read(&path).unwrap(), streamed, "{format}");
    }
}

#[test]
fn items_that_do_not_match_the_columns_are_refused() {
    for format in [Format::Csv, Format::Json, Format::Jsonl] {
        let mut writer: Box<dyn ItemWriter> = stream_writer(
            format,
            columns(),
            Sink::default(),
            &ExportOptions::default(),
        )
        .unwrap();
        let err = writer.write_item(&Item::new(vec!["x".into()])).unwrap_err();
        assert!(
            matches!(
                err,
                ExportError::ColumnMismatch {
                    expected: 5,
                    found: 1
                }
            ),
            "{format}: {err}"
        );
        assert_eq!(writer.items_written(), 0);
    }
}

#[test]
fn formats_parse_and_describe_themselves() {
    assert_eq!("excel".parse::<Format>().unwrap(), Format::Xlsx);
    assert_eq!(Format::Jsonl.content_type(), "application/x-ndjson");
    assert!(Format::Csv.content_type().starts_with("text/csv"));
    let err = "yaml".parse::<Format>().unwrap_err();
    assert!(err.to_string().contains("csv"));
    assert!(matches!(
        stream_writer(
            Format::Xlsx,
            columns(),
            Sink::default(),
            &ExportOptions::default()
        ),
        Err(ExportError::NotStreamable(Format::Xlsx))
    ));
}
