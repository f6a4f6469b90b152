//! Selectors as detection builds them: a path of compound steps that renders to CSS or, for
//! fields in the sibling rows of a record, to XPath; and what a rendered selector matches.

use super::NODE_ID_ATTR;
use super::classes;
use super::page::{NONE, PageIndex};

/// One attribute condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttrTest {
    Present(String),
    Equals(String, String),
    Prefix(String, String),
}

/// One step of a selector: `li.product[data-sku]:nth-of-type(2)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Compound {
    pub tag: Option<String>,
    pub id: Option<String>,
    pub classes: Vec<String>,
    pub attrs: Vec<AttrTest>,
    pub nth_of_type: Option<u32>,
    /// `:nth-child(an+b)`, CSS only.
    pub nth_child: Option<(i32, i32)>,
    /// `:not(.x)`, CSS only.
    pub not_classes: Vec<String>,
    /// `:has(...)` with a relative selector, CSS only.
    pub has: Option<String>,
}

/// How a step relates to the one before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Combinator {
    Child,
    Descendant,
}

/// A selector path; the first step's combinator relates it to the context (the document or
/// the item).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Path {
    pub steps: Vec<(Combinator, Compound)>,
}

impl Compound {
    pub fn tag(tag: &str) -> Self {
        Compound {
            tag: Some(tag.to_owned()),
            ..Compound::default()
        }
    }

    pub fn with_class(mut self, class: &str) -> Self {
        self.classes.push(class.to_owned());
        self
    }

    pub fn with_attr(mut self, test: AttrTest) -> Self {
        self.attrs.push(test);
        self
    }

    /// Whether the step says nothing beyond its tag.
    pub fn is_bare(&self) -> bool {
        self.id.is_none()
            && self.classes.is_empty()
            && self.attrs.is_empty()
            && self.nth_of_type.is_none()
            && self.nth_child.is_none()
            && self.not_classes.is_empty()
            && self.has.is_none()
    }

    pub fn css(&self) -> String {
        let mut s = self.tag.clone().unwrap_or_default();
        if let Some(id) = &self.id {
            s.push('#');
            s.push_str(id);
        }
        for c in &self.classes {
            s.push('.');
            s.push_str(c);
        }
        for a in &self.attrs {
            match a {
                AttrTest::Present(n) => s.push_str(&format!("[{n}]")),
                AttrTest::Equals(n, v) => s.push_str(&format!("[{n}=\"{v}\"]")),
                AttrTest::Prefix(n, v) => s.push_str(&format!("[{n}^=\"{v}\"]")),
            }
        }
        if let Some(n) = self.nth_of_type {
            s.push_str(&format!(":nth-of-type({n})"));
        }
        if let Some((a, b)) = self.nth_child {
            s.push_str(&format!(":nth-child({})", an_plus_b(a, b)));
        }
        for c in &self.not_classes {
            s.push_str(&format!(":not(.{c})"));
        }
        if let Some(h) = &self.has {
            s.push_str(&format!(":has({h})"));
        }
        if s.is_empty() {
            s.push('*');
        }
        s
    }

    /// The XPath step for this compound; `None` when it uses what only CSS can say.
    pub fn xpath(&self) -> Option<String> {
        if self.nth_child.is_some() || !self.not_classes.is_empty() || self.has.is_some() {
            return None;
        }
        let mut s = self.tag.clone().unwrap_or_else(|| "*".to_owned());
        // The position comes first: `span[2][...]` is the second span that also has the
        // class; `span[...][2]` would be the second of those with the class.
        if let Some(n) = self.nth_of_type {
            s.push_str(&format!("[{n}]"));
        }
        if let Some(id) = &self.id {
            s.push_str(&format!("[@id='{id}']"));
        }
        for c in &self.classes {
            s.push_str(&format!(
                "[contains(concat(' ', normalize-space(@class), ' '), ' {c} ')]"
            ));
        }
        for a in &self.attrs {
            match a {
                AttrTest::Present(n) => s.push_str(&format!("[@{n}]")),
                AttrTest::Equals(n, v) => s.push_str(&format!("[@{n}='{v}']")),
                AttrTest::Prefix(n, v) => s.push_str(&format!("[starts-with(@{n}, '{v}')]")),
            }
        }
        Some(s)
    }
}

fn an_plus_b(a: i32, b: i32) -> String {
    let a_part = match a {
        0 => String::new(),
        1 => "n".to_owned(),
        -1 => "-n".to_owned(),
        a => format!("{a}n"),
    };
    match (a_part.is_empty(), b) {
        (true, b) => b.to_string(),
        (false, 0) => a_part,
        (false, b) if b > 0 => format!("{a_part}+{b}"),
        (false, b) => format!("{a_part}{b}"),
    }
}

impl Path {
    pub fn new(first: Compound) -> Self {
        Path {
            steps: vec![(Combinator::Descendant, first)],
        }
    }

    /// The path as CSS (the first combinator is implied by the context).
    pub fn css(&self) -> String {
        let mut s = String::new();
        for (i, (comb, step)) in self.steps.iter().enumerate() {
            if i > 0 {
                s.push_str(match comb {
                    Combinator::Child => " > ",
                    Combinator::Descendant => " ",
                });
            }
            s.push_str(&step.css());
        }
        s
    }

    /// The path as an XPath location relative to `context` (`.` or a sibling step).
    pub fn xpath_from(&self, context: &str) -> Option<String> {
        let mut s = context.to_owned();
        for (comb, step) in &self.steps {
            s.push_str(match comb {
                Combinator::Child => "/",
                Combinator::Descendant => "//",
            });
            s.push_str(&step.xpath()?);
        }
        Some(s)
    }
}

/// Whether an attribute value can be written in a selector as it is: short, one line, no
/// quotes or backslashes (then CSS and XPath need no escaping).
pub(crate) fn is_plain_value(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 60
        && !v
            .chars()
            .any(|c| c.is_control() || matches!(c, '"' | '\'' | '\\'))
}

/// Whether an attribute may appear in a generated selector: never the snapshot's node ids,
/// never framework bookkeeping, never values that differ per item.
pub(crate) fn attribute_usable(name: &str) -> bool {
    name != NODE_ID_ATTR
        && !name.starts_with("data-gs-")
        && classes::is_plain_identifier(name)
        && !matches!(
            name,
            "style"
                | "class"
                | "id"
                | "href"
                | "src"
                | "srcset"
                | "alt"
                | "title"
                | "width"
                | "height"
                | "data-reactid"
                | "data-reactroot"
                | "data-v-app"
        )
        && !name.starts_with("data-v-")
        && !name.starts_with("on")
}

/// Attributes whose presence or value names what an element is.
pub(crate) fn is_naming_attribute(name: &str) -> bool {
    matches!(
        name,
        "itemprop"
            | "itemtype"
            | "role"
            | "rel"
            | "data-testid"
            | "data-test"
            | "data-qa"
            | "data-cy"
            | "data-role"
            | "data-type"
            | "data-component"
    )
}

/// The element as its tag and, when siblings share the tag, its position among them.
pub(crate) fn positional(page: &PageIndex<'_>, i: u32) -> Compound {
    let node = page.node(i);
    let mut step = Compound::tag(node.tag);
    if node.parent != NONE {
        let same: Vec<u32> = page
            .children(node.parent)
            .iter()
            .copied()
            .filter(|&s| page.node(s).tag == node.tag)
            .collect();
        if same.len() > 1 {
            step.nth_of_type = same.iter().position(|&s| s == i).map(|p| p as u32 + 1);
        }
    }
    step
}

/// Compiles CSS, `None` when scraper refuses it.
pub(crate) fn compile_css(source: &str) -> Option<scraper::Selector> {
    scraper::Selector::parse(source).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_css_and_xpath() {
        let step = Compound::tag("span")
            .with_class("price")
            .with_attr(AttrTest::Present("data-amount".into()));
        assert_eq!(step.css(), "span.price[data-amount]");
        let mut nth = Compound::tag("td");
        nth.nth_of_type = Some(3);
        let path = Path {
            steps: vec![
                (Combinator::Child, nth),
                (Combinator::Descendant, Compound::tag("a")),
            ],
        };
        assert_eq!(path.css(), "td:nth-of-type(3) a");
        assert_eq!(
            path.xpath_from("following-sibling::*[1]").unwrap(),
            "following-sibling::*[1]/td[3]//a"
        );
        assert_eq!(
            step.xpath().unwrap(),
            "span[contains(concat(' ', normalize-space(@class), ' '), ' price ')][@data-amount]"
        );
        let mut odd = Compound::tag("tr");
        odd.nth_child = Some((2, 1));
        assert_eq!(odd.css(), "tr:nth-child(2n+1)");
        assert_eq!(an_plus_b(1, 3), "n+3");
        assert_eq!(an_plus_b(-1, 4), "-n+4");
        assert_eq!(an_plus_b(11, 0), "11n");
        assert!(odd.xpath().is_none());
        // Every rendering compiles.
        for css in [step.css(), path.css(), odd.css()] {
            assert!(compile_css(&css).is_some(), "{css}");
        }
    }

    #[test]
    fn node_ids_never_go_into_selectors() {
        assert!(!attribute_usable(NODE_ID_ATTR));
        assert!(!attribute_usable("data-gs-anything"));
        assert!(attribute_usable("data-sku"));
    }
}
