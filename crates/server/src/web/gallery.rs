//! The templates gallery: kinds of page a person commonly wants a spreadsheet of, each with a
//! note on what to click in the wizard. The wizard (`/jobs/new?template=<slug>`) reads the same
//! definitions through [`find`].

/// One kind of page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Template {
    /// In URLs: `/jobs/new?template=shop-listing`.
    pub slug: &'static str,
    pub title: &'static str,
    /// What pages of this kind look like.
    pub description: &'static str,
    /// What to click in the wizard, in order.
    pub what_to_click: &'static str,
    /// The columns such a scrape usually has, as suggestions for naming the clicked fields.
    pub columns: &'static [&'static str],
    /// Whether such lists usually run over several pages ("Next" links).
    pub paginated: bool,
}

/// Every template, in the order the gallery shows them.
pub const TEMPLATES: &[Template] = &[
    Template {
        slug: "shop-listing",
        title: "Shop listing",
        description: "Products in a grid or a list: a name, a price, often a picture and a link.",
        what_to_click: "Click the name of the first product, then the name of another one; then click a price.",
        columns: &["name", "price", "link", "image"],
        paginated: true,
    },
    Template {
        slug: "job-board",
        title: "Job board",
        description: "Job offers, one after another: a title, a company, a place, a date.",
        what_to_click: "Click the title of two offers, then the company and the place of one of them.",
        columns: &["title", "company", "location", "posted"],
        paginated: true,
    },
    Template {
        slug: "news-list",
        title: "News list",
        description: "Articles or blog posts: a headline with a link, a date, sometimes a summary.",
        what_to_click: "Click two headlines, then the date of one article.",
        columns: &["headline", "link", "date", "summary"],
        paginated: true,
    },
    Template {
        slug: "table",
        title: "Table",
        description: "A table with a header row: every row becomes a row of your spreadsheet.",
        what_to_click: "Click a cell in two different rows; each column is found from the table's header.",
        columns: &[],
        paginated: false,
    },
    Template {
        slug: "directory",
        title: "Directory",
        description: "People, shops or members, each with a name and contact details.",
        what_to_click: "Click two names, then a phone number, an address or an e-mail of one entry.",
        columns: &["name", "address", "phone", "email"],
        paginated: true,
    },
];

/// The template with this slug.
pub fn find(slug: &str) -> Option<&'static Template> {
    TEMPLATES.iter().find(|t| t.slug == slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_unique_and_url_safe() {
        for (i, t) in TEMPLATES.iter().enumerate() {
            assert!(
                t.slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{}",
                t.slug
            );
            assert_eq!(find(t.slug), Some(t));
            assert!(TEMPLATES[..i].iter().all(|o| o.slug != t.slug));
        }
        assert_eq!(find("nope"), None);
    }
}
