//! How likely a person wants a candidate list: more items, more text, links and images per
//! item, a larger share of the page's text, and a place in the main content rather than in the
//! site's frame or a sidebar. A list nested in another is judged against it: rows that only
//! wrap cards give way to the cards; a list inside each item (tags, a mini pager) gives way to
//! the items.

use super::candidates::Group;
use super::page::{self, PageIndex, flag};

/// Candidates compared with each other for nesting (the best by their own score).
const NESTING_POOL: usize = 40;

/// What a candidate holds, per item.
#[derive(Debug, Clone, Copy)]
struct Stats {
    items: f64,
    text: f64,
    link_share: f64,
    image_share: f64,
    chrome_share: f64,
    aside_share: f64,
    main_share: f64,
    /// Of the page's visible text.
    text_share: f64,
}

fn stats(page: &PageIndex<'_>, group: &Group, page_text: f64) -> Stats {
    let n = group.items.len() as f64;
    let (mut text, mut linked, mut imaged, mut chrome, mut aside, mut main) =
        (0u64, 0u32, 0u32, 0u32, 0u32, 0u32);
    for item in &group.items {
        let (mut links, mut images) = (0, 0);
        for &part in item.parts() {
            let node = page.node(part);
            text += u64::from(node.text);
            links += node.links;
            images += node.images;
        }
        linked += u32::from(links > 0);
        imaged += u32::from(images > 0);
        let flags = page.node(item.anchor()).flags;
        chrome += u32::from(flags & flag::CHROME != 0);
        aside += u32::from(flags & flag::ASIDE != 0);
        main += u32::from(flags & flag::MAIN != 0);
    }
    Stats {
        items: n,
        text: text as f64 / n,
        link_share: f64::from(linked) / n,
        image_share: f64::from(imaged) / n,
        chrome_share: f64::from(chrome) / n,
        aside_share: f64::from(aside) / n,
        main_share: f64::from(main) / n,
        text_share: (text as f64 / page_text.max(1.0)).min(1.0),
    }
}

/// The candidate's own score, before it is compared with the others.
fn own_score(page: &PageIndex<'_>, group: &Group, s: &Stats) -> f64 {
    let richness = (s.text.min(400.0) + 10.0).sqrt();
    let mut score =
        (1.0 + s.items).ln() * richness * (1.0 + 0.5 * s.link_share + 0.5 * s.image_share);
    score *= 1.0 - 0.85 * s.chrome_share;
    score *= 1.0 - 0.7 * s.aside_share;
    score *= 1.0 + 0.5 * s.main_share;
    score *= 0.5 + s.text_share.min(1.0);
    // Link lists (menus, tag clouds, footers): one short link per item, no picture.
    if s.text < 25.0 && s.link_share > 0.9 && s.image_share < 0.2 {
        score *= 0.5;
    }
    // Items as long as whole pages are sections of a page, not entries of a list.
    if s.text > 2000.0 {
        score *= 0.5;
    }
    // Paragraphs of prose (text written straight into a `p`, a `pre`, a long block of its own
    // words) are what a page says, not entries of a list.
    let anchor = page.node(group.items[0].anchor());
    let own: u64 = group
        .items
        .iter()
        .map(|i| u64::from(page.node(i.anchor()).own_text))
        .sum();
    let own_share = own as f64 / (s.text * s.items).max(1.0);
    if group.span == 1
        && (matches!(anchor.tag, "p" | "pre" | "blockquote") || (own_share > 0.6 && s.text > 120.0))
    {
        score *= 0.4;
    }
    score
}

/// Candidates ordered by score, best first, with their scores.
pub(crate) fn rank(page: &PageIndex<'_>, groups: Vec<Group>) -> Vec<(Group, f64)> {
    let page_text = page.nodes.first().map_or(0.0, |n| f64::from(n.text));
    let mut scored: Vec<(Group, f64)> = groups
        .into_iter()
        .map(|g| {
            let s = stats(page, &g, page_text);
            let score = own_score(page, &g, &s);
            (g, score)
        })
        .collect();
    sort(&mut scored);
    scored.truncate(NESTING_POOL.max(1));
    adjust_for_nesting(page, &mut scored);
    sort(&mut scored);
    scored
}

fn sort(scored: &mut [(Group, f64)]) {
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
}

/// For every pair where one list lies inside the items of another, lowers the one a person
/// is less likely to want.
fn adjust_for_nesting(page: &PageIndex<'_>, scored: &mut [(Group, f64)]) {
    let n = scored.len();
    let mut factors = vec![1.0f64; n];
    for a in 0..n {
        for b in 0..n {
            if a == b {
                continue;
            }
            let (outer, inner) = (&scored[a].0, &scored[b].0);
            let Some(nesting) = nesting(page, outer, inner) else {
                continue;
            };
            if nesting.text_ratio >= 0.7 {
                if nesting.per_outer >= 1.5 && homogeneous(page, inner) {
                    // Rows of a grid, sections of a feed: the wrapper gives way.
                    factors[a] *= 0.3;
                } else if nesting.per_outer < 1.5 {
                    // One inner element per outer item: the same list twice. The inner one
                    // is named more precisely; the outer one keeps a small chance.
                    factors[a] *= 0.9;
                } else {
                    factors[b] *= 0.35;
                }
            } else {
                // Tags, a pager or a specs list inside every item.
                factors[b] *= 0.35;
            }
        }
    }
    for (entry, f) in scored.iter_mut().zip(factors) {
        entry.1 *= f;
    }
}

/// How `inner` sits inside `outer`'s items.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Nesting {
    /// Share of the text of the outer items holding inner ones that the inner items hold.
    pub text_ratio: f64,
    /// Inner items per outer item holding any.
    pub per_outer: f64,
}

/// `Some` when nine in ten of `inner`'s items lie inside `outer`'s items.
pub(crate) fn nesting(page: &PageIndex<'_>, outer: &Group, inner: &Group) -> Option<Nesting> {
    let anchors: Vec<u32> = outer.anchors();
    let mut holders: Vec<usize> = Vec::new();
    let mut inside = 0usize;
    let mut inner_text = 0u64;
    for item in &inner.items {
        let b = item.anchor();
        // The last outer item starting at or before `b`.
        let k = anchors.partition_point(|&a| a <= b);
        if k == 0 {
            continue;
        }
        let holder = &outer.items[k - 1];
        if holder.anchor() == b || !holder.parts().iter().any(|&p| page.contains(p, b)) {
            continue;
        }
        inside += 1;
        inner_text += item
            .parts()
            .iter()
            .map(|&p| u64::from(page.node(p).text))
            .sum::<u64>();
        if holders.last() != Some(&(k - 1)) {
            holders.push(k - 1);
        }
    }
    if inside * 10 < inner.items.len() * 9 || holders.is_empty() {
        return None;
    }
    let outer_text: u64 = holders
        .iter()
        .flat_map(|&h| outer.items[h].parts())
        .map(|&p| u64::from(page.node(p).text))
        .sum();
    Some(Nesting {
        text_ratio: inner_text as f64 / outer_text.max(1) as f64,
        per_outer: inside as f64 / holders.len() as f64,
    })
}

/// Whether a list's items are built alike (cards of a grid), unlike the cells of a row.
fn homogeneous(page: &PageIndex<'_>, group: &Group) -> bool {
    let prints: Vec<Vec<u32>> = group
        .items
        .iter()
        .take(10)
        .map(|i| page.fingerprint(i.anchor()))
        .collect();
    if prints.len() < 2 || prints.iter().all(Vec::is_empty) {
        return false;
    }
    let pairs = prints.len() - 1;
    let total: f64 = prints
        .windows(2)
        .map(|w| page::similarity(&w[0], &w[1]))
        .sum();
    total / pairs as f64 >= 0.6
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::candidates::find_groups;
    use scraper::Html;

    fn best(html: &str) -> (String, usize) {
        let doc = Html::parse_document(html);
        let page = PageIndex::build(&doc);
        let ranked = rank(&page, find_groups(&page));
        let (g, _) = &ranked[0];
        let a = page.node(g.items[0].anchor());
        let class = crate::detect::classes::tokens(a.el.value())
            .next()
            .unwrap_or("")
            .to_owned();
        (format!("{}.{class}", a.tag), g.items.len())
    }

    #[test]
    fn main_list_beats_menus_and_sidebars() {
        let nav: String = (0..8)
            .map(|n| format!("<li><a href='/s{n}'>Section {n}</a></li>"))
            .collect();
        let side: String = (0..5)
            .map(|n| {
                format!("<li class='product'><a href='/b{n}'>Best {n}</a><span>€{n}</span></li>")
            })
            .collect();
        let main: String = (0..12)
            .map(|n| {
                format!(
                    "<li class='product'><a href='/p{n}'><img src='/i{n}.jpg'>\
                     <h3>Product number {n}</h3></a><span class='price'>€{n}.99</span></li>"
                )
            })
            .collect();
        let html = format!(
            "<nav><ul>{nav}</ul></nav><aside class='sidebar'><ul class='products'>{side}</ul></aside>\
             <main><ul class='products'>{main}</ul></main><footer><ul>{nav}</ul></footer>"
        );
        assert_eq!(best(&html), ("li.product".to_owned(), 12));
    }

    #[test]
    fn cards_beat_the_rows_that_wrap_them() {
        let row = |a: u32| {
            let cards: String = (a..a + 3)
                .map(|n| {
                    format!("<div class='card'><h3>Title {n}</h3><p>Some text about {n}</p><a href='/{n}'>more</a></div>")
                })
                .collect();
            format!("<div class='row'>{cards}</div>")
        };
        let html = format!("<main>{}{}{}{}</main>", row(0), row(3), row(6), row(9));
        assert_eq!(best(&html), ("div.card".to_owned(), 12));
    }

    #[test]
    fn items_beat_the_tags_inside_them() {
        let items: String = (0..6)
            .map(|n| {
                format!(
                    "<article><h2><a href='/a{n}'>Story {n}</a></h2><p>What happened on day {n} in town</p>\
                     <ul class='tags'><li><a href='/t/x'>x</a></li><li><a href='/t/y{n}'>y{n}</a></li>\
                     <li><a href='/t/z'>z</a></li></ul></article>"
                )
            })
            .collect();
        let html = format!("<main>{items}</main>");
        assert_eq!(best(&html), ("article.".to_owned(), 6));
    }
}
