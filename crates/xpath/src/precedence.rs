//! Operator precedence for the binary operators (§3.1 and the grammar of §3.4, §3.5).
//!
//! The parser shifts operands and operators onto two stacks and reduces here, instead of
//! descending through one function per precedence level.

use crate::ast::{BinaryOp, Expr};
use crate::lexer::TokenKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operator {
    Or,
    And,
    Binary(BinaryOp),
}

impl Operator {
    pub(crate) fn from_token(kind: &TokenKind) -> Option<Operator> {
        Some(match kind {
            TokenKind::Or => Operator::Or,
            TokenKind::And => Operator::And,
            TokenKind::Eq => Operator::Binary(BinaryOp::Eq),
            TokenKind::NotEq => Operator::Binary(BinaryOp::NotEq),
            TokenKind::Lt => Operator::Binary(BinaryOp::Lt),
            TokenKind::Le => Operator::Binary(BinaryOp::Le),
            TokenKind::Gt => Operator::Binary(BinaryOp::Gt),
            TokenKind::Ge => Operator::Binary(BinaryOp::Ge),
            TokenKind::Plus => Operator::Binary(BinaryOp::Add),
            TokenKind::Minus => Operator::Binary(BinaryOp::Sub),
            TokenKind::Multiply => Operator::Binary(BinaryOp::Mul),
            TokenKind::Div => Operator::Binary(BinaryOp::Div),
            TokenKind::Mod => Operator::Binary(BinaryOp::Mod),
            _ => return None,
        })
    }

    /// §3.1: or < and < equality < relational < additive < multiplicative; all left-assoc.
    pub(crate) fn precedence(self) -> u8 {
        match self {
            Operator::Or => 1,
            Operator::And => 2,
            Operator::Binary(BinaryOp::Eq | BinaryOp::NotEq) => 3,
            Operator::Binary(BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge) => 4,
            Operator::Binary(BinaryOp::Add | BinaryOp::Sub) => 5,
            Operator::Binary(_) => 6,
        }
    }
}

/// Combines the top operator with its two operands. A left operand that is already a run of
/// the same kind is extended instead of nested: `(a op1 b) op2 c` evaluated as a left fold is
/// the same computation, and it keeps `1+1+1+…` flat.
pub(crate) fn reduce(operands: &mut Vec<Expr>, operators: &mut Vec<Operator>) {
    let (Some(op), Some(rhs), Some(lhs)) = (operators.pop(), operands.pop(), operands.pop()) else {
        return;
    };
    let combined = match (op, lhs) {
        (Operator::Or, Expr::Or(mut items)) => {
            items.push(rhs);
            Expr::Or(items)
        }
        (Operator::Or, lhs) => Expr::Or(vec![lhs, rhs]),
        (Operator::And, Expr::And(mut items)) => {
            items.push(rhs);
            Expr::And(items)
        }
        (Operator::And, lhs) => Expr::And(vec![lhs, rhs]),
        (Operator::Binary(op), Expr::Chain { first, mut rest }) => {
            rest.push((op, rhs));
            Expr::Chain { first, rest }
        }
        (Operator::Binary(op), lhs) => Expr::Chain {
            first: Box::new(lhs),
            rest: vec![(op, rhs)],
        },
    };
    operands.push(combined);
}

#[cfg(test)]
mod tests {
    use crate::ast::Expr;
    use crate::parser::{Mode, parse};

    #[test]
    fn long_operator_runs_stay_flat() {
        let src = vec!["1"; 4000].join("+");
        let Expr::Chain { rest, .. } = parse(&src, Mode::Document).unwrap() else {
            panic!()
        };
        assert_eq!(rest.len(), 3999);
    }

    #[test]
    fn precedence_and_left_associativity() {
        let Expr::Or(items) = parse("1 and 2 or 3 = 4 + 5 * 6", Mode::Document).unwrap() else {
            panic!("or at the top")
        };
        assert!(matches!(items[0], Expr::And(_)));
        let Expr::Chain { rest, .. } = &items[1] else {
            panic!("equality chain")
        };
        assert!(matches!(rest[0].1, Expr::Chain { .. }));
        // `1 * 2 + 3` folds left: the product is extended, not nested.
        let Expr::Chain { first, rest } = parse("1 * 2 + 3", Mode::Document).unwrap() else {
            panic!("chain")
        };
        assert!(matches!(*first, Expr::Number(_)));
        assert_eq!(rest.len(), 2);
    }
}
