//! Repeat runs that ask before they download: what a run keeps about each page it crawled
//! ([`PageRecord`]), and what the next run of the same job reads back ([`PreviousPages`]) to
//! send the page's validators (`If-None-Match`, `If-Modified-Since`). A page answered
//! `304 Not Modified` is replayed without its body: the caller copies the items the earlier run
//! stored for it, and the crawl follows the links that run found on it.
//!
//! Only plain HTTP asks conditionally; the browser always loads the whole page, so its pages
//! are recorded without validators and never replayed.

use std::collections::HashMap;

use sha2::{Digest, Sha256};
use url::Url;

use crate::fetch::Validators;

/// What an earlier run learnt from a page it fetched whole (or replayed), enough to continue
/// the crawl from it without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousPage {
    /// The page number in the earlier run, whose stored items a 304 reuses.
    pub page: u32,
    /// Where the page's redirects ended: the validators belong to this URL.
    pub final_url: Url,
    pub validators: Validators,
    /// The next page's link found on it (`next_button`).
    pub next_url: Option<Url>,
    /// Elements the item selector matched (0 ends pagination).
    pub matched: u32,
    /// Items stored for it.
    pub items: u32,
    /// Items dropped for a missing required field.
    pub dropped: u32,
}

/// The pages of the run to revalidate against, by the URL the crawl asked for.
#[derive(Debug, Clone, Default)]
pub struct PreviousPages {
    by_url: HashMap<String, PreviousPage>,
}

impl PreviousPages {
    /// Pages without validators are left out: there is nothing to ask with. Of two pages at
    /// one URL the first wins.
    pub fn new(pages: impl IntoIterator<Item = (Url, PreviousPage)>) -> Self {
        let mut by_url = HashMap::new();
        for (url, page) in pages {
            if !page.validators.is_empty() {
                by_url.entry(url.as_str().to_owned()).or_insert(page);
            }
        }
        PreviousPages { by_url }
    }

    pub fn get(&self, url: &Url) -> Option<&PreviousPage> {
        self.by_url.get(url.as_str())
    }

    pub fn len(&self) -> usize {
        self.by_url.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_url.is_empty()
    }
}

/// A page answered 304: the earlier run's stored items stand for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reused {
    /// Its page number in the earlier run.
    pub from_page: u32,
    /// How many of that page's items (in order) belong to this run: all of them, unless
    /// `max_items` cut the page.
    pub items: u32,
}

/// What a run keeps about one delivered page besides its items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRecord {
    pub final_url: Url,
    /// Empty when the page must not be replayed by a later run: fetched by the browser, sent
    /// without validators, or not delivered whole (cut by `max_items`, out of time).
    pub validators: Validators,
    pub next_url: Option<Url>,
    pub matched: u32,
    pub dropped: u32,
    /// Answered 304; its items are copied from the earlier run.
    pub reused: Option<Reused>,
}

/// A digest of the job document a run crawled with (hex, 128 bits). Items are reused only
/// from a run with the same one: items extracted under other rules would be wrong. Keys are
/// sorted first, so a document saved again with its keys in another order keeps its digest.
pub fn spec_fingerprint(config: &serde_json::Value) -> String {
    let digest = Sha256::digest(sorted(config).to_string().as_bytes());
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// `value` with every object's keys in order (serde_json keeps insertion order here).
fn sorted(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(etag: Option<&str>) -> PreviousPage {
        PreviousPage {
            page: 1,
            final_url: "http://a.test/1".parse().unwrap(),
            validators: Validators {
                etag: etag.map(str::to_owned),
                last_modified: None,
            },
            next_url: None,
            matched: 1,
            items: 1,
            dropped: 0,
        }
    }

    #[test]
    fn pages_without_validators_are_not_kept() {
        let a: Url = "http://a.test/1".parse().unwrap();
        let b: Url = "http://a.test/2".parse().unwrap();
        let pages = PreviousPages::new([(a.clone(), page(Some("\"x\""))), (b.clone(), page(None))]);
        assert_eq!(pages.len(), 1);
        assert!(pages.get(&a).is_some());
        assert!(pages.get(&b).is_none());
    }

    #[test]
    fn the_fingerprint_follows_the_document() {
        let one = spec_fingerprint(&serde_json::json!({"a": 1}));
        assert_eq!(one.len(), 32);
        assert_eq!(one, spec_fingerprint(&serde_json::json!({"a": 1})));
        assert_ne!(one, spec_fingerprint(&serde_json::json!({"a": 2})));
        let ab: serde_json::Value =
            serde_json::from_str(r#"{"a": 1, "b": {"c": [1, {"d": 2, "e": 3}]}}"#).unwrap();
        let ba: serde_json::Value =
            serde_json::from_str(r#"{"b": {"c": [1, {"e": 3, "d": 2}]}, "a": 1}"#).unwrap();
        assert_eq!(spec_fingerprint(&ab), spec_fingerprint(&ba));
        let reordered: serde_json::Value =
            serde_json::from_str(r#"{"b": {"c": [{"e": 3, "d": 2}, 1]}, "a": 1}"#).unwrap();
        assert_ne!(
            spec_fingerprint(&ab),
            spec_fingerprint(&reordered),
            "arrays keep their order"
        );
    }
}
