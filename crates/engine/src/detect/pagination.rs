//! The way to the next page: a link marked `rel=next`, named "Next", "Older posts", "Weiter",
//! "Suivant", "次へ" … (in its text, `aria-label` or `title`), an arrow in a pager, or a class
//! that says "next"; otherwise page-number links turned into a `url_pattern` that keeps the
//! page's other query parameters.
//!
//! Links inside the list's items are never the next page ("Read more"), and a word that links
//! to several different places ("More" under every story) is not a pager.

use scraper::{ElementRef, Html};
use url::Url;

use super::classes;
use super::page::{PageIndex, flag};
use super::page_numbers;
use super::selectors::{compile_css, is_plain_value};
use crate::extract::collapsed_text;
use crate::spec::SelectorType;
use crate::xpath::{self, XPath};

/// How to reach the next page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PaginationPlan {
    NextButton {
        selector: String,
        kind: SelectorType,
        next: Url,
    },
    UrlPattern {
        pattern: String,
        next: Url,
    },
}

/// Words for "next page", lowercase, in the languages of most of the web.
const NEXT_WORDS: &[&str] = &[
    "next",
    "next page",
    "next results",
    "older",
    "older posts",
    "older entries",
    "older articles",
    "more",
    "more results",
    "show more",
    "load more",
    "see more",
    "weiter",
    "nächste",
    "nächste seite",
    "vorwärts",
    "mehr",
    "suivant",
    "suivante",
    "page suivante",
    "siguiente",
    "página siguiente",
    "más",
    "próximo",
    "próxima",
    "seguinte",
    "próxima página",
    "mais",
    "successivo",
    "successiva",
    "avanti",
    "prossimo",
    "pagina successiva",
    "altri",
    "volgende",
    "meer",
    "nästa",
    "neste",
    "næste",
    "seuraava",
    "następna",
    "następny",
    "dalej",
    "další",
    "ďalšia",
    "ďalej",
    "következő",
    "următoarea",
    "înainte",
    "sonraki",
    "ileri",
    "следующая",
    "следующая страница",
    "далее",
    "вперед",
    "вперёд",
    "наступна",
    "далі",
    "επόμενη",
    "次へ",
    "次",
    "次のページ",
    "次ページ",
    "下一页",
    "下一頁",
    "下页",
    "后页",
    "다음",
    "다음 페이지",
    "التالي",
    "הבא",
];

/// Words for the other directions, which are never the next page.
const OTHER_WORDS: &[&str] = &[
    "prev",
    "previous",
    "back",
    "newer",
    "first",
    "last",
    "zurück",
    "vorherige",
    "letzte",
    "erste",
    "précédent",
    "précédente",
    "dernière",
    "première",
    "anterior",
    "última",
    "primera",
    "precedente",
    "indietro",
    "ultima",
    "prima",
    "vorige",
    "föregående",
    "forrige",
    "edellinen",
    "poprzednia",
    "předchozí",
    "önceki",
    "предыдущая",
    "назад",
    "前へ",
    "前",
    "最後",
    "最初",
    "上一页",
    "上一頁",
    "이전",
    "السابق",
    "הקודם",
];

/// Arrows people use as the only text of a next link.
const ARROWS: &[&str] = &[
    "›", "»", "→", ">", ">>", "❯", "▶", "⟩", "⇒", "≫", "⟶", "▸", "〉",
];

/// The best way to the next page, if the page has one. `skip` holds the extents of the list's
/// items (their links are not pagination).
pub(crate) fn propose(
    page: &PageIndex<'_>,
    document: &Html,
    page_url: &Url,
    base: &Url,
    skip: &[(u32, u32)],
) -> Option<PaginationPlan> {
    next_link(page, document, page_url, base, skip)
        .or_else(|| page_numbers::number_pattern(page, page_url, base, skip))
}

/// `text` lowercased, without arrows and punctuation, spaces collapsed.
fn normalized(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect::<String>()
        .to_lowercase();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// How strongly a label says "next page": 0 when it does not.
fn label_score(label: &str) -> u32 {
    let trimmed = label.trim();
    if trimmed.is_empty() {
        return 0;
    }
    if ARROWS.contains(&trimmed) {
        return 45;
    }
    let norm = normalized(trimmed);
    if norm.is_empty() {
        return 0;
    }
    let words: Vec<&str> = norm.split(' ').collect();
    if words.iter().any(|w| OTHER_WORDS.contains(w)) || OTHER_WORDS.contains(&norm.as_str()) {
        return 0;
    }
    if NEXT_WORDS.contains(&norm.as_str()) {
        return if matches!(
            norm.as_str(),
            "more" | "mehr" | "plus" | "más" | "mais" | "meer" | "altri"
        ) {
            40
        } else {
            70
        };
    }
    // "Next ›", "Next page of results", "Weiter zur nächsten Seite": a next word leads.
    if words.len() <= 5
        && let Some(first) = words.first()
        && [
            "next",
            "older",
            "weiter",
            "suivant",
            "siguiente",
            "nächste",
            "successivo",
            "volgende",
        ]
        .contains(first)
    {
        return 60;
    }
    0
}

/// Anchors that may be links to other pages: visible, with a usable href, outside the items.
pub(crate) fn anchors<'p, 'a>(
    page: &'p PageIndex<'a>,
    base: &'p Url,
    skip: &'p [(u32, u32)],
) -> impl Iterator<Item = (u32, ElementRef<'a>, Url)> + 'p {
    (0..page.len() as u32).filter_map(move |i| {
        let node = page.node(i);
        if node.tag != "a" || page.is_hidden(i) || skip.iter().any(|&(s, e)| s <= i && i < e) {
            return None;
        }
        let href = node.el.value().attr("href")?.trim();
        if href.is_empty()
            || href.starts_with('#')
            || href.to_ascii_lowercase().starts_with("javascript:")
        {
            return None;
        }
        let url = base.join(href).ok()?;
        (matches!(url.scheme(), "http" | "https") && url.host_str() == base.host_str())
            .then_some((i, node.el, url))
    })
}

pub(crate) fn same_page(a: &Url, b: &Url) -> bool {
    let mut a = a.clone();
    let mut b = b.clone();
    a.set_fragment(None);
    b.set_fragment(None);
    a == b
}

/// The link to the next page, and a selector that finds it.
fn next_link(
    page: &PageIndex<'_>,
    document: &Html,
    page_url: &Url,
    base: &Url,
    skip: &[(u32, u32)],
) -> Option<PaginationPlan> {
    // `<link rel="next">` in the head is the page's own statement.
    let head_next = document
        .select(&compile_css("link[rel~=\"next\"][href]")?)
        .find_map(|l| base.join(l.value().attr("href")?.trim()).ok());

    let found: Vec<(u32, ElementRef<'_>, Url)> = anchors(page, base, skip).collect();
    let mut best: Option<(u32, u32, Url)> = None; // (score, index, url)
    for (i, el, url) in &found {
        if same_page(url, page_url) {
            continue;
        }
        let score = anchor_score(page, *i, *el);
        if score < 40 {
            continue;
        }
        // A label that links to different places (a "More" per story) is not the pager.
        let label = normalized(&collapsed_text(*el));
        let elsewhere = !label.is_empty()
            && found.iter().any(|(j, other, u)| {
                j != i && !same_page(u, url) && normalized(&collapsed_text(*other)) == label
            });
        if elsewhere {
            continue;
        }
        if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
            best = Some((score, *i, url.clone()));
        }
    }
    if let Some((_, i, url)) = best
        && let Some(selector) = next_selector(page, document, i, &url, base)
    {
        return Some(PaginationPlan::NextButton {
            selector: selector.0,
            kind: selector.1,
            next: url,
        });
    }
    let next = head_next.filter(|u| !same_page(u, page_url))?;
    Some(PaginationPlan::NextButton {
        selector: "link[rel~=\"next\"]".into(),
        kind: SelectorType::Css,
        next,
    })
}

/// How strongly an anchor looks like the next-page link.
fn anchor_score(page: &PageIndex<'_>, i: u32, el: ElementRef<'_>) -> u32 {
    let e = el.value();
    let mut score = 0;
    if e.attr("rel")
        .is_some_and(|r| r.split_whitespace().any(|t| t.eq_ignore_ascii_case("next")))
    {
        score = 100;
    }
    for attr in ["aria-label", "title"] {
        if let Some(v) = e.attr(attr) {
            score = score.max(label_score(v) + 10);
            if label_score(v) == 0 && normalized(v).split(' ').any(|w| OTHER_WORDS.contains(&w)) {
                return 0;
            }
        }
    }
    let text = collapsed_text(el);
    let by_text = label_score(&text);
    if by_text == 0
        && normalized(&text)
            .split(' ')
            .any(|w| OTHER_WORDS.contains(&w))
    {
        return 0;
    }
    score = score.max(by_text);
    // `a.next`, `li.next > a`, `.pagination-next`.
    let parent = page.node(i).parent;
    let mut names: Vec<String> = classes::tokens(e)
        .chain(e.id())
        .flat_map(classes::words)
        .collect();
    if parent != super::page::NONE {
        let p = page.node(parent).el.value();
        names.extend(classes::tokens(p).chain(p.id()).flat_map(classes::words));
    }
    if names.iter().any(|w| w == "next") {
        score = score.max(60);
    }
    if names
        .iter()
        .any(|w| matches!(w.as_str(), "prev" | "previous" | "back"))
    {
        return 0;
    }
    if score > 0 && in_pager(page, i) {
        score += 15;
    }
    score
}

/// Whether the anchor sits in a pager (a container named like one, or the site's frame).
fn in_pager(page: &PageIndex<'_>, i: u32) -> bool {
    let mut at = page.node(i).parent;
    let mut depth = 0;
    while at != super::page::NONE && depth < 5 {
        let e = page.node(at).el.value();
        let named = classes::tokens(e)
            .chain(e.id())
            .chain(e.attr("aria-label"))
            .flat_map(classes::words)
            .any(|w| w.starts_with("pag") || w == "pages");
        if named {
            return true;
        }
        at = page.node(at).parent;
        depth += 1;
    }
    page.node(i).flags & flag::CHROME != 0
}

/// A selector whose first match leads to `url`, simplest first; CSS when it can, XPath by the
/// link's text otherwise.
pub(crate) fn next_selector(
    page: &PageIndex<'_>,
    document: &Html,
    i: u32,
    url: &Url,
    base: &Url,
) -> Option<(String, SelectorType)> {
    let node = page.node(i);
    let e = node.el.value();
    let mut css: Vec<String> = Vec::new();
    if e.attr("rel")
        .is_some_and(|r| r.split_whitespace().any(|t| t.eq_ignore_ascii_case("next")))
    {
        css.push("a[rel~=\"next\"]".into());
    }
    for c in classes::tokens(e).filter(|c| classes::is_plain_identifier(c)) {
        if classes::words(c).iter().any(|w| w == "next") {
            css.push(format!("a.{c}"));
        }
    }
    let parent = node.parent;
    if parent != super::page::NONE {
        let p = page.node(parent);
        for c in classes::tokens(p.el.value()).filter(|c| classes::is_plain_identifier(c)) {
            if classes::words(c).iter().any(|w| w == "next") {
                css.push(format!("{}.{c} > a", p.tag));
            }
        }
    }
    for attr in ["aria-label", "title"] {
        if let Some(v) = e.attr(attr).filter(|v| is_plain_value(v)) {
            css.push(format!("a[{attr}=\"{v}\"]"));
        }
    }
    for source in css {
        if let Some(sel) = compile_css(&source)
            && let Some(first) = document.select(&sel).next()
            && first.id() == node.el.id()
        {
            return Some((source, SelectorType::Css));
        }
    }
    // By the link's text, first in a named pager, then anywhere.
    let text = collapsed_text(node.el);
    if text.is_empty() || text.contains('\'') || text.chars().count() > 60 {
        return None;
    }
    let doc = xpath::Document::new(document);
    let mut sources = Vec::new();
    if let Some(container) = pager_container(page, i) {
        sources.push(format!("{container}//a[normalize-space()='{text}']"));
    }
    sources.push(format!("//a[normalize-space()='{text}']"));
    for source in sources {
        let x = XPath::parse(&source).ok()?;
        let first = match x.evaluate(&doc, doc.root()) {
            Ok(xpath::Value::Nodes(nodes)) => nodes.into_iter().find_map(|n| n.element()),
            _ => None,
        };
        if let Some(first) = first
            && first
                .value()
                .attr("href")
                .and_then(|h| base.join(h.trim()).ok())
                .is_some_and(|u| same_page(&u, url))
        {
            return Some((source, SelectorType::XPath));
        }
    }
    None
}

/// An XPath step naming the pager around anchor `i` by a meaningful class or id.
fn pager_container(page: &PageIndex<'_>, i: u32) -> Option<String> {
    let mut at = page.node(i).parent;
    let mut depth = 0;
    while at != super::page::NONE && depth < 5 {
        let n = page.node(at);
        let e = n.el.value();
        if let Some(id) = e.id().filter(|id| classes::id_is_meaningful(id)) {
            return Some(format!("//{}[@id='{id}']", n.tag));
        }
        if let Some(c) = classes::meaningful_classes(e)
            .find(|c| classes::words(c).iter().any(|w| w.starts_with("pag")))
        {
            return Some(format!(
                "//{}[contains(concat(' ', normalize-space(@class), ' '), ' {c} ')]",
                n.tag
            ));
        }
        if n.tag == "nav" {
            return Some("//nav".into());
        }
        at = n.parent;
        depth += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels() {
        assert!(label_score("Next ›") >= 60);
        assert!(label_score("Weiter") >= 60);
        assert!(label_score("次へ") >= 60);
        assert!(label_score("Siguiente »") >= 60);
        assert_eq!(label_score("« Previous"), 0);
        assert_eq!(label_score("Last »"), 0);
        assert_eq!(label_score("Nextcloud review"), 0);
        assert!(label_score("»") > 0);
    }

    fn plan(html: &str, url: &str) -> Option<PaginationPlan> {
        let doc = Html::parse_document(html);
        let page = PageIndex::build(&doc);
        let url = Url::parse(url).unwrap();
        propose(&page, &doc, &url, &url, &[])
    }

    #[test]
    fn next_links_by_rel_class_and_text() {
        let p = plan(
            "<ul class=pager><li><a href='?p=1'>1</a></li><li class='next'><a href='?p=2'>›</a></li></ul>",
            "https://s.example/list?q=x",
        );
        assert_eq!(
            p,
            Some(PaginationPlan::NextButton {
                selector: "li.next > a".into(),
                kind: SelectorType::Css,
                next: Url::parse("https://s.example/list?p=2").unwrap(),
            })
        );
        let p = plan(
            "<div class='nav-links'><a href='/blog/page/2/'>Ältere Beiträge</a> <a href='/blog/page/2/'>Weiter</a></div>",
            "https://s.example/blog/",
        );
        match p {
            Some(PaginationPlan::NextButton {
                selector,
                kind,
                next,
            }) => {
                assert_eq!(kind, SelectorType::XPath);
                assert!(
                    selector.ends_with("//a[normalize-space()='Weiter']"),
                    "{selector}"
                );
                assert_eq!(next.as_str(), "https://s.example/blog/page/2/");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn page_numbers_become_a_pattern_keeping_the_query() {
        let p = plan(
            "<div class=pages><a href='/search?q=tea&sort=new&page=2'>2</a>\
             <a href='/search?q=tea&sort=new&page=3'>3</a></div>",
            "https://s.example/search?q=tea&sort=new",
        );
        assert_eq!(
            p,
            Some(PaginationPlan::UrlPattern {
                pattern: "?page={page}".into(),
                next: Url::parse("https://s.example/search?q=tea&sort=new&page=2").unwrap(),
            })
        );
        let p = plan(
            "<nav><a href='/jobs/page/2/'>2</a><a href='/jobs/page/3/'>3</a></nav>",
            "https://s.example/jobs/",
        );
        assert_eq!(
            p,
            Some(PaginationPlan::UrlPattern {
                pattern: "https://s.example/jobs/page/{page}/".into(),
                next: Url::parse("https://s.example/jobs/page/2/").unwrap(),
            })
        );
    }

    #[test]
    fn a_more_link_in_every_item_is_not_a_pager() {
        let items: String = (0..4)
            .map(|n| format!("<p>Story {n} <a href='/s/{n}'>More</a></p>"))
            .collect();
        assert_eq!(plan(&items, "https://s.example/"), None);
    }
}
