//! HTML parsing with a cap on nesting depth, enforced while parsing.
//!
//! The HTML tree builder looks through its stack of open elements for most start tags, so a
//! page nested thousands of levels deep costs time quadratic in its depth before any selector
//! runs (16,000 levels: seconds). Here the tokenizer's tags pass through a filter: once an
//! element is opened at the depth limit, further start tags are left out (with their end tags)
//! until an end tag closes a kept element. Their text stays, in the deepest kept element.
//! Browsers' parsers cap nesting in the same spirit (at 512 levels).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::{
    BufferQueue, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{TreeBuilder, TreeBuilderOpts};
use html5ever::{LocalName, TokenizerResult, local_name};
use scraper::{Html, HtmlTreeSink, Node};

/// A parsed page, and whether elements deeper than the limit were left out.
#[derive(Debug)]
pub struct Parsed {
    pub html: Html,
    pub cut: bool,
}

/// Parses a whole document as [`Html::parse_document`] does, leaving out the elements that
/// would be nested deeper than `max_depth` (the root element is depth 1).
pub fn parse_document(text: &str, max_depth: usize) -> Parsed {
    let builder = TreeBuilder::new(
        HtmlTreeSink::new(Html::new_document()),
        TreeBuilderOpts::default(),
    );
    let filter = DepthFilter {
        builder,
        max_depth,
        deep: Cell::new(false),
        dropped: RefCell::new(HashMap::new()),
        cut: Cell::new(false),
    };
    let tokenizer = Tokenizer::new(filter, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from(text));
    while !matches!(tokenizer.feed(&input), TokenizerResult::Done) {}
    tokenizer.end();
    let filter = tokenizer.sink;
    let cut = filter.cut.get();
    let html = html5ever::tree_builder::TreeSink::finish(filter.builder.sink);
    Parsed { html, cut }
}

/// Passes tokens to the tree builder, leaving out start tags below the depth limit.
struct DepthFilter {
    builder: TreeBuilder<ego_tree::NodeId, HtmlTreeSink>,
    max_depth: usize,
    /// The current element is at the depth limit: start tags are left out.
    deep: Cell<bool>,
    /// Start tags left out whose end tag has not come yet, by name.
    dropped: RefCell<HashMap<LocalName, usize>>,
    cut: Cell<bool>,
}

/// Elements whose content the tokenizer reads as text once the tree builder has seen their
/// start tag; they cannot nest, so they are always kept.
fn is_raw_text(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("script")
            | local_name!("style")
            | local_name!("textarea")
            | local_name!("title")
            | local_name!("xmp")
            | local_name!("iframe")
            | local_name!("noembed")
            | local_name!("noframes")
            | local_name!("noscript")
            | local_name!("plaintext")
    )
}

/// Elements that never have an end tag.
fn is_void(name: &LocalName) -> bool {
    matches!(
        *name,
        local_name!("area")
            | local_name!("base")
            | local_name!("br")
            | local_name!("col")
            | local_name!("embed")
            | local_name!("hr")
            | local_name!("img")
            | local_name!("input")
            | local_name!("link")
            | local_name!("meta")
            | local_name!("source")
            | local_name!("track")
            | local_name!("wbr")
    )
}

impl DepthFilter {
    /// Depth of the element the tree builder created last (the newest node in the tree; a
    /// template's contents fragment stands for its template).
    fn newest_depth(&self) -> usize {
        let html = self.builder.sink.0.borrow();
        let Some(mut node) = html.tree.nodes().next_back() else {
            return 0;
        };
        if matches!(node.value(), Node::Fragment)
            && let Some(parent) = node.parent()
        {
            node = parent;
        }
        if !node.value().is_element() {
            return 0;
        }
        node.ancestors()
            .take(self.max_depth.saturating_add(1))
            .count()
    }
}

impl TokenSink for DepthFilter {
    type Handle = ego_tree::NodeId;

    fn process_token(&self, token: Token, line_number: u64) -> TokenSinkResult<Self::Handle> {
        let Token::TagToken(tag) = &token else {
            return self.builder.process_token(token, line_number);
        };
        match tag.kind {
            TagKind::StartTag if self.deep.get() && !is_raw_text(&tag.name) => {
                self.cut.set(true);
                if !tag.self_closing && !is_void(&tag.name) {
                    *self
                        .dropped
                        .borrow_mut()
                        .entry(tag.name.clone())
                        .or_default() += 1;
                }
                TokenSinkResult::Continue
            }
            TagKind::StartTag => {
                let result = self.builder.process_token(token, line_number);
                if self.newest_depth() >= self.max_depth {
                    self.deep.set(true);
                }
                result
            }
            TagKind::EndTag => {
                {
                    let mut dropped = self.dropped.borrow_mut();
                    if let Some(open) = dropped.get_mut(&tag.name)
                        && *open > 0
                    {
                        *open -= 1;
                        return TokenSinkResult::Continue;
                    }
                }
                // It closes a kept element: the current one is above the limit again.
                self.deep.set(false);
                self.builder.process_token(token, line_number)
            }
        }
    }

    fn end(&self) {
        self.builder.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.builder
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of_deepest(html: &Html) -> usize {
        html.tree
            .nodes()
            .filter(|n| n.value().is_element())
            .map(|n| n.ancestors().count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn ordinary_pages_parse_as_scraper_parses_them() {
        let page = "<!DOCTYPE html><html><head><title>t</title><script>if (a<b) x()</script>\
                    </head><body><template><p>t</p></template><table><tr><td>1<td>2</table>\
                    <ul><li>a<li>b</ul><p>x<br>y</p><svg><path/></svg></body></html>";
        let ours = parse_document(page, 512);
        assert!(!ours.cut);
        assert_eq!(ours.html.html(), Html::parse_document(page).html());
    }

    #[test]
    fn deep_nesting_stops_at_the_limit_and_keeps_the_rest_of_the_page() {
        let page = format!(
            "<body>{}deep text{}<p id=after>after</p></body>",
            "<div><span>".repeat(2000),
            "</span></div>".repeat(2000)
        );
        let parsed = parse_document(&page, 40);
        assert!(parsed.cut);
        assert_eq!(depth_of_deepest(&parsed.html), 40);
        let text: String = parsed.html.root_element().text().collect();
        assert!(text.contains("deep text"), "{text}");
        // The end tags of the elements left out did not close the kept ones early.
        let after = scraper::Selector::parse("body > p#after").unwrap();
        assert_eq!(parsed.html.select(&after).count(), 1);
    }
}
