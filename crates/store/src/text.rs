//! Scraped text on its way into the database.
//!
//! A page may serve U+0000 (NUL), which PostgreSQL cannot store in `text` or `jsonb` columns.
//! Rather than fail the run, every NUL in scraped values, run messages, warnings and
//! checkpoints is stored as U+FFFD (the replacement character), on both databases alike, so a
//! run gives the same results wherever it is stored. Every other character is kept as it is.

use std::borrow::Cow;

use grandma_engine::{FieldValue, Item};
use serde_json::Value;

/// What a NUL in scraped text is stored as.
pub const NUL_REPLACEMENT: char = '\u{FFFD}';

/// `text` with every NUL replaced by [`NUL_REPLACEMENT`]; borrowed when there is none.
pub fn nul_free(text: &str) -> Cow<'_, str> {
    if text.contains('\0') {
        Cow::Owned(text.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(text)
    }
}

fn has_nul(value: &FieldValue) -> bool {
    match value {
        FieldValue::Null => false,
        FieldValue::Text(s) => s.contains('\0'),
        FieldValue::List(items) => items.iter().any(|s| s.contains('\0')),
    }
}

/// `item` with its values [`nul_free`]; borrowed when no value has a NUL.
pub fn nul_free_item(item: &Item) -> Cow<'_, Item> {
    if !item.values.iter().any(has_nul) {
        return Cow::Borrowed(item);
    }
    let values = item
        .values
        .iter()
        .map(|v| match v {
            FieldValue::Null => FieldValue::Null,
            FieldValue::Text(s) => FieldValue::Text(nul_free(s).into_owned()),
            FieldValue::List(items) => {
                FieldValue::List(items.iter().map(|s| nul_free(s).into_owned()).collect())
            }
        })
        .collect();
    Cow::Owned(Item::new(values))
}

fn json_has_nul(value: &Value) -> bool {
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map.iter().any(|(k, v)| k.contains('\0') || json_has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

fn json_replaced(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(nul_free(s).into_owned()),
        Value::Array(items) => Value::Array(items.iter().map(json_replaced).collect()),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| (nul_free(k).into_owned(), json_replaced(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `value` with every string and key [`nul_free`]; borrowed when there is no NUL.
pub fn nul_free_json(value: &Value) -> Cow<'_, Value> {
    if json_has_nul(value) {
        Cow::Owned(json_replaced(value))
    } else {
        Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_becomes_the_replacement_character_and_nothing_else_changes() {
        assert_eq!(nul_free("a\0b\0"), "a\u{FFFD}b\u{FFFD}");
        assert!(matches!(nul_free("a\u{1}b\tc"), Cow::Borrowed(_)));
        let item = Item::new(vec![
            FieldValue::Text("x\0".into()),
            FieldValue::List(vec!["\0".into(), "y".into()]),
            FieldValue::Null,
        ]);
        assert_eq!(
            nul_free_item(&item).into_owned(),
            Item::new(vec![
                FieldValue::Text("x\u{FFFD}".into()),
                FieldValue::List(vec!["\u{FFFD}".into(), "y".into()]),
                FieldValue::Null,
            ])
        );
        let json = serde_json::json!({"k\0": ["a\0", 1, null]});
        assert_eq!(
            nul_free_json(&json).into_owned(),
            serde_json::json!({"k\u{FFFD}": ["a\u{FFFD}", 1, null]})
        );
    }
}
