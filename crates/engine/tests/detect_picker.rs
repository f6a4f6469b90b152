//! The picker's half of detection, through the public API: items generalised from clicked
//! examples (and excluded elements), fields from a clicked element, elements named by the
//! node numbers of a snapshot, and refusals in words.

use std::path::Path;

use grandma_engine::JobSpec;
use grandma_engine::detect::{self, DetectError, NODE_ID_ATTR};
use grandma_engine::extract::extract_page;
use grandma_engine::fetch::charset;
use scraper::{ElementRef, Html, Selector};
use url::Url;

fn design(name: &str) -> (String, Url) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/detect_corpus")
        .join(name);
    let html = charset::decode(std::fs::read(dir.join("page.html")).unwrap(), None);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    (html, Url::parse(expected["url"].as_str().unwrap()).unwrap())
}

fn designs() -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/detect_corpus"))
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
    names.sort();
    names
}

fn select<'a>(doc: &'a Html, css: &str) -> Vec<ElementRef<'a>> {
    doc.select(&Selector::parse(css).unwrap()).collect()
}

fn ids(els: &[ElementRef<'_>]) -> Vec<ego_tree::NodeId> {
    els.iter().map(|e| e.id()).collect()
}

/// The page as a snapshot: every element carries its node number.
fn snapshot(html: &str) -> String {
    let mut out = String::with_capacity(html.len() * 2);
    let mut n = 0u32;
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        out.push_str(&rest[..=at]);
        rest = &rest[at + 1..];
        let name_len = rest
            .find(|c: char| !c.is_ascii_alphanumeric())
            .unwrap_or(rest.len());
        if name_len > 0 && rest.starts_with(|c: char| c.is_ascii_alphabetic()) {
            out.push_str(&rest[..name_len]);
            out.push_str(&format!(" {NODE_ID_ATTR}=\"{n}\""));
            n += 1;
            rest = &rest[name_len..];
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn two_items_of_the_first_list_give_the_whole_list_on_every_design() {
    let mut right = 0;
    let names = designs();
    for name in &names {
        let (html, url) = design(name);
        let doc = Html::parse_document(&html);
        let detected = detect::detect(&doc, &url);
        let first = &detected.candidates[0];
        let items = select(&doc, &first.item_selector);
        // Two examples: the second item and the last one, as a person would click them.
        let examples = [items[1], items[items.len() - 1]];
        let got = detect::generalise(&doc, &url, &examples, &[])
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let matched = select(&doc, &got.item_selector);
        let same = ids(&matched) == ids(&items);
        println!(
            "{name:<18} {:<45} {:>4} items  {}",
            got.item_selector,
            got.count,
            if same {
                "same as detection"
            } else {
                "DIFFERENT"
            }
        );
        right += usize::from(same);
        // Whatever it found is an ordinary job that extracts its sample.
        let spec = JobSpec::from_value(&got.job).unwrap();
        let extracted = extract_page(&spec, &html, &url);
        assert_eq!(extracted.items.len(), got.count, "{name}");
        for e in &examples {
            assert!(
                matched.iter().any(|m| m.id() == e.id()),
                "{name}: an example is not matched"
            );
        }
    }
    assert!(
        right * 10 >= names.len() * 9,
        "{right}/{} designs",
        names.len()
    );
}

#[test]
fn look_alikes_elsewhere_stay_out_unless_picked_and_excluded_ones_never_match() {
    let (html, url) = design("shop-grid");
    let doc = Html::parse_document(&html);
    let main = select(&doc, "main li.product");
    let side = select(&doc, "aside li.product");
    assert_eq!((main.len(), side.len()), (12, 4));

    // Examples in the main grid: the grid, not the sidebar's bestsellers.
    let got = detect::generalise(&doc, &url, &[main[0], main[5]], &[]).unwrap();
    assert_eq!(
        ids(&select(&doc, &got.item_selector)),
        ids(&main),
        "{}",
        got.item_selector
    );
    assert_eq!(got.count, 12);
    assert_eq!(got.sample[0]["price"], "€19.00", "{:#?}", got.sample[0]);
    // The picker's job follows the page's next link like detection's does.
    assert_eq!(
        got.pagination,
        detect::detect(&doc, &url).candidates[0].pagination,
        "{:#?}",
        got.pagination
    );
    assert!(got.pagination.is_some());

    // One example in each: both lists.
    let got = detect::generalise(&doc, &url, &[main[0], side[1]], &[]).unwrap();
    assert_eq!(got.count, 16, "{}", got.item_selector);

    // Both lists, but one bestseller excluded: everything else that is like them.
    let got = detect::generalise(&doc, &url, &[main[0], side[1]], &[side[2]]).unwrap();
    let matched = select(&doc, &got.item_selector);
    assert!(
        !matched.iter().any(|m| m.id() == side[2].id()),
        "{}",
        got.item_selector
    );
    assert!(matched.iter().any(|m| m.id() == side[1].id()));
    assert!(matched.iter().any(|m| m.id() == main[0].id()));

    // The promo tile and the advertisement are never like the products.
    let ad = select(&doc, "li.ad-slot")[0];
    let got = detect::generalise(&doc, &url, &[main[0], main[1]], &[]).unwrap();
    assert!(
        !select(&doc, &got.item_selector)
            .iter()
            .any(|m| m.id() == ad.id())
    );
}

#[test]
fn snapshots_are_picked_by_node_numbers() {
    let (html, url) = design("recipes");
    let snap = snapshot(&html);
    let doc = Html::parse_document(&snap);
    let detected = detect::detect(&doc, &url);
    let first = &detected.candidates[0];
    assert_eq!(first.item_nodes.len(), first.count);
    for c in &detected.candidates {
        assert!(
            !c.item_selector.contains(NODE_ID_ATTR),
            "{}",
            c.item_selector
        );
        for f in &c.fields {
            assert!(!f.selector.contains(NODE_ID_ATTR), "{}", f.selector);
            assert_ne!(f.custom_attribute.as_deref(), Some(NODE_ID_ATTR));
        }
    }
    let examples = [first.item_nodes[0], first.item_nodes[4]];
    let got = detect::generalise_nodes(&doc, &url, &examples, &[]).unwrap();
    assert_eq!(got.item_nodes, first.item_nodes);
    assert!(!got.item_selector.contains(NODE_ID_ATTR));
    // The snapshot's numbers are not a value of any field.
    for f in &got.fields {
        assert_ne!(f.custom_attribute.as_deref(), Some(NODE_ID_ATTR));
    }

    // A field from a clicked element, by number: the rating held only in an attribute.
    let rating = select(&doc, "article.recipe-card div.recipe-card__rating")[2];
    let node: u32 = rating.value().attr(NODE_ID_ATTR).unwrap().parse().unwrap();
    let field = detect::propose_field_node(&doc, &url, &got.item_selector, node).unwrap();
    let all: Vec<String> = std::iter::once(&field.field)
        .chain(&field.alternatives)
        .map(|f| format!("{}:{}:{:?}", f.name, f.attribute, f.custom_attribute))
        .collect();
    assert!(
        all.iter()
            .any(|f| f == "rating:custom:Some(\"data-rating\")"),
        "{all:?}"
    );

    assert_eq!(
        detect::generalise_nodes(&doc, &url, &[examples[0], 999_999], &[]).unwrap_err(),
        DetectError::UnknownNode(999_999)
    );
    assert!(detect::find_node(&doc, examples[0]).is_some());
    assert!(detect::find_node(&doc, 999_999).is_none());
}

#[test]
fn fields_from_clicked_elements() {
    let (html, url) = design("shop-grid");
    let doc = Html::parse_document(&html);
    let items = "#content li.product";

    let price = select(&doc, "main li.product .product__price")[3];
    let s = detect::propose_field(&doc, &url, items, price).unwrap();
    assert_eq!(s.field.name, "price");
    assert_eq!(s.field.attribute, "text");
    assert_eq!(s.field.filled, 12);
    assert_eq!(s.values.len(), 10);
    assert_eq!(s.values[0], "€19.00");

    let image = select(&doc, "main li.product img")[0];
    let s = detect::propose_field(&doc, &url, items, image).unwrap();
    assert_eq!(
        (s.field.name.as_str(), s.field.attribute.as_str()),
        ("image", "src")
    );
    assert_eq!(
        s.values[1],
        "https://shop.example/img/p/bold-toaster-kettle.jpg"
    );

    // A link's text first, its address as an alternative.
    let name = select(&doc, "main li.product h2")[2];
    let s = detect::propose_field(&doc, &url, items, name).unwrap();
    assert_eq!(s.field.attribute, "text");
    assert_eq!(s.values[2], "Calm Blender Kettle");
    let button = select(&doc, "main li.product button")[0];
    let s = detect::propose_field(&doc, &url, items, button).unwrap();
    assert!(
        std::iter::once(&s.field)
            .chain(&s.alternatives)
            .any(|f| f.custom_attribute.as_deref() == Some("data-sku") && f.filled == 12),
        "{s:#?}"
    );
    // The values are what a job with the field extracts.
    let spec = JobSpec::from_value(&serde_json::json!({
        "name": "t", "start_url": url.as_str(), "item_selector": items,
        "fields": [{"name": "x", "selector": s.field.selector, "selector_type": s.field.selector_type,
                    "attribute": s.field.attribute, "custom_attribute": s.field.custom_attribute}],
    }))
    .unwrap();
    let got = extract_page(&spec, &html, &url);
    assert_eq!(
        serde_json::to_value(&got.items[0].values[0]).unwrap(),
        s.values[0]
    );
}

#[test]
fn refusals_say_what_to_do() {
    let (html, url) = design("shop-grid");
    let doc = Html::parse_document(&html);
    let main = select(&doc, "main li.product");
    let one = detect::generalise(&doc, &url, &[main[0]], &[]).unwrap_err();
    assert_eq!(one, DetectError::TooFewExamples(1));
    assert_eq!(
        one.to_string(),
        "pick at least two examples of the items you want (got 1)"
    );
    // The same element twice is one example.
    assert_eq!(
        detect::generalise(&doc, &url, &[main[0], main[0]], &[]).unwrap_err(),
        DetectError::TooFewExamples(1)
    );
    assert_eq!(
        detect::generalise(&doc, &url, &[main[0], main[1]], &[main[1]]).unwrap_err(),
        DetectError::ExampleExcluded
    );
    let price = select(&doc, "main .product__price")[0];
    let err = detect::propose_field(&doc, &url, "li[", price).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the item selector \"li[\" is not valid CSS"),
        "{err}"
    );
    let logo = select(&doc, "a.logo")[0];
    let err = detect::propose_field(&doc, &url, "#content li.product", logo).unwrap_err();
    assert!(matches!(err, DetectError::NotInItem(_)), "{err}");
    let (html, url) = design("recipes");
    let doc = Html::parse_document(&html);
    let star = select(&doc, "article.recipe-card span.star")[0];
    let err = detect::propose_field(&doc, &url, "article.recipe-card", star).unwrap_err();
    assert_eq!(err, DetectError::NoValue);
}
