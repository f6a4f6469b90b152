//! The export formats and how they are named in paths, URLs and HTTP headers.

use std::path::Path;
use std::str::FromStr;

use super::ExportError;

/// An export format (CSV, JSON, JSON Lines and Excel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Json,
    #[serde(alias = "ndjson")]
    Jsonl,
    #[serde(alias = "excel")]
    Xlsx,
}

impl Format {
    /// Every format, in the order they are listed to users.
    pub const ALL: [Format; 4] = [Format::Csv, Format::Json, Format::Jsonl, Format::Xlsx];

    /// The format a file name asks for: `.csv`, `.json`, `.jsonl` or `.ndjson`, `.xlsx`, in any
    /// case. `None` for anything else, including no extension, so the caller can ask for an
    /// explicit format instead of guessing.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" => Some(Format::Csv),
            "json" => Some(Format::Json),
            "jsonl" | "ndjson" => Some(Format::Jsonl),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The file extension, without the dot (as [`Path::extension`] and
    /// [`std::path::PathBuf::set_extension`] use it).
    pub fn extension(self) -> &'static str {
        self.as_str()
    }

    /// The `Content-Type` of a download in this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json => "application/json",
            Format::Jsonl => "application/x-ndjson",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The canonical lowercase name, as accepted by [`FromStr`] and used in
    /// `/results/{id}/export/{format}`.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Jsonl => "jsonl",
            Format::Xlsx => "xlsx",
        }
    }

    /// Whether the format can be written front to back into a non-seekable sink (an HTTP body,
    /// stdout). XLSX is a zip archive whose directory is written last, so it goes to a file.
    pub fn is_streamable(self) -> bool {
        !matches!(self, Format::Xlsx)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Format {
    type Err = ExportError;

    /// Accepts the canonical names plus the aliases users type (`excel`, `ndjson`), in any case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "xlsx" | "excel" => Ok(Format::Xlsx),
            _ => Err(ExportError::UnknownFormat(s.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_are_case_insensitive() {
        let cases = [
            ("out.csv", Some(Format::Csv)),
            ("OUT.CSV", Some(Format::Csv)),
            ("a/b/items.Json", Some(Format::Json)),
            ("x.jsonl", Some(Format::Jsonl)),
            ("x.NDJSON", Some(Format::Jsonl)),
            ("report.xlsx", Some(Format::Xlsx)),
            ("report.xls", None),
            ("noext", None),
            (".csv", None), // a hidden file named "csv", not an extension
        ];
        for (path, want) in cases {
            assert_eq!(Format::from_extension(Path::new(path)), want, "{path}");
        }
    }

    #[test]
    fn names_round_trip_and_aliases_parse() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
            assert_eq!(f.to_string(), f.as_str());
            assert_eq!(
                Format::from_extension(Path::new(&format!("a.{}", f.extension()))),
                Some(f)
            );
        }
        assert_eq!("Excel".parse::<Format>().unwrap(), Format::Xlsx);
        assert_eq!("ndjson".parse::<Format>().unwrap(), Format::Jsonl);
        assert_eq!(" CSV ".parse::<Format>().unwrap(), Format::Csv);
    }

    #[test]
    fn unknown_name_lists_the_valid_ones() {
        let err = "pdf".parse::<Format>().unwrap_err();
        assert!(matches!(&err, ExportError::UnknownFormat(s) if s == "pdf"));
        let msg = err.to_string();
        for name in ["csv", "json", "jsonl", "xlsx"] {
            assert!(msg.contains(name), "{msg}");
        }
    }

    #[test]
    fn serde_uses_the_lowercase_names() {
        assert_eq!(serde_json::to_string(&Format::Jsonl).unwrap(), r#""jsonl""#);
        let f: Format = serde_json::from_str(r#""excel""#).unwrap();
        assert_eq!(f, Format::Xlsx);
    }

    #[test]
    fn only_xlsx_needs_a_seekable_sink() {
        assert!(Format::Csv.is_streamable());
        assert!(Format::Json.is_streamable());
        assert!(Format::Jsonl.is_streamable());
        assert!(!Format::Xlsx.is_streamable());
    }
}
