//! CSS that browsers accept does not fail a job: `:nth-child(An+B of S)`, `:link`/`:any-link`,
//! `:lang()`, `:checked`/`:disabled`/`:enabled`; a pseudo-element matches nothing, with a
//! warning.

use grandma_engine::extract::extract_page;
use grandma_engine::{FieldValue, JobSpec};
use url::Url;

const PAGE: &str = r#"<html lang="en"><body>
<ul>
  <li class="x">one</li><li>two</li><li class="x">three</li><li class="x">four</li>
</ul>
<p><a href="/a">linked</a><a name="anchor">not a link</a></p>
<div lang="fr"><span>bonjour</span><span lang="de">hallo</span></div>
<form>
  <input type="checkbox" value="c1" checked><input type="CHECKBOX" value="c2">
  <input type="radio" value="r1" checked>
  <select><option value="o1">O1</option><option value="o2" selected>O2</option></select>
  <button disabled value="b1">B1</button><button value="b2">B2</button>
</form>
</body></html>"#;

/// The text (or `value`) of every element `selector` matches, and the page's warnings.
fn matched(selector: &str, attribute: &str) -> (Vec<String>, Vec<String>) {
    let yaml = format!(
        "name: t\nstart_url: http://127.0.0.1/\nitem_selector: {selector:?}\n\
         fields:\n  - {{name: f, selector: '.', selector_type: xpath, attribute: {attribute}}}\n"
    );
    let spec = JobSpec::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let out = extract_page(&spec, PAGE, &Url::parse("http://127.0.0.1/").unwrap());
    let values = out
        .items
        .iter()
        .map(|i| match &i.values[0] {
            FieldValue::Text(t) => t.clone(),
            other => format!("{other:?}"),
        })
        .collect();
    (values, out.warnings)
}

fn texts(selector: &str) -> Vec<String> {
    let (values, warnings) = matched(selector, "text");
    assert!(warnings.is_empty(), "{selector}: {warnings:?}");
    values
}

#[test]
fn nth_child_of_a_selector() {
    assert_eq!(texts("li:nth-child(2 of .x)"), ["three"]);
    assert_eq!(texts("li:nth-last-child(1 of .x)"), ["four"]);
    assert_eq!(texts("li:nth-child(odd of .x)"), ["one", "four"]);
}

#[test]
fn links_and_languages() {
    assert_eq!(texts("p :link"), ["linked"]);
    assert_eq!(texts("p :any-link"), ["linked"]);
    assert_eq!(texts("a:not(:link)"), ["not a link"]);
    assert_eq!(texts("span:lang(fr)"), ["bonjour"]);
    assert_eq!(texts("span:lang(\"de\")"), ["hallo"]);
    assert_eq!(texts("p:lang(en)"), ["linkednot a link"]);
}

#[test]
fn form_states() {
    let values = |s: &str| {
        let (v, w) = matched(s, "value");
        assert!(w.is_empty(), "{w:?}");
        v
    };
    assert_eq!(values(":checked"), ["c1", "r1", "o2"]);
    assert_eq!(values("button:disabled"), ["b1"]);
    assert_eq!(values("button:enabled"), ["b2"]);
    assert_eq!(values("input:enabled:not(:checked)"), ["c2"]);
}

#[test]
fn a_pseudo_element_matches_nothing_with_a_warning() {
    for selector in ["li::before", "li:after", "p::first-line, li.x"] {
        let (values, warnings) = matched(selector, "text");
        if selector.contains("li.x") {
            assert_eq!(values, ["one", "three", "four"]);
        } else {
            assert!(values.is_empty(), "{selector}: {values:?}");
        }
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("item_selector: `::") && w.contains("is a pseudo-element")),
            "{selector}: {warnings:?}"
        );
    }
}
