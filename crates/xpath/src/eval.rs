//! Expression evaluation.
//!
//! Node-sets travel as `Vec<XNode>` in document order without duplicates. Most steps keep that
//! invariant without sorting: a single context node's forward axis already yields document
//! order, and for several context nodes the child, descendant and attribute axes stay ordered
//! unless the contexts nest. Only the remaining cases consult the per-document order index.

use std::borrow::Cow;

use crate::ast::{Axis, BinaryOp, Expr, LocationPath, Predicate, PredicateKind, Step};
use crate::axes;
use crate::document::Document;
use crate::error::XPathError;
use crate::functions;
use crate::node::XNode;
use crate::order::{has_nesting, outermost};
use crate::value::{Operand, Value, arithmetic, compare};

/// An operand of a comparison or arithmetic chain.
enum Held<'e, 'a> {
    Value(Value<'a>),
    Literal(&'e str),
}

impl<'a> Held<'_, 'a> {
    fn view(&self) -> Operand<'_, 'a> {
        match self {
            Held::Value(v) => v.view(),
            Held::Literal(s) => Operand::Str(s),
        }
    }
}

/// The evaluation context of §1: node, proximity position and size.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) node: XNode<'a>,
    pub(crate) position: usize,
    pub(crate) size: usize,
}

pub(crate) struct Evaluator<'d, 'a> {
    pub(crate) doc: &'d Document<'a>,
    /// Asked now and then whether to give up (a deadline passed, the work was cancelled).
    pub(crate) stop: Option<&'d dyn Fn() -> bool>,
    /// Units of work since `stop` was last asked.
    pub(crate) ticks: std::cell::Cell<u32>,
}

impl std::fmt::Debug for Evaluator<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evaluator").finish_non_exhaustive()
    }
}

/// Units of work (context nodes of a step, candidates of a predicate) between two questions to
/// the stop callback: often enough to stop within milliseconds, rare enough to cost nothing.
const TICKS_PER_CHECK: u32 = 64;

impl<'a> Evaluator<'_, 'a> {
    /// Counts `units` of work and fails once the stop callback says so.
    fn tick(&self, units: usize) -> Result<(), XPathError> {
        let Some(stop) = self.stop else {
            return Ok(());
        };
        let units = u32::try_from(units).unwrap_or(u32::MAX);
        let ticks = self.ticks.get().saturating_add(units);
        if ticks < TICKS_PER_CHECK {
            self.ticks.set(ticks);
            return Ok(());
        }
        self.ticks.set(0);
        if stop() {
            return Err(XPathError::new(0, crate::error::STOPPED));
        }
        Ok(())
    }

    /// Dispatches only; the work lives in one method per kind of expression so that the frame
    /// of this function, which recurses once per nesting level, stays small.
    pub(crate) fn eval(&self, expr: &Expr, ctx: &Context<'a>) -> Result<Value<'a>, XPathError> {
        match expr {
            Expr::Or(items) => self.eval_or(items, ctx),
            Expr::And(items) => self.eval_and(items, ctx),
            Expr::Chain { first, rest } => self.eval_chain(first, rest, ctx),
            Expr::Negate { operand, odd } => {
                let n = self.eval(operand, ctx)?.to_number();
                Ok(Value::Number(if *odd { -n } else { n }))
            }
            Expr::Union { operands, position } => self.eval_union(operands, ctx, *position),
            Expr::Literal(s) => Ok(Value::String(s.to_string())),
            Expr::Number(n) => Ok(Value::Number(*n)),
            Expr::Call {
                func,
                args,
                position,
            } => functions::call(self, *func, args, ctx, *position),
            Expr::Path(path) => self.eval_path(path, ctx).map(Value::Nodes),
            Expr::Filter {
                primary,
                predicates,
                steps,
                position,
            } => self.eval_filter(primary, predicates, steps, ctx, *position),
        }
    }

    fn eval_or(&self, items: &[Expr], ctx: &Context<'a>) -> Result<Value<'a>, XPathError> {
        for item in items {
            if self.eval(item, ctx)?.to_boolean() {
                return Ok(Value::Boolean(true));
            }
        }
        Ok(Value::Boolean(false))
    }

    fn eval_and(&self, items: &[Expr], ctx: &Context<'a>) -> Result<Value<'a>, XPathError> {
        for item in items {
            if !self.eval(item, ctx)?.to_boolean() {
                return Ok(Value::Boolean(false));
            }
        }
        Ok(Value::Boolean(true))
    }

    fn eval_chain(
        &self,
        first: &Expr,
        rest: &[(BinaryOp, Expr)],
        ctx: &Context<'a>,
    ) -> Result<Value<'a>, XPathError> {
        let mut acc = self.eval_operand(first, ctx)?;
        for (op, operand) in rest {
            let rhs = self.eval_operand(operand, ctx)?;
            let result = match op {
                BinaryOp::Eq
                | BinaryOp::NotEq
                | BinaryOp::Lt
                | BinaryOp::Le
                | BinaryOp::Gt
                | BinaryOp::Ge => Value::Boolean(compare(*op, acc.view(), rhs.view())),
                _ => Value::Number(arithmetic(
                    *op,
                    acc.view().to_number(),
                    rhs.view().to_number(),
                )),
            };
            acc = Held::Value(result);
        }
        Ok(match acc {
            Held::Value(v) => v,
            Held::Literal(s) => Value::String(s.to_owned()),
        })
    }

    /// Like `eval`, but leaves a string literal in the expression instead of copying it, as
    /// in `@class = 'price'`, evaluated once per candidate node.
    fn eval_operand<'e>(
        &self,
        expr: &'e Expr,
        ctx: &Context<'a>,
    ) -> Result<Held<'e, 'a>, XPathError> {
        match expr {
            Expr::Literal(s) => Ok(Held::Literal(s)),
            other => self.eval(other, ctx).map(Held::Value),
        }
    }

    /// `string()` of an expression, borrowing literals and tree text instead of copying.
    pub(crate) fn eval_string<'e>(
        &self,
        expr: &'e Expr,
        ctx: &Context<'a>,
    ) -> Result<Cow<'e, str>, XPathError>
    where
        'a: 'e,
    {
        match expr {
            Expr::Literal(s) => Ok(Cow::Borrowed(s)),
            other => self.eval(other, ctx).map(Value::into_cow),
        }
    }

    fn eval_union(
        &self,
        operands: &[Expr],
        ctx: &Context<'a>,
        position: usize,
    ) -> Result<Value<'a>, XPathError> {
        let mut acc: Vec<XNode<'a>> = Vec::new();
        for operand in operands {
            let nodes = self.eval_nodes(operand, ctx, position)?;
            acc = if acc.is_empty() {
                nodes
            } else if nodes.is_empty() {
                acc
            } else {
                self.doc.order().merge(acc, nodes)
            };
        }
        Ok(Value::Nodes(acc))
    }

    fn eval_filter(
        &self,
        primary: &Expr,
        predicates: &[Predicate],
        steps: &[Step],
        ctx: &Context<'a>,
        position: usize,
    ) -> Result<Value<'a>, XPathError> {
        let mut nodes = self.eval_nodes(primary, ctx, position)?;
        // A filter's predicates count positions in document order, like a forward axis.
        self.filter(predicates, &mut nodes)?;
        self.apply_steps(steps, nodes).map(Value::Nodes)
    }

    /// Evaluates an expression that must produce a node-set. The parser already rejects other
    /// types statically; this check keeps a bad tree an error rather than a panic.
    pub(crate) fn eval_nodes(
        &self,
        expr: &Expr,
        ctx: &Context<'a>,
        position: usize,
    ) -> Result<Vec<XNode<'a>>, XPathError> {
        match self.eval(expr, ctx)? {
            Value::Nodes(nodes) => Ok(nodes),
            other => Err(XPathError::new(
                position,
                format!(
                    "expected a node-set, got a {}",
                    match other {
                        Value::String(_) => "string",
                        Value::Number(_) => "number",
                        _ => "boolean",
                    }
                ),
            )),
        }
    }

    fn eval_path(
        &self,
        path: &LocationPath,
        ctx: &Context<'a>,
    ) -> Result<Vec<XNode<'a>>, XPathError> {
        let start = if path.absolute {
            XNode::Tree(self.doc.root())
        } else {
            ctx.node
        };
        self.apply_steps(&path.steps, vec![start])
    }

    fn apply_steps(
        &self,
        steps: &[Step],
        mut nodes: Vec<XNode<'a>>,
    ) -> Result<Vec<XNode<'a>>, XPathError> {
        for step in steps {
            if nodes.is_empty() {
                break;
            }
            nodes = self.apply_step(step, &nodes)?;
        }
        Ok(nodes)
    }

    /// One location step over a document-ordered, duplicate-free context set.
    fn apply_step(
        &self,
        step: &Step,
        contexts: &[XNode<'a>],
    ) -> Result<Vec<XNode<'a>>, XPathError> {
        // `[n]` as the first predicate: no need to walk past the n-th match.
        let limit = match step.predicates.first().map(|p| p.kind) {
            Some(PredicateKind::Index(n)) => index_limit(n),
            _ => usize::MAX,
        };
        let mut out = Vec::new();
        if let [only] = contexts {
            axes::collect(step.axis, *only, &step.test, limit, &mut out);
            self.tick(1 + out.len())?;
            self.filter(&step.predicates, &mut out)?;
            if step.axis.is_reverse() {
                out.reverse();
            }
            return Ok(out);
        }

        let mut sort = false;
        let pruned;
        let contexts = match step.axis {
            // Disjoint per context node and emitted right after it: always ordered.
            Axis::Attribute | Axis::SelfNode | Axis::Namespace => contexts,
            // Children of different nodes are disjoint; they only interleave when one context
            // node contains another.
            Axis::Child => {
                sort = has_nesting(contexts);
                contexts
            }
            // Without positional predicates a nested context adds nothing its container did
            // not already produce, so dropping it keeps the output ordered and unique.
            Axis::Descendant | Axis::DescendantOrSelf if !step.is_positional() => {
                pruned = outermost(contexts);
                &pruned[..]
            }
            Axis::Descendant | Axis::DescendantOrSelf => {
                sort = has_nesting(contexts);
                contexts
            }
            _ => {
                sort = true;
                contexts
            }
        };
        let mut buf = Vec::new();
        for &node in contexts {
            self.tick(1 + buf.len())?;
            buf.clear();
            axes::collect(step.axis, node, &step.test, limit, &mut buf);
            self.filter(&step.predicates, &mut buf)?;
            if step.axis.is_reverse() {
                buf.reverse();
            }
            out.append(&mut buf);
        }
        if sort {
            self.doc.order().sort_unique(&mut out);
        }
        Ok(out)
    }

    /// Applies predicates in turn; each sees the survivors of the previous one, numbered
    /// 1..=len in the order given (axis order).
    fn filter(
        &self,
        predicates: &[Predicate],
        nodes: &mut Vec<XNode<'a>>,
    ) -> Result<(), XPathError> {
        for predicate in predicates {
            if nodes.is_empty() {
                return Ok(());
            }
            match predicate.kind {
                PredicateKind::Index(n) => {
                    let keep = index_limit(n);
                    if keep == 0 || keep > nodes.len() {
                        nodes.clear();
                    } else {
                        let node = nodes[keep - 1];
                        nodes.clear();
                        nodes.push(node);
                    }
                }
                PredicateKind::Last => {
                    let last = nodes[nodes.len() - 1];
                    nodes.clear();
                    nodes.push(last);
                }
                PredicateKind::Number | PredicateKind::Boolean { .. } => {
                    let size = nodes.len();
                    let mut kept = 0;
                    for i in 0..size {
                        self.tick(1)?;
                        let ctx = Context {
                            node: nodes[i],
                            position: i + 1,
                            size,
                        };
                        let value = self.eval(&predicate.expr, &ctx)?;
                        let keep = match value {
                            Value::Number(n) => n == (i + 1) as f64,
                            other => other.to_boolean(),
                        };
                        if keep {
                            nodes[kept] = nodes[i];
                            kept += 1;
                        }
                    }
                    nodes.truncate(kept);
                }
            }
        }
        Ok(())
    }
}

/// The position a constant predicate selects, or 0 when it selects nothing (`[0]`, `[1.5]`,
/// `[-1]`, `[NaN]`).
fn index_limit(n: f64) -> usize {
    if n >= 1.0 && n.fract() == 0.0 && n <= usize::MAX as f64 {
        n as usize
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use scraper::Html;

    use crate::{Document, XPath};

    const PAGE: &str = "<div class=item><h2>A</h2><a href=/a>x</a><div><a href=/n>n</a></div></div>\
                        <div class=item><h2>B</h2><a href=/b>y</a></div>";

    fn strings(doc: &Document<'_>, src: &str) -> Vec<String> {
        let value = XPath::parse(src)
            .unwrap()
            .evaluate(doc, doc.root())
            .unwrap();
        value
            .into_nodes()
            .unwrap()
            .iter()
            .map(|n| n.string_value())
            .collect()
    }

    #[test]
    fn typical_extraction_never_builds_the_order_index() {
        let html = Html::parse_document(PAGE);
        let doc = Document::new(&html);
        assert_eq!(strings(&doc, "//div[@class='item']//h2/text()"), ["A", "B"]);
        assert_eq!(strings(&doc, "//div[@class='item']/a/@href"), ["/a", "/b"]);
        // Nested contexts on a descendant step are pruned rather than sorted.
        assert_eq!(strings(&doc, "//div//a"), ["x", "n", "y"]);
        assert_eq!(strings(&doc, "//div[@class='item']/h2[1]"), ["A", "B"]);
        assert_eq!(strings(&doc, "//div[h2]/@class"), ["item", "item"]);
        assert!(!doc.order_is_built());
    }

    #[test]
    fn out_of_order_steps_and_unions_build_it_once() {
        let html = Html::parse_document(PAGE);
        let doc = Document::new(&html);
        assert_eq!(strings(&doc, "//a/.."), ["Axn", "n", "By"]);
        assert!(doc.order_is_built());
        assert_eq!(strings(&doc, "//h2 | //a"), ["A", "x", "n", "B", "y"]);
        // Positional predicates on nested contexts: per-context results, then sorted.
        assert_eq!(strings(&doc, "//div/descendant::a[1]"), ["x", "n", "y"]);
        assert_eq!(strings(&doc, "//h2/following-sibling::a[1]"), ["x", "y"]);
    }
}
