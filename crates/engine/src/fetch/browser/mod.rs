//! [`BrowserFetcher`]: pages rendered by headless Chromium, every byte through the guard.
//!
//! - `locate`: finding the system's Chromium (nothing is downloaded, ever).
//! - `flags`: its command line, which closes every path to the network but the proxy.
//! - [`proxy`]: the guarded forward proxy in our own process, the browser's only way out.
//! - `pool`: [`BrowserPool`], one browser process per program, restarted when it dies or hangs,
//!   and the tab budget.
//! - `context`: one incognito browser context per run, behind a proxy with the run's guard.
//! - `tab`: loading a page, waiting until it is ready, reading it; `driver.js` is the in-page
//!   half.
//! - `live`: pagination inside a page that stays open (scrolling, clicking a next button).
//! - [`shell`]: telling an app shell (a page built by scripts) from a page with no matches.

mod context;
mod flags;
mod live;
mod locate;
mod pool;
pub mod proxy;
pub mod shell;
mod tab;

use std::time::Duration;

use url::Url;

use self::context::RunContext;
use self::tab::{PageRules, PageSelector, Snapshot, TabSettings};
use super::attempts::Attempts;
use super::breaker::CircuitBreaker;
use super::retry::Backoff;
use super::{BoxFuture, FetchError, FetchOptions, Fetcher, HttpFetcher, Page};
use crate::guard::NetworkGuard;
use crate::spec::SelectorType;

pub use live::{LivePage, NextClick, Scroll};
pub use locate::{CHROMIUM_ENV, ChromiumMissing, locate_chromium};
pub use pool::{BrowserOptions, BrowserPool, PoolStatus, default_tabs};
pub use proxy::ProxyStats;

/// Why the browser could not load or read a page. Messages are for the job's author.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BrowserError {
    #[error(transparent)]
    Missing(#[from] ChromiumMissing),
    /// The caller has no browser to offer (it did not start one).
    #[error("this job needs the browser, which is not available here: {0}")]
    NotAvailable(String),
    #[error("could not start Chromium ({path}): {message}")]
    Launch { path: String, message: String },
    #[error("could not start the browser's network proxy: {0}")]
    Proxy(#[source] std::io::Error),
    #[error("the browser stopped answering")]
    Hung,
    #[error("the browser process ended")]
    Gone,
    #[error("the page crashed the browser's renderer")]
    Crashed,
    /// A failed navigation, with Chromium's error code (`net::ERR_CONNECTION_REFUSED`).
    #[error("the browser could not load the page: {0}")]
    Navigation(String),
    /// The page did not start arriving within its timeout (reported as a fetch timeout).
    #[error("the page did not load in time")]
    NavigationTimeout,
    #[error("the page has {nodes} elements; the limit is {limit}")]
    TooManyNodes { nodes: u64, limit: u64 },
    #[error("the page loaded more than {limit} bytes")]
    TooMuchLoaded { limit: u64 },
    /// The document was replaced while a script ran in it (a navigation); the caller waits for
    /// the new one. Never leaves this module as a page's error.
    #[error("the page navigated while it was being read")]
    ContextReplaced,
    #[error("the browser failed: {0}")]
    Protocol(String),
}

impl BrowserError {
    pub(crate) fn from_cdp(error: chromiumoxide::error::CdpError) -> Self {
        use chromiumoxide::error::CdpError;
        match error {
            CdpError::Timeout => BrowserError::Hung,
            CdpError::Ws(_) | CdpError::ChannelSendError(_) | CdpError::NoResponse => {
                BrowserError::Gone
            }
            other => BrowserError::Protocol(other.to_string()),
        }
    }

    /// Whether another attempt (a new tab, a new browser) could succeed.
    pub fn is_retryable(&self) -> bool {
        match self {
            BrowserError::Hung
            | BrowserError::NavigationTimeout
            | BrowserError::Gone
            | BrowserError::Crashed
            | BrowserError::ContextReplaced
            | BrowserError::Protocol(_) => true,
            BrowserError::Navigation(code) => {
                !NAVIGATION_ERRORS_FOR_GOOD.iter().any(|c| code.contains(c))
            }
            // A browser that does not start now will not start a second later either.
            BrowserError::Missing(_)
            | BrowserError::Launch { .. }
            | BrowserError::NotAvailable(_)
            | BrowserError::Proxy(_)
            | BrowserError::TooManyNodes { .. }
            | BrowserError::TooMuchLoaded { .. } => false,
        }
    }
}

/// Navigation errors that another attempt would meet again.
const NAVIGATION_ERRORS_FOR_GOOD: [&str; 7] = [
    "ERR_ABORTED",
    "ERR_BLOCKED_BY_CLIENT",
    "ERR_BLOCKED_BY_RESPONSE",
    "ERR_INVALID_URL",
    "ERR_UNSAFE_PORT",
    "ERR_DISALLOWED_URL_SCHEME",
    "ERR_INVALID_RESPONSE",
];

/// Chromium's errors for a proxy that would not connect: the proxy's log says why.
const PROXY_ERRORS: [&str; 3] = [
    "ERR_TUNNEL_CONNECTION_FAILED",
    "ERR_PROXY_CONNECTION_FAILED",
    "ERR_EMPTY_RESPONSE",
];

/// How long the page must not change after the item selector first matches: lists that render
/// in a few steps are read whole, and a page that renders at once costs a frame or two.
const SETTLE: Duration = Duration::from_millis(30);
/// How often the page checks whether it is ready.
const POLL: Duration = Duration::from_millis(16);
/// Beyond a page's own timeout, for a browser slow to answer.
const GRACE: Duration = Duration::from_secs(15);

/// What a job asks of its pages in the browser.
#[derive(Debug, Clone, Default)]
pub struct PageOptions {
    /// The page is ready once this matches (else after `load` and a quiet period).
    pub items: Option<(String, SelectorType)>,
    /// Clicked for `next_button` pagination when the link is a script.
    pub next: Option<(String, SelectorType)>,
    /// Load images, audio/video and fonts (blocked otherwise).
    pub load_media: bool,
}

/// Fetches pages by rendering them in a tab of the pool's browser, in the run's own browser
/// context, all traffic through a guarded proxy with the run's guard. robots.txt and other
/// files that are not pages come over plain HTTP with the same guard.
///
/// One per run: dropping it closes the run's tabs and disposes of its browser context.
#[derive(Debug)]
pub struct BrowserFetcher {
    context: RunContext,
    http: HttpFetcher,
    guard: NetworkGuard,
    options: FetchOptions,
    rules: PageRules,
    backoff: Backoff,
    breaker: CircuitBreaker,
}

impl BrowserFetcher {
    pub fn new(
        pool: &BrowserPool,
        guard: NetworkGuard,
        options: FetchOptions,
        page: PageOptions,
    ) -> Result<Self, FetchError> {
        let http = HttpFetcher::new(guard.clone(), options.clone())?;
        let browser = pool.options();
        let selector = |s: (String, SelectorType)| PageSelector {
            selector: s.0,
            xpath: s.1 == SelectorType::XPath,
        };
        let rules = PageRules {
            items: page.items.map(selector),
            next: page.next.map(selector),
            settle_ms: SETTLE.as_millis() as u64,
            quiet_ms: browser.quiet_period.as_millis() as u64,
            poll_ms: POLL.as_millis() as u64,
            max_nodes: browser.max_dom_nodes,
            max_chars: options.max_body_bytes as u64,
        };
        let settings = TabSettings {
            load_media: page.load_media,
            user_agents: options.user_agents.clone(),
            max_page_bytes: browser.max_page_bytes,
        };
        let context = RunContext::new(pool.clone(), guard.clone(), settings)?;
        Ok(Self {
            context,
            http,
            guard,
            options,
            rules,
            backoff: Backoff::default(),
            breaker: CircuitBreaker::default(),
        })
    }

    /// The first retry waits up to `base`, then doubling (tests use a few milliseconds).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.backoff.base = base;
        self
    }

    /// What went through the run's proxy so far.
    pub fn proxy_stats(&self) -> &ProxyStats {
        self.context.proxy().stats()
    }

    pub fn pool(&self) -> &BrowserPool {
        self.context.pool()
    }

    fn attempts(&self) -> Attempts<'_> {
        Attempts {
            guard: &self.guard,
            breaker: &self.breaker,
            backoff: &self.backoff,
            retry_count: self.options.retry_count,
            timeout: self.options.timeout + GRACE,
        }
    }

    async fn fetch_page(&self, url: &Url) -> Result<Page, FetchError> {
        self.attempts()
            .run(url, || async {
                let (tab, page) = self.load_in_tab(url).await?;
                self.context.give_back(tab);
                Ok(page)
            })
            .await
    }

    /// One attempt: a tab, the page loaded in it and read.
    async fn load_in_tab(&self, url: &Url) -> Result<(tab::Tab, Page), FetchError> {
        let mut tab = self.context.tab().await?;
        let mark = self.context.proxy().failure_mark();
        let loaded = tab.load(url, &self.rules, self.options.timeout).await;
        let page = match loaded {
            Ok(snapshot) => self.page_from(url, mark, snapshot),
            Err(e) => Err(self.failed(&mut tab, url, mark, e).await),
        };
        match page {
            Ok(page) => Ok((tab, page)),
            Err(e) => {
                self.context.give_back(tab);
                Err(e)
            }
        }
    }

    /// Turns what the driver read into a [`Page`], or into the error it amounts to.
    fn page_from(&self, url: &Url, mark: u64, snapshot: Snapshot) -> Result<Page, FetchError> {
        match snapshot.too_large.as_deref() {
            Some("nodes") => {
                return Err(BrowserError::TooManyNodes {
                    nodes: snapshot.nodes,
                    limit: self.rules.max_nodes,
                }
                .into());
            }
            Some(_) => {
                return Err(FetchError::TooLarge {
                    limit: self.options.max_body_bytes,
                });
            }
            None => {}
        }
        // The page navigated itself somewhere the browser could not load (a script's
        // `location = ...` to a refused address): Chromium shows its error page.
        if snapshot.url.starts_with("chrome-error:") {
            let proxy = self.context.proxy();
            return Err(match proxy.failure_since(mark, None) {
                Some(failure) => proxy_failure(failure),
                None => {
                    BrowserError::Navigation("the page navigated to an error page".into()).into()
                }
            });
        }
        tracing::debug!(url = %url, ready = %snapshot.reason, "page read");
        let final_url = Url::parse(&snapshot.url).unwrap_or_else(|_| url.clone());
        if snapshot.status >= 400 {
            // The proxy answers a refused plain-HTTP request itself; the page is its message.
            if let Some(failure) = self
                .context
                .proxy()
                .failure_since(mark, final_url.host_str())
            {
                return Err(proxy_failure(failure));
            }
            return Err(FetchError::Status {
                status: snapshot.status,
                url: final_url,
                retry_after: None,
            });
        }
        let body = snapshot.html.unwrap_or_default();
        if body.len() > self.options.max_body_bytes {
            return Err(FetchError::TooLarge {
                limit: self.options.max_body_bytes,
            });
        }
        Ok(Page {
            url: url.clone(),
            final_url,
            status: if snapshot.status == 0 {
                200
            } else {
                snapshot.status
            },
            content_type: Some("text/html; charset=utf-8".into()),
            body,
            attempts: 0,
            validators: super::Validators::default(),
        })
    }

    /// The error a failed load amounts to; a tab (or browser) that stopped answering is
    /// retired so the next attempt gets a fresh one.
    async fn failed(
        &self,
        tab: &mut tab::Tab,
        url: &Url,
        mark: u64,
        error: BrowserError,
    ) -> FetchError {
        match error {
            BrowserError::Navigation(code) if PROXY_ERRORS.iter().any(|p| code.contains(p)) => {
                let proxy = self.context.proxy();
                match proxy
                    .failure_since(mark, url.host_str())
                    .or_else(|| proxy.failure_since(mark, None))
                {
                    Some(failure) => proxy_failure(failure),
                    None => BrowserError::Navigation(code).into(),
                }
            }
            BrowserError::NavigationTimeout => FetchError::Timeout {
                url: url.clone(),
                after: self.options.timeout,
            },
            BrowserError::Hung => {
                tab.mark_broken();
                if tab.process.version().await.is_err() {
                    self.context.pool().retire(&tab.process).await;
                }
                BrowserError::Hung.into()
            }
            other => other.into(),
        }
    }
}

fn proxy_failure(failure: proxy::Failure) -> FetchError {
    match failure.kind {
        proxy::FailureKind::Refused(e) => FetchError::Blocked(e),
        proxy::FailureKind::Unreachable(message) => BrowserError::Navigation(format!(
            "could not connect to {}:{}: {message}",
            failure.host, failure.port
        ))
        .into(),
    }
}

impl Fetcher for BrowserFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.fetch_page(url))
    }

    fn fetch_resource<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        self.http.fetch(url)
    }

    fn renders_javascript(&self) -> bool {
        true
    }

    fn render_from_now(&self) -> super::Escalation {
        super::Escalation::AlreadyRendering
    }

    fn browser(&self) -> Option<&BrowserFetcher> {
        Some(self)
    }
}
