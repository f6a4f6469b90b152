//! The picker's half of detection: from two or more items a person clicked (and, optionally,
//! elements she said are not items), the selector for every item like them; from an element
//! clicked inside an item, the column it is.
//!
//! "Like them" means: the same tag, the classes every example shares, the same path from the
//! root to their container (so a look-alike list in the sidebar is not included unless an
//! example is there), and a structure like theirs (an advertisement tile with the same class is
//! not an item). The selector is then the simplest one that matches every example, none of
//! the excluded, and as many of the others like them as it can.

use scraper::{ElementRef, Html};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use url::Url;

use super::candidates::{ChainHashes, Group, ItemNodes};
use super::field_selector::{self, FieldSelector, has_value};
use super::fields::{self, FieldPlan, ValueKind};
use super::job::{self, Draft};
use super::page::{NONE, PageIndex};
use super::selectors::compile_css;
use super::{Candidate, FieldProposal, NODE_ID_ATTR, classes, find_node, naming};
use crate::JobSpec;
use crate::extract::{collapsed_text, extract_document};
use crate::spec::SelectorType;

/// Why a picker request could not be answered. Every message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DetectError {
    #[error(
        "no element of the page has {NODE_ID_ATTR}=\"{0}\"; the page and the request do not \
         match (reload the page and pick again)"
    )]
    UnknownNode(u32),
    #[error("pick at least two examples of the items you want (got {0})")]
    TooFewExamples(usize),
    #[error("the clicks are all inside one item; click two different items")]
    SameItem,
    #[error("an element is both an example and excluded; pick it as one or the other")]
    ExampleExcluded,
    #[error(
        "an example lies where lists are not searched (nested too deep, or past the first \
         elements of a very large page)"
    )]
    OutOfReach,
    #[error(
        "no selector matches every example and none of the excluded elements; pick examples \
         that look alike"
    )]
    NoSelector,
    #[error(
        "the items were found ({0}) but their job could not be checked on the page: {1}; \
         pick other examples"
    )]
    Unchecked(String, String),
    #[error("the item selector {selector:?} is not valid CSS: {message}")]
    InvalidItemSelector { selector: String, message: String },
    #[error("the element is not inside any item matched by {0:?}; pick an element inside an item")]
    NotInItem(String),
    #[error(
        "the element shows no text, link, image or data; pick the element that holds the value"
    )]
    NoValue,
    #[error(
        "the element is not a link to another page; click the link that leads to the next page"
    )]
    NotALink,
    #[error("the link leads to this same page; click the link that leads to the next page")]
    SamePage,
    #[error(
        "no page numbers (links \"2\", \"3\" …) were found on this page; click the \"next\" link instead"
    )]
    NoPageNumbers,
}

/// A column for an element picked inside an item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldSuggestion {
    pub field: FieldProposal,
    /// The field's value in the first items, as the job extracts it (null where missing).
    pub values: Vec<Value>,
    /// Other values the same element offers (its link beside its text, say).
    pub alternatives: Vec<FieldProposal>,
}

/// Items whose values are shown with a suggested field.
const SUGGESTION_VALUES: usize = 10;

/// The items like `examples` (and not like `excluded`), as a candidate list with fields,
/// sample rows and a job document.
pub fn generalise(
    document: &Html,
    page_url: &Url,
    examples: &[ElementRef<'_>],
    excluded: &[ElementRef<'_>],
) -> Result<Candidate, DetectError> {
    let page = PageIndex::build(document);
    let find = |el: &ElementRef<'_>| index_of(&page, *el).ok_or(DetectError::OutOfReach);
    let mut ex: Vec<u32> = examples.iter().map(find).collect::<Result<_, _>>()?;
    ex.sort_unstable();
    ex.dedup();
    if ex.len() < 2 {
        return Err(DetectError::TooFewExamples(ex.len()));
    }
    let mut not: Vec<u32> = excluded.iter().map(find).collect::<Result<_, _>>()?;
    not.sort_unstable();
    if not.iter().any(|n| ex.binary_search(n).is_ok()) {
        return Err(DetectError::ExampleExcluded);
    }
    let wanted = like(&page, &ex, &not);
    let found =
        super::item_selector::best(&page, &wanted, &ex, &not).ok_or(DetectError::NoSelector)?;
    let group = Group {
        items: found
            .matches
            .iter()
            .map(|&m| ItemNodes::single(m))
            .collect(),
        span: 1,
    };
    let base = super::document_base(document, page_url);
    let mut fields = fields::plan_fields(&page, document, &group, &base);
    if fields.is_empty() {
        fields.push(FieldPlan {
            name: "text".into(),
            selector: FieldSelector {
                source: ".".into(),
                kind: SelectorType::XPath,
            },
            kind: ValueKind::Text,
            multiple: false,
        });
    }
    let draft = Draft {
        item_selector: found.css,
        fields,
        score: 1.0,
        item_nodes: super::node_ids(&page, &found.matches),
    };
    // The page's way to the next page, found around these items.
    let skip: Vec<(u32, u32)> = found
        .matches
        .iter()
        .map(|&m| (m, page.node(m).end))
        .collect();
    let pagination = super::pagination::propose(&page, document, page_url, &base, &skip);
    let name = super::job_name(super::page_title(document).as_deref(), page_url);
    let item_selector = draft.item_selector.clone();
    job::finish(document, page_url, &name, &draft, pagination.as_ref(), 5)
        .map_err(|e| DetectError::Unchecked(item_selector, e))
}

/// [`generalise`] with elements named by their [`NODE_ID_ATTR`] numbers.
pub fn generalise_nodes(
    document: &Html,
    page_url: &Url,
    examples: &[u32],
    excluded: &[u32],
) -> Result<Candidate, DetectError> {
    let lookup = |ids: &[u32]| -> Result<Vec<ElementRef<'_>>, DetectError> {
        ids.iter()
            .map(|&id| find_node(document, id).ok_or(DetectError::UnknownNode(id)))
            .collect()
    };
    generalise(document, page_url, &lookup(examples)?, &lookup(excluded)?)
}

/// The items a person meant by clicking somewhere inside them: the clicks in `examples` lie in
/// different items, so each item is the clicked element's ancestor (or itself) just below the
/// deepest element holding every click. `others` (items added or removed by hand) are taken at
/// the same depth. Answers node numbers: `(examples, others)`.
pub fn items_of_clicks(
    document: &Html,
    examples: &[u32],
    others: &[u32],
) -> Result<(Vec<u32>, Vec<u32>), DetectError> {
    let chain = |id: u32| -> Result<Vec<ElementRef<'_>>, DetectError> {
        let el = find_node(document, id).ok_or(DetectError::UnknownNode(id))?;
        let mut out: Vec<ElementRef<'_>> = el.ancestors().filter_map(ElementRef::wrap).collect();
        out.reverse();
        out.push(el);
        Ok(out)
    };
    let chains: Vec<Vec<ElementRef<'_>>> = examples
        .iter()
        .map(|&e| chain(e))
        .collect::<Result<_, _>>()?;
    if chains.len() < 2 {
        return Err(DetectError::TooFewExamples(chains.len()));
    }
    // The depth of the items: one below the deepest element on every click's path.
    let shared = (0..)
        .take_while(|&d| {
            chains[0].get(d).is_some_and(|a| {
                chains
                    .iter()
                    .all(|c| c.get(d).is_some_and(|b| b.id() == a.id()))
            })
        })
        .count();
    let number = |el: ElementRef<'_>| el.value().attr(NODE_ID_ATTR).and_then(|n| n.parse().ok());
    let items: Vec<u32> = chains
        .iter()
        .map(|c| c.get(shared).and_then(|&el| number(el)))
        .collect::<Option<_>>()
        .ok_or(DetectError::SameItem)?;
    let mut picked_others = Vec::new();
    for &other in others {
        let c = chain(other)?;
        let at = c.get(shared).or_else(|| c.last()).copied();
        picked_others.push(at.and_then(number).ok_or(DetectError::UnknownNode(other))?);
    }
    Ok((items, picked_others))
}

/// The index of an element of the page (the picker names a few, so a scan is cheaper than a
/// map of every element).
pub(crate) fn index_of(page: &PageIndex<'_>, el: ElementRef<'_>) -> Option<u32> {
    let id = el.id();
    page.nodes
        .iter()
        .position(|n| n.el.id() == id)
        .map(|i| i as u32)
}

/// The elements like the examples: same tag, their shared classes, a container on the same
/// path, a structure like theirs; without the excluded ones.
fn like(page: &PageIndex<'_>, examples: &[u32], excluded: &[u32]) -> Vec<u32> {
    let first = page.node(examples[0]);
    let same_tag = examples.iter().all(|&e| page.node(e).tag == first.tag);
    let shared: Vec<&str> = classes::meaningful_classes(first.el.value())
        .filter(|c| page.all_have_class(examples, c))
        .collect();
    let mut chains = ChainHashes::new(page.len());
    let mut container = |i: u32| match page.node(i).parent {
        NONE => 0,
        p => chains.get(page, p),
    };
    let wanted_containers: Vec<u32> = examples.iter().map(|&e| container(e)).collect();
    let core = core(page, examples);
    let mut out = Vec::new();
    for i in 0..page.len() as u32 {
        let n = page.node(i);
        if examples.contains(&i) {
            out.push(i);
            continue;
        }
        let alike = (!same_tag || n.tag == first.tag)
            && !page.is_hidden(i)
            && !classes::is_advert(n.el.value())
            && shared.iter().all(|c| page.all_have_class(&[i], c))
            && excluded.binary_search(&i).is_err()
            && wanted_containers.contains(&container(i));
        if !alike {
            continue;
        }
        // Built like the examples: nearly all of their common structure, or much of it with as
        // many children as one of them (a menu row is not a product row of the same table).
        if !core.is_empty() {
            let fp = page.fingerprint(i);
            let share = core.iter().filter(|h| fp.binary_search(h).is_ok()).count() as f64
                / core.len() as f64;
            let children = page.children(i).len();
            let same_children = examples.iter().any(|&e| page.children(e).len() == children);
            if share < 0.8 && !(share >= 0.4 && same_children) {
                continue;
            }
        }
        out.push(i);
    }
    out.sort_unstable();
    out
}

/// Tag paths every example has.
fn core(page: &PageIndex<'_>, examples: &[u32]) -> Vec<u32> {
    let prints: Vec<Vec<u32>> = examples.iter().map(|&e| page.fingerprint(e)).collect();
    let Some(first) = prints.first() else {
        return Vec::new();
    };
    first
        .iter()
        .copied()
        .filter(|h| prints.iter().all(|p| p.binary_search(h).is_ok()))
        .collect()
}

/// The column for `element`, an element inside one of the items `item_selector` (CSS)
/// matches: its item-relative selector, attribute and name, its values in the first items,
/// and the other values the element offers.
pub fn propose_field(
    document: &Html,
    page_url: &Url,
    item_selector: &str,
    element: ElementRef<'_>,
) -> Result<FieldSuggestion, DetectError> {
    let selector = compile_css(item_selector).ok_or_else(|| DetectError::InvalidItemSelector {
        selector: item_selector.to_owned(),
        message: crate::selector::Selector::compile(
            item_selector,
            SelectorType::Css,
            crate::selector::Scope::Document,
        )
        .err()
        .unwrap_or_default(),
    })?;
    let page = PageIndex::build(document);
    let target = index_of(&page, element).ok_or(DetectError::OutOfReach)?;
    let items: Vec<u32> = (0..page.len() as u32)
        .filter(|&i| selector.matches(&page.node(i).el))
        .collect();
    let item = *items
        .iter()
        .rev()
        .find(|&&i| page.contains(i, target))
        .ok_or_else(|| DetectError::NotInItem(item_selector.to_owned()))?;
    let kinds = kinds_of(page.node(target).el);
    if kinds.is_empty() {
        return Err(DetectError::NoValue);
    }
    let mut proposals = Vec::new();
    for kind in &kinds {
        if let Some(p) = column(
            &page,
            document,
            page_url,
            item_selector,
            &items,
            item,
            target,
            kind,
        ) {
            proposals.push(p);
        }
    }
    let mut proposals = proposals.into_iter();
    let (field, values) = proposals.next().ok_or(DetectError::NoValue)?;
    Ok(FieldSuggestion {
        field,
        values,
        alternatives: proposals.map(|(f, _)| f).collect(),
    })
}

/// [`propose_field`] with the element named by its [`NODE_ID_ATTR`] number.
pub fn propose_field_node(
    document: &Html,
    page_url: &Url,
    item_selector: &str,
    node: u32,
) -> Result<FieldSuggestion, DetectError> {
    let element = find_node(document, node).ok_or(DetectError::UnknownNode(node))?;
    propose_field(document, page_url, item_selector, element)
}

/// The values an element offers, the likeliest wanted first: its text, then its link, image,
/// date or data.
fn kinds_of(el: ElementRef<'_>) -> Vec<ValueKind> {
    let e = el.value();
    let mut out = Vec::new();
    if !collapsed_text(el).is_empty() {
        out.push(ValueKind::Text);
    }
    if e.attr("href").is_some_and(|h| !h.trim().is_empty()) {
        let lower = e
            .attr("href")
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        let href = e.attr("href").unwrap_or_default().trim();
        if let Some(scheme) = ["tel:", "mailto:"]
            .into_iter()
            .find(|s| href.starts_with(s))
        {
            out.push(ValueKind::After {
                attr: "href",
                prefix: scheme.to_owned(),
            });
        } else if !lower.starts_with("tel:") && !lower.starts_with("mailto:") {
            out.push(ValueKind::Href);
        }
    }
    if e.attr("src").is_some_and(|s| !s.trim().is_empty()) {
        out.push(ValueKind::Src);
    }
    for (name, value) in e.attrs() {
        if value.trim().is_empty() {
            continue;
        }
        let wanted = matches!(
            name,
            "datetime" | "content" | "alt" | "aria-label" | "title"
        ) || (name.starts_with("data-") && super::selectors::attribute_usable(name));
        if wanted {
            out.push(ValueKind::Attr(name.to_owned()));
        }
    }
    out
}

/// The column of kind `kind` for `target` inside `item`, checked by extraction on the page.
#[allow(clippy::too_many_arguments)]
fn column(
    page: &PageIndex<'_>,
    document: &Html,
    page_url: &Url,
    item_selector: &str,
    items: &[u32],
    item: u32,
    target: u32,
    kind: &ValueKind,
) -> Option<(FieldProposal, Vec<Value>)> {
    // The same place in every other item: the same path of tags and classes from the item,
    // the same occurrence of it.
    let path = |root: u32, i: u32| -> Vec<String> {
        let mut out = Vec::new();
        let mut at = i;
        while at != root && at != NONE {
            out.push(fields::step(page, at));
            at = page.node(at).parent;
        }
        out
    };
    let key = path(item, target);
    let same_place = |root: u32| -> Vec<u32> {
        (root..page.node(root).end)
            .filter(|&j| path(root, j) == key && has_value(page.node(j).el, kind))
            .collect()
    };
    let occurrence = same_place(item).iter().position(|&j| j == target)?;
    let analysed: Vec<u32> = items.iter().copied().take(fields::ITEMS_ANALYSED).collect();
    let targets: Vec<Vec<u32>> = analysed
        .iter()
        .map(|&root| {
            same_place(root)
                .get(occurrence)
                .map(|&j| vec![j])
                .unwrap_or_default()
        })
        .collect();
    let (roots, targets) = if analysed.contains(&item) {
        (analysed, targets)
    } else {
        let mut roots = analysed;
        let mut targets = targets;
        roots.push(item);
        targets.push(vec![target]);
        (roots, targets)
    };
    let selector = field_selector::build(page, document, 0, &roots, &targets, kind, false)?;
    let samples: Vec<String> = targets
        .iter()
        .filter_map(|t| t.first())
        .filter_map(|&j| value_text(page.node(j).el, kind))
        .take(12)
        .collect();
    let sample_refs: Vec<&str> = samples.iter().map(String::as_str).collect();
    let item_words: Vec<String> = super::candidates::primary_class(page, item)
        .map(classes::words)
        .unwrap_or_default();
    let name = naming::name_column(&naming::Column {
        page,
        element: target,
        root: item,
        kind,
        label: None,
        samples: &sample_refs,
        item_words: &item_words,
    });
    // Run it as a one-field job, so the values shown are the values a run gives.
    let plan = FieldPlan {
        name,
        selector,
        kind: kind.clone(),
        multiple: false,
    };
    let draft = Draft {
        item_selector: item_selector.to_owned(),
        fields: vec![plan.clone()],
        score: 1.0,
        item_nodes: Vec::new(),
    };
    let doc = job::document("field", page_url, &draft, None, None);
    let spec = JobSpec::from_value(&doc).ok()?;
    let extracted = extract_document(&spec, document, page_url);
    let filled = extracted
        .items
        .iter()
        .filter(|i| !i.values[0].is_null())
        .count();
    let values = extracted
        .items
        .iter()
        .take(SUGGESTION_VALUES)
        .map(|i| serde_json::to_value(&i.values[0]).unwrap_or(Value::Null))
        .collect();
    let (attribute, custom_attribute) = job::attribute_of(kind);
    Some((
        FieldProposal {
            name: plan.name,
            selector: plan.selector.source,
            selector_type: plan.selector.kind.into(),
            attribute: attribute.into(),
            custom_attribute,
            multiple: false,
            required: false,
            filled,
        },
        values,
    ))
}

fn value_text(el: ElementRef<'_>, kind: &ValueKind) -> Option<String> {
    match kind {
        ValueKind::Text => Some(collapsed_text(el)),
        ValueKind::Href => el.value().attr("href").map(str::to_owned),
        ValueKind::Src => el.value().attr("src").map(str::to_owned),
        ValueKind::Attr(a) => el.value().attr(a).map(str::to_owned),
        ValueKind::After { attr, prefix } => el
            .value()
            .attr(attr)
            .and_then(|v| v.trim().strip_prefix(prefix.as_str()))
            .map(str::to_owned),
    }
}
