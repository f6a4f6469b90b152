//! CSS selectors as browsers accept them, matched on scraper's tree.
//!
//! scraper's parser knows no pseudo-classes of state and no pseudo-elements, and does not read
//! `:nth-child(An+B of S)`. Here the selector text is first rewritten: the state a static page
//! shows in its markup becomes the attribute test a browser applies (`:checked` is a checked
//! box or a selected option), and a pseudo-element, which is never an element, becomes a test
//! that matches nothing, with a note for the run's warnings. Then it is parsed with `of S`
//! allowed, and matched with the `selectors` crate on scraper's elements.

use scraper::ElementRef;
use scraper::error::SelectorErrorKind;
use scraper::selector::Simple;
use selectors::SelectorList;
use selectors::matching::{
    MatchingContext, MatchingForInvalidation, MatchingMode, NeedsSelectorFlags, QuirksMode,
    SelectorCaches, matches_selector,
};
use selectors::parser::{ParseRelative, SelectorParseErrorKind};

/// A compiled CSS selector.
#[derive(Clone)]
pub struct Css {
    list: SelectorList<Simple>,
    /// Why part of it can never match (a pseudo-element), to say in the run's warnings.
    pub note: Option<String>,
}

impl std::fmt::Debug for Css {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Css")
            .field("note", &self.note)
            .finish_non_exhaustive()
    }
}

/// scraper's parser, with `:nth-child(An+B of S)` and `:nth-last-child(An+B of S)` allowed.
struct Options;

impl<'i> selectors::parser::Parser<'i> for Options {
    type Impl = Simple;
    type Error = SelectorParseErrorKind;

    fn parse_nth_child_of(&self) -> bool {
        true
    }

    fn parse_is_and_where(&self) -> bool {
        true
    }

    fn parse_has(&self) -> bool {
        true
    }
}

impl Css {
    pub fn parse(source: &str) -> Result<Css, SelectorErrorKind> {
        let (text, note) = rewrite(source);
        let mut parser = cssparser::Parser::new(&text);
        let list = SelectorList::parse(&Options, &mut parser, ParseRelative::No)
            .map_err(SelectorErrorKind::from)?;
        Ok(Css { list, note })
    }

    /// Whether `element` matches; `:scope` is `scope`, or the root element when `None`.
    pub fn matches_with_scope(
        &self,
        element: &ElementRef<'_>,
        scope: Option<ElementRef<'_>>,
    ) -> bool {
        let mut caches = SelectorCaches::default();
        let mut context = MatchingContext::new(
            MatchingMode::Normal,
            None,
            &mut caches,
            QuirksMode::NoQuirks,
            NeedsSelectorFlags::No,
            MatchingForInvalidation::No,
        );
        context.scope_element = scope.map(|x| selectors::Element::opaque(&x));
        self.list
            .slice()
            .iter()
            .any(|s| matches_selector(s, 0, None, element, &mut context))
    }
}

/// Form controls that can be disabled.
const CONTROLS: &str = ":is(button, input, select, textarea, optgroup, option, fieldset)";

/// The pseudo-elements that CSS 2 wrote with one colon.
const LEGACY_PSEUDO_ELEMENTS: &[&str] = &["before", "after", "first-line", "first-letter"];

/// The selector with browser pseudo-classes spelled as attribute tests and pseudo-elements as
/// a test that matches nothing; quoted strings are left alone.
fn rewrite(source: &str) -> (String, Option<String>) {
    let mut out = String::with_capacity(source.len());
    let mut note = None;
    let chars: Vec<char> = source.chars().collect();
    let mut i = 0;
    let ident_at = |start: usize| -> String {
        chars[start..]
            .iter()
            .take_while(|c| c.is_alphanumeric() || **c == '-' || **c == '_')
            .collect()
    };
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' => {
                // Copy the string as it is, escapes included.
                out.push(c);
                i += 1;
                while i < chars.len() {
                    out.push(chars[i]);
                    if chars[i] == '\\' && i + 1 < chars.len() {
                        out.push(chars[i + 1]);
                        i += 2;
                        continue;
                    }
                    i += 1;
                    if chars[i - 1] == c {
                        break;
                    }
                }
            }
            ':' => {
                let double = chars.get(i + 1) == Some(&':');
                let start = i + 1 + usize::from(double);
                let name = ident_at(start);
                let lower = name.to_ascii_lowercase();
                let mut end = start + name.chars().count();
                let is_element = double || LEGACY_PSEUDO_ELEMENTS.contains(&lower.as_str());
                // A functional pseudo's argument, to its closing parenthesis.
                let mut argument = None;
                if chars.get(end) == Some(&'(')
                    && (is_element || lower == "lang")
                    && let Some(close) = chars[end..].iter().position(|c| *c == ')')
                {
                    argument = Some(chars[end + 1..end + close].iter().collect::<String>());
                    end += close + 1;
                }
                let replacement = if is_element && !name.is_empty() {
                    note.get_or_insert_with(|| {
                        format!(
                            "`::{lower}` is a pseudo-element, not an element of the page; the \
                             selector matches nothing there"
                        )
                    });
                    Some(":not(*)".to_owned())
                } else {
                    match lower.as_str() {
                        "link" | "any-link" => Some(":is(a[href], area[href])".to_owned()),
                        "checked" => Some(
                            ":is(input[type=checkbox i][checked], input[type=radio i][checked], \
                             option[selected])"
                                .to_owned(),
                        ),
                        "disabled" => Some(format!("{CONTROLS}[disabled]")),
                        "enabled" => Some(format!("{CONTROLS}:not([disabled])")),
                        "lang" => argument.as_deref().map(|arg| {
                            let code = arg.trim().trim_matches(['"', '\'']).replace('"', "");
                            // The element's own `lang`, else the nearest one above it.
                            format!(":is([lang|=\"{code}\" i], [lang|=\"{code}\" i] :not([lang]))")
                        }),
                        _ => None,
                    }
                };
                match replacement {
                    Some(r) => {
                        out.push_str(&r);
                        i = end;
                    }
                    None => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    (out, note)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_leave_strings_alone() {
        assert_eq!(rewrite("a:link").0, "a:is(a[href], area[href])");
        assert_eq!(rewrite("a[title=':link']").0, "a[title=':link']");
        assert_eq!(rewrite("p::before").0, "p:not(*)");
        assert!(
            rewrite("p:after")
                .1
                .unwrap()
                .contains("`::after` is a pseudo-element")
        );
        assert_eq!(rewrite("li:nth-child(2 of .x)").0, "li:nth-child(2 of .x)");
    }
}
