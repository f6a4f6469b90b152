//! The two keys of a job document about what a run's items should look like: `item_key` (which
//! fields identify an item from one run to the next) and `expect` (the data-quality gates a
//! run must pass to count as completed).

use serde_json::{Map, Value, json};

use super::validate::{Problems, join, suggest, type_name};

/// The keys of `expect`.
pub(super) const EXPECT_KEYS: &[&str] = &["min_items", "fields_filled", "max_failed_pages"];

/// Most fields an `item_key` may name: more would make every item its own key anyway.
pub const MAX_KEY_FIELDS: usize = 16;

/// The data-quality gates of a job (`expect`). A run that misses one ends `failed`, keeping
/// its items.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Expectations {
    /// At least this many items.
    pub min_items: Option<u64>,
    /// Each named field must be filled (not null, not empty) on at least this share of the
    /// items, 0–1, in the job's field order.
    pub fields_filled: Vec<(String, f64)>,
    /// At most this share (0–1) of the pages fetched may fail.
    pub max_failed_pages: Option<f64>,
}

impl Expectations {
    /// No gate set.
    pub fn is_empty(&self) -> bool {
        self.min_items.is_none() && self.fields_filled.is_empty() && self.max_failed_pages.is_none()
    }

    /// The `expect` mapping as the document writes it.
    pub fn to_value(&self) -> Value {
        let mut doc = Map::new();
        if let Some(n) = self.min_items {
            doc.insert("min_items".into(), json!(n));
        }
        if !self.fields_filled.is_empty() {
            let filled: Map<String, Value> = self
                .fields_filled
                .iter()
                .map(|(name, share)| (name.clone(), json!(share)))
                .collect();
            doc.insert("fields_filled".into(), Value::Object(filled));
        }
        if let Some(share) = self.max_failed_pages {
            doc.insert("max_failed_pages".into(), json!(share));
        }
        Value::Object(doc)
    }
}

/// The message of a field name that is not one of the job's fields, with the closest one.
fn unknown_field(name: &str, fields: &[&str]) -> String {
    let lower = name.to_lowercase();
    let closest = fields
        .iter()
        .map(|f| (strsim::jaro_winkler(&lower, &f.to_lowercase()), *f))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, f)| f);
    match closest {
        Some(f) => format!("{name:?} is not one of the job's fields; did you mean `{f}`?"),
        None => format!(
            "{name:?} is not one of the job's fields ({})",
            fields.join(", ")
        ),
    }
}

/// `item_key`: a non-empty list of distinct field names of the job. `fields` is `None` when
/// the fields themselves were invalid (their problems are reported already).
pub(super) fn validate_item_key(
    p: &mut Problems,
    value: Option<&Value>,
    fields: Option<&[&str]>,
) -> Option<Vec<String>> {
    let single;
    let list: &[Value] = match value {
        None | Some(Value::Null) => return None,
        Some(Value::Array(list)) => list,
        // A single field name is a common way to write a one-field key.
        Some(Value::String(s)) => {
            single = [Value::String(s.clone())];
            &single
        }
        Some(other) => {
            p.add(
                "item_key",
                format!("must be a list of field names, got {}", type_name(other)),
            );
            return None;
        }
    };
    if list.is_empty() {
        p.add("item_key", "must name at least one field");
        return None;
    }
    if list.len() > MAX_KEY_FIELDS {
        p.add(
            "item_key",
            format!(
                "must name at most {MAX_KEY_FIELDS} fields, got {}",
                list.len()
            ),
        );
        return None;
    }
    let before = p.0.len();
    let mut names: Vec<String> = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let path = format!("item_key[{i}]");
        let Some(name) = entry.as_str().map(str::trim) else {
            p.add(
                path,
                format!("must be a field name, got {}", type_name(entry)),
            );
            continue;
        };
        if names.iter().any(|n| n == name) {
            p.add(path, format!("{name:?} is named twice"));
            continue;
        }
        if let Some(fields) = fields
            && !fields.contains(&name)
        {
            p.add(path, unknown_field(name, fields));
            continue;
        }
        names.push(name.to_owned());
    }
    (p.0.len() == before).then_some(names)
}

/// A share between 0 and 1 at `path`.
fn share(p: &mut Problems, path: String, value: &Value) -> Option<f64> {
    match value.as_f64() {
        Some(v) if (0.0..=1.0).contains(&v) => Some(v),
        Some(v) => {
            p.add(
                path,
                format!("must be a share between 0 and 1 (0.9 for 90%), got {v}"),
            );
            None
        }
        None => {
            p.add(
                path,
                format!(
                    "must be a share between 0 and 1 (0.9 for 90%), got {}",
                    type_name(value)
                ),
            );
            None
        }
    }
}

/// `expect`: `{min_items: N, fields_filled: {field: share}, max_failed_pages: share}`.
pub(super) fn validate_expect(
    p: &mut Problems,
    value: Option<&Value>,
    fields: Option<&[&str]>,
) -> Expectations {
    let map = match value {
        None | Some(Value::Null) => return Expectations::default(),
        Some(Value::Object(map)) => map,
        Some(other) => {
            p.add(
                "expect",
                format!(
                    "must be a mapping (min_items, fields_filled, max_failed_pages), got {}",
                    type_name(other)
                ),
            );
            return Expectations::default();
        }
    };
    for key in map.keys().filter(|k| !EXPECT_KEYS.contains(&k.as_str())) {
        let message = match suggest(key, EXPECT_KEYS) {
            Some(s) => format!("unknown key; did you mean `{s}`?"),
            None => format!("unknown key; expected one of: {}", EXPECT_KEYS.join(", ")),
        };
        p.add(join("expect", key), message);
    }
    let min_items = p.integer(map, "expect", "min_items", 1, 1_000_000);
    let max_failed_pages = match map.get("max_failed_pages") {
        None | Some(Value::Null) => None,
        Some(v) => share(p, "expect.max_failed_pages".into(), v),
    };
    let mut fields_filled = Vec::new();
    match map.get("fields_filled") {
        None | Some(Value::Null) => {}
        Some(Value::Object(filled)) => {
            for (name, v) in filled {
                let path = format!("expect.fields_filled.{name}");
                if let Some(fields) = fields
                    && !fields.contains(&name.as_str())
                {
                    p.add(path, unknown_field(name, fields));
                    continue;
                }
                if let Some(s) = share(p, path, v) {
                    fields_filled.push((name.clone(), s));
                }
            }
            // The job's field order, so messages and reports read like the job.
            if let Some(fields) = fields {
                fields_filled.sort_by_key(|(name, _)| fields.iter().position(|f| f == name));
            }
        }
        Some(other) => p.add(
            "expect.fields_filled",
            format!(
                "must be a mapping of field names to shares ({{price: 0.9}}), got {}",
                type_name(other)
            ),
        ),
    }
    Expectations {
        min_items,
        fields_filled,
        max_failed_pages,
    }
}
