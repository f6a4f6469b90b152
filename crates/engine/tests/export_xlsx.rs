//! XLSX export through the public API, read back with calamine.

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx, open_workbook};
use grandma_engine::export::{ExportError, ExportOptions, Format, file_writer};
use grandma_engine::{FieldValue, Item};

const NUMBERS: ExportOptions = ExportOptions {
    csv_bom: false,
    numbers_as_numbers: true,
};

/// Exports `items` to `<dir>/name.xlsx` and returns the path.
fn export(
    dir: &Path,
    name: &str,
    columns: &[String],
    items: &[Item],
    options: &ExportOptions,
) -> PathBuf {
    let path = dir.join(name);
    assert_eq!(Format::from_extension(&path), Some(Format::Xlsx));
    let file = std::fs::File::create(&path).unwrap();
    let mut writer = file_writer(Format::Xlsx, columns.to_vec(), file, options).unwrap();
    for item in items {
        writer.write_item(item).unwrap();
    }
    assert_eq!(writer.items_written(), items.len() as u64);
    writer.finish().unwrap();
    path
}

/// All rows of the first (or only) sheet, padded to the used width.
fn read(path: &Path) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook(path).unwrap();
    assert_eq!(book.sheet_names(), ["Items"]);
    let range = book.worksheet_range("Items").unwrap();
    assert_eq!(range.start(), Some((0, 0)));
    range.rows().map(<[Data]>::to_vec).collect()
}

fn s(text: &str) -> Data {
    Data::String(text.to_owned())
}

fn names(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

/// Excel's column letters: 0 → A, 25 → Z, 26 → AA, 27 → AB, 701 → ZZ, 702 → AAA.
fn column_letters(mut index: usize) -> String {
    let mut letters = Vec::new();
    loop {
        letters.push(b'A' + (index % 26) as u8);
        if index < 26 {
            break;
        }
        index = index / 26 - 1;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap()
}

/// 30 and 100 columns (the old exporter broke at 27): every cell lands in its column.
#[test]
fn wide_exports_keep_every_column_in_place() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(column_letters(26), "AA");
    assert_eq!(column_letters(27), "AB");
    for width in [30, 100] {
        let columns: Vec<String> = (0..width)
            .map(|c| format!("col {}", column_letters(c)))
            .collect();
        let items: Vec<Item> = (0..5)
            .map(|r| {
                Item::new(
                    (0..width)
                        .map(|c| FieldValue::Text(format!("{}{}", column_letters(c), r + 2)))
                        .collect(),
                )
            })
            .collect();
        let path = export(
            dir.path(),
            &format!("wide{width}.xlsx"),
            &columns,
            &items,
            &Default::default(),
        );
        let rows = read(&path);
        assert_eq!(rows.len(), 6);
        assert_eq!(rows[0], columns.iter().map(|c| s(c)).collect::<Vec<_>>());
        for (r, row) in rows[1..].iter().enumerate() {
            assert_eq!(row.len(), width);
            for (c, cell) in row.iter().enumerate() {
                // Each cell holds its own A1 reference, so a shifted column shows up at once.
                assert_eq!(cell, &s(&format!("{}{}", column_letters(c), r + 2)));
            }
        }
        assert_eq!(rows[0][26], s("col AA"));
        assert_eq!(rows[1][27], s("AB2"));
    }
}

#[test]
fn values_are_inert_strings_lists_joined_nulls_empty() {
    let dir = tempfile::tempdir().unwrap();
    let columns = names(&["=cmd", "tags", "formula", "number", "note"]);
    let items = vec![
        Item::new(vec![
            "@SUM(A1:A9)".into(),
            FieldValue::List(vec!["a".into(), "b, c".into()]),
            "=HYPERLINK(\"http://evil.example\",\"click\")".into(),
            "42".into(),
            FieldValue::Null,
        ]),
        Item::new(vec![
            "+1 555 0100".into(),
            FieldValue::List(vec![]),
            "-2+3".into(),
            "-3.5".into(),
            "line one\nline two\ttab 日本語 😀 & <b>".into(),
        ]),
        Item::new(vec![
            "\u{1}control\u{1f}".into(),
            FieldValue::List(vec!["only".into()]),
            "_x0041_ literal".into(),
            "  padded  ".into(),
            "".into(),
        ]),
    ];
    let path = export(
        dir.path(),
        "values.xlsx",
        &columns,
        &items,
        &Default::default(),
    );
    let rows = read(&path);
    assert_eq!(
        rows,
        vec![
            vec![s("=cmd"), s("tags"), s("formula"), s("number"), s("note")],
            vec![
                s("@SUM(A1:A9)"),
                s("a; b, c"),
                s("=HYPERLINK(\"http://evil.example\",\"click\")"),
                s("42"),
                Data::Empty,
            ],
            vec![
                s("+1 555 0100"),
                Data::Empty,
                s("-2+3"),
                s("-3.5"),
                s("line one\nline two\ttab 日本語 😀 & <b>"),
            ],
            vec![
                s("\u{1}control\u{1f}"),
                s("only"),
                s("_x0041_ literal"),
                s("  padded  "),
                Data::Empty,
            ],
        ]
    );
    // No formula anywhere: the formula-looking text is stored as text, never evaluated.
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let formulas = book.worksheet_formula("Items").unwrap();
    assert!(
        formulas.used_cells().all(|(_, _, f)| f.is_empty()),
        "{formulas:?}"
    );
}

#[test]
fn numbers_become_number_cells_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let columns = names(&["v"]);
    let values = [
        "42",
        "-3.5",
        "0",
        "0.25",
        "1234.50",
        "007",
        "0612345678",
        "+33612345678",
        "1e5",
        "1,234",
        "1234567890123456",
        " 7",
        "555-1234",
    ];
    let items: Vec<Item> = values
        .iter()
        .map(|v| Item::new(vec![(*v).into()]))
        .collect();

    let as_text = read(&export(
        dir.path(),
        "text.xlsx",
        &columns,
        &items,
        &Default::default(),
    ));
    let expected: Vec<Data> = values.iter().map(|v| s(v)).collect();
    assert_eq!(
        as_text[1..]
            .iter()
            .map(|r| r[0].clone())
            .collect::<Vec<_>>(),
        expected
    );

    let as_numbers = read(&export(
        dir.path(),
        "numbers.xlsx",
        &columns,
        &items,
        &NUMBERS,
    ));
    let got: Vec<Data> = as_numbers[1..].iter().map(|r| r[0].clone()).collect();
    let mut expected = vec![
        Data::Float(42.0),
        Data::Float(-3.5),
        Data::Float(0.0),
        Data::Float(0.25),
        Data::Float(1234.5),
    ];
    expected.extend(values[5..].iter().map(|v| s(v)));
    assert_eq!(got, expected);
    // The header stays text even when it looks like a number.
    assert_eq!(as_numbers[0][0], s("v"));
}

#[test]
fn numeric_header_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = export(
        dir.path(),
        "h.xlsx",
        &names(&["2024"]),
        &[Item::new(vec!["1".into()])],
        &NUMBERS,
    );
    assert_eq!(read(&path), vec![vec![s("2024")], vec![Data::Float(1.0)]]);
}

#[test]
fn strings_over_the_cell_limit_are_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(40_000);
    let astral = format!("{}😀tail", "y".repeat(32_766));
    let items = vec![Item::new(vec![
        long.as_str().into(),
        astral.as_str().into(),
    ])];
    let path = export(
        dir.path(),
        "long.xlsx",
        &names(&["a", "b"]),
        &items,
        &Default::default(),
    );
    let rows = read(&path);
    assert_eq!(rows[1][0], s(&long[..32_767]));
    // The emoji needs two UTF-16 units and only one is left: it is dropped whole.
    assert_eq!(rows[1][1], s(&"y".repeat(32_766)));
}

#[test]
fn header_is_bold_and_data_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let items = vec![Item::new(vec!["v1".into(), "v2".into()])];
    let path = export(
        dir.path(),
        "bold.xlsx",
        &names(&["h1", "h2"]),
        &items,
        &Default::default(),
    );
    let mut book: Xlsx<_> = open_workbook(&path).unwrap();
    let styles = book.worksheet_style("Items").unwrap();
    let bold = |pos| {
        styles
            .get(pos)
            .and_then(|style| style.font.as_ref())
            .is_some_and(|font| font.is_bold())
    };
    assert!(bold((0, 0)) && bold((0, 1)));
    assert!(!bold((1, 0)) && !bold((1, 1)));
}

#[test]
fn zero_items_give_the_header_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = export(
        dir.path(),
        "empty.xlsx",
        &names(&["a", "b"]),
        &[],
        &Default::default(),
    );
    assert_eq!(read(&path), vec![vec![s("a"), s("b")]]);
}

#[test]
fn mismatched_items_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = std::fs::File::create(dir.path().join("bad.xlsx")).unwrap();
    let mut writer =
        file_writer(Format::Xlsx, names(&["a", "b"]), file, &Default::default()).unwrap();
    let err = writer.write_item(&Item::new(vec!["x".into()])).unwrap_err();
    assert!(matches!(
        err,
        ExportError::ColumnMismatch {
            expected: 2,
            found: 1
        }
    ));
    assert_eq!(writer.items_written(), 0);
}

#[test]
fn too_many_columns_are_refused() {
    let columns: Vec<String> = (0..16_385).map(|c| c.to_string()).collect();
    let out = std::io::Cursor::new(Vec::new());
    let err = file_writer(Format::Xlsx, columns, out, &Default::default())
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
