//! XPath 1.0 (W3C Recommendation, 16 November 1999) evaluated on scraper's HTML tree.
//!
//! The engine parses each page once with `scraper` and runs CSS and XPath selectors on that
//! same tree; no existing pure-Rust XPath crate works on it, hence this crate.
//!
//! ```
//! use grandma_xpath::{Document, XPath};
//!
//! let html = scraper::Html::parse_document(r#"<ul><li><a href="/a">A</a></li></ul>"#);
//! let doc = Document::new(&html);
//! let xpath = XPath::parse("//a/@href").unwrap();
//! let value = xpath.evaluate(&doc, doc.root()).unwrap();
//! assert_eq!(value.to_string_value(), "/a");
//! ```
//!
//! HTML specifics:
//! - element name tests ignore ASCII case for HTML elements (`//DIV`) and match any namespace
//!   when unprefixed, so SVG elements are reachable as `//svg` / `//path`; the prefixes `html`,
//!   `svg`, `math`, `xlink`, `xml` and `xmlns` are predeclared;
//! - doctype nodes are invisible; the namespace axis is always empty;
//! - [`XPath::parse_relative`] implements the field-selector rule (a leading `//` starts at
//!   the item).

mod ast;
mod axes;
mod checks;
mod document;
mod error;
mod eval;
mod functions;
mod lexer;
mod node;
mod order;
mod parser;
mod precedence;
mod rewrite;
mod value;

use ego_tree::NodeRef;
use scraper::Node;

pub use document::Document;
pub use error::XPathError;
pub use node::XNode;
pub use value::Value;

use eval::{Context, Evaluator};
use parser::Mode;

/// Longest accepted expression, in characters.
pub const MAX_EXPRESSION_LENGTH: usize = parser::MAX_LEN;
/// Deepest accepted nesting of parentheses, predicates and function calls.
pub const MAX_NESTING_DEPTH: usize = parser::MAX_DEPTH;

/// A compiled XPath expression. Cheap to share between threads; compile once per job.
#[derive(Debug, Clone)]
pub struct XPath {
    source: String,
    mode: Mode,
    expr: ast::Expr,
}

impl XPath {
    /// Compiles an expression with standard XPath 1.0 semantics.
    ///
    /// Syntax errors, unknown functions, wrong argument counts, variables and type errors
    /// (such as a predicate on a string) are reported here, with their byte position.
    pub fn parse(source: &str) -> Result<XPath, XPathError> {
        Self::compile(source, Mode::Document)
    }

    /// Compiles a field selector: every location path that starts with `//` and is not inside
    /// a predicate is evaluated from the context node, as if written `.//`, including inside
    /// unions and function arguments. A single leading `/` stays document-absolute.
    pub fn parse_relative(source: &str) -> Result<XPath, XPathError> {
        Self::compile(source, Mode::Relative)
    }

    fn compile(source: &str, mode: Mode) -> Result<XPath, XPathError> {
        let expr = parser::parse(source, mode)?;
        Ok(XPath {
            source: source.to_owned(),
            mode,
            expr,
        })
    }

    /// For an expression `string(E)` where `E` is a node-set, `E` alone: the string is the
    /// string-value of `E`'s first node, so a caller can look at that node (an `href`
    /// attribute, say) instead of only its text.
    pub fn string_argument(&self) -> Option<XPath> {
        match &self.expr {
            ast::Expr::Call {
                func: functions::Func::String,
                args,
                ..
            } => match args.as_slice() {
                [arg] if arg.ty() == ast::Ty::NodeSet => Some(XPath {
                    source: self.source.clone(),
                    mode: self.mode,
                    expr: arg.clone(),
                }),
                _ => None,
            },
            _ => None,
        }
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Whether this was compiled with [`XPath::parse_relative`].
    pub fn is_relative(&self) -> bool {
        self.mode == Mode::Relative
    }

    /// Evaluates with `context` as context node (position 1, size 1). `context` must belong to
    /// `doc`'s tree.
    pub fn evaluate<'a>(
        &self,
        doc: &Document<'a>,
        context: NodeRef<'a, Node>,
    ) -> Result<Value<'a>, XPathError> {
        self.evaluate_node(doc, XNode::Tree(context))
    }

    /// Like [`XPath::evaluate`], asking `stop` every few dozen nodes of work whether to give
    /// up; when it answers true the result is an error for which
    /// [`XPathError::is_stopped`] holds. This bounds an expression's cost on a hostile page by
    /// a deadline or a cancellation.
    pub fn evaluate_until<'a>(
        &self,
        doc: &Document<'a>,
        context: NodeRef<'a, Node>,
        stop: &dyn Fn() -> bool,
    ) -> Result<Value<'a>, XPathError> {
        self.run(doc, XNode::Tree(context), Some(stop))
    }

    /// Like [`XPath::evaluate`], with any node (including an attribute) as context.
    pub fn evaluate_node<'a>(
        &self,
        doc: &Document<'a>,
        context: XNode<'a>,
    ) -> Result<Value<'a>, XPathError> {
        self.run(doc, context, None)
    }

    fn run<'a>(
        &self,
        doc: &Document<'a>,
        context: XNode<'a>,
        stop: Option<&dyn Fn() -> bool>,
    ) -> Result<Value<'a>, XPathError> {
        let tree = match context {
            XNode::Tree(n) | XNode::Attribute { element: n, .. } => n.tree(),
        };
        if !std::ptr::eq(tree, &doc.html().tree) {
            return Err(XPathError::new(
                0,
                "the context node does not belong to this document",
            ));
        }
        let ctx = Context {
            node: context,
            position: 1,
            size: 1,
        };
        Evaluator {
            doc,
            stop,
            ticks: std::cell::Cell::new(0),
        }
        .eval(&self.expr, &ctx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_expressions_are_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<XPath>();
        assert_send_sync::<XPathError>();
    }
}
