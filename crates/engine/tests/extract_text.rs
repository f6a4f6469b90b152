//! Values read as the page does: text without scripts, styles and templates, with line breaks
//! and blocks as spaces; template contents never matched; one whitespace rule for attribute
//! values; attributes in source order.

use grandma_engine::extract::extract_page;
use grandma_engine::{FieldValue, JobSpec};
use url::Url;

/// The values of field `f` (with `extra` field keys) of every item.
fn values(page: &str, item: &str, kind: &str, field: &str, extra: &str) -> Vec<String> {
    let yaml = format!(
        "name: t\nstart_url: http://127.0.0.1/\nitem_selector: {item:?}\nitem_selector_type: {kind}\n\
         fields:\n  - {{name: f, selector: {field:?}, selector_type: {kind}{extra}}}\n"
    );
    let spec = JobSpec::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let out = extract_page(&spec, page, &Url::parse("http://127.0.0.1/").unwrap());
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    out.items
        .iter()
        .map(|i| match &i.values[0] {
            FieldValue::Text(t) => t.clone(),
            other => panic!("{other:?}"),
        })
        .collect()
}

#[test]
fn text_leaves_out_what_is_not_shown_and_separates_blocks() {
    let page = "<div class=i><p>a<br>b</p><p>c</p><b>d</b>e<script>var x = 1;</script>\
                <style>p { color: red }</style><noscript>enable js</noscript>\
                <template><span>hidden</span></template><ul><li>f</li><li>g</li></ul>\
                <table><tr><td>h</td><td>i</td></tr></table></div>";
    for (item, kind) in [("div.i", "css"), ("//div[@class='i']", "xpath")] {
        let field = if kind == "css" { "p" } else { "./p" };
        assert_eq!(values(page, item, kind, field, ""), ["a b"], "{kind}");
        let whole = if kind == "css" { ":scope" } else { "." };
        if kind == "xpath" {
            assert_eq!(values(page, item, kind, whole, ""), ["a b c de f g h i"]);
        }
    }
}

#[test]
fn template_contents_are_never_matched() {
    let page = "<div class=card><h2>Shown</h2></div>\
                <template><div class=card><h2>Hidden</h2></div></template>";
    assert_eq!(values(page, ".card", "css", "h2", ""), ["Shown"]);
    assert_eq!(
        values(page, "div.card, template div", "css", "h2", ""),
        ["Shown"]
    );
    assert_eq!(
        values(page, "//div[@class='card']", "xpath", "h2", ""),
        ["Shown"]
    );
    assert_eq!(values(page, "//h2/..", "xpath", "//h2", ""), ["Shown"]);
}

#[test]
fn attribute_values_follow_one_whitespace_rule() {
    let page = "<div class=i><a title=\"a  b\n c\" href=\"/x\">x</a>\
                <input value=\"  one \t two \"></div>";
    let custom = ", attribute: custom, custom_attribute: title";
    assert_eq!(values(page, "div.i", "css", "a", custom), ["a b c"]);
    assert_eq!(values(page, "//div", "xpath", ".//a/@title", ""), ["a b c"]);
    assert_eq!(values(page, "//div", "xpath", ".//a", custom), ["a b c"]);
    assert_eq!(
        values(page, "div.i", "css", "input", ", attribute: value"),
        ["one two"]
    );
}

#[test]
fn html_keeps_attributes_in_source_order() {
    let page = "<div class=i><a zeta=\"1\" href=\"/x\" alpha=\"3\">x</a></div>";
    assert_eq!(
        values(page, "div.i", "css", "a", ", attribute: html"),
        ["x"]
    );
    let html = values(page, "//body", "xpath", "./div", ", attribute: html");
    assert_eq!(html, [r#"<a zeta="1" href="/x" alpha="3">x</a>"#]);
}

#[test]
fn one_url_rule_for_nodes_and_strings() {
    let page = "<div class=i><a href=\"/x\" title=\"/t\">x</a></div>";
    let absolute = ["http://127.0.0.1/x"];
    assert_eq!(values(page, "//div", "xpath", ".//a/@href", ""), absolute);
    assert_eq!(
        values(page, "//div", "xpath", "string(.//a/@href)", ""),
        absolute
    );
    assert_eq!(values(page, "//div", "xpath", "//a/@href", ""), absolute);
    assert_eq!(
        values(page, "//div", "xpath", "string(//a/@href)", ""),
        absolute
    );
    // Other attributes and computed strings are made absolute when the field asks for a URL.
    assert_eq!(
        values(page, "//div", "xpath", "string(.//a/@title)", ""),
        ["/t"]
    );
    assert_eq!(
        values(
            page,
            "//div",
            "xpath",
            "concat(.//a/@title, '')",
            ", attribute: href"
        ),
        ["http://127.0.0.1/t"]
    );
    assert_eq!(
        values(page, "//div", "xpath", "concat(.//a/@href, '')", ""),
        ["/x"]
    );
}
