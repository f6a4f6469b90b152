//! Compile-time checks: argument counts and types of calls, node-set operands, namespace
//! prefixes. XPath 1.0 types are static once variables are excluded, so all of these can be
//! reported with a position before anything is evaluated.

use html5ever::{Namespace, ns};

use crate::ast::{Expr, Ty};
use crate::error::XPathError;
use crate::functions::Func;

/// Arity and argument types, checked once all arguments are parsed.
pub(crate) fn check_call(
    func: Func,
    args: &[Expr],
    arg_positions: &[usize],
    position: usize,
) -> Result<(), XPathError> {
    if let Some(message) = func.arity_error(args.len()) {
        return Err(XPathError::new(position, message));
    }
    if func.needs_node_set_args() {
        for (arg, &at) in args.iter().zip(arg_positions) {
            let what = format!("function '{}' expects a node-set argument", func.name());
            require_node_set(arg, at, &what)?;
        }
    }
    Ok(())
}

#[cold]
pub(crate) fn unknown_function(prefix: Option<&str>, local: &str, position: usize) -> XPathError {
    let name = match prefix {
        Some(prefix) => format!("{prefix}:{local}"),
        None => local.to_owned(),
    };
    XPathError::new(position, format!("unknown function '{name}'"))
}

pub(crate) fn require_node_set(expr: &Expr, position: usize, what: &str) -> Result<(), XPathError> {
    match expr.ty() {
        Ty::NodeSet => Ok(()),
        other => Err(XPathError::new(
            position,
            format!("{what}, but this expression is {}", other.describe()),
        )),
    }
}

/// Without namespace declarations in scope, prefixes come from this fixed table of the
/// namespaces html5ever can produce.
pub(crate) fn resolve_prefix(prefix: &str, position: usize) -> Result<Namespace, XPathError> {
    Ok(match prefix {
        "html" | "xhtml" => ns!(html),
        "svg" => ns!(svg),
        "math" | "mathml" => ns!(mathml),
        "xlink" => ns!(xlink),
        "xml" => ns!(xml),
        "xmlns" => ns!(xmlns),
        _ => {
            return Err(XPathError::new(
                position,
                format!(
                    "unknown namespace prefix '{prefix}' (known prefixes: html, svg, math, \
                     xlink, xml, xmlns)"
                ),
            ));
        }
    })
}
