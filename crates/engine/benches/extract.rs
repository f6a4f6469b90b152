//! Extraction on one page of the benchmark's fixture site (82.7 KB, 40 products × 6 fields):
//! html5ever parse alone, and parse + every field + the next link, as a run does per page.
//!
//! Run with `bench/extract.sh` (it makes sure the fixture site exists), or point
//! `GRANDMA_BENCH_PAGE` at any page of the fixture site.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use grandma_engine::JobSpec;
use grandma_engine::extract::extract_page;

const JOB: &str = include_str!("../../../examples/jobs/books-catalogue.yaml");

fn page() -> String {
    let path = std::env::var("GRANDMA_BENCH_PAGE").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../bench-work/site/catalogue/page-1.html"
        )
        .to_owned()
    });
    std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("cannot read the fixture page {path}: {e}; run bench/extract.sh, which generates it")
    })
}

fn bench(c: &mut Criterion) {
    let html = page();
    // The same job with next-button pagination, so the next link is extracted too.
    let mut doc = JobSpec::from_yaml_str(JOB).expect("valid job").to_value();
    doc["pagination"] =
        serde_json::json!({"type": "next_button", "next_button_selector": "li.next a"});
    let spec = JobSpec::from_value(&doc).expect("valid job");
    let url = url::Url::parse("http://127.0.0.1:8088/catalogue/page-1.html").expect("url");

    let check = extract_page(&spec, &html, &url);
    assert_eq!(check.items.len(), 40, "the fixture page has 40 products");
    assert!(check.next_url.is_some());

    let mut group = c.benchmark_group("fixture_page");
    group.bench_function("parse", |b| {
        b.iter(|| scraper::Html::parse_document(black_box(&html)))
    });
    group.bench_function("parse_and_extract", |b| {
        b.iter(|| extract_page(black_box(&spec), black_box(&html), &url))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
