//! The browser fetcher with real Chromium: pages rendered by scripts, read through the guarded
//! proxy.

mod browser_support;

use browser_support::*;
use grandma_engine::fetch::browser::PageOptions;
use grandma_engine::fetch::{BrowserFetcher, FetchOptions, Fetcher};
use grandma_engine::spec::SelectorType;

fn page_options() -> PageOptions {
    PageOptions {
        items: Some((".product".into(), SelectorType::Css)),
        next: None,
        load_media: false,
    }
}

#[test]
fn a_page_built_by_a_script_comes_back_rendered() {
    run(async {
        let site = serve().await;
        let fetcher = BrowserFetcher::new(
            &pool(),
            guard_for(site.addr),
            FetchOptions::default(),
            page_options(),
        )
        .unwrap();
        let page = fetcher.fetch(&site.url("/list?page=2")).await.unwrap();
        assert_eq!(page.status, 200);
        assert!(page.body.contains("Item 6"), "{}", page.body);
        assert_eq!(page.body.matches("class=\"product\"").count(), 5);
        assert!(
            fetcher
                .proxy_stats()
                .connected
                .load(std::sync::atomic::Ordering::Relaxed)
                >= 1
        );
    })
}
