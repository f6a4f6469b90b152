//! Document order.
//!
//! html5ever reparents nodes while building the tree (mis-nested formatting elements, foster
//! parenting out of tables), so the order in which ego_tree allocated node ids says nothing
//! about document order. The real order is a pre-order walk; [`OrderIndex`] records it once per
//! document, and only when some result actually needs sorting. The common single-context steps
//! never build it (see `eval.rs`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use ego_tree::{NodeId, NodeRef};
use scraper::Node;

use crate::node::XNode;

/// Pre-order position of every tree node.
#[derive(Debug)]
pub(crate) struct OrderIndex {
    // ego_tree does not expose a NodeId's arena index, so a map is the only way to attach data
    // to a node; the ids are small integers and hash cheaply.
    positions: HashMap<NodeId, u32, BuildHasherDefault<IdHasher>>,
}

impl OrderIndex {
    pub(crate) fn build(root: NodeRef<'_, Node>) -> Self {
        let mut positions =
            HashMap::with_capacity_and_hasher(root.tree().nodes().len(), Default::default());
        for (i, node) in root.descendants().enumerate() {
            positions.insert(node.id(), u32::try_from(i).unwrap_or(u32::MAX));
        }
        OrderIndex { positions }
    }

    /// A sort key: attributes come after their element and before its children (§5), in
    /// attribute-list order.
    pub(crate) fn key(&self, node: XNode<'_>) -> u64 {
        let pre = |n: NodeRef<'_, Node>| {
            u64::from(self.positions.get(&n.id()).copied().unwrap_or(u32::MAX))
        };
        match node {
            XNode::Tree(n) => pre(n) << 32,
            XNode::Attribute { element, index } => {
                (pre(element) << 32) | (index as u64 + 1).min(u64::from(u32::MAX))
            }
        }
    }

    /// Sorts into document order and drops duplicates.
    pub(crate) fn sort_unique(&self, nodes: &mut Vec<XNode<'_>>) {
        if nodes.len() < 2 {
            return;
        }
        let mut keyed: Vec<(u64, XNode<'_>)> = nodes.iter().map(|&n| (self.key(n), n)).collect();
        keyed.sort_unstable_by_key(|&(k, _)| k);
        keyed.dedup_by_key(|&mut (k, _)| k);
        nodes.clear();
        nodes.extend(keyed.into_iter().map(|(_, n)| n));
    }

    /// Union of two node-sets that are each in document order.
    pub(crate) fn merge<'a>(&self, a: Vec<XNode<'a>>, b: Vec<XNode<'a>>) -> Vec<XNode<'a>> {
        if a.is_empty() {
            return b;
        }
        if b.is_empty() {
            return a;
        }
        let mut out = Vec::with_capacity(a.len() + b.len());
        let mut left = a.into_iter().map(|n| (self.key(n), n)).peekable();
        let mut right = b.into_iter().map(|n| (self.key(n), n)).peekable();
        loop {
            let next = match (left.peek(), right.peek()) {
                (Some(&(ka, _)), Some(&(kb, _))) => {
                    if ka == kb {
                        right.next();
                        left.next()
                    } else if ka < kb {
                        left.next()
                    } else {
                        right.next()
                    }
                }
                (Some(_), None) => left.next(),
                (None, Some(_)) => right.next(),
                (None, None) => break,
            };
            if let Some((_, n)) = next {
                out.push(n);
            }
        }
        out
    }
}

/// Whether `node` lies strictly inside `top`'s subtree (an attribute lies inside its element).
pub(crate) fn is_inside(node: XNode<'_>, top: XNode<'_>) -> bool {
    let XNode::Tree(top) = top else {
        return false;
    };
    let start = match node {
        XNode::Tree(n) => n.parent(),
        XNode::Attribute { element, .. } => Some(element),
    };
    let mut cur = start;
    while let Some(n) = cur {
        if n == top {
            return true;
        }
        cur = n.parent();
    }
    false
}

/// For a node-set in document order: whether some node lies inside an earlier one.
///
/// Checking each node against the last "outermost" node suffices: outermost subtrees are
/// disjoint and ordered, so a node inside an earlier outermost node is also inside every later
/// one up to itself, in particular the last.
pub(crate) fn has_nesting(nodes: &[XNode<'_>]) -> bool {
    let Some((&first, rest)) = nodes.split_first() else {
        return false;
    };
    let mut top = first;
    for &n in rest {
        if is_inside(n, top) {
            return true;
        }
        top = n;
    }
    false
}

/// The nodes of a document-ordered set that are not inside an earlier node of the set.
pub(crate) fn outermost<'a>(nodes: &[XNode<'a>]) -> Vec<XNode<'a>> {
    let mut out: Vec<XNode<'a>> = Vec::with_capacity(nodes.len());
    for &n in nodes {
        if out.last().is_none_or(|&top| !is_inside(n, top)) {
            out.push(n);
        }
    }
    out
}

/// A fast hasher for `NodeId`s, which are small sequential integers (Fibonacci hashing).
#[derive(Debug, Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = (self.0.rotate_left(5) ^ v).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, v: usize) {
        self.write_u64(v as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn element<'a>(html: &'a Html, name: &str) -> NodeRef<'a, Node> {
        html.tree
            .root()
            .descendants()
            .find(|n| n.value().as_element().is_some_and(|e| e.name() == name))
            .unwrap()
    }

    #[test]
    fn reparented_nodes_sort_by_tree_position_not_id() {
        // The parser creates <p> before the table's <td> but fosters it out in front of the
        // table, so its id is larger than <table>'s while it comes first in the document.
        let html = Html::parse_document("<table><tr><td>a</td></tr><p>x</p></table>");
        let index = OrderIndex::build(html.tree.root());
        let table = XNode::Tree(element(&html, "table"));
        let p = XNode::Tree(element(&html, "p"));
        let td = XNode::Tree(element(&html, "td"));
        let mut nodes = vec![td, table, p, td];
        index.sort_unique(&mut nodes);
        assert_eq!(nodes, vec![p, table, td]);
    }

    #[test]
    fn attributes_sit_between_their_element_and_its_children() {
        let html = Html::parse_document("<div a=1 b=2><span></span></div>");
        let index = OrderIndex::build(html.tree.root());
        let div = element(&html, "div");
        let span = XNode::Tree(element(&html, "span"));
        let a = XNode::Attribute {
            element: div,
            index: 0,
        };
        let b = XNode::Attribute {
            element: div,
            index: 1,
        };
        let merged = index.merge(vec![a, span], vec![XNode::Tree(div), b, span]);
        assert_eq!(merged, vec![XNode::Tree(div), a, b, span]);
        assert!(is_inside(a, XNode::Tree(div)));
        assert!(is_inside(span, XNode::Tree(div)));
        assert!(!is_inside(span, a));
        assert!(has_nesting(&[XNode::Tree(div), span]));
        assert!(!has_nesting(&[a, b, span]));
        assert_eq!(
            outermost(&[XNode::Tree(div), a, span]),
            vec![XNode::Tree(div)]
        );
    }
}
