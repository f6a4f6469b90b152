//! Reading a job document's text into a JSON value, strictly: a duplicate key, a number that
//! is not finite (`.inf`, `.nan`) and nesting deeper than a job ever needs are refused with a
//! message that says so, rather than read as something else. A UTF-8 byte order mark is
//! skipped.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Deepest nesting of lists and mappings accepted. A job document needs four levels (the
/// document, `fields`, a field, its keys); YAML parsers take quadratic time on very deep
/// nesting, so deeper documents are refused before parsing.
pub const MAX_NESTING: usize = 64;

/// The text without a leading UTF-8 byte order mark.
pub(super) fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// A JSON value read without losing anything: duplicate keys and non-finite numbers are errors.
pub(super) struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a job document value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v).map(Value::Number).ok_or_else(|| {
            E::custom(format!(
                "{v} is not a number a job document can use (numbers must be finite)"
            ))
        })
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Strict::deserialize(d).map(|s| s.0)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(Strict(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<Key>()? {
            if out.contains_key(&key.0) {
                return Err(de::Error::custom(format!(
                    "the key {:?} appears twice in the same mapping",
                    key.0
                )));
            }
            let Strict(v) = map.next_value()?;
            out.insert(key.0, v);
        }
        Ok(Value::Object(out))
    }
}

/// A mapping key: text, or a scalar written as text (`1: x` has the key "1").
struct Key(String);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = String;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_str<E>(self, v: &str) -> Result<String, E> {
                Ok(v.to_owned())
            }
            fn visit_bool<E>(self, v: bool) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_i64<E>(self, v: i64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_u64<E>(self, v: u64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_f64<E>(self, v: f64) -> Result<String, E> {
                Ok(v.to_string())
            }
            fn visit_unit<E>(self) -> Result<String, E> {
                Ok("null".to_owned())
            }
        }
        deserializer.deserialize_any(KeyVisitor).map(Key)
    }
}

/// Refuses YAML text that nests lists and mappings deeper than [`MAX_NESTING`], in one pass
/// and before any parser sees it. The depth of a line is its open flow collections (`[`, `{`
/// outside quotes and comments) plus its block levels (the indentation levels open above it and
/// the `- ` entries it starts with). This over-counts a little (a block scalar's indented
/// text), never under-counts.
pub(super) fn check_yaml_nesting(text: &str) -> Result<(), String> {
    let too_deep = |line: usize| {
        Err(format!(
            "the document nests lists and mappings deeper than {MAX_NESTING} levels (line \
             {line}); a job document needs only a few"
        ))
    };
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    let mut quote: Option<char> = None;
    for (n, line) in text.lines().enumerate() {
        let number = n + 1;
        let mut chars = line.char_indices().peekable();
        if flow == 0 && quote.is_none() {
            let trimmed = line.trim_start_matches(' ');
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let column = line.len() - trimmed.len();
            while indents.last().is_some_and(|&top| top > column) {
                indents.pop();
            }
            if indents.last() != Some(&column) {
                indents.push(column);
            }
            let mut rest = trimmed;
            let mut entries = 0;
            while let Some(r) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
                entries += 1;
                rest = r.trim_start_matches(' ');
            }
            if indents.len() + entries > MAX_NESTING {
                return too_deep(number);
            }
        }
        let mut previous = ' ';
        while let Some((_, c)) = chars.next() {
            match quote {
                Some('"') => match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => quote = None,
                    _ => {}
                },
                Some(_) => {
                    if c == '\'' {
                        if chars.peek().is_some_and(|&(_, n)| n == '\'') {
                            chars.next();
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match c {
                    '#' if previous.is_whitespace() => break,
                    '"' | '\'' if previous.is_whitespace() || "[{,:-".contains(previous) => {
                        quote = Some(c);
                    }
                    '[' | '{' => {
                        flow += 1;
                        if indents.len() + flow > MAX_NESTING {
                            return too_deep(number);
                        }
                    }
                    ']' | '}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            previous = c;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_documents_pass_the_nesting_check() {
        let doc = "name: x # a [comment\nfields:\n  - {name: t, selector: \"a[href\"}\n  - name: u\n    selector: 'it''s [ here'\n    default_value: don't [\n";
        assert_eq!(check_yaml_nesting(doc), Ok(()));
    }

    #[test]
    fn flow_block_and_compact_nesting_count() {
        let deep = |s: &str| check_yaml_nesting(s).is_err();
        assert!(deep(&"[".repeat(MAX_NESTING + 1)));
        assert!(!deep(&format!("a: {}", "[".repeat(MAX_NESTING - 2))));
        assert!(deep(&"- ".repeat(MAX_NESTING + 1)));
        let indented: String = (0..=MAX_NESTING)
            .map(|i| format!("{}-\n", " ".repeat(i)))
            .collect();
        assert!(deep(&indented));
    }
}
