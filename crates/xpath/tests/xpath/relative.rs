//! Item-relative mode: field selectors are relative to the item element even when
//! written `//x`; a single leading `/` asks for the whole document.

use grandma_xpath::{Document, XPath};
use scraper::Html;

use crate::common::*;

const PAGE: &str = "<html><body><h2>Header</h2>\
    <div class=item id=i1><h2>A</h2><a href='/a'>x</a><span>1</span></div>\
    <div class=item id=i2><h2>B</h2><a href='/b'>y</a><a href='/b2'>z</a></div>\
    <footer><a href='/f'>f</a></footer></body></html>";

const ITEMS: &str = "//div[@class='item']";

fn field(src: &str) -> Vec<Vec<String>> {
    per_item(PAGE, ITEMS, src)
}

fn one(items: &[&[&str]]) -> Vec<Vec<String>> {
    items.iter().map(|i| strs(i)).collect()
}

#[test]
fn leading_double_slash_starts_at_the_item() {
    assert_eq!(field("//h2"), one(&[&["h2"], &["h2"]]));
    assert_eq!(field("//h2/text()"), one(&[&["\"A\""], &["\"B\""]]));
    assert_eq!(
        field("//a/@href"),
        one(&[&["@href=/a"], &["@href=/b", "@href=/b2"]])
    );
    assert_eq!(field("string(//h2)"), one(&[&["A"], &["B"]]));
    assert_eq!(
        field("//*"),
        one(&[&["h2", "a", "span"], &["h2", "a", "a"]])
    );
    assert_eq!(
        field("(//a)[last()]/@href"),
        one(&[&["@href=/a"], &["@href=/b2"]])
    );
}

#[test]
fn applies_inside_unions_and_function_arguments() {
    assert_eq!(field("//h2 | //span"), one(&[&["h2", "span"], &["h2"]]));
    assert_eq!(field("count(//a)"), one(&[&["1"], &["2"]]));
    assert_eq!(
        field("concat(//h2, ':', count(//a | //span))"),
        one(&[&["A:2"], &["B:2"]])
    );
    assert_eq!(field("normalize-space(//a[2])"), one(&[&[""], &["z"]]));
    assert_eq!(
        field("//a[starts-with(@href, '/b')]"),
        one(&[&[], &["a", "a"]])
    );
    assert_eq!(field("boolean(//span)"), one(&[&["true"], &["false"]]));
}

#[test]
fn paths_inside_predicates_stay_document_absolute() {
    // The page has four <a> in total; inside the predicate `//a` is the whole document.
    assert_eq!(field("//h2[count(//a) = 4]"), one(&[&["h2"], &["h2"]]));
    assert_eq!(field("//h2[count(//a) = 2]"), one(&[&[], &[]]));
    assert_eq!(field("//a[. = //footer/a]"), one(&[&[], &[]]));
    assert_eq!(field("//a[//footer]"), one(&[&["a"], &["a", "a"]]));
}

#[test]
fn single_slash_stays_document_absolute() {
    assert_eq!(field("/html/body/h2"), one(&[&["h2"], &["h2"]]));
    assert_eq!(
        field("string(/html/body/h2)"),
        one(&[&["Header"], &["Header"]])
    );
    assert_eq!(field("count(/html/body//a)"), one(&[&["4"], &["4"]]));
    assert_eq!(
        field("//a | /html/body/footer/a"),
        one(&[&["a", "a"], &["a", "a", "a"]])
    );
    assert_eq!(field("name(/*)"), one(&[&["html"], &["html"]]));
}

#[test]
fn relative_paths_are_unchanged() {
    assert_eq!(field("h2"), one(&[&["h2"], &["h2"]]));
    assert_eq!(field(".//a[1]/@href"), one(&[&["@href=/a"], &["@href=/b"]]));
    assert_eq!(field("@id"), one(&[&["@id=i1"], &["@id=i2"]]));
    assert_eq!(field("a[2]"), one(&[&[], &["a"]]));
    // Axes may still leave the item when asked to.
    assert_eq!(field("count(following::a)"), one(&[&["3"], &["1"]]));
    assert_eq!(
        field("../h2/text()"),
        one(&[&["\"Header\""], &["\"Header\""]])
    );
}

#[test]
fn document_mode_keeps_standard_semantics() {
    let html = Html::parse_document(PAGE);
    let doc = Document::new(&html);
    let item = XPath::parse("//div[@id='i1']")
        .unwrap()
        .evaluate(&doc, doc.root())
        .unwrap();
    let item = item.into_nodes().unwrap()[0].tree_node().unwrap();
    let plain = XPath::parse("count(//h2)").unwrap();
    let relative = XPath::parse_relative("count(//h2)").unwrap();
    assert_eq!(plain.evaluate(&doc, item).unwrap().to_number(), 3.0);
    assert_eq!(relative.evaluate(&doc, item).unwrap().to_number(), 1.0);
    assert!(!plain.is_relative());
    assert!(relative.is_relative());
    assert_eq!(relative.source(), "count(//h2)");
}
