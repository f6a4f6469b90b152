//! Per-host politeness: a random delay between requests to the same site
//! (`min_delay_ms`..`max_delay_ms`), raised by robots.txt `Crawl-delay`.
//!
//! Each host has a "next free" instant. A caller reserves the host's next slot under a short
//! lock (`slot = max(now, next_free)`, then `next_free = slot + delay`) and sleeps outside the
//! lock until its slot. Reserving before sleeping is what lets many tasks of one run
//! (`concurrent_requests`) share the object: they queue up on a busy host in order, while
//! tasks for other hosts never wait on it.
//!
//! With [`SharedHosts`] the same reservation is made through state every worker shares, so
//! several workers on one site are spaced as one; the local map is then only the fallback for a
//! request whose shared reservation failed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;

use crate::hosts::SharedHosts;

/// Past this many remembered hosts, hosts whose slot is already in the past are forgotten:
/// their entry no longer delays anyone (`max(now, past) = now`).
const PRUNE_AT: usize = 1024;

#[derive(Debug)]
pub struct Politeness {
    min_delay: Duration,
    max_delay: Duration,
    next_free: Mutex<HashMap<String, Instant>>,
    shared: Option<Arc<dyn SharedHosts>>,
}

impl Politeness {
    /// A `max_delay` below `min_delay` is treated as `min_delay`.
    pub fn new(min_delay: Duration, max_delay: Duration) -> Self {
        Self {
            min_delay,
            max_delay: max_delay.max(min_delay),
            next_free: Mutex::new(HashMap::new()),
            shared: None,
        }
    }

    /// Reserves slots through `shared` (every worker's state) instead of this object's map.
    #[must_use]
    pub fn with_shared(mut self, shared: Arc<dyn SharedHosts>) -> Self {
        self.shared = Some(shared);
        self
    }

    /// Waits until this caller may send a request to `host`. `crawl_delay` (from robots.txt)
    /// raises the delay after this request to at least that much.
    pub async fn wait_turn(&self, host: &str, crawl_delay: Option<Duration>) {
        let crawl_delay = crawl_delay.unwrap_or(Duration::ZERO);
        // No delay configured: no lock, no clock, no map entry. The benchmark's case.
        if self.max_delay.is_zero() && crawl_delay.is_zero() {
            return;
        }
        let delay = self.draw_delay().max(crawl_delay);
        if let Some(shared) = &self.shared {
            match shared.reserve(host, delay).await {
                Ok(wait) => {
                    if !wait.is_zero() {
                        tokio::time::sleep(wait).await;
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(%error, host, "spacing this request by this run alone");
                }
            }
        }
        let now = Instant::now();
        let slot = {
            let mut next_free = self
                .next_free
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if next_free.len() >= PRUNE_AT && !next_free.contains_key(host) {
                next_free.retain(|_, free| *free > now);
            }
            match next_free.get_mut(host) {
                Some(free) => {
                    let slot = (*free).max(now);
                    *free = slot + delay;
                    slot
                }
                None => {
                    next_free.insert(host.to_owned(), now + delay);
                    now
                }
            }
        };
        if slot > now {
            tokio::time::sleep_until(slot).await;
        }
    }

    fn draw_delay(&self) -> Duration {
        if self.min_delay == self.max_delay {
            self.min_delay
        } else {
            rand::rng().random_range(self.min_delay..=self.max_delay)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Runs `wait_turn` `n` times for `host` in sequence and returns the gaps between turns.
    async fn gaps(
        p: &Politeness,
        host: &str,
        crawl_delay: Option<Duration>,
        n: usize,
    ) -> Vec<Duration> {
        let mut last = Instant::now();
        let mut out = Vec::new();
        for i in 0..n {
            p.wait_turn(host, crawl_delay).await;
            let now = Instant::now();
            if i > 0 {
                out.push(now - last);
            }
            last = now;
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn same_host_turns_are_spaced_within_bounds() {
        let p = Politeness::new(100 * MS, 300 * MS);
        let start = Instant::now();
        p.wait_turn("a.test", None).await;
        assert_eq!(Instant::now(), start, "the first turn does not wait");
        for gap in gaps(&p, "a.test", None, 20).await {
            assert!(gap >= 100 * MS && gap <= 300 * MS, "{gap:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn crawl_delay_raises_the_gap() {
        let p = Politeness::new(100 * MS, 200 * MS);
        for gap in gaps(&p, "slow.test", Some(Duration::from_secs(2)), 5).await {
            assert!(gap >= Duration::from_secs(2), "{gap:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_queue_per_host_and_hosts_are_independent() {
        let p = Arc::new(Politeness::new(
            Duration::from_secs(1),
            Duration::from_secs(1),
        ));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..3 {
            for host in ["a.test", "b.test"] {
                let p = Arc::clone(&p);
                tasks.push(tokio::spawn(async move {
                    p.wait_turn(host, None).await;
                    (host, i, Instant::now() - start)
                }));
            }
        }
        let mut done = Vec::new();
        for t in tasks {
            done.push(t.await.expect("task"));
        }
        for host in ["a.test", "b.test"] {
            let mut times: Vec<Duration> = done
                .iter()
                .filter(|(h, _, _)| *h == host)
                .map(|(_, _, t)| *t)
                .collect();
            times.sort();
            // Each host starts at once and then gets one turn per second, whatever the other
            // host is doing.
            assert_eq!(
                times,
                vec![
                    Duration::ZERO,
                    Duration::from_secs(1),
                    Duration::from_secs(2)
                ]
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn zero_delay_never_sleeps_nor_remembers() {
        let p = Politeness::new(Duration::ZERO, Duration::ZERO);
        let start = Instant::now();
        for _ in 0..100 {
            p.wait_turn("fast.test", None).await;
        }
        assert_eq!(Instant::now(), start);
        assert!(p.next_free.lock().expect("lock").is_empty());
    }

    /// Shared state kept in one map: two `Politeness` objects (two workers) over it.
    #[derive(Debug, Default)]
    struct OneMap(Mutex<HashMap<String, Instant>>);

    impl SharedHosts for OneMap {
        fn reserve<'a>(
            &'a self,
            host: &'a str,
            gap: Duration,
        ) -> futures::future::BoxFuture<'a, Result<Duration, crate::hosts::SharedHostsError>>
        {
            Box::pin(async move {
                let now = Instant::now();
                let mut map = self.0.lock().expect("lock");
                let free = map.entry(host.to_owned()).or_insert(now);
                let slot = (*free).max(now);
                *free = slot + gap;
                Ok(slot - now)
            })
        }

        fn robots<'a>(
            &'a self,
            _: &'a str,
        ) -> futures::future::BoxFuture<
            'a,
            Result<Option<crate::hosts::CachedRobots>, crate::hosts::SharedHostsError>,
        > {
            Box::pin(async { Ok(None) })
        }

        fn store_robots<'a>(
            &'a self,
            _: &'a str,
            _: &'a crate::hosts::CachedRobots,
            _: Duration,
        ) -> futures::future::BoxFuture<'a, Result<(), crate::hosts::SharedHostsError>> {
            Box::pin(async { Ok(()) })
        }
    }

    /// Shared state that is down.
    #[derive(Debug)]
    struct Down;

    impl SharedHosts for Down {
        fn reserve<'a>(
            &'a self,
            _: &'a str,
            _: Duration,
        ) -> futures::future::BoxFuture<'a, Result<Duration, crate::hosts::SharedHostsError>>
        {
            Box::pin(async {
                Err(crate::hosts::SharedHostsError(
                    std::io::Error::other("connection refused").into(),
                ))
            })
        }

        fn robots<'a>(
            &'a self,
            _: &'a str,
        ) -> futures::future::BoxFuture<
            'a,
            Result<Option<crate::hosts::CachedRobots>, crate::hosts::SharedHostsError>,
        > {
            Box::pin(async { Ok(None) })
        }

        fn store_robots<'a>(
            &'a self,
            _: &'a str,
            _: &'a crate::hosts::CachedRobots,
            _: Duration,
        ) -> futures::future::BoxFuture<'a, Result<(), crate::hosts::SharedHostsError>> {
            Box::pin(async { Ok(()) })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn workers_sharing_state_are_spaced_as_one() {
        let shared: Arc<dyn SharedHosts> = Arc::new(OneMap::default());
        let workers: Vec<Arc<Politeness>> = (0..4)
            .map(|_| Arc::new(Politeness::new(100 * MS, 100 * MS).with_shared(Arc::clone(&shared))))
            .collect();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for worker in &workers {
            for _ in 0..3 {
                let worker = Arc::clone(worker);
                tasks.push(tokio::spawn(async move {
                    worker.wait_turn("site.test", None).await;
                    Instant::now() - start
                }));
            }
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.expect("task"));
        }
        times.sort();
        let expected: Vec<Duration> = (0..12).map(|i| i * 100 * MS).collect();
        assert_eq!(
            times, expected,
            "twelve turns 100 ms apart, not four at a time"
        );
        // Nothing went through the local maps.
        assert!(
            workers
                .iter()
                .all(|w| w.next_free.lock().expect("lock").is_empty())
        );
    }

    #[tokio::test(start_paused = true)]
    async fn shared_state_down_falls_back_to_the_run_alone() {
        let p = Politeness::new(100 * MS, 100 * MS).with_shared(Arc::new(Down));
        for gap in gaps(&p, "site.test", None, 4).await {
            assert_eq!(gap, 100 * MS);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn host_map_is_pruned() {
        let p = Politeness::new(MS, MS);
        for i in 0..(PRUNE_AT * 3) {
            p.wait_turn(&format!("h{i}.test"), None).await;
            tokio::time::advance(2 * MS).await;
        }
        assert!(p.next_free.lock().expect("lock").len() <= PRUNE_AT);
    }
}
