//! Job documents: defaults, round trips, and one test of the message for each kind of mistake.

use grandma_engine::JobSpec;
use grandma_engine::spec::{Attribute, FetcherType, Pagination, SelectorType};

const MINIMAL: &str = r#"
name: Quotes
start_url: https://quotes.example/
item_selector: div.quote
fields:
  - name: text
    selector: span.text
"#;

/// The messages of a document that must fail, as `path: message` lines.
fn problems(yaml: &str) -> Vec<String> {
    match JobSpec::from_yaml_str(yaml) {
        Ok(_) => panic!("expected problems in:\n{yaml}"),
        Err(e) => e.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn defaults_follow_the_features_table() {
    let spec = JobSpec::from_yaml_str(MINIMAL).unwrap();
    assert_eq!(spec.name, "Quotes");
    assert_eq!(spec.item_selector.kind, SelectorType::Css);
    assert!(matches!(spec.pagination, Pagination::None));
    assert_eq!(spec.max_pages, None);
    assert_eq!(spec.max_items, None);
    assert_eq!(spec.timeout_seconds, 30);
    assert_eq!(spec.retry_count, 3);
    assert_eq!(spec.fetcher_type, FetcherType::Auto);
    assert_eq!((spec.min_delay_ms, spec.max_delay_ms), (1000, 3000));
    assert_eq!(spec.concurrent_requests, 1);
    assert!(!spec.user_agents.is_empty());
    assert!(spec.respect_robots_txt);
    assert!(
        !spec.load_media,
        "the browser blocks images, media and fonts unless asked"
    );
    let f = &spec.fields[0];
    assert_eq!(f.attribute, Attribute::Text);
    assert!(!f.multiple && !f.required && f.default_value.is_none());
}

#[test]
fn json_and_yaml_give_the_same_job_and_to_value_round_trips() {
    let yaml = JobSpec::from_yaml_str(MINIMAL).unwrap();
    let json_text = serde_json::to_string(&yaml.to_value()).unwrap();
    let json = JobSpec::from_json_str(&json_text).unwrap();
    assert_eq!(json.to_value(), yaml.to_value());
}

#[test]
fn the_earlier_versions_documents_still_load() {
    // The Python version saved every key, with nulls for unused ones.
    let doc = r#"{
      "name": "Books", "description": null, "start_url": "https://books.example/",
      "item_selector": "article", "item_selector_type": "css",
      "fields": [{"name": "t", "selector": "h3 a", "selector_type": "css", "attribute": "text",
                  "custom_attribute": null, "multiple": false, "required": false, "default_value": null}],
      "pagination": {"type": "none", "next_button_selector": null, "url_pattern": null,
                     "max_scrolls": 10, "scroll_wait_ms": 1000},
      "max_pages": null, "max_items": null, "timeout_seconds": 30, "retry_count": 3,
      "fetcher_type": "auto", "min_delay_ms": 1000, "max_delay_ms": 3000, "concurrent_requests": 1,
      "user_agents": ["Mozilla/5.0"], "respect_robots_txt": true
    }"#;
    JobSpec::from_json_str(doc).unwrap();
}

#[test]
fn malformed_yaml_is_reported_with_its_position() {
    let p = problems("name: [unclosed\nstart_url: x\n");
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("not valid YAML:"), "{p:?}");
    assert!(p[0].contains("line"), "{p:?}");
}

#[test]
fn a_document_that_is_not_a_mapping() {
    assert_eq!(
        problems("- just\n- a list\n"),
        vec!["a job document must be a mapping of keys to values, got a list"]
    );
}

#[test]
fn unknown_keys_name_the_key_and_suggest_the_known_one() {
    let p = problems(&format!("{MINIMAL}rate_limit: 5\nmax_page: 3\nfoo: 1\n"));
    assert_eq!(
        p[0],
        "rate_limit: unknown key; did you mean `min_delay_ms`?"
    );
    assert_eq!(p[1], "max_page: unknown key; did you mean `max_pages`?");
    assert!(p[2].starts_with("foo: unknown key; expected one of: name, description"));

    let p = problems(
        "name: x\nstart_url: https://a.example/\nitem_selector: a\nfields:\n  - {name: n, selector: b, atribute: href}\n",
    );
    assert_eq!(
        p,
        vec!["fields[0].atribute: unknown key; did you mean `attribute`?"]
    );
}

#[test]
fn bad_selectors_are_reported_with_the_field_path_before_any_fetch() {
    let p = problems(
        r#"
name: x
start_url: https://a.example/
item_selector: "div[["
fields:
  - {name: a, selector: "span"}
  - {name: b, selector: "p"}
  - {name: c, selector: "//p[", selector_type: xpath}
  - {name: d, selector: "unknown-fn(.)", selector_type: xpath}
pagination: {type: next_button, next_button_selector: "li.next >"}
"#,
    );
    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        p[0].starts_with("item_selector: invalid CSS selector \"div[[\""),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("fields[2].selector: invalid XPath \"//p[\""),
        "{p:?}"
    );
    assert!(
        p[2].starts_with("fields[3].selector: invalid XPath"),
        "{p:?}"
    );
    assert!(p[2].contains("unknown-fn"), "{p:?}");
    assert!(
        p[3].starts_with("pagination.next_button_selector: invalid CSS selector"),
        "{p:?}"
    );
}

#[test]
fn bad_urls() {
    for (url, expect) in [
        (
            "ftp://files.example/",
            "must be an http:// or https:// URL, got scheme \"ftp\"",
        ),
        ("not a url", "not a valid URL"),
        ("file:///etc/passwd", "must be an http:// or https:// URL"),
        ("/relative/path", "not a valid URL"),
    ] {
        let p = problems(&MINIMAL.replace("https://quotes.example/", url));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].starts_with("start_url: "), "{p:?}");
        assert!(p[0].contains(expect), "{url}: {p:?}");
    }
}

#[test]
fn load_media_is_a_boolean_that_round_trips() {
    let spec = JobSpec::from_yaml_str(&format!("{MINIMAL}load_media: true\n")).unwrap();
    assert!(spec.load_media);
    assert!(JobSpec::from_value(&spec.to_value()).unwrap().load_media);
    assert_eq!(
        problems(&format!("{MINIMAL}load_media: images\n")),
        vec!["load_media: must be true or false, got text"]
    );
}

#[test]
fn wrong_types() {
    let p = problems(&format!(
        "{MINIMAL}max_pages: ten\nrespect_robots_txt: \"yes\"\nuser_agents: 5\ntimeout_seconds: 2.5\n"
    ));
    assert_eq!(
        p,
        vec![
            "max_pages: must be a whole number, got text",
            "timeout_seconds: must be a whole number between 1 and 300, got 2.5",
            "user_agents: must be a list of user-agent strings, got a number",
            "respect_robots_txt: must be true or false, got text",
        ]
    );
    let p =
        problems("name: x\nstart_url: https://a.example/\nitem_selector: a\nfields: {name: a}\n");
    assert_eq!(p, vec!["fields: must be a list of fields, got a mapping"]);
}

#[test]
fn out_of_range_numbers() {
    let p = problems(&format!(
        "{MINIMAL}max_pages: 0\nmax_items: 2000000\ntimeout_seconds: 301\nretry_count: 11\nconcurrent_requests: 33\nmin_delay_ms: 500\nmax_delay_ms: 100\n"
    ));
    assert_eq!(
        p,
        vec![
            "max_pages: must be between 1 and 10000, got 0",
            "max_items: must be between 1 and 1000000, got 2000000",
            "timeout_seconds: must be between 1 and 300, got 301",
            "retry_count: must be between 0 and 10, got 11",
            "max_delay_ms: must be at least min_delay_ms (500), got 100",
            "concurrent_requests: must be between 1 and 32, got 33",
        ]
    );
    // Raising only the minimum moves the default maximum with it.
    let spec = JobSpec::from_yaml_str(&format!("{MINIMAL}min_delay_ms: 5000\n")).unwrap();
    assert_eq!((spec.min_delay_ms, spec.max_delay_ms), (5000, 5000));
}

#[test]
fn every_problem_is_reported_together() {
    let p = problems("description: 5\nfields: []\npagination: {type: sideways}\n");
    assert_eq!(
        p,
        vec![
            "name: is required",
            "description: must be text, got a number",
            "start_url: is required",
            "item_selector: is required",
            "fields: must list at least one field",
            "pagination.type: must be one of none, next_button, url_pattern, infinite_scroll; got \"sideways\"",
        ]
    );
}

#[test]
fn field_rules() {
    let p = problems(
        r#"
name: x
start_url: https://a.example/
item_selector: a
fields:
  - {name: a, selector: b}
  - {name: a, selector: c}
  - {name: "", selector: d}
  - {name: e, selector: f, attribute: custom}
  - {name: g, selector: h, attribute: data-price}
  - {name: i, selector: j, custom_attribute: title}
  - {selector: k}
  - just text
"#,
    );
    assert_eq!(
        p,
        vec![
            "fields[1].name: duplicate field name \"a\"; field names are column names and must be unique",
            "fields[2].name: must not be empty",
            "fields[3].custom_attribute: is required when attribute is `custom` (the attribute to read, e.g. data-price)",
            "fields[4].attribute: must be one of text, html, href, src, value, custom; got \"data-price\" (for another attribute use `attribute: custom` with `custom_attribute: data-price`)",
            "fields[5].custom_attribute: is only used with `attribute: custom`",
            "fields[6].name: is required",
            "fields[7]: must be a mapping with name and selector, got text",
        ]
    );
}

#[test]
fn pagination_rules() {
    let with = |p: &str| format!("{MINIMAL}pagination: {p}\n");
    assert_eq!(
        problems(&with("{type: url_pattern, url_pattern: '/list/2'}")),
        vec![
            "pagination.url_pattern: must contain `{page}` where the page number goes, got \"/list/2\""
        ]
    );
    assert_eq!(
        problems(&with("{type: next_button}")),
        vec!["pagination.next_button_selector: is required"]
    );
    assert_eq!(
        problems(&with("{type: none, url_pattern: '?p={page}'}")),
        vec!["pagination.url_pattern: is only used with `type: url_pattern`"]
    );
    assert_eq!(
        problems(&with("{type: infinite_scroll, max_scrolls: 0}")),
        vec!["pagination.max_scrolls: must be between 1 and 1000, got 0"]
    );
    let spec =
        JobSpec::from_yaml_str(&with("{type: url_pattern, url_pattern: '?page={page}'}")).unwrap();
    assert!(matches!(spec.pagination, Pagination::UrlPattern { .. }));
}

#[test]
fn hostile_documents() {
    // A header injection through the user agent.
    let p = problems(&format!("{MINIMAL}user_agents: [\"ok\\r\\nX-Evil: 1\"]\n"));
    assert_eq!(
        p,
        vec!["user_agents[0]: must not contain control characters (such as newlines)"]
    );
    // An oversized document is refused before parsing.
    let big = format!(
        "{MINIMAL}description: \"{}\"\n",
        "x".repeat(2 * 1024 * 1024)
    );
    let p = problems(&big);
    assert!(p[0].contains("the limit is 1048576"), "{p:?}");
    // Deep nesting is refused by the parser, not a stack overflow.
    let deep = format!(
        "{MINIMAL}pagination: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    assert!(JobSpec::from_yaml_str(&deep).is_err());
    // YAML alias expansion ("billion laughs") does not blow up.
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .windows(2)
        .map(|w| (w[0], w[1]))
    {
        laughs.push_str(&format!(
            "{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"
        ));
    }
    assert!(JobSpec::from_yaml_str(&laughs).is_err());
}

#[test]
fn time_limit_is_optional_and_bounded() {
    assert_eq!(
        JobSpec::from_yaml_str(MINIMAL).unwrap().time_limit_seconds,
        None
    );
    let spec = JobSpec::from_yaml_str(&format!("{MINIMAL}time_limit_seconds: 600\n")).unwrap();
    assert_eq!(spec.time_limit_seconds, Some(600));
    assert_eq!(
        problems(&format!("{MINIMAL}time_limit_seconds: 0\n")),
        vec!["time_limit_seconds: must be between 1 and 604800, got 0"]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}time_limit: 60\n")),
        vec!["time_limit: unknown key; did you mean `time_limit_seconds`?"]
    );
}

#[test]
fn very_deep_nesting_is_refused_quickly_with_a_clear_error() {
    for deep in [
        format!("{MINIMAL}pagination: {}\n", "[".repeat(100_000)),
        format!("{MINIMAL}pagination:\n{}x\n", "- ".repeat(100_000)),
        format!(
            "{MINIMAL}x: {}{}\n",
            "{a: ".repeat(50_000),
            "}".repeat(50_000)
        ),
    ] {
        let started = std::time::Instant::now();
        let p = problems(&deep);
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "took {:?}",
            started.elapsed()
        );
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].starts_with("the document nests lists and mappings deeper than 64 levels"),
            "{p:?}"
        );
    }
    // JSON's parser stops at its own depth limit, quickly too.
    let started = std::time::Instant::now();
    let json = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let e = JobSpec::from_json_str(&json).unwrap_err().to_string();
    assert!(e.contains("recursion limit exceeded"), "{e}");
    assert!(started.elapsed() < std::time::Duration::from_secs(1));
}

#[test]
fn numbers_that_are_not_finite_are_refused_not_defaulted() {
    for (value, shown) in [(".inf", "inf"), ("-.inf", "-inf"), (".nan", "NaN")] {
        let p = problems(&format!("{MINIMAL}max_pages: {value}\n"));
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(
            p[0].contains(&format!("{shown} is not a number a job document can use")),
            "{value}: {p:?}"
        );
    }
    // In a field too, where a number is taken as text.
    let p = problems(&format!("{MINIMAL}    default_value: .nan\n"));
    assert!(p[0].contains("NaN is not a number"), "{p:?}");
}

#[test]
fn a_byte_order_mark_is_accepted() {
    let yaml = format!("\u{feff}{MINIMAL}");
    assert_eq!(JobSpec::from_yaml_str(&yaml).unwrap().name, "Quotes");
    let json = JobSpec::from_yaml_str(MINIMAL)
        .unwrap()
        .to_value()
        .to_string();
    let spec = JobSpec::from_json_str(&format!("\u{feff}{json}")).unwrap();
    assert_eq!(spec.name, "Quotes");
}

#[test]
fn duplicate_keys_are_refused_naming_the_key() {
    let p = problems(&format!("{MINIMAL}max_pages: 2\nmax_pages: 3\n"));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("the key \"max_pages\" appears twice in the same mapping"),
        "{p:?}"
    );
    let p = problems(&format!("{MINIMAL}    selector: b\n"));
    assert!(p[0].contains("the key \"selector\" appears twice"), "{p:?}");
    let json = r#"{"name": "a", "name": "b", "start_url": "https://x.example/",
                   "item_selector": "li", "fields": [{"name": "t", "selector": "a"}]}"#;
    let e = JobSpec::from_json_str(json).unwrap_err().to_string();
    assert!(e.contains("the key \"name\" appears twice"), "{e}");
    // The same key in different mappings is fine.
    let ok = format!("{MINIMAL}  - name: other\n    selector: b\n");
    assert_eq!(JobSpec::from_yaml_str(&ok).unwrap().fields.len(), 2);
}

#[test]
fn item_key_names_fields_of_the_job_and_round_trips() {
    let job = format!(
        "{MINIMAL}  - name: link\n    selector: a\n    attribute: href\nitem_key: [link, text]\n"
    );
    let spec = JobSpec::from_yaml_str(&job).unwrap();
    assert_eq!(
        spec.item_key,
        Some(vec!["link".to_owned(), "text".to_owned()])
    );
    let again = JobSpec::from_value(&spec.to_value()).unwrap();
    assert_eq!(again.item_key, spec.item_key);
    // One name alone is a one-field key.
    let one = JobSpec::from_yaml_str(&format!("{MINIMAL}item_key: text\n")).unwrap();
    assert_eq!(one.item_key, Some(vec!["text".to_owned()]));
    assert_eq!(JobSpec::from_yaml_str(MINIMAL).unwrap().item_key, None);
}

#[test]
fn item_key_mistakes_are_reported_with_the_others() {
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: [txt]\nmax_pages: 0\n")),
        vec![
            "max_pages: must be between 1 and 10000, got 0",
            "item_key[0]: \"txt\" is not one of the job's fields; did you mean `text`?",
        ]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: [zzz]\n")),
        vec!["item_key[0]: \"zzz\" is not one of the job's fields (text)"]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: []\n")),
        vec!["item_key: must name at least one field"]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: [text, text]\n")),
        vec!["item_key[1]: \"text\" is named twice"]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: {{a: 1}}\n")),
        vec!["item_key: must be a list of field names, got a mapping"]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: [1]\n")),
        vec!["item_key[0]: must be a field name, got a number"]
    );
    let many: Vec<String> = (0..17).map(|_| "text".to_owned()).collect();
    assert_eq!(
        problems(&format!("{MINIMAL}item_key: [{}]\n", many.join(", "))),
        vec!["item_key: must name at most 16 fields, got 17"]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}unique_key: [text]\n")),
        vec!["unique_key: unknown key; did you mean `item_key`?"]
    );
}

#[test]
fn expect_sets_the_quality_gates() {
    let spec = JobSpec::from_yaml_str(&format!(
        "{MINIMAL}expect:\n  min_items: 20\n  fields_filled: {{text: 0.9}}\n  max_failed_pages: 0.1\n"
    ))
    .unwrap();
    assert_eq!(spec.expect.min_items, Some(20));
    assert_eq!(spec.expect.fields_filled, vec![("text".to_owned(), 0.9)]);
    assert_eq!(spec.expect.max_failed_pages, Some(0.1));
    let again = JobSpec::from_value(&spec.to_value()).unwrap();
    assert_eq!(again.expect, spec.expect);
    assert!(JobSpec::from_yaml_str(MINIMAL).unwrap().expect.is_empty());
}

#[test]
fn expect_mistakes_are_reported_with_the_others() {
    assert_eq!(
        problems(&format!(
            "{MINIMAL}expect:\n  min_item: 3\n  min_items: 0\n  fields_filled: {{txt: 0.5, text: 90}}\n  max_failed_pages: true\n"
        )),
        vec![
            "expect.min_item: unknown key; did you mean `min_items`?",
            "expect.min_items: must be between 1 and 1000000, got 0",
            "expect.max_failed_pages: must be a share between 0 and 1 (0.9 for 90%), got true/false",
            "expect.fields_filled.txt: \"txt\" is not one of the job's fields; did you mean `text`?",
            "expect.fields_filled.text: must be a share between 0 and 1 (0.9 for 90%), got 90",
        ]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}expect: 20\n")),
        vec![
            "expect: must be a mapping (min_items, fields_filled, max_failed_pages), got a number"
        ]
    );
    assert_eq!(
        problems(&format!("{MINIMAL}expect: {{fields_filled: [text]}}\n")),
        vec![
            "expect.fields_filled: must be a mapping of field names to shares ({price: 0.9}), got a list"
        ]
    );
}
