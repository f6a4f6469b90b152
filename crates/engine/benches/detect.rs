//! Detection and generalisation speed on a ~500 KB shop page built here (a header menu, a
//! sidebar of categories and bestsellers, a grid of products with descriptions, a footer,
//! inline scripts and styles, as shops serve them), and on two hostile pages (16,000 nested
//! elements; half a million elements).
//!
//! Targets: detection on the 500 KB page under 150 ms on one core, generalisation from two
//! examples under 20 ms. Run with `cargo bench -p grandma-engine --bench detect`.
//!
//! Each group runs twice: `detect_cpu` measures the CPU time of the benchmark's thread (Linux's
//! `/proc/thread-self/schedstat`), which is what "on one core" means and which other processes
//! on a busy machine do not inflate; `detect` measures wall-clock time as usual.

use std::fmt::Write;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use grandma_engine::detect;
use scraper::Html;
use url::Url;

/// A shop category page of about 500 KB.
fn shop_page() -> String {
    let mut s = String::with_capacity(520_000);
    s.push_str("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>All kettles – Shop</title>");
    // Inline styles and a state blob, as server-rendered shops ship them.
    s.push_str("<style>");
    for i in 0..400 {
        let _ = write!(
            s,
            ".c{i}{{margin:{i}px;padding:{}px;color:#{:06x}}}",
            i % 17,
            i * 997
        );
    }
    s.push_str("</style><script>window.__STATE__={\"products\":[");
    for i in 0..600 {
        let _ = write!(
            s,
            "{{\"id\":{i},\"name\":\"Product {i}\",\"price\":{}.99}},",
            i % 90
        );
    }
    s.push_str(
        "]};</script></head><body><header class=\"site-header\"><nav class=\"main-nav\"><ul>",
    );
    for i in 0..60 {
        let _ = write!(s, "<li><a href=\"/c/category-{i}\">Category {i}</a></li>");
    }
    s.push_str("</ul></nav></header><div class=\"page\"><aside class=\"sidebar\"><ul class=\"categories\">");
    for i in 0..40 {
        let _ = write!(
            s,
            "<li><a href=\"/c/sub-{i}\">Subcategory {i}</a> <span>({})</span></li>",
            i * 3
        );
    }
    s.push_str("</ul><ul class=\"products products--mini\">");
    for i in 0..6 {
        let _ = write!(
            s,
            "<li class=\"product\"><a href=\"/p/best-{i}\"><img src=\"/img/best-{i}.jpg\" alt=\"\">\
             <h3 class=\"product__name\">Bestseller {i}</h3></a><span class=\"product__price\">€{i}9.00</span></li>"
        );
    }
    s.push_str("</ul></aside><main id=\"content\"><h1>All kettles</h1><ul class=\"products\">");
    let mut i = 0;
    while s.len() < 480_000 {
        let _ = writeln!(
            s,
            "<li class=\"product{}\" data-id=\"{i}\">\
             <a class=\"product__link\" href=\"/p/product-{i}\"><img class=\"product__image\" src=\"/img/p/{i}.jpg\" \
             alt=\"Product number {i}\" loading=\"lazy\" width=\"300\" height=\"300\">\
             <h2 class=\"product__name\">Kettle model {i} with a long descriptive name</h2></a>\
             <p class=\"product__desc\">A {} litre kettle with a {} finish, boil-dry protection, a limescale filter \
             and a 360 degree base. Delivered in {} working days.</p>\
             <div class=\"product__prices\"><span class=\"product__price\">€{}.{:02}</span></div>\
             <div class=\"product__rating\" data-rating=\"{}.{}\"><span class=\"stars\"></span> ({} reviews)</div>\
             <button class=\"add-to-cart\" data-sku=\"K-{i}\">Add to cart</button></li>",
            if i % 7 == 0 { " product--sale" } else { "" },
            1 + i % 3,
            ["matt", "gloss", "steel", "copper"][i % 4],
            2 + i % 5,
            20 + i % 80,
            (i * 37) % 100,
            3 + i % 3,
            i % 10,
            i * 7 % 300,
        );
        if i % 25 == 12 {
            s.push_str("<li class=\"ad-slot\"><div class=\"ad-label\">Advertisement</div></li>");
        }
        i += 1;
    }
    s.push_str("</ul><nav class=\"pagination\"><a href=\"?page=2\" rel=\"next\">Next</a></nav></main></div><footer>");
    for c in 0..4 {
        s.push_str("<ul>");
        for l in 0..10 {
            let _ = write!(
                s,
                "<li><a href=\"/info/{c}-{l}\">Information page {c}-{l}</a></li>"
            );
        }
        s.push_str("</ul>");
    }
    s.push_str("</footer></body></html>");
    s
}

/// 16,000 nested elements, then a list.
fn deep_page() -> String {
    let mut s = "<div><span>x</span>".repeat(16_000);
    s.push_str(&"</div>".repeat(16_000));
    s
}

/// Half a million elements: 125,000 rows of four cells.
fn wide_page() -> String {
    let mut s = String::from("<table>");
    for i in 0..125_000 {
        let _ = write!(s, "<tr><td>{i}</td><td>a</td><td>b</td><td>c</td></tr>");
    }
    s.push_str("</table>");
    s
}

/// CPU time of the calling thread, in nanoseconds: the first field of its schedstat.
fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .expect("/proc/thread-self/schedstat (Linux) gives the thread's CPU time")
}

/// Criterion measurement of the benchmark thread's CPU time.
struct ThreadCpu;

impl Measurement for ThreadCpu {
    type Intermediate = u64;
    type Value = u64;

    fn start(&self) -> u64 {
        thread_cpu_ns()
    }

    fn end(&self, start: u64) -> u64 {
        thread_cpu_ns().saturating_sub(start)
    }

    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }

    fn zero(&self) -> u64 {
        0
    }

    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

/// Nanoseconds of CPU shown as milliseconds.
struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, _typical: f64, values: &mut [f64]) -> &'static str {
        for v in values {
            *v /= 1e6;
        }
        "ms (cpu)"
    }

    fn scale_throughputs(
        &self,
        _typical: f64,
        _t: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        self.scale_values(0.0, values)
    }

    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

fn bench_cpu(c: &mut Criterion<ThreadCpu>) {
    run(c, "detect_cpu");
}

fn bench(c: &mut Criterion) {
    run(c, "detect");
}

fn run<M: Measurement>(c: &mut Criterion<M>, name: &str) {
    let url = Url::parse("https://shop.example/c/kettles").unwrap();
    let html = shop_page();
    let doc = Html::parse_document(&html);

    // What is measured works: the product grid comes first, all of it.
    let found = detect::detect(&doc, &url);
    let first = &found.candidates[0];
    let products = html.matches("<li class=\"product").count() - 6;
    assert_eq!(first.count, products, "{first:#?}");
    assert!(
        first.sample[0]
            .values()
            .any(|v| v == "Kettle model 0 with a long descriptive name")
    );
    eprintln!(
        "500 KB page: {} bytes, {} products; first candidate {:?} with {} fields",
        html.len(),
        products,
        first.item_selector,
        first.fields.len()
    );
    let examples: Vec<_> = {
        let sel = scraper::Selector::parse("#content li.product").unwrap();
        doc.select(&sel).skip(3).step_by(40).take(2).collect()
    };
    let generalised = detect::generalise(&doc, &url, &examples, &[]).unwrap();
    assert_eq!(generalised.count, products);

    let mut group = c.benchmark_group(name);
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(10));
    group.bench_function("500kb_page", |b| {
        b.iter(|| detect::detect(black_box(&doc), &url))
    });
    group.bench_function("500kb_page_parse_and_detect", |b| {
        b.iter(|| detect::detect(&Html::parse_document(black_box(&html)), &url))
    });
    group.bench_function("generalise_two_examples", |b| {
        b.iter(|| detect::generalise(black_box(&doc), &url, &examples, &[]).unwrap())
    });

    let deep = Html::parse_document(&deep_page());
    group.bench_function("hostile_16000_deep", |b| {
        b.iter(|| detect::detect(black_box(&deep), &url))
    });
    let wide = Html::parse_document(&wide_page());
    group.bench_function("hostile_500k_elements", |b| {
        b.iter(|| detect::detect(black_box(&wide), &url))
    });
    group.finish();
}

criterion_group! {
    name = cpu;
    config = Criterion::default().with_measurement(ThreadCpu);
    targets = bench_cpu
}
criterion_group!(wall, bench);
criterion_main!(cpu, wall);
