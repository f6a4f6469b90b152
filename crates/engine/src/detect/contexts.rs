//! Context for item selectors: what tells a list's items from look-alikes elsewhere on the
//! page is usually their container (`ul.products >`, `#main`, `table[border="1"]`), and on
//! markup without names, the path to it from the nearest named ancestor.

use super::classes;
use super::item_selector::OPTIONS_PER_PART;
use super::page::{NONE, PageIndex};
use super::selectors::{
    AttrTest, Compound, attribute_usable, is_naming_attribute, is_plain_value, positional,
};

/// Ancestors above the items considered as context.
const ANCESTOR_LEVELS: usize = 8;

/// The container as context: the shared parent, or what all parents share.
pub(crate) fn parent_compounds(page: &PageIndex<'_>, targets: &[u32]) -> Vec<(Compound, f64)> {
    let mut parents: Vec<u32> = targets.iter().map(|&t| page.node(t).parent).collect();
    parents.sort_unstable();
    parents.dedup();
    if parents.contains(&NONE) {
        return Vec::new();
    }
    let mut out = describe(page, &parents);
    out.truncate(OPTIONS_PER_PART);
    out
}

/// Ancestors that contain every target, nearest first, as descendant context.
pub(crate) fn ancestor_compounds(page: &PageIndex<'_>, targets: &[u32]) -> Vec<(Compound, f64)> {
    let Some(&first) = targets.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut at = page.node(first).parent;
    // Skip up to the nearest ancestor holding every target.
    while at != NONE && !targets.iter().all(|&t| page.contains(at, t)) {
        at = page.node(at).parent;
    }
    let mut level = 0;
    while at != NONE && level < ANCESTOR_LEVELS {
        let n = page.node(at);
        if matches!(n.tag, "html" | "body") {
            break;
        }
        // Position among same-tag siblings, the last resort for containers without names
        // (the third of four unnamed tables).
        if level < 3 {
            let pos = positional(page, at);
            if pos.nth_of_type.is_some() {
                out.push((pos, 4.0 + 0.15 * level as f64));
            }
        }
        for (c, cost) in describe(page, &[at]) {
            // A bare tag far up says little; keep the landmarks.
            if c.is_bare()
                && !matches!(
                    c.tag.as_deref(),
                    Some("main" | "table" | "ul" | "ol" | "dl" | "tbody" | "section" | "article")
                )
            {
                continue;
            }
            out.push((c, cost + 0.15 * level as f64));
        }
        at = n.parent;
        level += 1;
    }
    out.sort_by(|a, b| a.1.total_cmp(&b.1));
    out.truncate(OPTIONS_PER_PART + 2);
    out
}

/// The path down to the targets' nearest common container from the closest ancestor that names
/// itself (an id, `<main>`, `<body>`), every step a child step with its position where siblings
/// share a tag: `main > div:nth-of-type(3) > table > tbody`. Precise whatever the markup, and
/// the last resort. Returns the path, the combinator to the items and the cost.
pub(crate) fn anchored_path(
    page: &PageIndex<'_>,
    targets: &[u32],
) -> Option<(String, &'static str, f64)> {
    let first = *targets.first()?;
    let mut lca = page.node(first).parent;
    while lca != NONE && !targets.iter().all(|&t| page.contains(lca, t)) {
        lca = page.node(lca).parent;
    }
    if lca == NONE {
        return None;
    }
    let mut steps: Vec<String> = Vec::new();
    let mut at = lca;
    loop {
        let node = page.node(at);
        if let Some(id) = node
            .el
            .value()
            .id()
            .filter(|id| classes::id_is_meaningful(id))
        {
            steps.push(format!("#{id}"));
            break;
        }
        if matches!(node.tag, "main" | "body") || node.parent == NONE {
            steps.push(node.tag.to_owned());
            break;
        }
        steps.push(positional(page, at).css());
        at = node.parent;
        if steps.len() > 12 {
            return None;
        }
    }
    steps.reverse();
    let direct = targets.iter().all(|&t| page.node(t).parent == lca);
    let cost = 5.0 + 0.3 * steps.len() as f64;
    Some((steps.join(" > "), if direct { " > " } else { " " }, cost))
}

/// Compounds that describe all of `nodes` (one element, or parents of one kind).
fn describe(page: &PageIndex<'_>, nodes: &[u32]) -> Vec<(Compound, f64)> {
    let first = page.node(nodes[0]);
    let same_tag = nodes.iter().all(|&n| page.node(n).tag == first.tag);
    let base = if same_tag {
        Compound::tag(first.tag)
    } else {
        Compound::default()
    };
    let mut out = Vec::new();
    if nodes.len() == 1
        && let Some(id) = first
            .el
            .value()
            .id()
            .filter(|id| classes::id_is_meaningful(id))
    {
        out.push((
            Compound {
                id: Some(id.to_owned()),
                ..Compound::default()
            },
            0.5,
        ));
    }
    for c in classes::meaningful_classes(first.el.value()) {
        if page.all_have_class(nodes, c) {
            out.push((base.clone().with_class(c), 1.0));
        }
    }
    for (name, value) in first.el.value().attrs() {
        // Naming attributes say what a container is; on old table layouts, the presentational
        // ones (`border="1"`, `cellpadding="4"`) are often all that tells two tables apart.
        let cost = if is_naming_attribute(name) && attribute_usable(name) {
            1.2
        } else if is_presentational_attribute(name) {
            2.0
        } else {
            continue;
        };
        if is_plain_value(value)
            && nodes
                .iter()
                .all(|&n| page.node(n).el.value().attr(name) == Some(value))
        {
            out.push((
                base.clone()
                    .with_attr(AttrTest::Equals(name.to_owned(), value.to_owned())),
                cost,
            ));
        }
    }
    if same_tag {
        out.push((base, 1.5));
    }
    out
}

/// Layout attributes of old pages, stable for as long as the layout is.
fn is_presentational_attribute(name: &str) -> bool {
    matches!(
        name,
        "border"
            | "cellpadding"
            | "cellspacing"
            | "bgcolor"
            | "align"
            | "valign"
            | "summary"
            | "lang"
            | "dir"
            | "type"
            | "name"
            | "aria-label"
    )
}
