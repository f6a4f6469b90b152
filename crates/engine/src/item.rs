//! Scraped items: one value per field of the job, in the job's field order.

use serde::{Deserialize, Serialize};

/// The value of one field of one item.
///
/// `multiple` fields give a [`FieldValue::List`]; a missing optional value without a default is
/// [`FieldValue::Null`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Null,
    Text(String),
    List(Vec<String>),
}

impl FieldValue {
    /// The value as one spreadsheet cell: lists are joined with `"; "`, null is empty.
    pub fn to_cell(&self) -> std::borrow::Cow<'_, str> {
        match self {
            FieldValue::Null => "".into(),
            FieldValue::Text(s) => s.as_str().into(),
            FieldValue::List(v) => v.join("; ").into(),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, FieldValue::Null)
    }
}

impl From<&str> for FieldValue {
    fn from(s: &str) -> Self {
        FieldValue::Text(s.to_owned())
    }
}

/// One scraped item: `values[i]` belongs to the job's `fields[i]`.
///
/// Items do not carry their column names: a run's columns are the job's field names, known once,
/// so a million items do not repeat them a million times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Item {
    pub values: Vec<FieldValue>,
}

impl Item {
    pub fn new(values: Vec<FieldValue>) -> Self {
        Item { values }
    }

    /// The item as a JSON object keyed by `columns` (the job's field names), lists as arrays.
    pub fn to_json_object(&self, columns: &[String]) -> serde_json::Map<String, serde_json::Value> {
        columns
            .iter()
            .zip(&self.values)
            .map(|(name, value)| {
                let v = match value {
                    FieldValue::Null => serde_json::Value::Null,
                    FieldValue::Text(s) => serde_json::Value::String(s.clone()),
                    FieldValue::List(items) => serde_json::Value::Array(
                        items
                            .iter()
                            .cloned()
                            .map(serde_json::Value::String)
                            .collect(),
                    ),
                };
                (name.clone(), v)
            })
            .collect()
    }

    /// Builds an item from a JSON object (as stored by the server), taking `columns` in order.
    /// Keys that are absent become null; non-string scalars are kept as their JSON text.
    pub fn from_json_object(
        object: &serde_json::Map<String, serde_json::Value>,
        columns: &[String],
    ) -> Self {
        fn scalar(v: &serde_json::Value) -> Option<String> {
            match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
        }
        let values = columns
            .iter()
            .map(|c| match object.get(c) {
                None | Some(serde_json::Value::Null) => FieldValue::Null,
                Some(serde_json::Value::Array(a)) => {
                    FieldValue::List(a.iter().filter_map(scalar).collect())
                }
                Some(v) => scalar(v).map_or(FieldValue::Null, FieldValue::Text),
            })
            .collect();
        Item { values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_join_lists_and_blank_nulls() {
        assert_eq!(FieldValue::Null.to_cell(), "");
        assert_eq!(FieldValue::from("a").to_cell(), "a");
        let list = FieldValue::List(vec!["a".into(), "b".into()]);
        assert_eq!(list.to_cell(), "a; b");
    }

    #[test]
    fn json_round_trip_keeps_order_and_lists() {
        let cols = vec!["t".to_string(), "tags".to_string(), "n".to_string()];
        let item = Item::new(vec![
            "x".into(),
            FieldValue::List(vec!["a".into(), "b".into()]),
            FieldValue::Null,
        ]);
        let obj = item.to_json_object(&cols);
        assert_eq!(
            serde_json::Value::Object(obj.clone()).to_string(),
            r#"{"t":"x","tags":["a","b"],"n":null}"#
        );
        assert_eq!(Item::from_json_object(&obj, &cols), item);
    }
}
