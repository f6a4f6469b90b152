//! Recursive-descent parser for the XPath 1.0 grammar (§2, §3). It applies the static checks
//! of `checks.rs`, the step rewrites of `rewrite.rs` and, in [`Mode::Relative`], the
//! item-relative reading of a leading `//`.
//!
//! Recursion happens only where the grammar nests (parentheses, predicates, function
//! arguments), and each nesting passes through [`Parser::parse_expr`], which enforces
//! [`MAX_DEPTH`]. Operator runs and unary minus chains are parsed with loops, so no input of
//! bounded length can overflow the stack, here or later in evaluation.

use html5ever::LocalName;

use crate::ast::{
    Axis, Expr, LocalNames, LocationPath, NameTest, NodeTest, Predicate, PredicateKind, Step, Ty,
};
use crate::checks::{check_call, require_node_set, resolve_prefix, unknown_function};
use crate::error::XPathError;
use crate::functions::Func;
use crate::lexer::{NodeType, Token, TokenKind, tokenize};
use crate::precedence::{Operator, reduce};
use crate::rewrite::simplify;

/// Longest accepted expression, in characters.
pub(crate) const MAX_LEN: usize = 10_000;
/// Deepest accepted nesting of parentheses, predicates and function calls.
pub(crate) const MAX_DEPTH: usize = 200;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Plain XPath 1.0.
    Document,
    /// Field selectors: a leading `//` outside predicates starts at the context node. A single leading `/` remains absolute.
    Relative,
}

pub(crate) fn parse(source: &str, mode: Mode) -> Result<Expr, XPathError> {
    if source.len() > MAX_LEN {
        let chars = source.chars().count();
        if chars > MAX_LEN {
            return Err(XPathError::new(
                0,
                format!("expression is too long ({chars} characters; the limit is {MAX_LEN})"),
            ));
        }
    }
    let tokens = tokenize(source)?;
    if tokens.is_empty() {
        return Err(XPathError::new(0, "empty expression"));
    }
    let mut parser = Parser {
        tokens,
        next: 0,
        end: source.len(),
        depth: 0,
        predicate_depth: 0,
        mode,
    };
    let expr = parser.parse_expr()?;
    if let Some(token) = parser.tokens.get(parser.next) {
        return Err(XPathError::new(
            token.pos,
            format!(
                "unexpected {} after the end of the expression",
                token.kind.describe()
            ),
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    /// Source length: the position reported for "unexpected end".
    end: usize,
    depth: usize,
    predicate_depth: usize,
    mode: Mode,
}

// Stack use matters here: each nesting level of the input (parenthesis, predicate, argument)
// costs one pass through parse_expr → parse_binary → parse_unary → parse_path → parse_filter
// (or … → parse_step → parse_predicate). Those functions are kept few and lean, and every
// error message is built in a separate cold function so its formatting temporaries do not
// enlarge the recursive frames (unoptimised builds give each temporary its own stack slot).
impl Parser {
    fn peek(&self) -> Option<&TokenKind> {
        self.tokens.get(self.next).map(|t| &t.kind)
    }

    fn peek_pos(&self) -> usize {
        self.tokens.get(self.next).map_or(self.end, |t| t.pos)
    }

    fn at(&self, kind: &TokenKind) -> bool {
        self.peek() == Some(kind)
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        if self.at(kind) {
            self.next += 1;
            true
        } else {
            false
        }
    }

    /// The next token as named in error messages.
    fn found(&self) -> String {
        self.peek().map_or_else(
            || "the end of the expression".to_owned(),
            TokenKind::describe,
        )
    }

    /// "expected {what}, found {next token}" at the next token.
    #[cold]
    #[inline(never)]
    fn expected(&self, what: &str) -> XPathError {
        XPathError::new(
            self.peek_pos(),
            format!("expected {what}, found {}", self.found()),
        )
    }

    /// "expected {closer} to close {opener} at position {open}, found …".
    #[cold]
    #[inline(never)]
    fn unclosed(&self, closer: &str, opener: &str, open: usize) -> XPathError {
        self.expected(&format!("{closer} to close {opener} at position {open}"))
    }

    #[cold]
    #[inline(never)]
    fn too_deep(&self) -> XPathError {
        XPathError::new(
            self.peek_pos(),
            format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
        )
    }

    fn parse_expr(&mut self) -> Result<Expr, XPathError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.too_deep());
        }
        self.depth += 1;
        let result = self.parse_binary();
        self.depth -= 1;
        result
    }

    /// The binary operators, by operator precedence with explicit stacks instead of one
    /// recursive function per precedence level, which would multiply the stack needed per
    /// nesting level.
    fn parse_binary(&mut self) -> Result<Expr, XPathError> {
        let mut operands = vec![self.parse_unary()?];
        let mut operators: Vec<Operator> = Vec::new();
        while let Some(op) = self.peek().and_then(Operator::from_token) {
            self.next += 1;
            while operators
                .last()
                .is_some_and(|top| top.precedence() >= op.precedence())
            {
                reduce(&mut operands, &mut operators);
            }
            operators.push(op);
            operands.push(self.parse_unary()?);
        }
        while !operators.is_empty() {
            reduce(&mut operands, &mut operators);
        }
        // Exactly one operand remains after reducing every operator.
        Ok(operands.pop().unwrap_or(Expr::Number(f64::NAN)))
    }

    /// `'-'* UnionExpr`, where `UnionExpr ::= PathExpr ('|' PathExpr)*`.
    fn parse_unary(&mut self) -> Result<Expr, XPathError> {
        let mut minuses = 0usize;
        while self.eat(&TokenKind::Minus) {
            minuses += 1;
        }
        let position = self.peek_pos();
        let first = self.parse_path()?;
        let expr = if self.at(&TokenKind::Pipe) {
            self.parse_union_rest(first, position)?
        } else {
            first
        };
        Ok(if minuses == 0 {
            expr
        } else {
            negate(expr, minuses)
        })
    }

    fn parse_union_rest(&mut self, first: Expr, position: usize) -> Result<Expr, XPathError> {
        require_node_set(&first, position, "the operands of '|' must be node-sets")?;
        let mut operands = vec![first];
        while self.eat(&TokenKind::Pipe) {
            let at = self.peek_pos();
            let operand = self.parse_path()?;
            require_node_set(&operand, at, "the operands of '|' must be node-sets")?;
            operands.push(operand);
        }
        Ok(Expr::Union { operands, position })
    }

    fn parse_path(&mut self) -> Result<Expr, XPathError> {
        match self.peek() {
            Some(TokenKind::Slash) => {
                self.next += 1;
                let mut steps = Vec::new();
                if self.starts_step() {
                    self.parse_relative_path(&mut steps)?;
                }
                Ok(path(true, steps))
            }
            Some(TokenKind::DoubleSlash) => {
                self.next += 1;
                let mut steps = vec![descendant_or_self()];
                self.parse_relative_path(&mut steps)?;
                // The item-relative product rule: `//x` in a field selector means `.//x`.
                let absolute = !(self.mode == Mode::Relative && self.predicate_depth == 0);
                Ok(path(absolute, steps))
            }
            Some(
                TokenKind::Literal(_)
                | TokenKind::Number(_)
                | TokenKind::LParen
                | TokenKind::FunctionName { .. },
            ) => self.parse_filter(),
            _ if self.starts_step() => {
                let mut steps = Vec::new();
                self.parse_relative_path(&mut steps)?;
                Ok(path(false, steps))
            }
            _ => Err(self.expected("an expression")),
        }
    }

    fn starts_step(&self) -> bool {
        matches!(
            self.peek(),
            Some(
                TokenKind::Dot
                    | TokenKind::DotDot
                    | TokenKind::At
                    | TokenKind::AxisName(_)
                    | TokenKind::NameTest { .. }
                    | TokenKind::NodeType(_)
            )
        )
    }

    /// `Step (('/' | '//') Step)*`, appended to `steps`.
    fn parse_relative_path(&mut self, steps: &mut Vec<Step>) -> Result<(), XPathError> {
        loop {
            steps.push(self.parse_step()?);
            if self.eat(&TokenKind::Slash) {
                continue;
            }
            if self.eat(&TokenKind::DoubleSlash) {
                steps.push(descendant_or_self());
                continue;
            }
            return Ok(());
        }
    }

    fn parse_step(&mut self) -> Result<Step, XPathError> {
        let axis = match self.peek() {
            Some(TokenKind::Dot) => {
                self.next += 1;
                return Ok(Step::new(Axis::SelfNode, NodeTest::Node));
            }
            Some(TokenKind::DotDot) => {
                self.next += 1;
                return Ok(Step::new(Axis::Parent, NodeTest::Node));
            }
            Some(TokenKind::At) => {
                self.next += 1;
                Axis::Attribute
            }
            Some(TokenKind::AxisName(axis)) => {
                let axis = *axis;
                self.next += 1;
                axis
            }
            Some(TokenKind::NameTest { .. } | TokenKind::NodeType(_)) => Axis::Child,
            _ => {
                return Err(
                    self.expected("a location step (a name, '*', '.', '..', '@' or an axis)")
                );
            }
        };
        let test = self.parse_node_test()?;
        let mut step = Step::new(axis, test);
        while self.at(&TokenKind::LBracket) {
            step.predicates.push(self.parse_predicate()?);
        }
        Ok(step)
    }

    fn parse_node_test(&mut self) -> Result<NodeTest, XPathError> {
        let position = self.peek_pos();
        match self.peek().cloned() {
            Some(TokenKind::NameTest { prefix, local }) => {
                self.next += 1;
                let namespace = match prefix {
                    Some(prefix) => Some(resolve_prefix(&prefix, position)?),
                    None => None,
                };
                let local = local.map(|l| LocalNames {
                    lower: LocalName::from(l.to_ascii_lowercase()),
                    exact: LocalName::from(l),
                });
                Ok(NodeTest::Name(NameTest { namespace, local }))
            }
            Some(TokenKind::NodeType(kind)) => {
                self.next += 1;
                let open = self.peek_pos();
                // The lexer only emits a node type when '(' follows.
                self.eat(&TokenKind::LParen);
                let mut target = None;
                if kind == NodeType::ProcessingInstruction
                    && let Some(TokenKind::Literal(t)) = self.peek()
                {
                    target = Some(t.clone().into_boxed_str());
                    self.next += 1;
                }
                if !self.eat(&TokenKind::RParen) {
                    let takes = if kind == NodeType::ProcessingInstruction {
                        "takes at most one string literal"
                    } else {
                        "takes no arguments"
                    };
                    let name = kind.name();
                    return Err(self.expected(&format!(
                        "')' to close '{name}(' at position {open} ('{name}()' {takes})"
                    )));
                }
                Ok(match kind {
                    NodeType::Node => NodeTest::Node,
                    NodeType::Text => NodeTest::Text,
                    NodeType::Comment => NodeTest::Comment,
                    NodeType::ProcessingInstruction => NodeTest::ProcessingInstruction(target),
                })
            }
            _ => Err(self.expected(
                "a node test (a name, '*', node(), text(), comment() or \
                 processing-instruction())",
            )),
        }
    }

    fn parse_predicate(&mut self) -> Result<Predicate, XPathError> {
        let open = self.peek_pos();
        self.next += 1;
        self.predicate_depth += 1;
        let expr = self.parse_expr();
        self.predicate_depth -= 1;
        let expr = expr?;
        if !self.eat(&TokenKind::RBracket) {
            return Err(self.unclosed("']'", "the predicate opened", open));
        }
        let kind = match &expr {
            Expr::Number(n) => PredicateKind::Index(*n),
            Expr::Call {
                func: Func::Last, ..
            } => PredicateKind::Last,
            e if e.ty() == Ty::Number => PredicateKind::Number,
            e => PredicateKind::Boolean {
                positional: e.uses_position(),
            },
        };
        Ok(Predicate { expr, kind })
    }

    /// `PrimaryExpr Predicate* (('/' | '//') RelativeLocationPath)?`
    fn parse_filter(&mut self) -> Result<Expr, XPathError> {
        let position = self.peek_pos();
        let primary = self.parse_primary()?;
        if self.at(&TokenKind::LBracket)
            || self.at(&TokenKind::Slash)
            || self.at(&TokenKind::DoubleSlash)
        {
            self.parse_filter_rest(primary, position)
        } else {
            Ok(primary)
        }
    }

    /// `'(' Expr ')' | Literal | Number | FunctionCall` (variables are rejected by the lexer).
    fn parse_primary(&mut self) -> Result<Expr, XPathError> {
        let position = self.peek_pos();
        match self.peek() {
            Some(TokenKind::LParen) => {
                self.next += 1;
                let inner = self.parse_expr()?;
                if !self.eat(&TokenKind::RParen) {
                    return Err(self.unclosed("')'", "the '('", position));
                }
                Ok(inner)
            }
            Some(TokenKind::Literal(s)) => {
                let literal = Expr::Literal(s.as_str().into());
                self.next += 1;
                Ok(literal)
            }
            Some(TokenKind::Number(n)) => {
                let number = Expr::Number(*n);
                self.next += 1;
                Ok(number)
            }
            Some(TokenKind::FunctionName { .. }) => self.parse_call(),
            _ => Err(self.expected("an expression")),
        }
    }

    fn parse_filter_rest(&mut self, primary: Expr, position: usize) -> Result<Expr, XPathError> {
        let mut predicates = Vec::new();
        while self.at(&TokenKind::LBracket) {
            if predicates.is_empty() {
                require_node_set(
                    &primary,
                    self.peek_pos(),
                    "a predicate can only filter a node-set",
                )?;
            }
            predicates.push(self.parse_predicate()?);
        }
        let mut steps = Vec::new();
        let double = self.at(&TokenKind::DoubleSlash);
        if double || self.at(&TokenKind::Slash) {
            if predicates.is_empty() {
                let what = if double {
                    "'//' can only follow a node-set"
                } else {
                    "'/' can only follow a node-set"
                };
                require_node_set(&primary, self.peek_pos(), what)?;
            }
            self.next += 1;
            if double {
                steps.push(descendant_or_self());
            }
            self.parse_relative_path(&mut steps)?;
        }
        let steps = simplify(steps);
        if predicates.is_empty() && steps.is_empty() {
            return Ok(primary);
        }
        Ok(Expr::Filter {
            primary: Box::new(primary),
            predicates,
            steps,
            position,
        })
    }

    fn parse_call(&mut self) -> Result<Expr, XPathError> {
        let position = self.peek_pos();
        let func = self.resolve_function()?;
        let open = self.peek_pos();
        // The lexer only emits a function name when '(' follows.
        self.eat(&TokenKind::LParen);
        let mut args = Vec::new();
        let mut arg_positions = Vec::new();
        if !self.eat(&TokenKind::RParen) {
            loop {
                arg_positions.push(self.peek_pos());
                args.push(self.parse_expr()?);
                if self.eat(&TokenKind::Comma) {
                    continue;
                }
                if self.eat(&TokenKind::RParen) {
                    break;
                }
                return Err(self.unclosed_call(func, open));
            }
        }
        check_call(func, &args, &arg_positions, position)?;
        Ok(Expr::Call {
            func,
            args,
            position,
        })
    }

    /// Consumes the function-name token and looks the function up.
    fn resolve_function(&mut self) -> Result<Func, XPathError> {
        let position = self.peek_pos();
        let Some(TokenKind::FunctionName { prefix, local }) = self.peek() else {
            return Err(self.expected("a function name"));
        };
        let func = match (prefix, Func::from_name(local)) {
            (None, Some(func)) => func,
            _ => return Err(unknown_function(prefix.as_deref(), local, position)),
        };
        self.next += 1;
        Ok(func)
    }

    #[cold]
    #[inline(never)]
    fn unclosed_call(&self, func: Func, open: usize) -> XPathError {
        self.expected(&format!(
            "',' or ')' in the arguments of '{}(' opened at position {open}",
            func.name()
        ))
    }
}

fn negate(expr: Expr, minuses: usize) -> Expr {
    Expr::Negate {
        operand: Box::new(expr),
        odd: minuses % 2 == 1,
    }
}

fn descendant_or_self() -> Step {
    Step::new(Axis::DescendantOrSelf, NodeTest::Node)
}

fn path(absolute: bool, steps: Vec<Step>) -> Expr {
    Expr::Path(LocationPath {
        absolute,
        steps: simplify(steps),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps_of(src: &str, mode: Mode) -> (bool, Vec<Axis>) {
        match parse(src, mode).unwrap() {
            Expr::Path(p) => (p.absolute, p.steps.iter().map(|s| s.axis).collect()),
            other => panic!("not a path: {other:?}"),
        }
    }

    #[test]
    fn relative_mode_anchors_leading_double_slash_outside_predicates() {
        assert_eq!(
            steps_of("//a", Mode::Relative),
            (false, vec![Axis::Descendant])
        );
        assert_eq!(steps_of("/html", Mode::Relative), (true, vec![Axis::Child]));
        let Expr::Path(p) = parse("//a[//b]", Mode::Relative).unwrap() else {
            panic!()
        };
        assert!(!p.absolute);
        let Expr::Path(inner) = &p.steps[0].predicates[0].expr else {
            panic!()
        };
        assert!(inner.absolute);
    }

    #[test]
    fn predicates_are_classified() {
        let kinds = |src: &str| match parse(src, Mode::Document).unwrap() {
            Expr::Path(p) => p.steps[0]
                .predicates
                .iter()
                .map(|p| p.kind)
                .collect::<Vec<_>>(),
            _ => panic!(),
        };
        assert_eq!(
            kinds("a[2][last()][position()][@x][position()=1][count(b[1])]"),
            vec![
                PredicateKind::Index(2.0),
                PredicateKind::Last,
                PredicateKind::Number,
                PredicateKind::Boolean { positional: false },
                PredicateKind::Boolean { positional: true },
                PredicateKind::Number,
            ]
        );
    }
}
