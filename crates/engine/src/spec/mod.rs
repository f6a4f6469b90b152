//! The job document: what to fetch, what to extract, how to paginate and how
//! politely.
//!
//! A [`JobSpec`] can only be built by [`JobSpec::from_value`] (or the YAML/JSON helpers), which
//! checks every field, compiles every selector and reports every problem at once with the path
//! of the field. So a `JobSpec` in hand is always runnable: no later stage re-validates.

mod expect;
mod parse;
mod validate;

use std::fmt;

use serde_json::{Map, Value, json};
use url::Url;

use crate::selector::Selector;

pub use expect::{Expectations, MAX_KEY_FIELDS};
pub use parse::MAX_NESTING;
pub use validate::{KNOWN_TOP_LEVEL_KEYS, parse_http_url};

/// Largest job document accepted, in bytes (YAML or JSON). Real jobs are a few KB.
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Which selector language a selector is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectorType {
    Css,
    XPath,
}

impl SelectorType {
    pub fn as_str(self) -> &'static str {
        match self {
            SelectorType::Css => "css",
            SelectorType::XPath => "xpath",
        }
    }
}

/// What to take from a matched element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attribute {
    /// The element's text, whitespace collapsed and trimmed.
    Text,
    /// The element's inner HTML.
    Html,
    /// The `href` attribute, resolved to an absolute URL.
    Href,
    /// The `src` attribute, resolved to an absolute URL.
    Src,
    /// The `value` attribute.
    Value,
    /// Any other attribute, by name (`custom_attribute` in the document).
    Custom(String),
}

impl Attribute {
    pub fn as_str(&self) -> &str {
        match self {
            Attribute::Text => "text",
            Attribute::Html => "html",
            Attribute::Href => "href",
            Attribute::Src => "src",
            Attribute::Value => "value",
            Attribute::Custom(_) => "custom",
        }
    }
}

/// A selector as the user wrote it, with its compiled form.
#[derive(Debug, Clone)]
pub struct SelectorSpec {
    pub source: String,
    pub kind: SelectorType,
    pub compiled: Selector,
}

/// One column of the output.
#[derive(Debug, Clone)]
pub struct FieldSpec {
    pub name: String,
    pub selector: SelectorSpec,
    pub attribute: Attribute,
    pub multiple: bool,
    pub required: bool,
    pub default_value: Option<String>,
}

/// How to find the next page.
#[derive(Debug, Clone)]
pub enum Pagination {
    None,
    /// Follow the link matched by this selector (its `href`, resolved against the page URL).
    NextButton {
        selector: SelectorSpec,
    },
    /// Pages known in advance: page 1 is the start URL, page n the pattern with `{page}` = n.
    UrlPattern {
        pattern: String,
    },
    /// Scroll the page in the browser; needs the browser fetcher.
    InfiniteScroll {
        max_scrolls: u32,
        scroll_wait_ms: u64,
    },
}

/// `fetcher_type`: how pages are fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetcherType {
    Requests,
    Browser,
    Auto,
}

impl FetcherType {
    pub fn as_str(self) -> &'static str {
        match self {
            FetcherType::Requests => "requests",
            FetcherType::Browser => "browser",
            FetcherType::Auto => "auto",
        }
    }
}

/// A validated job document.
#[derive(Debug, Clone)]
pub struct JobSpec {
    pub name: String,
    pub description: Option<String>,
    pub start_url: Url,
    pub item_selector: SelectorSpec,
    pub fields: Vec<FieldSpec>,
    pub pagination: Pagination,
    pub max_pages: Option<u32>,
    pub max_items: Option<u32>,
    pub timeout_seconds: u32,
    pub retry_count: u32,
    pub fetcher_type: FetcherType,
    pub min_delay_ms: u64,
    pub max_delay_ms: u64,
    pub concurrent_requests: u32,
    pub user_agents: Vec<String>,
    pub respect_robots_txt: bool,
    /// The longest a run of this job may take, start to end (resumed attempts included); the
    /// server's default applies when absent. A run past it fails, keeping its items.
    pub time_limit_seconds: Option<u32>,
    /// In the browser, load images, audio/video and fonts; blocked by default (pages render
    /// faster and fetch less, and the text is the same).
    pub load_media: bool,
    /// `item_key`: the fields whose values identify an item from one run to the next; `None`
    /// for the default (see [`crate::identity::ItemIdentity::for_spec`]).
    pub item_key: Option<Vec<String>>,
    /// `expect`: the data-quality gates a completed run must pass.
    pub expect: Expectations,
}

/// The user agents rotated when a job does not name its own: current desktop browsers, so that
/// sites serve the same HTML a person sees.
pub const DEFAULT_USER_AGENTS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];

/// One problem in a job document, with the path of the field (`fields[2].selector`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub path: String,
    pub message: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in a job document, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecErrors(pub Vec<SpecError>);

impl SpecErrors {
    fn single(path: &str, message: impl Into<String>) -> Self {
        SpecErrors(vec![SpecError {
            path: path.to_owned(),
            message: message.into(),
        }])
    }

    pub fn iter(&self) -> impl Iterator<Item = &SpecError> {
        self.0.iter()
    }
}

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// Refuses a document over [`MAX_DOCUMENT_BYTES`] before any parser sees it.
fn check_size(text: &str) -> Result<(), SpecErrors> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(SpecErrors::single(
            "",
            format!(
                "the job document is {} bytes; the limit is {MAX_DOCUMENT_BYTES}",
                text.len()
            ),
        ));
    }
    Ok(())
}

impl JobSpec {
    /// Parses and validates a YAML document (JSON is valid YAML, so this reads both).
    /// A duplicate key, a number that is not finite and nesting deeper than [`MAX_NESTING`]
    /// are refused; a UTF-8 byte order mark is skipped.
    pub fn from_yaml_str(text: &str) -> Result<JobSpec, SpecErrors> {
        let text = parse::strip_bom(text);
        check_size(text)?;
        parse::check_yaml_nesting(text).map_err(|e| SpecErrors::single("", e))?;
        let parse::Strict(value) = serde_yaml_ng::from_str(text)
            .map_err(|e| SpecErrors::single("", format!("not valid YAML: {e}")))?;
        Self::from_value(&value)
    }

    /// Parses and validates a JSON document, with the rules of [`JobSpec::from_yaml_str`].
    pub fn from_json_str(text: &str) -> Result<JobSpec, SpecErrors> {
        let text = parse::strip_bom(text);
        check_size(text)?;
        let parse::Strict(value) = serde_json::from_str(text)
            .map_err(|e| SpecErrors::single("", format!("not valid JSON: {e}")))?;
        Self::from_value(&value)
    }

    /// Validates an already-parsed document (the API's `config`).
    pub fn from_value(value: &Value) -> Result<JobSpec, SpecErrors> {
        validate::validate(value)
    }

    /// The field names, in order: the columns of every export.
    pub fn columns(&self) -> Vec<String> {
        self.fields.iter().map(|f| f.name.clone()).collect()
    }

    /// The document with every default filled in, as JSON. `from_value(&spec.to_value())`
    /// gives the same job back.
    pub fn to_value(&self) -> Value {
        let mut doc = Map::new();
        doc.insert("name".into(), json!(self.name));
        if let Some(d) = &self.description {
            doc.insert("description".into(), json!(d));
        }
        doc.insert("start_url".into(), json!(self.start_url.as_str()));
        doc.insert("item_selector".into(), json!(self.item_selector.source));
        doc.insert(
            "item_selector_type".into(),
            json!(self.item_selector.kind.as_str()),
        );
        let fields: Vec<Value> = self
            .fields
            .iter()
            .map(|f| {
                let mut o = Map::new();
                o.insert("name".into(), json!(f.name));
                o.insert("selector".into(), json!(f.selector.source));
                o.insert("selector_type".into(), json!(f.selector.kind.as_str()));
                o.insert("attribute".into(), json!(f.attribute.as_str()));
                if let Attribute::Custom(a) = &f.attribute {
                    o.insert("custom_attribute".into(), json!(a));
                }
                o.insert("multiple".into(), json!(f.multiple));
                o.insert("required".into(), json!(f.required));
                o.insert("default_value".into(), json!(f.default_value));
                Value::Object(o)
            })
            .collect();
        doc.insert("fields".into(), Value::Array(fields));
        let pagination = match &self.pagination {
            Pagination::None => json!({"type": "none"}),
            Pagination::NextButton { selector } => json!({
                "type": "next_button",
                "next_button_selector": selector.source,
                "next_button_selector_type": selector.kind.as_str(),
            }),
            Pagination::UrlPattern { pattern } => {
                json!({"type": "url_pattern", "url_pattern": pattern})
            }
            Pagination::InfiniteScroll {
                max_scrolls,
                scroll_wait_ms,
            } => json!({
                "type": "infinite_scroll",
                "max_scrolls": max_scrolls,
                "scroll_wait_ms": scroll_wait_ms,
            }),
        };
        doc.insert("pagination".into(), pagination);
        doc.insert("max_pages".into(), json!(self.max_pages));
        doc.insert("max_items".into(), json!(self.max_items));
        doc.insert("timeout_seconds".into(), json!(self.timeout_seconds));
        doc.insert("retry_count".into(), json!(self.retry_count));
        doc.insert("fetcher_type".into(), json!(self.fetcher_type.as_str()));
        doc.insert("min_delay_ms".into(), json!(self.min_delay_ms));
        doc.insert("max_delay_ms".into(), json!(self.max_delay_ms));
        doc.insert(
            "concurrent_requests".into(),
            json!(self.concurrent_requests),
        );
        doc.insert("user_agents".into(), json!(self.user_agents));
        doc.insert("respect_robots_txt".into(), json!(self.respect_robots_txt));
        doc.insert("time_limit_seconds".into(), json!(self.time_limit_seconds));
        doc.insert("load_media".into(), json!(self.load_media));
        if let Some(key) = &self.item_key {
            doc.insert("item_key".into(), json!(key));
        }
        if !self.expect.is_empty() {
            doc.insert("expect".into(), self.expect.to_value());
        }
        Value::Object(doc)
    }
}
