//! The picker's pagination: a "next" link a person clicked becomes a next-button selector, or
//! the page's page-number links become a `url_pattern`; either way with the address of page 2.
//!
//! A clicked next link gets the selector detection would write for it (`rel=next`, a class
//! or label saying "next", its text in the pager) and otherwise the simplest selector matching
//! only that link; never one naming its address, which changes from page to page.

use scraper::Html;
use url::Url;

use super::generalise::{DetectError, index_of};
use super::page::PageIndex;
use super::pagination::{PaginationPlan, next_selector, same_page};
use super::selectors::compile_css;
use super::{PaginationProposal, document_base, find_node, item_selector, page_numbers};
use crate::spec::SelectorType;

/// Ancestors looked at for the link around a clicked element (a click lands on the arrow icon
/// or the word inside the link).
const LINK_DEPTH: usize = 6;

/// The next-page link around the element numbered `node`, as pagination.
pub fn next_link_node(
    document: &Html,
    page_url: &Url,
    node: u32,
) -> Result<PaginationProposal, DetectError> {
    let clicked = find_node(document, node).ok_or(DetectError::UnknownNode(node))?;
    let link = std::iter::once(clicked)
        .chain(clicked.ancestors().filter_map(scraper::ElementRef::wrap))
        .take(LINK_DEPTH)
        .find(|el| {
            el.value().name() == "a"
                && el
                    .value()
                    .attr("href")
                    .is_some_and(|h| !h.trim().is_empty())
        })
        .ok_or(DetectError::NotALink)?;
    let base = document_base(document, page_url);
    let href = link.value().attr("href").unwrap_or_default().trim();
    let next = base
        .join(href)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .ok_or(DetectError::NotALink)?;
    if same_page(&next, page_url) {
        return Err(DetectError::SamePage);
    }
    let page = PageIndex::build(document);
    let i = index_of(&page, link).ok_or(DetectError::OutOfReach)?;
    let (selector, kind) = match next_selector(&page, document, i, &next, &base) {
        Some(found) => found,
        None => {
            let found = item_selector::exact(&page, &[i])
                .filter(|f| !f.css.contains("href"))
                .ok_or(DetectError::NoSelector)?;
            (found.css, SelectorType::Css)
        }
    };
    // The selector is followed as a run follows it: the first match's link.
    if kind == SelectorType::Css {
        let first = compile_css(&selector).and_then(|s| document.select(&s).next());
        if first.map(|f| f.id()) != Some(link.id()) {
            return Err(DetectError::NoSelector);
        }
    }
    Ok(PaginationProposal::from(&PaginationPlan::NextButton {
        selector,
        kind,
        next,
    }))
}

/// The page-number links of the page ("2", "3" …) as a `url_pattern`.
pub fn page_number_pattern(
    document: &Html,
    page_url: &Url,
) -> Result<PaginationProposal, DetectError> {
    let page = PageIndex::build(document);
    let base = document_base(document, page_url);
    page_numbers::number_pattern(&page, page_url, &base, &[])
        .map(|plan| PaginationProposal::from(&plan))
        .ok_or(DetectError::NoPageNumbers)
}
