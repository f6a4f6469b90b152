//! Turning a fetched page into an inert snapshot that still looks like the page.
//!
//! Kept: the layout and its styling (`style` attributes, `<style>` elements, stylesheet
//! `<link>`s), images, tables, lists, text, form controls for their looks, classes, ids,
//! `data-*`, `aria-*` and microdata attributes (detection reads them). Removed: scripts and
//! `<noscript>`, every event-handler attribute, `javascript:` and other non-web URLs, `<meta>`
//! (so no refresh), `<base>` of the page, frames and iframes, objects and embeds, inline SVG and
//! MathML (and the scripts they can carry), `<template>`, forms' `action`/`method`/`target` and
//! buttons' `formaction`, forms' `name` (a named form shadows the document's method of that
//! name), media sources, link relations that fetch or run anything (`preload`, `import`, …).
//! Every URL is made absolute against the page's own base, and the snapshot's `<base>` is that
//! base, so relative URLs inside stylesheets still resolve to the site.
//!
//! Then every element gets its number, `data-gs-node="N"`, counted in document order over the
//! engine's own parse of the sanitized page, so a number names the same element wherever the
//! stored snapshot is parsed again (by the picker, by detection, by the browser showing it).
//! Numbers a page brought itself are removed first.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use ammonia::{Builder, UrlRelative};
use grandma_engine::detect::{self, NODE_ID_ATTR};
use grandma_engine::parse::parse_document;
use scraper::{ElementRef, Html, Node};
use url::Url;

/// Elements nested deeper than this are left out while parsing (browsers stop at 512 too), so
/// a hostile page costs linear time.
const MAX_DEPTH: usize = 512;

/// Characters of the title kept.
const MAX_TITLE_CHARS: usize = 300;

/// A sanitized, numbered page.
#[derive(Debug, Clone)]
pub struct Sanitized {
    pub html: String,
    pub title: Option<String>,
    /// Elements numbered (0 to `elements - 1`).
    pub elements: u32,
    /// What parsing left out, in words.
    pub warnings: Vec<String>,
}

/// Elements kept (with their content, minus what is removed inside them).
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "address",
    "area",
    "article",
    "aside",
    "b",
    "bdi",
    "bdo",
    "big",
    "blockquote",
    "br",
    "button",
    "caption",
    "center",
    "cite",
    "code",
    "col",
    "colgroup",
    "data",
    "datalist",
    "dd",
    "del",
    "details",
    "dfn",
    "dialog",
    "div",
    "dl",
    "dt",
    "em",
    "fieldset",
    "figcaption",
    "figure",
    "font",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "i",
    "img",
    "input",
    "ins",
    "kbd",
    "label",
    "legend",
    "li",
    "link",
    "main",
    "map",
    "mark",
    "menu",
    "meter",
    "nav",
    "nobr",
    "ol",
    "optgroup",
    "option",
    "output",
    "p",
    "picture",
    "pre",
    "progress",
    "q",
    "rp",
    "rt",
    "ruby",
    "s",
    "samp",
    "search",
    "section",
    "select",
    "small",
    "source",
    "span",
    "strike",
    "strong",
    "style",
    "sub",
    "summary",
    "sup",
    "table",
    "tbody",
    "td",
    "textarea",
    "tfoot",
    "th",
    "thead",
    "time",
    "tr",
    "tt",
    "u",
    "ul",
    "var",
    "video",
    "wbr",
];

/// Elements removed together with everything inside them.
const REMOVED_WITH_CONTENT: &[&str] = &[
    "script",
    "noscript",
    "template",
    "iframe",
    "frame",
    "frameset",
    "object",
    "embed",
    "applet",
    "param",
    "svg",
    "math",
    "title",
    "noembed",
    "noframes",
    "xmp",
    "plaintext",
    "audio",
    "canvas",
    "portal",
    "fencedframe",
];

/// Attributes kept on every element (besides `data-*` and `aria-*`).
const GENERIC_ATTRIBUTES: &[&str] = &[
    "class",
    "id",
    "style",
    "title",
    "lang",
    "dir",
    "role",
    "hidden",
    "translate",
    "itemprop",
    "itemscope",
    "itemtype",
    "content",
    "datetime",
    "align",
    "valign",
    "bgcolor",
    "width",
    "height",
    "border",
    "cellpadding",
    "cellspacing",
    "nowrap",
    "color",
    "face",
    "size",
];

/// Attributes kept on particular elements.
const TAG_ATTRIBUTES: &[(&str, &[&str])] = &[
    ("a", &["href", "rel", "hreflang", "type", "name"]),
    ("area", &["href", "alt", "shape", "coords", "rel"]),
    (
        "img",
        &["src", "srcset", "sizes", "alt", "loading", "decoding"],
    ),
    // `src` of a `<source>` is a video's or a sound's: only pictures' `srcset` loads.
    ("source", &["srcset", "sizes", "media", "type"]),
    ("link", &["href", "media", "type"]),
    ("style", &["media"]),
    ("time", &["datetime"]),
    ("data", &["value"]),
    ("td", &["colspan", "rowspan", "headers", "abbr"]),
    ("th", &["colspan", "rowspan", "headers", "scope", "abbr"]),
    ("col", &["span"]),
    ("colgroup", &["span"]),
    ("ol", &["start", "reversed", "type"]),
    ("ul", &["type"]),
    ("li", &["value"]),
    (
        "input",
        &[
            "type",
            "value",
            "name",
            "placeholder",
            "checked",
            "disabled",
            "readonly",
            "min",
            "max",
            "step",
        ],
    ),
    ("button", &["type", "name", "value", "disabled"]),
    ("select", &["name", "multiple", "disabled"]),
    ("option", &["value", "selected", "disabled", "label"]),
    ("optgroup", &["label", "disabled"]),
    ("label", &["for"]),
    (
        "textarea",
        &[
            "name",
            "rows",
            "cols",
            "placeholder",
            "disabled",
            "readonly",
        ],
    ),
    ("fieldset", &["disabled", "name"]),
    ("meter", &["value", "min", "max", "low", "high", "optimum"]),
    ("progress", &["value", "max"]),
    ("video", &["poster"]),
    ("details", &["open"]),
    ("dialog", &["open"]),
    ("bdo", &["dir"]),
    ("map", &["name"]),
    // Not a form's `name`: a named form is a property of the document, and one named
    // `querySelector` or `addEventListener` would shadow the method the wizard's script calls.
];

/// `<link rel>` values kept: stylesheets, and relations that load nothing but that detection
/// reads (`next`).
const LINK_RELS: &[&str] = &[
    "stylesheet",
    "alternate stylesheet",
    "next",
    "prev",
    "canonical",
];

/// Sanitizes `raw`, a page fetched from `page_url`, and numbers its elements.
pub fn sanitize(raw: &str, page_url: &Url) -> Sanitized {
    let parsed = parse_document(raw, MAX_DEPTH);
    let mut warnings = Vec::new();
    if parsed.cut {
        warnings.push(format!(
            "parts of the page nested more than {MAX_DEPTH} elements deep were left out"
        ));
    }
    let source = parsed.html;
    let base = page_base(&source, page_url);
    let title = page_title(&source);
    let cleaner = cleaner(&base);
    let head = section(&source, "head")
        .map(|h| cleaner.clean(&h.inner_html()).to_string())
        .unwrap_or_default();
    let body = section(&source, "body")
        .map(|b| cleaner.clean(&b.inner_html()).to_string())
        .unwrap_or_default();
    let html_attrs = kept_root_attributes(source.root_element());
    let body_attrs = section(&source, "body")
        .map(kept_root_attributes)
        .unwrap_or_default();
    let assembled = format!(
        "<!DOCTYPE html><html{html_attrs}><head><meta charset=\"utf-8\"><base href=\"{}\">\
         <title>{}</title>{head}</head><body{body_attrs}>{body}</body></html>",
        escape(base.as_str()),
        escape(title.as_deref().unwrap_or_default()),
    );
    let (html, elements) = numbered(&assembled);
    Sanitized {
        html,
        title,
        elements,
        warnings,
    }
}

/// The ammonia configuration of snapshots, rewriting relative URLs against `base`.
fn cleaner(base: &Url) -> Builder<'static> {
    let mut builder = Builder::empty();
    builder
        .tags(TAGS.iter().copied().collect())
        .clean_content_tags(REMOVED_WITH_CONTENT.iter().copied().collect())
        .generic_attributes(GENERIC_ATTRIBUTES.iter().copied().collect())
        .generic_attribute_prefixes(["data-", "aria-"].into_iter().collect())
        .tag_attributes(
            TAG_ATTRIBUTES
                .iter()
                .map(|(tag, attrs)| (*tag, attrs.iter().copied().collect()))
                .collect(),
        )
        .tag_attribute_values(HashMap::from([(
            "link",
            HashMap::from([("rel", LINK_RELS.iter().copied().collect::<HashSet<_>>())]),
        )]))
        .url_schemes(
            ["http", "https", "mailto", "tel", "data"]
                .into_iter()
                .collect(),
        )
        .url_relative(UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(None)
        .strip_comments(true)
        .attribute_filter(filter_attribute);
    builder
}

/// Drops the page's own node numbers and any `data:` URL that is not an image, and rebuilds
/// `srcset` from its absolute http(s) and `data:` image candidates.
fn filter_attribute<'u>(element: &str, attribute: &str, value: &'u str) -> Option<Cow<'u, str>> {
    if attribute.starts_with("data-gs-") {
        return None;
    }
    let lower = value.trim_start().to_ascii_lowercase();
    if lower.starts_with("data:") {
        let image = matches!((element, attribute), ("img" | "source", "src"))
            && lower.starts_with("data:image/")
            && !lower.starts_with("data:image/svg");
        return image.then_some(Cow::Borrowed(value));
    }
    if attribute == "srcset" {
        return srcset(value).map(Cow::Owned);
    }
    Some(Cow::Borrowed(value))
}

/// The candidates of a `srcset` whose URLs are absolute http(s) addresses (relative ones are
/// resolved by the browser against the snapshot's `<base>`, which is the page's).
fn srcset(value: &str) -> Option<String> {
    let kept: Vec<String> = value
        .split(',')
        .filter_map(|candidate| {
            let mut parts = candidate.split_whitespace();
            let url = parts.next()?;
            let lower = url.to_ascii_lowercase();
            let allowed = lower.starts_with("http://")
                || lower.starts_with("https://")
                || lower.starts_with("//")
                || lower.starts_with('/')
                || !lower.contains(':');
            allowed.then(|| {
                std::iter::once(url)
                    .chain(parts)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(", "))
}

/// `<html>`'s or `<body>`'s attributes that styling depends on, as source text.
fn kept_root_attributes(el: ElementRef<'_>) -> String {
    el.value()
        .attrs()
        .filter(|(name, _)| matches!(*name, "class" | "id" | "lang" | "dir" | "style"))
        .map(|(name, value)| format!(" {name}=\"{}\"", escape(value)))
        .collect()
}

/// Text for a double-quoted attribute value or element content.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn section<'a>(document: &'a Html, tag: &str) -> Option<ElementRef<'a>> {
    document
        .root_element()
        .children()
        .filter_map(ElementRef::wrap)
        .find(|el| el.value().name() == tag)
}

/// Where the page's relative URLs point: its `<base href>` when that is an http(s) address,
/// else the page's own address.
fn page_base(document: &Html, page_url: &Url) -> Url {
    let selector = scraper::Selector::parse("base[href]").expect("a valid selector");
    document
        .select(&selector)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone())
}

fn page_title(document: &Html) -> Option<String> {
    let selector = scraper::Selector::parse("title").expect("a valid selector");
    let title = document.select(&selector).next()?;
    let text: String = title.text().collect::<String>();
    let collapsed: String = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(MAX_TITLE_CHARS)
        .collect();
    (!collapsed.is_empty()).then_some(collapsed)
}

/// Parses the sanitized page as the picker will ([`detect::parse_page`]), numbers every
/// element in document order and serializes it.
fn numbered(html: &str) -> (String, u32) {
    let mut document = detect::parse_page(html);
    // A `<link>` whose relation was not kept loads nothing and is noise: it goes.
    let inert_links: Vec<_> = document
        .tree
        .nodes()
        .filter(|n| {
            n.value()
                .as_element()
                .is_some_and(|e| e.name() == "link" && e.attr("rel").is_none())
        })
        .map(|n| n.id())
        .collect();
    for id in inert_links {
        if let Some(mut node) = document.tree.get_mut(id) {
            node.detach();
        }
    }
    // Detached nodes stay in the tree's storage: only those in the document count.
    let ids: Vec<_> = document
        .tree
        .root()
        .descendants()
        .filter(|n| n.value().is_element())
        .map(|n| n.id())
        .collect();
    let name = html5ever::QualName::new(
        None,
        html5ever::ns!(),
        html5ever::LocalName::from(NODE_ID_ATTR),
    );
    for (number, id) in ids.iter().enumerate() {
        if let Some(mut node) = document.tree.get_mut(*id)
            && let Node::Element(element) = node.value()
        {
            // The attribute goes last, after the page's own (a number it brought is replaced).
            element.attrs.shift_remove(&name);
            element
                .attrs
                .insert(name.clone(), number.to_string().into());
        }
    }
    (document.html(), ids.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A page that tries everything a page can do to run code or send data somewhere.
    const HOSTILE: &str = r#"<!DOCTYPE html>
<html class="no-js" lang="en" onload="x()"><head>
<meta http-equiv="refresh" content="0;url=http://canary.test/refresh">
<base href="/shop/"><title>Shop &amp; more</title>
<script>fetch('http://canary.test/script')</script>
<link rel="stylesheet" href="css/site.css">
<link rel="preload" href="http://canary.test/preload.js" as="script">
<link rel="import" href="http://canary.test/import.html">
<style>.grid { display: grid } .hero { background: url(img/bg.png) }</style>
</head>
<body class="home" onload="steal()" data-gs-node="999">
<a href="javascript:alert(1)">one</a><a href="JaVaScRiPt:alert(1)">two</a>
<a href=" &#106;avascript:alert(1)">three</a>
<img src="x.png" onerror="alert(1)" srcset="a.png 1x, javascript:alert(1) 2x">
<iframe src="http://canary.test/iframe"></iframe><frameset><frame src="http://canary.test/frame"></frameset>
<object data="http://canary.test/object"></object><embed src="http://canary.test/embed">
<svg><script>alert(1)</script><a xlink:href="javascript:alert(1)"><text>svg</text></a></svg>
<svg><style>&lt;/style&gt;&lt;img src=x onerror=alert(1)&gt;</style></svg>
<form action="http://canary.test/form" method="post" target="_top"><input name="q" value="tea" autofocus onfocus="alert(1)"><button formaction="http://canary.test/button">Go</button></form>
<div style="color: red" onclick="x()" data-price="3">styled</div>
<ul class="grid"><li class="product"><a href="/p/1" rel="next">Teapot</a></li></ul>
<noscript><img src="http://canary.test/noscript.png"></noscript>
<template><img src="http://canary.test/template.png"></template>
<math><mi xlink:href="javascript:alert(1)">x</mi></math>
<a href="data:text/html,&lt;script&gt;alert(1)&lt;/script&gt;">data</a>
<img class="dot" src="data:image/png;base64,iVBORw0KGgo=">
<img class="vector" src="data:image/svg+xml,&lt;svg onload=alert(1)&gt;">
<video poster="poster.png" src="http://canary.test/video.mp4" autoplay><source src="http://canary.test/source.mp4" type="video/mp4"></video>
<form name="querySelector"></form><form name="addEventListener"></form>
<a href="/next" ping="http://canary.test/ping">ping</a>
</body></html>"#;

    fn page_url() -> Url {
        Url::parse("http://shop.example/list?page=1").unwrap()
    }

    fn elements(html: &Html) -> Vec<ElementRef<'_>> {
        html.tree
            .root()
            .descendants()
            .filter_map(ElementRef::wrap)
            .collect()
    }

    #[test]
    fn nothing_that_runs_or_sends_survives() {
        let out = sanitize(HOSTILE, &page_url());
        let html = detect::parse_page(&out.html);
        for el in elements(&html) {
            let name = el.value().name();
            assert!(
                !matches!(
                    name,
                    "script"
                        | "iframe"
                        | "frame"
                        | "frameset"
                        | "object"
                        | "embed"
                        | "svg"
                        | "math"
                        | "template"
                        | "noscript"
                        | "audio"
                ),
                "{name} kept: {}",
                out.html
            );
            if name == "form" || name == "source" {
                assert!(el.value().attr("name").is_none(), "{name} keeps its name");
                assert!(el.value().attr("src").is_none(), "{name} keeps its src");
            }
            if name == "meta" {
                assert_eq!(
                    el.value().attrs().map(|(n, _)| n).collect::<Vec<_>>(),
                    ["charset", NODE_ID_ATTR]
                );
            }
            for (attr, value) in el.value().attrs() {
                assert!(!attr.starts_with("on"), "{name} keeps {attr}");
                assert!(
                    !matches!(
                        attr,
                        "action" | "formaction" | "method" | "target" | "ping" | "autofocus"
                    ),
                    "{name} keeps {attr}"
                );
                let lower = value.to_ascii_lowercase();
                assert!(!lower.contains("javascript"), "{name} {attr}={value}");
                if attr != "style" && lower.starts_with("data:") {
                    assert!(lower.starts_with("data:image/png"), "{name} {attr}={value}");
                }
            }
        }
        assert!(!out.html.contains("canary.test"), "{}", out.html);
        assert!(!out.html.contains("alert("), "{}", out.html);
    }

    #[test]
    fn layout_stays_and_urls_are_absolute() {
        let out = sanitize(HOSTILE, &page_url());
        let html = detect::parse_page(&out.html);
        let one = |css: &str| {
            let sel = scraper::Selector::parse(css).unwrap();
            html.select(&sel)
                .next()
                .unwrap_or_else(|| panic!("{css}: {}", out.html))
        };
        assert_eq!(out.title.as_deref(), Some("Shop & more"));
        assert_eq!(
            one("base").value().attr("href"),
            Some("http://shop.example/shop/")
        );
        assert_eq!(
            one("link").value().attr("href"),
            Some("http://shop.example/shop/css/site.css")
        );
        assert_eq!(one("link").value().attr("rel"), Some("stylesheet"));
        assert!(one("head style").inner_html().contains("url(img/bg.png)"));
        assert_eq!(one("html").value().attr("class"), Some("no-js"));
        assert_eq!(one("body").value().attr("class"), Some("home"));
        assert_eq!(
            one("div[data-price]").value().attr("style"),
            Some("color: red")
        );
        assert_eq!(one("div[data-price]").value().attr("data-price"), Some("3"));
        let product = one("ul.grid > li.product > a");
        assert_eq!(
            product.value().attr("href"),
            Some("http://shop.example/p/1")
        );
        assert_eq!(product.value().attr("rel"), Some("next"));
        assert_eq!(
            one("img[srcset]").value().attr("srcset"),
            Some("a.png 1x"),
            "a relative candidate resolves against <base>, the others go"
        );
        assert_eq!(
            one("img[srcset]").value().attr("src"),
            Some("http://shop.example/shop/x.png")
        );
        assert!(one("img.dot").value().attr("src").is_some());
        assert_eq!(one("img.vector").value().attr("src"), None);
        assert_eq!(
            one("video").value().attr("poster"),
            Some("http://shop.example/shop/poster.png")
        );
        assert_eq!(one("form input").value().attr("value"), Some("tea"));
        assert_eq!(one("form button").text().collect::<String>(), "Go");
    }

    #[test]
    fn numbers_name_the_same_elements_in_the_engines_parse() {
        let out = sanitize(HOSTILE, &page_url());
        let html = detect::parse_page(&out.html);
        let all = elements(&html);
        assert_eq!(all.len() as u32, out.elements);
        for (i, el) in all.iter().enumerate() {
            let number = el
                .value()
                .attr(NODE_ID_ATTR)
                .expect("every element numbered");
            assert_eq!(number, i.to_string(), "document order");
            let found = detect::find_node(&html, i as u32).unwrap();
            assert_eq!(found.id(), el.id());
        }
        // The number the page brought on <body> was replaced.
        assert!(!out.html.contains("\"999\""));
        // Sanitizing is stable: the stored snapshot sanitized again is the same page.
        let again = sanitize(&out.html, &page_url());
        assert_eq!(again.html, out.html);
    }

    #[test]
    fn a_deeply_nested_page_is_cut_and_said_so() {
        let deep = format!(
            "<body>{}x{}</body>",
            "<div>".repeat(5000),
            "</div>".repeat(5000)
        );
        let started = std::time::Instant::now();
        let out = sanitize(&deep, &page_url());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(out.warnings[0].contains("512"), "{:?}", out.warnings);
        assert!(out.html.contains('x'));
    }

    #[test]
    fn nothing_at_all_is_still_a_page() {
        for raw in ["", "\0\0\0", "<", "</html>", "<!-- only a comment"] {
            let out = sanitize(raw, &page_url());
            let html = detect::parse_page(&out.html);
            assert!(
                html.root_element().value().attr(NODE_ID_ATTR).is_some(),
                "{raw:?}"
            );
        }
    }
}
