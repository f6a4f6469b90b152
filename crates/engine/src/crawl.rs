//! The crawl loop: fetch pages politely, extract items off the executor, paginate, and stream
//! each page's items to the caller's sink while emitting the run's progress events.
//!
//! Items never accumulate here: each page's items go to the [`PageSink`] before the next page
//! is taken, so a run of a million items holds one page (or `concurrent_requests` pages) at a
//! time.

use std::collections::HashSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_util::sync::CancellationToken;
use url::Url;

use crate::extract::{self, PageExtract};
use crate::fetch::browser::shell::app_shell_sign;
use crate::fetch::{
    BoxFuture, Escalation, FetchError, FetchOptions, Fetcher, HopGate, HttpFetcher, Page,
    Validators, needs_browser,
};
use crate::guard::NetworkGuard;
use crate::hosts::SharedHosts;
use crate::item::Item;
use crate::paginate;
use crate::politeness::Politeness;
use crate::revisit::{PageRecord, PreviousPage, PreviousPages, Reused};
use crate::robots::{RobotsCache, RobotsRules};
use crate::spec::{FetcherType, JobSpec, Pagination};

mod live;

/// Pages a `url_pattern` job may have when it sets no `max_pages` (the bound a job may set).
const PAGE_CEILING: u32 = 10_000;
/// Consecutive failed pages after which a `url_pattern` crawl stops trying further pages.
const MAX_CONSECUTIVE_FAILURES: u32 = 3;
/// Warnings kept for the run's record; past this they are counted, not stored.
const MAX_WARNINGS: usize = 200;
/// Longest a page's extraction may take (parsing aside) before the rest of its items are left
/// out with a warning. A real page takes milliseconds; a hostile one must not hold a core.
pub const PAGE_EXTRACTION_TIME: Duration = Duration::from_secs(10);

/// Progress of a run, plus warnings.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started {
        url: Url,
    },
    Fetching {
        page: u32,
        url: Url,
    },
    Extracted {
        page: u32,
        items_on_page: usize,
        total_items: u64,
    },
    Warning {
        message: String,
    },
    Completed {
        total_items: u64,
        pages_scraped: u32,
        duration: Duration,
    },
    Failed {
        error: String,
    },
}

/// Receives events as they happen. Called from the crawl's tasks: keep it quick.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}

impl<F: Fn(&Event) + Send + Sync> EventSink for F {
    fn emit(&self, event: &Event) {
        self(event)
    }
}

/// An error from the caller's sink (disk full, lost lease…); it ends the run as failed.
pub type SinkError = Box<dyn std::error::Error + Send + Sync>;

/// Whether the crawl should go on after a page was saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    /// The caller learnt the run was cancelled (a flag in the store, say).
    Cancel,
}

/// Where a run can resume from: saved with each page's items.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// The next page number to fetch (1-based).
    pub next_page: u32,
    /// For `next_button`: the next page's URL; `None` when the chain ended.
    pub next_url: Option<Url>,
    pub total_items: u64,
    pub pages_scraped: u32,
    pub items_dropped: u64,
    /// For pagination inside one browser page (infinite scroll, a next button that is a
    /// script): how to get back to where the run was. Absent in checkpoints of other runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live: Option<LiveCheckpoint>,
}

/// Where a run stood in a page kept open in the browser.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LiveCheckpoint {
    /// The page to open again: the start URL, or the last page reached by a real link.
    pub url: Url,
    /// Scrolls or clicks made on it to reach the next page.
    pub steps: u32,
    /// Item elements of the page already handed on (infinite scroll), skipped on resume.
    pub items_seen: u64,
}

/// One page's worth of items, handed to the sink in page order.
#[derive(Debug, Clone)]
pub struct PageOutput {
    pub page: u32,
    /// The URL asked for.
    pub url: Url,
    /// Empty for a page answered 304: `record.reused` says which stored items stand for it.
    pub items: Vec<Item>,
    /// What a later run needs to ask for the page conditionally and replay it.
    pub record: PageRecord,
    /// Where to resume if the run stops after this page.
    pub checkpoint: Checkpoint,
}

/// Receives each page's items, in page order.
pub trait PageSink: Send {
    fn save(&mut self, page: PageOutput)
    -> impl Future<Output = Result<Control, SinkError>> + Send;
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }
}

/// The result of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub status: RunStatus,
    pub total_items: u64,
    pub pages_scraped: u32,
    pub pages_failed: u32,
    pub items_dropped: u64,
    pub duration: Duration,
    pub error: Option<String>,
    pub warnings: Vec<String>,
    /// Warnings beyond the ones kept in `warnings`.
    pub warnings_omitted: usize,
}

/// Builds the plain-HTTP fetcher for a job, with the job's timeout, retries and user agents.
pub fn http_fetcher(spec: &JobSpec, guard: NetworkGuard) -> Result<HttpFetcher, FetchError> {
    HttpFetcher::new(guard, fetch_options(spec))
}

/// The job's fetch settings.
pub fn fetch_options(spec: &JobSpec) -> FetchOptions {
    FetchOptions {
        timeout: Duration::from_secs(spec.timeout_seconds.into()),
        retry_count: spec.retry_count,
        user_agents: spec.user_agents.clone(),
        ..FetchOptions::default()
    }
}

/// Why a job cannot run without a browser, if it cannot (see [`crate::fetch::for_job`]).
pub fn unsupported_reason(spec: &JobSpec) -> Option<String> {
    if matches!(spec.pagination, Pagination::InfiniteScroll { .. }) {
        return Some(
            "pagination type `infinite_scroll` needs the browser (headless Chromium), which is \
             not available here"
                .into(),
        );
    }
    if spec.fetcher_type == FetcherType::Browser {
        return Some(
            "fetcher_type `browser` needs the browser (headless Chromium), which is not \
             available here; use `requests` or `auto`"
                .into(),
        );
    }
    None
}

/// One run of a job.
pub struct Crawl<'a> {
    spec: Arc<JobSpec>,
    fetcher: Arc<dyn Fetcher>,
    events: &'a dyn EventSink,
    cancel: CancellationToken,
    resume: Option<Checkpoint>,
    limits: extract::PageLimits,
    /// Politeness state of every worker; none: this run's own.
    shared_hosts: Option<Arc<dyn SharedHosts>>,
    /// The pages of an earlier run of the job, asked for conditionally.
    previous: Option<Arc<PreviousPages>>,
}

impl std::fmt::Debug for Crawl<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Crawl")
            .field("job", &self.spec.name)
            .field("resume", &self.resume)
            .finish_non_exhaustive()
    }
}

/// Counters and bookkeeping of a run in progress.
struct State {
    started: Instant,
    total_items: u64,
    pages_scraped: u32,
    pages_failed: u32,
    items_dropped: u64,
    first_error: Option<String>,
    warnings: Vec<String>,
    warnings_omitted: usize,
    seen: HashSet<String>,
    /// Where a live page stands, saved with the next checkpoint.
    live: Option<LiveCheckpoint>,
}

impl State {
    fn warn(&mut self, events: &dyn EventSink, message: String) {
        tracing::warn!(%message, "crawl warning");
        events.emit(&Event::Warning {
            message: message.clone(),
        });
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(message);
        } else {
            self.warnings_omitted += 1;
        }
    }

    fn checkpoint(&self, next_page: u32, next_url: Option<Url>) -> Checkpoint {
        Checkpoint {
            next_page,
            next_url,
            total_items: self.total_items,
            pages_scraped: self.pages_scraped,
            items_dropped: self.items_dropped,
            live: self.live.clone(),
        }
    }
}

/// What fetching and extracting one page came to.
enum PageResult {
    /// Extracted, or replayed from an earlier run (`how.reused`).
    Extracted {
        final_url: Url,
        extract: PageExtract,
        how: Fetched,
    },
    /// robots.txt disallows it: skipped, never fetched.
    Disallowed,
    Failed(PageError),
    /// `auto` switched to the browser on this page, and the pagination continues inside the
    /// browser page from here (a next button that may be a script). The note says so.
    Switched {
        note: Option<String>,
    },
}

/// How a page's content came: its validators, and whether it was answered 304.
#[derive(Debug, Clone, Default)]
struct Fetched {
    validators: Validators,
    reused: Option<Reused>,
}

impl Fetched {
    /// A page rendered by the browser: nothing to revalidate it with.
    fn rendered() -> Self {
        Fetched::default()
    }

    /// A page answered 304: the earlier run's findings stand in for its extraction.
    fn replay(previous: &PreviousPage, validators: Validators) -> (PageExtract, Self) {
        let extract = PageExtract {
            items: Vec::new(),
            matched: previous.matched as usize,
            dropped: previous.dropped as usize,
            next_url: previous.next_url.clone(),
            warnings: Vec::new(),
            stopped: None,
        };
        let how = Fetched {
            validators,
            reused: Some(Reused {
                from_page: previous.page,
                items: previous.items,
            }),
        };
        (extract, how)
    }
}

/// Why a page gave nothing.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// Extraction panicked: a bug of ours, reported for this page rather than ending the run.
    #[error("extraction failed: {0}")]
    Extraction(String),
    /// The run was cancelled while the page was being extracted: nothing of it is delivered,
    /// so a resumed run extracts the whole page again.
    #[error("the run was cancelled")]
    Cancelled,
}

impl PageError {
    fn status(&self) -> Option<u16> {
        match self {
            PageError::Fetch(e) => e.status(),
            PageError::Extraction(_) | PageError::Cancelled => None,
        }
    }
}

/// Why the page loop stops.
enum Stop {
    /// Pagination ran out (no next page, an empty page, a 404, a repeated URL, a limit).
    Done,
    Cancelled,
    /// The sink refused a page; the run fails.
    Sink(String),
}

impl<'a> Crawl<'a> {
    pub fn new(
        spec: Arc<JobSpec>,
        fetcher: Arc<dyn Fetcher>,
        events: &'a dyn EventSink,
        cancel: CancellationToken,
    ) -> Self {
        Crawl {
            spec,
            fetcher,
            events,
            cancel,
            resume: None,
            limits: extract::PageLimits::default(),
            shared_hosts: None,
            previous: None,
        }
    }

    /// Asks for each page `previous` knows with its validators; a page answered 304 is
    /// delivered as a replay of the earlier run's ([`PageRecord::reused`]), its links followed
    /// as that run found them.
    #[must_use]
    pub fn with_previous_pages(mut self, previous: Arc<PreviousPages>) -> Self {
        self.previous = Some(previous);
        self
    }

    /// Holds every page to `limits` instead of the defaults.
    #[must_use]
    pub fn with_page_limits(mut self, limits: extract::PageLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Spaces requests and reads robots.txt through `shared`, the state of every worker,
    /// instead of this run's own.
    #[must_use]
    pub fn with_shared_hosts(mut self, shared: Arc<dyn SharedHosts>) -> Self {
        self.shared_hosts = Some(shared);
        self
    }

    fn politeness(&self) -> Politeness {
        let local = Politeness::new(
            Duration::from_millis(self.spec.min_delay_ms),
            Duration::from_millis(self.spec.max_delay_ms),
        );
        match &self.shared_hosts {
            Some(shared) => local.with_shared(Arc::clone(shared)),
            None => local,
        }
    }

    /// Continues a run from a checkpoint saved with an earlier page.
    pub fn resume_from(mut self, checkpoint: Checkpoint) -> Self {
        self.resume = Some(checkpoint);
        self
    }

    /// Runs the crawl to its end, handing each page's items to `sink`.
    pub async fn run<S: PageSink>(self, sink: &mut S) -> RunOutcome {
        let resume = self.resume.clone().unwrap_or_default();
        let mut state = State {
            started: Instant::now(),
            total_items: resume.total_items,
            pages_scraped: resume.pages_scraped,
            pages_failed: 0,
            items_dropped: resume.items_dropped,
            first_error: None,
            warnings: Vec::new(),
            warnings_omitted: 0,
            seen: HashSet::new(),
            live: None,
        };
        self.events.emit(&Event::Started {
            url: self.spec.start_url.clone(),
        });
        if needs_browser(&self.spec) && self.fetcher.browser().is_none() {
            let reason = unsupported_reason(&self.spec).unwrap_or_default();
            return self.finish(state, Some(reason), false);
        }
        // A run resumed after the page that reached max_items has nothing left to do.
        if self
            .spec
            .max_items
            .is_some_and(|max| state.total_items >= u64::from(max))
        {
            return self.finish(state, None, false);
        }
        let pager = Pager {
            spec: &self.spec,
            fetcher: self.fetcher.as_ref(),
            events: self.events,
            politeness: self.politeness(),
            robots: match &self.shared_hosts {
                Some(shared) => RobotsCache::new().with_shared(Arc::clone(shared)),
                None => RobotsCache::new(),
            },
            cancel: self.cancel.clone(),
            limits: self.limits,
            previous: self.previous.as_deref(),
        };
        let stop = match &self.spec.pagination {
            Pagination::UrlPattern { pattern } => {
                let first = self.resume.as_ref().map_or(1, |c| c.next_page.max(1));
                pager
                    .url_pattern(pattern, first, &mut state, sink, &self.cancel)
                    .await
            }
            Pagination::NextButton { .. } => {
                let (page, url, clicks) = match &self.resume {
                    Some(c) => match (&c.next_url, &c.live) {
                        (Some(u), _) => (c.next_page, u.clone(), 0),
                        (None, Some(live)) => (c.next_page, live.url.clone(), live.steps),
                        (None, None) => return self.finish(state, None, false),
                    },
                    None => (1, self.spec.start_url.clone(), 0),
                };
                // A run that was clicking had switched to the browser (`auto`): so does this one.
                if clicks > 0 && self.fetcher.browser().is_none() {
                    self.fetcher.render_from_now();
                }
                match self.fetcher.browser() {
                    Some(browser) => {
                        let at = live::Position {
                            page,
                            url,
                            steps: clicks,
                        };
                        pager
                            .live_chain(browser, at, &mut state, sink, &self.cancel)
                            .await
                    }
                    None if clicks > 0 => {
                        let reason = "this run was clicking through pages in the browser, \
                                      which is not available here to resume it";
                        return self.finish(state, Some(reason.into()), false);
                    }
                    None => pager.chain(page, url, &mut state, sink, &self.cancel).await,
                }
            }
            Pagination::InfiniteScroll {
                max_scrolls,
                scroll_wait_ms,
            } => {
                let at = match &self.resume {
                    Some(c) => match &c.live {
                        Some(live) => live::Position {
                            page: c.next_page,
                            url: live.url.clone(),
                            steps: live.steps,
                        },
                        None if c.next_page > 1 => return self.finish(state, None, false),
                        None => live::Position::start(&self.spec.start_url),
                    },
                    None => live::Position::start(&self.spec.start_url),
                };
                let seen = self
                    .resume
                    .as_ref()
                    .and_then(|c| c.live.as_ref())
                    .map_or(0, |l| l.items_seen);
                // `needs_browser` made sure above that there is one.
                let Some(browser) = self.fetcher.browser() else {
                    return self.finish(state, unsupported_reason(&self.spec), false);
                };
                let scrolling = live::Scrolling {
                    max_scrolls: *max_scrolls,
                    wait: Duration::from_millis(*scroll_wait_ms),
                    items_seen: seen,
                };
                pager
                    .scroll(browser, at, scrolling, &mut state, sink, &self.cancel)
                    .await
            }
            Pagination::None => {
                if self.resume.as_ref().is_some_and(|c| c.next_page > 1) {
                    return self.finish(state, None, false);
                }
                pager
                    .chain(
                        1,
                        self.spec.start_url.clone(),
                        &mut state,
                        sink,
                        &self.cancel,
                    )
                    .await
            }
        };
        match stop {
            Stop::Done => self.finish(state, None, false),
            Stop::Cancelled => self.finish(state, None, true),
            Stop::Sink(e) => self.finish(state, Some(format!("could not save items: {e}")), false),
        }
    }

    fn finish(&self, state: State, error: Option<String>, cancelled: bool) -> RunOutcome {
        let duration = state.started.elapsed();
        // A run whose every page failed is a failure, not "completed with 0 items".
        let error = error.or_else(|| {
            (state.pages_scraped == 0 && state.pages_failed > 0 && !cancelled).then(|| {
                let first = state.first_error.clone().unwrap_or_default();
                format!("every page failed; first error: {first}")
            })
        });
        let status = match (&error, cancelled) {
            (Some(_), _) => RunStatus::Failed,
            (None, true) => RunStatus::Cancelled,
            (None, false) => RunStatus::Completed,
        };
        match (&error, status) {
            (Some(e), _) => self.events.emit(&Event::Failed { error: e.clone() }),
            (None, RunStatus::Completed) => self.events.emit(&Event::Completed {
                total_items: state.total_items,
                pages_scraped: state.pages_scraped,
                duration,
            }),
            _ => {}
        }
        RunOutcome {
            status,
            total_items: state.total_items,
            pages_scraped: state.pages_scraped,
            pages_failed: state.pages_failed,
            items_dropped: state.items_dropped,
            duration,
            error,
            warnings: state.warnings,
            warnings_omitted: state.warnings_omitted,
        }
    }
}

/// Permits for parsing and extraction, shared by every run in the process: cores are a
/// process-wide resource, so this is the one piece of global state here. One per core plus
/// one: with exactly one per core, a core idles while a finished parse hands its permit to the
/// next page (a wake-up of the run's task, then of a blocking thread); the spare parse is
/// already on a thread when that happens. Measured on the benchmark's fanout run (2 cores):
/// 1.00 s → 0.89 s wall for 1000 pages, the same CPU time, +3 MiB peak RSS.
fn cpu_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        tokio::sync::Semaphore::new(cores + 1)
    })
}

/// A redirect to another site is a request to that site: its robots.txt and its politeness
/// apply, as for a page the crawl asks for itself.
impl HopGate for Pager<'_> {
    fn admit<'a>(&'a self, url: &'a Url) -> BoxFuture<'a, Result<(), FetchError>> {
        Box::pin(async move {
            if self.polite(url).await {
                Ok(())
            } else {
                Err(FetchError::Disallowed { url: url.clone() })
            }
        })
    }
}

/// The per-run machinery shared by the pagination strategies.
struct Pager<'r> {
    spec: &'r Arc<JobSpec>,
    fetcher: &'r dyn Fetcher,
    events: &'r dyn EventSink,
    politeness: Politeness,
    robots: RobotsCache,
    /// The run's cancellation, which also stops a page's extraction midway.
    cancel: CancellationToken,
    limits: extract::PageLimits,
    previous: Option<&'r PreviousPages>,
}

impl Pager<'_> {
    /// Robots, politeness, fetch, and extraction on a blocking thread. A page where the item
    /// selector matched nothing and that looks built by scripts is rendered in the browser
    /// when the fetcher has one (`auto`), or gets a warning saying why it has no items.
    async fn fetch_page(&self, page: u32, url: Url) -> PageResult {
        if !self.admit(page, &url).await {
            return PageResult::Disallowed;
        }
        let rendered = self.fetcher.renders_javascript();
        let previous = self.previous.and_then(|p| p.get(&url));
        let fetched = match previous {
            Some(known) => {
                self.fetcher
                    .fetch_if_modified(&url, self, &known.final_url, &known.validators)
                    .await
            }
            None => self.fetcher.fetch_through(&url, self).await,
        };
        let fetched = match fetched {
            Ok(p) => p,
            Err(FetchError::Disallowed { .. }) => return PageResult::Disallowed,
            Err(e) => return PageResult::Failed(e.into()),
        };
        if fetched.not_modified()
            && let Some(known) = previous
        {
            let (extract, how) = Fetched::replay(known, fetched.validators);
            return PageResult::Extracted {
                final_url: fetched.final_url,
                extract,
                how,
            };
        }
        let how = Fetched {
            validators: fetched.validators.clone(),
            reused: None,
        };
        let (final_url, mut extract, body) = match self.extract(fetched, 0).await {
            Ok(extracted) => extracted,
            Err(e) => return PageResult::Failed(e),
        };
        if extract.matched > 0 || rendered {
            return PageResult::Extracted {
                final_url,
                extract,
                how,
            };
        }
        let Some(sign) = app_shell_sign(&body) else {
            return PageResult::Extracted {
                final_url,
                extract,
                how,
            };
        };
        let note = match self.fetcher.render_from_now() {
            Escalation::Unavailable(why) => {
                extract.warnings.push(format!(
                    "the item selector matched nothing, and the page looks built by scripts \
                     ({sign}); {why}"
                ));
                return PageResult::Extracted {
                    final_url,
                    extract,
                    how,
                };
            }
            Escalation::Switched => Some(format!(
                "the item selector matched nothing over plain HTTP and the page looks built by \
                 scripts ({sign}); this page and the rest of the run are rendered in the browser"
            )),
            // Another page of the run switched first and said so.
            Escalation::AlreadyRendering => None,
        };
        if matches!(self.spec.pagination, Pagination::NextButton { .. }) {
            return PageResult::Switched { note };
        }
        if !self.admit(page, &url).await {
            return PageResult::Disallowed;
        }
        let fetched = match self.fetcher.fetch_through(&url, self).await {
            Ok(p) => p,
            Err(FetchError::Disallowed { .. }) => return PageResult::Disallowed,
            Err(e) => return PageResult::Failed(e.into()),
        };
        match self.extract(fetched, 0).await {
            Ok((final_url, mut extract, _)) => {
                extract.warnings.splice(0..0, note);
                PageResult::Extracted {
                    final_url,
                    extract,
                    how: Fetched::rendered(),
                }
            }
            Err(e) => PageResult::Failed(e),
        }
    }

    /// robots.txt (false: disallowed), then the host's politeness delay, then `fetching`.
    async fn admit(&self, page: u32, url: &Url) -> bool {
        if !self.polite(url).await {
            return false;
        }
        self.events.emit(&Event::Fetching {
            page,
            url: url.clone(),
        });
        true
    }

    /// The site's robots.txt (false: disallowed), then its politeness delay.
    async fn polite(&self, url: &Url) -> bool {
        let mut crawl_delay = None;
        if self.spec.respect_robots_txt {
            let rules: Arc<RobotsRules> = self.robots.rules(url, self.fetcher).await;
            if !rules.allowed(url) {
                return false;
            }
            crawl_delay = rules.crawl_delay();
        }
        self.politeness
            .wait_turn(url.host_str().unwrap_or_default(), crawl_delay)
            .await;
        true
    }

    /// Extracts a fetched page's items (without its first `skip` ones) on a blocking thread;
    /// gives back the page's final URL and its body with them.
    async fn extract(
        &self,
        fetched: Page,
        skip: usize,
    ) -> Result<(Url, PageExtract, String), PageError> {
        let spec = Arc::clone(self.spec);
        let final_url = fetched.final_url;
        let base = final_url.clone();
        let body = fetched.body;
        // Parsing is CPU-bound: more parses at once than cores only adds threads fighting for
        // the same cores (and memory for their trees), so wait for a core here. The permit goes
        // with the parse and is given back the moment it ends, not when this future is next
        // polled (the pages of a run share one task, which may be busy delivering).
        let core = cpu_permits().acquire().await;
        let budget =
            extract::Budget::for_time(PAGE_EXTRACTION_TIME).with_cancel(self.cancel.clone());
        let limits = self.limits;
        match tokio::task::spawn_blocking(move || {
            let _core = core;
            let extract =
                extract::extract_page_after_within(&spec, &body, &base, skip, &limits, &budget);
            (extract, body)
        })
        .await
        {
            Ok((extract, _)) if extract.stopped == Some(extract::Stopped::Cancelled) => {
                Err(PageError::Cancelled)
            }
            Ok((extract, body)) => Ok((final_url, extract, body)),
            Err(e) => Err(PageError::Extraction(e.to_string())),
        }
    }

    /// Hands a page's items (or, for a page answered 304, which stored items stand for them)
    /// to the sink, trimmed to `max_items`, with what a later run needs to replay the page
    /// (`landed`: where its redirects ended, how it was fetched); emits `extracted`. Returns
    /// `Err(stop)` when the run must stop after this page.
    #[allow(clippy::too_many_arguments)]
    async fn deliver<S: PageSink>(
        &self,
        page: u32,
        url: Url,
        mut extract: PageExtract,
        landed: (Url, Fetched),
        next: (u32, Option<Url>),
        state: &mut State,
        sink: &mut S,
    ) -> Result<(), Stop> {
        let (final_url, mut how) = landed;
        for w in extract.warnings.drain(..) {
            state.warn(self.events, format!("page {page}: {w}"));
        }
        if extract.dropped > 0 {
            state.warn(
                self.events,
                format!(
                    "page {page}: {} item(s) dropped for a missing required field",
                    extract.dropped
                ),
            );
        }
        let mut limit_reached = false;
        let mut available = how.reused.map_or(extract.items.len(), |r| r.items as usize);
        if let Some(max) = self.spec.max_items {
            let room = u64::from(max).saturating_sub(state.total_items) as usize;
            if available >= room {
                extract.items.truncate(room);
                available = room;
                limit_reached = true;
            }
        }
        if let Some(reused) = &mut how.reused {
            reused.items = u32::try_from(available).unwrap_or(u32::MAX);
        }
        // A later run replays only a page it would have got whole: one cut by max_items or
        // stopped by the clock would come back short.
        if limit_reached || extract.stopped.is_some() {
            how.validators = Validators::default();
        }
        let record = PageRecord {
            final_url,
            validators: how.validators,
            next_url: extract.next_url.clone(),
            matched: u32::try_from(extract.matched).unwrap_or(u32::MAX),
            dropped: u32::try_from(extract.dropped).unwrap_or(u32::MAX),
            reused: how.reused,
        };
        let items_on_page = available;
        state.total_items += items_on_page as u64;
        state.pages_scraped += 1;
        state.items_dropped += extract.dropped as u64;
        // Nothing follows a page that reached max_items, also after a resume.
        let next_url = if limit_reached { None } else { next.1 };
        if limit_reached {
            state.live = None;
        }
        let checkpoint = state.checkpoint(next.0, next_url);
        let control = sink
            .save(PageOutput {
                page,
                url,
                items: extract.items,
                record,
                checkpoint,
            })
            .await
            .map_err(|e| Stop::Sink(e.to_string()))?;
        self.events.emit(&Event::Extracted {
            page,
            items_on_page,
            total_items: state.total_items,
        });
        if control == Control::Cancel {
            return Err(Stop::Cancelled);
        }
        if limit_reached {
            return Err(Stop::Done);
        }
        Ok(())
    }

    fn record_failure(&self, state: &mut State, page: u32, url: &Url, error: &PageError) {
        state.pages_failed += 1;
        let message = format!("page {page} ({url}) failed: {error}");
        state.first_error.get_or_insert_with(|| error.to_string());
        state.warn(self.events, message);
    }

    /// One page after another, each found on the previous one (`next_button`), or the single
    /// start page (`none`).
    async fn chain<S: PageSink>(
        &self,
        mut page: u32,
        mut url: Url,
        state: &mut State,
        sink: &mut S,
        cancel: &CancellationToken,
    ) -> Stop {
        let max_pages = self.spec.max_pages.unwrap_or(PAGE_CEILING);
        loop {
            if page > max_pages {
                return Stop::Done;
            }
            state.seen.insert(url.as_str().to_owned());
            let result = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Stop::Cancelled,
                r = self.fetch_page(page, url.clone()) => r,
            };
            let (final_url, extract, how) = match result {
                PageResult::Extracted {
                    final_url,
                    extract,
                    how,
                } => (final_url, extract, how),
                PageResult::Disallowed => {
                    state.warn(
                        self.events,
                        format!("page {page} ({url}) skipped: disallowed by robots.txt"),
                    );
                    return Stop::Done;
                }
                PageResult::Failed(e) => {
                    self.record_failure(state, page, &url, &e);
                    return Stop::Done;
                }
                PageResult::Switched { note } => {
                    if let Some(note) = note {
                        state.warn(self.events, format!("page {page}: {note}"));
                    }
                    // `render_from_now` switched, so the fetcher has its browser now.
                    return match self.fetcher.browser() {
                        Some(browser) => {
                            let at = live::Position {
                                page,
                                url,
                                steps: 0,
                            };
                            Box::pin(self.live_chain(browser, at, state, sink, cancel)).await
                        }
                        None => Stop::Done,
                    };
                }
            };
            state.seen.insert(final_url.as_str().to_owned());
            let landed = (final_url, how);
            if extract.matched == 0 {
                state.warn(
                    self.events,
                    format!("page {page} ({url}): the item selector matched nothing"),
                );
            }
            let next = match &extract.next_url {
                Some(n) if state.seen.contains(n.as_str()) => {
                    state.warn(
                        self.events,
                        format!("page {page}: the next link {n} was already visited; stopping"),
                    );
                    None
                }
                // Pagination stops on a page without items.
                Some(n) if extract.matched > 0 && page < max_pages => Some(n.clone()),
                _ => None,
            };
            let matched = extract.matched;
            if let Err(stop) = self
                .deliver(
                    page,
                    url,
                    extract,
                    landed,
                    (page + 1, next.clone()),
                    state,
                    sink,
                )
                .await
            {
                return stop;
            }
            match next {
                Some(n) if matched > 0 => {
                    url = n;
                    page += 1;
                }
                _ => return Stop::Done,
            }
            if cancel.is_cancelled() {
                return Stop::Cancelled;
            }
        }
    }

    /// Pages known in advance: fetched `concurrent_requests` at a time, delivered in page order.
    async fn url_pattern<S: PageSink>(
        &self,
        pattern: &str,
        first: u32,
        state: &mut State,
        sink: &mut S,
        cancel: &CancellationToken,
    ) -> Stop {
        let last = self.spec.max_pages.unwrap_or(PAGE_CEILING);
        let start = &self.spec.start_url;
        let pages = (first..=last).map(|n| (n, paginate::page_url(start, pattern, n)));
        let mut fetches = futures::stream::iter(pages)
            .map(|(n, url)| async move {
                match url {
                    Ok(url) => {
                        let r = self.fetch_page(n, url.clone()).await;
                        (n, Ok(url), r)
                    }
                    Err(e) => (n, Err(e), PageResult::Disallowed),
                }
            })
            .buffered(self.spec.concurrent_requests.max(1) as usize);
        let mut consecutive_failures = 0;
        loop {
            let next = tokio::select! {
                biased;
                _ = cancel.cancelled() => return Stop::Cancelled,
                n = fetches.next() => n,
            };
            let Some((page, url, result)) = next else {
                return Stop::Done;
            };
            let url = match url {
                Ok(u) => u,
                Err(e) => {
                    state.warn(self.events, format!("page {page}: {e}; stopping"));
                    return Stop::Done;
                }
            };
            // A pattern that does not change the URL would fetch one page forever.
            if !state.seen.insert(url.as_str().to_owned()) {
                state.warn(
                    self.events,
                    format!("page {page}: {url} was already fetched; stopping"),
                );
                return Stop::Done;
            }
            // A site that redirects pages past its end to a page already fetched (the first
            // page, say) would otherwise repeat that page's items up to the page ceiling.
            if let PageResult::Extracted { final_url, .. } = &result
                && *final_url != url
                && !state.seen.insert(final_url.as_str().to_owned())
            {
                state.warn(
                    self.events,
                    format!(
                        "page {page}: {url} redirected to {final_url}, which was already fetched; stopping"
                    ),
                );
                return Stop::Done;
            }
            match result {
                PageResult::Extracted {
                    extract,
                    final_url,
                    how,
                } if extract.matched == 0 => {
                    if page == first {
                        state.warn(
                            self.events,
                            format!("page {page} ({url}): the item selector matched nothing"),
                        );
                        if let Err(stop) = self
                            .deliver(
                                page,
                                url,
                                extract,
                                (final_url, how),
                                (page + 1, None),
                                state,
                                sink,
                            )
                            .await
                        {
                            return stop;
                        }
                    }
                    return Stop::Done;
                }
                PageResult::Extracted {
                    extract,
                    final_url,
                    how,
                } => {
                    consecutive_failures = 0;
                    if let Err(stop) = self
                        .deliver(
                            page,
                            url,
                            extract,
                            (final_url, how),
                            (page + 1, None),
                            state,
                            sink,
                        )
                        .await
                    {
                        return stop;
                    }
                }
                // The pages after a disallowed one are almost always disallowed too (the rule
                // covers the listing); walking all of them would only pile up warnings.
                PageResult::Disallowed => {
                    state.warn(
                        self.events,
                        format!("page {page} ({url}) skipped: disallowed by robots.txt; stopping"),
                    );
                    return Stop::Done;
                }
                // Only `next_button` pages hand over to the browser this way.
                PageResult::Switched { .. } => return Stop::Done,
                // Past the last page: a clean end, unless there is no page at all.
                PageResult::Failed(e) if e.status() == Some(404) && page > first => {
                    return Stop::Done;
                }
                PageResult::Failed(e) => {
                    self.record_failure(state, page, &url, &e);
                    consecutive_failures += 1;
                    if consecutive_failures >= MAX_CONSECUTIVE_FAILURES {
                        state.warn(
                            self.events,
                            format!("{consecutive_failures} pages in a row failed; stopping"),
                        );
                        return Stop::Done;
                    }
                }
            }
            if page >= last {
                return Stop::Done;
            }
        }
    }
}
