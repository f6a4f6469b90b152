//! Fetching pages: the [`Fetcher`] trait the crawl loop talks to, and the plain-HTTP
//! implementation [`HttpFetcher`] (reqwest + rustls behind the [network guard](crate::guard)).
//!
//! The browser fetcher (headless Chromium) is another implementation of the same trait, which is
//! why the trait is dyn-compatible and returns a boxed future.
//!
//! Submodules hold the parts of one request's life: [`retry`] (which failures are retried and
//! how long to wait), [`breaker`] (the per-host circuit breaker), [`charset`] (bytes to text),
//! [`metrics`] (attempts and their durations by outcome).

pub mod breaker;
pub mod charset;
mod http;
pub mod metrics;
pub mod retry;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use url::Url;

use crate::guard::GuardError;

pub use http::HttpFetcher;

/// The user agent sent when a job names none: honest about who we are.
pub const DEFAULT_USER_AGENT: &str = concat!("GrandmaScraper/", env!("CARGO_PKG_VERSION"));

/// Per-job fetch settings (spec §1: `timeout_seconds`, `retry_count`, `user_agents`).
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

/// Something that turns a URL into a [`Page`]: plain HTTP today, a browser later.
pub trait Fetcher: Send + Sync {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>>;
}

impl<T: Fetcher + ?Sized> Fetcher for Arc<T> {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        (**self).fetch(url)
    }
}

impl<T: Fetcher + ?Sized> Fetcher for &T {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        (**self).fetch(url)
    }
}
