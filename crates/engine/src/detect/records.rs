//! Records spread over consecutive siblings: a term and its definition (`dt`/`dd`), a forum
//! thread's title row and details row, a link aggregator's title row, details row and spacer.
//! The siblings follow a period of two or three elements of different kinds at least three
//! times; a record starts with its first element that shows text.

use super::candidates::{Group, ItemNodes, MAX_SPAN, MIN_ITEMS, primary_class};
use super::page::{self, PageIndex};

/// A record spread over consecutive siblings: the children follow a period of two or three
/// different elements (dt/dd, a thread's title row and its details row) at least three times.
/// Returns the group and which children it took.
pub(crate) fn periodic(page: &PageIndex<'_>, kids: &[u32]) -> Option<(Group, Vec<bool>)> {
    let sigs: Vec<u32> = kids.iter().map(|&k| sibling_signature(page, k)).collect();
    let m = kids.len();
    let mut best: Option<(usize, usize, usize)> = None; // (k, start, end)
    for k in 2..=MAX_SPAN {
        let mut j = 0;
        while j + k < m {
            if sigs[j] != sigs[j + k] {
                j += 1;
                continue;
            }
            let start = j;
            while j + k < m && sigs[j] == sigs[j + k] {
                j += 1;
            }
            let end = j + k;
            let len = end - start;
            if len >= 3 * k && best.is_none_or(|(_, s, e)| len > e - s) {
                best = Some((k, start, end));
            }
        }
    }
    let (k, start, end) = best?;
    let period = &kids[start..start + k];
    // The elements of a period must differ from each other, or this is a plain list whose
    // items happen to alternate (odd and even rows, two card styles).
    // Elements of one kind (same tag and class) that differ only by an optional part (a
    // picture in every other story) are items of their own; records pair elements of
    // different kinds (`dt`/`dd`, `tr.thread`/`tr.thread-details`), or of one kind built
    // very differently.
    for a in 0..k {
        for b in a + 1..k {
            if sigs[start + a] == sigs[start + b] {
                return None;
            }
            let (x, y) = (page.node(period[a]), page.node(period[b]));
            let same_kind =
                x.tag == y.tag && primary_class(page, period[a]) == primary_class(page, period[b]);
            if same_kind
                && page::similarity(&page.fingerprint(period[a]), &page.fingerprint(period[b]))
                    >= 0.5
            {
                return None;
            }
        }
    }
    // A record starts with its first element that shows text (a spacer row is its tail).
    let phase = (0..k).find(|&t| page.node(period[t]).text > 0).unwrap_or(0);
    let mut items = Vec::new();
    let mut used = vec![false; m];
    let mut s = start + phase;
    while s < end {
        let stop = (s + k).min(end);
        items.push(ItemNodes::spanning(&kids[s..stop]));
        for u in &mut used[s..stop] {
            *u = true;
        }
        s += k;
    }
    (items.len() >= MIN_ITEMS).then_some((Group { items, span: k }, used))
}

/// Tag, main class and the first block children's tags and classes: equal for siblings drawn
/// by one template, different for the two rows of a forum thread. Inline children (a `<code>`
/// in one definition and not the next) are left out: text varies, templates do not.
fn sibling_signature(page: &PageIndex<'_>, i: u32) -> u32 {
    let class_hash = |j: u32| primary_class(page, j).map_or(0, page::tag_hash);
    let mut h = page::mix(page::tag_hash(page.node(i).tag), class_hash(i));
    let blocks = page
        .children(i)
        .iter()
        .filter(|&&c| !is_inline(page.node(c).tag))
        .take(6);
    for &c in blocks {
        h = page::mix(h, page::tag_hash(page.node(c).tag));
        h = page::mix(h, class_hash(c));
    }
    h
}

/// Phrasing elements: they flow inside a text rather than structure an item.
pub(crate) fn is_inline(tag: &str) -> bool {
    matches!(
        tag,
        "a" | "abbr"
            | "b"
            | "bdi"
            | "bdo"
            | "br"
            | "cite"
            | "code"
            | "data"
            | "dfn"
            | "em"
            | "i"
            | "kbd"
            | "mark"
            | "q"
            | "s"
            | "samp"
            | "small"
            | "span"
            | "strong"
            | "sub"
            | "sup"
            | "time"
            | "u"
            | "var"
            | "wbr"
            | "font"
            | "label"
    )
}
