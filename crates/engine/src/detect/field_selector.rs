//! Item-relative selectors for columns: the simplest selector whose first valued match in
//! every analysed item is the element the column was read from (and that finds nothing in
//! items without it), checked the way extraction reads fields.
//!
//! Columns in the item's first element are CSS. Columns in the sibling rows of a record
//! (a forum thread's second row, a definition's `<dd>`) are XPath from the item's first
//! element: `following-sibling::*[1]//a`.

use scraper::{ElementRef, Html};

use super::classes;
use super::fields::ValueKind;
use super::page::{NONE, PageIndex};
use super::selectors::{AttrTest, Combinator, Compound, Path, compile_css, positional};
use crate::extract::collapsed_text;
use crate::spec::SelectorType;
use crate::xpath::{self, XPath};

/// A column's selector, as it goes into the job document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldSelector {
    pub source: String,
    pub kind: SelectorType,
}

/// Items a trial is checked on before the rest: most trials that fail, fail there.
const QUICK_CHECK: usize = 5;
/// Share of items a selector must get right when none gets all right.
const GOOD_ENOUGH: f64 = 0.8;

/// Builds the selector for a column. `roots[t]` is item `t`'s element `part` (its first
/// element for `part == 0`), `anchors[t]` its first element; `targets[t]` the elements the
/// column's values come from in item `t`.
pub(crate) fn build(
    page: &PageIndex<'_>,
    document: &Html,
    part: usize,
    roots: &[u32],
    targets: &[Vec<u32>],
    kind: &ValueKind,
    multiple: bool,
) -> Option<FieldSelector> {
    let (t0, &target) = targets
        .iter()
        .enumerate()
        .find_map(|(t, v)| v.first().filter(|_| roots[t] != NONE).map(|x| (t, x)))?;
    let root = roots[t0];
    // A `tel:`/`mailto:` target is read by XPath as the text after the scheme.
    let after = match kind {
        ValueKind::After { attr, prefix } if !prefix.contains('\'') => {
            Some((*attr, prefix.as_str()))
        }
        ValueKind::After { .. } => return None,
        _ => None,
    };
    let wrap = |found: FieldSelector| match after {
        Some((attr, prefix)) => FieldSelector {
            source: format!("substring-after({}/@{attr}, '{prefix}')", found.source),
            kind: SelectorType::XPath,
        },
        None => found,
    };
    if target == root {
        let source = if part == 0 {
            ".".to_owned()
        } else {
            format!("following-sibling::*[{part}]")
        };
        return Some(wrap(FieldSelector {
            source,
            kind: SelectorType::XPath,
        }));
    }
    let mut chain = Vec::new();
    let mut at = target;
    while at != root && at != NONE {
        chain.push(at);
        at = page.node(at).parent;
    }
    chain.reverse();

    let checker = Checker {
        page,
        document: xpath::Document::new(document),
        part,
        roots,
        targets,
        kind,
        multiple,
        xpath_only: after.is_some(),
    };
    let mut trials = trials(page, &chain, kind);
    trials.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut best: Option<(f64, FieldSelector)> = None;
    for (path, _) in trials {
        let Some(selector) = checker.render(&path) else {
            continue;
        };
        let quick = checker.score(&selector, QUICK_CHECK);
        if quick < 1.0 && best.as_ref().is_some_and(|(s, _)| *s >= quick) {
            continue;
        }
        let score = checker.score(&selector, usize::MAX);
        if score >= 1.0 {
            return Some(wrap(selector));
        }
        if best.as_ref().is_none_or(|(s, _)| score > *s) {
            best = Some((score, selector));
        }
    }
    best.filter(|(s, _)| *s >= GOOD_ENOUGH)
        .map(|(_, sel)| wrap(sel))
}

/// Candidate paths from the item's element to the target, with their costs.
fn trials(page: &PageIndex<'_>, chain: &[u32], kind: &ValueKind) -> Vec<(Path, f64)> {
    let Some((&last, ancestors)) = chain.split_last() else {
        return Vec::new();
    };
    let last_options = options(page, last, Some(kind));
    let mut out = Vec::new();
    for (l, lcost) in &last_options {
        out.push((Path::new(l.clone()), *lcost));
        // The parent, written as `parent > last`.
        if let Some(&parent) = ancestors.last() {
            for (p, pcost) in options(page, parent, None).into_iter().take(3) {
                out.push((
                    Path {
                        steps: vec![(Combinator::Descendant, p), (Combinator::Child, l.clone())],
                    },
                    lcost + pcost + 0.3,
                ));
            }
        }
        // A named ancestor further up, written as `ancestor last`.
        for (depth, &a) in ancestors.iter().rev().enumerate().skip(1) {
            for (anc, acost) in options(page, a, None)
                .into_iter()
                .filter(|(c, _)| !c.classes.is_empty())
                .take(2)
            {
                out.push((
                    Path {
                        steps: vec![
                            (Combinator::Descendant, anc),
                            (Combinator::Descendant, l.clone()),
                        ],
                    },
                    lcost + acost + 0.5 + 0.1 * depth as f64,
                ));
            }
        }
    }
    // Every step from the item down, positions where siblings share a tag: always precise.
    let mut full = Path::default();
    let mut cost = 2.0;
    for &node in chain {
        let step = positional(page, node);
        cost += if step.nth_of_type.is_some() { 1.5 } else { 0.5 };
        full.steps.push((Combinator::Child, step));
    }
    out.push((full, cost));
    out
}

/// Ways to write one element of the path, cheapest first.
fn options(page: &PageIndex<'_>, i: u32, kind: Option<&ValueKind>) -> Vec<(Compound, f64)> {
    let node = page.node(i);
    let el = node.el.value();
    let tag = node.tag;
    let mut out = Vec::new();
    if let Some(prop) = el
        .attr("itemprop")
        .filter(|v| super::selectors::is_plain_value(v))
    {
        out.push((
            Compound::tag(tag).with_attr(AttrTest::Equals("itemprop".into(), prop.to_owned())),
            0.8,
        ));
    }
    for c in classes::meaningful_classes(el) {
        let cost = if classes::is_numbered(c) { 2.0 } else { 1.0 };
        out.push((Compound::tag(tag).with_class(c), cost));
    }
    match kind {
        Some(ValueKind::After { attr, prefix }) if *attr == "href" => {
            out.push((
                Compound::tag(tag).with_attr(AttrTest::Prefix("href".into(), prefix.clone())),
                0.9,
            ));
        }
        Some(ValueKind::Attr(name))
            if super::selectors::attribute_usable(name)
                || name == "datetime"
                || name == "alt"
                || name == "content" =>
        {
            out.push((
                Compound::tag(tag).with_attr(AttrTest::Present(name.clone())),
                1.2,
            ));
        }
        _ => {}
    }
    let semantic = matches!(
        tag,
        "h1" | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "a"
            | "img"
            | "time"
            | "address"
            | "p"
            | "blockquote"
            | "cite"
            | "strong"
            | "em"
            | "b"
            | "small"
            | "dt"
            | "dd"
            | "td"
            | "th"
            | "figcaption"
            | "label"
            | "button"
    );
    out.push((Compound::tag(tag), if semantic { 1.5 } else { 2.0 }));
    let pos = positional(page, i);
    if pos.nth_of_type.is_some() {
        out.push((pos, 3.0));
    }
    let utility: Vec<&str> = classes::tokens(el)
        .filter(|c| {
            classes::is_plain_identifier(c) && classes::class_kind(c) == classes::TokenKind::Utility
        })
        .take(2)
        .collect();
    if !utility.is_empty() {
        let mut c = Compound::tag(tag);
        c.classes = utility.iter().map(|s| s.to_string()).collect();
        out.push((c, 4.0));
    }
    out
}

/// Checks trials on the analysed items.
struct Checker<'p, 'a> {
    page: &'p PageIndex<'a>,
    document: xpath::Document<'a>,
    part: usize,
    roots: &'p [u32],
    targets: &'p [Vec<u32>],
    kind: &'p ValueKind,
    multiple: bool,
    /// Render part-0 paths as XPath too (to be wrapped in a string function).
    xpath_only: bool,
}

impl<'a> Checker<'_, 'a> {
    fn render(&self, path: &Path) -> Option<FieldSelector> {
        if self.part == 0 && self.xpath_only {
            let source = path.xpath_from(".")?;
            XPath::parse_relative(&source).ok()?;
            Some(FieldSelector {
                source,
                kind: SelectorType::XPath,
            })
        } else if self.part == 0 {
            let mut css = path.css();
            if path
                .steps
                .first()
                .is_some_and(|(c, _)| *c == Combinator::Child)
            {
                css = format!(":scope > {css}");
            }
            compile_css(&css)?;
            Some(FieldSelector {
                source: css,
                kind: SelectorType::Css,
            })
        } else {
            let source = path.xpath_from(&format!("following-sibling::*[{}]", self.part))?;
            XPath::parse_relative(&source).ok()?;
            Some(FieldSelector {
                source,
                kind: SelectorType::XPath,
            })
        }
    }

    /// The share of the first `limit` items where the selector finds exactly the column's
    /// elements.
    fn score(&self, selector: &FieldSelector, limit: usize) -> f64 {
        let css = match selector.kind {
            SelectorType::Css => compile_css(&selector.source),
            SelectorType::XPath => None,
        };
        let xp = match selector.kind {
            SelectorType::XPath => XPath::parse_relative(&selector.source).ok(),
            SelectorType::Css => None,
        };
        let (mut checked, mut right) = (0usize, 0usize);
        for (t, wanted) in self.targets.iter().enumerate() {
            if checked >= limit {
                break;
            }
            let root = self.roots[t];
            if root == NONE {
                continue;
            }
            let context = if self.part == 0 {
                self.page.node(root).el
            } else {
                match self.anchor_of(root) {
                    Some(a) => a,
                    None => continue,
                }
            };
            let found: Vec<ElementRef<'a>> = match (&css, &xp) {
                (Some(sel), _) => context.select(sel).collect(),
                (_, Some(x)) => match x.evaluate(&self.document, *context) {
                    Ok(xpath::Value::Nodes(nodes)) => {
                        nodes.iter().filter_map(|n| n.element()).collect()
                    }
                    _ => Vec::new(),
                },
                _ => return 0.0,
            };
            let valued = found.into_iter().filter(|el| has_value(*el, self.kind));
            let got: Vec<_> = if self.multiple {
                valued.map(|e| e.id()).collect()
            } else {
                valued.take(1).map(|e| e.id()).collect()
            };
            let want: Vec<_> = wanted
                .iter()
                .take(if self.multiple { usize::MAX } else { 1 })
                .map(|&w| self.page.node(w).el.id())
                .collect();
            checked += 1;
            right += usize::from(got == want);
        }
        if checked == 0 {
            0.0
        } else {
            right as f64 / checked as f64
        }
    }

    /// The first element of the record whose `part`-th element is `root`.
    fn anchor_of(&self, root: u32) -> Option<ElementRef<'a>> {
        let mut el = self.page.node(root).el;
        for _ in 0..self.part {
            el = el.prev_siblings().find_map(ElementRef::wrap)?;
        }
        Some(el)
    }
}

/// Whether extraction would take a value from `el` for this kind of column.
pub(crate) fn has_value(el: ElementRef<'_>, kind: &ValueKind) -> bool {
    let attr = |name: &str| el.value().attr(name).is_some_and(|v| !v.trim().is_empty());
    match kind {
        ValueKind::Text => !collapsed_text(el).is_empty(),
        ValueKind::Href => attr("href"),
        ValueKind::Src => attr("src"),
        ValueKind::Attr(name) => attr(name),
        ValueKind::After { attr: name, prefix } => el
            .value()
            .attr(name)
            .is_some_and(|v| v.trim_start().starts_with(prefix.as_str())),
    }
}
