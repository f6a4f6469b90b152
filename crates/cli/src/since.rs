//! `grandma scrape --since PREVIOUS.jsonl`: keep only the items that are new or changed
//! compared with an earlier run's JSON Lines file, by the job's item key (the same rules and
//! hashes as the server's comparison, [`grandma_engine::identity`]).
//!
//! The earlier file is read once into a map of 16 bytes per key (its key and content hashes),
//! so a million-item file costs a few tens of megabytes, never its text.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use anyhow::{Context, anyhow, bail};
use grandma_engine::identity::ItemIdentity;
use grandma_engine::{Item, JobSpec};

/// Longest line accepted in the earlier file: a real item is a few KB.
const MAX_LINE_BYTES: u64 = 8 * 1024 * 1024;

/// The earlier run's items, by key, and the keys seen in this run so far.
#[derive(Debug)]
pub struct Since {
    identity: ItemIdentity,
    previous: HashMap<i64, i64>,
    seen: HashSet<i64>,
    /// Counts for the summary: new and changed items written.
    pub new: u64,
    pub changed: u64,
}

impl Since {
    /// Reads `path`, one JSON object per line keyed by the job's field names (what
    /// `grandma scrape -o items.jsonl` writes). Blank lines are skipped; anything else that is
    /// not an object is refused with its line number.
    pub fn load(path: &Path, spec: &JobSpec) -> anyhow::Result<Since> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let mut reader = BufReader::new(file);
        let identity = ItemIdentity::for_spec(spec);
        let columns = spec.columns();
        let mut previous = HashMap::new();
        let mut line = Vec::new();
        for number in 1.. {
            line.clear();
            let read = (&mut reader)
                .take(MAX_LINE_BYTES + 1)
                .read_until(b'\n', &mut line)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if read == 0 {
                break;
            }
            if line.len() as u64 > MAX_LINE_BYTES {
                bail!(
                    "{} line {number}: longer than {MAX_LINE_BYTES} bytes",
                    path.display()
                );
            }
            let text = std::str::from_utf8(&line)
                .map_err(|_| anyhow!("{} line {number}: not UTF-8 text", path.display()))?
                .trim();
            if text.is_empty() {
                continue;
            }
            let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                anyhow!(
                    "{} line {number}: not JSON ({e}); --since reads a .jsonl file written by grandma scrape",
                    path.display()
                )
            })?;
            let Some(object) = value.as_object() else {
                bail!(
                    "{} line {number}: expected an object of field values",
                    path.display()
                );
            };
            if !columns.iter().any(|c| object.contains_key(c)) {
                bail!(
                    "{} line {number}: none of the job's fields ({}) is in it; is it the output of this job?",
                    path.display(),
                    columns.join(", ")
                );
            }
            let hashes = identity.hashes(&Item::from_json_object(object, &columns));
            previous.entry(hashes.key).or_insert(hashes.content);
        }
        Ok(Since {
            identity,
            previous,
            seen: HashSet::new(),
            new: 0,
            changed: 0,
        })
    }

    /// Whether to write `item`: the first item of its key in this run, and the key is new or
    /// its values differ from the earlier run's.
    pub fn keep(&mut self, item: &Item) -> bool {
        let hashes = self.identity.hashes(item);
        if !self.seen.insert(hashes.key) {
            return false;
        }
        match self.previous.get(&hashes.key) {
            None => {
                self.new += 1;
                true
            }
            Some(content) if *content != hashes.content => {
                self.changed += 1;
                true
            }
            Some(_) => false,
        }
    }
}
