//! [`HttpFetcher`]: plain HTTP(S) with reqwest and rustls, behind the network guard.
//!
//! One reqwest client per fetcher, so connections are kept alive and reused across the pages
//! of a run. Redirects are followed here rather than by reqwest, so every hop goes through
//! [`NetworkGuard::check_url`] before anything is sent; names are resolved by the guard itself
//! (it is the client's DNS resolver), so connections only go to checked addresses.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use reqwest::header::{self, HeaderValue};
use reqwest::{Client, Response, StatusCode, redirect};
use url::Url;

use super::attempts::Attempts;
use super::breaker::CircuitBreaker;
use super::cookies::CookieJar;
use super::retry::{self, Backoff};
use super::{
    BoxFuture, DEFAULT_USER_AGENT, FetchError, FetchOptions, Fetcher, HopGate, Page, Validators,
    charset,
};
use crate::guard::{GuardError, NetworkGuard};

/// What we ask for: HTML first, anything else accepted. (Accept-Encoding is set by reqwest for
/// the decoders it was built with: gzip, brotli, deflate.)
const ACCEPT: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

/// A redirect's body is read (and thrown away) up to this size so its connection can go back
/// to the pool; a larger one is dropped with its connection.
const REDIRECT_DRAIN_BYTES: usize = 64 * 1024;

/// Installs rustls' `ring` provider as the process default, once. reqwest is built with
/// `rustls-no-provider` so that the tree has a single crypto backend; it picks up this default.
/// If something else already installed a provider we keep that one.
fn install_crypto_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Fetches pages over HTTP(S) with retries, a per-host circuit breaker and user-agent rotation.
#[derive(Debug)]
pub struct HttpFetcher {
    client: Client,
    guard: NetworkGuard,
    options: FetchOptions,
    user_agents: Vec<HeaderValue>,
    next_agent: AtomicUsize,
    backoff: Backoff,
    breaker: CircuitBreaker,
    /// The cookies sites set, sent back to them: one jar per fetcher, and a fetcher per run.
    cookies: CookieJar,
}

impl HttpFetcher {
    pub fn new(guard: NetworkGuard, options: FetchOptions) -> Result<Self, FetchError> {
        install_crypto_provider();
        let user_agents = if options.user_agents.is_empty() {
            vec![HeaderValue::from_static(DEFAULT_USER_AGENT)]
        } else {
            options
                .user_agents
                .iter()
                .map(|agent| {
                    HeaderValue::from_str(agent).map_err(|_| FetchError::InvalidUserAgent {
                        agent: agent.clone(),
                    })
                })
                .collect::<Result<_, _>>()?
        };
        let client = Client::builder()
            .dns_resolver(guard.clone())
            .redirect(redirect::Policy::none())
            // A system proxy would make the proxy, not us, choose where to connect: the guard
            // could no longer promise anything.
            .no_proxy()
            .connect_timeout(options.timeout)
            .build()
            .map_err(|source| FetchError::Client { source })?;
        Ok(Self {
            client,
            guard,
            options,
            user_agents,
            next_agent: AtomicUsize::new(0),
            backoff: Backoff::default(),
            breaker: CircuitBreaker::default(),
            cookies: CookieJar::default(),
        })
    }

    /// The first retry waits up to `base`, then doubling (tests use a few milliseconds).
    pub fn with_retry_base(mut self, base: Duration) -> Self {
        self.backoff.base = base;
        self
    }

    /// Replaces the whole retry schedule.
    pub fn with_backoff(mut self, backoff: Backoff) -> Self {
        self.backoff = backoff;
        self
    }

    /// Opens a host's circuit after `threshold` consecutive failed fetches (0 disables it) and
    /// lets one trial through after `cooldown`. Defaults: 5 and 30 s.
    pub fn with_circuit_breaker(mut self, threshold: u32, cooldown: Duration) -> Self {
        self.breaker = CircuitBreaker::new(threshold, cooldown);
        self
    }

    pub fn guard(&self) -> &NetworkGuard {
        &self.guard
    }

    pub fn options(&self) -> &FetchOptions {
        &self.options
    }

    /// Guard, breaker, then attempts with backoff between them (shared with the browser).
    async fn fetch_page(
        &self,
        url: &Url,
        gate: Option<&dyn HopGate>,
        conditional: Option<(&Url, &Validators)>,
    ) -> Result<Page, FetchError> {
        Attempts {
            guard: &self.guard,
            breaker: &self.breaker,
            backoff: &self.backoff,
            retry_count: self.options.retry_count,
            timeout: self.options.timeout,
        }
        .run(url, || self.attempt(url, gate, conditional))
        .await
    }

    /// One attempt: the request, its redirects, and the body. With `conditional`, the request
    /// to that URL carries its validators, and a 304 answer is a page without a body.
    async fn attempt(
        &self,
        url: &Url,
        gate: Option<&dyn HopGate>,
        conditional: Option<(&Url, &Validators)>,
    ) -> Result<Page, FetchError> {
        let agent = self.pick_user_agent();
        let mut current = url.clone();
        let mut redirects = 0;
        loop {
            let mut request = self
                .client
                .get(current.clone())
                .header(header::USER_AGENT, agent.clone())
                .header(header::ACCEPT, HeaderValue::from_static(ACCEPT));
            if let Some(cookies) = self.cookies.header(&current) {
                request = request.header(header::COOKIE, cookies);
            }
            // The validators belong to the URL that answered the earlier run, not to the hops
            // that led there.
            let sent = conditional
                .filter(|(at, _)| **at == current)
                .map(|(_, v)| v);
            if let Some(validators) = sent {
                request = with_validators(request, validators);
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.map_error(e, &current))?;
            self.cookies.store(&current, response.headers());
            let status = response.status();

            if status == StatusCode::NOT_MODIFIED
                && let Some(sent) = sent
            {
                // A 304 may carry fresher validators; what it leaves out still holds.
                let mut validators = response_validators(&response);
                validators.etag = validators.etag.or_else(|| sent.etag.clone());
                validators.last_modified = validators
                    .last_modified
                    .or_else(|| sent.last_modified.clone());
                drain(response).await;
                return Ok(Page {
                    url: url.clone(),
                    final_url: current,
                    status: status.as_u16(),
                    content_type: None,
                    body: String::new(),
                    attempts: 0,
                    validators,
                });
            }

            if status.is_redirection()
                && let Some(location) = response.headers().get(header::LOCATION)
            {
                let next = location
                    .to_str()
                    .ok()
                    .and_then(|loc| current.join(loc).ok())
                    .ok_or_else(|| FetchError::BadRedirect {
                        url: current.clone(),
                        location: String::from_utf8_lossy(location.as_bytes()).into_owned(),
                    })?;
                if redirects >= self.options.max_redirects {
                    return Err(FetchError::TooManyRedirects);
                }
                redirects += 1;
                // Before anything is sent to the next hop: a public page must not be able
                // to bounce us into the private network.
                self.guard.check_url(&next)?;
                // Another site: its robots.txt and its politeness apply from here.
                if let Some(gate) = gate
                    && next.origin() != current.origin()
                {
                    gate.admit(&next).await?;
                }
                drain(response).await;
                current = next;
                continue;
            }

            if !status.is_success() {
                return Err(FetchError::Status {
                    status: status.as_u16(),
                    retry_after: retry_after(&response, status),
                    url: current,
                });
            }

            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let validators = response_validators(&response);
            let bytes = read_capped(response, self.options.max_body_bytes, &current, self).await?;
            let body = charset::decode(bytes, content_type.as_deref());
            return Ok(Page {
                url: url.clone(),
                final_url: current,
                status: status.as_u16(),
                content_type,
                body,
                attempts: 0,
                validators,
            });
        }
    }

    fn pick_user_agent(&self) -> HeaderValue {
        let n = self.next_agent.fetch_add(1, Ordering::Relaxed);
        // `user_agents` is never empty (see `new`); fall back to the default rather than panic.
        self.user_agents
            .get(n % self.user_agents.len().max(1))
            .cloned()
            .unwrap_or_else(|| HeaderValue::from_static(DEFAULT_USER_AGENT))
    }

    fn map_error(&self, err: reqwest::Error, url: &Url) -> FetchError {
        // A refusal by the guard-as-resolver arrives wrapped in reqwest's connect error.
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
        while let Some(e) = source {
            if let Some(guard_error) = e.downcast_ref::<GuardError>() {
                return FetchError::Blocked(guard_error.clone());
            }
            source = e.source();
        }
        if err.is_timeout() {
            return FetchError::Timeout {
                url: url.clone(),
                after: self.options.timeout,
            };
        }
        FetchError::Network {
            url: url.clone(),
            source: err,
        }
    }
}

impl Fetcher for HttpFetcher {
    fn fetch<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.fetch_page(url, None, None))
    }

    fn fetch_through<'a>(
        &'a self,
        url: &'a Url,
        gate: &'a dyn HopGate,
    ) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.fetch_page(url, Some(gate), None))
    }

    fn fetch_if_modified<'a>(
        &'a self,
        url: &'a Url,
        gate: &'a dyn HopGate,
        at: &'a Url,
        validators: &'a Validators,
    ) -> BoxFuture<'a, Result<Page, FetchError>> {
        Box::pin(self.fetch_page(url, Some(gate), Some((at, validators))))
    }
}

/// Adds `If-None-Match` and `If-Modified-Since`; a value that is not a valid header (it was
/// one when the server sent it, so only a corrupted record) is left out.
fn with_validators(
    mut request: reqwest::RequestBuilder,
    validators: &Validators,
) -> reqwest::RequestBuilder {
    if let Some(etag) = validators
        .etag
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        request = request.header(header::IF_NONE_MATCH, etag);
    }
    if let Some(date) = validators
        .last_modified
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        request = request.header(header::IF_MODIFIED_SINCE, date);
    }
    request
}

/// The response's `ETag` and `Last-Modified`, as sent.
fn response_validators(response: &Response) -> Validators {
    let value = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    Validators {
        etag: value(header::ETAG),
        last_modified: value(header::LAST_MODIFIED),
    }
}

fn retry_after(response: &Response, status: StatusCode) -> Option<Duration> {
    if !retry::is_retryable_status(status.as_u16()) {
        return None;
    }
    let value = response.headers().get(header::RETRY_AFTER)?.to_str().ok()?;
    retry::parse_retry_after(value, SystemTime::now())
}

/// Reads the body, refusing it as soon as it is known to pass `limit`: from `Content-Length`
/// before reading, else from the running total (which also bounds decompression bombs, since
/// the chunks are already decompressed).
async fn read_capped(
    mut response: Response,
    limit: usize,
    url: &Url,
    fetcher: &HttpFetcher,
) -> Result<Vec<u8>, FetchError> {
    let declared = response.content_length();
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(FetchError::TooLarge { limit });
    }
    let capacity = declared.map_or(16 * 1024, |len| len as usize);
    let mut body = Vec::with_capacity(capacity);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| fetcher.map_error(e, url))?
    {
        if body.len() + chunk.len() > limit {
            return Err(FetchError::TooLarge { limit });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads a small redirect body to the end so the connection is reused; errors do not matter.
async fn drain(mut response: Response) {
    if response
        .content_length()
        .is_some_and(|len| len > REDIRECT_DRAIN_BYTES as u64)
    {
        return;
    }
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > REDIRECT_DRAIN_BYTES {
            return;
        }
    }
}
