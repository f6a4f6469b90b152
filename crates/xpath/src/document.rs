//! A parsed page plus the per-document data XPath evaluation computes lazily.

use std::cell::OnceCell;
use std::collections::HashMap;
use std::fmt;

use ego_tree::NodeRef;
use scraper::{Html, Node};

use crate::order::OrderIndex;

/// Wraps one parsed page for XPath evaluation. Create it once per page and evaluate every
/// expression against it, so the lazily built indexes are shared.
pub struct Document<'a> {
    html: &'a Html,
    /// Built on first need: unions and multi-context steps that can come out of order.
    order: OnceCell<OrderIndex>,
    /// Built on first `id()` call: first element per id value.
    ids: OnceCell<HashMap<&'a str, NodeRef<'a, Node>>>,
}

impl<'a> Document<'a> {
    pub fn new(html: &'a Html) -> Self {
        Document {
            html,
            order: OnceCell::new(),
            ids: OnceCell::new(),
        }
    }

    /// The root node (`scraper::Node::Document`), XPath's `/`.
    pub fn root(&self) -> NodeRef<'a, Node> {
        self.html.tree.root()
    }

    pub fn html(&self) -> &'a Html {
        self.html
    }

    pub(crate) fn order(&self) -> &OrderIndex {
        self.order.get_or_init(|| OrderIndex::build(self.root()))
    }

    #[cfg(test)]
    pub(crate) fn order_is_built(&self) -> bool {
        self.order.get().is_some()
    }

    pub(crate) fn ids(&self) -> &HashMap<&'a str, NodeRef<'a, Node>> {
        self.ids.get_or_init(|| {
            let mut ids = HashMap::new();
            for node in self.root().descendants() {
                if let Some(id) = node.value().as_element().and_then(|el| el.id()) {
                    ids.entry(id).or_insert(node);
                }
            }
            ids
        })
    }
}

impl fmt::Debug for Document<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("nodes", &self.html.tree.nodes().len())
            .field("order_built", &self.order.get().is_some())
            .field("ids_built", &self.ids.get().is_some())
            .finish()
    }
}
