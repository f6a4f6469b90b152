//! Walking the 13 axes (XPath 1.0 §2.2) and applying node tests (§2.3).
//!
//! Nodes are produced in axis order: document order for forward axes, nearest-first for
//! reverse axes, which is the order proximity positions count in.

use ego_tree::NodeRef;
use scraper::Node;

use crate::ast::{Axis, NameTest, NodeTest, Principal};
use crate::node::{XNode, attribute_count, attribute_entry, is_html_element, is_visible};

/// Appends to `out` the nodes on `axis` from `node` that pass `test`, stopping after `limit`
/// matches (used for constant positional predicates such as `[1]`).
pub(crate) fn collect<'a>(
    axis: Axis,
    node: XNode<'a>,
    test: &NodeTest,
    limit: usize,
    out: &mut Vec<XNode<'a>>,
) {
    if limit == 0 {
        return;
    }
    let mut sink = Sink {
        test,
        principal: axis.principal(),
        out,
        remaining: limit,
    };
    match axis {
        Axis::SelfNode => {
            sink.offer(node);
        }
        Axis::Child => {
            if let XNode::Tree(n) = node {
                children(n, &mut sink);
            }
        }
        Axis::Descendant => {
            if let XNode::Tree(n) = node {
                descendants(n, false, &mut sink);
            }
        }
        Axis::DescendantOrSelf => match node {
            XNode::Tree(n) => {
                descendants(n, true, &mut sink);
            }
            XNode::Attribute { .. } => {
                sink.offer(node);
            }
        },
        Axis::Parent => {
            if let Some(p) = node.parent() {
                sink.offer(p);
            }
        }
        Axis::Ancestor => {
            ancestors(node, &mut sink);
        }
        Axis::AncestorOrSelf => {
            if sink.offer(node) {
                ancestors(node, &mut sink);
            }
        }
        Axis::FollowingSibling => {
            if let XNode::Tree(n) = node {
                for s in n.next_siblings() {
                    if !sink.offer_tree(s) {
                        break;
                    }
                }
            }
        }
        Axis::PrecedingSibling => {
            if let XNode::Tree(n) = node {
                for s in n.prev_siblings() {
                    if !sink.offer_tree(s) {
                        break;
                    }
                }
            }
        }
        Axis::Following => following(node, &mut sink),
        Axis::Preceding => preceding(node, &mut sink),
        Axis::Attribute => {
            if let XNode::Tree(element) = node {
                for index in 0..attribute_count(element) {
                    if !sink.offer(XNode::Attribute { element, index }) {
                        break;
                    }
                }
            }
        }
        // HTML documents have no namespace nodes in the XPath sense (html5ever keeps no
        // in-scope namespace declarations), so this axis is always empty.
        Axis::Namespace => {}
    }
}

/// Filters candidates through the node test and counts down the limit.
struct Sink<'t, 'o, 'a> {
    test: &'t NodeTest,
    principal: Principal,
    out: &'o mut Vec<XNode<'a>>,
    remaining: usize,
}

impl<'a> Sink<'_, '_, 'a> {
    /// Returns false once the limit is reached and the walk should stop.
    fn offer(&mut self, node: XNode<'a>) -> bool {
        if self.remaining == 0 {
            return false;
        }
        if matches(self.test, self.principal, node) {
            self.out.push(node);
            self.remaining -= 1;
        }
        self.remaining > 0
    }

    fn offer_tree(&mut self, node: NodeRef<'a, Node>) -> bool {
        if !is_visible(node) {
            return true;
        }
        self.offer(XNode::Tree(node))
    }
}

fn children<'a>(n: NodeRef<'a, Node>, sink: &mut Sink<'_, '_, 'a>) -> bool {
    for c in n.children() {
        if !sink.offer_tree(c) {
            return false;
        }
    }
    true
}

fn descendants<'a>(n: NodeRef<'a, Node>, include_self: bool, sink: &mut Sink<'_, '_, 'a>) -> bool {
    let skip = usize::from(!include_self);
    for d in n.descendants().skip(skip) {
        if !sink.offer_tree(d) {
            return false;
        }
    }
    true
}

fn ancestors<'a>(node: XNode<'a>, sink: &mut Sink<'_, '_, 'a>) {
    let mut cur = node.parent();
    while let Some(p) = cur {
        if !sink.offer(p) {
            return;
        }
        cur = p.parent();
    }
}

/// Everything after the node in document order except its descendants: the subtrees of the
/// following siblings of the node and of each of its ancestors. An attribute is followed by
/// its element's content first.
fn following<'a>(node: XNode<'a>, sink: &mut Sink<'_, '_, 'a>) {
    let start = match node {
        XNode::Tree(n) => n,
        XNode::Attribute { element, .. } => {
            if !descendants(element, false, sink) {
                return;
            }
            element
        }
    };
    let mut cur = Some(start);
    while let Some(n) = cur {
        for s in n.next_siblings() {
            if !descendants(s, true, sink) {
                return;
            }
        }
        cur = n.parent();
    }
}

/// Everything before the node in document order except its ancestors, nearest first: walk
/// pre-order backwards (previous sibling's deepest last descendant, else parent) and skip the
/// parents that are ancestors of the starting node. An attribute's preceding nodes are its
/// element's, since the element itself is an ancestor.
fn preceding<'a>(node: XNode<'a>, sink: &mut Sink<'_, '_, 'a>) {
    let mut cur = match node {
        XNode::Tree(n) => n,
        XNode::Attribute { element, .. } => element,
    };
    let mut next_ancestor = cur.parent();
    loop {
        if let Some(prev) = cur.prev_sibling() {
            cur = last_descendant(prev);
        } else if let Some(parent) = cur.parent() {
            cur = parent;
            if Some(parent) == next_ancestor {
                next_ancestor = parent.parent();
                continue;
            }
        } else {
            return;
        }
        if !sink.offer_tree(cur) {
            return;
        }
    }
}

fn last_descendant(mut n: NodeRef<'_, Node>) -> NodeRef<'_, Node> {
    while let Some(c) = n.last_child() {
        n = c;
    }
    n
}

/// §2.3 node tests. Name tests select only the axis's principal node type.
pub(crate) fn matches(test: &NodeTest, principal: Principal, node: XNode<'_>) -> bool {
    match (test, node) {
        (NodeTest::Node, _) => true,
        (NodeTest::Name(name), XNode::Tree(n)) => {
            principal == Principal::Element && element_matches(name, n)
        }
        (NodeTest::Name(name), XNode::Attribute { element, index }) => {
            principal == Principal::Attribute && attribute_matches(name, element, index)
        }
        (_, XNode::Attribute { .. }) => false,
        (NodeTest::Text, XNode::Tree(n)) => n.value().is_text(),
        (NodeTest::Comment, XNode::Tree(n)) => n.value().is_comment(),
        (NodeTest::ProcessingInstruction(target), XNode::Tree(n)) => {
            match n.value().as_processing_instruction() {
                Some(pi) => target.as_deref().is_none_or(|t| t == &*pi.target),
                None => false,
            }
        }
    }
}

/// An unprefixed name matches elements of any namespace, so `//svg` and `//path` work in HTML;
/// HTML elements compare case-insensitively (html5ever stored them lowercased), others exactly.
fn element_matches(test: &NameTest, n: NodeRef<'_, Node>) -> bool {
    let Some(el) = n.value().as_element() else {
        return false;
    };
    if let Some(ns) = &test.namespace
        && el.name.ns != *ns
    {
        return false;
    }
    match &test.local {
        None => true,
        Some(names) if el.name.ns == html5ever::ns!(html) => el.name.local == names.lower,
        Some(names) => el.name.local == names.exact,
    }
}

/// Unprefixed attribute names match only attributes in no namespace, as in XPath 1.0 (so
/// `@href` does not pick up `xlink:href`; `@xlink:href` does).
fn attribute_matches(test: &NameTest, element: NodeRef<'_, Node>, index: usize) -> bool {
    let Some((name, _)) = attribute_entry(element, index) else {
        return false;
    };
    let Some(names) = &test.local else {
        return test.namespace.as_ref().is_none_or(|ns| name.ns == *ns);
    };
    let ns_ok = match &test.namespace {
        Some(ns) => name.ns == *ns,
        None => name.ns.is_empty(),
    };
    ns_ok
        && if is_html_element(element) {
            name.local == names.lower
        } else {
            name.local == names.exact
        }
}
