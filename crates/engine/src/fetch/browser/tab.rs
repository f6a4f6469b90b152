//! One tab: loading a page, waiting until it is ready, and the page-side operations of live
//! pagination (scroll, click). Every wait races the tab's crash, the browser's end and the
//! page's byte budget, so a dying renderer fails the page at once instead of at its timeout.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::browser::BrowserContextId;
use chromiumoxide::cdp::browser_protocol::fetch::{
    self as cdp_fetch, EventRequestPaused, FailRequestParams, RequestPattern, RequestStage,
};
use chromiumoxide::cdp::browser_protocol::inspector::EventTargetCrashed;
use chromiumoxide::cdp::browser_protocol::network::{
    ErrorReason, EventDataReceived, EventWebSocketFrameReceived, ResourceType,
    SetUserAgentOverrideParams,
};
use chromiumoxide::cdp::browser_protocol::page::NavigateParams;
use chromiumoxide::cdp::browser_protocol::target::CreateTargetParams;
use chromiumoxide::cdp::js_protocol::runtime::EvaluateParams;
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::BrowserError;
use super::pool::Process;

/// The in-page half of every operation.
const DRIVER: &str = include_str!("driver.js");

/// How a tab is set up for a run.
#[derive(Debug, Clone)]
pub(super) struct TabSettings {
    /// Load images, audio/video and fonts; blocked otherwise (faster, less to fetch).
    pub load_media: bool,
    /// Rotated over the run's tabs, one per tab; empty: Chromium's own.
    pub user_agents: Vec<String>,
    pub max_page_bytes: u64,
}

/// A selector as the page evaluates it.
#[derive(Debug, Clone, Serialize)]
pub(super) struct PageSelector {
    pub selector: String,
    pub xpath: bool,
}

/// What the page-side operations need to know; serialized as the driver's options.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PageRules {
    pub items: Option<PageSelector>,
    pub next: Option<PageSelector>,
    pub settle_ms: u64,
    pub quiet_ms: u64,
    pub poll_ms: u64,
    pub max_nodes: u64,
    pub max_chars: u64,
}

/// The page as the driver saw it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Snapshot {
    /// `matched`, `quiet` or `timeout`.
    pub reason: String,
    pub url: String,
    /// The document's HTTP status (0 when the browser does not know it).
    pub status: u16,
    pub nodes: u64,
    pub html: Option<String>,
    pub too_large: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(super) struct Scrolled {
    pub before: i64,
    pub after: i64,
    pub page: Option<Snapshot>,
}

/// What a click on the next button did.
#[derive(Debug)]
pub(super) enum Clicked {
    /// No element matches the next-button selector: the last page.
    NoButton,
    /// The click changed nothing within the time allowed.
    Unchanged,
    /// The items changed (in place, or after a navigation the click started).
    Changed(Snapshot),
}

#[derive(Debug, Deserialize)]
struct ClickAnswer {
    outcome: String,
    page: Option<Snapshot>,
}

/// Signals from the tab's event watcher.
#[derive(Debug)]
struct Signals {
    bytes: AtomicU64,
    limit: u64,
    over: watch::Sender<bool>,
    crashed: CancellationToken,
}

/// A tab of a run's browser context, holding one place of the pool's tab budget.
#[derive(Debug)]
pub(super) struct Tab {
    page: Page,
    pub(super) process: Arc<Process>,
    signals: Arc<Signals>,
    watcher: tokio::task::JoinHandle<()>,
    /// Set when an operation failed in a way that leaves the tab unusable.
    broken: bool,
    _permit: OwnedSemaphorePermit,
}

impl Tab {
    pub(super) async fn open(
        process: Arc<Process>,
        context: BrowserContextId,
        permit: OwnedSemaphorePermit,
        settings: &TabSettings,
        user_agent: Option<&str>,
    ) -> Result<Self, BrowserError> {
        let target = CreateTargetParams::builder()
            .url("about:blank")
            .browser_context_id(context)
            .build()
            .map_err(BrowserError::Protocol)?;
        let page = tokio::time::timeout(Duration::from_secs(20), process.browser.new_page(target))
            .await
            .map_err(|_| BrowserError::Hung)?
            .map_err(BrowserError::from_cdp)?;
        let (over, _) = watch::channel(false);
        let signals = Arc::new(Signals {
            bytes: AtomicU64::new(0),
            limit: settings.max_page_bytes,
            over,
            crashed: CancellationToken::new(),
        });
        let watcher = watch_events(&page, Arc::clone(&signals), !settings.load_media).await?;
        let mut tab = Self {
            page,
            process,
            signals,
            watcher,
            broken: false,
            _permit: permit,
        };
        if !settings.load_media {
            let patterns = [ResourceType::Image, ResourceType::Media, ResourceType::Font]
                .into_iter()
                .map(|kind| {
                    RequestPattern::builder()
                        .url_pattern("*")
                        .resource_type(kind)
                        .request_stage(RequestStage::Request)
                        .build()
                })
                .collect::<Vec<_>>();
            tab.command(
                cdp_fetch::EnableParams::builder()
                    .patterns(patterns)
                    .build(),
            )
            .await?;
        }
        if let Some(agent) = user_agent {
            tab.command(SetUserAgentOverrideParams::new(agent)).await?;
        }
        Ok(tab)
    }

    /// Whether the tab can serve another page.
    pub(super) fn is_usable(&self) -> bool {
        !self.broken && !self.signals.crashed.is_cancelled() && self.process.is_alive()
    }

    /// Loads `url` and waits until it is ready (see the driver's `ready`), all within
    /// `budget`: the navigation must commit within it, and whatever is left is the wait.
    pub(super) async fn load(
        &mut self,
        url: &Url,
        rules: &PageRules,
        budget: Duration,
    ) -> Result<Snapshot, BrowserError> {
        let started = tokio::time::Instant::now();
        self.signals.bytes.store(0, Ordering::Relaxed);
        self.signals.over.send_replace(false);
        let navigate = self.page.execute(NavigateParams::new(url.as_str()));
        let navigated = match tokio::time::timeout(budget, self.guarded(navigate)).await {
            Ok(result) => result?.map_err(BrowserError::from_cdp),
            // The tab is still loading something: close it rather than reuse it.
            Err(_) => Err(BrowserError::NavigationTimeout),
        };
        let navigated = self.keep(navigated)?;
        if let Some(error) = navigated.result.error_text.filter(|e| !e.is_empty()) {
            return Err(BrowserError::Navigation(error));
        }
        self.wait_ready(rules, budget.saturating_sub(started.elapsed()))
            .await
    }

    /// The driver's `ready` on the current document, again while a navigation replaces it.
    async fn wait_ready(
        &mut self,
        rules: &PageRules,
        budget: Duration,
    ) -> Result<Snapshot, BrowserError> {
        let deadline = tokio::time::Instant::now() + budget;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self
                .drive::<Snapshot>("ready", rules, left, json!({}))
                .await
            {
                Err(BrowserError::ContextReplaced) if !left.is_zero() => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => return other,
            }
        }
    }

    /// One scroll (see the driver's `scroll`).
    pub(super) async fn scroll(
        &mut self,
        rules: &PageRules,
        wait: Duration,
        budget: Duration,
    ) -> Result<Scrolled, BrowserError> {
        let extra = json!({ "waitMs": wait.as_millis() as u64 });
        self.drive("scroll", rules, budget + wait, extra).await
    }

    /// One click on the next button (see the driver's `click`).
    pub(super) async fn click_next(
        &mut self,
        rules: &PageRules,
        budget: Duration,
    ) -> Result<Clicked, BrowserError> {
        self.signals.bytes.store(0, Ordering::Relaxed);
        self.signals.over.send_replace(false);
        match self
            .drive::<ClickAnswer>("click", rules, budget, json!({}))
            .await
        {
            Ok(answer) => Ok(match (answer.outcome.as_str(), answer.page) {
                ("none", _) => Clicked::NoButton,
                ("changed", Some(page)) => Clicked::Changed(page),
                _ => Clicked::Unchanged,
            }),
            // The click started a navigation: the next document is the next page.
            Err(BrowserError::ContextReplaced) => {
                self.wait_ready(rules, budget).await.map(Clicked::Changed)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs `op` of the driver with `rules` (plus `extra` options) within `budget`.
    async fn drive<T: serde::de::DeserializeOwned>(
        &mut self,
        op: &str,
        rules: &PageRules,
        budget: Duration,
        extra: serde_json::Value,
    ) -> Result<T, BrowserError> {
        let mut options =
            serde_json::to_value(rules).map_err(|e| BrowserError::Protocol(e.to_string()))?;
        if let (Some(options), serde_json::Value::Object(extra)) = (options.as_object_mut(), extra)
        {
            options.extend(extra);
            options.insert("budgetMs".into(), json!(budget.as_millis() as u64));
        }
        let expression = format!("({DRIVER})({}, {options})", json!(op));
        let params = EvaluateParams::builder()
            .expression(expression)
            .await_promise(true)
            .return_by_value(true)
            .build()
            .map_err(BrowserError::Protocol)?;
        // The page gets its budget; the grace covers a slow answer of a busy browser.
        let grace = Duration::from_secs(5);
        let evaluated =
            match tokio::time::timeout(budget + grace, self.guarded(self.page.execute(params)))
                .await
            {
                Ok(result) => result?.map_err(BrowserError::from_cdp),
                Err(_) => Err(BrowserError::Hung),
            };
        let evaluated = self.keep(evaluated)?;
        if let Some(exception) = evaluated.result.exception_details {
            let text = exception
                .exception
                .as_ref()
                .and_then(|e| e.description.clone())
                .unwrap_or(exception.text);
            return Err(if is_context_replaced(&text) {
                BrowserError::ContextReplaced
            } else {
                BrowserError::Protocol(format!("the page script failed: {text}"))
            });
        }
        let value = evaluated
            .result
            .result
            .value
            .unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value)
            .map_err(|e| BrowserError::Protocol(format!("unexpected answer from the page: {e}")))
    }

    /// Sends one CDP command to the page, raced against the tab's failures.
    async fn command<C>(&mut self, cmd: C) -> Result<(), BrowserError>
    where
        C: chromiumoxide::types::Command,
    {
        let sent = self
            .guarded(self.page.execute(cmd))
            .await?
            .map(|_| ())
            .map_err(BrowserError::from_cdp);
        self.keep(sent)
    }

    /// Awaits `work` unless the renderer crashes, the browser ends or the page passes its byte
    /// budget first.
    async fn guarded<F: Future>(&self, work: F) -> Result<F::Output, BrowserError> {
        let mut over = self.signals.over.subscribe();
        tokio::select! {
            output = work => Ok(output),
            _ = self.signals.crashed.cancelled() => Err(BrowserError::Crashed),
            _ = self.process.ended() => Err(BrowserError::Gone),
            _ = over.wait_for(|over| *over) => Err(BrowserError::TooMuchLoaded { limit: self.signals.limit }),
        }
    }

    /// Marks the tab broken after an error that leaves it in an unknown state.
    fn keep<T>(&mut self, result: Result<T, BrowserError>) -> Result<T, BrowserError> {
        if let Err(e) = &result
            && !matches!(
                e,
                BrowserError::Navigation(_) | BrowserError::ContextReplaced
            )
        {
            self.broken = true;
        }
        result
    }

    pub(super) fn mark_broken(&mut self) {
        self.broken = true;
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        self.watcher.abort();
        // Closing needs the runtime; without one the process (or its end) takes the tab along.
        if let Ok(runtime) = tokio::runtime::Handle::try_current()
            && self.process.is_alive()
        {
            let page = self.page.clone();
            runtime.spawn(async move {
                let _ = tokio::time::timeout(Duration::from_secs(5), page.close()).await;
            });
        }
    }
}

fn is_context_replaced(text: &str) -> bool {
    [
        "Execution context was destroyed",
        "Cannot find context with specified id",
        "Inspected target navigated or closed",
    ]
    .iter()
    .any(|needle| text.contains(needle))
}

/// Watches the tab's events: counts the bytes it loads, fails blocked requests, notices a
/// crash. Listeners are registered before anything can be paused.
async fn watch_events(
    page: &Page,
    signals: Arc<Signals>,
    blocking: bool,
) -> Result<tokio::task::JoinHandle<()>, BrowserError> {
    let paused = if blocking {
        Some(
            page.event_listener::<EventRequestPaused>()
                .await
                .map_err(BrowserError::from_cdp)?,
        )
    } else {
        None
    };
    let mut data = page
        .event_listener::<EventDataReceived>()
        .await
        .map_err(BrowserError::from_cdp)?;
    let mut frames = page
        .event_listener::<EventWebSocketFrameReceived>()
        .await
        .map_err(BrowserError::from_cdp)?;
    let mut crashed = page
        .event_listener::<EventTargetCrashed>()
        .await
        .map_err(BrowserError::from_cdp)?;
    let page = page.clone();
    Ok(tokio::spawn(async move {
        let mut paused = paused.map(StreamExt::boxed);
        loop {
            tokio::select! {
                Some(request) = next_of(&mut paused) => {
                    let fail = FailRequestParams::new(request.request_id.clone(), ErrorReason::BlockedByClient);
                    let page = page.clone();
                    tokio::spawn(async move {
                        let _ = page.execute(fail).await;
                    });
                }
                Some(chunk) = data.next() => {
                    let len = chunk.data_length.max(chunk.encoded_data_length).max(0) as u64;
                    signals.add(len);
                }
                Some(frame) = frames.next() => {
                    signals.add(frame.response.payload_data.len() as u64);
                }
                Some(_) = crashed.next() => {
                    signals.crashed.cancel();
                    return;
                }
                else => return,
            }
        }
    }))
}

impl Signals {
    fn add(&self, len: u64) {
        let total = self.bytes.fetch_add(len, Ordering::Relaxed) + len;
        if total > self.limit {
            self.over.send_replace(true);
        }
    }
}

/// The next item of an optional stream; pending forever without one.
async fn next_of<S: Stream + Unpin>(stream: &mut Option<S>) -> Option<S::Item> {
    match stream {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}
