//! Reading an archive: its index (the manifest and where each table's member lies), then each
//! member as a stream of checked rows. Nothing is ever extracted to disk, and every member must
//! be exactly one the manifest names: an archive with other entries (a path such as
//! `../../etc/passwd`, a link, a device) is refused as a whole.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use flate2::read::GzDecoder;

use super::BackupError;
use super::format::{
    MANIFEST_NAME, MAX_MANIFEST_BYTES, Manifest, RowError, RowReader, TableEntry, member_name,
};

/// An opened archive whose manifest and member list have been checked.
#[derive(Debug)]
pub struct Archive {
    path: PathBuf,
    manifest: Manifest,
    /// Member name → (offset of its data in the file, its size).
    members: HashMap<String, (u64, u64)>,
}

fn malformed(detail: impl Into<String>) -> BackupError {
    BackupError::Malformed(detail.into())
}

impl Archive {
    /// Reads the manifest and the member list, without reading the rows.
    pub fn open(path: &Path) -> Result<Archive, BackupError> {
        let io = |source| BackupError::Io {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let mut tar = tar::Archive::new(BufReader::new(file));
        let mut entries = tar
            .entries_with_seek()
            .map_err(|e| malformed(format!("not a tar archive: {e}")))?;
        let first = entries
            .next()
            .ok_or_else(|| malformed("the archive is empty"))?
            .map_err(|e| malformed(format!("not a tar archive: {e}")))?;
        let first_name = String::from_utf8_lossy(&first.path_bytes()).into_owned();
        if first_name != MANIFEST_NAME || !first.header().entry_type().is_file() {
            return Err(malformed(format!(
                "the first member is {first_name:?}, not {MANIFEST_NAME}"
            )));
        }
        if first.size() > MAX_MANIFEST_BYTES {
            return Err(malformed(format!(
                "the manifest is {} bytes (at most {MAX_MANIFEST_BYTES})",
                first.size()
            )));
        }
        let mut text = Vec::new();
        first
            .take(MAX_MANIFEST_BYTES)
            .read_to_end(&mut text)
            .map_err(|e| malformed(format!("cannot read the manifest: {e}")))?;
        let manifest: Manifest = serde_json::from_slice(&text)
            .map_err(|e| malformed(format!("the manifest is not valid: {e}")))?;
        manifest
            .check()
            .map_err(|e| malformed(format!("the manifest is not valid: {e}")))?;
        let expected: HashMap<String, &str> = manifest
            .tables
            .iter()
            .map(|t| (member_name(&t.name), t.name.as_str()))
            .collect();
        let mut members = HashMap::new();
        for entry in entries {
            let entry = entry.map_err(|e| malformed(format!("a damaged tar member: {e}")))?;
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let shown: String = name.chars().take(200).collect();
            if !expected.contains_key(&name) {
                return Err(malformed(format!(
                    "unexpected member {shown:?} (not a table of the manifest)"
                )));
            }
            if !entry.header().entry_type().is_file() {
                return Err(malformed(format!("member {shown:?} is not a regular file")));
            }
            if members
                .insert(name, (entry.raw_file_position(), entry.size()))
                .is_some()
            {
                return Err(malformed(format!("member {shown:?} appears twice")));
            }
        }
        let file_len = std::fs::metadata(path).map_err(io)?.len();
        for table in &manifest.tables {
            match members.get(&member_name(&table.name)) {
                None => {
                    return Err(malformed(format!(
                        "table {} is missing (the archive is incomplete)",
                        table.name
                    )));
                }
                Some((offset, size)) if offset.saturating_add(*size) > file_len => {
                    return Err(malformed(format!("table {} is cut off", table.name)));
                }
                Some(_) => {}
            }
        }
        Ok(Archive {
            path: path.to_owned(),
            manifest,
            members,
        })
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The rows of `table`, decompressed and checked as they are read.
    pub fn rows(&self, table: &TableEntry) -> Result<TableRows, BackupError> {
        let io = |source| BackupError::Io {
            path: self.path.clone(),
            source,
        };
        let (offset, size) = *self
            .members
            .get(&member_name(&table.name))
            .ok_or_else(|| malformed(format!("table {} is missing", table.name)))?;
        let mut file = File::open(&self.path).map_err(io)?;
        file.seek(SeekFrom::Start(offset)).map_err(io)?;
        let member = BufReader::with_capacity(256 * 1024, file).take(size);
        let reader = BufReader::with_capacity(256 * 1024, GzDecoder::new(member));
        Ok(TableRows {
            table: table.clone(),
            rows: RowReader::new(
                Box::new(reader) as Box<dyn BufRead + Send>,
                table.columns.iter().map(|c| c.kind).collect(),
            ),
        })
    }

    /// Reads every row of every table: each must decode as its column's type, and each table
    /// must match its row count and checksum.
    pub fn verify(&self) -> Result<(), BackupError> {
        for table in &self.manifest.tables {
            let mut rows = self.rows(table)?;
            while rows.next_row()?.is_some() {}
            rows.finish()?;
        }
        Ok(())
    }
}

/// One table's rows being read.
pub struct TableRows {
    table: TableEntry,
    rows: RowReader<Box<dyn BufRead + Send>>,
}

impl std::fmt::Debug for TableRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableRows")
            .field("table", &self.table.name)
            .finish()
    }
}

impl TableRows {
    fn error(&self, e: RowError) -> BackupError {
        TableRows::error_for(&self.table, e)
    }

    pub fn next_row(&mut self) -> Result<Option<Vec<super::format::Value>>, BackupError> {
        self.rows.next_row().map_err(|e| self.error(e))
    }

    /// Checks the count and checksum of everything read.
    pub fn finish(self) -> Result<(), BackupError> {
        let TableRows { table, rows } = self;
        rows.finish(&table)
            .map_err(|e| TableRows::error_for(&table, e))
    }

    fn error_for(table: &TableEntry, e: RowError) -> BackupError {
        match e {
            RowError::Checksum => BackupError::Corrupt {
                table: table.name.clone(),
                detail: "checksum mismatch".to_owned(),
            },
            RowError::Io(e) => BackupError::Corrupt {
                table: table.name.clone(),
                detail: format!("cannot decompress: {e}"),
            },
            RowError::Bad { line, detail } => BackupError::Corrupt {
                table: table.name.clone(),
                detail: format!("row {line}: {detail}"),
            },
        }
    }
}
