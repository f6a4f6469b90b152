//! robots.txt through the real HttpFetcher: rules, Crawl-delay, one fetch per origin, and
//! what happens when the file is missing or broken.

mod fetch_support;

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use fetch_support::{Hits, fetcher, options, serve, url};
use grandma_engine::fetch::FetchOptions;
use grandma_engine::robots::RobotsCache;

const ROBOTS: &str =
    "User-agent: *\nDisallow: /private\nCrawl-delay: 1.5\n\nUser-agent: OtherBot\nDisallow: /\n";

fn robots_server(hits: Hits, status: StatusCode, body: &'static str) -> Router {
    Router::new()
        .route(
            "/robots.txt",
            get(move |State(hits): State<Hits>| async move {
                hits.hit();
                // Slow enough that concurrent callers overlap with the fetch in flight.
                tokio::time::sleep(Duration::from_millis(100)).await;
                (status, body)
            }),
        )
        .with_state(hits)
}

#[tokio::test]
async fn disallow_and_crawl_delay_are_read() {
    let hits = Hits::default();
    let addr = serve(robots_server(hits.clone(), StatusCode::OK, ROBOTS)).await;
    let f = fetcher(options());
    let cache = RobotsCache::new();
    let rules = cache.rules(&url(addr, "/anything"), &f).await;
    assert!(rules.allowed(&url(addr, "/public/page?x=1")));
    assert!(!rules.allowed(&url(addr, "/private/page")));
    assert_eq!(rules.crawl_delay(), Some(Duration::from_millis(1500)));
}

#[tokio::test]
async fn fetched_once_per_origin_even_with_concurrent_callers() {
    let hits_a = Hits::default();
    let hits_b = Hits::default();
    let a = serve(robots_server(hits_a.clone(), StatusCode::OK, ROBOTS)).await;
    let b = serve(robots_server(
        hits_b.clone(),
        StatusCode::OK,
        "User-agent: *\nDisallow:\n",
    ))
    .await;
    let f = fetcher(options());
    let cache = RobotsCache::new();

    let pages: Vec<_> = (0..20)
        .map(|i| url(if i % 2 == 0 { a } else { b }, &format!("/private/{i}")))
        .collect();
    let verdicts = futures::future::join_all(pages.iter().map(|page| {
        let (cache, f) = (&cache, &f);
        async move { cache.rules(page, f).await.allowed(page) }
    }))
    .await;
    for (i, allowed) in verdicts.into_iter().enumerate() {
        assert_eq!(allowed, i % 2 == 1, "page {i}");
    }
    // Later calls hit the cache too.
    cache.rules(&url(a, "/"), &f).await;
    assert_eq!(hits_a.get(), 1);
    assert_eq!(hits_b.get(), 1);
}

#[tokio::test]
async fn missing_robots_txt_allows_all() {
    // No /robots.txt route: axum answers 404.
    let addr = serve(Router::new().route("/", get(|| async { "home" }))).await;
    let f = fetcher(options());
    let rules = RobotsCache::new().rules(&url(addr, "/"), &f).await;
    assert!(rules.allowed(&url(addr, "/private")));
    assert_eq!(rules.crawl_delay(), None);
}

#[tokio::test]
async fn server_error_allows_all_and_is_cached() {
    let hits = Hits::default();
    let addr = serve(robots_server(
        hits.clone(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "User-agent: *\nDisallow: /\n",
    ))
    .await;
    let f = fetcher(FetchOptions {
        retry_count: 1,
        ..options()
    });
    let cache = RobotsCache::new();
    let rules = cache.rules(&url(addr, "/"), &f).await;
    assert!(rules.allowed(&url(addr, "/anything")));
    cache.rules(&url(addr, "/other"), &f).await;
    assert_eq!(hits.get(), 2, "one fetch with its one retry, then cached");
}
