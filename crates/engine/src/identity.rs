//! Item identity across runs: which item of today's run is which item of yesterday's.
//!
//! Each item gets two 64-bit hashes: its *key* (the values of the job's `item_key` fields) and
//! its *content* (every value). Two runs are compared by these hashes alone, in the database,
//! so a diff never loads items. 64 bits of SHA-256: two different keys among a million items
//! collide with a probability of about 3·10⁻⁸, and the hash is the same on every machine and
//! every version, which a `std` hasher does not promise.

use sha2::{Digest, Sha256};

use crate::item::{FieldValue, Item};
use crate::spec::{Attribute, JobSpec};

/// The two hashes of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ItemHashes {
    /// Hash of the key fields' values: equal keys are "the same item".
    pub key: i64,
    /// Hash of all the values: different content under one key is a change.
    pub content: i64,
}

/// Which fields (by position) make an item's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemIdentity {
    key_fields: Vec<usize>,
}

impl ItemIdentity {
    /// The key of a job: its `item_key` fields; else its first field whose value is an absolute
    /// link (`attribute: href`), since a link names the thing the row is about; else every
    /// field.
    pub fn for_spec(spec: &JobSpec) -> Self {
        let columns = spec.columns();
        if let Some(key) = &spec.item_key {
            return Self::for_columns(&columns, key);
        }
        match spec
            .fields
            .iter()
            .position(|f| f.attribute == Attribute::Href)
        {
            Some(link) => ItemIdentity {
                key_fields: vec![link],
            },
            None => Self::whole_item(columns.len()),
        }
    }

    /// The key made of the named columns (names that are not columns are left out; with none
    /// left, every field).
    pub fn for_columns(columns: &[String], key: &[String]) -> Self {
        let key_fields: Vec<usize> = key
            .iter()
            .filter_map(|name| columns.iter().position(|c| c == name))
            .collect();
        if key_fields.is_empty() {
            return Self::whole_item(columns.len());
        }
        ItemIdentity { key_fields }
    }

    /// Every one of `width` fields is part of the key: only identical items are "the same".
    pub fn whole_item(width: usize) -> Self {
        ItemIdentity {
            key_fields: (0..width).collect(),
        }
    }

    /// The positions of the key fields.
    pub fn key_fields(&self) -> &[usize] {
        &self.key_fields
    }

    /// Both hashes of `item`. A key field the item lacks counts as null.
    pub fn hashes(&self, item: &Item) -> ItemHashes {
        let mut key = Sha256::new();
        for &i in &self.key_fields {
            feed(&mut key, item.values.get(i).unwrap_or(&FieldValue::Null));
        }
        let mut content = Sha256::new();
        for value in &item.values {
            feed(&mut content, value);
        }
        ItemHashes {
            key: first_64(key),
            content: first_64(content),
        }
    }
}

/// Writes a value with a tag and lengths, so that no two different value lists feed the same
/// bytes (`["ab", ""]` and `["a", "b"]` differ).
fn feed(hasher: &mut Sha256, value: &FieldValue) {
    let text = |hasher: &mut Sha256, s: &str| {
        hasher.update((s.len() as u64).to_le_bytes());
        hasher.update(s.as_bytes());
    };
    match value {
        FieldValue::Null => hasher.update([0]),
        FieldValue::Text(s) => {
            hasher.update([1]);
            text(hasher, s);
        }
        FieldValue::List(items) => {
            hasher.update([2]);
            hasher.update((items.len() as u64).to_le_bytes());
            for s in items {
                text(hasher, s);
            }
        }
    }
}

fn first_64(hasher: Sha256) -> i64 {
    let digest = hasher.finalize();
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(values: &[Option<&str>]) -> Item {
        Item::new(
            values
                .iter()
                .map(|v| v.map_or(FieldValue::Null, FieldValue::from))
                .collect(),
        )
    }

    fn spec(extra: &str) -> JobSpec {
        JobSpec::from_yaml_str(&format!(
            "name: t\nstart_url: http://127.0.0.1/\nitem_selector: li\nfields:\n  \
             - {{name: title, selector: b}}\n  - {{name: link, selector: a, attribute: href}}\n  \
             - {{name: price, selector: i}}\n{extra}"
        ))
        .unwrap()
    }

    #[test]
    fn the_default_key_is_the_first_link_field() {
        assert_eq!(ItemIdentity::for_spec(&spec("")).key_fields(), &[1]);
        let no_link = JobSpec::from_yaml_str(
            "name: t\nstart_url: http://127.0.0.1/\nitem_selector: li\nfields:\n  \
             - {name: a, selector: b}\n  - {name: b, selector: i}\n",
        )
        .unwrap();
        assert_eq!(ItemIdentity::for_spec(&no_link).key_fields(), &[0, 1]);
        let named = spec("item_key: [price, title]\n");
        assert_eq!(ItemIdentity::for_spec(&named).key_fields(), &[2, 0]);
    }

    #[test]
    fn key_follows_the_key_fields_and_content_every_field() {
        let id = ItemIdentity::for_spec(&spec(""));
        let a = id.hashes(&item(&[Some("A"), Some("http://x/1"), Some("10")]));
        let b = id.hashes(&item(&[Some("A"), Some("http://x/1"), Some("12")]));
        let c = id.hashes(&item(&[Some("A"), Some("http://x/2"), Some("10")]));
        assert_eq!(a.key, b.key);
        assert_ne!(a.content, b.content);
        assert_ne!(a.key, c.key);
        // Values are framed: moving a character between two fields changes the hash.
        let whole = ItemIdentity::whole_item(2);
        assert_ne!(
            whole.hashes(&item(&[Some("ab"), Some("")])).key,
            whole.hashes(&item(&[Some("a"), Some("b")])).key
        );
        assert_ne!(
            whole.hashes(&item(&[None, Some("")])).key,
            whole.hashes(&item(&[Some(""), None])).key
        );
    }

    #[test]
    fn hashes_are_stable_across_versions() {
        // Stored hashes are compared with hashes computed later: this value must never change.
        // SHA-256 of [1] ++ 1u64 little-endian ++ "x", first 8 bytes, big-endian.
        let h = ItemIdentity::whole_item(1).hashes(&item(&[Some("x")]));
        assert_eq!(h.key, h.content);
        assert_eq!(h.key, 0x5834_4411_ce3d_4b84);
    }
}
