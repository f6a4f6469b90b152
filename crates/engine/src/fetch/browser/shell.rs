//! Telling an app shell from a page that simply has no matches.
//!
//! An app shell is HTML whose content is built by scripts in the browser: over plain HTTP the
//! item selector matches nothing, and the page has scripts, or a `<noscript>` that asks for
//! JavaScript. The check runs only on pages where the item selector matched nothing, so pages
//! that need no browser pay nothing for it.

use std::fmt;

/// Why a page looks like it is built by scripts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShellSign {
    /// A `<noscript>` says the page needs JavaScript.
    NoscriptAsksForJavascript,
    /// The page has this many `<script>` elements.
    Scripts(usize),
}

impl fmt::Display for ShellSign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ShellSign::NoscriptAsksForJavascript => {
                f.write_str("its <noscript> says JavaScript is needed")
            }
            ShellSign::Scripts(1) => f.write_str("it has a script"),
            ShellSign::Scripts(n) => write!(f, "it has {n} scripts"),
        }
    }
}

/// Words of a `<noscript>` that asks for JavaScript (matched case-insensitively).
const ASKS_FOR_JAVASCRIPT: [&str; 3] = ["javascript", "enable js", "js enabled"];

/// Looks for the signs of an app shell in raw HTML, without parsing it: a case-insensitive
/// scan for `<script` and `<noscript>` tags.
pub fn app_shell_sign(html: &str) -> Option<ShellSign> {
    let lower = html.to_ascii_lowercase();
    let mut scripts = 0;
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<script") {
        rest = &rest[at + "<script".len()..];
        // `<scripts>` or `<script-x>` are other tags.
        if rest.starts_with(|c: char| c == '>' || c.is_ascii_whitespace() || c == '/') {
            scripts += 1;
        }
    }
    let mut rest = lower.as_str();
    while let Some(at) = rest.find("<noscript") {
        rest = &rest[at + "<noscript".len()..];
        let body = rest.split("</noscript").next().unwrap_or(rest);
        if ASKS_FOR_JAVASCRIPT.iter().any(|w| body.contains(w)) {
            return Some(ShellSign::NoscriptAsksForJavascript);
        }
    }
    (scripts > 0).then_some(ShellSign::Scripts(scripts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noscript_that_asks_for_javascript_is_the_strongest_sign() {
        let html = r#"<div id=root></div><script src=app.js></script>
            <NOSCRIPT>You need to enable JavaScript to run this app.</NOSCRIPT>"#;
        assert_eq!(
            app_shell_sign(html),
            Some(ShellSign::NoscriptAsksForJavascript)
        );
    }

    #[test]
    fn scripts_are_counted_and_look_alike_tags_are_not() {
        let html =
            "<script>render()</script><SCRIPT type=module src=x.js></SCRIPT><scripts></scripts>";
        assert_eq!(app_shell_sign(html), Some(ShellSign::Scripts(2)));
        assert_eq!(ShellSign::Scripts(2).to_string(), "it has 2 scripts");
    }

    #[test]
    fn a_page_without_scripts_is_no_shell() {
        assert_eq!(
            app_shell_sign("<ul><li>a</li></ul><noscript>hi</noscript>"),
            None
        );
        assert_eq!(app_shell_sign(""), None);
    }
}
