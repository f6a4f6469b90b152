//! Where an element sits, from its tag, role, attributes and the words of its classes and id:
//! hidden (template contents, `hidden`, `display: none`, screen-reader-only text), the site's
//! frame (navigation, header, footer, banners, pagers), beside the content (sidebars, related
//! and promoted boxes, filters) or the declared main content.

use std::collections::HashMap;

use super::classes;
use super::page::flag;

/// Tags whose own text is never page text.
fn is_textless(tag: &str) -> bool {
    matches!(
        tag,
        "head"
            | "script"
            | "style"
            | "noscript"
            | "template"
            | "svg"
            | "math"
            | "iframe"
            | "object"
            | "select"
            | "option"
            | "datalist"
            | "textarea"
            | "title"
    )
}

/// Words in classes and ids that mark the site's frame rather than its content.
const CHROME_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "menubar",
    "breadcrumb",
    "breadcrumbs",
    "footer",
    "header",
    "masthead",
    "topbar",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "modal",
    "popup",
    "toolbar",
    "skip",
    "pagination",
    "pager",
    "paging",
    "social",
    "share",
    "sharing",
    "copyright",
    "legal",
    "newsletter",
    "subscribe",
    "login",
    "signup",
    "tabs",
    "tabbar",
];

/// Words that mark boxes beside the content.
const ASIDE_WORDS: &[&str] = &[
    "sidebar",
    "side",
    "aside",
    "widget",
    "widgets",
    "related",
    "recommended",
    "recommendations",
    "popular",
    "trending",
    "bestsellers",
    "bestseller",
    "promo",
    "promos",
    "promotion",
    "promotions",
    "ad",
    "ads",
    "advert",
    "adverts",
    "advertisement",
    "sponsored",
    "sponsor",
    "similar",
    "recently",
    "viewed",
    "filters",
    "filter",
    "facets",
    "facet",
    "refine",
    "rail",
    "most",
    "also",
];

/// Words that mark the main content.
const MAIN_WORDS: &[&str] = &[
    "main",
    "content",
    "primary",
    "results",
    "listing",
    "listings",
    "products",
    "catalog",
    "catalogue",
    "feed",
    "posts",
    "articles",
    "entries",
    "items",
    "search",
];

fn has_word(words: &[String], list: &[&str]) -> bool {
    words.iter().any(|w| list.contains(&w.as_str()))
}

/// Flags an element sets for itself (its descendants inherit them), read in one pass over its
/// attributes. What its class and id words say is remembered per distinct class/id text: most
/// elements of a page share a few dozen.
pub(crate) fn own_flags<'a>(
    el: &'a scraper::node::Element,
    tag: &str,
    names: &mut HashMap<(&'a str, &'a str), u16>,
) -> u16 {
    let mut flags = if is_textless(tag) { flag::HIDDEN } else { 0 };
    match tag {
        "nav" | "header" | "footer" | "dialog" => flags |= flag::CHROME,
        "aside" => flags |= flag::ASIDE,
        "main" => flags |= flag::MAIN,
        _ => {}
    }
    let (mut class, mut id) = ("", "");
    for (name, value) in el.attrs() {
        match name {
            "hidden" => flags |= flag::HIDDEN,
            "aria-hidden" if value.trim().eq_ignore_ascii_case("true") => flags |= flag::HIDDEN,
            "type" if tag == "input" && value.trim().eq_ignore_ascii_case("hidden") => {
                flags |= flag::HIDDEN
            }
            "style" if style_hides(value) => flags |= flag::HIDDEN,
            "role" => flags |= role_flags(value),
            "class" => class = value,
            "id" => id = value,
            _ => {}
        }
    }
    if !class.is_empty() || !id.is_empty() {
        flags |= *names
            .entry((class, id))
            .or_insert_with(|| name_flags(class, id));
    }
    flags
}

fn role_flags(role: &str) -> u16 {
    match role.trim().to_ascii_lowercase().as_str() {
        "navigation" | "banner" | "contentinfo" | "menu" | "menubar" | "dialog" | "alertdialog"
        | "toolbar" | "tablist" | "search" => flag::CHROME,
        "complementary" => flag::ASIDE,
        "main" => flag::MAIN,
        _ => 0,
    }
}

fn style_hides(style: &str) -> bool {
    let compact: String = style
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_lowercase();
    compact.contains("display:none") || compact.contains("visibility:hidden")
}

/// What the words of an element's classes and id say: hidden, the site's frame, beside the
/// content or the main content.
fn name_flags(class: &str, id: &str) -> u16 {
    let mut flags = 0;
    let mut hidden_class = false;
    let mut shown_at_some_width = false;
    for c in class.split_ascii_whitespace() {
        match c {
            "hidden" | "d-none" | "is-hidden" | "invisible" => hidden_class = true,
            "sr-only" | "visually-hidden" | "screen-reader-text" => flags |= flag::HIDDEN,
            // `hidden md:block`: hidden on phones, shown on wider screens.
            _ if c.contains(':')
                && ["block", "flex", "grid", "inline", "table"]
                    .iter()
                    .any(|d| c.ends_with(d)) =>
            {
                shown_at_some_width = true
            }
            _ if c.starts_with("d-") && c.ends_with("-block") => shown_at_some_width = true,
            _ => {}
        }
    }
    if hidden_class && !shown_at_some_width {
        flags |= flag::HIDDEN;
    }
    let words: Vec<String> = class
        .split_ascii_whitespace()
        .chain(Some(id).filter(|i| !i.is_empty()))
        .flat_map(classes::words)
        .collect();
    if has_word(&words, CHROME_WORDS) {
        flags |= flag::CHROME;
    }
    if has_word(&words, ASIDE_WORDS) {
        flags |= flag::ASIDE;
    }
    if has_word(&words, MAIN_WORDS) {
        flags |= flag::MAIN;
    }
    flags
}
