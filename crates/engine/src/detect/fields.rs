//! The columns of a list: every value inside the items (texts, links, images, dates and data
//! held only in attributes), aligned across items by where it sits in the item, kept when it
//! varies between items and dropped when it is boilerplate ("Add to cart"), a repetition of
//! another column, or a label ("Price:") whose value is a column of its own.

use std::collections::HashMap;

use scraper::Html;
use url::Url;

use super::candidates::{Group, primary_class};
use super::columns;
use super::field_selector::{self, FieldSelector};
use super::naming;
use super::page::{NONE, PageIndex};
use super::selectors::attribute_usable;
use crate::extract::{collapse_whitespace, collapsed_text};

/// Items whose values are read to choose the columns.
pub(crate) const ITEMS_ANALYSED: usize = 40;
/// Elements read inside one item (per element of the item).
const ELEMENTS_PER_ITEM: usize = 300;
/// Attribute values longer than this are data blobs, not values a person reads.
const MAX_ATTRIBUTE_VALUE: usize = 200;

/// Where a column's value comes from in the element its selector finds.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ValueKind {
    Text,
    /// `href`, made absolute.
    Href,
    /// `src`, made absolute.
    Src,
    /// Any other attribute, as written.
    Attr(String),
    /// The part of an attribute after a fixed beginning, read by XPath `substring-after`: a
    /// `tel:`/`mailto:` link's number or address, the word a rating's class ends with
    /// (`star-rating Three`).
    After {
        attr: &'static str,
        prefix: String,
    },
}

/// A proposed column.
#[derive(Debug, Clone)]
pub(crate) struct FieldPlan {
    pub name: String,
    pub selector: FieldSelector,
    pub kind: ValueKind,
    pub multiple: bool,
}

/// The values of one column candidate, per analysed item.
#[derive(Debug, Clone)]
pub(crate) struct Slot {
    /// Which element of the item (records span several).
    pub part: usize,
    pub kind: ValueKind,
    pub multiple: bool,
    /// Per analysed item: the elements holding the value and the values, in document order.
    pub values: Vec<Vec<(u32, String)>>,
    /// Where the column sits in an item, for column order.
    pub order: u32,
    pub label: Option<String>,
}

impl Slot {
    pub fn first(&self, item: usize) -> Option<&(u32, String)> {
        self.values[item].first()
    }

    pub fn present(&self) -> usize {
        self.values.iter().filter(|v| !v.is_empty()).count()
    }

    pub fn distinct(&self) -> usize {
        let mut seen: Vec<&str> = self
            .values
            .iter()
            .flat_map(|v| v.iter().map(|(_, s)| s.as_str()))
            .collect();
        seen.sort_unstable();
        seen.dedup();
        seen.len()
    }
}

/// The columns of `group`, best first in the order they appear in an item.
pub(crate) fn plan_fields(
    page: &PageIndex<'_>,
    document: &Html,
    group: &Group,
    base: &Url,
) -> Vec<FieldPlan> {
    let items: Vec<_> = group.items.iter().take(ITEMS_ANALYSED).copied().collect();
    let n = items.len();
    let mut slots = collect(page, &items, group.span, base);
    let constant_labels = columns::constant_texts(page, &slots, n);
    slots.retain(|s| columns::keep(s, n) || columns::is_headed_column(page, &items, s));
    columns::drop_label_containers(page, &mut slots, n);
    columns::drop_contained_texts(page, &mut slots);
    columns::drop_repeats(&mut slots);
    columns::join_complementary(page, &items, &mut slots);
    columns::attach_labels(page, &mut slots, &constant_labels);
    columns::choose(&mut slots, n);

    let roots: Vec<Vec<u32>> = (0..group.span)
        .map(|p| {
            items
                .iter()
                .map(|it| it.parts().get(p).copied().unwrap_or(NONE))
                .collect()
        })
        .collect();
    let item_words = item_words(page, items.first().map(|i| i.anchor()));
    let mut names: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for slot in &slots {
        let targets: Vec<Vec<u32>> = slot
            .values
            .iter()
            .map(|v| v.iter().map(|(node, _)| *node).collect())
            .collect();
        let Some(selector) = field_selector::build(
            page,
            document,
            slot.part,
            &roots[slot.part],
            &targets,
            &slot.kind,
            slot.multiple,
        ) else {
            continue;
        };
        let Some(&(reference, _)) = slot.values.iter().find_map(|v| v.first()) else {
            continue;
        };
        let samples: Vec<&str> = slot
            .values
            .iter()
            .filter_map(|v| v.first().map(|(_, s)| s.as_str()))
            .take(12)
            .collect();
        let name = naming::name_column(&naming::Column {
            page,
            element: reference,
            root: roots[slot.part]
                .iter()
                .copied()
                .find(|&r| r != NONE && page.contains(r, reference))
                .unwrap_or(reference),
            kind: &slot.kind,
            label: slot.label.as_deref(),
            samples: &samples,
            item_words: &item_words,
        });
        let name = naming::unique(name, &names);
        names.push(name.clone());
        out.push(FieldPlan {
            name,
            selector,
            kind: slot.kind.clone(),
            multiple: slot.multiple,
        });
    }
    out
}

/// The words of the item's own classes, which say nothing about one column ("product" in
/// "product-title").
fn item_words(page: &PageIndex<'_>, anchor: Option<u32>) -> Vec<String> {
    anchor
        .and_then(|a| primary_class(page, a))
        .map(super::classes::words)
        .unwrap_or_default()
}

/// A step of an element's place inside its item: its tag and main class.
pub(crate) fn step(page: &PageIndex<'_>, i: u32) -> String {
    let n = page.node(i);
    match primary_class(page, i) {
        Some(c) => format!("{}.{c}", n.tag),
        None => n.tag.to_owned(),
    }
}

/// Reads every value in the analysed items.
fn collect(
    page: &PageIndex<'_>,
    items: &[super::candidates::ItemNodes],
    span: usize,
    base: &Url,
) -> Vec<Slot> {
    let n = items.len();
    let mut slots: Vec<Slot> = Vec::new();
    let mut index: HashMap<(usize, String, ValueKind), usize> = HashMap::new();
    for (t, item) in items.iter().enumerate() {
        for (p, &root) in item.parts().iter().enumerate().take(span) {
            let end = page.node(root).end.min(root + ELEMENTS_PER_ITEM as u32);
            let mut keys: Vec<String> = Vec::with_capacity((end - root) as usize);
            for j in root..end {
                let node = page.node(j);
                let key = if j == root {
                    String::new()
                } else {
                    let parent = node.parent;
                    let parent_key = keys
                        .get((parent - root) as usize)
                        .cloned()
                        .unwrap_or_default();
                    format!("{parent_key}/{}", step(page, j))
                };
                keys.push(key.clone());
                if page.is_hidden(j) && !page.is_hidden(root) {
                    continue;
                }
                for (kind, value) in values_of(page, j, base) {
                    let slot_key = (p, key.clone(), kind.clone());
                    let s = *index.entry(slot_key).or_insert_with(|| {
                        slots.push(Slot {
                            part: p,
                            kind,
                            multiple: false,
                            values: vec![Vec::new(); n],
                            order: (p as u32) * 100_000 + (j - root),
                            label: None,
                        });
                        slots.len() - 1
                    });
                    slots[s].values[t].push((j, value));
                }
            }
        }
    }
    split_repeats(slots, n)
}

/// The values an element offers, by kind.
fn values_of(page: &PageIndex<'_>, i: u32, base: &Url) -> Vec<(ValueKind, String)> {
    let node = page.node(i);
    let el = node.el.value();
    let mut out = Vec::new();
    let text = if node.own_text > 0 {
        collapsed_text(node.el)
    } else {
        String::new()
    };
    if !text.is_empty() {
        out.push((ValueKind::Text, text.clone()));
    }
    if let Some(v) = class_value(node) {
        out.push(v);
    }
    let absolute = |v: &str| base.join(v.trim()).map(String::from).ok();
    for (name, raw) in el.attrs() {
        let value = raw.trim();
        if value.is_empty() || value.len() > MAX_ATTRIBUTE_VALUE {
            continue;
        }
        let lower = value.to_ascii_lowercase();
        match name {
            "href" if value.starts_with('#') || lower.starts_with("javascript:") => {}
            // A phone number or an e-mail address is worth more than a URL to it.
            "href" if lower.starts_with("tel:") || lower.starts_with("mailto:") => {
                let scheme = if lower.starts_with("tel:") {
                    "tel:"
                } else {
                    "mailto:"
                };
                let target = collapse_whitespace(&value[scheme.len()..]);
                if !target.is_empty() {
                    out.push((
                        ValueKind::After {
                            attr: "href",
                            prefix: value[..scheme.len()].to_owned(),
                        },
                        target,
                    ));
                }
            }
            // A link with neither text nor picture (a vote arrow, an icon) says nothing.
            "href" if node.text == 0 && node.images == 0 => {}
            "href" => {
                if let Some(u) = absolute(value) {
                    out.push((ValueKind::Href, u));
                }
            }
            "src" if matches!(node.tag, "img" | "source" | "video" | "audio" | "embed") => {
                if !lower.starts_with("data:")
                    && let Some(u) = absolute(value)
                {
                    out.push((ValueKind::Src, u));
                }
            }
            "content" if el.attr("itemprop").is_some() => out.push((
                ValueKind::Attr("content".into()),
                collapse_whitespace(value),
            )),
            "datetime" | "alt" => {
                out.push((ValueKind::Attr(name.into()), collapse_whitespace(value)))
            }
            "aria-label" | "title" if collapse_whitespace(value) != text => {
                out.push((ValueKind::Attr(name.into()), collapse_whitespace(value)))
            }
            _ if name.starts_with("data-") && attribute_usable(name) => {
                out.push((ValueKind::Attr(name.into()), collapse_whitespace(value)))
            }
            _ => {}
        }
    }
    out
}

/// An element that shows nothing may hold a value in its last class (`star-rating Three`,
/// `stars stars-4`): the value after the classes before it.
fn class_value(node: &super::page::Element<'_>) -> Option<(ValueKind, String)> {
    if node.text > 0 || node.images > 0 {
        return None;
    }
    let class = node.el.value().attr("class")?;
    let tokens: Vec<&str> = class.split_ascii_whitespace().collect();
    let (&last, before) = tokens.split_last()?;
    if before.is_empty()
        || super::classes::class_kind(last) != super::classes::TokenKind::Meaningful
    {
        return None;
    }
    // `substring-after` reads the attribute as written, so the beginning must be too.
    let prefix = format!("{} ", before.join(" "));
    class.starts_with(&prefix).then(|| {
        (
            ValueKind::After {
                attr: "class",
                prefix,
            },
            last.to_owned(),
        )
    })
}

/// Splits slots that occur several times in one item: a fixed number of times (the cells of
/// a row) gives one column per position; a varying number (tags) gives one list column.
fn split_repeats(slots: Vec<Slot>, n: usize) -> Vec<Slot> {
    let mut out = Vec::new();
    for slot in slots {
        let counts: Vec<usize> = slot.values.iter().map(Vec::len).collect();
        let max = counts.iter().copied().max().unwrap_or(0);
        if max <= 1 {
            out.push(slot);
            continue;
        }
        let present: Vec<usize> = counts.iter().copied().filter(|&c| c > 0).collect();
        let mode = most_common(&present);
        let fixed = present.iter().filter(|&&c| c == mode).count() * 5 >= present.len() * 4;
        if fixed && mode <= 8 {
            for k in 0..mode {
                let mut s = slot.clone();
                s.values = (0..n)
                    .map(|t| {
                        if counts[t] == mode {
                            vec![slot.values[t][k].clone()]
                        } else {
                            Vec::new()
                        }
                    })
                    .collect();
                s.order = slot.order + k as u32;
                out.push(s);
            }
        } else {
            let mut s = slot;
            s.multiple = true;
            out.push(s);
        }
    }
    out
}

fn most_common(values: &[usize]) -> usize {
    let mut best = (0, 0);
    for &v in values {
        let c = values.iter().filter(|&&x| x == v).count();
        if c > best.1 || (c == best.1 && v < best.0) {
            best = (v, c);
        }
    }
    best.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::candidates::find_groups;

    /// The columns of the first list of `html`: name, selector, kind, and the first item's
    /// value.
    fn columns(html: &str) -> Vec<(String, String, ValueKind, String)> {
        let doc = Html::parse_document(html);
        let page = PageIndex::build(&doc);
        let url = Url::parse("https://x.example/").unwrap();
        let groups = find_groups(&page);
        let group = groups
            .iter()
            .find(|g| page.node(g.items[0].anchor()).tag == "li")
            .unwrap();
        plan_fields(&page, &doc, group, &url)
            .into_iter()
            .map(|f| {
                let spec = crate::JobSpec::from_value(&serde_json::json!({
                    "name": "t", "start_url": url.as_str(), "item_selector": "li",
                    "fields": [{"name": "v", "selector": f.selector.source,
                                "selector_type": f.selector.kind.as_str()}],
                }));
                let first = spec
                    .ok()
                    .map(|s| crate::extract::extract_document(&s, &doc, &url))
                    .and_then(|e| e.items.first().map(|i| i.values[0].to_cell().into_owned()))
                    .unwrap_or_default();
                (f.name, f.selector.source, f.kind, first)
            })
            .collect()
    }

    #[test]
    fn a_value_in_a_class_name() {
        let items: String = ["One", "Three", "Five", "Two"]
            .iter()
            .map(|r| format!("<li><h3>Book {r}</h3><p class=\"star-rating {r}\"><i></i></p></li>"))
            .collect();
        let cols = columns(&format!("<ul>{items}</ul>"));
        let rating = cols
            .iter()
            .find(|c| c.0 == "rating")
            .expect("a rating column");
        assert_eq!(
            rating.1,
            "substring-after(.//p[contains(concat(' ', normalize-space(@class), ' '), ' star-rating ')]/@class, 'star-rating ')"
        );
        assert_eq!(rating.3, "One");
    }

    #[test]
    fn labels_name_their_values_and_boilerplate_goes() {
        let items: String = (1..=4)
            .map(|i| {
                format!(
                    "<li><h3>Flat {i}</h3><p>Bedrooms: <b>{i}</b></p><span>Price: €{i}00</span>\
                     <button>Add to cart</button></li>"
                )
            })
            .collect();
        let cols = columns(&format!("<ul>{items}</ul>"));
        let names: Vec<&str> = cols.iter().map(|c| c.0.as_str()).collect();
        assert!(names.contains(&"bedrooms"), "{cols:?}");
        assert!(!cols.iter().any(|c| c.3 == "Add to cart"), "{cols:?}");
        assert!(cols.iter().any(|c| c.3 == "Price: €100"), "{cols:?}");
    }

    #[test]
    fn repeats_become_one_list_column_and_copies_go() {
        let items: String = (1..=4)
            .map(|i| {
                let tags: String = (0..i)
                    .map(|t| format!("<span class=\"tag\">t{t}</span>"))
                    .collect();
                format!(
                    "<li><a href=\"/a/{i}\"><img src=\"/i/{i}.jpg\" alt=\"Story {i}\"></a>\
                     <a href=\"/a/{i}\">Story {i}</a>{tags}</li>"
                )
            })
            .collect();
        let cols = columns(&format!("<ul>{items}</ul>"));
        let kinds: Vec<(&str, &ValueKind)> = cols.iter().map(|c| (c.0.as_str(), &c.2)).collect();
        // One link column (the image's link is the same), no alt (the same as the title).
        assert_eq!(
            cols.iter().filter(|c| c.2 == ValueKind::Href).count(),
            1,
            "{kinds:?}"
        );
        assert!(
            !cols.iter().any(|c| c.2 == ValueKind::Attr("alt".into())),
            "{kinds:?}"
        );
        let tags = cols.iter().find(|c| c.1.contains("tag")).expect("tags");
        assert_eq!(tags.0, "tags");
    }
}
