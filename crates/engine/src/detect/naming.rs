//! Column names a person recognises, guessed from the markup: microdata (`itemprop`), the
//! header of a table column, a label written before the value ("Salary:"), the words of class
//! names (`product-card__price` → price), the attribute (`data-sku` → sku), the shape of the
//! values (prices, dates, e-mail addresses) and finally the element (`h3` → title).

use scraper::ElementRef;

use super::classes;
use super::fields::ValueKind;
use super::page::{NONE, PageIndex};
use crate::extract::collapsed_text;

/// Good column names, each with the words people write for it in class names.
const VOCABULARY: &[(&str, &[&str])] = &[
    (
        "title",
        &["title", "heading", "headline", "subject", "topic"],
    ),
    ("name", &["name"]),
    ("price", &["price", "prices", "cost", "amount"]),
    ("date", &["date", "posted", "published", "pubdate"]),
    ("time", &["time", "timestamp"]),
    ("author", &["author", "by", "byline", "writer"]),
    ("user", &["user", "username"]),
    ("description", &["description", "desc"]),
    (
        "summary",
        &["summary", "excerpt", "teaser", "snippet", "abstract"],
    ),
    (
        "image",
        &["image", "img", "photo", "picture", "thumb", "thumbnail"],
    ),
    ("url", &["url"]),
    ("link", &["link"]),
    ("rating", &["rating", "ratings", "stars"]),
    ("score", &["score"]),
    ("reviews", &["reviews"]),
    ("votes", &["votes"]),
    ("points", &["points"]),
    ("comments", &["comments"]),
    ("replies", &["replies", "answers"]),
    ("views", &["views"]),
    ("location", &["location", "place"]),
    ("address", &["address"]),
    ("city", &["city"]),
    ("country", &["country"]),
    ("company", &["company", "employer", "organization"]),
    ("salary", &["salary", "pay", "wage"]),
    ("category", &["category"]),
    ("tags", &["tags", "tag"]),
    ("brand", &["brand"]),
    ("sku", &["sku"]),
    ("phone", &["phone", "tel", "telephone"]),
    ("email", &["email", "mail"]),
    ("website", &["website", "homepage"]),
    ("venue", &["venue"]),
    ("status", &["status"]),
    ("type", &["type"]),
    ("size", &["size"]),
    ("bedrooms", &["bedrooms", "beds"]),
    ("bathrooms", &["bathrooms", "baths"]),
    ("area", &["area", "sqft"]),
    ("source", &["source"]),
    ("domain", &["domain"]),
    ("duration", &["duration"]),
    ("start", &["start"]),
    ("end", &["end"]),
    ("year", &["year"]),
    ("stock", &["stock"]),
    ("availability", &["availability"]),
    ("discount", &["discount"]),
    ("distance", &["distance"]),
    ("genre", &["genre"]),
    ("isbn", &["isbn"]),
    ("publisher", &["publisher"]),
    ("team", &["team"]),
    ("organizer", &["organizer"]),
    ("quantity", &["quantity"]),
    ("model", &["model"]),
    ("color", &["color"]),
    ("weight", &["weight"]),
    ("symbol", &["symbol", "ticker"]),
    ("change", &["change"]),
    ("volume", &["volume"]),
    ("term", &["term"]),
    ("definition", &["definition"]),
    ("id", &["id"]),
];

/// Words of class names that say nothing about a column.
const GENERIC: &[&str] = &[
    "item",
    "items",
    "card",
    "list",
    "entry",
    "info",
    "meta",
    "content",
    "wrapper",
    "wrap",
    "inner",
    "outer",
    "box",
    "block",
    "body",
    "details",
    "detail",
    "col",
    "cell",
    "field",
    "value",
    "data",
    "main",
    "primary",
    "secondary",
    "text",
    "label",
    "row",
    "container",
    "section",
    "group",
    "js",
    "ui",
    "c",
    "is",
    "has",
    "the",
    "a",
    "of",
    "and",
    "top",
    "bottom",
    "left",
    "right",
    "small",
    "big",
    "large",
    "holder",
    "area",
    "part",
    "element",
    "el",
    "component",
    "module",
    "widget",
    "line",
    "span",
    "div",
    "link",
    "caption",
];

/// What is known about one column when it is named.
pub(crate) struct Column<'p, 'a> {
    pub page: &'p PageIndex<'a>,
    /// The element the value is read from, in the first item that has it.
    pub element: u32,
    /// The item's element that holds it.
    pub root: u32,
    pub kind: &'p ValueKind,
    /// Constant text written before or around the value ("Price:").
    pub label: Option<&'p str>,
    pub samples: &'p [&'p str],
    /// The words of the item's own class, which name the item rather than the column.
    pub item_words: &'p [String],
}

/// A name for the column, as a lowercase identifier.
pub(crate) fn name_column(c: &Column<'_, '_>) -> String {
    let node = c.page.node(c.element);
    let el = node.el.value();
    if let Some(name) = microdata_name(c) {
        return name;
    }
    match c.kind {
        ValueKind::After {
            attr: "href",
            prefix,
        } => {
            return if prefix == "tel:" { "phone" } else { "email" }.into();
        }
        ValueKind::Attr(a) if a.starts_with("data-") => {
            if let Some(word) = vocabulary_word(&classes::words(a), &["data"]) {
                return word;
            }
            return slug(a.trim_start_matches("data-"));
        }
        ValueKind::Attr(a) if a == "alt" => return "image_alt".into(),
        _ => {}
    }
    if let Some(header) = column_header(c.page, c.element, c.root) {
        return suffixed(&header, c.kind);
    }
    if let Some(label) = c.label.map(slug).filter(|l| !l.is_empty() && l.len() <= 30) {
        return suffixed(&label, c.kind);
    }
    match c.kind {
        ValueKind::Src => return "image".into(),
        ValueKind::Href => {
            return match class_word(c, None) {
                Some(w) if w == "url" || w == "website" => w,
                _ => "link".into(),
            };
        }
        ValueKind::Attr(a) if a == "datetime" => return "date".into(),
        _ => {}
    }
    let shape = shape(c.samples);
    if let Some(word) = class_word(c, shape) {
        return word;
    }
    if let Some(shape) = shape {
        return shape.into();
    }
    let by_tag = match node.tag {
        "h1" | "h2" | "h3" | "h4" | "h5" | "h6" | "a" | "dt" => Some("title"),
        "time" => Some("date"),
        "address" => Some("address"),
        "blockquote" | "q" => Some("quote"),
        "p" | "dd" => Some("description"),
        "cite" => Some("source"),
        "img" => Some("image"),
        _ => None,
    };
    if let Some(n) = by_tag {
        return n.into();
    }
    // Any word of the element's own classes.
    let words: Vec<String> = classes::tokens(el).flat_map(classes::words).collect();
    if let Some(w) = words
        .iter()
        .rev()
        .find(|w| !GENERIC.contains(&w.as_str()) && !c.item_words.contains(w) && w.len() > 1)
    {
        return slug(w);
    }
    match c.kind {
        ValueKind::Attr(a) => slug(a),
        _ => "text".into(),
    }
}

/// The microdata property the value is (`itemprop`): the element's own when its kind of value
/// is the one microdata reads from such an element (a link's `href`, an image's `src`, a
/// `meta`'s `content`), else the nearest one around a text. A `name` inside a nested item
/// (a place, an organisation) takes the nested item's property: `location`, not `name`.
fn microdata_name(c: &Column<'_, '_>) -> Option<String> {
    let mut at = c.element;
    let mut found: Option<&str> = None;
    loop {
        let node = c.page.node(at);
        let e = node.el.value();
        if let Some(prop) = e.attr("itemprop") {
            if let Some(inner) = found {
                if e.attr("itemscope").is_some() {
                    return Some(words_slug(if inner == "name" { prop } else { inner }));
                }
            } else if (at == c.element && microdata_reads(node.tag, c.kind))
                || (at != c.element && *c.kind == ValueKind::Text)
            {
                found = Some(prop);
            }
            if found.is_some_and(|p| p != "name")
                || e.attr("itemscope").is_some() && found.is_some()
            {
                break;
            }
        }
        if at == c.root || node.parent == NONE {
            break;
        }
        at = node.parent;
    }
    found.map(words_slug)
}

/// Whether microdata reads this kind of value from this element.
fn microdata_reads(tag: &str, kind: &ValueKind) -> bool {
    match kind {
        ValueKind::Href => matches!(tag, "a" | "link" | "area"),
        ValueKind::Src => matches!(
            tag,
            "img" | "audio" | "video" | "source" | "embed" | "iframe"
        ),
        ValueKind::Attr(a) => matches!(a.as_str(), "content" | "datetime" | "value"),
        ValueKind::Text => !matches!(
            tag,
            "a" | "link"
                | "area"
                | "img"
                | "audio"
                | "video"
                | "source"
                | "embed"
                | "iframe"
                | "meta"
        ),
        ValueKind::After { .. } => false,
    }
}

/// `startDate` → `start_date`.
fn words_slug(s: &str) -> String {
    slug(&classes::words(s).join("_"))
}

/// A link or image column named after a header or label: "Name" → name_link.
fn suffixed(name: &str, kind: &ValueKind) -> String {
    match kind {
        // "Website", "Homepage": the label already says it is a link.
        ValueKind::Href => match canonical(name) {
            Some(c @ ("website" | "url" | "link")) => c.to_owned(),
            _ => format!("{name}_link"),
        },
        ValueKind::Src => format!("{name}_image"),
        ValueKind::Attr(a) if a == "datetime" => name.to_owned(),
        ValueKind::Attr(a) if !a.starts_with("data-") && a != "content" => {
            format!("{name}_{}", slug(a))
        }
        _ => name.to_owned(),
    }
}

/// The best vocabulary word in the classes of the element and its ancestors inside the item,
/// nearest first: the one naming the values' shape (`price_color` holding prices is a price),
/// else the last one (`product-card__price`).
fn class_word(c: &Column<'_, '_>, shape: Option<&str>) -> Option<String> {
    let mut at = c.element;
    let mut depth = 0;
    while at != NONE && depth < 4 {
        let node = c.page.node(at);
        let mut words: Vec<String> = classes::tokens(node.el.value())
            .chain(node.el.value().id())
            .flat_map(classes::words)
            .collect();
        words.retain(|w| !c.item_words.contains(w));
        if let Some(shape) = shape
            && words.iter().any(|w| canonical(w) == Some(shape))
        {
            return Some(shape.to_owned());
        }
        if let Some(w) = vocabulary_word(&words, &[]) {
            return Some(w);
        }
        if at == c.root {
            break;
        }
        at = node.parent;
        depth += 1;
    }
    None
}

/// The usual name for a word, if the vocabulary knows it.
fn canonical(word: &str) -> Option<&'static str> {
    VOCABULARY
        .iter()
        .find(|(_, words)| words.contains(&word))
        .map(|(name, _)| *name)
}

/// The last word of `words` that the vocabulary knows, as its usual name.
fn vocabulary_word(words: &[String], skip: &[&str]) -> Option<String> {
    words
        .iter()
        .rev()
        .filter(|w| !skip.contains(&w.as_str()))
        .find_map(|w| canonical(w).map(str::to_owned))
}

/// The header of the table column holding `element`, when the item is a table row.
pub(crate) fn column_header(page: &PageIndex<'_>, element: u32, root: u32) -> Option<String> {
    let row = page.node(root).el;
    if row.value().name() != "tr" {
        return None;
    }
    // The cell of the row that holds the element.
    let mut cell = element;
    while page.node(cell).parent != root {
        cell = page.node(cell).parent;
        if cell == NONE {
            return None;
        }
    }
    let column = column_of(page.node(cell).el);
    let table = row
        .ancestors()
        .filter_map(ElementRef::wrap)
        .find(|a| a.value().name() == "table")?;
    let header_row = header_row(table, row)?;
    let mut at = 0;
    for th in cells(header_row) {
        let span = colspan(th);
        if column >= at && column < at + span {
            let text = slug(&collapsed_text(th));
            return (!text.is_empty()).then_some(text);
        }
        at += span;
    }
    None
}

/// The table's header row: a row of `th` cells, or else (old layouts) a first row of short,
/// link-free labels above the item's row.
fn header_row<'a>(table: ElementRef<'a>, item_row: ElementRef<'a>) -> Option<ElementRef<'a>> {
    let mut rows = table
        .descendants()
        .filter_map(ElementRef::wrap)
        .filter(|e| e.value().name() == "tr");
    let all: Vec<ElementRef<'a>> = rows.by_ref().take(200).collect();
    if let Some(th_row) = all.iter().find(|tr| {
        let cells: Vec<_> = cells(**tr).collect();
        !cells.is_empty() && cells.iter().all(|c| c.value().name() == "th")
    }) {
        return Some(*th_row);
    }
    let first = *all.first()?;
    let labels = cells(first).all(|c| {
        let text = collapsed_text(c);
        !text.is_empty()
            && text.chars().count() <= 30
            && !c
                .descendants()
                .filter_map(ElementRef::wrap)
                .any(|d| d.value().name() == "a")
    });
    (first.id() != item_row.id() && labels && cells(first).count() > 1).then_some(first)
}

fn cells(row: ElementRef<'_>) -> impl Iterator<Item = ElementRef<'_>> {
    row.children()
        .filter_map(ElementRef::wrap)
        .filter(|c| matches!(c.value().name(), "td" | "th"))
}

fn colspan(cell: ElementRef<'_>) -> usize {
    cell.value()
        .attr("colspan")
        .and_then(|s| s.trim().parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, 100)
}

fn column_of(cell: ElementRef<'_>) -> usize {
    cell.prev_siblings()
        .filter_map(ElementRef::wrap)
        .filter(|c| matches!(c.value().name(), "td" | "th"))
        .map(colspan)
        .sum()
}

/// A name from what most values look like.
fn shape(samples: &[&str]) -> Option<&'static str> {
    if samples.is_empty() {
        return None;
    }
    let share = |test: fn(&str) -> bool| {
        samples.iter().filter(|s| test(s)).count() * 5 >= samples.len() * 3
    };
    if share(looks_like_price) {
        Some("price")
    } else if share(looks_like_date) {
        Some("date")
    } else if share(|s| s.contains('@') && s.contains('.') && !s.contains(' ')) {
        Some("email")
    } else if share(looks_like_phone) {
        Some("phone")
    } else if share(|s| s.starts_with("http://") || s.starts_with("https://")) {
        Some("url")
    } else {
        None
    }
}

pub(crate) fn looks_like_price(s: &str) -> bool {
    let has_digit = s.chars().any(|c| c.is_ascii_digit());
    let symbol = s.chars().any(|c| "$€£¥₹₽₩₺₴₪฿".contains(c));
    let upper = s.to_ascii_uppercase();
    let code = [
        "USD", "EUR", "GBP", "JPY", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "AUD", "CAD", "KR",
        "円",
    ]
    .iter()
    .any(|c| upper.contains(c));
    has_digit && (symbol || code) && s.chars().count() <= 40
}

fn looks_like_date(s: &str) -> bool {
    let digits: Vec<usize> = s
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(str::len)
        .collect();
    let iso = s.len() >= 8 && digits.first() == Some(&4) && digits.len() >= 3 && s.contains('-');
    // 12/03/2024, 12.3.24; not a phone number's groups (020 7946 0100).
    let fours = digits.iter().filter(|&&d| d == 4).count();
    let small = digits.iter().filter(|&&d| d <= 2).count();
    let numeric = digits.len() == 3
        && s.chars().all(|c| c.is_ascii_digit() || "./-".contains(c))
        && ((fours == 1 && small == 2) || small == 3);
    let lower = s.to_lowercase();
    const MONTHS: &[&str] = &[
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        "januar", "februar", "mär", "mai", "juni", "juli", "okt", "dez", "janv", "févr", "avr",
        "juil", "août", "sept", "déc", "ene", "abr", "ago", "dic",
    ];
    let month = MONTHS.iter().any(|m| lower.contains(m)) && !digits.is_empty();
    let ago = lower.ends_with(" ago") && !digits.is_empty();
    (iso || numeric || month || ago) && s.chars().count() <= 40
}

fn looks_like_phone(s: &str) -> bool {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    digits >= 7
        && s.chars()
            .all(|c| c.is_ascii_digit() || "+()-. /".contains(c))
}

/// `Price (€):` → `price`; keeps letters of every script, lowercased, joined by `_`.
pub(crate) fn slug(s: &str) -> String {
    let mut out = String::new();
    let mut gap = false;
    for ch in s.chars() {
        if ch.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push('_');
            }
            out.extend(ch.to_lowercase());
            gap = false;
        } else {
            gap = true;
        }
    }
    out.chars()
        .take(40)
        .collect::<String>()
        .trim_end_matches('_')
        .to_owned()
}

/// `name`, or `name_2`, `name_3` … when taken.
pub(crate) fn unique(name: String, taken: &[String]) -> String {
    if !taken.contains(&name) {
        return name;
    }
    (2..)
        .map(|n| format!("{name}_{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Price (€):"), "price");
        assert_eq!(slug("  Date posted "), "date_posted");
        assert_eq!(slug("価格"), "価格");
    }

    #[test]
    fn shapes() {
        assert_eq!(shape(&["€24.99", "€3.50"]), Some("price"));
        assert_eq!(shape(&["$1,200", "$900"]), Some("price"));
        assert_eq!(shape(&["2024-03-01", "2024-02-28"]), Some("date"));
        assert_eq!(shape(&["12 Mar 2024", "3 Feb 2024"]), Some("date"));
        assert_eq!(shape(&["a@b.example", "c@d.example"]), Some("email"));
        assert_eq!(shape(&["+1 555 0100 200", "(555) 123-4567"]), Some("phone"));
        assert_eq!(shape(&["Kettle", "Toaster"]), None);
    }

    #[test]
    fn unique_names() {
        let taken = vec!["link".to_owned(), "link_2".to_owned()];
        assert_eq!(unique("link".into(), &taken), "link_3");
        assert_eq!(unique("title".into(), &taken), "title");
    }
}
