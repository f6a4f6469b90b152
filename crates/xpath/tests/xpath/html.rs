//! HTML specifics: document order on trees html5ever rebuilt, case-insensitive names, SVG
//! namespaces, attribute and text results, and the public node/value API.

use grandma_xpath::{Document, Value, XNode, XPath};
use scraper::Html;

use crate::common::*;

/// `<b><i>x</b>y</i>`: the adoption agency closes `<i>` inside `<b>` and reopens a new `<i>`
/// for "y" after it.
const MISNESTED: &str = "<p id=m><b><i>x</b>y</i></p>";

/// Text and a `<p>` inside a table are foster-parented in front of it, although the parser
/// creates them after the table's nodes (so their node ids are larger).
const FOSTERED: &str =
    "<table id=t><tr><td>cell</td></tr>foster<p>para</p></table><div>after</div>";

#[test]
fn misnested_formatting_elements_keep_document_order() {
    assert_eq!(nodes(MISNESTED, "id('m')/node()"), strs(&["b", "i"]));
    assert_eq!(values(MISNESTED, "//i"), strs(&["x", "y"]));
    assert_eq!(nodes(MISNESTED, "//i | //b"), strs(&["b", "i", "i"]));
    assert_eq!(
        nodes(MISNESTED, "//text() | //i"),
        strs(&["i", "\"x\"", "i", "\"y\""])
    );
    assert_eq!(string(MISNESTED, "string(id('m'))"), "xy");
    assert_eq!(nodes(MISNESTED, "//i[2]"), strs(&[]));
    assert_eq!(
        nodes(MISNESTED, "(//i)[2]/preceding::node()"),
        strs(&["head", "b", "i", "\"x\""])
    );
}

#[test]
fn foster_parented_nodes_keep_document_order() {
    assert_eq!(
        nodes(FOSTERED, "/html/body/node()"),
        strs(&["\"foster\"", "p", "table#t", "div"])
    );
    assert_eq!(
        values(FOSTERED, "//text()"),
        strs(&["foster", "para", "cell", "after"])
    );
    // Unions and multi-context steps sort by tree position, not by creation order.
    assert_eq!(nodes(FOSTERED, "//td | //p"), strs(&["p", "td"]));
    assert_eq!(
        nodes(FOSTERED, "//td | //p | //div | //table"),
        strs(&["p", "table#t", "td", "div"])
    );
    assert_eq!(
        values(FOSTERED, "//td/text() | //p/text() | //body/text()"),
        strs(&["foster", "para", "cell"])
    );
    assert_eq!(
        nodes(FOSTERED, "//text()/.."),
        strs(&["body", "p", "td", "div"])
    );
    assert_eq!(nodes(FOSTERED, "//td/preceding::p"), strs(&["p"]));
    assert_eq!(
        nodes(FOSTERED, "//td/preceding::node()[1]"),
        strs(&["\"para\""])
    );
    assert_eq!(
        nodes(FOSTERED, "//p/following::*"),
        strs(&["table#t", "tbody", "tr", "td", "div"])
    );
    assert_eq!(values(FOSTERED, "(//td | //p)[1]"), strs(&["para"]));
    assert_eq!(
        nodes(FOSTERED, "//*[self::td or self::p]"),
        strs(&["p", "td"])
    );
}

#[test]
fn html_names_match_case_insensitively() {
    let doc = "<DIV ID=Main><Span CLASS=x>a</Span></DIV>";
    assert_eq!(nodes(doc, "//DIV"), strs(&["div#Main"]));
    assert_eq!(nodes(doc, "//dIv/SPAN"), strs(&["span"]));
    assert_eq!(nodes(doc, "//*[@ID='Main']"), strs(&["div#Main"]));
    assert_eq!(nodes(doc, "//span/@Class"), strs(&["@class=x"]));
    // Values are not names: they stay case-sensitive.
    assert_eq!(nodes(doc, "//*[@id='main']"), strs(&[]));
    assert_eq!(string(doc, "name(//SPAN)"), "span");
    assert_eq!(nodes(doc, "//html:div"), strs(&["div#Main"]));
    assert_eq!(nodes(doc, "//html:DIV"), strs(&["div#Main"]));
}

#[test]
fn svg_names_are_exact_and_namespaced() {
    let doc = "<svg viewbox='0 0 10 10'><foreignObject><p>in</p></foreignObject>\
               <use xlink:href='#icon'/><rect/></svg>";
    assert_eq!(nodes(doc, "//svg"), strs(&["svg"]));
    assert_eq!(nodes(doc, "//foreignObject"), strs(&["foreignObject"]));
    assert_eq!(nodes(doc, "//foreignobject"), strs(&[]));
    assert_eq!(nodes(doc, "//svg/@viewBox"), strs(&["@viewBox=0 0 10 10"]));
    assert_eq!(nodes(doc, "//svg/@viewbox"), strs(&[]));
    assert_eq!(nodes(doc, "//svg:rect"), strs(&["rect"]));
    assert_eq!(
        nodes(doc, "//svg:*"),
        strs(&["svg", "foreignObject", "use", "rect"])
    );
    assert_eq!(nodes(doc, "//html:p"), strs(&["p"]));
    assert_eq!(nodes(doc, "//svg:p"), strs(&[]));
    // `@href` means no namespace; the namespaced attribute needs its prefix.
    assert_eq!(nodes(doc, "//use/@href"), strs(&[]));
    assert_eq!(nodes(doc, "//use/@xlink:href"), strs(&["@href=#icon"]));
    assert_eq!(nodes(doc, "//use/@xlink:*"), strs(&["@href=#icon"]));
}

#[test]
fn attribute_results() {
    let doc = "<a href='/one' title=t>One</a><a href='/two'>Two</a><a>none</a>";
    assert_eq!(values(doc, "//a/@href"), strs(&["/one", "/two"]));
    assert_eq!(string(doc, "//a/@href"), "/one");
    assert_eq!(string(doc, "string(//a[2]/@href)"), "/two");
    assert_eq!(nodes(doc, "//a[1]/@*"), strs(&["@href=/one", "@title=t"]));
    assert_eq!(values(doc, "//a[not(@href)]"), strs(&["none"]));
    assert_eq!(values(doc, "//a[@href='/two']"), strs(&["Two"]));

    let html = Html::parse_document(doc);
    let document = Document::new(&html);
    let value = XPath::parse("//a/@href")
        .unwrap()
        .evaluate(&document, document.root())
        .unwrap();
    let Value::Nodes(attrs) = value else {
        panic!("expected nodes")
    };
    assert_eq!(attrs[0].attribute(), Some(("href", "/one")));
    assert_eq!(attrs[1].attribute(), Some(("href", "/two")));
    assert!(attrs[0].element().is_none());
    assert!(attrs[0].tree_node().is_none());
    let XNode::Attribute { element, index } = attrs[0] else {
        panic!("expected an attribute")
    };
    assert_eq!(index, 0);
    assert_eq!(element.value().as_element().unwrap().name(), "a");
}

#[test]
fn text_results() {
    let doc = "<p>Hello <b>big</b> world</p><p><!--c-->  </p>";
    assert_eq!(values(doc, "//p[1]/text()"), strs(&["Hello ", " world"]));
    assert_eq!(
        values(doc, "//p//text()"),
        strs(&["Hello ", "big", " world", "  "])
    );
    assert_eq!(string(doc, "//p/text()"), "Hello ");
    assert_eq!(string(doc, "normalize-space(//p[1])"), "Hello big world");
    assert_eq!(nodes(doc, "//comment()"), strs(&["<!--c-->"]));
    assert_eq!(values(doc, "//comment()"), strs(&["c"]));
    assert_eq!(nodes(doc, "//processing-instruction()"), strs(&[]));
    assert_eq!(nodes(doc, "//processing-instruction('xml')"), strs(&[]));
    assert_eq!(number(doc, "count(//p[2]/node())"), 2.0);
}

#[test]
fn public_value_and_node_api() {
    let html = Html::parse_document("<p class=x>1<b>2</b></p><p>3</p>");
    let doc = Document::new(&html);
    let eval = |src: &str| {
        XPath::parse(src)
            .unwrap()
            .evaluate(&doc, doc.root())
            .unwrap()
    };

    let Value::Nodes(ps) = eval("//p") else {
        panic!("expected nodes")
    };
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0].string_value(), "12");
    let el = ps[0].element().expect("an element");
    assert_eq!(el.value().name(), "p");
    assert_eq!(el.value().attr("class"), Some("x"));
    assert_eq!(ps[0].attribute(), None);

    let Value::Nodes(texts) = eval("//p/text()") else {
        panic!("expected nodes")
    };
    assert_eq!(texts.len(), 2);
    assert!(texts[0].element().is_none());
    assert_eq!(texts[1].string_value(), "3");

    let v = eval("//p");
    assert_eq!(v.to_string_value(), "12");
    assert_eq!(v.to_number(), 12.0);
    assert!(v.to_boolean());
    assert!(!eval("//nothing").to_boolean());
    assert!(eval("//nothing").to_number().is_nan());
    assert_eq!(eval("'007'").to_number(), 7.0);
    assert_eq!(eval("1 div 0").to_string_value(), "Infinity");
    assert_eq!(eval("true()").to_number(), 1.0);
    assert!(!eval("0 div 0").to_boolean());
    assert!(eval("'a'").into_nodes().is_none());
}

#[test]
fn evaluating_from_an_inner_context_node() {
    let html = Html::parse_document("<div><p>a</p></div><div><p>b</p><p>c</p></div>");
    let doc = Document::new(&html);
    let divs = XPath::parse("//div")
        .unwrap()
        .evaluate(&doc, doc.root())
        .unwrap();
    let divs = divs.into_nodes().unwrap();
    let second = divs[1].tree_node().unwrap();
    let relative = XPath::parse("p[last()]").unwrap();
    assert_eq!(
        relative.evaluate(&doc, second).unwrap().to_string_value(),
        "c"
    );
    let absolute = XPath::parse("count(//p)").unwrap();
    assert_eq!(absolute.evaluate(&doc, second).unwrap().to_number(), 3.0);
    assert_eq!(
        XPath::parse("position() + last()")
            .unwrap()
            .evaluate(&doc, second)
            .unwrap()
            .to_number(),
        2.0
    );
    let attr_ctx = XPath::parse("name(..)").unwrap();
    let html2 = Html::parse_document("<a href=x></a>");
    let doc2 = Document::new(&html2);
    let href = XPath::parse("//@href")
        .unwrap()
        .evaluate(&doc2, doc2.root())
        .unwrap();
    let href = href.into_nodes().unwrap()[0];
    assert_eq!(
        attr_ctx
            .evaluate_node(&doc2, href)
            .unwrap()
            .to_string_value(),
        "a"
    );
}

#[test]
fn context_from_another_document_is_an_error() {
    let one = Html::parse_document("<p>1</p>");
    let two = Html::parse_document("<p>2</p>");
    let doc = Document::new(&one);
    let err = XPath::parse("string(.)")
        .unwrap()
        .evaluate(&doc, two.tree.root())
        .unwrap_err();
    assert_eq!(err.position, 0);
    assert_eq!(
        err.message,
        "the context node does not belong to this document"
    );
}

#[test]
fn fragments_work_too() {
    let html = Html::parse_fragment("<li>a</li><li>b</li>");
    let doc = Document::new(&html);
    let value = XPath::parse("count(//li)")
        .unwrap()
        .evaluate(&doc, doc.root())
        .unwrap();
    assert_eq!(value.to_number(), 2.0);
    let value = XPath::parse("string(/)")
        .unwrap()
        .evaluate(&doc, doc.root())
        .unwrap();
    assert_eq!(value.to_string_value(), "ab");
}

#[test]
fn attributes_keep_their_source_order() {
    let doc = r#"<a zeta="1" href="/x" alpha="3">x</a>"#;
    assert_eq!(nodes(doc, "//a/@*"), ["@zeta=1", "@href=/x", "@alpha=3"]);
    assert_eq!(nodes(doc, "//a/@*[1]"), ["@zeta=1"]);
    assert_eq!(string(doc, "name(//a/@*[last()])"), "alpha");
}
