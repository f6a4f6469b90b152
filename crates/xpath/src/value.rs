//! XPath values and the conversion and comparison rules of XPath 1.0 §3.4 and §4.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::ast::BinaryOp;
use crate::lexer::is_xml_space;
use crate::node::XNode;

/// The result of evaluating an expression.
///
/// A node-set is always in document order without duplicates.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    /// A node-set, in document order without duplicates.
    Nodes(Vec<XNode<'a>>),
    String(String),
    Number(f64),
    Boolean(bool),
}

impl<'a> Value<'a> {
    /// `string()`: a node-set converts to the string-value of its first node ("" if empty).
    pub fn to_string_value(&self) -> String {
        self.as_str().into_owned()
    }

    /// `number()`.
    pub fn to_number(&self) -> f64 {
        self.view().to_number()
    }

    /// `boolean()`.
    pub fn to_boolean(&self) -> bool {
        self.view().to_boolean()
    }

    /// The node-set, or `None` for the other types.
    pub fn into_nodes(self) -> Option<Vec<XNode<'a>>> {
        match self {
            Value::Nodes(nodes) => Some(nodes),
            _ => None,
        }
    }

    /// `string()` without copying when the text is already there.
    pub(crate) fn as_str(&self) -> Cow<'_, str> {
        self.view().as_str()
    }

    /// `string()` consuming the value, so string results are moved, not copied.
    pub(crate) fn into_cow(self) -> Cow<'a, str> {
        match self {
            Value::String(s) => Cow::Owned(s),
            Value::Nodes(nodes) => nodes
                .first()
                .map_or(Cow::Borrowed(""), XNode::string_value_cow),
            other => Cow::Owned(other.to_string_value()),
        }
    }

    pub(crate) fn view(&self) -> Operand<'_, 'a> {
        match self {
            Value::Nodes(nodes) => Operand::Nodes(nodes),
            Value::String(s) => Operand::Str(s),
            Value::Number(n) => Operand::Number(*n),
            Value::Boolean(b) => Operand::Boolean(*b),
        }
    }
}

/// A borrowed view of a value. Comparisons and conversions work on this, so an operand that
/// is a string literal of the expression can take part without being copied into a `Value`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Operand<'v, 'a> {
    Nodes(&'v [XNode<'a>]),
    Str(&'v str),
    Number(f64),
    Boolean(bool),
}

impl<'v> Operand<'v, '_> {
    pub(crate) fn to_number(self) -> f64 {
        match self {
            Operand::Number(n) => n,
            Operand::Boolean(b) => f64::from(u8::from(b)),
            Operand::Str(s) => string_to_number(s),
            Operand::Nodes(nodes) => nodes
                .first()
                .map_or(f64::NAN, |n| string_to_number(&n.string_value_cow())),
        }
    }

    pub(crate) fn to_boolean(self) -> bool {
        match self {
            Operand::Boolean(b) => b,
            Operand::Number(n) => n != 0.0 && !n.is_nan(),
            Operand::Str(s) => !s.is_empty(),
            Operand::Nodes(nodes) => !nodes.is_empty(),
        }
    }

    pub(crate) fn as_str(self) -> Cow<'v, str> {
        match self {
            Operand::Str(s) => Cow::Borrowed(s),
            Operand::Number(n) => Cow::Owned(format_number(n)),
            Operand::Boolean(b) => Cow::Borrowed(if b { "true" } else { "false" }),
            Operand::Nodes(nodes) => nodes
                .first()
                .map_or(Cow::Borrowed(""), XNode::string_value_cow),
        }
    }
}

/// `string(number)` per §4.2: integers without a fractional part, no exponent notation,
/// `NaN`, `Infinity`, `-Infinity`, and negative zero printed as `0`.
pub(crate) fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".to_owned()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.to_owned()
    } else if n == 0.0 {
        "0".to_owned()
    } else {
        // Rust's `Display` for f64 already prints the shortest round-tripping decimal without
        // exponent and without a trailing ".0" for integers, which is exactly §4.2's rule.
        n.to_string()
    }
}

/// `number(string)` per §4.4: optional whitespace, an optional minus, a plain decimal number,
/// optional whitespace; anything else (including `+1`, `1e3`, `Infinity`) is NaN.
pub(crate) fn string_to_number(s: &str) -> f64 {
    let trimmed = s.trim_matches(is_xml_space);
    let (negative, body) = match trimmed.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, trimmed),
    };
    let mut digits = 0;
    let mut dots = 0;
    for b in body.bytes() {
        match b {
            b'0'..=b'9' => digits += 1,
            b'.' => dots += 1,
            _ => return f64::NAN,
        }
    }
    if digits == 0 || dots > 1 {
        return f64::NAN;
    }
    let value = parse_number_literal(body);
    if negative { -value } else { value }
}

/// Parses an already validated `Digits ('.' Digits?)? | '.' Digits`.
pub(crate) fn parse_number_literal(text: &str) -> f64 {
    // Normalise the two spellings Rust's parser might not accept ("1." and ".5") so the
    // correctly rounded std parser does the work.
    let owned;
    let text = if text.starts_with('.') {
        owned = format!("0{text}");
        owned.as_str()
    } else {
        text.strip_suffix('.').unwrap_or(text)
    };
    text.parse().unwrap_or(f64::NAN)
}

pub(crate) fn arithmetic(op: BinaryOp, a: f64, b: f64) -> f64 {
    match op {
        BinaryOp::Add => a + b,
        BinaryOp::Sub => a - b,
        BinaryOp::Mul => a * b,
        BinaryOp::Div => a / b,
        // §3.5: `mod` truncates like Java's `%`, which is what Rust's f64 `%` does.
        BinaryOp::Mod => a % b,
        _ => f64::NAN,
    }
}

fn compare_numbers(op: BinaryOp, a: f64, b: f64) -> bool {
    match op {
        BinaryOp::Eq => a == b,
        BinaryOp::NotEq => a != b,
        BinaryOp::Lt => a < b,
        BinaryOp::Le => a <= b,
        BinaryOp::Gt => a > b,
        BinaryOp::Ge => a >= b,
        _ => false,
    }
}

/// The operator to use when the operands are swapped (`3 < x` is `x > 3`).
fn flip(op: BinaryOp) -> BinaryOp {
    match op {
        BinaryOp::Lt => BinaryOp::Gt,
        BinaryOp::Le => BinaryOp::Ge,
        BinaryOp::Gt => BinaryOp::Lt,
        BinaryOp::Ge => BinaryOp::Le,
        other => other,
    }
}

fn is_equality(op: BinaryOp) -> bool {
    matches!(op, BinaryOp::Eq | BinaryOp::NotEq)
}

/// Evaluates a comparison operator per §3.4.
pub(crate) fn compare(op: BinaryOp, left: Operand<'_, '_>, right: Operand<'_, '_>) -> bool {
    match (left, right) {
        (Operand::Nodes(a), Operand::Nodes(b)) => compare_node_sets(op, a, b),
        (Operand::Nodes(a), other) => compare_nodes_with(op, a, other),
        (other, Operand::Nodes(b)) => compare_nodes_with(flip(op), b, other),
        (l, r) => compare_atomic(op, l, r),
    }
}

fn compare_atomic(op: BinaryOp, l: Operand<'_, '_>, r: Operand<'_, '_>) -> bool {
    if !is_equality(op) {
        return compare_numbers(op, l.to_number(), r.to_number());
    }
    let equal = match (l, r) {
        (Operand::Boolean(_), _) | (_, Operand::Boolean(_)) => l.to_boolean() == r.to_boolean(),
        (Operand::Number(_), _) | (_, Operand::Number(_)) => l.to_number() == r.to_number(),
        _ => l.as_str() == r.as_str(),
    };
    // For numbers `!=` must also be true when either side is NaN, which `!equal` gives.
    if op == BinaryOp::Eq { equal } else { !equal }
}

/// A node-set against a non-node-set: true if some node's string-value satisfies the
/// comparison, except against a boolean, where the node-set is first converted to one.
fn compare_nodes_with(op: BinaryOp, nodes: &[XNode<'_>], other: Operand<'_, '_>) -> bool {
    match other {
        Operand::Boolean(_) => compare_atomic(op, Operand::Boolean(!nodes.is_empty()), other),
        Operand::Number(n) => nodes
            .iter()
            .any(|x| compare_numbers(op, string_to_number(&x.string_value_cow()), n)),
        Operand::Str(s) if is_equality(op) => {
            let want = op == BinaryOp::Eq;
            nodes.iter().any(|x| (x.string_value_cow() == s) == want)
        }
        Operand::Str(s) => {
            let n = string_to_number(s);
            nodes
                .iter()
                .any(|x| compare_numbers(op, string_to_number(&x.string_value_cow()), n))
        }
        Operand::Nodes(other) => compare_node_sets(op, nodes, other),
    }
}

/// Two node-sets: true if some pair of nodes satisfies the comparison.
fn compare_node_sets(op: BinaryOp, a: &[XNode<'_>], b: &[XNode<'_>]) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if op == BinaryOp::Eq {
        // Hashing the right-hand strings keeps `//a = //b` linear on large pages.
        let right: HashSet<Cow<'_, str>> = b.iter().map(XNode::string_value_cow).collect();
        return a.iter().any(|x| right.contains(&x.string_value_cow()));
    }
    if op == BinaryOp::NotEq {
        // Some pair differs unless both sides hold one and the same string.
        let first = b[0].string_value_cow();
        if b[1..].iter().any(|y| y.string_value_cow() != first) {
            return true;
        }
        return a.iter().any(|x| x.string_value_cow() != first);
    }
    // Some pair satisfies `x < y` exactly when the smallest x is below the largest y, so the
    // relational case needs only the extremes (NaN never compares true and is skipped).
    let (a_min, a_max) = extremes(a);
    let (b_min, b_max) = extremes(b);
    match op {
        BinaryOp::Lt | BinaryOp::Le => compare_numbers(op, a_min, b_max),
        _ => compare_numbers(op, a_max, b_min),
    }
}

fn extremes(nodes: &[XNode<'_>]) -> (f64, f64) {
    let mut min = f64::NAN;
    let mut max = f64::NAN;
    for n in nodes {
        let v = string_to_number(&n.string_value_cow());
        // `f64::min`/`max` ignore a NaN operand, so NaN survives only if every value is NaN.
        min = min.min(v);
        max = max.max(v);
    }
    (min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_format_per_spec() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(format_number(0.5), "0.5");
        assert_eq!(format_number(-0.0), "0");
        assert_eq!(format_number(f64::NAN), "NaN");
        assert_eq!(format_number(f64::INFINITY), "Infinity");
        assert_eq!(format_number(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(format_number(1e21), "1000000000000000000000");
        assert_eq!(format_number(1e-7), "0.0000001");
        assert_eq!(format_number(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_number(123456789.0), "123456789");
    }

    #[test]
    fn strings_convert_to_numbers_per_spec() {
        assert_eq!(string_to_number(" 12 "), 12.0);
        assert_eq!(string_to_number("\n-3.5\t"), -3.5);
        assert_eq!(string_to_number(".5"), 0.5);
        assert_eq!(string_to_number("5."), 5.0);
        assert_eq!(string_to_number("-.5"), -0.5);
        for bad in [
            "", " ", "+1", "1e3", "Infinity", "NaN", "1.2.3", "- 1", "1 2", ".", "-", "0x10", "1,5",
        ] {
            assert!(string_to_number(bad).is_nan(), "{bad:?} should be NaN");
        }
    }

    #[test]
    fn atomic_comparisons() {
        let s = Operand::Str;
        let n = Operand::Number;
        let b = Operand::Boolean;
        assert!(compare(BinaryOp::Eq, n(1.0), s("1.0")));
        assert!(compare(BinaryOp::Eq, b(true), s("x")));
        assert!(!compare(BinaryOp::Eq, s("1"), s("1.0")));
        assert!(compare(BinaryOp::NotEq, n(f64::NAN), n(f64::NAN)));
        assert!(!compare(BinaryOp::Eq, n(f64::NAN), n(f64::NAN)));
        assert!(compare(BinaryOp::Lt, s("2"), s("10")));
        assert!(compare(BinaryOp::Gt, b(true), b(false)));
    }

    #[test]
    fn mod_truncates_towards_zero() {
        assert_eq!(arithmetic(BinaryOp::Mod, 5.0, 2.0), 1.0);
        assert_eq!(arithmetic(BinaryOp::Mod, 5.0, -2.0), 1.0);
        assert_eq!(arithmetic(BinaryOp::Mod, -5.0, 2.0), -1.0);
        assert_eq!(arithmetic(BinaryOp::Mod, -5.0, -2.0), -1.0);
        assert!(arithmetic(BinaryOp::Mod, 1.0, 0.0).is_nan());
    }
}
