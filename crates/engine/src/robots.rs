//! robots.txt: fetched once per origin, cached for the run, consulted before every page.
//!
//! The file is fetched with the run's own [`Fetcher`], so it passes the same network guard,
//! retries and circuit breaker as pages do. What we do when it cannot be had follows RFC 9309
//! where the product allows:
//! - 4xx (404 included): there are no rules → allow all (RFC 9309 §2.3.1.3).
//! - 5xx, network error, timeout: RFC 9309 would have us assume "disallow all". We allow all
//!   and log a warning instead: a user who asked for one page of a flaky site would otherwise
//!   get an empty run with no obvious reason, and the politeness delay still protects the site.
//! - Only the first 500 KiB are parsed (RFC 9309 asks for at least that much; Google stops
//!   there too).
//! - With [`SharedHosts`], a file one worker fetched is read by the others for
//!   [`SHARED_ROBOTS_TTL`] instead of being fetched again. Two workers that miss at the same
//!   moment both fetch it (a duplicate request to robots.txt, never to a page). Failures
//!   (5xx, network) are not shared, so the next worker tries again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use texting_robots::Robot;
use tokio::sync::OnceCell;
use url::Url;

use crate::fetch::{FetchError, Fetcher};
use crate::hosts::{CachedRobots, SharedHosts};

/// How long a robots.txt stored for every worker is used before it is fetched again. RFC 9309
/// allows a day; an hour lets a site's new rules reach running crawls sooner.
pub const SHARED_ROBOTS_TTL: Duration = Duration::from_secs(3600);

/// The product token matched against `User-agent:` lines. texting_robots wants the bare token
/// (`GrandmaScraper`, not `GrandmaScraper/1.0`).
pub const ROBOTS_PRODUCT_TOKEN: &str = "GrandmaScraper";

/// Bytes of robots.txt that are parsed; the rest is ignored.
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;

/// Longest `Crawl-delay` honoured. A site asking for an hour between requests would stall a
/// run forever; a minute is already very slow.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// Origins remembered at most; past it an arbitrary entry is forgotten (and refetched if
/// needed), which bounds memory for crawls that wander over many sites.
const MAX_ORIGINS: usize = 4096;

/// The rules of one origin.
#[derive(Debug)]
pub struct RobotsRules {
    robot: Option<Robot>,
}

impl RobotsRules {
    pub fn allow_all() -> Self {
        Self { robot: None }
    }

    /// Parses a robots.txt body for [`ROBOTS_PRODUCT_TOKEN`] (falling back to the `*` group).
    /// Unparseable files allow everything.
    pub fn parse(body: &[u8]) -> Self {
        let body = body.get(..MAX_ROBOTS_BYTES).unwrap_or(body);
        match Robot::new(ROBOTS_PRODUCT_TOKEN, body) {
            Ok(robot) => Self { robot: Some(robot) },
            Err(e) => {
                tracing::warn!(error = %e, "unparseable robots.txt, allowing all");
                Self::allow_all()
            }
        }
    }

    pub fn allowed(&self, url: &Url) -> bool {
        self.robot.as_ref().is_none_or(|r| r.allowed(url.as_str()))
    }

    /// `Crawl-delay` for our group, clamped to [`MAX_CRAWL_DELAY`].
    pub fn crawl_delay(&self) -> Option<Duration> {
        let secs = self.robot.as_ref()?.delay?;
        if !secs.is_finite() || secs <= 0.0 {
            return None;
        }
        Some(Duration::from_secs_f32(
            secs.min(MAX_CRAWL_DELAY.as_secs_f32()),
        ))
    }
}

type Slot = Arc<OnceCell<Arc<RobotsRules>>>;

/// robots.txt rules per origin (scheme, host, port), fetched on first use.
#[derive(Debug, Default)]
pub struct RobotsCache {
    origins: Mutex<HashMap<String, Slot>>,
    shared: Option<Arc<dyn SharedHosts>>,
}

impl RobotsCache {
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads and stores files through `shared` (every worker's cache) before fetching.
    #[must_use]
    pub fn with_shared(mut self, shared: Arc<dyn SharedHosts>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// The rules that apply to `url`. Concurrent callers for the same origin wait for one
    /// shared fetch.
    pub async fn rules(&self, url: &Url, fetcher: &dyn Fetcher) -> Arc<RobotsRules> {
        let origin = url.origin();
        if !origin.is_tuple() {
            return Arc::new(RobotsRules::allow_all());
        }
        let key = origin.ascii_serialization();
        let slot = self.slot(key.clone());
        slot.get_or_init(|| async {
            match &self.shared {
                Some(shared) => shared_rules(shared.as_ref(), &key, url, fetcher).await,
                None => Arc::new(fetch_rules(url, fetcher).await.0),
            }
        })
        .await
        .clone()
    }

    fn slot(&self, key: String) -> Slot {
        let mut origins = self.origins.lock().unwrap_or_else(PoisonError::into_inner);
        if !origins.contains_key(&key) && origins.len() >= MAX_ORIGINS {
            let victim = origins.keys().next().cloned();
            if let Some(victim) = victim {
                origins.remove(&victim);
            }
        }
        origins.entry(key).or_default().clone()
    }
}

/// The rules from every worker's cache, or fetched and then stored there. A cache that fails
/// is logged and passed by: the file is fetched as without one.
async fn shared_rules(
    shared: &dyn SharedHosts,
    origin: &str,
    url: &Url,
    fetcher: &dyn Fetcher,
) -> Arc<RobotsRules> {
    match shared.robots(origin).await {
        Ok(Some(CachedRobots::Body(body))) => {
            return Arc::new(RobotsRules::parse(body.as_bytes()));
        }
        Ok(Some(CachedRobots::AllowAll)) => return Arc::new(RobotsRules::allow_all()),
        Ok(None) => {}
        Err(error) => {
            tracing::warn!(%error, origin, "fetching robots.txt without the shared cache")
        }
    }
    let (rules, cacheable) = fetch_rules(url, fetcher).await;
    if let Some(cached) = cacheable
        && let Err(error) = shared
            .store_robots(origin, &cached, SHARED_ROBOTS_TTL)
            .await
    {
        tracing::warn!(%error, origin, "robots.txt not stored for the other workers");
    }
    Arc::new(rules)
}

/// The rules of `url`'s origin, and what other workers may reuse (none after a failure).
async fn fetch_rules(url: &Url, fetcher: &dyn Fetcher) -> (RobotsRules, Option<CachedRobots>) {
    let Ok(robots_url) = url.join("/robots.txt") else {
        return (RobotsRules::allow_all(), None);
    };
    match fetcher.fetch(&robots_url).await {
        Ok(page) => {
            let body = page.body.as_bytes();
            let body = body.get(..MAX_ROBOTS_BYTES).unwrap_or(body);
            // Cut at the parse limit, possibly inside a character: stored as the same text,
            // without NULs, which mean nothing in robots.txt and PostgreSQL's text refuses.
            let text = String::from_utf8_lossy(body).replace('\0', "");
            (RobotsRules::parse(body), Some(CachedRobots::Body(text)))
        }
        Err(err) => match err.status() {
            Some(status) if (400..500).contains(&status) => {
                (RobotsRules::allow_all(), Some(CachedRobots::AllowAll))
            }
            _ => {
                warn_unavailable(&robots_url, &err);
                (RobotsRules::allow_all(), None)
            }
        },
    }
}

fn warn_unavailable(robots_url: &Url, err: &FetchError) {
    tracing::warn!(
        url = %robots_url,
        error = %err,
        "robots.txt unavailable; crawling as if it allowed everything"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("test URL")
    }

    #[test]
    fn our_group_wins_over_star() {
        let rules = RobotsRules::parse(
            b"User-agent: *\nDisallow: /\n\nUser-agent: GrandmaScraper\nDisallow: /private\nCrawl-delay: 2.5\n",
        );
        assert!(rules.allowed(&url("https://x.test/public")));
        assert!(!rules.allowed(&url("https://x.test/private/a?b=c")));
        assert_eq!(rules.crawl_delay(), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn crawl_delay_is_clamped_and_sane() {
        let rules = RobotsRules::parse(b"User-agent: *\nCrawl-delay: 86400\n");
        assert_eq!(rules.crawl_delay(), Some(MAX_CRAWL_DELAY));
        assert_eq!(RobotsRules::allow_all().crawl_delay(), None);
    }

    #[test]
    fn robots_txt_itself_is_always_allowed() {
        let rules = RobotsRules::parse(b"User-agent: *\nDisallow: /\n");
        assert!(rules.allowed(&url("https://x.test/robots.txt")));
        assert!(!rules.allowed(&url("https://x.test/")));
    }
}
