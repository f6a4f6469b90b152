//! Validation of job documents: every field checked, every selector compiled, every problem
//! reported at once with its path.
//!
//! We validate a generic JSON value by hand rather than through `serde(deny_unknown_fields)`:
//! serde stops at the first error and cannot suggest the key the user meant.

use serde_json::{Map, Value};
use url::Url;

use super::{
    Attribute, DEFAULT_USER_AGENTS, FetcherType, FieldSpec, JobSpec, Pagination, SelectorSpec,
    SelectorType, SpecError, SpecErrors,
};
use crate::paginate;
use crate::selector::{Scope, Selector};

/// Every key a job document may have at its top level.
pub const KNOWN_TOP_LEVEL_KEYS: &[&str] = &[
    "name",
    "description",
    "start_url",
    "item_selector",
    "item_selector_type",
    "fields",
    "pagination",
    "max_pages",
    "max_items",
    "timeout_seconds",
    "retry_count",
    "fetcher_type",
    "min_delay_ms",
    "max_delay_ms",
    "concurrent_requests",
    "user_agents",
    "respect_robots_txt",
    "time_limit_seconds",
    "load_media",
    "item_key",
    "expect",
];

const FIELD_KEYS: &[&str] = &[
    "name",
    "selector",
    "selector_type",
    "attribute",
    "custom_attribute",
    "multiple",
    "required",
    "default_value",
];

const PAGINATION_KEYS: &[&str] = &[
    "type",
    "next_button_selector",
    "next_button_selector_type",
    "url_pattern",
    "max_scrolls",
    "scroll_wait_ms",
];

/// Words people write for a key we spell differently; edit distance would not find these
/// (`rate_limit` is nothing like `min_delay_ms`).
const SYNONYMS: &[(&str, &str)] = &[
    ("rate_limit", "min_delay_ms"),
    ("delay", "min_delay_ms"),
    ("delay_ms", "min_delay_ms"),
    ("download_delay", "min_delay_ms"),
    ("wait", "min_delay_ms"),
    ("url", "start_url"),
    ("start_urls", "start_url"),
    ("selector", "item_selector"),
    ("items", "item_selector"),
    ("concurrency", "concurrent_requests"),
    ("workers", "concurrent_requests"),
    ("timeout", "timeout_seconds"),
    ("time_limit", "time_limit_seconds"),
    ("max_duration", "time_limit_seconds"),
    ("retries", "retry_count"),
    ("max_retries", "retry_count"),
    ("user_agent", "user_agents"),
    ("robots", "respect_robots_txt"),
    ("obey_robots", "respect_robots_txt"),
    ("robots_txt", "respect_robots_txt"),
    ("fetcher", "fetcher_type"),
    ("limit", "max_items"),
    ("columns", "fields"),
    ("type", "selector_type"),
    ("attr", "attribute"),
    ("default", "default_value"),
    ("xpath", "selector_type"),
    ("key", "item_key"),
    ("unique_key", "item_key"),
    ("identity", "item_key"),
    ("expectations", "expect"),
    ("gates", "expect"),
];

/// The known key the user most likely meant by `unknown`, if any is close.
pub(super) fn suggest(unknown: &str, known: &[&str]) -> Option<&'static str> {
    let lower = unknown.to_ascii_lowercase().replace('-', "_");
    if let Some((_, to)) = SYNONYMS
        .iter()
        .find(|(from, to)| *from == lower && known.contains(to))
    {
        return Some(to);
    }
    KNOWN_TOP_LEVEL_KEYS
        .iter()
        .chain(FIELD_KEYS)
        .chain(PAGINATION_KEYS)
        .chain(super::expect::EXPECT_KEYS)
        .filter(|k| known.contains(k))
        .map(|k| (strsim::jaro_winkler(&lower, k), *k))
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

pub(super) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

/// Collects problems while the document is walked.
#[derive(Default)]
pub(super) struct Problems(pub(super) Vec<SpecError>);

impl Problems {
    pub(super) fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(SpecError {
            path: path.into(),
            message: message.into(),
        });
    }

    pub(super) fn unknown_keys(&mut self, prefix: &str, map: &Map<String, Value>, known: &[&str]) {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            let message = match suggest(key, known) {
                Some(s) => format!("unknown key; did you mean `{s}`?"),
                None => format!("unknown key; expected one of: {}", known.join(", ")),
            };
            self.add(join(prefix, key), message);
        }
    }

    /// A string value, `None` when absent or null (and then, if `required`, a problem).
    fn string<'a>(
        &mut self,
        map: &'a Map<String, Value>,
        prefix: &str,
        key: &str,
        required: bool,
    ) -> Option<&'a str> {
        match map.get(key) {
            None | Some(Value::Null) => {
                if required {
                    self.add(join(prefix, key), "is required");
                }
                None
            }
            Some(Value::String(s)) => Some(s),
            Some(other) => {
                self.add(
                    join(prefix, key),
                    format!("must be text, got {}", type_name(other)),
                );
                None
            }
        }
    }

    fn boolean(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        default: bool,
    ) -> bool {
        match map.get(key) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                self.add(
                    join(prefix, key),
                    format!("must be true or false, got {}", type_name(other)),
                );
                default
            }
        }
    }

    /// A whole number in `min..=max`; `None` when absent or null.
    pub(super) fn integer(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
        min: u64,
        max: u64,
    ) -> Option<u64> {
        let path = join(prefix, key);
        let n = match map.get(key)? {
            Value::Null => return None,
            Value::Number(n) => n,
            other => {
                self.add(
                    path,
                    format!("must be a whole number, got {}", type_name(other)),
                );
                return None;
            }
        };
        let whole = n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= u64::MAX as f64)
                .map(|f| f as u64)
        });
        match whole {
            Some(v) if (min..=max).contains(&v) => Some(v),
            Some(v) => {
                self.add(path, format!("must be between {min} and {max}, got {v}"));
                None
            }
            None => {
                self.add(
                    path,
                    format!("must be a whole number between {min} and {max}, got {n}"),
                );
                None
            }
        }
    }

    fn selector_type(
        &mut self,
        map: &Map<String, Value>,
        prefix: &str,
        key: &str,
    ) -> Option<SelectorType> {
        match self.string(map, prefix, key, false) {
            None => Some(SelectorType::Css),
            Some(s) => match s.to_ascii_lowercase().as_str() {
                "css" => Some(SelectorType::Css),
                "xpath" => Some(SelectorType::XPath),
                _ => {
                    self.add(
                        join(prefix, key),
                        format!("must be `css` or `xpath`, got {s:?}"),
                    );
                    None
                }
            },
        }
    }

    /// Compiles `source` as `kind`; `None` (with a problem recorded) when it does not compile.
    fn selector(
        &mut self,
        path: String,
        source: Option<&str>,
        kind: Option<SelectorType>,
        scope: Scope,
    ) -> Option<SelectorSpec> {
        let (source, kind) = (source?, kind?);
        match Selector::compile(source, kind, scope) {
            Ok(compiled) => Some(SelectorSpec {
                source: source.to_owned(),
                kind,
                compiled,
            }),
            Err(message) => {
                self.add(path, message);
                None
            }
        }
    }
}

pub(super) fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

pub(super) fn validate(value: &Value) -> Result<JobSpec, SpecErrors> {
    let Some(doc) = value.as_object() else {
        return Err(SpecErrors(vec![SpecError {
            path: String::new(),
            message: format!(
                "a job document must be a mapping of keys to values, got {}",
                type_name(value)
            ),
        }]));
    };
    let mut p = Problems::default();
    p.unknown_keys("", doc, KNOWN_TOP_LEVEL_KEYS);

    let name = p.string(doc, "", "name", true).map(str::trim);
    match name {
        Some("") => p.add("name", "must not be empty"),
        Some(n) if n.chars().count() > 255 => p.add(
            "name",
            format!("must be at most 255 characters, got {}", n.chars().count()),
        ),
        _ => {}
    }
    let description = p.string(doc, "", "description", false).map(str::to_owned);
    if description.as_ref().is_some_and(|d| d.len() > 10_000) {
        p.add("description", "must be at most 10000 bytes");
    }

    let start_url = p
        .string(doc, "", "start_url", true)
        .and_then(|s| match parse_http_url(s) {
            Ok(u) => Some(u),
            Err(m) => {
                p.add("start_url", m);
                None
            }
        });

    let item_type = p.selector_type(doc, "", "item_selector_type");
    let item_source = p.string(doc, "", "item_selector", true);
    let item_selector = p.selector(
        "item_selector".into(),
        item_source,
        item_type,
        Scope::Document,
    );

    let fields = validate_fields(&mut p, doc.get("fields"));
    let pagination = validate_pagination(&mut p, doc.get("pagination"), start_url.as_ref());

    let max_pages = p.integer(doc, "", "max_pages", 1, 10_000).map(|v| v as u32);
    let max_items = p
        .integer(doc, "", "max_items", 1, 1_000_000)
        .map(|v| v as u32);
    let timeout_seconds = p.integer(doc, "", "timeout_seconds", 1, 300).unwrap_or(30) as u32;
    let retry_count = p.integer(doc, "", "retry_count", 0, 10).unwrap_or(3) as u32;
    let fetcher_type = match p.string(doc, "", "fetcher_type", false) {
        None => FetcherType::Auto,
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "requests" => FetcherType::Requests,
            "browser" => FetcherType::Browser,
            "auto" => FetcherType::Auto,
            _ => {
                p.add(
                    "fetcher_type",
                    format!("must be `requests`, `browser` or `auto`, got {s:?}"),
                );
                FetcherType::Auto
            }
        },
    };
    // Ten minutes between requests is already more patience than any site asks for.
    let min_delay_given = p.integer(doc, "", "min_delay_ms", 0, 600_000);
    let max_delay_given = p.integer(doc, "", "max_delay_ms", 0, 600_000);
    let min_delay_ms = min_delay_given.unwrap_or(1000);
    // A job that only raises the minimum should not trip over the default maximum.
    let max_delay_ms = max_delay_given.unwrap_or(min_delay_ms.max(3000));
    if max_delay_given.is_some() && max_delay_ms < min_delay_ms {
        p.add(
            "max_delay_ms",
            format!("must be at least min_delay_ms ({min_delay_ms}), got {max_delay_ms}"),
        );
    }
    let concurrent_requests = p
        .integer(doc, "", "concurrent_requests", 1, 32)
        .unwrap_or(1) as u32;
    let user_agents = validate_user_agents(&mut p, doc.get("user_agents"));
    let respect_robots_txt = p.boolean(doc, "", "respect_robots_txt", true);
    let load_media = p.boolean(doc, "", "load_media", false);
    // A week: longer than any run should take, short enough to catch one that never ends.
    let time_limit_seconds = p
        .integer(doc, "", "time_limit_seconds", 1, 604_800)
        .map(|v| v as u32);
    let field_names: Option<Vec<&str>> = fields
        .as_ref()
        .map(|f: &Vec<FieldSpec>| f.iter().map(|f| f.name.as_str()).collect());
    let item_key =
        super::expect::validate_item_key(&mut p, doc.get("item_key"), field_names.as_deref());
    let expect = super::expect::validate_expect(&mut p, doc.get("expect"), field_names.as_deref());

    if !p.0.is_empty() {
        return Err(SpecErrors(p.0));
    }
    // Every `None` below was reported as a problem above, so with no problems all are `Some`.
    let (Some(name), Some(start_url), Some(item_selector), Some(fields), Some(pagination)) =
        (name, start_url, item_selector, fields, pagination)
    else {
        unreachable!("a missing required value is always reported as a problem")
    };
    Ok(JobSpec {
        name: name.to_owned(),
        description,
        start_url,
        item_selector,
        fields,
        pagination,
        max_pages,
        max_items,
        timeout_seconds,
        retry_count,
        fetcher_type,
        min_delay_ms,
        max_delay_ms,
        concurrent_requests,
        user_agents,
        respect_robots_txt,
        time_limit_seconds,
        load_media,
        item_key,
        expect,
    })
}

/// An absolute http(s) URL with a host: what a job's `start_url` must be, and any page a
/// person asks to look at.
pub fn parse_http_url(s: &str) -> Result<Url, String> {
    let url = Url::parse(s.trim()).map_err(|e| format!("not a valid URL ({e}): {s:?}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "must be an http:// or https:// URL, got scheme {:?}",
            url.scheme()
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("must name a host: {s:?}"));
    }
    Ok(url)
}

fn validate_fields(p: &mut Problems, value: Option<&Value>) -> Option<Vec<FieldSpec>> {
    let list = match value {
        None | Some(Value::Null) => {
            p.add("fields", "is required: list at least one field to extract");
            return None;
        }
        Some(Value::Array(list)) => list,
        Some(other) => {
            p.add(
                "fields",
                format!("must be a list of fields, got {}", type_name(other)),
            );
            return None;
        }
    };
    if list.is_empty() {
        p.add("fields", "must list at least one field");
        return None;
    }
    let before = p.0.len();
    let mut fields = Vec::with_capacity(list.len());
    let mut names: Vec<&str> = Vec::with_capacity(list.len());
    for (i, entry) in list.iter().enumerate() {
        let prefix = format!("fields[{i}]");
        let Some(map) = entry.as_object() else {
            p.add(
                prefix,
                format!(
                    "must be a mapping with name and selector, got {}",
                    type_name(entry)
                ),
            );
            continue;
        };
        p.unknown_keys(&prefix, map, FIELD_KEYS);
        let name = p.string(map, &prefix, "name", true).map(str::trim);
        match name {
            Some("") => p.add(join(&prefix, "name"), "must not be empty"),
            Some(n) if n.chars().count() > 255 => {
                p.add(join(&prefix, "name"), "must be at most 255 characters")
            }
            Some(n) if names.contains(&n) => p.add(
                join(&prefix, "name"),
                format!(
                    "duplicate field name {n:?}; field names are column names and must be unique"
                ),
            ),
            Some(n) => names.push(n),
            None => {}
        }
        let kind = p.selector_type(map, &prefix, "selector_type");
        let source = p.string(map, &prefix, "selector", true);
        let selector = p.selector(join(&prefix, "selector"), source, kind, Scope::Item);
        let custom = p.string(map, &prefix, "custom_attribute", false);
        let attribute = match p.string(map, &prefix, "attribute", false) {
            None => Some(Attribute::Text),
            Some(a) => match a.to_ascii_lowercase().as_str() {
                "text" => Some(Attribute::Text),
                "html" => Some(Attribute::Html),
                "href" => Some(Attribute::Href),
                "src" => Some(Attribute::Src),
                "value" => Some(Attribute::Value),
                "custom" => match custom.map(str::trim) {
                    Some(c) if is_attribute_name(c) => {
                        Some(Attribute::Custom(c.to_ascii_lowercase()))
                    }
                    Some(c) => {
                        p.add(
                            join(&prefix, "custom_attribute"),
                            format!("{c:?} is not an attribute name"),
                        );
                        None
                    }
                    None => {
                        p.add(
                            join(&prefix, "custom_attribute"),
                            "is required when attribute is `custom` (the attribute to read, e.g. data-price)",
                        );
                        None
                    }
                },
                _ => {
                    p.add(
                        join(&prefix, "attribute"),
                        format!(
                            "must be one of text, html, href, src, value, custom; got {a:?} \
                             (for another attribute use `attribute: custom` with `custom_attribute: {a}`)"
                        ),
                    );
                    None
                }
            },
        };
        if custom.is_some() && !matches!(attribute, Some(Attribute::Custom(_)) | None) {
            p.add(
                join(&prefix, "custom_attribute"),
                "is only used with `attribute: custom`",
            );
        }
        let multiple = p.boolean(map, &prefix, "multiple", false);
        let required = p.boolean(map, &prefix, "required", false);
        let default_value = match map.get("default_value") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            // YAML reads `default_value: 0` as a number; the user meant the text "0".
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Some(v.to_string()),
            Some(other) => {
                p.add(
                    join(&prefix, "default_value"),
                    format!("must be text, got {}", type_name(other)),
                );
                None
            }
        };
        if let (Some(name), Some(selector), Some(attribute)) = (name, selector, attribute) {
            fields.push(FieldSpec {
                name: name.to_owned(),
                selector,
                attribute,
                multiple,
                required,
                default_value,
            });
        }
    }
    (p.0.len() == before).then_some(fields)
}

/// HTML attribute names: no spaces, quotes, `>`, `/` or `=` (HTML §13.1.2.3), and not empty.
fn is_attribute_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "\"'>/=".contains(c))
}

fn validate_pagination(
    p: &mut Problems,
    value: Option<&Value>,
    start_url: Option<&Url>,
) -> Option<Pagination> {
    let map = match value {
        None | Some(Value::Null) => return Some(Pagination::None),
        Some(Value::Object(map)) => map,
        Some(other) => {
            p.add(
                "pagination",
                format!("must be a mapping with a `type`, got {}", type_name(other)),
            );
            return None;
        }
    };
    p.unknown_keys("pagination", map, PAGINATION_KEYS);
    let before = p.0.len();
    // The earlier version saved every pagination key, null when unused; those documents must
    // keep loading, so only a *non-null* key of another pagination type is a mistake.
    let misplaced = |p: &mut Problems, key: &str, kind: &str| {
        if map.get(key).is_some_and(|v| !v.is_null()) {
            p.add(
                format!("pagination.{key}"),
                format!("is only used with `type: {kind}`"),
            );
        }
    };
    // The earlier version always wrote max_scrolls/scroll_wait_ms with their defaults, so these
    // are checked for range but allowed with any type.
    let max_scrolls = p
        .integer(map, "pagination", "max_scrolls", 1, 1000)
        .unwrap_or(10) as u32;
    let scroll_wait_ms = p
        .integer(map, "pagination", "scroll_wait_ms", 0, 60_000)
        .unwrap_or(1000);
    let kind = p
        .string(map, "pagination", "type", false)
        .unwrap_or("none")
        .to_ascii_lowercase();
    let result = match kind.as_str() {
        "none" => {
            misplaced(p, "next_button_selector", "next_button");
            misplaced(p, "url_pattern", "url_pattern");
            Some(Pagination::None)
        }
        "next_button" => {
            misplaced(p, "url_pattern", "url_pattern");
            let st = p.selector_type(map, "pagination", "next_button_selector_type");
            let source = p.string(map, "pagination", "next_button_selector", true);
            p.selector(
                "pagination.next_button_selector".into(),
                source,
                st,
                Scope::Document,
            )
            .map(|selector| Pagination::NextButton { selector })
        }
        "url_pattern" => {
            misplaced(p, "next_button_selector", "next_button");
            let pattern = p.string(map, "pagination", "url_pattern", true);
            match (pattern, start_url) {
                (Some(pat), _) if !pat.contains("{page}") => {
                    p.add(
                        "pagination.url_pattern",
                        format!("must contain `{{page}}` where the page number goes, got {pat:?}"),
                    );
                    None
                }
                (Some(pat), Some(start)) => match paginate::pattern_url(start, pat, 2) {
                    Ok(_) => Some(Pagination::UrlPattern {
                        pattern: pat.to_owned(),
                    }),
                    Err(e) => {
                        p.add("pagination.url_pattern", e);
                        None
                    }
                },
                // Without a valid start URL the pattern cannot be checked; that problem is
                // already reported.
                (Some(pat), None) => Some(Pagination::UrlPattern {
                    pattern: pat.to_owned(),
                }),
                (None, _) => None,
            }
        }
        "infinite_scroll" => {
            misplaced(p, "next_button_selector", "next_button");
            misplaced(p, "url_pattern", "url_pattern");
            Some(Pagination::InfiniteScroll {
                max_scrolls,
                scroll_wait_ms,
            })
        }
        other => {
            p.add(
                "pagination.type",
                format!(
                    "must be one of none, next_button, url_pattern, infinite_scroll; got {other:?}"
                ),
            );
            None
        }
    };
    (p.0.len() == before).then_some(result).flatten()
}

fn validate_user_agents(p: &mut Problems, value: Option<&Value>) -> Vec<String> {
    let defaults = || DEFAULT_USER_AGENTS.iter().map(|s| s.to_string()).collect();
    let list = match value {
        None | Some(Value::Null) => return defaults(),
        // One agent as plain text is a common shorthand.
        Some(one @ Value::String(_)) => vec![one],
        Some(Value::Array(list)) => list.iter().collect(),
        Some(other) => {
            p.add(
                "user_agents",
                format!(
                    "must be a list of user-agent strings, got {}",
                    type_name(other)
                ),
            );
            return defaults();
        }
    };
    if list.is_empty() {
        p.add("user_agents", "must list at least one user agent");
        return defaults();
    }
    let mut agents = Vec::with_capacity(list.len());
    for (i, v) in list.into_iter().enumerate() {
        let path = format!("user_agents[{i}]");
        match v {
            Value::String(s) if s.trim().is_empty() => p.add(path, "must not be empty"),
            // A newline in a header value would let a job inject headers.
            Value::String(s) if s.chars().any(char::is_control) => p.add(
                path,
                "must not contain control characters (such as newlines)",
            ),
            Value::String(s) if s.len() > 512 => p.add(path, "must be at most 512 bytes"),
            Value::String(s) => agents.push(s.trim().to_owned()),
            other => p.add(path, format!("must be text, got {}", type_name(other))),
        }
    }
    agents
}
