//! One bounded pass over the parsed page that the rest of detection reads: every element in
//! document order with its parent, the extent of its subtree, its depth, where it sits (hidden,
//! the site's frame, a sidebar, the main content) and how much text, how many links and images
//! it holds.
//!
//! Hostile pages cannot make this expensive: the walk is iterative (no recursion on 16,000
//! nested elements), elements deeper than [`MAX_DEPTH`] are not indexed (browsers stop nesting
//! at 512; no list a person wants lives that deep), and indexing stops after [`MAX_ELEMENTS`].

use std::collections::HashMap;

use ego_tree::iter::Edge;
use scraper::{ElementRef, Html, Node};

use super::regions;

/// Elements indexed at most; later ones are not considered (a warning says so).
pub(crate) const MAX_ELEMENTS: usize = 200_000;
/// Elements nested deeper than this are not indexed.
pub(crate) const MAX_DEPTH: usize = 256;
/// "No element" in parent links.
pub(crate) const NONE: u32 = u32::MAX;

/// Where an element sits, inherited by its descendants.
pub(crate) mod flag {
    /// Not shown: `<template>` contents, `hidden`, `display: none`, `<head>`, scripts.
    pub const HIDDEN: u16 = 1;
    /// The site's frame: navigation, header, footer, cookie banners, pagers.
    pub const CHROME: u16 = 2;
    /// Beside the content: sidebars, related or promoted boxes, filters.
    pub const ASIDE: u16 = 4;
    /// Declared main content: `<main>`, `role=main`, `#content`, `.results`.
    pub const MAIN: u16 = 8;
}

/// One element of the page.
#[derive(Debug, Clone)]
pub(crate) struct Element<'a> {
    pub el: ElementRef<'a>,
    pub tag: &'a str,
    /// Index of the parent element, [`NONE`] for the root element.
    pub parent: u32,
    /// One past the last descendant: the subtree is `index..end`.
    pub end: u32,
    pub depth: u16,
    pub flags: u16,
    /// Visible non-space characters in the subtree.
    pub text: u32,
    /// Visible non-space characters in the element's own text nodes.
    pub own_text: u32,
    /// `a[href]` in the subtree, the element included.
    pub links: u32,
    /// Images in the subtree, the element included.
    pub images: u32,
}

/// The indexed page.
#[derive(Debug)]
pub(crate) struct PageIndex<'a> {
    pub nodes: Vec<Element<'a>>,
    /// Child lists in compressed form: the children of `i` are
    /// `child_list[child_start[i]..child_start[i + 1]]`.
    child_start: Vec<u32>,
    child_list: Vec<u32>,
    /// Indexing stopped at [`MAX_ELEMENTS`].
    pub truncated: bool,
    /// Some elements were deeper than [`MAX_DEPTH`] and were left out.
    pub deep: bool,
}

fn count_visible_chars(text: &str) -> u32 {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .count()
        .min(u32::MAX as usize) as u32
}

impl<'a> PageIndex<'a> {
    /// Indexes `document` in one iterative walk.
    pub fn build(document: &'a Html) -> PageIndex<'a> {
        let mut nodes: Vec<Element<'a>> = Vec::new();
        let mut stack: Vec<u32> = Vec::new();
        // Open elements below the depth limit, not indexed.
        let mut skipped_open = 0usize;
        let mut truncated = false;
        let mut deep = false;
        let mut names = HashMap::new();

        for edge in document.tree.root().traverse() {
            match edge {
                Edge::Open(node) => match node.value() {
                    Node::Element(e) => {
                        if skipped_open > 0 || stack.len() >= MAX_DEPTH {
                            skipped_open += 1;
                            deep = true;
                            continue;
                        }
                        if nodes.len() >= MAX_ELEMENTS {
                            truncated = true;
                            break;
                        }
                        let el = ElementRef::wrap(node).expect("an element node");
                        let tag = e.name();
                        let parent = stack.last().copied().unwrap_or(NONE);
                        let inherited = match parent {
                            NONE => 0,
                            p => nodes[p as usize].flags,
                        };
                        let is_link = tag == "a" && e.attr("href").is_some();
                        let is_image = tag == "img" || tag == "picture";
                        nodes.push(Element {
                            el,
                            tag,
                            parent,
                            end: 0,
                            depth: stack.len() as u16,
                            flags: inherited | regions::own_flags(e, tag, &mut names),
                            text: 0,
                            own_text: 0,
                            links: u32::from(is_link),
                            images: u32::from(is_image),
                        });
                        stack.push((nodes.len() - 1) as u32);
                    }
                    Node::Text(t) if skipped_open == 0 => {
                        if let Some(&top) = stack.last() {
                            let n = &mut nodes[top as usize];
                            if n.flags & flag::HIDDEN == 0 {
                                n.own_text = n.own_text.saturating_add(count_visible_chars(t));
                            }
                        }
                    }
                    _ => {}
                },
                Edge::Close(node) => {
                    if !node.value().is_element() {
                        continue;
                    }
                    if skipped_open > 0 {
                        skipped_open -= 1;
                        continue;
                    }
                    if let Some(i) = stack.pop() {
                        close(&mut nodes, i);
                    }
                }
            }
        }
        while let Some(i) = stack.pop() {
            close(&mut nodes, i);
        }

        let (child_start, child_list) = child_lists(&nodes);
        PageIndex {
            nodes,
            child_start,
            child_list,
            truncated,
            deep,
        }
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn node(&self, i: u32) -> &Element<'a> {
        &self.nodes[i as usize]
    }

    /// The element children of `i`, in document order.
    pub fn children(&self, i: u32) -> &[u32] {
        let i = i as usize;
        &self.child_list[self.child_start[i] as usize..self.child_start[i + 1] as usize]
    }

    /// Whether every element of `nodes` has the class `class`.
    pub fn all_have_class(&self, nodes: &[u32], class: &str) -> bool {
        nodes.iter().all(|&n| {
            self.node(n)
                .el
                .value()
                .has_class(class, scraper::CaseSensitivity::CaseSensitive)
        })
    }

    /// The element just before `i` under the same parent.
    pub fn prev_sibling(&self, i: u32) -> Option<u32> {
        let parent = self.node(i).parent;
        if parent == NONE {
            return None;
        }
        let kids = self.children(parent);
        let pos = kids.iter().position(|&k| k == i)?;
        pos.checked_sub(1).map(|p| kids[p])
    }

    /// Whether `inner` is `outer` or one of its descendants.
    pub fn contains(&self, outer: u32, inner: u32) -> bool {
        outer <= inner && inner < self.nodes[outer as usize].end
    }

    pub fn is_hidden(&self, i: u32) -> bool {
        self.nodes[i as usize].flags & flag::HIDDEN != 0
    }

    /// A small set of hashed tag paths below `i` (four levels, 160 elements at most): two
    /// elements built from the same template have nearly the same set.
    pub fn fingerprint(&self, i: u32) -> Vec<u32> {
        self.fingerprint_to(i, 4)
    }

    /// [`fingerprint`](Self::fingerprint) down to `levels` below `i`.
    pub fn fingerprint_to(&self, i: u32, levels: u16) -> Vec<u32> {
        let root = self.node(i);
        let start = i as usize + 1;
        let end = (root.end as usize).min(start + 160);
        let mut local = vec![0u32; end.saturating_sub(i as usize)];
        local[0] = 0x9e37_79b9;
        let mut out = Vec::with_capacity(local.len());
        for j in start..end {
            let n = &self.nodes[j];
            if n.depth.saturating_sub(root.depth) > levels || n.flags & flag::HIDDEN != 0 {
                continue;
            }
            let parent_hash = local[(n.parent - i) as usize];
            let h = mix(parent_hash, tag_hash(n.tag));
            local[j - i as usize] = h;
            out.push(h);
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// Finishes element `i` when its end tag is reached: its subtree extent, and its counts added
/// to its parent's.
fn close(nodes: &mut [Element<'_>], i: u32) {
    let end = nodes.len() as u32;
    let n = &mut nodes[i as usize];
    n.end = end;
    n.text = n.text.saturating_add(n.own_text);
    let (text, links, images, parent) = (n.text, n.links, n.images, n.parent);
    if parent != NONE {
        let p = &mut nodes[parent as usize];
        p.text = p.text.saturating_add(text);
        p.links = p.links.saturating_add(links);
        p.images = p.images.saturating_add(images);
    }
}

fn child_lists(nodes: &[Element<'_>]) -> (Vec<u32>, Vec<u32>) {
    let mut counts = vec![0u32; nodes.len() + 1];
    for n in nodes {
        if n.parent != NONE {
            counts[n.parent as usize + 1] += 1;
        }
    }
    for i in 1..counts.len() {
        counts[i] += counts[i - 1];
    }
    let mut fill = counts.clone();
    let mut list = vec![0u32; nodes.len()];
    for (j, n) in nodes.iter().enumerate() {
        if n.parent != NONE {
            let slot = &mut fill[n.parent as usize];
            list[*slot as usize] = j as u32;
            *slot += 1;
        }
    }
    (counts, list)
}

pub(crate) fn tag_hash(tag: &str) -> u32 {
    // FNV-1a: stable across runs and platforms, unlike the std hasher's random keys.
    let mut h: u32 = 0x811c_9dc5;
    for b in tag.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h
}

pub(crate) fn mix(a: u32, b: u32) -> u32 {
    (a ^ b
        .wrapping_add(0x9e37_79b9)
        .wrapping_add(a << 6)
        .wrapping_add(a >> 2))
    .wrapping_mul(0x0100_0193)
}

/// The share of elements two fingerprints have in common (1.0 when both are empty).
pub(crate) fn similarity(a: &[u32], b: &[u32]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index(html: &str) -> (Html, usize) {
        let doc = Html::parse_document(html);
        let n = PageIndex::build(&doc).len();
        (doc, n)
    }

    #[test]
    fn subtree_extents_and_counts() {
        let doc = Html::parse_document(
            r#"<main><ul><li><a href="/a">Alpha</a></li><li><img src="x.png">Beta</li></ul></main>
               <footer><a href="/f">F</a></footer>"#,
        );
        let page = PageIndex::build(&doc);
        let ul = page.nodes.iter().position(|n| n.tag == "ul").unwrap() as u32;
        assert_eq!(page.children(ul).len(), 2);
        let ulnode = page.node(ul);
        assert_eq!(ulnode.text, "AlphaBeta".len() as u32);
        assert_eq!((ulnode.links, ulnode.images), (1, 1));
        assert!(ulnode.flags & flag::MAIN != 0);
        for &li in page.children(ul) {
            assert!(page.contains(ul, li));
        }
        let footer_link = page.nodes.iter().rposition(|n| n.tag == "a").unwrap();
        assert!(page.nodes[footer_link].flags & flag::CHROME != 0);
    }

    #[test]
    fn template_contents_and_scripts_are_hidden() {
        let doc = Html::parse_document(
            "<div><template><p class=card>T</p></template><script>var x = 1;</script>\
             <p style='display: none'>gone</p><p>shown</p></div>",
        );
        let page = PageIndex::build(&doc);
        let hidden: Vec<&str> = page
            .nodes
            .iter()
            .filter(|n| n.flags & flag::HIDDEN != 0)
            .map(|n| n.tag)
            .collect();
        assert!(hidden.contains(&"template") && hidden.contains(&"script"));
        let div = page.nodes.iter().find(|n| n.tag == "div").unwrap();
        assert_eq!(div.text, "shown".len() as u32);
        assert_eq!(
            page.nodes
                .iter()
                .filter(|n| n.tag == "p" && n.flags & flag::HIDDEN != 0)
                .count(),
            2
        );
    }

    #[test]
    fn deep_nesting_is_cut_without_recursion() {
        let html = format!("{}x{}", "<div>".repeat(20_000), "</div>".repeat(20_000));
        let doc = Html::parse_document(&html);
        let page = PageIndex::build(&doc);
        assert!(page.deep);
        assert!(page.len() <= MAX_DEPTH + 1);
        assert!(page.nodes.iter().all(|n| (n.depth as usize) < MAX_DEPTH));
    }

    #[test]
    fn element_cap() {
        let html = "<p>x</p>".repeat(MAX_ELEMENTS + 10);
        let (_doc, n) = index(&html);
        assert_eq!(n, MAX_ELEMENTS);
    }

    #[test]
    fn fingerprints_tell_templates_apart() {
        let doc = Html::parse_document(
            "<ul><li><a><img></a><h3>A</h3><span>1</span></li>\
             <li><a><img></a><h3>B</h3><span>2</span></li>\
             <li><div>Advertisement</div></li></ul>",
        );
        let page = PageIndex::build(&doc);
        let lis: Vec<u32> = (0..page.len() as u32)
            .filter(|&i| page.node(i).tag == "li")
            .collect();
        let f: Vec<Vec<u32>> = lis.iter().map(|&i| page.fingerprint(i)).collect();
        assert_eq!(similarity(&f[0], &f[1]), 1.0);
        assert_eq!(similarity(&f[0], &f[2]), 0.0);
    }
}
