//! Compiled selectors: CSS (scraper) or XPath 1.0 (grandma-xpath), compiled when a job is
//! validated so a bad selector is reported before any fetch.

pub mod css;

use std::fmt;

use crate::spec::SelectorType;
use crate::xpath::XPath;

/// Where a selector is evaluated from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// From the document root: item selectors and the next-button selector.
    Document,
    /// From an item element: field selectors. An XPath written `//x` means `.//x` here
    ///; a single leading `/` stays document-absolute.
    Item,
}

/// A compiled selector.
#[derive(Clone)]
pub enum Selector {
    Css(css::Css),
    XPath(XPath),
}

impl fmt::Debug for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Css(_) => f.write_str("Selector::Css(..)"),
            Selector::XPath(x) => write!(f, "Selector::XPath({:?})", x.source()),
        }
    }
}

impl Selector {
    /// Why the selector can never match part of what it names (a pseudo-element), if so.
    pub fn note(&self) -> Option<&str> {
        match self {
            Selector::Css(css) => css.note.as_deref(),
            Selector::XPath(_) => None,
        }
    }

    /// Compiles `source`; the error is a one-line message without the field path (the caller
    /// knows the path).
    pub fn compile(source: &str, kind: SelectorType, scope: Scope) -> Result<Selector, String> {
        if source.trim().is_empty() {
            return Err("must not be empty".into());
        }
        match kind {
            SelectorType::Css => css::Css::parse(source)
                .map(Selector::Css)
                .map_err(|e| format!("invalid CSS selector {source:?}: {}", css_error(&e))),
            SelectorType::XPath => {
                let compiled = match scope {
                    Scope::Document => XPath::parse(source),
                    Scope::Item => XPath::parse_relative(source),
                };
                compiled
                    .map(Selector::XPath)
                    .map_err(|e| format!("invalid XPath {source:?}: {e}"))
            }
        }
    }
}

/// scraper's parse error, as words (its Debug form is a token dump).
fn css_error(e: &scraper::error::SelectorErrorKind) -> String {
    use scraper::error::SelectorErrorKind as K;
    match e {
        K::UnexpectedToken => "unexpected character or token".into(),
        K::EndOfLine => "the selector ends too early".into(),
        // scraper renders this one as a multi-line dump asking to report a bug; it is just a
        // selector the parser does not support (an unknown pseudo-class, say).
        K::UnexpectedSelectorParseError(kind) => format!("unsupported selector ({kind:?})"),
        other => other.to_string().to_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn css_errors_are_words() {
        let e = Selector::compile("div[", SelectorType::Css, Scope::Document).unwrap_err();
        assert!(e.starts_with("invalid CSS selector \"div[\""), "{e}");
        let e = Selector::compile("  ", SelectorType::Css, Scope::Document).unwrap_err();
        assert_eq!(e, "must not be empty");
    }

    #[test]
    fn good_selectors_compile() {
        assert!(
            Selector::compile("article.product_pod h3 > a", SelectorType::Css, Scope::Item).is_ok()
        );
    }
}
