//! The 27 core functions, with the edge cases the spec spells out.

use crate::common::*;

const DOC: &str = "<html lang=en-US><body>\
    <ul id=list><li>1</li><li>2</li><li>3</li><li>4</li></ul>\
    <span class=price> 12.50 </span><span class=price>7.5</span><span class=price>n/a</span>\
    <p id=fr xml:lang=fr>oui <b>vraiment</b></p><p id=de lang=DE-at><b>ja</b></p>\
    <p id=dup>first</p><p id=dup>second</p><a id=ref data-ref='fr  de'>refs</a>\
    <svg><use xlink:href='#x'/></svg>\
    </body></html>";

#[test]
fn last_and_position() {
    assert_eq!(values(DOC, "//li[position() = last()]"), strs(&["4"]));
    assert_eq!(values(DOC, "//li[position() mod 2 = 0]"), strs(&["2", "4"]));
    assert_eq!(number(DOC, "count(//li[position() < last()])"), 3.0);
    // At the top level the context is position 1 of 1.
    assert_eq!(number(DOC, "position()"), 1.0);
    assert_eq!(number(DOC, "last()"), 1.0);
}

#[test]
fn count() {
    assert_eq!(number(DOC, "count(//li)"), 4.0);
    assert_eq!(number(DOC, "count(//nothing)"), 0.0);
    assert_eq!(number(DOC, "count(//li | //li[1])"), 4.0);
    assert_eq!(number(DOC, "count(//@*)"), 14.0);
}

#[test]
fn id() {
    assert_eq!(nodes(DOC, "id('list')"), strs(&["ul#list"]));
    // Document order, whatever the token order; duplicates collapse.
    assert_eq!(nodes(DOC, "id(' de  fr de ')"), strs(&["p#fr", "p#de"]));
    assert_eq!(nodes(DOC, "id(//a/@data-ref)"), strs(&["p#fr", "p#de"]));
    assert_eq!(nodes(DOC, "id('missing')"), strs(&[]));
    // HTML tolerates duplicate ids; the first element wins, as with getElementById.
    assert_eq!(values(DOC, "id('dup')"), strs(&["first"]));
    assert_eq!(values(DOC, "id('list')/li[2]"), strs(&["2"]));
    assert_eq!(nodes(DOC, "id(1)"), strs(&[]));
}

#[test]
fn local_name_namespace_uri_and_name() {
    assert_eq!(string(DOC, "local-name(//li)"), "li");
    assert_eq!(string(DOC, "local-name()"), "");
    assert_eq!(string(DOC, "local-name(//span/@class)"), "class");
    assert_eq!(string(DOC, "local-name(//nothing)"), "");
    assert_eq!(string(DOC, "local-name(//li/text())"), "");
    assert_eq!(
        string(DOC, "namespace-uri(//li)"),
        "http://www.w3.org/1999/xhtml"
    );
    assert_eq!(string(DOC, "namespace-uri(//span/@class)"), "");
    assert_eq!(
        string(DOC, "namespace-uri(//*[local-name() = 'use'])"),
        "http://www.w3.org/2000/svg"
    );
    assert_eq!(
        string(DOC, "namespace-uri(//use/@*)"),
        "http://www.w3.org/1999/xlink"
    );
    assert_eq!(string(DOC, "name(//use/@*)"), "xlink:href");
    assert_eq!(string(DOC, "local-name(//use/@*)"), "href");
    assert_eq!(string(DOC, "name(//li[2])"), "li");
    assert_eq!(string(DOC, "name(//nothing)"), "");
    assert_eq!(values(DOC, "//*[name() = 'ul']/li[1]"), strs(&["1"]));
}

#[test]
fn string_and_concat() {
    assert_eq!(string(DOC, "string(//li)"), "1");
    assert_eq!(string(DOC, "string(//ul)"), "1234");
    assert_eq!(string(DOC, "string(//nothing)"), "");
    assert_eq!(string(DOC, "string(//p[@id='fr'])"), "oui vraiment");
    assert_eq!(string(DOC, "string(//li[3])"), "3");
    assert_eq!(s("string(true())"), "true");
    assert_eq!(s("string(false())"), "false");
    assert_eq!(s("string(-7.25)"), "-7.25");
    assert_eq!(s("string('x')"), "x");
    assert_eq!(
        string(DOC, "concat('a', 1, true(), //li, '-', 0 div 0)"),
        "a1true1-NaN"
    );
    assert_eq!(s("concat('', '')"), "");
}

#[test]
fn starts_with_and_contains() {
    assert!(boolean(DOC, "starts-with('abc', 'ab')"));
    assert!(!boolean(DOC, "starts-with('abc', 'bc')"));
    assert!(boolean(DOC, "starts-with('abc', '')"));
    assert!(boolean(DOC, "contains('abc', 'bc')"));
    assert!(boolean(DOC, "contains('abc', '')"));
    assert!(!boolean(DOC, "contains('', 'a')"));
    assert!(boolean(DOC, "contains(//span[3], '/')"));
    assert_eq!(
        values(DOC, "//span[contains(., '.5')]"),
        strs(&[" 12.50 ", "7.5"])
    );
}

#[test]
fn substring_before_and_after() {
    assert_eq!(s("substring-before('1999/04/01', '/')"), "1999");
    assert_eq!(s("substring-after('1999/04/01', '/')"), "04/01");
    assert_eq!(s("substring-after('1999/04/01', '19')"), "99/04/01");
    assert_eq!(s("substring-before('abc', 'x')"), "");
    assert_eq!(s("substring-after('abc', 'x')"), "");
    assert_eq!(s("substring-before('abc', '')"), "");
    assert_eq!(s("substring-after('abc', '')"), "abc");
    assert_eq!(s("substring-after('ünï-cødé', '-')"), "cødé");
}

#[test]
fn substring() {
    assert_eq!(s("substring('12345', 2, 3)"), "234");
    assert_eq!(s("substring('12345', 2)"), "2345");
    assert_eq!(s("substring('12345', 1.5, 2.6)"), "234");
    assert_eq!(s("substring('12345', 0, 3)"), "12");
    assert_eq!(s("substring('12345', 0 div 0, 3)"), "");
    assert_eq!(s("substring('12345', 1, 0 div 0)"), "");
    assert_eq!(s("substring('12345', -42, 1 div 0)"), "12345");
    assert_eq!(s("substring('12345', -1 div 0, 1 div 0)"), "");
    assert_eq!(s("substring('12345', 5, -1)"), "");
    assert_eq!(s("substring('12345', 6)"), "");
    assert_eq!(s("substring('12345', -1)"), "12345");
    assert_eq!(s("substring('ünïcødé', 3, 2)"), "ïc");
}

#[test]
fn string_length_and_normalize_space() {
    assert_eq!(number(DOC, "string-length('ünï')"), 3.0);
    assert_eq!(number(DOC, "string-length('')"), 0.0);
    assert_eq!(number(DOC, "string-length(//span[1])"), 7.0);
    assert_eq!(values(DOC, "//li[string-length() = 1][2]"), strs(&["2"]));
    assert_eq!(s("normalize-space('  a \t\n b   c ')"), "a b c");
    assert_eq!(s("normalize-space('')"), "");
    assert_eq!(string(DOC, "normalize-space(//span[1])"), "12.50");
    assert_eq!(
        values(DOC, "//span[normalize-space() = '12.50']"),
        strs(&[" 12.50 "])
    );
}

#[test]
fn translate() {
    assert_eq!(s("translate('bar', 'abc', 'ABC')"), "BAr");
    assert_eq!(s("translate('--aaa--', 'abc-', 'ABC')"), "AAA");
    assert_eq!(s("translate('abc', '', 'xyz')"), "abc");
    assert_eq!(s("translate('aab', 'aa', 'xy')"), "xxb");
    assert_eq!(s("translate('Ünï', 'Üï', 'ui')"), "uni");
    assert_eq!(
        string(
            DOC,
            "translate(//p[@id='de']/@lang, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
        ),
        "de-at"
    );
}

#[test]
fn boolean_not_true_false() {
    assert!(!boolean(DOC, "boolean(0)"));
    assert!(!boolean(DOC, "boolean(-0)"));
    assert!(!boolean(DOC, "boolean(0 div 0)"));
    assert!(boolean(DOC, "boolean(-1 div 0)"));
    assert!(boolean(DOC, "boolean(0.001)"));
    assert!(!boolean(DOC, "boolean('')"));
    assert!(boolean(DOC, "boolean('false')"));
    assert!(boolean(DOC, "boolean(' ')"));
    assert!(boolean(DOC, "boolean(//li)"));
    assert!(!boolean(DOC, "boolean(//nothing)"));
    // A node-set is true when non-empty, even if its nodes' text is empty or "0".
    assert!(boolean("<p></p>", "boolean(//p)"));
    assert!(boolean(DOC, "not(false())"));
    assert!(!boolean(DOC, "not(//li)"));
    assert!(boolean(DOC, "true()"));
    assert!(!boolean(DOC, "false()"));
    assert_eq!(
        values(DOC, "//li[not(. = 2)][not(. = 3)]"),
        strs(&["1", "4"])
    );
}

#[test]
fn lang() {
    // Inherited from <html lang=en-US>; prefix match on a '-' boundary, any ASCII case.
    assert_eq!(number(DOC, "count(//li[lang('en')])"), 4.0);
    assert_eq!(number(DOC, "count(//li[lang('EN-us')])"), 4.0);
    assert_eq!(number(DOC, "count(//li[lang('e')])"), 0.0);
    assert_eq!(number(DOC, "count(//li[lang('en-US-x')])"), 0.0);
    // xml:lang and lang both count; the nearest one decides.
    assert_eq!(values(DOC, "//b[lang('fr')]"), strs(&["vraiment"]));
    assert_eq!(values(DOC, "//b[lang('de')]"), strs(&["ja"]));
    assert_eq!(values(DOC, "//p[lang('en')]"), strs(&["first", "second"]));
    assert_eq!(
        nodes(DOC, "//p[@id='fr']/@id[lang('fr')]"),
        strs(&["@id=fr"])
    );
    assert!(!boolean("<p>x</p>", "lang('en')"));
}

#[test]
fn number_and_sum() {
    assert_eq!(number(DOC, "number(' 12 ')"), 12.0);
    assert_eq!(number(DOC, "number('-.5')"), -0.5);
    assert!(number(DOC, "number('1e3')").is_nan());
    assert!(number(DOC, "number('+1')").is_nan());
    assert!(number(DOC, "number('')").is_nan());
    assert!(number(DOC, "number('Infinity')").is_nan());
    assert_eq!(number(DOC, "number(true())"), 1.0);
    assert_eq!(number(DOC, "number(false())"), 0.0);
    assert_eq!(number(DOC, "number(//span)"), 12.5);
    assert!(number(DOC, "number(//nothing)").is_nan());
    assert_eq!(number(DOC, "number(//li[3])"), 3.0);
    assert_eq!(number(DOC, "sum(//li)"), 10.0);
    assert_eq!(number(DOC, "sum(//nothing)"), 0.0);
    // Positive zero: dividing by it gives positive infinity.
    assert!(number(DOC, "sum(//nothing)").is_sign_positive());
    assert_eq!(number(DOC, "1 div sum(//nothing)"), f64::INFINITY);
    assert!(number(DOC, "sum(//span)").is_nan());
    assert_eq!(number(DOC, "sum(//span[number(.) = number(.)])"), 20.0);
}

#[test]
fn floor_ceiling_round() {
    assert_eq!(s("floor(2.7)"), "2");
    assert_eq!(s("floor(-1.5)"), "-2");
    assert_eq!(s("ceiling(2.1)"), "3");
    assert_eq!(s("ceiling(-1.5)"), "-1");
    assert_eq!(s("round(2.5)"), "3");
    assert_eq!(s("round(2.4999)"), "2");
    assert_eq!(s("round(-2.5)"), "-2");
    assert_eq!(s("round(-2.6)"), "-3");
    assert_eq!(s("round(0.49999999999999994)"), "0");
    assert_eq!(s("round(0 div 0)"), "NaN");
    assert_eq!(s("round(1 div 0)"), "Infinity");
    assert_eq!(s("floor(-1 div 0)"), "-Infinity");
    assert_eq!(s("ceiling('x')"), "NaN");
    // Negative zero prints as 0 but is still negative: 1 div -0 is -Infinity.
    assert_eq!(s("round(-0.5)"), "0");
    assert_eq!(s("1 div round(-0.5)"), "-Infinity");
    assert_eq!(s("1 div round(-0.2)"), "-Infinity");
    assert_eq!(s("1 div round(0.2)"), "Infinity");
    assert_eq!(s("1 div ceiling(-0.5)"), "-Infinity");
    assert_eq!(s("1 div floor(-0)"), "-Infinity");
}
