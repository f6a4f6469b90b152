//! Pagination inside one page kept open in the browser: infinite scroll, and next buttons
//! that are scripts (`href="#"`, `javascript:`, a `<button>`).
//!
//! These are strategies of the same crawl loop: each step (a scroll, a click) waits for the
//! host's politeness slot, emits `fetching`, is extracted off the executor and delivered with a
//! checkpoint like any page. The checkpoint's [`LiveCheckpoint`] says how to get back: open the
//! URL again and repeat the steps. The same replay recovers a tab whose renderer crashed or a
//! browser that died, up to the job's `retry_count` times.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use url::Url;

use super::{Fetched, LiveCheckpoint, PAGE_CEILING, PageError, PageSink, Pager, State, Stop};
use crate::fetch::browser::{LivePage, NextClick};
use crate::fetch::{BrowserFetcher, FetchError, Page, retry};

/// Where a live page starts: the page number to deliver next, the URL to open, and the steps
/// (scrolls or clicks) to repeat there first.
#[derive(Debug, Clone)]
pub(super) struct Position {
    pub page: u32,
    pub url: Url,
    pub steps: u32,
}

impl Position {
    pub(super) fn start(url: &Url) -> Self {
        Self {
            page: 1,
            url: url.clone(),
            steps: 0,
        }
    }
}

/// Infinite scroll's settings, and the items a resumed run already handed on.
#[derive(Debug, Clone, Copy)]
pub(super) struct Scrolling {
    pub max_scrolls: u32,
    pub wait: Duration,
    pub items_seen: u64,
}

/// What to do after a page of a click chain.
enum Next {
    Link(Url),
    Click,
    End,
}

impl Pager<'_> {
    /// Infinite scroll: the page as loaded is page 1; each scroll that brings more items is the
    /// next page, carrying only the new items, so every item comes out once, in page order.
    /// Stops after `max_scrolls`, or as soon as a scroll brings nothing.
    pub(super) async fn scroll<S: PageSink>(
        &self,
        browser: &BrowserFetcher,
        at: Position,
        scrolling: Scrolling,
        state: &mut State,
        sink: &mut S,
        cancel: &CancellationToken,
    ) -> Stop {
        let Position {
            mut page,
            url,
            steps: mut scrolls,
        } = at;
        let mut seen = usize::try_from(scrolling.items_seen).unwrap_or(usize::MAX);
        let mut reopened = 0;
        'open: loop {
            let (mut live, mut doc) = match self.open(browser, page, &url, state, cancel).await {
                Ok(opened) => opened,
                Err(stop) => return stop,
            };
            // Back to where the run was (a resumed run, a crashed tab): the same scrolls again.
            let mut replayed = 0;
            while replayed < scrolls {
                match step(cancel, live.scroll(&url, scrolling.wait)).await {
                    Ok(Some(scrolled)) => match scrolled.page {
                        Some(grown) => doc = grown,
                        None => break,
                    },
                    Ok(None) => return Stop::Cancelled,
                    Err(e) if self.may_reopen(&e, &mut reopened, state, page) => continue 'open,
                    Err(e) => return self.fail(state, page, &url, e),
                }
                replayed += 1;
            }
            loop {
                let (final_url, extract) = match self.extract(doc, seen).await {
                    Ok((final_url, extract, _)) => (final_url, extract),
                    Err(PageError::Cancelled) => return Stop::Cancelled,
                    Err(e) => {
                        self.record_failure(state, page, &url, &e);
                        return Stop::Done;
                    }
                };
                let matched = extract.matched;
                if matched > seen || (page == 1 && seen == 0) {
                    if matched == 0 {
                        state.warn(
                            self.events,
                            format!("page {page} ({url}): the item selector matched nothing"),
                        );
                    }
                    state.live = Some(LiveCheckpoint {
                        url: url.clone(),
                        steps: scrolls,
                        items_seen: matched as u64,
                    });
                    if let Err(stop) = self
                        .deliver(
                            page,
                            final_url.clone(),
                            extract,
                            (final_url, Fetched::rendered()),
                            (page + 1, None),
                            state,
                            sink,
                        )
                        .await
                    {
                        return stop;
                    }
                    page += 1;
                    seen = matched;
                }
                if scrolls >= scrolling.max_scrolls || cancel.is_cancelled() {
                    return if cancel.is_cancelled() {
                        Stop::Cancelled
                    } else {
                        Stop::Done
                    };
                }
                if !self.admit(page, &url).await {
                    return self.disallowed(state, page, &url);
                }
                match step(cancel, live.scroll(&url, scrolling.wait)).await {
                    Ok(Some(scrolled)) => match scrolled.page {
                        Some(grown) => {
                            scrolls += 1;
                            doc = grown;
                        }
                        // The count stopped growing: the end of the list.
                        None => return Stop::Done,
                    },
                    Ok(None) => return Stop::Cancelled,
                    Err(e) if self.may_reopen(&e, &mut reopened, state, page) => {
                        // This scroll is repeated after the replay.
                        continue 'open;
                    }
                    Err(e) => return self.fail(state, page, &url, e),
                }
            }
        }
    }

    /// `next_button` in the browser: a real link is followed in the same tab, a script (`#`,
    /// `javascript:`, a button) is clicked the way a person would, and the page read once its
    /// items changed. A page whose items repeat an earlier page's ends the chain (a carousel).
    pub(super) async fn live_chain<S: PageSink>(
        &self,
        browser: &BrowserFetcher,
        at: Position,
        state: &mut State,
        sink: &mut S,
        cancel: &CancellationToken,
    ) -> Stop {
        let max_pages = self.spec.max_pages.unwrap_or(PAGE_CEILING);
        let Position {
            mut page,
            mut url,
            steps: mut clicks,
        } = at;
        let mut reopened = 0;
        let mut pages_seen: HashSet<u64> = HashSet::new();
        'open: loop {
            if page > max_pages {
                return Stop::Done;
            }
            state.seen.insert(url.as_str().to_owned());
            let (mut live, mut doc) = match self.open(browser, page, &url, state, cancel).await {
                Ok(opened) => opened,
                Err(stop) => return stop,
            };
            for _ in 0..clicks {
                match step(cancel, live.click_next(&url)).await {
                    Ok(Some(NextClick::Page(next))) => doc = *next,
                    Ok(Some(NextClick::NoButton | NextClick::Unchanged)) => {
                        state.warn(
                            self.events,
                            format!("page {page}: the pages could not be clicked through again; stopping"),
                        );
                        return Stop::Done;
                    }
                    Ok(None) => return Stop::Cancelled,
                    Err(e) if self.may_reopen(&e, &mut reopened, state, page) => continue 'open,
                    Err(e) => return self.fail(state, page, &url, e),
                }
            }
            loop {
                let (final_url, extract) = match self.extract(doc, 0).await {
                    Ok((final_url, extract, _)) => (final_url, extract),
                    Err(PageError::Cancelled) => return Stop::Cancelled,
                    Err(e) => {
                        self.record_failure(state, page, &url, &e);
                        return Stop::Done;
                    }
                };
                state.seen.insert(final_url.as_str().to_owned());
                if extract.matched == 0 {
                    state.warn(
                        self.events,
                        format!("page {page} ({final_url}): the item selector matched nothing"),
                    );
                }
                if !pages_seen.insert(fingerprint(&extract.items)) && extract.matched > 0 {
                    state.warn(
                        self.events,
                        format!("page {page} shows the same items as an earlier page; stopping"),
                    );
                    return Stop::Done;
                }
                let next = match &extract.next_url {
                    _ if extract.matched == 0 || page >= max_pages => Next::End,
                    Some(link) if state.seen.contains(link.as_str()) => {
                        state.warn(
                            self.events,
                            format!(
                                "page {page}: the next link {link} was already visited; stopping"
                            ),
                        );
                        Next::End
                    }
                    Some(link) => Next::Link(link.clone()),
                    None => Next::Click,
                };
                state.live = match next {
                    Next::Click => Some(LiveCheckpoint {
                        url: url.clone(),
                        steps: clicks + 1,
                        items_seen: 0,
                    }),
                    Next::Link(_) | Next::End => None,
                };
                let next_url = match &next {
                    Next::Link(link) => Some(link.clone()),
                    Next::Click | Next::End => None,
                };
                if let Err(stop) = self
                    .deliver(
                        page,
                        final_url.clone(),
                        extract,
                        (final_url, Fetched::rendered()),
                        (page + 1, next_url),
                        state,
                        sink,
                    )
                    .await
                {
                    return stop;
                }
                if cancel.is_cancelled() {
                    return Stop::Cancelled;
                }
                page += 1;
                match next {
                    Next::End => return Stop::Done,
                    Next::Link(link) => {
                        if !self.admit(page, &link).await {
                            return self.disallowed(state, page, &link);
                        }
                        state.seen.insert(link.as_str().to_owned());
                        let navigated = step(cancel, live.navigate(&link)).await;
                        url = link;
                        clicks = 0;
                        match navigated {
                            Ok(Some(next_doc)) => doc = next_doc,
                            Ok(None) => return Stop::Cancelled,
                            Err(e) if self.may_reopen(&e, &mut reopened, state, page) => {
                                continue 'open;
                            }
                            Err(e) => return self.fail(state, page, &url, e),
                        }
                    }
                    Next::Click => {
                        if !self.admit(page, &url).await {
                            return self.disallowed(state, page, &url);
                        }
                        clicks += 1;
                        match step(cancel, live.click_next(&url)).await {
                            Ok(Some(NextClick::Page(next_doc))) => doc = *next_doc,
                            Ok(Some(NextClick::NoButton)) => return Stop::Done,
                            Ok(Some(NextClick::Unchanged)) => {
                                state.warn(
                                    self.events,
                                    format!(
                                        "page {page}: clicking the next button changed nothing \
                                         within {}s; stopping",
                                        self.spec.timeout_seconds
                                    ),
                                );
                                return Stop::Done;
                            }
                            Ok(None) => return Stop::Cancelled,
                            Err(e) if self.may_reopen(&e, &mut reopened, state, page) => {
                                continue 'open;
                            }
                            Err(e) => return self.fail(state, page, &url, e),
                        }
                    }
                }
            }
        }
    }

    /// robots.txt and politeness for `url`, then the page opened in a tab kept for the caller.
    async fn open<'b>(
        &self,
        browser: &'b BrowserFetcher,
        page: u32,
        url: &Url,
        state: &mut State,
        cancel: &CancellationToken,
    ) -> Result<(LivePage<'b>, Page), Stop> {
        if !self.admit(page, url).await {
            return Err(self.disallowed(state, page, url));
        }
        match step(cancel, browser.open_live(url)).await {
            Ok(Some(opened)) => Ok(opened),
            Ok(None) => Err(Stop::Cancelled),
            Err(e) => Err(self.fail(state, page, url, e)),
        }
    }

    /// Whether a failed step is worth opening the page again (and says so), counting the
    /// reopenings against the job's `retry_count`.
    fn may_reopen(
        &self,
        error: &FetchError,
        reopened: &mut u32,
        state: &mut State,
        page: u32,
    ) -> bool {
        if !retry::is_retryable(error) || *reopened >= self.spec.retry_count {
            return false;
        }
        *reopened += 1;
        state.warn(
            self.events,
            format!(
                "page {page}: {error}; opening the page again and returning to where the run was"
            ),
        );
        true
    }

    fn fail(&self, state: &mut State, page: u32, url: &Url, error: FetchError) -> Stop {
        self.record_failure(state, page, url, &PageError::Fetch(error));
        Stop::Done
    }

    fn disallowed(&self, state: &mut State, page: u32, url: &Url) -> Stop {
        state.warn(
            self.events,
            format!("page {page} ({url}) skipped: disallowed by robots.txt"),
        );
        Stop::Done
    }
}

/// Awaits a step unless the run is cancelled first (`Ok(None)`).
async fn step<T>(
    cancel: &CancellationToken,
    work: impl std::future::Future<Output = Result<T, FetchError>>,
) -> Result<Option<T>, FetchError> {
    tokio::select! {
        biased;
        _ = cancel.cancelled() => Ok(None),
        result = work => result.map(Some),
    }
}

/// A page's items, summarised: two pages with the same items have the same fingerprint.
fn fingerprint(items: &[crate::Item]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for item in items {
        format!("{item:?}").hash(&mut hasher);
    }
    hasher.finish()
}
