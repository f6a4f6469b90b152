//! Detection measured on a corpus of page designs (`tests/detect_corpus/`, written by its
//! `generate.py` from the same data as each design's expected rows).
//!
//! Per design: whether the first candidate is the list a person wants (every item, no extra
//! one), how many of the values a person wants its fields hold, and whether its pagination
//! leads to the right page 2 (or, on a design without one, proposes none). The test prints the
//! table and holds detection to its bars: the first candidate right on at least 90% of the
//! designs, at least 90% of the wanted values covered, pagination right on every design that
//! has one. It also checks every candidate of every page: its job document validates and the
//! engine's extraction gives exactly the count and sample rows shown.

use std::path::{Path, PathBuf};

use grandma_engine::JobSpec;
use grandma_engine::detect::{self, Candidate, Detection, PaginationProposal};
use grandma_engine::extract::extract_page;
use grandma_engine::fetch::charset;
use grandma_engine::paginate;
use serde_json::{Map, Value};
use url::Url;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/detect_corpus")
}

/// One design of the corpus.
struct Design {
    name: String,
    /// The page decoded through the engine's charset code, as a fetch would decode it.
    html: String,
    url: Url,
    key: String,
    rows: Vec<Map<String, Value>>,
    next: Option<String>,
}

fn designs() -> Vec<Design> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("the corpus folder")
        .map(|e| e.expect("a corpus entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let bytes = std::fs::read(dir.join("page.html")).expect("page.html");
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("expected.json")).expect("expected.json"),
        )
        .expect("expected.json is JSON");
        out.push(Design {
            name: dir.file_name().unwrap().to_string_lossy().into_owned(),
            html: charset::decode(bytes, None),
            url: Url::parse(expected["url"].as_str().unwrap()).unwrap(),
            key: expected["key"].as_str().unwrap().to_owned(),
            rows: expected["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_object().unwrap().clone())
                .collect(),
            next: expected["pagination"]["next"].as_str().map(str::to_owned),
        });
    }
    assert!(out.len() >= 15, "the corpus has {} designs", out.len());
    out
}

fn detect_design(d: &Design) -> Detection {
    let doc = scraper::Html::parse_document(&d.html);
    detect::detect(&doc, &d.url)
}

/// Every row the candidate's job extracts from the page, as JSON objects.
fn all_rows(c: &Candidate, d: &Design) -> Vec<Map<String, Value>> {
    let spec = JobSpec::from_value(&c.job).expect("the job document validates");
    let columns = spec.columns();
    extract_page(&spec, &d.html, &d.url)
        .items
        .iter()
        .map(|i| i.to_json_object(&columns))
        .collect()
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => {
            x.split_whitespace().collect::<Vec<_>>() == y.split_whitespace().collect::<Vec<_>>()
        }
        _ => a == b,
    }
}

/// Share of the wanted values (non-null cells of the expected rows) that the extracted row with
/// the same key holds in some column.
fn coverage(got: &[Map<String, Value>], d: &Design) -> (usize, usize, Vec<String>) {
    let (mut found, mut wanted) = (0, 0);
    let mut missed = Vec::new();
    for (i, want) in d.rows.iter().enumerate() {
        let key = &want[&d.key];
        let row = got
            .get(i)
            .filter(|r| r.values().any(|v| same(v, key)))
            .or_else(|| got.iter().find(|r| r.values().any(|v| same(v, key))));
        for (column, value) in want.iter().filter(|(_, v)| !v.is_null()) {
            wanted += 1;
            if row.is_some_and(|r| r.values().any(|v| same(v, value))) {
                found += 1;
            } else if missed.len() < 4 {
                missed.push(format!("row {i} {column}={value}"));
            }
        }
    }
    (found, wanted, missed)
}

/// Where the candidate's pagination leads from this page, by the engine's own rules.
fn page_two(c: &Candidate, d: &Design) -> Option<String> {
    match c.pagination.as_ref()? {
        PaginationProposal::NextButton { .. } => {
            let spec = JobSpec::from_value(&c.job).unwrap();
            extract_page(&spec, &d.html, &d.url)
                .next_url
                .map(|u| u.to_string())
        }
        PaginationProposal::UrlPattern { url_pattern, .. } => Some(
            paginate::page_url(&d.url, url_pattern, 2)
                .unwrap()
                .to_string(),
        ),
    }
}

#[test]
fn corpus_bars() {
    let designs = designs();
    let mut right = 0;
    let (mut found_all, mut wanted_all) = (0, 0);
    let mut pagination_right = 0;
    let mut with_pagination = 0;
    let mut failures = Vec::new();
    println!(
        "\n{:<18} {:>6} {:>10} {:>9} {:>10}  first candidate",
        "design", "right", "coverage", "rows", "paging"
    );
    for d in &designs {
        let detection = detect_design(d);
        let Some(first) = detection.candidates.first() else {
            println!(
                "{:<18} {:>6} {:>10} {:>9} {:>10}  (none)",
                d.name, "no", "0%", "0", "-"
            );
            failures.push(format!("{}: no candidate", d.name));
            with_pagination += usize::from(d.next.is_some());
            wanted_all += d
                .rows
                .iter()
                .map(|r| r.values().filter(|v| !v.is_null()).count())
                .sum::<usize>();
            continue;
        };
        let rows = all_rows(first, d);
        let is_right = rows.len() == d.rows.len()
            && rows
                .iter()
                .zip(&d.rows)
                .all(|(got, want)| got.values().any(|v| same(v, &want[&d.key])));
        let (found, wanted, missed) = coverage(&rows, d);
        let got_next = page_two(first, d);
        let paging_right = got_next == d.next;
        right += usize::from(is_right);
        found_all += found;
        wanted_all += wanted;
        if d.next.is_some() {
            with_pagination += 1;
            pagination_right += usize::from(paging_right);
        }
        if !is_right || !paging_right || found < wanted {
            failures.push(format!(
                "{}: {} rows (want {}), coverage {found}/{wanted} (missed {missed:?}), next {got_next:?} (want {:?})\n  {}\n  fields {:?}\n  first row {:?}",
                d.name,
                rows.len(),
                d.rows.len(),
                d.next,
                first.item_selector,
                first.fields.iter().map(|f| format!("{}={}@{}", f.name, f.selector, f.attribute)).collect::<Vec<_>>(),
                rows.first(),
            ));
        }
        println!(
            "{:<18} {:>6} {:>9.0}% {:>9} {:>10}  {}",
            d.name,
            if is_right { "yes" } else { "NO" },
            100.0 * found as f64 / wanted.max(1) as f64,
            format!("{}/{}", rows.len(), d.rows.len()),
            match (&d.next, paging_right) {
                (None, true) => "none ok",
                (None, false) => "EXTRA",
                (Some(_), true) => "yes",
                (Some(_), false) => "NO",
            },
            first.item_selector
        );
    }
    let n = designs.len();
    println!(
        "\nfirst candidate right on {right}/{n} designs ({:.0}%), values covered {found_all}/{wanted_all} ({:.1}%), pagination right on {pagination_right}/{with_pagination} designs that have one",
        100.0 * right as f64 / n as f64,
        100.0 * found_all as f64 / wanted_all as f64
    );
    for f in &failures {
        println!("\n{f}");
    }
    assert!(
        right * 10 >= n * 9,
        "first candidate right on {right}/{n} designs"
    );
    assert!(
        found_all * 10 >= wanted_all * 9,
        "values covered: {found_all}/{wanted_all}"
    );
    assert_eq!(
        pagination_right, with_pagination,
        "pagination right on {pagination_right}/{with_pagination} designs"
    );
}

#[test]
fn every_candidate_is_a_job_that_extracts_its_sample() {
    for d in designs() {
        let detection = detect_design(&d);
        assert!(!detection.candidates.is_empty(), "{}: no candidate", d.name);
        for (i, c) in detection.candidates.iter().enumerate() {
            let what = format!("{} candidate #{} ({})", d.name, i + 1, c.item_selector);
            let spec = JobSpec::from_value(&c.job)
                .unwrap_or_else(|e| panic!("{what}: the job document does not validate: {e}"));
            // The document also survives YAML, as `grandma detect --write` saves it.
            let yaml = serde_yaml_ng::to_string(&c.job).unwrap();
            JobSpec::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{what}: as YAML: {e}"));
            let columns = spec.columns();
            let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
            assert_eq!(columns, names, "{what}: field names");
            let extracted = extract_page(&spec, &d.html, &d.url);
            assert_eq!(extracted.items.len(), c.count, "{what}: count");
            let rows: Vec<Map<String, Value>> = extracted
                .items
                .iter()
                .take(c.sample.len())
                .map(|item| item.to_json_object(&columns))
                .collect();
            assert_eq!(rows, c.sample, "{what}: sample rows");
            assert_eq!(c.sample.len(), c.count.min(5), "{what}: sample size");
            for (f, field) in c.fields.iter().enumerate() {
                let filled = extracted
                    .items
                    .iter()
                    .filter(|item| !item.values[f].is_null())
                    .count();
                assert_eq!(
                    field.filled, filled,
                    "{what}: filled count of {}",
                    field.name
                );
                assert!(
                    !field.selector.contains(detect::NODE_ID_ATTR),
                    "{what}: {}",
                    field.selector
                );
            }
            assert!(!c.item_selector.contains(detect::NODE_ID_ATTR));
        }
    }
}

/// A page built to make detection slow: 16,000 nested elements, then a small list. The nesting
/// is cut where browsers cut it (no recursion, no quadratic walk), the list is still found,
/// and a warning says what was left out. (Its speed is measured in `benches/detect.rs`.)
#[test]
fn deep_nesting_is_cut_and_the_list_still_found() {
    let mut html = "<div><span>x</span>".repeat(16_000);
    html.push_str(&"</div>".repeat(16_000));
    html.push_str("<main><ul class=\"news\">");
    for i in 0..4 {
        html.push_str(&format!(
            "<li><a href=\"/n/{i}\">News number {i}</a> <time>{i} May</time></li>"
        ));
    }
    html.push_str("</ul></main>");
    let url = Url::parse("https://deep.example/").unwrap();
    let found = detect::detect(&scraper::Html::parse_document(&html), &url);
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.contains("nested more than 256 elements deep")),
        "{:?}",
        found.warnings
    );
    let first = &found.candidates[0];
    assert_eq!(first.count, 4, "{first:#?}");
    assert_eq!(first.sample[3]["link"], "https://deep.example/n/3");
}

/// Half a million elements: only the first 200,000 are searched (a warning says so), and the
/// list found is checked by extraction over the whole page.
#[test]
fn half_a_million_elements_are_searched_up_to_the_cap() {
    let mut html = String::from("<table>");
    for i in 0..100_000 {
        html.push_str(&format!(
            "<tr><td>{i}</td><td>a{}</td><td>b</td><td>c</td></tr>",
            i % 7
        ));
    }
    html.push_str("</table>");
    let url = Url::parse("https://wide.example/").unwrap();
    let doc = scraper::Html::parse_document(&html);
    assert!(doc.tree.nodes().filter(|n| n.value().is_element()).count() >= 500_000);
    let found = detect::detect(&doc, &url);
    assert!(
        found
            .warnings
            .iter()
            .any(|w| w.contains("only the first 200000 were searched")),
        "{:?}",
        found.warnings
    );
    let first = &found.candidates[0];
    assert_eq!(first.count, 100_000);
    assert_eq!(first.sample[2].values().next(), Some(&Value::from("2")));
}
