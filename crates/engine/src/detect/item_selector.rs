//! The item selector of a list: the simplest CSS selector that matches exactly the list's
//! items, tried from the cheapest form up.
//!
//! What the items share comes first (a meaningful class, a naming attribute, the tag), then
//! the container that tells them from look-alikes elsewhere (`#main`, `ul.products >`), then
//! what tells them from odd siblings (`:not(.promo)`, `:has(.price)`), and position
//! (`:nth-child`) only when nothing else does. A generated or utility class is used only when
//! the markup offers nothing better.

use std::collections::HashMap;

use super::classes::{self, TokenKind};
use super::contexts;
use super::page::{NONE, PageIndex};
use super::selectors::{
    AttrTest, Compound, attribute_usable, compile_css, is_naming_attribute, is_plain_value,
};

/// Options kept per kind of part, so the combinations stay few.
pub(crate) const OPTIONS_PER_PART: usize = 4;

/// A selector to try, with what it costs a reader (lower is simpler and sturdier).
#[derive(Debug, Clone)]
struct Trial {
    css: String,
    cost: f64,
    /// The item compound it refines: its matches are a subset of that one's.
    base: usize,
}

/// What a found selector matches.
#[derive(Debug, Clone)]
pub(crate) struct Found {
    pub css: String,
    pub matches: Vec<u32>,
}

/// Searches selectors for a set of items.
struct Search<'p, 'a> {
    page: &'p PageIndex<'a>,
    targets: Vec<u32>,
    bases: Vec<(Compound, f64)>,
    base_matches: HashMap<usize, Option<Vec<u32>>>,
}

/// The simplest selector matching exactly `targets` among the indexed elements.
pub(crate) fn exact(page: &PageIndex<'_>, targets: &[u32]) -> Option<Found> {
    let mut search = Search::new(page, targets);
    let mut plain = search.plain_trials();
    if let Some(found) = search.first_exact(&mut plain) {
        return Some(found);
    }
    // Nothing plain works: exclude the odd ones out from the cheapest supersets.
    let mut refined = Vec::new();
    for t in plain.iter().take(12) {
        if let Some(m) = search.evaluate(t) {
            refined.extend(search.exclusions(t, &m));
        }
    }
    search.first_exact(&mut refined)
}

/// The selector that best matches `wanted`: it must match every element of `must` and none of
/// `forbid`; among those, the one matching most of `wanted` and fewest others, then the
/// simplest.
pub(crate) fn best(
    page: &PageIndex<'_>,
    wanted: &[u32],
    must: &[u32],
    forbid: &[u32],
) -> Option<Found> {
    if let Some(found) = exact(page, wanted)
        && must.iter().all(|m| found.matches.contains(m))
        && !forbid.iter().any(|f| found.matches.contains(f))
    {
        return Some(found);
    }
    let mut search = Search::new(page, must);
    let mut trials = search.plain_trials();
    let plain = trials.clone();
    for t in plain.iter() {
        if let Some(m) = search.evaluate(t) {
            trials.extend(search.exclusions_of(t, &m, forbid));
        }
    }
    let mut best: Option<(f64, Found)> = None;
    for t in &trials {
        let Some(m) = search.evaluate(t) else {
            continue;
        };
        if !must.iter().all(|x| m.binary_search(x).is_ok())
            || forbid.iter().any(|x| m.binary_search(x).is_ok())
        {
            continue;
        }
        let hits = m.iter().filter(|x| wanted.contains(x)).count() as f64;
        let extra = m.len() as f64 - hits;
        let score = hits - 2.0 * extra - 0.05 * t.cost;
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((
                score,
                Found {
                    css: t.css.clone(),
                    matches: m,
                },
            ));
        }
    }
    best.map(|(_, f)| f)
        .or_else(|| union(page, wanted, must, forbid))
}

/// When no one selector keeps the excluded elements out, one exact selector per container,
/// joined into a selector list (`#content li.product, aside li.product:not(:nth-child(3))`).
fn union(page: &PageIndex<'_>, wanted: &[u32], must: &[u32], forbid: &[u32]) -> Option<Found> {
    let mut all: Vec<u32> = wanted
        .iter()
        .chain(must)
        .copied()
        .filter(|w| !forbid.contains(w))
        .collect();
    all.sort_unstable();
    all.dedup();
    let mut parts: Vec<(u32, Vec<u32>)> = Vec::new();
    for i in all {
        let parent = page.node(i).parent;
        match parts.iter_mut().find(|(p, _)| *p == parent) {
            Some((_, members)) => members.push(i),
            None => parts.push((parent, vec![i])),
        }
    }
    if parts.len() > 6 {
        return None;
    }
    let mut css = Vec::new();
    let mut matches = Vec::new();
    for (_, members) in &parts {
        let found = exact(page, members)?;
        css.push(found.css);
        matches.extend(found.matches);
    }
    matches.sort_unstable();
    Some(Found {
        css: css.join(", "),
        matches,
    })
}

impl<'p, 'a> Search<'p, 'a> {
    fn new(page: &'p PageIndex<'a>, targets: &[u32]) -> Self {
        let mut targets = targets.to_vec();
        targets.sort_unstable();
        targets.dedup();
        let bases = item_compounds(page, &targets);
        Search {
            page,
            targets,
            bases,
            base_matches: HashMap::new(),
        }
    }

    /// Every item compound alone, under its container, under an ancestor, or both.
    fn plain_trials(&self) -> Vec<Trial> {
        let parents = contexts::parent_compounds(self.page, &self.targets);
        let ancestors = if self.page.deep {
            // A descendant combinator walks every ancestor of every candidate element; on a
            // page nested thousands deep that is quadratic, so only `>` is used there.
            Vec::new()
        } else {
            contexts::ancestor_compounds(self.page, &self.targets)
        };
        let anchored = contexts::anchored_path(self.page, &self.targets);
        let mut out = Vec::new();
        for (b, (item, icost)) in self.bases.iter().enumerate() {
            let item_css = item.css();
            out.push(Trial {
                css: item_css.clone(),
                cost: *icost,
                base: b,
            });
            if let Some((path, combinator, cost)) = &anchored {
                out.push(Trial {
                    css: format!("{path}{combinator}{item_css}"),
                    cost: icost + cost,
                    base: b,
                });
            }
            for (p, pcost) in &parents {
                out.push(Trial {
                    css: format!("{} > {item_css}", p.css()),
                    cost: icost + pcost + 0.5,
                    base: b,
                });
            }
            for (a, acost) in &ancestors {
                out.push(Trial {
                    css: format!("{} {item_css}", a.css()),
                    cost: icost + acost + 0.8,
                    base: b,
                });
                for (p, pcost) in parents.iter().take(2) {
                    out.push(Trial {
                        css: format!("{} {} > {item_css}", a.css(), p.css()),
                        cost: icost + acost + pcost + 1.3,
                        base: b,
                    });
                }
            }
        }
        out
    }

    /// Sorts `trials` by cost and returns the first that matches exactly the targets.
    fn first_exact(&mut self, trials: &mut [Trial]) -> Option<Found> {
        trials.sort_by(|a, b| a.cost.total_cmp(&b.cost));
        trials.iter().find_map(|t| {
            let m = self.evaluate(t)?;
            (m == self.targets).then(|| Found {
                css: t.css.clone(),
                matches: m,
            })
        })
    }

    /// The matches of a trial among indexed elements, `None` when it does not compile or does
    /// not match every target.
    fn evaluate(&mut self, trial: &Trial) -> Option<Vec<u32>> {
        let base = self.base_matches_of(trial.base)?;
        let selector = compile_css(&trial.css)?;
        let page = self.page;
        let m: Vec<u32> = base
            .iter()
            .copied()
            .filter(|&i| selector.matches(&page.node(i).el))
            .collect();
        self.targets
            .iter()
            .all(|t| m.binary_search(t).is_ok())
            .then_some(m)
    }

    fn base_matches_of(&mut self, b: usize) -> Option<Vec<u32>> {
        if let Some(m) = self.base_matches.get(&b) {
            return m.clone();
        }
        let (compound, _) = &self.bases[b];
        let selector = compile_css(&compound.css());
        let m = selector.map(|sel| {
            let page = self.page;
            (0..page.len() as u32)
                .filter(|&i| {
                    let n = page.node(i);
                    compound.tag.as_deref().is_none_or(|t| t == n.tag) && sel.matches(&n.el)
                })
                .collect::<Vec<u32>>()
        });
        let m = m.filter(|m| self.targets.iter().all(|t| m.binary_search(t).is_ok()));
        self.base_matches.insert(b, m.clone());
        m
    }

    /// Refinements of `trial` that leave out what it matches beyond the targets.
    fn exclusions(&self, trial: &Trial, matches: &[u32]) -> Vec<Trial> {
        let extra: Vec<u32> = matches
            .iter()
            .copied()
            .filter(|m| self.targets.binary_search(m).is_err())
            .collect();
        self.exclusions_of(trial, matches, &extra)
    }

    fn exclusions_of(&self, trial: &Trial, matches: &[u32], extra: &[u32]) -> Vec<Trial> {
        if extra.is_empty() || extra.len() > 500 {
            return Vec::new();
        }
        let page = self.page;
        let mut out = Vec::new();
        let refine = |suffix: &str, cost: f64| Trial {
            css: format!("{}{suffix}", trial.css),
            cost: trial.cost + cost,
            base: trial.base,
        };
        // A class every extra element has and no target has.
        let target_classes: Vec<&str> = self
            .targets
            .iter()
            .flat_map(|&t| classes::tokens(page.node(t).el.value()))
            .collect();
        if let Some(&first) = extra.first() {
            for class in classes::tokens(page.node(first).el.value()) {
                if classes::is_plain_identifier(class)
                    && classes::class_kind(class) != TokenKind::Generated
                    && !target_classes.contains(&class)
                    && extra.iter().all(|&e| {
                        page.node(e)
                            .el
                            .value()
                            .has_class(class, scraper::CaseSensitivity::CaseSensitive)
                    })
                {
                    out.push(refine(&format!(":not(.{class})"), 2.5));
                }
            }
        }
        // Something inside every target and inside no extra element.
        for inner in inner_features(page, &self.targets) {
            let Some(sel) = compile_css(&inner) else {
                continue;
            };
            let in_all = self
                .targets
                .iter()
                .all(|&t| page.node(t).el.select(&sel).next().is_some());
            let in_none = extra
                .iter()
                .all(|&e| page.node(e).el.select(&sel).next().is_none());
            if in_all && in_none {
                out.push(refine(&format!(":has({inner})"), 3.0));
            }
        }
        // Position among siblings, when everything shares one parent.
        let parent = page.node(matches[0]).parent;
        if parent != NONE && matches.iter().all(|&m| page.node(m).parent == parent) {
            let siblings = page.children(parent);
            let pos = |i: u32| siblings.iter().position(|&s| s == i).map(|p| p as i32 + 1);
            let positions: Vec<i32> = self.targets.iter().filter_map(|&t| pos(t)).collect();
            let extra_pos: Vec<i32> = extra.iter().filter_map(|&e| pos(e)).collect();
            if let (Some(&lo), Some(&hi)) = (positions.first(), positions.last()) {
                if extra_pos.iter().all(|&p| p < lo) {
                    out.push(refine(&format!(":nth-child(n+{lo})"), 6.0));
                }
                if extra_pos.iter().all(|&p| p > hi) {
                    out.push(refine(&format!(":nth-child(-n+{hi})"), 6.0));
                }
                // A few odd siblings among the items.
                if (1..=3).contains(&extra_pos.len()) {
                    let nots: String = extra_pos
                        .iter()
                        .map(|p| format!(":not(:nth-child({p}))"))
                        .collect();
                    out.push(refine(&nots, 6.5));
                }
                if positions.len() >= 2 {
                    let step = positions[1] - positions[0];
                    if step > 1 && positions.windows(2).all(|w| w[1] - w[0] == step) {
                        let c = Compound {
                            nth_child: Some((step, lo)),
                            ..Compound::default()
                        };
                        out.push(refine(&c.css().replace('*', ""), 6.0));
                    }
                }
            }
        }
        out
    }
}

/// Inner selectors worth testing with `:has()`: the tags and meaningful classes inside the
/// first target.
fn inner_features(page: &PageIndex<'_>, targets: &[u32]) -> Vec<String> {
    let Some(&first) = targets.first() else {
        return Vec::new();
    };
    let root = page.node(first);
    let mut out: Vec<String> = Vec::new();
    for j in first + 1..root.end.min(first + 80) {
        let n = page.node(j);
        for c in classes::meaningful_classes(n.el.value()) {
            let f = format!("{}.{c}", n.tag);
            if !out.contains(&f) {
                out.push(f);
            }
        }
        if !matches!(n.tag, "span" | "div" | "br" | "b" | "i") && !out.iter().any(|o| o == n.tag) {
            out.push(n.tag.to_owned());
        }
        if out.len() >= 24 {
            break;
        }
    }
    out
}

/// What every target shares, as item compounds with their costs.
fn item_compounds(page: &PageIndex<'_>, targets: &[u32]) -> Vec<(Compound, f64)> {
    let Some(&first) = targets.first() else {
        return Vec::new();
    };
    let tag = page.node(first).tag;
    let same_tag = targets.iter().all(|&t| page.node(t).tag == tag);
    let base = if same_tag {
        Compound::tag(tag)
    } else {
        Compound::default()
    };
    let common = |kind: TokenKind| -> Vec<String> {
        classes::tokens(page.node(first).el.value())
            .filter(|c| classes::is_plain_identifier(c) && classes::class_kind(c) == kind)
            .filter(|c| page.all_have_class(targets, c))
            .map(str::to_owned)
            .collect()
    };
    let meaningful = common(TokenKind::Meaningful);
    let mut out: Vec<(Compound, f64)> = Vec::new();
    for c in &meaningful {
        let cost = if classes::is_numbered(c) { 1.6 } else { 1.0 };
        out.push((base.clone().with_class(c), cost));
    }
    if meaningful.len() >= 2 {
        out.push((
            base.clone()
                .with_class(&meaningful[0])
                .with_class(&meaningful[1]),
            1.8,
        ));
    }
    for test in common_attributes(page, targets) {
        let cost = match &test {
            AttrTest::Equals(n, _) if is_naming_attribute(n) => 1.0,
            AttrTest::Equals(..) => 1.5,
            // A data attribute every item has, whatever its value: weaker than a name.
            _ => 2.6,
        };
        out.push((base.clone().with_attr(test), cost));
    }
    if same_tag {
        out.push((base.clone(), 2.0));
    }
    let mut soup = base.clone();
    for kind in [TokenKind::Utility, TokenKind::State, TokenKind::Generated] {
        for c in common(kind)
            .into_iter()
            .take(3usize.saturating_sub(soup.classes.len()))
        {
            soup.classes.push(c);
        }
    }
    if !soup.classes.is_empty() {
        out.push((soup, 5.0));
    }
    out
}

/// Attribute conditions every target meets: the same naming value, or a data attribute
/// present on all.
fn common_attributes(page: &PageIndex<'_>, targets: &[u32]) -> Vec<AttrTest> {
    let Some(&first) = targets.first() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (name, value) in page.node(first).el.value().attrs() {
        if !attribute_usable(name) {
            continue;
        }
        let values: Vec<Option<&str>> = targets
            .iter()
            .map(|&t| page.node(t).el.value().attr(name))
            .collect();
        if values.iter().any(Option::is_none) {
            continue;
        }
        if values.iter().all(|v| *v == Some(value)) && is_plain_value(value) {
            out.push(AttrTest::Equals(name.to_owned(), value.to_owned()));
        } else if name.starts_with("data-") || name == "itemscope" || name == "itemprop" {
            out.push(AttrTest::Present(name.to_owned()));
        }
    }
    out.truncate(OPTIONS_PER_PART);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::Html;

    fn select(html: &str, wanted: impl Fn(&super::super::page::Element<'_>) -> bool) -> String {
        let doc = Html::parse_document(html);
        let page = PageIndex::build(&doc);
        let targets: Vec<u32> = (0..page.len() as u32)
            .filter(|&i| wanted(page.node(i)))
            .collect();
        exact(&page, &targets).expect("a selector").css
    }

    #[test]
    fn a_meaningful_class_is_enough() {
        let html = "<ul><li class='item product'>a</li><li class='item product'>b</li></ul>\
                    <ul><li class='other'>c</li></ul>";
        let css = select(html, |n| {
            n.el.value()
                .has_class("product", scraper::CaseSensitivity::CaseSensitive)
        });
        assert_eq!(css, "li.item");
    }

    #[test]
    fn the_container_tells_look_alikes_apart() {
        let html = "<aside><ul class='products'><li class='product'>s</li></ul></aside>\
                    <main id='main'><ul class='products'><li class='product'>a</li><li class='product'>b</li></ul></main>";
        let doc = Html::parse_document(html);
        let page = PageIndex::build(&doc);
        let targets: Vec<u32> = (0..page.len() as u32)
            .filter(|&i| {
                page.node(i).tag == "li"
                    && page.node(i).depth > 3
                    && page.node(i).el.text().next() != Some("s")
            })
            .collect();
        assert_eq!(targets.len(), 2);
        let css = exact(&page, &targets).unwrap().css;
        assert_eq!(css, "#main li.product");
    }

    #[test]
    fn odd_ones_out_are_excluded() {
        let html = "<ul><li><h3>a</h3></li><li><h3>b</h3></li><li><div>ad</div></li><li><h3>c</h3></li></ul>";
        let css = select(html, |n| n.tag == "li" && n.el.text().next() != Some("ad"));
        assert_eq!(css, "li:has(h3)");
    }

    #[test]
    fn utility_soup_is_a_last_resort() {
        let shadow = |n: &super::super::page::Element<'_>| {
            n.el.value()
                .has_class("shadow", scraper::CaseSensitivity::CaseSensitive)
        };
        // Structure tells the cards apart: no utility class is needed.
        let html = "<div class='grid gap-4'><div class='rounded shadow p-4'>a</div>\
                    <div class='rounded shadow p-4'>b</div></div><div class='p-4'>x</div>";
        assert_eq!(select(html, shadow), "div > div");
        // Only the utilities do.
        let html = "<div class='grid gap-4'><div class='rounded shadow'>a</div>\
                    <div class='rounded shadow'>b</div><div class='p-4'>x</div></div>";
        assert_eq!(select(html, shadow), "div.rounded.shadow");
    }
}
