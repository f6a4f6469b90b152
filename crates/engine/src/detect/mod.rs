//! Finding the lists on a page, without a person writing a selector.
//!
//! [`detect`] looks at a parsed page and proposes the repeated structures a person would call
//! a list (a product grid, the rows of a table, a news list, search results, the threads of a
//! forum whose items span two rows, a glossary of terms and definitions), ranked by how likely
//! a person wants them, each with an item selector, named fields, sample rows, a way to the
//! next page, and a job document that the engine runs unchanged. [`generalise`] does the
//! picker's half: from two or more example items a person clicked, the selector for all the
//! items like them; [`propose_field`] the column for an element clicked inside an item.
//!
//! Everything here is a pure function of a parsed page (`scraper::Html`) and its URL: no
//! fetching, no state. Proposals are checked with the engine's own code: each job document
//! passes [`JobSpec`](crate::JobSpec) validation, and its sample rows are what
//! [`extract_document`](crate::extract::extract_document) gives on the same page.
//!
//! The parts: `page` indexes the page once, bounded on hostile pages, with `regions`
//! saying where each element sits; `candidates` finds repeated structures (`records` those
//! spanning consecutive siblings) and `rank` orders them; `fields` reads the values in the
//! items, `columns` turns them into columns, `naming` names them and `field_selector`
//! writes their selectors; `item_selector` writes item selectors from `selectors`' parts and
//! `contexts`, avoiding utility and generated class names (`classes`); `pagination` and
//! `page_numbers` find the next page; `job` turns a proposal into a checked job document;
//! `generalise` serves the picker, `picked_pages` its pagination.

mod candidates;
mod classes;
mod columns;
mod contexts;
mod field_selector;
mod fields;
mod generalise;
mod item_selector;
mod job;
mod naming;
mod page;
mod page_numbers;
mod pagination;
mod picked_pages;
mod rank;
mod records;
mod regions;
mod selectors;

use scraper::{ElementRef, Html};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use url::Url;

pub use generalise::{
    DetectError, FieldSuggestion, generalise, generalise_nodes, items_of_clicks, propose_field,
    propose_field_node,
};
pub use picked_pages::{next_link_node, page_number_pattern};

use candidates::Group;
use job::Draft;
use page::PageIndex;

/// The attribute a sanitized snapshot puts on every element (`data-gs-node="17"`), so that a
/// picker can name elements by number. Generated selectors never use it.
pub const NODE_ID_ATTR: &str = "data-gs-node";

/// Candidates whose fields are worked out; the rest of the ranking is dropped.
const ANALYSED_CANDIDATES: usize = 12;

/// What [`detect_with`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectOptions {
    /// Candidates returned at most.
    pub max_candidates: usize,
    /// Sample rows per candidate.
    pub sample_rows: usize,
}

impl Default for DetectOptions {
    fn default() -> Self {
        DetectOptions {
            max_candidates: 8,
            sample_rows: 5,
        }
    }
}

/// The lists found on one page, the likeliest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    /// The page's address (links in the samples are resolved against it).
    pub url: String,
    /// The page's `<title>`.
    pub title: Option<String>,
    pub candidates: Vec<Candidate>,
    /// The way to the next page, found once for the page (every candidate's job carries it).
    pub pagination: Option<PaginationProposal>,
    /// What limited the search (a page too large or too deeply nested), in words.
    pub warnings: Vec<String>,
}

/// Which selector language a proposed selector is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SelectorKind {
    Css,
    Xpath,
}

/// One proposed list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    pub item_selector: String,
    pub item_selector_type: SelectorKind,
    /// Rows the job gives on this page.
    pub count: usize,
    pub fields: Vec<FieldProposal>,
    /// The first rows, as the job extracts them, keyed by field name in field order.
    pub sample: Vec<Map<String, Value>>,
    pub pagination: Option<PaginationProposal>,
    /// How likely a person wants this list, relative to the page's other candidates.
    pub score: f64,
    /// The items' `data-gs-node` numbers, when the page is a snapshot that has them.
    pub item_nodes: Vec<u32>,
    /// The job document: valid as it is, ready for `grandma scrape` or the API.
    pub job: Value,
}

/// One proposed column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldProposal {
    pub name: String,
    /// Relative to the item.
    pub selector: String,
    pub selector_type: SelectorKind,
    /// `text`, `href`, `src` or `custom` (then `custom_attribute` names the attribute).
    pub attribute: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attribute: Option<String>,
    pub multiple: bool,
    pub required: bool,
    /// Rows of the page where the field has a value.
    pub filled: usize,
}

/// How to reach the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PaginationProposal {
    /// Follow the link the selector finds.
    NextButton {
        selector: String,
        selector_type: SelectorKind,
        /// Where it leads from this page.
        next_url: String,
    },
    /// Page numbers in the address.
    UrlPattern {
        url_pattern: String,
        /// Page 2.
        next_url: String,
    },
}

/// Parses a page once for [`generalise_nodes`] and [`propose_field_node`], as [`detect_html`]
/// does for detection.
pub fn parse_page(html: &str) -> Html {
    Html::parse_document(html)
}

/// [`detect_with`] with the default options.
pub fn detect(document: &Html, page_url: &Url) -> Detection {
    detect_with(document, page_url, &DetectOptions::default())
}

/// Parses `html` and finds its lists: [`detect_with`] for callers that hold the page as text.
/// Parsing is CPU work like detection itself; run both off an async executor.
pub fn detect_html(html: &str, page_url: &Url, options: &DetectOptions) -> Detection {
    detect_with(&Html::parse_document(html), page_url, options)
}

/// Finds the lists on a parsed page. `page_url` is where the page came from: links resolve
/// against it (or the page's `<base href>`), and it is the jobs' `start_url`.
pub fn detect_with(document: &Html, page_url: &Url, options: &DetectOptions) -> Detection {
    let page = PageIndex::build(document);
    let base = document_base(document, page_url);
    let mut warnings = page_warnings(&page);
    let ranked = rank::rank(&page, candidates::find_groups(&page));

    let mut drafts: Vec<(Group, Draft)> = Vec::new();
    for (group, score) in ranked.into_iter().take(ANALYSED_CANDIDATES) {
        let Some((group, found)) = selectable(&page, group) else {
            continue;
        };
        let anchors = group.anchors();
        let fields = fields::plan_fields(&page, document, &group, &base);
        if fields.is_empty() {
            continue;
        }
        let score = score * (1.0 + 0.2 * fields.len().min(6) as f64);
        let draft = Draft {
            item_selector: found.css,
            fields,
            score,
            item_nodes: node_ids(&page, &anchors),
        };
        drafts.push((group, draft));
    }
    drop_twins(&page, &mut drafts);
    drafts.sort_by(|a, b| b.1.score.total_cmp(&a.1.score));

    let skip: Vec<(u32, u32)> = drafts
        .first()
        .map(|(g, _)| {
            g.items
                .iter()
                .flat_map(|i| i.parts().iter().map(|&p| (p, page.node(p).end)))
                .collect()
        })
        .unwrap_or_default();
    let pagination = pagination::propose(&page, document, page_url, &base, &skip);
    let title = page_title(document);
    let name = job_name(title.as_deref(), page_url);

    let mut candidates = Vec::new();
    for (_, draft) in &drafts {
        if candidates.len() >= options.max_candidates {
            break;
        }
        match job::finish(
            document,
            page_url,
            &name,
            draft,
            pagination.as_ref(),
            options.sample_rows,
        ) {
            Ok(c) => candidates.push(c),
            Err(e) => warnings.push(format!(
                "the list matched by {:?} was left out: {e}",
                draft.item_selector
            )),
        }
    }
    Detection {
        url: page_url.to_string(),
        title,
        candidates,
        pagination: pagination.as_ref().map(PaginationProposal::from),
        warnings,
    }
}

/// The element whose [`NODE_ID_ATTR`] is `id`.
pub fn find_node(document: &Html, id: u32) -> Option<ElementRef<'_>> {
    let wanted = id.to_string();
    document
        .tree
        .nodes()
        .filter_map(ElementRef::wrap)
        .find(|el| el.value().attr(NODE_ID_ATTR) == Some(wanted.as_str()))
}

/// The group with its item selector; when no selector matches exactly a list spread over
/// several containers, its largest part under one container that one does.
fn selectable(page: &PageIndex<'_>, group: Group) -> Option<(Group, item_selector::Found)> {
    if let Some(found) = item_selector::exact(page, &group.anchors()) {
        return Some((group, found));
    }
    let mut parts: Vec<Group> = Vec::new();
    for item in &group.items {
        let parent = page.node(item.anchor()).parent;
        match parts
            .iter_mut()
            .find(|p| page.node(p.items[0].anchor()).parent == parent)
        {
            Some(p) => p.items.push(*item),
            None => parts.push(Group {
                items: vec![*item],
                span: group.span,
            }),
        }
    }
    if parts.len() < 2 {
        return with_siblings(page, &group);
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.items.len()));
    parts
        .into_iter()
        .take(3)
        .filter(|p| p.items.len() >= candidates::MIN_ITEMS)
        .find_map(|p| {
            item_selector::exact(page, &p.anchors())
                .map(|f| (p.clone(), f))
                .or_else(|| with_siblings(page, &p))
        })
}

/// A list under one container whose odd members were left out but cannot be told apart by any
/// selector: taken with every sibling of the same tag that shows something. (A table row
/// built a little differently is still a row.)
fn with_siblings(page: &PageIndex<'_>, group: &Group) -> Option<(Group, item_selector::Found)> {
    if group.span != 1 {
        return None;
    }
    let first = group.items.first()?.anchor();
    let parent = page.node(first).parent;
    if parent == page::NONE
        || group
            .items
            .iter()
            .any(|i| page.node(i.anchor()).parent != parent)
    {
        return None;
    }
    let tag = page.node(first).tag;
    let all: Vec<u32> = page
        .children(parent)
        .iter()
        .copied()
        .filter(|&c| {
            let n = page.node(c);
            n.tag == tag && !page.is_hidden(c) && (n.text > 0 || n.images > 0)
        })
        .collect();
    if all.len() == group.items.len() {
        return None;
    }
    let found = item_selector::exact(page, &all)?;
    let group = Group {
        items: all.into_iter().map(candidates::ItemNodes::single).collect(),
        span: 1,
    };
    Some((group, found))
}

/// The node numbers of `items` (at most a few thousand), when the page carries them.
fn node_ids(page: &PageIndex<'_>, items: &[u32]) -> Vec<u32> {
    items
        .iter()
        .take(5000)
        .filter_map(|&i| page.node(i).el.value().attr(NODE_ID_ATTR)?.parse().ok())
        .collect()
}

/// Of two lists whose items sit one inside the other one to one (a `<li>` around a card),
/// the one with more columns stays; on a tie the inner one, whose element is the card itself.
fn drop_twins(page: &PageIndex<'_>, drafts: &mut Vec<(Group, Draft)>) {
    let mut drop = vec![false; drafts.len()];
    for a in 0..drafts.len() {
        for b in 0..drafts.len() {
            if a == b || drop[a] || drop[b] {
                continue;
            }
            let Some(n) = rank::nesting(page, &drafts[a].0, &drafts[b].0) else {
                continue;
            };
            if n.per_outer >= 1.5 || n.text_ratio < 0.7 {
                continue;
            }
            // `b` lies inside `a`.
            let (fa, fb) = (drafts[a].1.fields.len(), drafts[b].1.fields.len());
            drop[if fa > fb { b } else { a }] = true;
        }
    }
    let mut i = 0;
    drafts.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

fn page_warnings(page: &PageIndex<'_>) -> Vec<String> {
    let mut out = Vec::new();
    if page.truncated {
        out.push(format!(
            "the page has more than {} elements; only the first {} were searched for lists",
            page::MAX_ELEMENTS,
            page::MAX_ELEMENTS
        ));
    }
    if page.deep {
        out.push(format!(
            "parts of the page are nested more than {} elements deep and were not searched",
            page::MAX_DEPTH
        ));
    }
    out
}

/// The page's `<base href>`, resolved against the page URL, or the page URL itself: where
/// relative links point.
fn document_base(document: &Html, page_url: &Url) -> Url {
    selectors::compile_css("base[href]")
        .and_then(|sel| document.select(&sel).next())
        .and_then(|b| b.value().attr("href"))
        .and_then(|href| page_url.join(href.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| page_url.clone())
}

fn page_title(document: &Html) -> Option<String> {
    let sel = selectors::compile_css("title")?;
    let title = crate::extract::collapsed_text(document.select(&sel).next()?);
    (!title.is_empty()).then_some(title)
}

/// A job's name: the page's title, else its host.
fn job_name(title: Option<&str>, page_url: &Url) -> String {
    let name: String = title
        .map(str::to_owned)
        .or_else(|| page_url.host_str().map(str::to_owned))
        .unwrap_or_else(|| "Detected list".to_owned())
        .chars()
        .take(200)
        .collect();
    name
}
