//! Sending one webhook request: the signed headers and a guarded HTTP client.
//!
//! `X-Request-ID` is the ID of the API request behind the event (the one that queued the run,
//! or the test request), so a receiver's logs can be joined with ours.

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use grandma_engine::guard::NetworkGuard;
use grandma_store::{MAX_RESPONSE_BODY, Uuid};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::signature::{
    EVENT_HEADER, ID_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    WEBHOOK_USER_AGENT, is_reserved_header, sign,
};

/// What one HTTP attempt gave.
#[derive(Debug, Clone)]
pub struct SendResult {
    pub status: Option<u16>,
    /// The response body, cut to [`MAX_RESPONSE_BODY`] bytes.
    pub body: Option<String>,
    /// Transport error or guard refusal.
    pub error: Option<String>,
    /// The network guard refused the target: retrying cannot help.
    pub refused: bool,
    /// The server's `Retry-After`, if it sent one.
    pub retry_after: Option<Duration>,
    pub duration: Duration,
}

impl SendResult {
    pub fn is_success(&self) -> bool {
        self.status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// One request to send.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub delivery_id: Uuid,
    pub event: &'a str,
    pub secret: Option<&'a str>,
    pub headers: &'a BTreeMap<String, String>,
    pub body: &'a [u8],
    /// Sent as `X-Request-ID` when present.
    pub request_id: Option<&'a str>,
}

/// An HTTP client whose every connection goes through the network guard.
#[derive(Debug, Clone)]
pub struct WebhookClient {
    client: reqwest::Client,
    guard: NetworkGuard,
    timeout: Duration,
}

fn install_crypto_provider() {
    static INSTALLED: OnceLock<()> = OnceLock::new();
    INSTALLED.get_or_init(|| {
        let _already_installed = rustls::crypto::ring::default_provider().install_default();
    });
}

impl WebhookClient {
    /// `timeout` bounds each attempt as a whole (connect, send, read the bounded body).
    pub fn new(guard: NetworkGuard, timeout: Duration) -> Result<Self, reqwest::Error> {
        install_crypto_provider();
        let client = reqwest::Client::builder()
            .dns_resolver(guard.clone())
            // A redirect would leave the checked URL; a proxy would choose where to connect.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(timeout)
            .build()?;
        Ok(WebhookClient {
            client,
            guard,
            timeout,
        })
    }

    pub fn guard(&self) -> &NetworkGuard {
        &self.guard
    }

    /// Sends one signed POST; never fails, the result says what happened.
    pub async fn send(&self, out: Outgoing<'_>) -> SendResult {
        let started = Instant::now();
        let fail = |error: String, refused: bool| SendResult {
            status: None,
            body: None,
            error: Some(error),
            refused,
            retry_after: None,
            duration: started.elapsed(),
        };
        let url = match url::Url::parse(out.url) {
            Ok(url) => url,
            Err(e) => return fail(format!("invalid URL: {e}"), true),
        };
        if let Err(e) = self.guard.check_url(&url) {
            return fail(e.to_string(), true);
        }
        let headers = build_headers(&out);
        let request = self
            .client
            .post(url)
            .headers(headers)
            .body(out.body.to_vec())
            .send();
        let attempt = async {
            let response = request.await?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| {
                    grandma_engine::fetch::retry::parse_retry_after(v, SystemTime::now())
                });
            let mut body = Vec::new();
            let mut response = response;
            while let Some(chunk) = response.chunk().await? {
                let room = MAX_RESPONSE_BODY.saturating_sub(body.len());
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if body.len() >= MAX_RESPONSE_BODY {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, retry_after, body))
        };
        match tokio::time::timeout(self.timeout, attempt).await {
            Err(_) => fail(
                format!("timed out after {} ms", self.timeout.as_millis()),
                false,
            ),
            Ok(Err(e)) => {
                let refused = is_guard_error(&e);
                fail(error_chain(&e), refused)
            }
            Ok(Ok((status, retry_after, body))) => SendResult {
                status: Some(status),
                body: Some(String::from_utf8_lossy(&body).into_owned()),
                error: None,
                refused: false,
                retry_after,
                duration: started.elapsed(),
            },
        }
    }
}

fn build_headers(out: &Outgoing<'_>) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in out.headers {
        if is_reserved_header(name) {
            continue;
        }
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            headers.insert(name, value);
        }
    }
    let fixed = |v: &str| HeaderValue::from_str(v).unwrap_or(HeaderValue::from_static(""));
    headers.insert(
        reqwest::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        reqwest::header::USER_AGENT,
        HeaderValue::from_static(WEBHOOK_USER_AGENT),
    );
    headers.insert(ID_HEADER, fixed(&out.delivery_id.to_string()));
    headers.insert(EVENT_HEADER, fixed(out.event));
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    headers.insert(TIMESTAMP_HEADER, fixed(&unix.to_string()));
    // Request IDs were checked (printable ASCII) when they entered; an invalid one is dropped.
    if let Some(value) = out.request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        headers.insert(REQUEST_ID_HEADER, value);
    }
    if let Some(secret) = out.secret {
        headers.insert(SIGNATURE_HEADER, fixed(&sign(secret, out.body)));
    }
    headers
}

fn is_guard_error(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err
            .downcast_ref::<grandma_engine::guard::GuardError>()
            .is_some()
        {
            return true;
        }
        source = err.source();
    }
    false
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(err) = source {
        text.push_str(": ");
        text.push_str(&err.to_string());
        source = err.source();
    }
    text
}
