//! GrandmaScraper's scraping engine.
//!
//! Everything a run needs and nothing about where it is stored or who asked for it: the job
//! document and its validation ([`spec`]), the network guard ([`guard`]), fetching with retries,
//! circuit breaking and politeness ([`fetch`], [`robots`], [`politeness`]), extraction with CSS
//! and XPath 1.0 ([`extract`], [`xpath`]), pagination ([`paginate`]), the crawl loop that emits
//! events ([`crawl`]) and the streaming exporters ([`export`]); and, for people who do not
//! write selectors, detection of the lists on a page and selectors generalised from clicked
//! examples ([`detect`]).
//!
//! The engine knows nothing of databases or HTTP servers; the store, server and worker crates
//! build on it.

pub mod crawl;
pub mod detect;
pub mod export;
pub mod extract;
pub mod fetch;
pub mod guard;
pub mod hosts;
pub mod identity;
pub mod item;
pub mod paginate;
pub mod parse;
pub mod politeness;
pub mod revisit;
pub mod robots;
pub mod selector;
pub mod spec;
pub mod survey;

pub use hosts::{CachedRobots, SharedHosts, SharedHostsError};
pub use item::{FieldValue, Item};
pub use spec::JobSpec;

/// XPath 1.0 lives in its own crate; re-exported so engine users need one import path.
pub use grandma_xpath as xpath;
