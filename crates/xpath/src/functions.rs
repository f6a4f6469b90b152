//! The 27 functions of the XPath 1.0 core library (§4): their signatures, checked at compile
//! time, and their implementations.

use std::borrow::Cow;

use crate::ast::{Expr, Ty};
use crate::error::XPathError;
use crate::eval::{Context, Evaluator};
use crate::lexer::is_xml_space;
use crate::node::{XNode, attribute_count, attribute_entry};
use crate::value::{Value, string_to_number};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Last,
    Position,
    Count,
    Id,
    LocalName,
    NamespaceUri,
    Name,
    String,
    Concat,
    StartsWith,
    Contains,
    SubstringBefore,
    SubstringAfter,
    Substring,
    StringLength,
    NormalizeSpace,
    Translate,
    Boolean,
    Not,
    True,
    False,
    Lang,
    Number,
    Sum,
    Floor,
    Ceiling,
    Round,
}

/// Name, minimum and maximum argument count (`None` = unbounded) and result type.
const TABLE: &[(Func, &str, usize, Option<usize>, Ty)] = &[
    (Func::Last, "last", 0, Some(0), Ty::Number),
    (Func::Position, "position", 0, Some(0), Ty::Number),
    (Func::Count, "count", 1, Some(1), Ty::Number),
    (Func::Id, "id", 1, Some(1), Ty::NodeSet),
    (Func::LocalName, "local-name", 0, Some(1), Ty::String),
    (Func::NamespaceUri, "namespace-uri", 0, Some(1), Ty::String),
    (Func::Name, "name", 0, Some(1), Ty::String),
    (Func::String, "string", 0, Some(1), Ty::String),
    (Func::Concat, "concat", 2, None, Ty::String),
    (Func::StartsWith, "starts-with", 2, Some(2), Ty::Boolean),
    (Func::Contains, "contains", 2, Some(2), Ty::Boolean),
    (
        Func::SubstringBefore,
        "substring-before",
        2,
        Some(2),
        Ty::String,
    ),
    (
        Func::SubstringAfter,
        "substring-after",
        2,
        Some(2),
        Ty::String,
    ),
    (Func::Substring, "substring", 2, Some(3), Ty::String),
    (Func::StringLength, "string-length", 0, Some(1), Ty::Number),
    (
        Func::NormalizeSpace,
        "normalize-space",
        0,
        Some(1),
        Ty::String,
    ),
    (Func::Translate, "translate", 3, Some(3), Ty::String),
    (Func::Boolean, "boolean", 1, Some(1), Ty::Boolean),
    (Func::Not, "not", 1, Some(1), Ty::Boolean),
    (Func::True, "true", 0, Some(0), Ty::Boolean),
    (Func::False, "false", 0, Some(0), Ty::Boolean),
    (Func::Lang, "lang", 1, Some(1), Ty::Boolean),
    (Func::Number, "number", 0, Some(1), Ty::Number),
    (Func::Sum, "sum", 1, Some(1), Ty::Number),
    (Func::Floor, "floor", 1, Some(1), Ty::Number),
    (Func::Ceiling, "ceiling", 1, Some(1), Ty::Number),
    (Func::Round, "round", 1, Some(1), Ty::Number),
];

impl Func {
    pub(crate) fn from_name(name: &str) -> Option<Func> {
        TABLE.iter().find(|e| e.1 == name).map(|e| e.0)
    }

    fn entry(self) -> &'static (Func, &'static str, usize, Option<usize>, Ty) {
        // Every variant has a row; the fallback only keeps this total without a panic.
        TABLE.iter().find(|e| e.0 == self).unwrap_or(&TABLE[0])
    }

    pub(crate) fn name(self) -> &'static str {
        self.entry().1
    }

    pub(crate) fn return_ty(self) -> Ty {
        self.entry().4
    }

    /// `None` if `count` arguments are acceptable, else the message for the arity error.
    pub(crate) fn arity_error(self, count: usize) -> Option<String> {
        let &(_, name, min, max, _) = self.entry();
        if count >= min && max.is_none_or(|m| count <= m) {
            return None;
        }
        let expected = match max {
            None => format!("at least {min} arguments"),
            Some(0) => "no arguments".to_owned(),
            Some(m) if m == min => format!("exactly {m} argument{}", if m == 1 { "" } else { "s" }),
            Some(m) if m == min + 1 => format!("{min} or {m} arguments"),
            Some(m) => format!("{min} to {m} arguments"),
        };
        Some(format!("function '{name}' takes {expected}, got {count}"))
    }

    /// Functions whose argument must be a node-set (§4.1): passing anything else is an error
    /// the parser reports, since XPath types are static.
    pub(crate) fn needs_node_set_args(self) -> bool {
        matches!(
            self,
            Func::Count | Func::Sum | Func::LocalName | Func::NamespaceUri | Func::Name
        )
    }
}

/// Evaluates a call. Split by argument kind so the frames on the recursion path (a call
/// inside a call inside …) stay small.
pub(crate) fn call<'a>(
    ev: &Evaluator<'_, 'a>,
    func: Func,
    args: &[Expr],
    ctx: &Context<'a>,
    position: usize,
) -> Result<Value<'a>, XPathError> {
    match func {
        Func::Last => Ok(Value::Number(ctx.size as f64)),
        Func::Position => Ok(Value::Number(ctx.position as f64)),
        Func::True => Ok(Value::Boolean(true)),
        Func::False => Ok(Value::Boolean(false)),
        Func::Boolean => Ok(Value::Boolean(ev.eval(&args[0], ctx)?.to_boolean())),
        Func::Not => Ok(Value::Boolean(!ev.eval(&args[0], ctx)?.to_boolean())),
        Func::Id => Ok(Value::Nodes(id(ev, ev.eval(&args[0], ctx)?))),
        Func::Count | Func::Sum | Func::LocalName | Func::NamespaceUri | Func::Name => {
            node_set_function(ev, func, args, ctx, position)
        }
        Func::Number | Func::Floor | Func::Ceiling | Func::Round => {
            number_function(ev, func, args, ctx)
        }
        _ => string_function(ev, func, args, ctx),
    }
}

/// Functions of an optional node-set argument (the context node when absent).
fn node_set_function<'a>(
    ev: &Evaluator<'_, 'a>,
    func: Func,
    args: &[Expr],
    ctx: &Context<'a>,
    position: usize,
) -> Result<Value<'a>, XPathError> {
    let nodes = match args.first() {
        Some(arg) => ev.eval_nodes(arg, ctx, position)?,
        None => vec![ctx.node],
    };
    let first = nodes.first();
    Ok(match func {
        Func::Count => Value::Number(nodes.len() as f64),
        // Folded from +0: Rust's `f64` sum starts at -0, which would make `1 div sum(/none)`
        // negative infinity.
        Func::Sum => Value::Number(
            nodes
                .iter()
                .map(|n| string_to_number(&n.string_value_cow()))
                .fold(0.0, |acc, n| acc + n),
        ),
        Func::LocalName => Value::String(first.map_or("", XNode::local_name).to_owned()),
        Func::NamespaceUri => Value::String(first.map_or("", XNode::namespace_uri).to_owned()),
        _ => Value::String(
            first
                .map(|n| n.qualified_name().into_owned())
                .unwrap_or_default(),
        ),
    })
}

fn number_function<'a>(
    ev: &Evaluator<'_, 'a>,
    func: Func,
    args: &[Expr],
    ctx: &Context<'a>,
) -> Result<Value<'a>, XPathError> {
    let n = match args.first() {
        Some(arg) => ev.eval(arg, ctx)?.to_number(),
        None => string_to_number(&ctx.node.string_value_cow()),
    };
    Ok(Value::Number(match func {
        Func::Floor => n.floor(),
        Func::Ceiling => n.ceil(),
        Func::Round => round(n),
        _ => n,
    }))
}

/// Functions whose arguments are strings (and the numbers of `substring`).
fn string_function<'a>(
    ev: &Evaluator<'_, 'a>,
    func: Func,
    args: &[Expr],
    ctx: &Context<'a>,
) -> Result<Value<'a>, XPathError> {
    // Argument `i` as a string; a missing optional argument means the context node. Borrowed
    // where possible: literals and attribute or text values need no copy.
    let string_arg = |i: usize| -> Result<Cow<'_, str>, XPathError> {
        match args.get(i) {
            Some(arg) => ev.eval_string(arg, ctx),
            None => Ok(ctx.node.string_value_cow()),
        }
    };
    Ok(match func {
        Func::Concat => {
            let mut out = String::new();
            for arg in args {
                out.push_str(&ev.eval_string(arg, ctx)?);
            }
            Value::String(out)
        }
        Func::StartsWith => Value::Boolean(string_arg(0)?.starts_with(&*string_arg(1)?)),
        Func::Contains => Value::Boolean(string_arg(0)?.contains(&*string_arg(1)?)),
        Func::SubstringBefore => {
            let s = string_arg(0)?;
            let pat = string_arg(1)?;
            Value::String(s.find(&*pat).map_or(String::new(), |i| s[..i].to_owned()))
        }
        Func::SubstringAfter => {
            let s = string_arg(0)?;
            let pat = string_arg(1)?;
            Value::String(
                s.find(&*pat)
                    .map_or(String::new(), |i| s[i + pat.len()..].to_owned()),
            )
        }
        Func::Substring => {
            let s = string_arg(0)?;
            let start = ev.eval(&args[1], ctx)?.to_number();
            let len = match args.get(2) {
                Some(arg) => Some(ev.eval(arg, ctx)?.to_number()),
                None => None,
            };
            Value::String(substring(&s, start, len))
        }
        Func::StringLength => Value::Number(string_arg(0)?.chars().count() as f64),
        Func::NormalizeSpace => Value::String(normalize_space(&string_arg(0)?)),
        Func::Translate => {
            Value::String(translate(&string_arg(0)?, &string_arg(1)?, &string_arg(2)?))
        }
        Func::Lang => Value::Boolean(lang(ctx.node, &string_arg(0)?)),
        _ => Value::String(string_arg(0)?.into_owned()),
    })
}

/// `id()`: elements whose `id` attribute equals one of the whitespace-separated tokens of the
/// argument (of each node's string-value, for a node-set), in document order. With duplicate
/// ids, which HTML tolerates, the first element wins, as with `getElementById`.
fn id<'a>(ev: &Evaluator<'_, 'a>, arg: Value<'a>) -> Vec<XNode<'a>> {
    let text = match arg {
        Value::Nodes(nodes) => {
            let mut joined = String::new();
            for n in nodes {
                joined.push_str(&n.string_value_cow());
                joined.push(' ');
            }
            joined
        }
        other => other.into_cow().into_owned(),
    };
    let index = ev.doc.ids();
    let mut found: Vec<XNode<'a>> = text
        .split(is_xml_space)
        .filter(|t| !t.is_empty())
        .filter_map(|t| index.get(t).map(|&n| XNode::Tree(n)))
        .collect();
    if found.len() > 1 {
        ev.doc.order().sort_unique(&mut found);
    }
    found
}

/// `lang()`: the nearest `xml:lang` or `lang` attribute on the node or an ancestor equals the
/// argument or starts with it followed by `-`, ignoring ASCII case.
fn lang(node: XNode<'_>, wanted: &str) -> bool {
    let mut cur = match node {
        XNode::Tree(n) => Some(n),
        XNode::Attribute { element, .. } => Some(element),
    };
    while let Some(n) = cur {
        let mut plain = None;
        let mut xml = None;
        for index in 0..attribute_count(n) {
            if let Some((name, value)) = attribute_entry(n, index)
                && name.ns.is_empty()
                && &*name.local == "lang"
            {
                plain = Some(value);
            } else if let Some((name, value)) = attribute_entry(n, index)
                && is_xml_lang(name)
            {
                xml = Some(value);
            }
        }
        if let Some(value) = xml.or(plain) {
            return value.eq_ignore_ascii_case(wanted)
                || (value.as_bytes().get(wanted.len()) == Some(&b'-')
                    && value
                        .get(..wanted.len())
                        .is_some_and(|head| head.eq_ignore_ascii_case(wanted)));
        }
        cur = n.parent();
    }
    false
}

/// `xml:lang` is namespaced only in foreign (SVG/MathML) content; on HTML elements html5ever
/// keeps it as a plain attribute literally named `xml:lang`.
fn is_xml_lang(name: &html5ever::QualName) -> bool {
    (name.ns == html5ever::ns!(xml) && &*name.local == "lang")
        || (name.ns.is_empty() && &*name.local == "xml:lang")
}

/// `substring()` per §4.2: the characters at positions p (1-based) with
/// `round(start) <= p < round(start) + round(len)`, evaluated in floating point so that NaN
/// and infinities behave as the spec's examples require.
pub(crate) fn substring(s: &str, start: f64, len: Option<f64>) -> String {
    let first = round(start);
    let end = len.map_or(f64::INFINITY, |l| first + round(l));
    s.chars()
        .enumerate()
        .filter(|&(i, _)| {
            let p = (i + 1) as f64;
            p >= first && p < end
        })
        .map(|(_, c)| c)
        .collect()
}

pub(crate) fn normalize_space(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in s.split(is_xml_space).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// `translate()`: the first occurrence of a character in `from` decides; characters of `from`
/// beyond the length of `to` are removed.
pub(crate) fn translate(s: &str, from: &str, to: &str) -> String {
    let from: Vec<char> = from.chars().collect();
    let to: Vec<char> = to.chars().collect();
    s.chars()
        .filter_map(|c| match from.iter().position(|&f| f == c) {
            Some(i) => to.get(i).copied(),
            None => Some(c),
        })
        .collect()
}

/// `round()` per §4.4: ties go towards positive infinity, and values in [-0.5, -0] give -0.
/// `x - floor(x)` is exact in binary floating point, unlike `floor(x + 0.5)`, which rounds
/// 0.49999999999999994 up.
pub(crate) fn round(x: f64) -> f64 {
    if x.is_nan() || x.is_infinite() {
        return x;
    }
    if (-0.5..0.0).contains(&x) {
        return -0.0;
    }
    let f = x.floor();
    if x - f >= 0.5 { f + 1.0 } else { f }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substring_follows_the_spec_examples() {
        assert_eq!(substring("12345", 2.0, Some(3.0)), "234");
        assert_eq!(substring("12345", 2.0, None), "2345");
        assert_eq!(substring("12345", 1.5, Some(2.6)), "234");
        assert_eq!(substring("12345", 0.0, Some(3.0)), "12");
        assert_eq!(substring("12345", f64::NAN, Some(3.0)), "");
        assert_eq!(substring("12345", 1.0, Some(f64::NAN)), "");
        assert_eq!(substring("12345", -42.0, Some(f64::INFINITY)), "12345");
        assert_eq!(
            substring("12345", f64::NEG_INFINITY, Some(f64::INFINITY)),
            ""
        );
        assert_eq!(substring("ünïcødé", 2.0, Some(3.0)), "nïc");
    }

    #[test]
    fn round_edge_cases() {
        assert_eq!(round(2.5), 3.0);
        assert_eq!(round(-2.5), -2.0);
        assert_eq!(round(-1.5), -1.0);
        assert_eq!(round(0.49999999999999994), 0.0);
        assert!(round(-0.5).is_sign_negative() && round(-0.5) == 0.0);
        assert!(round(-0.2).is_sign_negative());
        assert!(round(-0.0).is_sign_negative());
        assert!(round(0.2).is_sign_positive());
        assert!(round(f64::NAN).is_nan());
        assert_eq!(round(f64::NEG_INFINITY), f64::NEG_INFINITY);
        assert_eq!(round(1e300), 1e300);
    }

    #[test]
    fn string_helpers() {
        assert_eq!(normalize_space("  a \t\n b  c "), "a b c");
        assert_eq!(normalize_space("\u{a0}x\u{a0}"), "\u{a0}x\u{a0}");
        assert_eq!(translate("bar", "abc", "ABC"), "BAr");
        assert_eq!(translate("--aaa--", "abc-", "ABC"), "AAA");
        assert_eq!(translate("aba", "aa", "xy"), "xbx");
    }

    #[test]
    fn arity_messages() {
        assert_eq!(Func::Substring.arity_error(2), None);
        assert_eq!(
            Func::Substring.arity_error(1).as_deref(),
            Some("function 'substring' takes 2 or 3 arguments, got 1")
        );
        assert_eq!(
            Func::Concat.arity_error(1).as_deref(),
            Some("function 'concat' takes at least 2 arguments, got 1")
        );
        assert_eq!(
            Func::True.arity_error(1).as_deref(),
            Some("function 'true' takes no arguments, got 1")
        );
        assert_eq!(
            Func::Count.arity_error(0).as_deref(),
            Some("function 'count' takes exactly 1 argument, got 0")
        );
        assert_eq!(
            Func::Translate.arity_error(2).as_deref(),
            Some("function 'translate' takes exactly 3 arguments, got 2")
        );
        assert_eq!(
            Func::from_name("normalize-space"),
            Some(Func::NormalizeSpace)
        );
        assert_eq!(Func::from_name("matches"), None);
        assert_eq!(Func::Round.name(), "round");
    }
}
