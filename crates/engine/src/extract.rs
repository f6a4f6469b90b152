//! Extraction: one parse per page, then the item selector and every field selector on that one
//! tree, with the job document's semantics.
//!
//! This is CPU work; callers run it off the async executor (`spawn_blocking`).

use std::time::{Duration, Instant};

use ego_tree::NodeRef;
use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node};
use tokio_util::sync::CancellationToken;
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
    /// Non-fatal problems (an XPath that failed at run time, a page cut to the limits, say).
    pub warnings: Vec<String>,
    /// Why extraction stopped before the end of the page, if it did.
    pub stopped: Option<Stopped>,
}

/// Why extraction stopped before the end of a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// The budget's time ran out.
    TimeUp,
    /// The budget's cancellation token was cancelled.
    Cancelled,
}

/// Caps on what one page may cost. A page over a cap is cut down to it, with a warning: the
/// elements nested deeper than `max_depth`, the nodes after the first `max_nodes` in document
/// order, and the items after the values reached `max_output_bytes`, are left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageLimits {
    /// Deepest element kept (the root element is depth 1). Browsers' HTML parsers stop
    /// nesting at 512 too.
    pub max_depth: usize,
    /// Nodes (elements, text, comments) kept per page.
    pub max_nodes: usize,
    /// Bytes of extracted values per page.
    pub max_output_bytes: usize,
}

impl Default for PageLimits {
    fn default() -> Self {
        PageLimits {
            max_depth: 512,
            max_nodes: 250_000,
            max_output_bytes: 64 * 1024 * 1024,
        }
    }
}

/// How long extraction may take, and a token that stops it early. Checked between items and
/// inside selector evaluation (CSS and XPath), so a stop takes effect within milliseconds.
#[derive(Debug, Clone, Default)]
pub struct Budget {
    deadline: Option<(Instant, Duration)>,
    cancel: Option<CancellationToken>,
}

impl Budget {
    /// No deadline and no cancellation.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    /// At most `time` from now.
    pub fn for_time(time: Duration) -> Self {
        Budget {
            deadline: Instant::now().checked_add(time).map(|at| (at, time)),
            cancel: None,
        }
    }

    /// Also stops when `token` is cancelled.
    #[must_use]
    pub fn with_cancel(mut self, token: CancellationToken) -> Self {
        self.cancel = Some(token);
        self
    }

    /// Why to stop now, if the budget is spent.
    pub fn spent(&self) -> Option<Stopped> {
        if self
            .cancel
            .as_ref()
            .is_some_and(CancellationToken::is_cancelled)
        {
            return Some(Stopped::Cancelled);
        }
        match self.deadline {
            Some((at, _)) if Instant::now() >= at => Some(Stopped::TimeUp),
            _ => None,
        }
    }
}

/// Elements between two looks at the budget while walking the tree for a CSS selector.
const NODES_PER_CHECK: usize = 256;

/// Parses `html` and extracts the job's items. `page_url` is the URL the page was fetched
/// from (after redirects): relative links resolve against it (or the page's `<base href>`).
/// The page is held to the default [`PageLimits`], with no deadline.
pub fn extract_page(spec: &JobSpec, html: &str, page_url: &Url) -> PageExtract {
    extract_page_within(
        spec,
        html,
        page_url,
        &PageLimits::default(),
        &Budget::unlimited(),
    )
}

/// [`extract_page`] within `limits` and `budget`.
pub fn extract_page_within(
    spec: &JobSpec,
    html: &str,
    page_url: &Url,
    limits: &PageLimits,
    budget: &Budget,
) -> PageExtract {
    extract_page_after_within(spec, html, page_url, 0, limits, budget)
}

/// [`extract_page`] without the first `skip` items (see [`extract_document_after`]).
pub fn extract_page_after(spec: &JobSpec, html: &str, page_url: &Url, skip: usize) -> PageExtract {
    extract_page_after_within(
        spec,
        html,
        page_url,
        skip,
        &PageLimits::default(),
        &Budget::unlimited(),
    )
}

/// [`extract_page_after`] within `limits` and `budget`.
pub fn extract_page_after_within(
    spec: &JobSpec,
    html: &str,
    page_url: &Url,
    skip: usize,
    limits: &PageLimits,
    budget: &Budget,
) -> PageExtract {
    let parsed = crate::parse::parse_document(html, limits.max_depth);
    let mut document = parsed.html;
    let mut cut = limit_tree(&mut document, limits);
    if parsed.cut && !cut.contains(&depth_warning(limits)) {
        cut.insert(0, depth_warning(limits));
    }
    let mut out = extract_within(spec, &document, page_url, skip, limits, budget);
    out.warnings.splice(0..0, cut);
    out
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
    extract_within(
        spec,
        document,
        page_url,
        skip,
        &PageLimits::default(),
        &Budget::unlimited(),
    )
}

/// Cuts `document` down to `limits` (depth and node count) and says what was left out.
pub fn limit_tree(document: &mut Html, limits: &PageLimits) -> Vec<String> {
    let mut too_deep = Vec::new();
    let mut over_count = Vec::new();
    let mut count = 0usize;
    // Depth-first in document order; a node over a cap is left out with its subtree, which is
    // then not walked.
    let mut stack = vec![(document.tree.root(), 0usize)];
    while let Some((node, depth)) = stack.pop() {
        count += 1;
        if count > limits.max_nodes.saturating_add(1) {
            over_count.push(node.id());
            continue;
        }
        let element = node.value().is_element();
        if element && depth > limits.max_depth {
            too_deep.push(node.id());
            continue;
        }
        let child_depth = depth + usize::from(element || depth == 0);
        let first = stack.len();
        stack.extend(node.children().map(|c| (c, child_depth)));
        stack[first..].reverse();
    }
    let mut warnings = Vec::new();
    if !too_deep.is_empty() {
        warnings.push(depth_warning(limits));
    }
    if !over_count.is_empty() {
        warnings.push(format!(
            "the page has more than {} nodes; the rest of it was left out",
            limits.max_nodes
        ));
    }
    for id in too_deep.into_iter().chain(over_count) {
        if let Some(mut node) = document.tree.get_mut(id) {
            node.detach();
        }
    }
    warnings
}

fn depth_warning(limits: &PageLimits) -> String {
    format!(
        "the page nests elements deeper than {} levels; what lies deeper was left out",
        limits.max_depth
    )
}

fn extract_within(
    spec: &JobSpec,
    document: &Html,
    page_url: &Url,
    skip: usize,
    limits: &PageLimits,
    budget: &Budget,
) -> PageExtract {
    let doc = xpath::Document::new(document);
    let base = document_base(document, page_url);
    let mut out = PageExtract::default();
    let ev = Eval { doc: &doc, budget };

    let notes = std::iter::once(("item_selector", &spec.item_selector.compiled)).chain(
        spec.fields
            .iter()
            .map(|f| (f.name.as_str(), &f.selector.compiled)),
    );
    for (name, selector) in notes {
        if let Some(note) = selector.note() {
            out.warnings.push(format!("{name}: {note}"));
        }
    }
    let items = match ev.select(&spec.item_selector.compiled, doc.root()) {
        Ok(items) => items,
        Err(Failure::Stopped(why)) => {
            stop(&mut out, why, budget);
            return out;
        }
        Err(Failure::XPath(e)) => {
            out.warnings
                .push(format!("item_selector could not be evaluated: {e}"));
            Vec::new()
        }
    };
    out.matched = items.len();
    out.items.reserve(items.len().saturating_sub(skip));
    let mut field_errors = vec![false; spec.fields.len()];
    let mut output_bytes = 0usize;
    'items: for element in items.into_iter().skip(skip) {
        if let Some(why) = budget.spent() {
            stop(&mut out, why, budget);
            return out;
        }
        if output_bytes > limits.max_output_bytes {
            out.warnings.push(format!(
                "the values extracted from the page passed {} MiB; the items after the first {} \
                 were left out",
                limits.max_output_bytes / (1024 * 1024),
                out.items.len()
            ));
            break;
        }
        let mut values = Vec::with_capacity(spec.fields.len());
        for (i, field) in spec.fields.iter().enumerate() {
            let found = match ev.field_values(field, element, &base) {
                Ok(v) => v,
                Err(Failure::Stopped(why)) => {
                    stop(&mut out, why, budget);
                    return out;
                }
                Err(Failure::XPath(e)) => {
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
            output_bytes += found.iter().map(String::len).sum::<usize>();
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
        match ev.next_link(&selector.compiled, &base) {
            Ok(next) => out.next_url = next,
            Err(Failure::Stopped(why)) => stop(&mut out, why, budget),
            Err(Failure::XPath(_)) => {}
        }
    }
    out
}

/// Records that extraction stopped early, and why, in words.
fn stop(out: &mut PageExtract, why: Stopped, budget: &Budget) {
    out.stopped = Some(why);
    let done = format!(
        "after {} of the {} items the item selector matched",
        out.items.len() + out.dropped,
        out.matched
    );
    out.warnings.push(match why {
        Stopped::Cancelled => format!("extraction was cancelled {done}"),
        Stopped::TimeUp => {
            let secs = budget.deadline.map_or(0.0, |(_, d)| d.as_secs_f64());
            format!("extraction took longer than its {secs} s budget and stopped {done}")
        }
    });
}

/// Why a selector gave no answer.
enum Failure {
    /// The budget ran out during its evaluation.
    Stopped(Stopped),
    /// An XPath that failed at run time.
    XPath(xpath::XPathError),
}

/// Selector evaluation on one document within one budget.
struct Eval<'d, 'a> {
    doc: &'d xpath::Document<'a>,
    budget: &'d Budget,
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

impl<'a> Eval<'_, 'a> {
    /// Elements matched by `selector` under `context` (the document root or an item).
    fn select(
        &self,
        selector: &Selector,
        context: NodeRef<'a, Node>,
    ) -> Result<Vec<ElementRef<'a>>, Failure> {
        let mut out = Vec::new();
        match selector {
            // `select` from an element excludes the element itself; the document node is not an
            // element, so from there the top elements are tested too.
            Selector::Css(css) => self.css(css, context, |el| {
                out.push(el);
                true
            })?,
            Selector::XPath(x) => {
                if let xpath::Value::Nodes(nodes) = self.xpath(x, context)? {
                    out.extend(
                        nodes
                            .iter()
                            .filter(|n| !in_template(n))
                            .filter_map(XNode::element),
                    );
                }
            }
        }
        Ok(out)
    }

    /// Walks the elements below `context` in document order and hands those `css` matches to
    /// `found` until it returns false; asks the budget every few hundred elements.
    fn css(
        &self,
        css: &crate::selector::css::Css,
        context: NodeRef<'a, Node>,
        mut found: impl FnMut(ElementRef<'a>) -> bool,
    ) -> Result<(), Failure> {
        let scope = ElementRef::wrap(context);
        let mut seen = 0usize;
        // A template's contents are not part of the page a person sees: never matched.
        let mut inside_template: Option<ego_tree::NodeId> = None;
        for edge in context.traverse().skip(1) {
            let node = match edge {
                Edge::Open(node) if inside_template.is_none() => node,
                Edge::Close(node) if inside_template == Some(node.id()) => {
                    inside_template = None;
                    continue;
                }
                _ => continue,
            };
            let Some(el) = ElementRef::wrap(node) else {
                continue;
            };
            if el.value().name() == "template" {
                inside_template = Some(node.id());
            }
            seen += 1;
            if seen.is_multiple_of(NODES_PER_CHECK)
                && let Some(why) = self.budget.spent()
            {
                return Err(Failure::Stopped(why));
            }
            if css.matches_with_scope(&el, scope) && !found(el) {
                break;
            }
        }
        Ok(())
    }

    /// Evaluates an XPath within the budget.
    fn xpath(
        &self,
        x: &xpath::XPath,
        context: NodeRef<'a, Node>,
    ) -> Result<xpath::Value<'a>, Failure> {
        let stop = || self.budget.spent().is_some();
        x.evaluate_until(self.doc, context, &stop).map_err(|e| {
            match (e.is_stopped(), self.budget.spent()) {
                (true, Some(why)) => Failure::Stopped(why),
                _ => Failure::XPath(e),
            }
        })
    }

    /// Every present value of `field` under `item`, in document order; empty when none.
    fn field_values(
        &self,
        field: &FieldSpec,
        item: ElementRef<'a>,
        base: &Url,
    ) -> Result<Vec<String>, Failure> {
        let mut out = Vec::new();
        match &field.selector.compiled {
            Selector::Css(css) => self.css(css, *item, |el| {
                if let Some(v) = element_value(el, &field.attribute, base) {
                    out.push(v);
                    return field.multiple;
                }
                true
            })?,
            Selector::XPath(x) => match self.xpath(x, *item)? {
                // `string(.//a/@href)` gives what `.//a/@href` gives: the first node's value,
                // made absolute by the same rule.
                xpath::Value::String(_) if x.string_argument().is_some() => {
                    let inner = x.string_argument().expect("checked above");
                    if let xpath::Value::Nodes(nodes) = self.xpath(&inner, *item)?
                        && let Some(node) = nodes.into_iter().find(|n| !in_template(n))
                        && let Some(v) = node_value(&node, &field.attribute, base)
                    {
                        out.push(v);
                    }
                }
                xpath::Value::Nodes(nodes) => {
                    for node in nodes.into_iter().filter(|n| !in_template(n)) {
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
                    let s = match field.attribute {
                        Attribute::Href | Attribute::Src => resolve(&other.to_string_value(), base),
                        _ => collapse_whitespace(&other.to_string_value()),
                    };
                    if !s.is_empty() {
                        out.push(s);
                    }
                }
            },
        }
        Ok(out)
    }

    /// The next page link: the matched element's `href`, else the first link inside it, else
    /// the link around it (`li.next` selects the list item, not the anchor).
    fn next_link(&self, selector: &Selector, base: &Url) -> Result<Option<Url>, Failure> {
        let root = self.doc.root();
        let href = match selector {
            Selector::XPath(x) => match self.xpath(x, root)? {
                xpath::Value::Nodes(nodes) => {
                    let Some(node) = nodes.into_iter().find(|n| !in_template(n)) else {
                        return Ok(None);
                    };
                    match node.element() {
                        Some(el) => element_href(el),
                        None => Some(node.string_value()),
                    }
                }
                other => Some(other.to_string_value()),
            },
            Selector::Css(css) => {
                let mut first = None;
                self.css(css, root, |el| {
                    first = Some(el);
                    false
                })?;
                first.and_then(element_href)
            }
        };
        let Some(href) = href else {
            return Ok(None);
        };
        let href = href.trim();
        if href.is_empty() || href.starts_with('#') {
            return Ok(None);
        }
        Ok(base
            .join(href)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https")))
    }
}

/// The value `attribute` asks for from an element; `None` when absent or blank.
fn element_value(el: ElementRef<'_>, attribute: &Attribute, base: &Url) -> Option<String> {
    let v = match attribute {
        Attribute::Text => collapsed_text(el),
        Attribute::Html => el.inner_html().trim().to_owned(),
        Attribute::Href => resolve(el.value().attr("href")?, base),
        Attribute::Src => resolve(el.value().attr("src")?, base),
        Attribute::Value => collapse_whitespace(el.value().attr("value")?),
        Attribute::Custom(name) => collapse_whitespace(el.value().attr(name)?),
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

/// Whether a node lies inside a `<template>`, whose contents a browser does not show.
fn in_template(node: &XNode<'_>) -> bool {
    let tree = match node {
        XNode::Tree(n) | XNode::Attribute { element: n, .. } => *n,
    };
    tree.ancestors().any(|a| {
        a.value()
            .as_element()
            .is_some_and(|e| e.name() == "template")
    })
}

/// Elements whose content a person never sees as text.
fn is_hidden(name: &str) -> bool {
    matches!(name, "script" | "style" | "noscript" | "template")
}

/// Elements that start and end a line or a block, or a cell: their boundaries separate words.
fn is_block(name: &str) -> bool {
    matches!(
        name,
        "address"
            | "article"
            | "aside"
            | "blockquote"
            | "br"
            | "caption"
            | "dd"
            | "details"
            | "dialog"
            | "div"
            | "dl"
            | "dt"
            | "fieldset"
            | "figcaption"
            | "figure"
            | "footer"
            | "form"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "header"
            | "hgroup"
            | "hr"
            | "legend"
            | "li"
            | "main"
            | "menu"
            | "nav"
            | "ol"
            | "option"
            | "p"
            | "pre"
            | "section"
            | "summary"
            | "table"
            | "tbody"
            | "td"
            | "tfoot"
            | "th"
            | "thead"
            | "tr"
            | "ul"
    )
}

/// The element's text as a person reads it, in one pass: the text inside `script`, `style`,
/// `noscript` and `template` left out, `<br>` and the boundaries of block elements and table
/// cells a space, runs of whitespace collapsed to one space and trimmed.
pub fn collapsed_text(el: ElementRef<'_>) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    let mut hidden: Option<ego_tree::NodeId> = None;
    for edge in el.traverse() {
        match edge {
            Edge::Open(node) if hidden.is_none() => match node.value() {
                Node::Text(text) => push_collapsed(&mut out, text, &mut pending_space),
                Node::Element(e) if node.id() != el.id() && is_hidden(e.name()) => {
                    hidden = Some(node.id());
                }
                Node::Element(e) if is_block(e.name()) => pending_space = true,
                _ => {}
            },
            Edge::Close(node) if hidden == Some(node.id()) => hidden = None,
            Edge::Close(node)
                if hidden.is_none()
                    && node
                        .value()
                        .as_element()
                        .is_some_and(|e| is_block(e.name())) =>
            {
                pending_space = true;
            }
            _ => {}
        }
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
