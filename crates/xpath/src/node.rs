//! The XPath view of scraper's tree.
//!
//! ego_tree has no attribute nodes, so an attribute is named by its element and its index in
//! the element's attribute list. Doctype nodes have no XPath counterpart and are hidden by the
//! axes; the document (or fragment) root is XPath's root node.

use std::borrow::Cow;
use std::fmt;

use ego_tree::NodeRef;
use html5ever::{QualName, ns};
use scraper::{ElementRef, Node};

/// A node as XPath sees it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum XNode<'a> {
    /// A node stored in the tree: root, element, text, comment or processing instruction.
    Tree(NodeRef<'a, Node>),
    /// The `index`-th attribute of `element`.
    Attribute {
        element: NodeRef<'a, Node>,
        index: usize,
    },
}

impl<'a> XNode<'a> {
    /// The XPath string-value: text for text/comment/PI/attribute nodes, the concatenated
    /// descendant text for elements and the root.
    pub fn string_value(&self) -> String {
        self.string_value_cow().into_owned()
    }

    /// The element, for element nodes only.
    pub fn element(&self) -> Option<ElementRef<'a>> {
        match self {
            XNode::Tree(node) => ElementRef::wrap(*node),
            XNode::Attribute { .. } => None,
        }
    }

    /// `(local name, value)` for attribute nodes. The name is the local part only, so
    /// `xlink:href` reports `href`.
    pub fn attribute(&self) -> Option<(&'a str, &'a str)> {
        match self {
            XNode::Attribute { element, index } => {
                attribute_entry(*element, *index).map(|(name, value)| (&*name.local, value))
            }
            XNode::Tree(_) => None,
        }
    }

    /// The tree node, for everything but attributes.
    pub fn tree_node(&self) -> Option<NodeRef<'a, Node>> {
        match self {
            XNode::Tree(node) => Some(*node),
            XNode::Attribute { .. } => None,
        }
    }

    /// Borrows the text from the tree where possible; only elements with more than one text
    /// descendant need a new string.
    pub(crate) fn string_value_cow(&self) -> Cow<'a, str> {
        match self {
            XNode::Attribute { element, index } => {
                Cow::Borrowed(attribute_entry(*element, *index).map_or("", |(_, v)| v))
            }
            XNode::Tree(node) => match node.value() {
                Node::Text(text) => Cow::Borrowed(&text.text),
                Node::Comment(comment) => Cow::Borrowed(&comment.comment),
                Node::ProcessingInstruction(pi) => Cow::Borrowed(&pi.data),
                Node::Doctype(_) => Cow::Borrowed(""),
                Node::Document | Node::Fragment | Node::Element(_) => text_content(*node),
            },
        }
    }

    /// The parent per the XPath data model: an attribute's parent is its element.
    pub(crate) fn parent(&self) -> Option<XNode<'a>> {
        match self {
            XNode::Tree(node) => node.parent().map(XNode::Tree),
            XNode::Attribute { element, .. } => Some(XNode::Tree(*element)),
        }
    }

    /// The expanded-name parts used by `local-name()`, `namespace-uri()` and `name()`.
    fn qual_name(&self) -> Option<&'a QualName> {
        match self {
            XNode::Tree(node) => node.value().as_element().map(|el| &el.name),
            XNode::Attribute { element, index } => {
                attribute_entry(*element, *index).map(|(name, _)| name)
            }
        }
    }

    pub(crate) fn local_name(&self) -> &'a str {
        if let XNode::Tree(node) = self
            && let Node::ProcessingInstruction(pi) = node.value()
        {
            return &pi.target;
        }
        self.qual_name().map_or("", |q| &*q.local)
    }

    pub(crate) fn namespace_uri(&self) -> &'a str {
        self.qual_name().map_or("", |q| &*q.ns)
    }

    pub(crate) fn qualified_name(&self) -> Cow<'a, str> {
        match self.qual_name() {
            Some(name) if name.prefix.as_ref().is_some_and(|p| !p.is_empty()) => {
                Cow::Owned(qualified(name))
            }
            _ => Cow::Borrowed(self.local_name()),
        }
    }
}

// `NodeRef`'s own Debug prints the whole tree for every node, which buries test failures
// and logs; show the node id and the node itself instead.
impl fmt::Debug for XNode<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            XNode::Tree(n) => write!(f, "Tree({:?} {:?})", n.id(), n.value()),
            XNode::Attribute { element, index } => match attribute_entry(*element, *index) {
                Some((name, value)) => write!(
                    f,
                    "Attribute({:?} {}={value:?})",
                    element.id(),
                    qualified(name)
                ),
                None => write!(f, "Attribute({:?} #{index})", element.id()),
            },
        }
    }
}

/// The attribute's name and value.
///
/// Iterating `attrs` (rather than indexing it) keeps this working whether scraper stores
/// attributes in a `Vec` or, with its `deterministic` feature, an `IndexMap`; both iterators
/// are slice-backed, so `nth` is O(1).
#[allow(
    clippy::iter_nth,
    reason = "indexing would tie this to scraper's Vec representation"
)]
pub(crate) fn attribute_entry<'a>(
    element: NodeRef<'a, Node>,
    index: usize,
) -> Option<(&'a QualName, &'a str)> {
    let el = element.value().as_element()?;
    el.attrs
        .iter()
        .nth(index)
        .map(|(name, value)| (name, &**value))
}

/// Number of attributes of an element node (0 for anything else).
pub(crate) fn attribute_count(node: NodeRef<'_, Node>) -> usize {
    node.value().as_element().map_or(0, |el| el.attrs.len())
}

/// Whether an element belongs to the HTML namespace, where names match case-insensitively.
pub(crate) fn is_html_element(node: NodeRef<'_, Node>) -> bool {
    node.value()
        .as_element()
        .is_some_and(|el| el.name.ns == ns!(html))
}

/// Doctypes are not part of the XPath data model, so every axis skips them.
pub(crate) fn is_visible(node: NodeRef<'_, Node>) -> bool {
    !matches!(node.value(), Node::Doctype(_))
}

/// `prefix:local`, or `local` without a prefix.
fn qualified(name: &QualName) -> String {
    match &name.prefix {
        Some(prefix) if !prefix.is_empty() => format!("{}:{}", &**prefix, &*name.local),
        _ => name.local.to_string(),
    }
}

fn text_content<'a>(node: NodeRef<'a, Node>) -> Cow<'a, str> {
    let mut first: Option<&'a str> = None;
    let mut joined: Option<String> = None;
    for d in node.descendants() {
        let Node::Text(text) = d.value() else {
            continue;
        };
        let piece: &'a str = &text.text;
        match (&mut joined, first) {
            (Some(buf), _) => buf.push_str(piece),
            (None, None) => first = Some(piece),
            (None, Some(prev)) => {
                let mut buf = String::with_capacity(prev.len() + piece.len());
                buf.push_str(prev);
                buf.push_str(piece);
                joined = Some(buf);
            }
        }
    }
    match (joined, first) {
        (Some(buf), _) => Cow::Owned(buf),
        (None, Some(only)) => Cow::Borrowed(only),
        (None, None) => Cow::Borrowed(""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    #[test]
    fn string_values_of_each_node_kind() {
        let html = Html::parse_document(
            "<!DOCTYPE html><p id=x class='a b'>one <b>two</b> three<!--c--></p>",
        );
        let p = html
            .tree
            .nodes()
            .find(|n| n.value().as_element().is_some_and(|e| e.name() == "p"))
            .unwrap();
        assert_eq!(XNode::Tree(p).string_value(), "one two three");
        assert!(matches!(XNode::Tree(p).string_value_cow(), Cow::Owned(_)));
        let b = p.children().nth(1).unwrap();
        assert!(matches!(
            XNode::Tree(b).string_value_cow(),
            Cow::Borrowed("two")
        ));
        let comment = p.last_child().unwrap();
        assert_eq!(XNode::Tree(comment).string_value(), "c");
        // Attributes are numbered in source order: `id` first, `class` second.
        let class = XNode::Attribute {
            element: p,
            index: 1,
        };
        assert_eq!(class.attribute(), Some(("class", "a b")));
        assert_eq!(class.string_value(), "a b");
        assert_eq!(class.parent(), Some(XNode::Tree(p)));
        assert_eq!(
            XNode::Attribute {
                element: p,
                index: 9
            }
            .string_value(),
            ""
        );
        assert_eq!(XNode::Tree(p).local_name(), "p");
        assert_eq!(
            XNode::Tree(p).namespace_uri(),
            "http://www.w3.org/1999/xhtml"
        );
        assert_eq!(
            XNode::Tree(html.tree.root()).string_value(),
            "one two three"
        );
    }
}
