//! Every axis, including proximity positions on reverse axes and attribute context nodes.

use crate::common::*;

const DOC: &str = "<!DOCTYPE html><html><head></head><body>\
    <div id=a><p id=p1>one</p><p id=p2>two<b id=b1>bold</b></p><!--note--><p id=p3>three</p></div>\
    <div id=b><span id=s1>x</span></div>\
    </body></html>";

#[test]
fn child() {
    assert_eq!(nodes(DOC, "id('a')/*"), strs(&["p#p1", "p#p2", "p#p3"]));
    assert_eq!(
        nodes(DOC, "id('a')/child::node()"),
        strs(&["p#p1", "p#p2", "<!--note-->", "p#p3"])
    );
    assert_eq!(nodes(DOC, "id('p2')/text()"), strs(&["\"two\""]));
    assert_eq!(nodes(DOC, "/*"), strs(&["html"]));
    // The doctype is not an XPath node.
    assert_eq!(nodes(DOC, "/node()"), strs(&["html"]));
}

#[test]
fn descendant_and_descendant_or_self() {
    assert_eq!(
        nodes(DOC, "id('a')/descendant::*"),
        strs(&["p#p1", "p#p2", "b#b1", "p#p3"])
    );
    assert_eq!(
        nodes(DOC, "id('a')/descendant-or-self::*"),
        strs(&["div#a", "p#p1", "p#p2", "b#b1", "p#p3"])
    );
    assert_eq!(
        nodes(DOC, "id('p2')/descendant::node()"),
        strs(&["\"two\"", "b#b1", "\"bold\""])
    );
    assert_eq!(nodes(DOC, "id('a')/descendant::*[3]"), strs(&["b#b1"]));
    assert_eq!(nodes(DOC, "id('b')//span"), strs(&["span#s1"]));
    assert_eq!(
        nodes(DOC, "//text()"),
        strs(&["\"one\"", "\"two\"", "\"bold\"", "\"three\"", "\"x\""])
    );
}

#[test]
fn parent() {
    assert_eq!(nodes(DOC, "id('b1')/.."), strs(&["p#p2"]));
    assert_eq!(nodes(DOC, "id('b1')/parent::p"), strs(&["p#p2"]));
    assert_eq!(nodes(DOC, "id('b1')/parent::div"), strs(&[]));
    assert_eq!(nodes(DOC, "/.."), strs(&[]));
    assert_eq!(nodes(DOC, "/html/.."), strs(&["/"]));
    assert_eq!(nodes(DOC, "id('b1')/@id/.."), strs(&["b#b1"]));
    // Several context nodes with shared parents: deduplicated, in document order.
    assert_eq!(nodes(DOC, "//p/.."), strs(&["div#a"]));
    assert_eq!(
        nodes(DOC, "//text()/.."),
        strs(&["p#p1", "p#p2", "b#b1", "p#p3", "span#s1"])
    );
}

#[test]
fn ancestor_and_ancestor_or_self() {
    assert_eq!(
        nodes(DOC, "id('b1')/ancestor::*"),
        strs(&["html", "body", "div#a", "p#p2"])
    );
    assert_eq!(
        nodes(DOC, "id('b1')/ancestor::node()"),
        strs(&["/", "html", "body", "div#a", "p#p2"])
    );
    // Reverse axis: position 1 is the nearest ancestor.
    assert_eq!(nodes(DOC, "id('b1')/ancestor::*[1]"), strs(&["p#p2"]));
    assert_eq!(nodes(DOC, "id('b1')/ancestor::*[last()]"), strs(&["html"]));
    assert_eq!(
        nodes(
            DOC,
            "id('b1')/ancestor::*[position() = 2 or position() = 3]"
        ),
        strs(&["body", "div#a"])
    );
    assert_eq!(
        nodes(DOC, "id('b1')/ancestor-or-self::*[1]"),
        strs(&["b#b1"])
    );
    assert_eq!(
        nodes(DOC, "id('b1')/ancestor-or-self::*[2]"),
        strs(&["p#p2"])
    );
    assert_eq!(
        nodes(DOC, "id('b1')/ancestor-or-self::*"),
        strs(&["html", "body", "div#a", "p#p2", "b#b1"])
    );
    assert_eq!(
        nodes(DOC, "//span/ancestor::div | //b/ancestor::div"),
        strs(&["div#a", "div#b"])
    );
    assert_eq!(nodes(DOC, "//p/ancestor::div"), strs(&["div#a"]));
}

#[test]
fn following_sibling_and_preceding_sibling() {
    assert_eq!(
        nodes(DOC, "id('p1')/following-sibling::*"),
        strs(&["p#p2", "p#p3"])
    );
    assert_eq!(
        nodes(DOC, "id('p1')/following-sibling::node()"),
        strs(&["p#p2", "<!--note-->", "p#p3"])
    );
    assert_eq!(
        nodes(DOC, "id('p1')/following-sibling::*[1]"),
        strs(&["p#p2"])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding-sibling::p"),
        strs(&["p#p1", "p#p2"])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding-sibling::p[1]"),
        strs(&["p#p2"])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding-sibling::node()[1]"),
        strs(&["<!--note-->"])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding-sibling::*[last()]"),
        strs(&["p#p1"])
    );
    // Per context node, then merged into document order.
    assert_eq!(
        nodes(DOC, "//p/preceding-sibling::*[1]"),
        strs(&["p#p1", "p#p2"])
    );
    assert_eq!(
        nodes(DOC, "//p/following-sibling::*[1]"),
        strs(&["p#p2", "p#p3"])
    );
}

#[test]
fn following() {
    assert_eq!(
        nodes(DOC, "id('p2')/following::*"),
        strs(&["p#p3", "div#b", "span#s1"])
    );
    assert_eq!(
        nodes(DOC, "id('b1')/following::node()"),
        strs(&[
            "<!--note-->",
            "p#p3",
            "\"three\"",
            "div#b",
            "span#s1",
            "\"x\""
        ])
    );
    assert_eq!(nodes(DOC, "id('p2')/following::*[2]"), strs(&["div#b"]));
    assert_eq!(nodes(DOC, "id('s1')/following::node()"), strs(&[]));
    assert_eq!(nodes(DOC, "/following::node()"), strs(&[]));
}

#[test]
fn preceding() {
    // Ancestors (div#a, body, html) are excluded; head is not an ancestor.
    assert_eq!(
        nodes(DOC, "id('p3')/preceding::*"),
        strs(&["head", "p#p1", "p#p2", "b#b1"])
    );
    assert_eq!(nodes(DOC, "id('p3')/preceding::*[1]"), strs(&["b#b1"]));
    assert_eq!(nodes(DOC, "id('p3')/preceding::*[2]"), strs(&["p#p2"]));
    assert_eq!(nodes(DOC, "id('p3')/preceding::*[4]"), strs(&["head"]));
    assert_eq!(
        nodes(DOC, "id('p3')/preceding::node()[1]"),
        strs(&["<!--note-->"])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding::node()[2]"),
        strs(&["\"bold\""])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding::*[position() < 3]"),
        strs(&["p#p2", "b#b1"])
    );
    assert_eq!(
        nodes(DOC, "id('p3')/preceding::text()"),
        strs(&["\"one\"", "\"two\"", "\"bold\""])
    );
    assert_eq!(nodes(DOC, "id('s1')/preceding::p[last()]"), strs(&["p#p1"]));
    assert_eq!(nodes(DOC, "//head/preceding::node()"), strs(&[]));
}

#[test]
fn self_axis() {
    assert_eq!(nodes(DOC, "id('p1')/self::p"), strs(&["p#p1"]));
    assert_eq!(nodes(DOC, "id('p1')/self::div"), strs(&[]));
    assert_eq!(nodes(DOC, "id('p1')/."), strs(&["p#p1"]));
    assert_eq!(nodes(DOC, "/self::node()"), strs(&["/"]));
    assert_eq!(
        nodes(DOC, "//*[self::b or self::span]"),
        strs(&["b#b1", "span#s1"])
    );
}

#[test]
fn attribute_axis() {
    assert_eq!(nodes(DOC, "id('p1')/attribute::*"), strs(&["@id=p1"]));
    assert_eq!(nodes(DOC, "//div/@id"), strs(&["@id=a", "@id=b"]));
    assert_eq!(nodes(DOC, "//@id[. = 'b1']"), strs(&["@id=b1"]));
    assert_eq!(nodes(DOC, "id('p1')/@node()"), strs(&["@id=p1"]));
    assert_eq!(nodes(DOC, "id('p1')/@text()"), strs(&[]));
    assert_eq!(nodes(DOC, "id('p1')/@missing"), strs(&[]));
    assert_eq!(nodes(DOC, "//p/text()/@*"), strs(&[]));
}

#[test]
fn namespace_axis_is_empty_in_html() {
    assert_eq!(nodes(DOC, "id('p1')/namespace::*"), strs(&[]));
    assert_eq!(nodes(DOC, "//namespace::node()"), strs(&[]));
}

#[test]
fn attribute_as_context_node() {
    assert_eq!(nodes(DOC, "id('p2')/@id/parent::*"), strs(&["p#p2"]));
    assert_eq!(nodes(DOC, "id('p2')/@id/ancestor::*[1]"), strs(&["p#p2"]));
    assert_eq!(
        nodes(DOC, "id('p2')/@id/ancestor-or-self::node()[1]"),
        strs(&["@id=p2"])
    );
    // The element's content follows its attributes in document order.
    assert_eq!(nodes(DOC, "id('p2')/@id/following::*[1]"), strs(&["b#b1"]));
    assert_eq!(nodes(DOC, "id('p2')/@id/preceding::*[1]"), strs(&["p#p1"]));
    assert_eq!(nodes(DOC, "id('p2')/@id/child::node()"), strs(&[]));
    assert_eq!(
        nodes(DOC, "id('p2')/@id/descendant-or-self::node()"),
        strs(&["@id=p2"])
    );
    assert_eq!(
        nodes(DOC, "id('p2')/@id/following-sibling::node()"),
        strs(&[])
    );
    assert_eq!(
        nodes(DOC, "id('p2')/@id/preceding-sibling::node()"),
        strs(&[])
    );
    assert_eq!(nodes(DOC, "id('p2')/@id/self::node()"), strs(&["@id=p2"]));
}

#[test]
fn position_predicates_on_steps_and_filters() {
    let lists = "<ul><li>1</li><li>2</li><li>3</li></ul><ul><li>4</li><li>5</li></ul>";
    assert_eq!(values(lists, "//li[1]"), strs(&["1", "4"]));
    assert_eq!(values(lists, "(//li)[1]"), strs(&["1"]));
    assert_eq!(values(lists, "//li[last()]"), strs(&["3", "5"]));
    assert_eq!(values(lists, "(//li)[last()]"), strs(&["5"]));
    assert_eq!(values(lists, "//ul[2]/li[2]"), strs(&["5"]));
    assert_eq!(values(lists, "(//li)[position() > 1][1]"), strs(&["2"]));
    assert_eq!(
        values(lists, "//li[position() = last() - 1]"),
        strs(&["2", "4"])
    );
    assert_eq!(values(lists, "//li[last() - 1]"), strs(&["2", "4"]));
    assert_eq!(values(lists, "//li[. > 2][1]"), strs(&["3", "4"]));
    assert_eq!(values(lists, "//li[1][. > 2]"), strs(&["4"]));
    assert_eq!(values(lists, "//li[0]"), strs(&[]));
    assert_eq!(values(lists, "//li[1.5]"), strs(&[]));
    assert_eq!(values(lists, "//li[9]"), strs(&[]));
    assert_eq!(values(lists, "(//li)[2 + 1]"), strs(&["3"]));
    assert_eq!(values(lists, "//ul/descendant::li[2]"), strs(&["2", "5"]));
    assert_eq!(values(lists, "(//ul/li)[4]/preceding::li[1]"), strs(&["3"]));
}
