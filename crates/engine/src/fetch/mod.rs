//! Fetching pages: the [`Fetcher`] trait the crawl loop talks to, and its implementations:
//! [`HttpFetcher`] (reqwest + rustls behind the [network guard](crate::guard)),
//! [`BrowserFetcher`] (headless Chromium whose every request goes through a guarded proxy) and
//! [`AutoFetcher`] (plain HTTP until a page turns out to need JavaScript). [`for_job`] picks the
//! one a job asks for.
//!
//! Submodules hold the parts of one request's life: [`retry`] (which failures are retried and
//! how long to wait), [`breaker`] (the per-host circuit breaker), [`charset`] (bytes to text),
//! [`metrics`] (attempts and their durations by outcome); `attempts` runs them in order for
//! either fetcher.

mod attempts;
mod auto;
pub mod breaker;
pub mod browser;
pub mod charset;
mod choose;
pub mod cookies;
mod http;
pub mod metrics;
pub mod retry;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::guard::GuardError;

pub use auto::AutoFetcher;
pub use browser::{BrowserError, BrowserFetcher, BrowserOptions, BrowserPool};
pub use choose::{check_browser, for_job, for_pages, needs_browser, page_options};
pub use http::HttpFetcher;

/// The user agent sent when a job names none: honest about who we are.
pub const DEFAULT_USER_AGENT: &str = concat!("GrandmaScraper/", env!("CARGO_PKG_VERSION"));

/// Per-job fetch settings (`timeout_seconds`, `retry_count`, `user_agents`).
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// For one attempt: connecting, every redirect hop and reading the body.
    pub timeout: Duration,
    /// Retries after the first attempt, so `retry_count + 1` attempts at most.
    pub retry_count: u32,
    /// Rotated round-robin, one per attempt; empty means [`DEFAULT_USER_AGENT`].
    pub user_agents: Vec<String>,
    /// Decoded (decompressed) body bytes allowed per page.
    pub max_body_bytes: usize,
    pub max_redirects: usize,
}

impl Default for FetchOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
            retry_count: 3,
            user_agents: Vec::new(),
            max_body_bytes: 10 * 1024 * 1024,
            max_redirects: 10,
        }
    }
}

/// A fetched page, its body decoded to UTF-8.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL that was asked for.
    pub url: Url,
    /// Where the redirects ended; relative links resolve against this one.
    pub final_url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
    /// Attempts made, 1 when the first one succeeded.
    pub attempts: u32,
    /// The server's `ETag` and `Last-Modified` for it (plain HTTP only).
    pub validators: Validators,
}

impl Page {
    /// The server answered `304 Not Modified` to validators we sent: there is no body.
    pub fn not_modified(&self) -> bool {
        self.status == 304
    }
}

/// A page's cache validators as its server sent them, sent back by a later run so that an
/// unchanged page is answered `304 Not Modified` without its body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// Why a page could not be fetched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    #[error(transparent)]
    Blocked(#[from] GuardError),
    #[error("{url} did not answer within {}s", after.as_secs_f64())]
    Timeout { url: Url, after: Duration },
    #[error("could not fetch {url}: {source}")]
    Network {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered HTTP {status}")]
    Status {
        status: u16,
        url: Url,
        /// The server's `Retry-After`, already clamped; a floor for the next retry's wait.
        retry_after: Option<Duration>,
    },
    #[error("the page is larger than the {limit}-byte limit")]
    TooLarge { limit: usize },
    #[error("{host} is failing; requests to it are paused for a while (circuit breaker open)")]
    CircuitOpen { host: String },
    #[error("too many redirects")]
    TooManyRedirects,
    /// A redirect led to a page the robots.txt of its site disallows; not fetched.
    #[error("{url} is disallowed by robots.txt")]
    Disallowed { url: Url },
    #[error("{url} redirected to an invalid location {location:?}")]
    BadRedirect { url: Url, location: String },
    #[error("the fetch was cancelled")]
    Cancelled,
    #[error("invalid user agent {agent:?}")]
    InvalidUserAgent { agent: String },
    #[error("could not set up the HTTP client: {source}")]
    Client {
        #[source]
        source: reqwest::Error,
    },
    /// The browser could not load or read the page (or there is no browser).
    #[error(transparent)]
    Browser(#[from] BrowserError),
}

impl FetchError {
    /// The HTTP status when the server answered with a non-success one (404 → `Some(404)`).
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// A boxed, sendable future: what keeps [`Fetcher`] usable as `dyn Fetcher`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What asking a fetcher to render pages from now on came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escalation {
    /// Pages are rendered in the browser from now on.
    Switched,
    /// They already were (another page of the run asked first).
    AlreadyRendering,
    /// This fetcher cannot render pages; the reason, in words.
    Unavailable(String),
}

/// Something that turns a URL into a [`Page`]: plain HTTP, a browser, or both.
///
/// Only `fetch` is required; the rest describe what a browser adds, with defaults that fit a
/// fetcher without one.
pub trait Fetcher: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>>;

    /// Like [`Fetcher::fetch`], asking `gate` before following a redirect to another origin
    /// (its robots.txt, its politeness delay). A fetcher that does not follow redirects itself
    /// (the browser) fetches as `fetch` does.
    fn fetch_through<'a>(
        &'a self,
        url: &'a Url,
        gate: &'a dyn HopGate,
    ) -> BoxFuture<'a, Result<Page, FetchError>> {
        let _ = gate;
        self.fetch(url)
    }

    /// Like [`Fetcher::fetch_through`], sending `validators` (`If-None-Match`,
    /// `If-Modified-Since`) with the request to `at`, where an earlier run's redirects ended. A
    /// page unchanged since comes back with status 304 and no body ([`Page::not_modified`]).
    /// A fetcher that cannot ask conditionally (the browser) fetches the whole page.
    fn fetch_if_modified<'a>(
        &'a self,
        url: &'a Url,
        gate: &'a dyn HopGate,
        at: &'a Url,
        validators: &'a Validators,
    ) -> BoxFuture<'a, Result<Page, FetchError>> {
        let _ = (at, validators);
        self.fetch_through(url, gate)
    }

    /// Fetches a file that is not a page to render (robots.txt): its bytes as served.
    fn fetch_resource<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        self.fetch(url)
    }

    /// Whether pages come back with their scripts run.
    fn renders_javascript(&self) -> bool {
        false
    }

    /// For `auto`: render the rest of the run's pages in the browser.
    fn render_from_now(&self) -> Escalation {
        Escalation::Unavailable(
            "the job's fetcher_type is `requests`, which does not run scripts".into(),
        )
    }

    /// The browser behind this fetcher while it renders pages: pagination that happens inside
    /// a page (scrolling, clicking) needs it.
    fn browser(&self) -> Option<&BrowserFetcher> {
        None
    }
}

/// Admits the next hop of a redirect chain that leaves the origin it was on: the crawl checks
/// the new site's robots.txt and waits for its politeness slot here.
pub trait HopGate: Send + Sync {
    /// `Err` refuses the hop (say [`FetchError::Disallowed`]); the fetch fails with it.
    fn admit<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<(), FetchError>>;
}

/// A shared or borrowed fetcher is a fetcher: every method goes to the one behind it.
macro_rules! forward_fetcher {
    ($($pointer:ty),*) => {$(
        impl<T: Fetcher + ?Sized> Fetcher for $pointer {
            fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
                (**self).fetch(url)
            }
            fn fetch_resource<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
                (**self).fetch_resource(url)
            }
            fn fetch_through<'a>(
                &'a self,
                url: &'a Url,
                gate: &'a dyn HopGate,
            ) -> BoxFuture<'a, Result<Page, FetchError>> {
                (**self).fetch_through(url, gate)
            }
            fn fetch_if_modified<'a>(
                &'a self,
                url: &'a Url,
                gate: &'a dyn HopGate,
                at: &'a Url,
                validators: &'a Validators,
            ) -> BoxFuture<'a, Result<Page, FetchError>> {
                (**self).fetch_if_modified(url, gate, at, validators)
            }
            fn renders_javascript(&self) -> bool {
                (**self).renders_javascript()
            }
            fn render_from_now(&self) -> Escalation {
                (**self).render_from_now()
            }
            fn browser(&self) -> Option<&BrowserFetcher> {
                (**self).browser()
            }
        }
    )*};
}

forward_fetcher!(Arc<T>, &T);
