//! The archive format, version 1: a POSIX tar whose first member is `manifest.json`, followed
//! by one member per table, `tables/<table>.jsonl.gz`.
//!
//! A table member is gzip-compressed JSON lines: one row per line, a JSON array of the row's
//! values in the order of the manifest's columns. The manifest gives each column a
//! dialect-neutral type that says how its values are written:
//!
//! | type        | JSON value                                        |
//! |-------------|---------------------------------------------------|
//! | `uuid`      | string, hyphenated lowercase                      |
//! | `timestamp` | string, RFC 3339 in UTC (`…Z`), up to nanoseconds |
//! | `json`      | the JSON value itself                             |
//! | `integer`   | number (64-bit signed)                            |
//! | `float`     | number; `"NaN"`, `"inf"`, `"-inf"` as strings     |
//! | `boolean`   | `true` / `false`                                  |
//! | `text`      | string                                            |
//! | `bytes`     | string, lowercase hex                             |
//!
//! and `null` is NULL in every type. A column's type is what the source database declares
//! (SQLite declares fewer types: its UUIDs are `bytes`, its timestamps and JSON `text`); a
//! restore converts each value to the type the target declares.
//!
//! Each table's `sha256` is the hex SHA-256 of its uncompressed JSON lines and `rows` their
//! count: verification reads every member whole before a restore writes anything.

use std::collections::HashSet;
use std::io::{self, BufRead, Read, Write};

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// `format` of every manifest.
pub const FORMAT: &str = "grandma-backup";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// The first member of every archive.
pub const MANIFEST_NAME: &str = "manifest.json";
/// A manifest larger than this is refused before it is parsed (a real one is a few KiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;
/// A row line longer than this is refused: memory stays bounded whatever the archive says.
pub const MAX_LINE_BYTES: u64 = 64 * 1024 * 1024;
/// Tables and columns a manifest may list (PostgreSQL's own column limit is 1600).
pub const MAX_TABLES: usize = 10_000;
pub const MAX_COLUMNS: usize = 1_600;

/// What `manifest.json` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written by this build.
    pub format_version: u32,
    /// When the snapshot was taken.
    pub created_at: DateTime<Utc>,
    /// The source database: `sqlite` or `postgres`.
    pub source: String,
    /// The newest migration applied to the source (its bookkeeping table is not archived).
    pub schema_version: i64,
    /// Every table, in a foreign-key-respecting order.
    pub tables: Vec<TableEntry>,
}

/// One table of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableEntry {
    pub name: String,
    pub columns: Vec<ColumnEntry>,
    /// Rows in the member.
    pub rows: u64,
    /// Hex SHA-256 of the member's uncompressed bytes.
    pub sha256: String,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnEntry {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: ColumnType,
}

/// The dialect-neutral column types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnType {
    Uuid,
    Timestamp,
    Json,
    Integer,
    Float,
    Boolean,
    Text,
    Bytes,
}

impl ColumnType {
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnType::Uuid => "uuid",
            ColumnType::Timestamp => "timestamp",
            ColumnType::Json => "json",
            ColumnType::Integer => "integer",
            ColumnType::Float => "float",
            ColumnType::Boolean => "boolean",
            ColumnType::Text => "text",
            ColumnType::Bytes => "bytes",
        }
    }
}

/// The member that holds `table`'s rows.
pub fn member_name(table: &str) -> String {
    format!("tables/{table}.jsonl.gz")
}

/// Table names become member names, so they are plain identifiers: no path can be smuggled in.
pub fn valid_table_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

impl Manifest {
    /// Refuses a manifest this build cannot restore faithfully, saying why.
    pub fn check(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("format is {:?}, not {FORMAT:?}", self.format));
        }
        if self.format_version != FORMAT_VERSION {
            return Err(format!(
                "format version {} (this program reads version {FORMAT_VERSION})",
                self.format_version
            ));
        }
        if !["sqlite", "postgres"].contains(&self.source.as_str()) {
            return Err(format!("unknown source database {:?}", self.source));
        }
        if self.tables.len() > MAX_TABLES {
            return Err(format!(
                "{} tables (at most {MAX_TABLES})",
                self.tables.len()
            ));
        }
        let mut names = HashSet::new();
        for table in &self.tables {
            if !valid_table_name(&table.name) {
                return Err(format!(
                    "table name {:?} is not a plain identifier",
                    table.name
                ));
            }
            if !names.insert(table.name.as_str()) {
                return Err(format!("table {} is listed twice", table.name));
            }
            if table.columns.is_empty() || table.columns.len() > MAX_COLUMNS {
                return Err(format!(
                    "table {} has {} columns (1–{MAX_COLUMNS})",
                    table.name,
                    table.columns.len()
                ));
            }
            let mut columns = HashSet::new();
            for column in &table.columns {
                if column.name.is_empty() || column.name.len() > 63 || column.name.contains('\0') {
                    return Err(format!("table {}: bad column name", table.name));
                }
                if !columns.insert(column.name.as_str()) {
                    return Err(format!(
                        "table {}: column {} twice",
                        table.name, column.name
                    ));
                }
            }
            if table.sha256.len() != 64 || !table.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(format!("table {}: sha256 is not 64 hex digits", table.name));
            }
        }
        Ok(())
    }

    pub fn table(&self, name: &str) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// One value, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Text(String),
    Bytes(Vec<u8>),
    Uuid(Uuid),
    Timestamp(DateTime<Utc>),
    Json(serde_json::Value),
}

impl Value {
    /// The value as written in a row line.
    pub fn encode(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Null => J::Null,
            Value::Integer(i) => J::from(*i),
            Value::Float(f) if f.is_nan() => J::from("NaN"),
            Value::Float(f) if f.is_infinite() => J::from(if *f > 0.0 { "inf" } else { "-inf" }),
            Value::Float(f) => J::from(*f),
            Value::Boolean(b) => J::from(*b),
            Value::Text(s) => J::from(s.as_str()),
            Value::Bytes(b) => J::from(hex::encode(b)),
            Value::Uuid(u) => J::from(u.hyphenated().to_string()),
            Value::Timestamp(t) => J::from(t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            Value::Json(v) => v.clone(),
        }
    }

    /// Reads a row line's value of a column of type `kind`.
    pub fn decode(kind: ColumnType, json: serde_json::Value) -> Result<Value, String> {
        use serde_json::Value as J;
        let wrong = |json: &J| {
            let mut shown = json.to_string();
            if shown.len() > 40 {
                shown.truncate(shown.floor_char_boundary(40));
                shown.push('…');
            }
            format!("{shown} is not a {} value", kind.as_str())
        };
        if json.is_null() {
            return Ok(Value::Null);
        }
        let value = match (kind, &json) {
            (ColumnType::Json, _) => return Ok(Value::Json(json)),
            (ColumnType::Integer, J::Number(n)) => n.as_i64().map(Value::Integer),
            (ColumnType::Float, J::Number(n)) => n.as_f64().map(Value::Float),
            (ColumnType::Float, J::String(s)) => match s.as_str() {
                "NaN" => Some(Value::Float(f64::NAN)),
                "inf" => Some(Value::Float(f64::INFINITY)),
                "-inf" => Some(Value::Float(f64::NEG_INFINITY)),
                _ => None,
            },
            (ColumnType::Boolean, J::Bool(b)) => Some(Value::Boolean(*b)),
            (ColumnType::Text, J::String(s)) => Some(Value::Text(s.clone())),
            (ColumnType::Bytes, J::String(s)) => hex::decode(s).ok().map(Value::Bytes),
            (ColumnType::Uuid, J::String(s)) => Uuid::try_parse(s).ok().map(Value::Uuid),
            (ColumnType::Timestamp, J::String(s)) => DateTime::parse_from_rfc3339(s)
                .ok()
                .map(|t| Value::Timestamp(t.with_timezone(&Utc))),
            _ => None,
        };
        value.ok_or_else(|| wrong(&json))
    }
}

/// Writes one row line: the values as a JSON array, then a newline.
pub fn write_row(out: &mut impl Write, values: &[Value]) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &value.encode())?;
    }
    out.write_all(b"]\n")
}

/// A writer that hashes and counts what passes through it.
#[derive(Debug)]
pub struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Hashing<W> {
    pub fn new(inner: W) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// The inner writer and the hex SHA-256 of everything written.
    pub fn finish(self) -> (W, String) {
        (self.inner, hex::encode(self.hasher.finalize()))
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Reads a table member's rows one line at a time, checking each against the manifest's
/// columns and, at the end, the row count and checksum.
#[derive(Debug)]
pub struct RowReader<R> {
    reader: R,
    hasher: Sha256,
    line: Vec<u8>,
    rows: u64,
    columns: Vec<ColumnType>,
}

/// Why a member's rows are refused.
#[derive(Debug)]
pub enum RowError {
    Io(io::Error),
    /// A row that is not what the manifest says, with its 1-based line number.
    Bad {
        line: u64,
        detail: String,
    },
    /// The rows read do not hash (or count) to the manifest's.
    Checksum,
}

impl<R: BufRead> RowReader<R> {
    pub fn new(reader: R, columns: Vec<ColumnType>) -> Self {
        RowReader {
            reader,
            hasher: Sha256::new(),
            line: Vec::new(),
            rows: 0,
            columns,
        }
    }

    /// The next row, `None` at the end of the member.
    pub fn next_row(&mut self) -> Result<Option<Vec<Value>>, RowError> {
        self.line.clear();
        let n = Read::take(&mut self.reader, MAX_LINE_BYTES + 1)
            .read_until(b'\n', &mut self.line)
            .map_err(RowError::Io)?;
        if n == 0 {
            return Ok(None);
        }
        self.rows += 1;
        let bad = |detail: String| RowError::Bad {
            line: self.rows,
            detail,
        };
        if self.line.last() != Some(&b'\n') {
            return Err(bad(match n as u64 > MAX_LINE_BYTES {
                true => format!("a row longer than {MAX_LINE_BYTES} bytes"),
                false => "the last row is cut off".to_owned(),
            }));
        }
        self.hasher.update(&self.line);
        let values: Vec<serde_json::Value> = serde_json::from_slice(&self.line)
            .map_err(|e| bad(format!("not a JSON array: {e}")))?;
        if values.len() != self.columns.len() {
            return Err(bad(format!(
                "{} values for {} columns",
                values.len(),
                self.columns.len()
            )));
        }
        let mut row = Vec::with_capacity(values.len());
        for (i, (value, kind)) in values.into_iter().zip(&self.columns).enumerate() {
            row.push(
                Value::decode(*kind, value).map_err(|e| bad(format!("column {}: {e}", i + 1)))?,
            );
        }
        Ok(Some(row))
    }

    /// Compares what was read with the manifest's count and checksum.
    pub fn finish(self, table: &TableEntry) -> Result<(), RowError> {
        let sha = hex::encode(self.hasher.finalize());
        if self.rows != table.rows || !sha.eq_ignore_ascii_case(&table.sha256) {
            return Err(RowError::Checksum);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_through_their_encoding() {
        let t = DateTime::parse_from_rfc3339("2026-01-02T03:04:05.123456Z")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            (ColumnType::Uuid, Value::Uuid(Uuid::now_v7())),
            (ColumnType::Timestamp, Value::Timestamp(t)),
            (
                ColumnType::Json,
                Value::Json(serde_json::json!({"b": [1, 2.5], "a": null})),
            ),
            (ColumnType::Integer, Value::Integer(i64::MIN)),
            (ColumnType::Float, Value::Float(0.1)),
            (ColumnType::Float, Value::Float(f64::NEG_INFINITY)),
            (ColumnType::Boolean, Value::Boolean(true)),
            (ColumnType::Text, Value::Text("ünï\u{0}code\n".into())),
            (ColumnType::Bytes, Value::Bytes(vec![0, 255, 16])),
            (ColumnType::Text, Value::Null),
        ];
        for (kind, value) in cases {
            assert_eq!(Value::decode(kind, value.encode()).unwrap(), value);
        }
        assert_eq!(
            Value::Timestamp(t).encode(),
            serde_json::json!("2026-01-02T03:04:05.123456Z")
        );
    }

    #[test]
    fn wrong_types_are_named() {
        let err = Value::decode(ColumnType::Uuid, serde_json::json!(12)).unwrap_err();
        assert_eq!(err, "12 is not a uuid value");
        assert!(Value::decode(ColumnType::Integer, serde_json::json!(1.5)).is_err());
        assert!(Value::decode(ColumnType::Bytes, serde_json::json!("zz")).is_err());
        assert!(Value::decode(ColumnType::Timestamp, serde_json::json!("yesterday")).is_err());
    }

    #[test]
    fn table_names_cannot_name_paths() {
        assert!(valid_table_name("webhook_delivery"));
        for bad in ["", "../etc", "a/b", "a.b", "x\0", &"a".repeat(64)] {
            assert!(!valid_table_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn rows_are_checked_line_by_line() {
        let table = TableEntry {
            name: "t".into(),
            columns: vec![],
            rows: 1,
            sha256: hex::encode(Sha256::digest(b"[1,\"a\"]\n")),
        };
        let kinds = vec![ColumnType::Integer, ColumnType::Text];
        let mut ok = RowReader::new(&b"[1,\"a\"]\n"[..], kinds.clone());
        assert_eq!(
            ok.next_row().unwrap(),
            Some(vec![Value::Integer(1), Value::Text("a".into())])
        );
        assert!(ok.next_row().unwrap().is_none());
        ok.finish(&table).unwrap();

        let mut cut = RowReader::new(&b"[1,\"a\"]"[..], kinds.clone());
        assert!(matches!(cut.next_row(), Err(RowError::Bad { line: 1, .. })));
        let mut short = RowReader::new(&b"[1]\n"[..], kinds.clone());
        assert!(matches!(short.next_row(), Err(RowError::Bad { .. })));
        let mut other = RowReader::new(&b"[2,\"a\"]\n"[..], kinds);
        other.next_row().unwrap();
        other.next_row().unwrap();
        assert!(matches!(other.finish(&table), Err(RowError::Checksum)));
    }
}
