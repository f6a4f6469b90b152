//! From values read in the items to columns: what is kept (values that vary, filled often
//! enough, or under a table column's header), what goes (boilerplate, labels around values,
//! texts repeated inside other columns, copies of other columns), what is joined (a cell that
//! is a link in some rows and plain text in others) and which words label a column.

use std::collections::HashMap;

use scraper::ElementRef;

use super::candidates::ItemNodes;
use super::fields::{Slot, ValueKind};
use super::naming;
use super::page::{NONE, PageIndex};
use crate::extract::{collapse_whitespace, collapsed_text};

/// Columns proposed at most.
pub(crate) const MAX_FIELDS: usize = 14;

/// Short texts that are the same in every item: labels ("Price:", "by"). A link or a button
/// with constant words ("Email", "Website") is a control, not a label.
pub(crate) fn constant_texts(
    page: &PageIndex<'_>,
    slots: &[Slot],
    n: usize,
) -> HashMap<u32, String> {
    let mut out = HashMap::new();
    for s in slots {
        if s.kind == ValueKind::Text && !s.multiple && s.distinct() == 1 && n >= 2 {
            for v in s.values.iter().flatten() {
                let tag = page.node(v.0).tag;
                if v.1.chars().count() <= 40 && !matches!(tag, "a" | "button") {
                    out.insert(v.0, v.1.clone());
                }
            }
        }
    }
    out
}

/// Whether a slot varies enough, and is filled often enough, to be a column.
pub(crate) fn keep(slot: &Slot, n: usize) -> bool {
    let present = slot.present();
    let needed = 2.max(n.div_ceil(7));
    if present < needed.min(n) {
        return false;
    }
    // The same value in every item is boilerplate (unless there are too few items to tell).
    !(n >= 3 && slot.distinct() <= 1)
}

/// A text under a table column's header is data even when every row has the same value
/// (every team played 30 games); boilerplate has no header.
pub(crate) fn is_headed_column(page: &PageIndex<'_>, items: &[ItemNodes], slot: &Slot) -> bool {
    if slot.kind != ValueKind::Text || slot.multiple || slot.present() * 5 < slot.values.len() * 4 {
        return false;
    }
    let Some((t, (node, _))) = slot
        .values
        .iter()
        .enumerate()
        .find_map(|(t, v)| v.first().map(|x| (t, x)))
    else {
        return false;
    };
    naming::column_header(page, *node, items[t].parts()[slot.part]).is_some()
}

/// The own text of an element: its direct text nodes.
fn own_text(el: ElementRef<'_>) -> String {
    let raw: String = el
        .children()
        .filter_map(|c| c.value().as_text().map(|t| t.to_string()))
        .collect::<Vec<_>>()
        .join(" ");
    collapse_whitespace(&raw)
}

/// A text column whose own words are the same in every item ("by", "Price:") while other
/// columns sit inside it is a label around values: the values are the columns.
pub(crate) fn drop_label_containers(page: &PageIndex<'_>, slots: &mut Vec<Slot>, n: usize) {
    let mut drop = vec![false; slots.len()];
    for (a, s) in slots.iter().enumerate() {
        if s.kind != ValueKind::Text || s.multiple {
            continue;
        }
        let owns: Vec<String> = (0..n)
            .filter_map(|t| s.first(t).map(|(node, _)| own_text(page.node(*node).el)))
            .collect();
        let constant = owns.windows(2).all(|w| w[0] == w[1]);
        let holds_others = slots.iter().enumerate().any(|(b, o)| {
            b != a
                && o.part == s.part
                && (0..n).any(|t| match (s.first(t), o.first(t)) {
                    (Some((outer, _)), Some((inner, _))) => {
                        outer != inner && page.contains(*outer, *inner)
                    }
                    _ => false,
                })
        });
        if constant && holds_others && owns.len() >= 2 {
            drop[a] = true;
        }
    }
    let mut i = 0;
    slots.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// A text inside another text column that repeats part of it (the `<b>12</b>` in
/// "€<b>12</b>.99") adds nothing.
pub(crate) fn drop_contained_texts(page: &PageIndex<'_>, slots: &mut Vec<Slot>) {
    let mut drop = vec![false; slots.len()];
    for (a, outer) in slots.iter().enumerate() {
        if outer.kind != ValueKind::Text || outer.multiple {
            continue;
        }
        for (b, inner) in slots.iter().enumerate() {
            if a == b || drop[b] || inner.kind != ValueKind::Text || inner.part != outer.part {
                continue;
            }
            let (mut both, mut contained) = (0, 0);
            for t in 0..outer.values.len() {
                if let (Some((o, ov)), Some((i, iv))) = (outer.first(t), inner.first(t)) {
                    both += 1;
                    if o != i && page.contains(*o, *i) && ov.contains(iv.as_str()) {
                        contained += 1;
                    }
                }
            }
            if both > 0 && contained * 10 >= both * 9 {
                drop[b] = true;
            }
        }
    }
    let mut i = 0;
    slots.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// Of two columns with the same values (a card's image link and title link; an image's alt
/// and the title), the one a person reads first stays.
pub(crate) fn drop_repeats(slots: &mut Vec<Slot>) {
    let rank = |k: &ValueKind| match k {
        ValueKind::Text => 0,
        ValueKind::Href => 1,
        ValueKind::Src => 2,
        ValueKind::Attr(_) | ValueKind::After { .. } => 3,
    };
    let mut drop = vec![false; slots.len()];
    for a in 0..slots.len() {
        for b in 0..slots.len() {
            if a == b || drop[a] || drop[b] {
                continue;
            }
            let (x, y) = (&slots[a], &slots[b]);
            let (mut both, mut equal) = (0, 0);
            for t in 0..x.values.len() {
                if let (Some((_, xv)), Some((_, yv))) = (x.first(t), y.first(t)) {
                    both += 1;
                    if xv == yv {
                        equal += 1;
                    }
                }
            }
            if both == 0 || equal * 10 < both * 9 {
                continue;
            }
            let x_first = (rank(&x.kind), x.present() == 0, x.order)
                <= (rank(&y.kind), y.present() == 0, y.order);
            drop[if x_first { b } else { a }] = true;
        }
    }
    let mut i = 0;
    slots.retain(|_| {
        i += 1;
        !drop[i - 1]
    });
}

/// The child of `root` that holds `node`, and its position among `root`'s children.
fn child_of(page: &PageIndex<'_>, root: u32, node: u32) -> Option<(u32, usize)> {
    let mut at = node;
    while page.node(at).parent != root {
        at = page.node(at).parent;
        if at == NONE {
            return None;
        }
    }
    let pos = page.children(root).iter().position(|&c| c == at)?;
    Some((at, pos))
}

/// Two text columns that never occur in the same item and sit in the same child of the item
/// (a table cell with a link in some rows and plain text in others) are one column: that
/// child's text.
pub(crate) fn join_complementary(page: &PageIndex<'_>, items: &[ItemNodes], slots: &mut Vec<Slot>) {
    let mut a = 0;
    while a < slots.len() {
        let mut joined = false;
        for b in a + 1..slots.len() {
            let (x, y) = (&slots[a], &slots[b]);
            if x.kind != ValueKind::Text
                || y.kind != ValueKind::Text
                || x.multiple
                || y.multiple
                || x.part != y.part
            {
                continue;
            }
            let disjoint =
                (0..x.values.len()).all(|t| x.values[t].is_empty() || y.values[t].is_empty());
            if !disjoint {
                continue;
            }
            // The same child position of the item in every row that has either.
            let mut position = None;
            let mut cells: Vec<Option<u32>> = Vec::with_capacity(x.values.len());
            let mut same_place = true;
            for (t, item) in items.iter().enumerate().take(x.values.len()) {
                let node = x.first(t).or(y.first(t)).map(|(n, _)| *n);
                let Some(node) = node else {
                    cells.push(None);
                    continue;
                };
                let root = item.parts()[x.part];
                match child_of(page, root, node) {
                    Some((child, pos)) if child != node && position.is_none_or(|p| p == pos) => {
                        position = Some(pos);
                        cells.push(Some(child));
                    }
                    _ => {
                        same_place = false;
                        break;
                    }
                }
            }
            if !same_place || position.is_none() {
                continue;
            }
            let mut merged = slots[a].clone();
            merged.order = slots[a].order.min(slots[b].order);
            merged.values = cells
                .iter()
                .map(|c| match c {
                    Some(child) => {
                        let text = collapsed_text(page.node(*child).el);
                        if text.is_empty() {
                            Vec::new()
                        } else {
                            vec![(*child, text)]
                        }
                    }
                    None => Vec::new(),
                })
                .collect();
            slots[a] = merged;
            slots.remove(b);
            joined = true;
            break;
        }
        if !joined {
            a += 1;
        }
    }
}

/// Labels for columns: the constant text just before the value, or around it.
pub(crate) fn attach_labels(
    page: &PageIndex<'_>,
    slots: &mut [Slot],
    constants: &HashMap<u32, String>,
) {
    for slot in slots.iter_mut() {
        let Some(&(node, _)) = slot.values.iter().find_map(|v| v.first()) else {
            continue;
        };
        let mut label = page
            .prev_sibling(node)
            .and_then(|prev| constants.get(&prev).cloned());
        // A link whose words are the same in every item ("Website", "Read more") is named
        // by them.
        if label.is_none() && slot.kind == ValueKind::Href {
            let texts: Vec<String> = slot
                .values
                .iter()
                .filter_map(|v| v.first().map(|(n, _)| collapsed_text(page.node(*n).el)))
                .collect();
            if texts.len() >= 2
                && texts.windows(2).all(|w| w[0] == w[1])
                && (1..=25).contains(&texts[0].chars().count())
            {
                label = Some(texts[0].clone());
            }
        }
        // Words around the value, the same in every item: `<p>Bedrooms: <b>3</b></p>`.
        if label.is_none() {
            let owns: Vec<String> = slot
                .values
                .iter()
                .filter_map(|v| v.first())
                .map(|(n, _)| match page.node(*n).parent {
                    NONE => String::new(),
                    p => own_text(page.node(p).el),
                })
                .collect();
            if owns.len() >= 2
                && owns.windows(2).all(|w| w[0] == w[1])
                && (1..=30).contains(&owns[0].chars().count())
            {
                label = Some(owns[0].clone());
            }
        }
        slot.label = label;
    }
}

/// Keeps the best [`MAX_FIELDS`] columns, then puts them in the order they appear.
pub(crate) fn choose(slots: &mut Vec<Slot>, n: usize) {
    let weight = |s: &Slot| {
        let fill = s.present() as f64 / n.max(1) as f64;
        let kind = match s.kind {
            ValueKind::Text => 1.0,
            ValueKind::Href | ValueKind::Src | ValueKind::After { .. } => 0.9,
            ValueKind::Attr(_) => 0.6,
        };
        fill * kind
    };
    if slots.len() > MAX_FIELDS {
        slots.sort_by(|a, b| weight(b).total_cmp(&weight(a)));
        slots.truncate(MAX_FIELDS);
    }
    slots.sort_by_key(|s| s.order);
}
