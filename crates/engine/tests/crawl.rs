//! The crawl loop end to end against a fixture site on 127.0.0.1: pagination of both kinds,
//! limits, robots.txt, politeness, retries, the network guard, charsets, markup, cancellation.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use grandma_engine::crawl::{
    Checkpoint, Control, Crawl, Event, PageOutput, PageSink, RunOutcome, RunStatus, SinkError,
    fetch_options,
};
use grandma_engine::fetch::HttpFetcher;
use grandma_engine::guard::NetworkGuard;
use grandma_engine::{FieldValue, JobSpec};
use support::{Fixture, PAGES, PER_PAGE, expected_titles, serve};
use tokio_util::sync::CancellationToken;

const ROBOTS: &str = "User-agent: *\nDisallow: /private/\n";

/// A job over the fixture catalogue; `extra` is YAML appended at the top level (a
/// `retry_count` there replaces the default one).
fn job(start: &str, extra: &str) -> Arc<JobSpec> {
    let retries = if extra.contains("retry_count:") {
        ""
    } else {
        "retry_count: 3"
    };
    let yaml = format!(
        r#"
name: fixture catalogue
start_url: "{start}"
item_selector: article.product
fields:
  - {{name: title, selector: "h3 a", attribute: custom, custom_attribute: title, required: true}}
  - {{name: price, selector: p.price}}
  - {{name: url, selector: "h3 a", attribute: href}}
  - {{name: image, selector: img, attribute: src}}
  - {{name: tags, selector: span.tag, multiple: true}}
min_delay_ms: 0
max_delay_ms: 0
{retries}
{extra}
"#
    );
    Arc::new(JobSpec::from_yaml_str(&yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}")))
}

fn guard() -> NetworkGuard {
    NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().unwrap()])
}

#[derive(Default)]
struct Collect {
    pages: Vec<PageOutput>,
    /// Ask to stop after this many pages.
    cancel_after: Option<usize>,
    /// Fail when asked to save this page.
    fail_on: Option<u32>,
}

impl PageSink for Collect {
    async fn save(&mut self, page: PageOutput) -> Result<Control, SinkError> {
        if self.fail_on == Some(page.page) {
            return Err("disk full".into());
        }
        self.pages.push(page);
        Ok(match self.cancel_after {
            Some(n) if self.pages.len() >= n => Control::Cancel,
            _ => Control::Continue,
        })
    }
}

impl Collect {
    fn titles(&self) -> Vec<String> {
        self.pages
            .iter()
            .flat_map(|p| &p.items)
            .map(|i| match &i.values[0] {
                FieldValue::Text(t) => t.clone(),
                other => panic!("title is {other:?}"),
            })
            .collect()
    }
}

struct Run {
    outcome: RunOutcome,
    sink: Collect,
    events: Vec<Event>,
}

async fn run_with(spec: Arc<JobSpec>, sink: Collect, resume: Option<Checkpoint>) -> Run {
    let fetcher = HttpFetcher::new(guard(), fetch_options(&spec))
        .unwrap()
        .with_retry_base(Duration::from_millis(20));
    let events = Mutex::new(Vec::new());
    let record = |e: &Event| events.lock().unwrap().push(e.clone());
    let mut sink = sink;
    let mut crawl = Crawl::new(spec, Arc::new(fetcher), &record, CancellationToken::new());
    if let Some(c) = resume {
        crawl = crawl.resume_from(c);
    }
    let outcome = crawl.run(&mut sink).await;
    let events = events.into_inner().unwrap();
    Run {
        outcome,
        sink,
        events,
    }
}

async fn run(spec: Arc<JobSpec>) -> Run {
    run_with(spec, Collect::default(), None).await
}

fn site_url(f: &Fixture, path: &str) -> String {
    f.url(path)
}

#[tokio::test]
async fn next_button_follows_every_page_in_order() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &site_url(&f, "/catalogue/page-1.html"),
        "pagination: {type: next_button, next_button_selector: li.next a}",
    );
    let r = run(spec).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(r.outcome.pages_scraped, PAGES);
    assert_eq!(r.outcome.total_items, u64::from(PAGES * PER_PAGE));
    assert_eq!(r.sink.titles(), expected_titles(1..=PAGES));
    assert!(r.outcome.warnings.is_empty(), "{:?}", r.outcome.warnings);

    // Field semantics: collapsed text, absolute URLs, lists.
    let first = &r.sink.pages[0].items[0];
    assert_eq!(first.values[1], FieldValue::from("£1.10"));
    assert_eq!(
        first.values[2],
        FieldValue::Text(f.url("/catalogue/product-1-1.html"))
    );
    assert_eq!(first.values[3], FieldValue::Text(f.url("/media/1-1.jpg")));
    assert_eq!(
        first.values[4],
        FieldValue::List(vec!["t1".into(), "t1".into()])
    );

    // robots.txt once, then each page once, in order.
    let paths = f.hits.paths();
    assert_eq!(paths[0], "/robots.txt");
    let pages: Vec<String> = (1..=PAGES)
        .map(|n| format!("/catalogue/page-{n}.html"))
        .collect();
    assert_eq!(paths[1..], pages[..]);

    // Events: started, then fetching/extracted per page, then completed.
    assert!(matches!(r.events.first(), Some(Event::Started { .. })));
    assert!(matches!(
        r.events.last(),
        Some(Event::Completed {
            total_items: 15,
            pages_scraped: 5,
            ..
        })
    ));
    let extracted: Vec<(u32, usize, u64)> = r
        .events
        .iter()
        .filter_map(|e| match e {
            Event::Extracted {
                page,
                items_on_page,
                total_items,
            } => Some((*page, *items_on_page, *total_items)),
            _ => None,
        })
        .collect();
    assert_eq!(
        extracted,
        vec![(1, 3, 3), (2, 3, 6), (3, 3, 9), (4, 3, 12), (5, 3, 15)]
    );
    let fetching = r
        .events
        .iter()
        .filter(|e| matches!(e, Event::Fetching { .. }))
        .count();
    assert_eq!(fetching, 5);
    // Checkpoints point at the next page.
    assert_eq!(r.sink.pages[1].checkpoint.next_page, 3);
    assert_eq!(
        r.sink.pages[1]
            .checkpoint
            .next_url
            .as_ref()
            .map(|u| u.as_str()),
        Some(f.url("/catalogue/page-3.html").as_str())
    );
    assert_eq!(r.sink.pages[4].checkpoint.next_url, None);
}

#[tokio::test]
async fn url_pattern_fetches_concurrently_in_page_order_and_stops_at_404() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: url_pattern, url_pattern: 'page-{page}.html'}\nconcurrent_requests: 4",
    );
    let r = run(spec).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(r.sink.titles(), expected_titles(1..=PAGES));
    assert_eq!(r.outcome.pages_scraped, PAGES);
    assert_eq!(r.outcome.pages_failed, 0);
    assert!(r.outcome.warnings.is_empty(), "{:?}", r.outcome.warnings);
    assert_eq!(f.hits.count("/catalogue/page-6.html"), 1);
    let order: Vec<u32> = r.sink.pages.iter().map(|p| p.page).collect();
    assert_eq!(order, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn query_pattern_keeps_other_parameters_and_stops_on_an_empty_page() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/list?cat=books"),
        "pagination: {type: url_pattern, url_pattern: '&page={page}'}\nconcurrent_requests: 2",
    );
    let r = run(spec).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(r.sink.titles(), expected_titles(1..=PAGES));
    assert_eq!(f.hits.count("/list?cat=books&page=2"), 1);
    assert_eq!(f.hits.count("/list?cat=books&page=6"), 1);
    assert_eq!(f.hits.count("/list?cat=books&page=9"), 0);
}

#[tokio::test]
async fn max_pages_and_max_items_limit_the_run() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: next_button, next_button_selector: li.next a}\nmax_pages: 2",
    );
    let r = run(spec).await;
    assert_eq!(r.sink.titles(), expected_titles(1..=2));
    assert_eq!(f.hits.count("/catalogue/page-3.html"), 0);

    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: url_pattern, url_pattern: 'page-{page}.html'}\nmax_items: 4",
    );
    let r = run(spec).await;
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert_eq!(r.outcome.total_items, 4);
    assert_eq!(r.sink.titles(), expected_titles(1..=2)[..4].to_vec());
}

#[tokio::test]
async fn robots_disallowed_pages_are_skipped_never_fetched() {
    let f = serve(ROBOTS).await;
    let spec = job(&f.url("/private/page-1.html"), "");
    let r = run(spec).await;
    assert_eq!(f.hits.count("/private/page-1.html"), 0);
    assert_eq!(r.outcome.total_items, 0);
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert!(
        r.outcome.warnings[0].contains("disallowed by robots.txt"),
        "{:?}",
        r.outcome.warnings
    );

    // With respect_robots_txt off the page is fetched, and robots.txt is not.
    let spec = job(&f.url("/private/page-1.html"), "respect_robots_txt: false");
    let r = run(spec).await;
    assert_eq!(r.outcome.total_items, 3);
    assert_eq!(f.hits.count("/private/page-1.html"), 1);
    assert_eq!(f.hits.count("/robots.txt"), 1);
}

#[tokio::test]
async fn crawl_delay_spaces_requests_to_the_host() {
    let f = serve("User-agent: *\nCrawl-delay: 1\n").await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: url_pattern, url_pattern: 'page-{page}.html'}\nmax_pages: 3\nconcurrent_requests: 3",
    );
    let r = run(spec).await;
    assert_eq!(r.outcome.total_items, 9);
    let times = f.hits.times("/catalogue/");
    assert_eq!(times.len(), 3);
    // Measured where the requests arrive, so a slow first connection on a loaded machine can
    // shorten a gap a little; without the delay the gaps would be a few milliseconds.
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(gap >= Duration::from_millis(800), "gap {gap:?}");
    }
}

#[tokio::test]
async fn delays_between_requests_stay_within_bounds() {
    let f = serve(ROBOTS).await;
    let spec = Arc::new(
        JobSpec::from_value(&{
            let mut v = job(&f.url("/catalogue/page-1.html"), "").to_value();
            v["pagination"] =
                serde_json::json!({"type": "next_button", "next_button_selector": "li.next a"});
            v["max_pages"] = 3.into();
            v["min_delay_ms"] = 200.into();
            v["max_delay_ms"] = 300.into();
            v
        })
        .unwrap(),
    );
    run(spec).await;
    let times = f.hits.times("/catalogue/");
    assert_eq!(times.len(), 3);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        // Arrival times: some slack below the 200 ms floor and well above the 300 ms ceiling,
        // for a loaded machine; a missing or runaway delay is still far outside.
        assert!(gap >= Duration::from_millis(150), "gap {gap:?}");
        assert!(gap < Duration::from_millis(1500), "gap {gap:?}");
    }
}

#[tokio::test]
async fn flaky_pages_are_retried() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/flaky/429"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(r.outcome.total_items, 3);
    assert_eq!(f.hits.count("/flaky/429"), 2);
    let t = f.hits.times("/flaky/429");
    assert!(
        t[1] - t[0] >= Duration::from_millis(800),
        "Retry-After honoured"
    );

    let r = run(job(&f.url("/flaky/503"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(f.hits.count("/flaky/503"), 3);
}

#[tokio::test]
async fn a_run_whose_pages_all_failed_is_failed() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/flaky/500"), "retry_count: 1")).await;
    assert_eq!(r.outcome.status, RunStatus::Failed);
    assert_eq!(r.outcome.pages_failed, 1);
    assert_eq!(f.hits.count("/flaky/500"), 2);
    let error = r.outcome.error.unwrap();
    assert!(error.starts_with("every page failed"), "{error}");
    assert!(error.contains("500"), "{error}");
    assert!(matches!(r.events.last(), Some(Event::Failed { .. })));
}

#[tokio::test]
async fn a_redirect_to_a_private_address_is_refused() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/redirect-private"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Failed);
    let error = r.outcome.error.unwrap();
    assert!(error.contains("10.0.0.1"), "{error}");
}

#[tokio::test]
async fn redirects_are_followed_and_links_resolve_against_the_final_url() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/redirect-home"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(
        r.sink.pages[0].items[0].values[2],
        FieldValue::Text(f.url("/catalogue/product-1-1.html"))
    );
}

#[tokio::test]
async fn non_utf8_pages_are_decoded() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/latin1"), "")).await;
    assert_eq!(r.sink.titles(), vec!["Crème brûlée — 5€".to_string()]);
    let r = run(job(&f.url("/meta-charset"), "")).await;
    assert_eq!(r.sink.titles(), vec!["日本語の本".to_string()]);
    assert_eq!(
        r.sink.pages[0].items[0].values[1],
        FieldValue::from("￥500")
    );
}

#[tokio::test]
async fn malformed_markup_is_read_as_a_browser_would() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/malformed"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert_eq!(r.sink.titles(), vec!["One", "Two", "Three"]);
    let prices: Vec<FieldValue> = r.sink.pages[0]
        .items
        .iter()
        .map(|i| i.values[1].clone())
        .collect();
    assert_eq!(prices[0], FieldValue::from("£10"));
}

#[tokio::test]
async fn an_oversized_page_fails_cleanly() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/huge"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Failed);
    let error = r.outcome.error.unwrap();
    assert!(
        error.contains("too large") || error.contains("limit"),
        "{error}"
    );
}

#[tokio::test]
async fn a_page_without_items_completes_with_a_warning() {
    let f = serve(ROBOTS).await;
    let r = run(job(&f.url("/empty"), "")).await;
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert_eq!(r.outcome.total_items, 0);
    assert_eq!(r.outcome.pages_scraped, 1);
    assert!(
        r.outcome.warnings[0].contains("matched nothing"),
        "{:?}",
        r.outcome.warnings
    );
}

#[tokio::test]
async fn a_next_link_to_a_visited_page_ends_the_chain() {
    let f = serve(ROBOTS).await;
    let r = run(job(
        &f.url("/loop"),
        "pagination: {type: next_button, next_button_selector: a.again}",
    ))
    .await;
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert_eq!(r.outcome.pages_scraped, 1);
    assert_eq!(f.hits.count("/loop"), 1);
    assert!(r.outcome.warnings[0].contains("already visited"));
}

#[tokio::test]
async fn cancellation_stops_within_one_page() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: next_button, next_button_selector: li.next a}",
    );
    let sink = Collect {
        cancel_after: Some(2),
        ..Collect::default()
    };
    let r = run_with(spec, sink, None).await;
    assert_eq!(r.outcome.status, RunStatus::Cancelled);
    assert_eq!(r.outcome.pages_scraped, 2);
    assert_eq!(r.sink.titles(), expected_titles(1..=2));
    assert_eq!(f.hits.count("/catalogue/page-3.html"), 0);

    // The token works too, from outside the sink.
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: url_pattern, url_pattern: 'page-{page}.html'}",
    );
    let fetcher = HttpFetcher::new(guard(), fetch_options(&spec)).unwrap();
    let token = CancellationToken::new();
    let cancel = token.clone();
    let on_event = move |e: &Event| {
        if matches!(e, Event::Extracted { page: 1, .. }) {
            cancel.cancel();
        }
    };
    let mut sink = Collect::default();
    let outcome = Crawl::new(spec, Arc::new(fetcher), &on_event, token)
        .run(&mut sink)
        .await;
    assert_eq!(outcome.status, RunStatus::Cancelled);
    assert_eq!(outcome.pages_scraped, 1);
}

#[tokio::test]
async fn a_failing_sink_fails_the_run() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: next_button, next_button_selector: li.next a}",
    );
    let sink = Collect {
        fail_on: Some(2),
        ..Collect::default()
    };
    let r = run_with(spec, sink, None).await;
    assert_eq!(r.outcome.status, RunStatus::Failed);
    assert_eq!(
        r.outcome.error.as_deref(),
        Some("could not save items: disk full")
    );
    assert_eq!(r.sink.pages.len(), 1);
}

#[tokio::test]
async fn a_run_resumes_from_its_checkpoint() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: url_pattern, url_pattern: 'page-{page}.html'}",
    );
    let checkpoint = Checkpoint {
        next_page: 4,
        next_url: None,
        total_items: 9,
        pages_scraped: 3,
        items_dropped: 0,
        live: None,
    };
    let r = run_with(spec, Collect::default(), Some(checkpoint)).await;
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert_eq!(r.sink.titles(), expected_titles(4..=5));
    assert_eq!(r.outcome.total_items, 15);
    assert_eq!(r.outcome.pages_scraped, 5);
    assert_eq!(f.hits.count("/catalogue/page-1.html"), 0);

    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: next_button, next_button_selector: li.next a}",
    );
    let checkpoint = Checkpoint {
        next_page: 5,
        next_url: Some(f.url("/catalogue/page-5.html").parse().unwrap()),
        total_items: 12,
        pages_scraped: 4,
        items_dropped: 0,
        live: None,
    };
    let r = run_with(spec, Collect::default(), Some(checkpoint)).await;
    assert_eq!(r.sink.titles(), expected_titles(5..=5));
    assert_eq!(r.outcome.total_items, 15);
}

#[tokio::test]
async fn xpath_fields_are_relative_to_the_item_and_may_return_strings() {
    let f = serve(ROBOTS).await;
    let yaml = format!(
        r#"
name: xpath
start_url: "{}"
item_selector: "//article[@class='product']"
item_selector_type: xpath
fields:
  - {{name: title, selector: "//h3/a/@title", selector_type: xpath}}
  - {{name: url, selector: "//h3/a/@href", selector_type: xpath}}
  - {{name: tag_count, selector: "count(//span[@class='tag'])", selector_type: xpath}}
  - {{name: page_title, selector: "/html/head/title", selector_type: xpath}}
  - {{name: price, selector: "normalize-space(.//p)", selector_type: xpath}}
min_delay_ms: 0
max_delay_ms: 0
"#,
        f.url("/catalogue/page-2.html")
    );
    let spec = Arc::new(JobSpec::from_yaml_str(&yaml).unwrap());
    let r = run(spec).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    let items = &r.sink.pages[0].items;
    assert_eq!(items.len(), 3);
    assert_eq!(
        items[1].values,
        vec![
            FieldValue::from("Product 2-2 full title"),
            FieldValue::Text(f.url("/catalogue/product-2-2.html")),
            FieldValue::from("2"),
            FieldValue::from("Catalogue"),
            FieldValue::from("£2.20"),
        ]
    );
}

#[tokio::test]
async fn url_pattern_stops_when_a_page_redirects_to_one_already_fetched() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/redirlist"),
        "pagination: {type: url_pattern, url_pattern: '?page={page}'}",
    );
    let r = run(spec).await;
    assert_eq!(r.outcome.status, RunStatus::Completed, "{:?}", r.outcome);
    assert_eq!(r.sink.titles(), expected_titles(1..=2));
    assert!(
        r.outcome.warnings[0].contains("which was already fetched"),
        "{:?}",
        r.outcome.warnings
    );
}

#[tokio::test]
async fn url_pattern_stops_at_a_page_robots_txt_disallows() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: url_pattern, url_pattern: '/private/page-{page}.html'}\nconcurrent_requests: 4",
    );
    let r = run(spec).await;
    assert_eq!(r.sink.titles(), expected_titles(1..=1));
    assert_eq!(r.outcome.warnings.len(), 1, "{:?}", r.outcome.warnings);
    assert!(r.outcome.warnings[0].contains("disallowed by robots.txt"));
    assert_eq!(f.hits.count("/private/page-2.html"), 0);
}

#[tokio::test]
async fn a_checkpoint_after_max_items_leads_nowhere() {
    let f = serve(ROBOTS).await;
    let spec = job(
        &f.url("/catalogue/page-1.html"),
        "pagination: {type: next_button, next_button_selector: li.next a}\nmax_items: 3",
    );
    let r = run(Arc::clone(&spec)).await;
    assert_eq!(r.outcome.total_items, 3);
    let checkpoint = r.sink.pages.last().unwrap().checkpoint.clone();
    assert_eq!(checkpoint.next_url, None);
    // Resuming from it fetches nothing more.
    let before = f.hits.paths().len();
    let r = run_with(spec, Collect::default(), Some(checkpoint)).await;
    assert_eq!(r.outcome.status, RunStatus::Completed);
    assert_eq!(r.outcome.total_items, 3);
    assert_eq!(f.hits.paths().len(), before);
}

/// Another site that pages of the first redirect to: its robots.txt disallows `/private/` and
/// asks for a second between requests; it records when each page was asked for.
async fn other_site(hits: Arc<Mutex<Vec<(String, std::time::Instant)>>>) -> std::net::SocketAddr {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/robots.txt",
            get(|| async { "User-agent: *\nDisallow: /private/\nCrawl-delay: 1\n" }),
        )
        .fallback(move |uri: axum::http::Uri| {
            let hits = Arc::clone(&hits);
            async move {
                hits.lock()
                    .unwrap()
                    .push((uri.path().to_owned(), std::time::Instant::now()));
                axum::response::Html(
                    "<article class=product><h3><a title=T href=/x>T</a></h3></article>",
                )
            }
        });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    addr
}

#[tokio::test]
async fn a_redirect_to_another_site_follows_that_sites_robots_txt_and_delay() {
    use axum::routing::get;
    let hits = Arc::new(Mutex::new(Vec::new()));
    let other = other_site(Arc::clone(&hits)).await;
    let app = axum::Router::new()
        .route("/robots.txt", get(|| async { "User-agent: *\nAllow: /\n" }))
        .route(
            "/list",
            get(move |q: axum::extract::Query<std::collections::HashMap<String, String>>| async move {
                let page = q.get("page").cloned().unwrap_or_else(|| "1".into());
                let to = if page == "3" {
                    format!("http://{other}/private/{page}")
                } else {
                    format!("http://{other}/public/{page}")
                };
                axum::response::Redirect::temporary(&to)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let first = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let spec = job(
        &format!("http://{first}/list"),
        "pagination: {type: url_pattern, url_pattern: '?page={page}'}\nmax_pages: 3",
    );
    let r = run(spec).await;
    let hits = hits.lock().unwrap().clone();
    let paths: Vec<&str> = hits.iter().map(|(p, _)| p.as_str()).collect();
    // Page 3 leads to a page the other site's robots.txt disallows: never fetched.
    assert_eq!(paths, ["/public/1", "/public/2"], "{:?}", r.outcome);
    assert!(
        r.outcome
            .warnings
            .iter()
            .any(|w| w.contains("page 3") && w.contains("disallowed by robots.txt")),
        "{:?}",
        r.outcome.warnings
    );
    // Its Crawl-delay spaced the two hops it allowed.
    let gap = hits[1].1 - hits[0].1;
    assert!(gap >= Duration::from_millis(950), "{gap:?}");
}
