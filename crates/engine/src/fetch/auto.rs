//! [`AutoFetcher`]: `fetcher_type: auto`. Plain HTTP first; once the crawl finds a page that
//! needs JavaScript (an app shell, see [`shell`](super::browser::shell)), the browser renders
//! every page of the rest of the run.
//!
//! The browser side (its proxy, its browser context) is built only at the switch: a run whose
//! pages need no browser costs what a `requests` run costs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use url::Url;

use super::browser::PageOptions;
use super::{
    BoxFuture, BrowserFetcher, BrowserPool, Escalation, FetchError, FetchOptions, Fetcher,
    HttpFetcher, Page,
};
use crate::guard::NetworkGuard;

#[derive(Debug)]
pub struct AutoFetcher {
    http: HttpFetcher,
    /// What the browser fetcher is built from; `Err` says why there is none.
    pool: Result<BrowserPool, String>,
    guard: NetworkGuard,
    options: FetchOptions,
    page: PageOptions,
    browser: OnceLock<Result<BrowserFetcher, String>>,
    rendering: AtomicBool,
}

impl AutoFetcher {
    /// `pool`: the program's browser, or why there is none (said in the run's warnings when a
    /// page needs it).
    pub fn new(
        http: HttpFetcher,
        pool: Result<BrowserPool, String>,
        guard: NetworkGuard,
        page: PageOptions,
    ) -> Self {
        Self {
            options: http.options().clone(),
            http,
            pool,
            guard,
            page,
            browser: OnceLock::new(),
            rendering: AtomicBool::new(false),
        }
    }

    fn rendering(&self) -> Option<&BrowserFetcher> {
        if self.rendering.load(Ordering::Acquire) {
            self.browser.get().and_then(|b| b.as_ref().ok())
        } else {
            None
        }
    }
}

impl Fetcher for AutoFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        match self.rendering() {
            Some(browser) => browser.fetch(url),
            None => self.http.fetch(url),
        }
    }

    fn fetch_through<'a>(
        &'a self,
        url: &'a Url,
        gate: &'a dyn super::HopGate,
    ) -> BoxFuture<'a, Result<Page, FetchError>> {
        match self.rendering() {
            Some(browser) => browser.fetch(url),
            None => self.http.fetch_through(url, gate),
        }
    }

    fn fetch_if_modified<'a>(
        &'a self,
        url: &'a Url,
        gate: &'a dyn super::HopGate,
        at: &'a Url,
        validators: &'a super::Validators,
    ) -> BoxFuture<'a, Result<Page, FetchError>> {
        match self.rendering() {
            Some(browser) => browser.fetch(url),
            None => self.http.fetch_if_modified(url, gate, at, validators),
        }
    }

    fn fetch_resource<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        self.http.fetch(url)
    }

    fn renders_javascript(&self) -> bool {
        self.rendering().is_some()
    }

    fn render_from_now(&self) -> Escalation {
        let pool = match &self.pool {
            Ok(pool) => pool,
            Err(why) => return Escalation::Unavailable(why.clone()),
        };
        let browser = self.browser.get_or_init(|| {
            let options = self.options.clone();
            BrowserFetcher::new(pool, self.guard.clone(), options, self.page.clone())
                .map_err(|e| e.to_string())
        });
        match browser {
            Err(why) => Escalation::Unavailable(why.clone()),
            Ok(_) if self.rendering.swap(true, Ordering::AcqRel) => Escalation::AlreadyRendering,
            Ok(_) => Escalation::Switched,
        }
    }

    fn browser(&self) -> Option<&BrowserFetcher> {
        self.rendering()
    }
}
