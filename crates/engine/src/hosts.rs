//! Politeness state shared by every worker: each host's next request slot and each origin's
//! robots.txt. A run's own [`Politeness`](crate::politeness::Politeness) and
//! [`RobotsCache`](crate::robots::RobotsCache) hold them in memory, which is right for one
//! process; with several workers on one site each would space only its own requests. Given a
//! [`SharedHosts`], they reserve slots and read robots.txt through it instead, so the site sees
//! the job's delay whatever the number of workers.
//!
//! The engine defines the contract only; the worker layer implements it over PostgreSQL or
//! Redis. A failing implementation never stops a crawl: the caller falls back to its local
//! state for that request and logs why.

use std::time::Duration;

use futures::future::BoxFuture;

/// What an implementation failed with (a lost connection, a timeout).
#[derive(Debug, thiserror::Error)]
#[error("shared politeness state unavailable: {0}")]
pub struct SharedHostsError(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// robots.txt as any worker fetched it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CachedRobots {
    /// The file's body as text (at most
    /// [`MAX_ROBOTS_BYTES`](crate::robots::MAX_ROBOTS_BYTES)).
    Body(String),
    /// No rules: the site answered 4xx.
    AllowAll,
}

/// Per-host slots and robots.txt held across every worker.
pub trait SharedHosts: Send + Sync + std::fmt::Debug {
    /// Reserves `host`'s next request slot for a request followed by at least `gap`:
    /// `slot = max(now, next_free)`, then `next_free = slot + gap`, atomically for every
    /// worker and by one clock (the database's or Redis's). Returns how long the caller waits
    /// from now until its slot.
    fn reserve<'a>(
        &'a self,
        host: &'a str,
        gap: Duration,
    ) -> BoxFuture<'a, Result<Duration, SharedHostsError>>;

    /// `origin`'s robots.txt if a worker stored it less than its time to live ago.
    fn robots<'a>(
        &'a self,
        origin: &'a str,
    ) -> BoxFuture<'a, Result<Option<CachedRobots>, SharedHostsError>>;

    /// Stores `origin`'s robots.txt for `ttl`.
    fn store_robots<'a>(
        &'a self,
        origin: &'a str,
        robots: &'a CachedRobots,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedHostsError>>;
}
