//! Finding repeated structures: sibling elements built from one template (cards of a grid,
//! rows of a table, entries of a list), records that span consecutive siblings (a term and its
//! definition, a forum thread's two table rows), and the same list split over several
//! containers (a grid laid out in rows).
//!
//! Siblings are grouped by tag, then by the class most of them share, then groups that look
//! alike are joined and elements that look unlike their group (an advertisement in a product
//! grid, a header row in a table body) are left out. Groups under containers with the same
//! path from the root are one list.

use std::collections::HashMap;

use super::classes::{self, TokenKind};
use super::page::{self, NONE, PageIndex};
use super::records;

/// Elements one item may span (a record over two or three consecutive siblings).
pub(crate) const MAX_SPAN: usize = 3;
/// Items a list needs before it is proposed.
pub(crate) const MIN_ITEMS: usize = 3;

/// The elements of one item: an anchor and, for records that span siblings, the siblings after
/// it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ItemNodes {
    nodes: [u32; MAX_SPAN],
    len: u8,
}

impl ItemNodes {
    pub fn single(i: u32) -> Self {
        ItemNodes {
            nodes: [i, NONE, NONE],
            len: 1,
        }
    }

    pub(crate) fn spanning(parts: &[u32]) -> Self {
        let mut nodes = [NONE; MAX_SPAN];
        let len = parts.len().min(MAX_SPAN);
        nodes[..len].copy_from_slice(&parts[..len]);
        ItemNodes {
            nodes,
            len: len as u8,
        }
    }

    /// The element the item selector matches.
    pub fn anchor(&self) -> u32 {
        self.nodes[0]
    }

    /// The anchor and the siblings that belong to the item, in order.
    pub fn parts(&self) -> &[u32] {
        &self.nodes[..self.len as usize]
    }
}

/// One repeated structure: a candidate list.
#[derive(Debug, Clone)]
pub(crate) struct Group {
    /// In document order.
    pub items: Vec<ItemNodes>,
    /// Elements per item: 1, or 2–3 for records over consecutive siblings.
    pub span: usize,
}

impl Group {
    pub fn anchors(&self) -> Vec<u32> {
        self.items.iter().map(ItemNodes::anchor).collect()
    }
}

/// What makes two groups under different containers one list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GroupKey {
    tag: String,
    class: Option<String>,
    span: usize,
    /// The path of the container from the root (tags, classes, ids).
    container: u32,
}

/// Tags that are never items of a list a person wants.
fn never_item(tag: &str) -> bool {
    matches!(
        tag,
        "script"
            | "style"
            | "br"
            | "hr"
            | "meta"
            | "link"
            | "template"
            | "noscript"
            | "wbr"
            | "source"
            | "track"
            | "param"
            | "col"
            | "colgroup"
            | "head"
            | "title"
            | "base"
            | "option"
            | "optgroup"
            | "input"
            | "thead"
            | "tfoot"
            | "caption"
            | "area"
            | "map"
            | "svg"
            | "path"
            | "g"
            | "use"
            | "iframe"
    )
}

/// The first meaningful, un-numbered class: what most templates name their elements by.
pub(crate) fn primary_class<'a>(page: &PageIndex<'a>, i: u32) -> Option<&'a str> {
    classes::meaningful_classes(page.node(i).el.value()).find(|c| !classes::is_numbered(c))
}

/// Finds every candidate list on the page.
pub(crate) fn find_groups(page: &PageIndex<'_>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    // The shape of each group as first found: the parts it is joined with are built alike.
    let mut shapes: Vec<Shape> = Vec::new();
    let mut by_key: HashMap<GroupKey, Vec<usize>> = HashMap::new();
    let mut chains = ChainHashes::new(page.len());
    // Groups under containers on the same path join when their items are built alike: rows of
    // one grid do, a menu table and a product table in an old table layout do not.
    let mut add = |key: GroupKey, group: Group| {
        let same_key = by_key.entry(key).or_default();
        let shape = Shape::of(page, &group);
        let alike = same_key.iter().copied().find(|&g| shapes[g].like(&shape));
        match alike {
            Some(g) => groups[g].items.extend(group.items),
            None => {
                same_key.push(groups.len());
                groups.push(group);
                shapes.push(shape);
            }
        }
    };

    for p in 0..page.len() as u32 {
        if page.is_hidden(p) {
            continue;
        }
        let kids: Vec<u32> = page
            .children(p)
            .iter()
            .copied()
            .filter(|&c| !page.is_hidden(c) && !never_item(page.node(c).tag))
            .collect();
        if kids.len() < 2 {
            continue;
        }
        let mut taken = vec![false; kids.len()];
        if let Some((group, used)) = records::periodic(page, &kids) {
            for (t, u) in taken.iter_mut().zip(used) {
                *t |= u;
            }
            let anchor = group.items[0].anchor();
            let key = GroupKey {
                tag: page.node(anchor).tag.to_owned(),
                class: primary_class(page, anchor).map(str::to_owned),
                span: group.span,
                container: chains.get(page, p),
            };
            add(key, group);
        }
        let mut tags: Vec<&str> = Vec::new();
        for (k, &c) in kids.iter().enumerate() {
            let tag = page.node(c).tag;
            if !taken[k] && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        // Table cells are the fields of their row, never items of a list of their own.
        tags.retain(|t| !matches!(*t, "td" | "th"));
        for tag in tags {
            let members: Vec<u32> = kids
                .iter()
                .zip(&taken)
                .filter(|&(&c, &t)| !t && page.node(c).tag == tag && has_content(page, c))
                .map(|(&c, _)| c)
                .collect();
            if members.len() < 2 {
                continue;
            }
            for (class, cluster) in clusters(page, &members) {
                let key = GroupKey {
                    tag: tag.to_owned(),
                    class,
                    span: 1,
                    container: chains.get(page, p),
                };
                let items = cluster.into_iter().map(ItemNodes::single).collect();
                add(key, Group { items, span: 1 });
            }
        }
    }

    groups
        .into_iter()
        .filter(|g| g.items.len() >= MIN_ITEMS)
        .map(|mut g| {
            g.items.sort_by_key(ItemNodes::anchor);
            narrow(page, g)
        })
        .collect()
}

/// Items that only wrap one element each (`<li><article class="product">…</article></li>`)
/// are named by that element: it has the class a person would recognise, and it holds all the
/// item's text. Wrappers carrying data of their own stay.
fn narrow(page: &PageIndex<'_>, mut group: Group) -> Group {
    if group.span != 1 {
        return group;
    }
    loop {
        let inner: Option<Vec<u32>> = group
            .items
            .iter()
            .map(|item| {
                let outer = item.anchor();
                let kids: Vec<u32> = page
                    .children(outer)
                    .iter()
                    .copied()
                    .filter(|&c| !page.is_hidden(c))
                    .collect();
                let own_data = page
                    .node(outer)
                    .el
                    .value()
                    .attrs()
                    .any(|(n, _)| n.starts_with("data-") || n.starts_with("item"));
                match kids[..] {
                    [only] if !own_data && page.node(only).text == page.node(outer).text => {
                        Some(only)
                    }
                    _ => None,
                }
            })
            .collect();
        let Some(inner) = inner else {
            return group;
        };
        let first = inner[0];
        let class = primary_class(page, first);
        let alike = inner
            .iter()
            .all(|&i| page.node(i).tag == page.node(first).tag && primary_class(page, i) == class);
        if !alike || class.is_none() {
            return group;
        }
        group.items = inner.into_iter().map(ItemNodes::single).collect();
    }
}

/// Whether an element shows something (text or a picture) and is not an advertisement.
fn has_content(page: &PageIndex<'_>, i: u32) -> bool {
    let n = page.node(i);
    (n.text > 0 || n.images > 0) && !classes::is_advert(n.el.value())
}

/// Splits same-tag siblings into groups: by the class most of them share, then joins groups
/// that look alike and leaves out members that look unlike the rest of their group.
fn clusters(page: &PageIndex<'_>, members: &[u32]) -> Vec<(Option<String>, Vec<u32>)> {
    let classes_of: Vec<Vec<&str>> = members
        .iter()
        .map(|&m| {
            classes::meaningful_classes(page.node(m).el.value())
                .filter(|c| !classes::is_numbered(c))
                .collect()
        })
        .collect();
    let mut remaining: Vec<usize> = (0..members.len()).collect();
    let mut out: Vec<(Option<String>, Vec<u32>)> = Vec::new();
    while !remaining.is_empty() {
        // The class carried by the most remaining members (the first written on a tie).
        let mut counts: Vec<(&str, usize)> = Vec::new();
        for &r in &remaining {
            for c in &classes_of[r] {
                match counts.iter_mut().find(|(name, _)| name == c) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((c, 1)),
                }
            }
        }
        let best = counts
            .iter()
            .fold(None::<(&str, usize)>, |best, &(c, n)| match best {
                Some((_, bn)) if bn >= n => best,
                _ => Some((c, n)),
            });
        match best {
            Some((class, n)) if n >= 2 => {
                let (with, without): (Vec<usize>, Vec<usize>) = remaining
                    .iter()
                    .partition(|&&r| classes_of[r].contains(&class));
                out.push((
                    Some(class.to_owned()),
                    with.iter().map(|&r| members[r]).collect(),
                ));
                remaining = without;
            }
            _ => {
                out.push((None, remaining.iter().map(|&r| members[r]).collect()));
                remaining.clear();
            }
        }
    }
    join_alike(page, out)
        .into_iter()
        .map(|(class, members)| (class, drop_header_row(page, drop_outliers(page, members))))
        .filter(|(_, m)| m.len() >= 2)
        .collect()
}

/// A table's header row among its rows: cells that are all `th`, or (old layouts) a first row
/// of short labels without links above rows that have links.
fn drop_header_row(page: &PageIndex<'_>, mut rows: Vec<u32>) -> Vec<u32> {
    let Some(&first) = rows.first() else {
        return rows;
    };
    if page.node(first).tag != "tr" || rows.len() < 3 {
        return rows;
    }
    let cells: Vec<u32> = page
        .children(first)
        .iter()
        .copied()
        .filter(|&c| matches!(page.node(c).tag, "td" | "th"))
        .collect();
    if cells.is_empty() {
        return rows;
    }
    let all_th = cells.iter().all(|&c| page.node(c).tag == "th");
    let labels = cells
        .iter()
        .all(|&c| page.node(c).links == 0 && (1..=30).contains(&page.node(c).text));
    let others_linked = rows[1..]
        .iter()
        .filter(|&&r| page.node(r).links > 0)
        .count();
    if all_th || (labels && others_linked * 5 >= (rows.len() - 1) * 4) {
        rows.remove(0);
    }
    rows
}

/// The common structure of a group's items, to tell whether two groups are one list.
struct Shape {
    core: Vec<u32>,
    /// The usual number of child elements of an item.
    children: usize,
}

impl Shape {
    fn of(page: &PageIndex<'_>, group: &Group) -> Shape {
        let anchors: Vec<u32> = group.items.iter().take(12).map(ItemNodes::anchor).collect();
        let mut counts: Vec<usize> = anchors
            .iter()
            .take(12)
            .map(|&a| page.children(a).len())
            .collect();
        counts.sort_unstable();
        Shape {
            core: core_of(page, &anchors),
            children: counts.get(counts.len() / 2).copied().unwrap_or(0),
        }
    }

    /// Nearly the same structure, or much the same with as many children per item.
    fn like(&self, other: &Shape) -> bool {
        let s = page::similarity(&self.core, &other.core);
        s >= 0.8 || (s >= 0.5 && self.children == other.children)
    }
}

/// Paths present in at least half of `members` (the first dozen): what the template draws.
fn core_of(page: &PageIndex<'_>, members: &[u32]) -> Vec<u32> {
    core_to(page, members, 4)
}

fn core_to(page: &PageIndex<'_>, members: &[u32], levels: u16) -> Vec<u32> {
    let sample: Vec<Vec<u32>> = members
        .iter()
        .take(12)
        .map(|&m| page.fingerprint_to(m, levels))
        .collect();
    let mut all: Vec<u32> = sample.iter().flatten().copied().collect();
    all.sort_unstable();
    let mut core = Vec::new();
    let mut i = 0;
    while i < all.len() {
        let j = all[i..].iter().take_while(|&&h| h == all[i]).count();
        if j * 2 >= sample.len() {
            core.push(all[i]);
        }
        i += j;
    }
    core
}

/// Joins groups of one parent whose members are built alike (`product` and
/// `product-featured`, or rows that differ only by a state class).
fn join_alike(
    page: &PageIndex<'_>,
    mut groups: Vec<(Option<String>, Vec<u32>)>,
) -> Vec<(Option<String>, Vec<u32>)> {
    if groups.len() < 2 {
        return groups;
    }
    let mut cores: Vec<Vec<u32>> = groups.iter().map(|(_, m)| core_of(page, m)).collect();
    let mut i = 0;
    while i < groups.len() {
        let mut j = i + 1;
        while j < groups.len() {
            if !cores[i].is_empty() && page::similarity(&cores[i], &cores[j]) >= 0.75 {
                let (class_j, members_j) = groups.remove(j);
                cores.remove(j);
                let (class_i, members_i) = &mut groups[i];
                if members_j.len() > members_i.len() {
                    *class_i = class_j;
                }
                members_i.extend(members_j);
                members_i.sort_unstable();
            } else {
                j += 1;
            }
        }
        i += 1;
    }
    groups
}

/// Leaves out members whose structure shares little with the group's common structure. Only
/// the two levels below an item are compared: an advertisement or a header row differs there,
/// while an item without a link around its title (a row whose name is plain text) does not.
fn drop_outliers(page: &PageIndex<'_>, members: Vec<u32>) -> Vec<u32> {
    if members.len() < 4 {
        return members;
    }
    let core = core_to(page, &members, 2);
    if core.is_empty() {
        return members;
    }
    members
        .into_iter()
        .filter(|&m| {
            let fp = page.fingerprint_to(m, 2);
            let shared = core.iter().filter(|h| fp.binary_search(h).is_ok()).count();
            shared * 5 >= core.len() * 2
        })
        .collect()
}

/// Hashes of each container's path from the root, computed on demand and remembered.
pub(crate) struct ChainHashes {
    memo: Vec<u32>,
}

impl ChainHashes {
    pub fn new(len: usize) -> Self {
        ChainHashes { memo: vec![0; len] }
    }

    /// The hash of the path from the root to `i` (tags, stable classes, meaningful ids).
    pub fn get(&mut self, page: &PageIndex<'_>, i: u32) -> u32 {
        let mut path = Vec::new();
        let mut at = i;
        while at != NONE && self.memo[at as usize] == 0 {
            path.push(at);
            at = page.node(at).parent;
        }
        let mut h = if at == NONE {
            1
        } else {
            self.memo[at as usize]
        };
        for &n in path.iter().rev() {
            h = page::mix(h, step_hash(page, n)).max(1);
            self.memo[n as usize] = h;
        }
        h
    }
}

/// One step of a container path: its tag, its stable classes and a meaningful id.
fn step_hash(page: &PageIndex<'_>, i: u32) -> u32 {
    let el = page.node(i).el.value();
    let mut tokens: Vec<&str> = classes::tokens(el)
        .filter(|c| classes::class_kind(c) == TokenKind::Meaningful && !classes::is_numbered(c))
        .collect();
    tokens.sort_unstable();
    let mut h = page::tag_hash(page.node(i).tag);
    for t in tokens {
        h = page::mix(h, page::tag_hash(t));
    }
    if let Some(id) = el.id().filter(|id| classes::id_is_meaningful(id)) {
        h = page::mix(h, page::tag_hash(id).rotate_left(7));
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn groups(html: &str) -> Vec<(String, usize, usize)> {
        let doc = Html::parse_document(html);
        let page = PageIndex::build(&doc);
        find_groups(&page)
            .iter()
            .map(|g| {
                let a = page.node(g.items[0].anchor());
                let class = primary_class(&page, g.items[0].anchor()).unwrap_or("");
                (format!("{}.{class}", a.tag), g.items.len(), g.span)
            })
            .collect()
    }

    #[test]
    fn promo_tiles_and_ads_are_not_items() {
        let card = |n: u32| {
            format!(
                "<li class='product'><a href='/p{n}'><img src='/i{n}.jpg'><h3>P{n}</h3></a><span class='price'>{n}</span></li>"
            )
        };
        let mut html = String::from("<ul class='grid'>");
        for n in 0..6 {
            html.push_str(&card(n));
            if n == 2 {
                html.push_str("<li class='promo'><p>Free delivery</p></li>");
                html.push_str("<li><div>Advertisement</div></li>");
            }
        }
        html.push_str("</ul>");
        let g = groups(&html);
        assert_eq!(g, [("li.product".to_owned(), 6, 1)]);
    }

    #[test]
    fn rows_of_a_grid_are_one_list() {
        let row = |a: u32| {
            let cards: String = (a..a + 3)
                .map(|n| format!("<div class='card'><h3>T{n}</h3><p>x{n}</p></div>"))
                .collect();
            format!("<div class='row'>{cards}</div>")
        };
        let html = format!("<main>{}{}{}</main>", row(0), row(3), row(6));
        let g = groups(&html);
        assert!(g.contains(&("div.card".to_owned(), 9, 1)), "{g:?}");
    }

    #[test]
    fn records_over_two_siblings() {
        let html =
            "<dl><dt>A</dt><dd>alpha</dd><dt>B</dt><dd>beta</dd><dt>C</dt><dd>gamma</dd></dl>";
        assert_eq!(groups(html), [("dt.".to_owned(), 3, 2)]);
        // Alternating row classes are one list, not records.
        let rows: String = (0..6)
            .map(|n| {
                let c = if n % 2 == 0 { "odd" } else { "even" };
                format!("<tr class='{c}'><td>{n}</td><td>v{n}</td></tr>")
            })
            .collect();
        let html = format!("<table><tbody>{rows}</tbody></table>");
        let g = groups(&html);
        assert!(g.contains(&("tr.".to_owned(), 6, 1)), "{g:?}");
        assert!(g.iter().all(|(_, _, span)| *span == 1), "{g:?}");
    }
}
