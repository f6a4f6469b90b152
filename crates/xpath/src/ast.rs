//! The compiled form of an expression.
//!
//! XPath 1.0 is statically typed once variables are ruled out (every operator and core function
//! has a fixed result type), so the parser can reject type errors such as `"a"[1]` at compile
//! time and classify predicates as positional or not, which the evaluator uses to skip work.

use html5ever::{LocalName, Namespace};

use crate::functions::Func;

/// The four XPath 1.0 value types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ty {
    NodeSet,
    String,
    Number,
    Boolean,
}

impl Ty {
    /// "a node-set", "a string", … for error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Ty::NodeSet => "a node-set",
            Ty::String => "a string",
            Ty::Number => "a number",
            Ty::Boolean => "a boolean",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Axis {
    Ancestor,
    AncestorOrSelf,
    Attribute,
    Child,
    Descendant,
    DescendantOrSelf,
    Following,
    FollowingSibling,
    Namespace,
    Parent,
    Preceding,
    PrecedingSibling,
    SelfNode,
}

impl Axis {
    pub(crate) fn from_name(name: &str) -> Option<Axis> {
        Some(match name {
            "ancestor" => Axis::Ancestor,
            "ancestor-or-self" => Axis::AncestorOrSelf,
            "attribute" => Axis::Attribute,
            "child" => Axis::Child,
            "descendant" => Axis::Descendant,
            "descendant-or-self" => Axis::DescendantOrSelf,
            "following" => Axis::Following,
            "following-sibling" => Axis::FollowingSibling,
            "namespace" => Axis::Namespace,
            "parent" => Axis::Parent,
            "preceding" => Axis::Preceding,
            "preceding-sibling" => Axis::PrecedingSibling,
            "self" => Axis::SelfNode,
            _ => return None,
        })
    }

    /// Reverse axes number their proximity positions from the context node backwards
    /// (XPath 1.0 §2.4), so `preceding-sibling::x[1]` is the nearest one.
    pub(crate) fn is_reverse(self) -> bool {
        matches!(
            self,
            Axis::Ancestor | Axis::AncestorOrSelf | Axis::Preceding | Axis::PrecedingSibling
        )
    }

    /// The node type a name test selects on this axis (§2.3).
    pub(crate) fn principal(self) -> Principal {
        match self {
            Axis::Attribute => Principal::Attribute,
            Axis::Namespace => Principal::Namespace,
            _ => Principal::Element,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Principal {
    Element,
    Attribute,
    Namespace,
}

#[derive(Debug, Clone)]
pub(crate) enum NodeTest {
    /// `node()`
    Node,
    /// `text()`
    Text,
    /// `comment()`
    Comment,
    /// `processing-instruction()` with its optional target literal.
    ProcessingInstruction(Option<Box<str>>),
    Name(NameTest),
}

/// `*`, `prefix:*`, `name` or `prefix:name`, with the prefix already resolved.
#[derive(Debug, Clone)]
pub(crate) struct NameTest {
    /// `None` when the test had no prefix.
    pub(crate) namespace: Option<Namespace>,
    /// `None` for `*`.
    pub(crate) local: Option<LocalNames>,
}

/// A name in the two spellings matching needs. Interned atoms make the per-node comparison a
/// pointer compare instead of a string compare.
#[derive(Debug, Clone)]
pub(crate) struct LocalNames {
    /// As written; matched against non-HTML nodes (SVG's `viewBox`, `foreignObject`).
    pub(crate) exact: LocalName,
    /// ASCII-lowercased; html5ever lowercases HTML names, so comparing against this gives the
    /// case-insensitive match HTML needs (`//DIV`).
    pub(crate) lower: LocalName,
}

#[derive(Debug, Clone)]
pub(crate) struct Step {
    pub(crate) axis: Axis,
    pub(crate) test: NodeTest,
    pub(crate) predicates: Vec<Predicate>,
}

impl Step {
    pub(crate) fn new(axis: Axis, test: NodeTest) -> Self {
        Step {
            axis,
            test,
            predicates: Vec::new(),
        }
    }

    /// True when some predicate's outcome depends on the proximity position or size, i.e. the
    /// step's result for a node depends on which context node produced it.
    pub(crate) fn is_positional(&self) -> bool {
        self.predicates.iter().any(Predicate::is_positional)
    }

    pub(crate) fn is_plain(&self, axis: Axis) -> bool {
        self.axis == axis && matches!(self.test, NodeTest::Node) && self.predicates.is_empty()
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Predicate {
    pub(crate) expr: Expr,
    pub(crate) kind: PredicateKind,
}

impl Predicate {
    pub(crate) fn is_positional(&self) -> bool {
        !matches!(self.kind, PredicateKind::Boolean { positional: false })
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum PredicateKind {
    /// `[3]`: a constant position, which lets an axis walk stop after the third match.
    Index(f64),
    /// `[last()]`
    Last,
    /// Any other number-valued predicate: true when equal to the proximity position.
    Number,
    /// Converted with `boolean()`; `positional` when it calls `position()`/`last()` for this
    /// predicate's own context.
    Boolean { positional: bool },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Eq,
    NotEq,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    pub(crate) fn result_ty(self) -> Ty {
        match self {
            BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => {
                Ty::Number
            }
            _ => Ty::Boolean,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    /// A left-associative run of operators of one precedence level (`a + b - c`). Kept flat and
    /// evaluated as a fold so that `1+1+1+…` neither builds nor walks a deep tree.
    Chain {
        first: Box<Expr>,
        rest: Vec<(BinaryOp, Expr)>,
    },
    /// One or more unary minuses; an even count still converts to a number.
    Negate {
        operand: Box<Expr>,
        odd: bool,
    },
    Union {
        operands: Vec<Expr>,
        position: usize,
    },
    Literal(Box<str>),
    Number(f64),
    Call {
        func: Func,
        args: Vec<Expr>,
        position: usize,
    },
    Path(LocationPath),
    /// A primary expression with predicates and/or a trailing relative path: `(//a)[1]/@href`.
    Filter {
        primary: Box<Expr>,
        predicates: Vec<Predicate>,
        steps: Vec<Step>,
        position: usize,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct LocationPath {
    /// Starts at the document root rather than the context node.
    pub(crate) absolute: bool,
    pub(crate) steps: Vec<Step>,
}

impl Expr {
    /// The static type; exact because variables are not supported.
    pub(crate) fn ty(&self) -> Ty {
        match self {
            Expr::Or(_) | Expr::And(_) => Ty::Boolean,
            Expr::Chain { rest, first } => rest
                .last()
                .map_or_else(|| first.ty(), |(op, _)| op.result_ty()),
            Expr::Negate { .. } | Expr::Number(_) => Ty::Number,
            Expr::Literal(_) => Ty::String,
            Expr::Union { .. } | Expr::Path(_) => Ty::NodeSet,
            Expr::Call { func, .. } => func.return_ty(),
            Expr::Filter {
                primary,
                predicates,
                steps,
                ..
            } => {
                if predicates.is_empty() && steps.is_empty() {
                    primary.ty()
                } else {
                    Ty::NodeSet
                }
            }
        }
    }

    /// Whether the value depends on the context position or size (calls `position()` or
    /// `last()` outside any nested predicate, whose context is its own).
    pub(crate) fn uses_position(&self) -> bool {
        match self {
            Expr::Or(items) | Expr::And(items) => items.iter().any(Expr::uses_position),
            Expr::Chain { first, rest } => {
                first.uses_position() || rest.iter().any(|(_, e)| e.uses_position())
            }
            Expr::Negate { operand, .. } => operand.uses_position(),
            Expr::Union { operands, .. } => operands.iter().any(Expr::uses_position),
            Expr::Literal(_) | Expr::Number(_) | Expr::Path(_) => false,
            Expr::Call { func, args, .. } => {
                matches!(func, Func::Last | Func::Position) || args.iter().any(Expr::uses_position)
            }
            Expr::Filter { primary, .. } => primary.uses_position(),
        }
    }
}
