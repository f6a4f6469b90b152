//! Extraction: one parse per page, then the item selector and every field selector on that one
//! tree, with the semantics of FEATURES §1.
//!
//! This is CPU work; callers run it off the async executor (`spawn_blocking`).

use ego_tree::NodeRef;
use scraper::{ElementRef, Html, Node};
use url::Url;

use crate::item::{FieldValue, Item};
use crate::selector::Selector;
use crate::spec::{Attribute, FieldSpec, JobSpec, Pagination};
use crate::xpath::{self, XNode};

/// What one page gave.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageExtract {
    /// Items in document order, after dropping those missing a required field.
    pub items: Vec<Item>,
    /// Elements the item selector matched (kept + dropped).
    pub matched: usize,
    /// Items dropped because a required field had no value.
    pub dropped: usize,
    /// The next page's URL when pagination is `next_button` and the page has one.
    pub next_url: Option<Url>,
    /// Non-fatal problems (an XPath that failed at run time, say).
    pub warnings: Vec<String>,
}

/// Parses `html` and extracts the job's items. `page_url` is the URL the page was fetched
/// from (after redirects): relative links resolve against it (or the page's `<base href>`).
pub fn extract_page(spec: &JobSpec, html: &str, page_url: &Url) -> PageExtract {
    extract_page_after(spec, html, page_url, 0)
}

/// [`extract_page`] without the first `skip` items (see [`extract_document_after`]).
pub fn extract_page_after(spec: &JobSpec, html: &str, page_url: &Url, skip: usize) -> PageExtract {
    let document = Html::parse_document(html);
    extract_document_after(spec, &document, page_url, skip)
}

/// [`extract_page`] on an already parsed document.
pub fn extract_document(spec: &JobSpec, document: &Html, page_url: &Url) -> PageExtract {
    extract_document_after(spec, document, page_url, 0)
}

/// [`extract_document`] without the first `skip` elements the item selector matches: the items
/// an infinite list showed before it grew. `matched` still counts every element.
pub fn extract_document_after(
    spec: &JobSpec,
    document: &Html,
    page_url: &Url,
    skip: usize,
) -> PageExtract {
    let doc = xpath::Document::new(document);
    let base = document_base(document, page_url);
    let mut out = PageExtract::default();

    let items = match select_elements(&spec.item_selector.compiled, &doc, doc.root()) {
        Ok(items) => items,
        Err(e) => {
            out.warnings
                .push(format!("item_selector could not be evaluated: {e}"));
            Vec::new()
        }
    };
    out.matched = items.len();
    out.items.reserve(items.len());
    let mut field_errors = vec![false; spec.fields.len()];
    'items: for element in items.into_iter().skip(skip) {
        let mut values = Vec::with_capacity(spec.fields.len());
        for (i, field) in spec.fields.iter().enumerate() {
            let found = match field_values(field, &doc, element, &base) {
                Ok(v) => v,
                Err(e) => {
                    // Report a failing expression once per page, not once per item.
                    if !field_errors[i] {
                        field_errors[i] = true;
                        out.warnings.push(format!(
                            "field {:?} could not be evaluated: {e}",
                            field.name
                        ));
                    }
                    Vec::new()
                }
            };
            let value = if found.is_empty() {
                if field.required {
                    out.dropped += 1;
                    continue 'items;
                }
                match &field.default_value {
                    Some(d) if field.multiple => FieldValue::List(vec![d.clone()]),
                    Some(d) => FieldValue::Text(d.clone()),
                    None => FieldValue::Null,
                }
            } else if field.multiple {
                FieldValue::List(found)
            } else {
                FieldValue::Text(found.into_iter().next().unwrap_or_default())
            };
            values.push(value);
        }
        out.items.push(Item::new(values));
    }

    if let Pagination::NextButton { selector } = &spec.pagination {
        out.next_url = next_link(&selector.compiled, &doc, &base);
    }
    out
}

/// The page's `<base href>`, resolved against the page URL, or the page URL itself.
fn document_base(document: &Html, page_url: &Url) -> Url {
    static BASE: std::sync::OnceLock<scraper::Selector> = std::sync::OnceLock::new();
    let sel = BASE.get_or_init(|| scraper::Selector::parse("base[href]").expect("valid selector"));
    document
        .select(sel)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone())
}

/// Elements matched by `selector` under `context` (the document root or an item).
fn select_elements<'a>(
    selector: &Selector,
    doc: &xpath::Document<'a>,
    context: NodeRef<'a, Node>,
) -> Result<Vec<ElementRef<'a>>, xpath::XPathError> {
    match selector {
        Selector::Css(css) => Ok(match ElementRef::wrap(context) {
            Some(el) => el.select(css).collect(),
            // The document node is not an element; select from its children.
            None => context
                .children()
                .filter_map(ElementRef::wrap)
                .flat_map(|el| {
                    // `select` excludes the element itself, so test the top element too.
                    let own = css.matches(&el).then_some(el);
                    own.into_iter().chain(el.select(css))
                })
                .collect(),
        }),
        Selector::XPath(x) => Ok(match x.evaluate(doc, context)? {
            xpath::Value::Nodes(nodes) => nodes.iter().filter_map(XNode::element).collect(),
            _ => Vec::new(),
        }),
    }
}

/// Every present value of `field` under `item`, in document order; empty when none.
fn field_values<'a>(
    field: &FieldSpec,
    doc: &xpath::Document<'a>,
    item: ElementRef<'a>,
    base: &Url,
) -> Result<Vec<String>, xpath::XPathError> {
    let mut out = Vec::new();
    match &field.selector.compiled {
        Selector::Css(css) => {
            for el in item.select(css) {
                if let Some(v) = element_value(el, &field.attribute, base) {
                    out.push(v);
                    if !field.multiple {
                        break;
                    }
                }
            }
        }
        Selector::XPath(x) => match x.evaluate(doc, *item)? {
            xpath::Value::Nodes(nodes) => {
                for node in nodes {
                    let v = match node.element() {
                        Some(el) => element_value(el, &field.attribute, base),
                        None => node_value(&node, &field.attribute, base),
                    };
                    if let Some(v) = v {
                        out.push(v);
                        if !field.multiple {
                            break;
                        }
                    }
                }
            }
            other => {
                let s = collapse_whitespace(&other.to_string_value());
                if !s.is_empty() {
                    out.push(s);
                }
            }
        },
    }
    Ok(out)
}

/// The value `attribute` asks for from an element; `None` when absent or blank.
fn element_value(el: ElementRef<'_>, attribute: &Attribute, base: &Url) -> Option<String> {
    let v = match attribute {
        Attribute::Text => collapsed_text(el),
        Attribute::Html => el.inner_html().trim().to_owned(),
        Attribute::Href => resolve(el.value().attr("href")?, base),
        Attribute::Src => resolve(el.value().attr("src")?, base),
        Attribute::Value => el.value().attr("value")?.trim().to_owned(),
        Attribute::Custom(name) => el.value().attr(name)?.trim().to_owned(),
    };
    (!v.is_empty()).then_some(v)
}

/// The value of a non-element XPath node (an attribute, a text node, a comment).
fn node_value(node: &XNode<'_>, attribute: &Attribute, base: &Url) -> Option<String> {
    let raw = node.string_value();
    // `@href`/`@src` name URLs whatever the field's attribute says; so does asking for href/src.
    let is_url = matches!(attribute, Attribute::Href | Attribute::Src)
        || node
            .attribute()
            .is_some_and(|(name, _)| name == "href" || name == "src");
    let v = if is_url {
        resolve(&raw, base)
    } else if matches!(attribute, Attribute::Html) {
        raw.trim().to_owned()
    } else {
        collapse_whitespace(&raw)
    };
    (!v.is_empty()).then_some(v)
}

/// An absolute URL for `href` against `base`; the trimmed text when it does not resolve
/// (a `javascript:` link is kept as written rather than dropped).
fn resolve(href: &str, base: &Url) -> String {
    let href = href.trim();
    match base.join(href) {
        Ok(u) => u.into(),
        Err(_) => href.to_owned(),
    }
}

/// The element's text with runs of whitespace collapsed to one space and trimmed, built in one
/// pass over its text nodes.
pub fn collapsed_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for text in el.text() {
        push_collapsed(&mut out, text, &mut pending_space);
    }
    out
}

/// `s` with whitespace collapsed and trimmed.
pub fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    push_collapsed(&mut out, s, &mut pending_space);
    out
}

fn push_collapsed(out: &mut String, text: &str, pending_space: &mut bool) {
    // Whitespace at either end of a text node separates its words from the neighbouring
    // nodes' words; `<b>foo</b>bar` stays one word, `<b>foo</b> bar` becomes two.
    if text.starts_with(char::is_whitespace) {
        *pending_space = true;
    }
    for (i, word) in text.split_whitespace().enumerate() {
        if (i > 0 || *pending_space) && !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
        *pending_space = false;
    }
    if text.ends_with(char::is_whitespace) {
        *pending_space = true;
    }
}

/// The next page link: the matched element's `href`, else the first link inside it, else the
/// link around it (`li.next` selects the list item, not the anchor).
fn next_link(selector: &Selector, doc: &xpath::Document<'_>, base: &Url) -> Option<Url> {
    let href = match selector {
        Selector::XPath(x) => match x.evaluate(doc, doc.root()).ok()? {
            xpath::Value::Nodes(nodes) => {
                let node = nodes.into_iter().next()?;
                match node.element() {
                    Some(el) => element_href(el)?,
                    None => node.string_value(),
                }
            }
            other => other.to_string_value(),
        },
        Selector::Css(_) => {
            let el = *select_elements(selector, doc, doc.root()).ok()?.first()?;
            element_href(el)?
        }
    };
    let href = href.trim();
    if href.is_empty() || href.starts_with('#') {
        return None;
    }
    base.join(href)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

fn element_href(el: ElementRef<'_>) -> Option<String> {
    if let Some(h) = el.value().attr("href") {
        return Some(h.to_owned());
    }
    let inner = el
        .descendants()
        .filter_map(ElementRef::wrap)
        .find(|e| e.value().name() == "a" && e.value().attr("href").is_some());
    let outer = || {
        el.ancestors()
            .filter_map(ElementRef::wrap)
            .find(|e| e.value().name() == "a" && e.value().attr("href").is_some())
    };
    inner
        .or_else(outer)
        .and_then(|a| a.value().attr("href").map(str::to_owned))
}
