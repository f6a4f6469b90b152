//! [`for_job`]: the fetcher a job asks for, built from the job, the network guard and the
//! program's browser pool (if it has one). Every caller (CLI, worker, server) builds its
//! fetchers here, so `fetcher_type` means the same everywhere.

use std::path::Path;
use std::sync::Arc;

use super::browser::{
    BrowserError, BrowserFetcher, BrowserPool, ChromiumMissing, PageOptions, locate_chromium,
};
use super::{AutoFetcher, FetchError, FetchOptions, Fetcher, HttpFetcher};
use crate::guard::NetworkGuard;
use crate::spec::{FetcherType, JobSpec, Pagination};

/// Whether the job cannot run at all without a browser (`auto` can: it only renders the pages
/// that need it, and runs over plain HTTP when there is no browser).
pub fn needs_browser(spec: &JobSpec) -> bool {
    spec.fetcher_type == FetcherType::Browser
        || matches!(spec.pagination, Pagination::InfiniteScroll { .. })
}

/// Whether this program can run `spec` as it asks: an error in words when the job needs a
/// browser and no Chromium is found (`chromium`: the configured path, if any). Job validation,
/// `grandma validate` and health reports call it; it starts nothing.
pub fn check_browser(spec: &JobSpec, chromium: Option<&Path>) -> Result<(), ChromiumMissing> {
    if needs_browser(spec) {
        locate_chromium(chromium)?;
    }
    Ok(())
}

/// What the browser needs to know of the job's pages.
pub fn page_options(spec: &JobSpec) -> PageOptions {
    PageOptions {
        items: Some((spec.item_selector.source.clone(), spec.item_selector.kind)),
        next: match &spec.pagination {
            Pagination::NextButton { selector } => Some((selector.source.clone(), selector.kind)),
            _ => None,
        },
        load_media: spec.load_media,
    }
}

/// Builds the fetcher for one run of `spec`:
/// - `requests`: plain HTTP;
/// - `browser`, and any job with `infinite_scroll`: the browser (an error without `pool`);
/// - `auto`: plain HTTP that switches to the browser when a page needs JavaScript, or plain
///   HTTP alone without `pool` (the run then says why it could not switch).
///
/// Call it within a tokio runtime: a browser fetcher starts the run's proxy task.
pub fn for_job(
    spec: &JobSpec,
    guard: NetworkGuard,
    pool: Option<&BrowserPool>,
) -> Result<Arc<dyn Fetcher>, FetchError> {
    let kind = match needs_browser(spec) {
        true => FetcherType::Browser,
        false => spec.fetcher_type,
    };
    let options = crate::crawl::fetch_options(spec);
    for_pages(kind, guard, options, page_options(spec), pool)
}

/// [`for_job`] for pages looked at outside a job (detection): `kind` as a job's
/// `fetcher_type`, `page` what the browser waits for.
pub fn for_pages(
    kind: FetcherType,
    guard: NetworkGuard,
    options: FetchOptions,
    page: PageOptions,
    pool: Option<&BrowserPool>,
) -> Result<Arc<dyn Fetcher>, FetchError> {
    match kind {
        FetcherType::Browser => {
            let pool = pool.ok_or_else(|| {
                BrowserError::NotAvailable("no browser was started for this program".into())
            })?;
            Ok(Arc::new(BrowserFetcher::new(pool, guard, options, page)?))
        }
        FetcherType::Auto => {
            let http = HttpFetcher::new(guard.clone(), options)?;
            let pool = pool.cloned().ok_or_else(|| {
                "no browser is available (install the `chromium` package or set \
                 GRANDMA_CHROMIUM)"
                    .to_owned()
            });
            Ok(Arc::new(AutoFetcher::new(http, pool, guard, page)))
        }
        FetcherType::Requests => Ok(Arc::new(HttpFetcher::new(guard, options)?)),
    }
}
