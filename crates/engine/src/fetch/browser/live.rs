//! Pagination inside one page that stays open in a tab: scrolling for more items, clicking a
//! next button whose link is a script. The crawl loop drives it (`crawl/live.rs`); this side
//! only operates the tab and reads the page.

use std::time::Duration;

use url::Url;

use super::tab::{Clicked, Tab};
use super::{BrowserError, BrowserFetcher};
use crate::fetch::attempts::Fetched;
use crate::fetch::{FetchError, Page};

/// A page kept open for the caller. Dropping it hands the tab back to the run.
#[derive(Debug)]
pub struct LivePage<'f> {
    fetcher: &'f BrowserFetcher,
    tab: Option<Tab>,
}

/// What one scroll did.
#[derive(Debug)]
pub struct Scroll {
    /// Elements the item selector matched before and after (as the browser counts them).
    pub before: i64,
    pub after: i64,
    /// The page, when there are more items than before.
    pub page: Option<Page>,
}

/// What a click on the next button came to.
#[derive(Debug)]
pub enum NextClick {
    /// The next page, once the items changed (in place, or after a navigation).
    Page(Box<Page>),
    /// No element matches the next-button selector: the last page.
    NoButton,
    /// The click changed nothing within the page's timeout.
    Unchanged,
}

/// A tab with the page loaded in it, as one attempt of [`BrowserFetcher::open_live`] gives it.
struct Opened {
    tab: Tab,
    page: Page,
}

impl Fetched for Opened {
    fn status(&self) -> u16 {
        self.page.status
    }
    fn set_attempts(&mut self, attempts: u32) {
        self.page.attempts = attempts;
    }
}

impl BrowserFetcher {
    /// Loads `url` in a tab that stays open for scrolling or clicking; retried, guarded and
    /// circuit-broken like [`fetch`](crate::fetch::Fetcher::fetch).
    pub async fn open_live(&self, url: &Url) -> Result<(LivePage<'_>, Page), FetchError> {
        let opened = self
            .attempts()
            .run(url, || async {
                let (tab, page) = self.load_in_tab(url).await?;
                Ok(Opened { tab, page })
            })
            .await?;
        let live = LivePage {
            fetcher: self,
            tab: Some(opened.tab),
        };
        Ok((live, opened.page))
    }
}

impl LivePage<'_> {
    fn tab(&mut self) -> Result<&mut Tab, FetchError> {
        self.tab
            .as_mut()
            .ok_or(FetchError::Browser(BrowserError::Gone))
    }

    /// Loads `url` in this tab (a next link that is a real URL), once: the caller decides
    /// about retries, since a live page cannot simply be fetched again.
    pub async fn navigate(&mut self, url: &Url) -> Result<Page, FetchError> {
        let fetcher = self.fetcher;
        fetcher.guard.check_url(url)?;
        let mark = fetcher.context.proxy().failure_mark();
        let tab = self.tab()?;
        match tab.load(url, &fetcher.rules, fetcher.options.timeout).await {
            Ok(snapshot) => fetcher.page_from(url, mark, snapshot),
            Err(e) => Err(fetcher.failed(tab, url, mark, e).await),
        }
    }

    /// Scrolls to the end of the list, waits `wait`, and reads the page if it grew.
    pub async fn scroll(&mut self, url: &Url, wait: Duration) -> Result<Scroll, FetchError> {
        let fetcher = self.fetcher;
        let mark = fetcher.context.proxy().failure_mark();
        let tab = self.tab()?;
        let scrolled = match tab
            .scroll(&fetcher.rules, wait, fetcher.options.timeout)
            .await
        {
            Ok(scrolled) => scrolled,
            Err(e) => return Err(fetcher.failed(tab, url, mark, e).await),
        };
        let page = scrolled
            .page
            .map(|snapshot| fetcher.page_from(url, mark, snapshot))
            .transpose()?;
        Ok(Scroll {
            before: scrolled.before,
            after: scrolled.after,
            page,
        })
    }

    /// Clicks the next button and reads the page once it changed.
    pub async fn click_next(&mut self, url: &Url) -> Result<NextClick, FetchError> {
        let fetcher = self.fetcher;
        let mark = fetcher.context.proxy().failure_mark();
        let tab = self.tab()?;
        match tab
            .click_next(&fetcher.rules, fetcher.options.timeout)
            .await
        {
            Ok(Clicked::Changed(snapshot)) => fetcher
                .page_from(url, mark, snapshot)
                .map(|page| NextClick::Page(Box::new(page))),
            Ok(Clicked::NoButton) => Ok(NextClick::NoButton),
            Ok(Clicked::Unchanged) => Ok(NextClick::Unchanged),
            Err(e) => Err(fetcher.failed(tab, url, mark, e).await),
        }
    }
}

impl Drop for LivePage<'_> {
    fn drop(&mut self) {
        if let Some(tab) = self.tab.take() {
            self.fetcher.context.give_back(tab);
        }
    }
}
