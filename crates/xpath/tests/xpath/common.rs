//! Helpers: parse real HTML with scraper, evaluate, and describe results as plain strings so
//! assertions compare exact values.

use grandma_xpath::{Document, Value, XNode, XPath, XPathError};
use scraper::{Html, Node};

/// A short label per node: `div#id` / `p` for elements, `"text"` for text, `@name=value`,
/// `<!--c-->`, `/` for the root.
pub fn label(node: &XNode<'_>) -> String {
    if let Some((name, value)) = node.attribute() {
        return format!("@{name}={value}");
    }
    let XNode::Tree(n) = node else {
        unreachable!("attributes handled above")
    };
    match n.value() {
        Node::Document | Node::Fragment => "/".to_owned(),
        Node::Element(e) => match e.id() {
            Some(id) => format!("{}#{id}", e.name()),
            None => e.name().to_owned(),
        },
        Node::Text(t) => format!("{:?}", &**t),
        Node::Comment(c) => format!("<!--{}-->", &**c),
        Node::ProcessingInstruction(pi) => format!("<?{}?>", &*pi.target),
        Node::Doctype(_) => "doctype".to_owned(),
    }
}

fn eval_with<T>(html: &str, xpath: &str, f: impl FnOnce(Value<'_>) -> T) -> T {
    let parsed = Html::parse_document(html);
    let doc = Document::new(&parsed);
    let compiled = XPath::parse(xpath).unwrap_or_else(|e| panic!("{xpath}: {e}"));
    let value = compiled
        .evaluate(&doc, doc.root())
        .unwrap_or_else(|e| panic!("{xpath}: {e}"));
    f(value)
}

/// Labels of the node-set `xpath` selects from the root.
pub fn nodes(html: &str, xpath: &str) -> Vec<String> {
    eval_with(html, xpath, |v| match v {
        Value::Nodes(nodes) => nodes.iter().map(label).collect(),
        other => panic!("{xpath}: expected a node-set, got {other:?}"),
    })
}

/// String-values of the nodes `xpath` selects.
pub fn values(html: &str, xpath: &str) -> Vec<String> {
    eval_with(html, xpath, |v| match v {
        Value::Nodes(nodes) => nodes.iter().map(XNode::string_value).collect(),
        other => panic!("{xpath}: expected a node-set, got {other:?}"),
    })
}

pub fn string(html: &str, xpath: &str) -> String {
    eval_with(html, xpath, |v| v.to_string_value())
}

pub fn number(html: &str, xpath: &str) -> f64 {
    eval_with(html, xpath, |v| match v {
        Value::Number(n) => n,
        other => panic!("{xpath}: expected a number, got {other:?}"),
    })
}

pub fn boolean(html: &str, xpath: &str) -> bool {
    eval_with(html, xpath, |v| match v {
        Value::Boolean(b) => b,
        other => panic!("{xpath}: expected a boolean, got {other:?}"),
    })
}

/// `string(expr)` of an expression that needs no document.
pub fn s(xpath: &str) -> String {
    string("", xpath)
}

/// Evaluates `field` in item-relative mode once per node selected by `items`, returning the
/// labels of each result (or its string value for non-node-set results).
pub fn per_item(html: &str, items: &str, field: &str) -> Vec<Vec<String>> {
    let parsed = Html::parse_document(html);
    let doc = Document::new(&parsed);
    let items = XPath::parse(items)
        .unwrap()
        .evaluate(&doc, doc.root())
        .unwrap();
    let field = XPath::parse_relative(field).unwrap_or_else(|e| panic!("{field:?}: {e}"));
    items
        .into_nodes()
        .expect("items must be a node-set")
        .iter()
        .map(|item| {
            let XNode::Tree(node) = item else {
                panic!("items must be tree nodes")
            };
            match field.evaluate(&doc, *node).unwrap() {
                Value::Nodes(nodes) => nodes.iter().map(label).collect(),
                other => vec![other.to_string_value()],
            }
        })
        .collect()
}

pub fn error(xpath: &str) -> XPathError {
    match XPath::parse(xpath) {
        Ok(_) => panic!("{xpath:?} should not compile"),
        Err(e) => e,
    }
}

/// `(position, message)` for compact assertions.
pub fn err(xpath: &str) -> (usize, String) {
    let e = error(xpath);
    (e.position, e.message)
}

pub fn strs(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}
