//! Operators: arithmetic, number formatting, boolean logic, the §3.4 comparison rules for
//! every pairing of types, and unions.

use crate::common::*;

const DOC: &str = "<body><p class=a>1</p><p>2</p><p class=b>x</p><q>2</q><q>5</q><i></i></body>";

#[test]
fn number_to_string_formatting() {
    assert_eq!(s("1"), "1");
    assert_eq!(s("1.0"), "1");
    assert_eq!(s("-2.50"), "-2.5");
    assert_eq!(s("-0"), "0");
    assert_eq!(s("0 * -1"), "0");
    assert_eq!(s("1 div 0"), "Infinity");
    assert_eq!(s("-1 div 0"), "-Infinity");
    assert_eq!(s("0 div 0"), "NaN");
    assert_eq!(s("0.1 + 0.2"), "0.30000000000000004");
    assert_eq!(s("1 div 3"), "0.3333333333333333");
    assert_eq!(s("1000000 * 1000000"), "1000000000000");
    assert_eq!(
        s("1000000 * 1000000 * 1000000 * 1000000"),
        "1000000000000000000000000"
    );
    assert_eq!(s("0.0000001"), "0.0000001");
    assert_eq!(s(".5"), "0.5");
    assert_eq!(s("5."), "5");
}

#[test]
fn arithmetic() {
    assert_eq!(s("2 + 3 * 4"), "14");
    assert_eq!(s("(2 + 3) * 4"), "20");
    assert_eq!(s("10 - 2 - 3"), "5");
    assert_eq!(s("12 div 2 div 3"), "2");
    assert_eq!(s("7 div 2"), "3.5");
    assert_eq!(s("7 mod 3"), "1");
    assert_eq!(s("-7 mod 3"), "-1");
    assert_eq!(s("7 mod -3"), "1");
    assert_eq!(s("5.5 mod 2"), "1.5");
    assert_eq!(s("1 mod 0"), "NaN");
    assert_eq!(s("-2 * -3"), "6");
    assert_eq!(s("--3"), "3");
    assert_eq!(s("- - '3'"), "3");
    assert_eq!(s("-'x'"), "NaN");
    assert_eq!(s("'3' + true()"), "4");
    assert_eq!(string(DOC, "//q[1] + //q[2]"), "7");
    assert_eq!(string(DOC, "//q * 2"), "4");
    assert_eq!(string(DOC, "//nothing + 1"), "NaN");
    // Names may contain '-', so spacing matters: `a -b` is a minus, `a-b` a name.
    assert_eq!(string("<a-b>4</a-b><a>7</a><b>2</b>", "//a-b"), "4");
    assert_eq!(string("<a-b>4</a-b><a>7</a><b>2</b>", "//a -//b"), "5");
    assert_eq!(string("<div>8</div>", "//div div 2"), "4");
    assert_eq!(
        string("<div><div>8</div></div>", "count(//div/div) * 3"),
        "3"
    );
}

#[test]
fn boolean_logic() {
    assert_eq!(s("true() and false() or true()"), "true");
    assert_eq!(s("true() or false() and false()"), "true");
    assert_eq!(s("1 = 1 and 2"), "true");
    assert_eq!(s("0 or ''"), "false");
    assert_eq!(s("not(0) and 'x'"), "true");
    // Comparisons chain left to right: (3 > 2) > 1 is true() > 1, i.e. 1 > 1.
    assert_eq!(s("3 > 2 > 1"), "false");
    assert_eq!(s("1 < 2 = true()"), "true");
}

#[test]
fn comparing_non_node_sets() {
    assert!(boolean(DOC, "'1' = 1.0"));
    assert!(!boolean(DOC, "'1' = '1.0'"));
    assert!(boolean(DOC, "true() = 'a'"));
    assert!(boolean(DOC, "false() = ''"));
    assert!(boolean(DOC, "false() = 0"));
    assert!(boolean(DOC, "1 = true()"));
    assert!(boolean(DOC, "2 = true()"));
    assert!(!boolean(DOC, "0 div 0 = 0 div 0"));
    assert!(boolean(DOC, "0 div 0 != 0 div 0"));
    assert!(!boolean(DOC, "'abc' < 'abd'"));
    assert!(!boolean(DOC, "'abc' >= 'abc'"));
    assert!(boolean(DOC, "'2' < '10'"));
    assert!(boolean(DOC, "true() > false()"));
    assert!(boolean(DOC, "1 div 0 > 1000000"));
    assert!(boolean(DOC, "-1 div 0 < -1000000"));
    assert!(boolean(DOC, "-0 = 0"));
}

#[test]
fn node_set_against_number() {
    assert!(boolean(DOC, "//p = 2"));
    assert!(!boolean(DOC, "//p = 3"));
    assert!(boolean(DOC, "//p != 1"));
    assert!(boolean(DOC, "//p > 1"));
    assert!(!boolean(DOC, "//p < 1"));
    assert!(boolean(DOC, "//p >= 2"));
    assert!(!boolean(DOC, "//p > 2"));
    // Operands swapped: the operator is mirrored, not the meaning.
    assert!(boolean(DOC, "2 = //p"));
    assert!(boolean(DOC, "1 < //p"));
    assert!(!boolean(DOC, "2 < //p"));
    assert!(boolean(DOC, "3 > //p"));
    // The non-numeric "x" is NaN: never equal, always unequal.
    assert!(boolean(DOC, "//p[3] != 5"));
    assert!(!boolean(DOC, "//p[3] = //p[3] * 1"));
    assert!(!boolean(DOC, "//nothing = 0"));
    assert!(!boolean(DOC, "//nothing != 0"));
    assert_eq!(values(DOC, "//p[. = 2]"), strs(&["2"]));
}

#[test]
fn node_set_against_string() {
    assert!(boolean(DOC, "//p = '2'"));
    assert!(boolean(DOC, "//p = 'x'"));
    assert!(!boolean(DOC, "//p = 'y'"));
    assert!(!boolean(DOC, "//p = '2.0'"));
    assert!(boolean(DOC, "//p != 'x'"));
    assert!(boolean(DOC, "'x' = //p"));
    // Relational comparisons convert both sides to numbers.
    assert!(boolean(DOC, "//p < '2'"));
    assert!(!boolean(DOC, "//p > '2'"));
    assert!(boolean(DOC, "'1.5' < //p"));
    assert!(boolean(DOC, "//p/@class = 'b'"));
    assert!(boolean(DOC, "//i = ''"));
    assert!(!boolean(DOC, "//nothing = ''"));
    assert!(!boolean(DOC, "//nothing != ''"));
}

#[test]
fn node_set_against_boolean() {
    assert!(boolean(DOC, "//p = true()"));
    assert!(!boolean(DOC, "//p = false()"));
    assert!(boolean(DOC, "//nothing = false()"));
    assert!(!boolean(DOC, "//nothing = true()"));
    assert!(boolean(DOC, "//nothing != true()"));
    assert!(boolean(DOC, "false() = //nothing"));
    // An empty element is still a non-empty node-set.
    assert!(boolean(DOC, "//i = true()"));
    assert!(boolean(DOC, "//p > false()"));
    assert!(!boolean(DOC, "//p < true()"));
}

#[test]
fn node_set_against_node_set() {
    assert!(boolean(DOC, "//p = //q"));
    assert!(boolean(DOC, "//p != //q"));
    assert!(boolean(DOC, "//p != //p"));
    assert!(!boolean(DOC, "//p[1] != //p[1]"));
    assert!(!boolean(DOC, "//p[1] = //q"));
    assert!(!boolean(DOC, "//nothing = //nothing"));
    assert!(!boolean(DOC, "//nothing != //p"));
    assert!(!boolean(DOC, "//p = //nothing"));
    assert!(boolean(DOC, "//p < //q"));
    assert!(boolean(DOC, "//q > //p"));
    assert!(boolean(DOC, "//q[2] > //p"));
    assert!(!boolean(DOC, "//q[1] < //p"));
    assert!(boolean(DOC, "//q[1] <= //p"));
    assert!(!boolean(DOC, "//p[3] < //q"));
    assert!(!boolean(DOC, "//p[3] >= //p[3]"));
    assert_eq!(values(DOC, "//q[. = //p]"), strs(&["2"]));
}

#[test]
fn unions_are_in_document_order_without_duplicates() {
    assert_eq!(values(DOC, "//q | //p"), strs(&["1", "2", "x", "2", "5"]));
    assert_eq!(values(DOC, "//p | //p[1] | //p"), strs(&["1", "2", "x"]));
    assert_eq!(
        nodes(DOC, "//p/@class | //p[1] | //q[2]"),
        strs(&["p", "@class=a", "@class=b", "q"])
    );
    assert_eq!(
        nodes(DOC, "//p[1]/text() | //p[1] | //p[1]/@class"),
        strs(&["p", "@class=a", "\"1\""])
    );
    assert_eq!(nodes(DOC, "//nothing | //i"), strs(&["i"]));
    assert_eq!(values(DOC, "(//q | //p)[2]"), strs(&["2"]));
    assert_eq!(values(DOC, "(//q | //p)[last()]"), strs(&["5"]));
    assert_eq!(number(DOC, "count(//p | //q | //*)"), 9.0);
    assert_eq!(string(DOC, "-//q[2] | //p"), "-1");
}
