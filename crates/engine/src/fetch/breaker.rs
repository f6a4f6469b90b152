//! A per-host circuit breaker.
//!
//! After `threshold` consecutive failed fetches to a host (each already retried), the circuit
//! opens: fetches to that host fail at once with [`FetchError::CircuitOpen`] without touching
//! the network, which spares both the struggling site and the run's time budget. After
//! `cooldown` one trial fetch is let through (half-open); its success closes the circuit, its
//! failure opens it for another cool-down.
//!
//! Only failing hosts have an entry (a success removes it), and the table is capped, so memory
//! stays bounded however many hosts a run visits.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::FetchError;

/// Hosts tracked at most; past it only open circuits are kept and new hosts go untracked
/// (failing open is the safe side for a politeness feature).
const MAX_TRACKED_HOSTS: usize = 10_000;

#[derive(Debug)]
pub struct CircuitBreaker {
    threshold: u32,
    cooldown: Duration,
    hosts: Mutex<HashMap<String, HostState>>,
}

#[derive(Debug, Default)]
struct HostState {
    consecutive_failures: u32,
    open_until: Option<Instant>,
    trial_in_flight: bool,
}

impl Default for CircuitBreaker {
    fn default() -> Self {
        Self::new(5, Duration::from_secs(30))
    }
}

impl CircuitBreaker {
    /// `threshold` 0 disables the breaker.
    pub fn new(threshold: u32, cooldown: Duration) -> Self {
        Self {
            threshold,
            cooldown,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Asks to send a request to `host`. The returned permit must be settled with the outcome;
    /// dropping it unsettled (the fetch was cancelled) says nothing about the host.
    pub fn admit<'a>(&'a self, host: &'a str) -> Result<Permit<'a>, FetchError> {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        let trial = match hosts.get_mut(host) {
            Some(state) => match state.open_until {
                Some(until) if Instant::now() < until || state.trial_in_flight => {
                    return Err(FetchError::CircuitOpen {
                        host: host.to_owned(),
                    });
                }
                Some(_) => {
                    state.trial_in_flight = true;
                    true
                }
                None => false,
            },
            None => false,
        };
        Ok(Permit {
            breaker: self,
            host,
            trial,
            settled: false,
        })
    }

    /// Whether the circuit for `host` is open right now (for reporting).
    pub fn is_open(&self, host: &str) -> bool {
        let hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        hosts.get(host).is_some_and(|s| s.open_until.is_some())
    }

    fn record_success(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if hosts.remove(host).is_some_and(|s| s.open_until.is_some()) {
            tracing::info!(host, "circuit closed: the host answers again");
        }
    }

    fn record_failure(&self, host: &str, trial: bool) {
        if self.threshold == 0 {
            return;
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if !hosts.contains_key(host) && hosts.len() >= MAX_TRACKED_HOSTS {
            hosts.retain(|_, s| s.open_until.is_some());
            if hosts.len() >= MAX_TRACKED_HOSTS {
                return;
            }
        }
        let state = hosts.entry(host.to_owned()).or_default();
        state.consecutive_failures = state.consecutive_failures.saturating_add(1);
        if trial || state.consecutive_failures >= self.threshold {
            if state.open_until.is_none() || trial {
                tracing::warn!(
                    host,
                    failures = state.consecutive_failures,
                    cooldown_ms = self.cooldown.as_millis() as u64,
                    "circuit opened: pausing requests to a failing host"
                );
            }
            state.open_until = Some(Instant::now() + self.cooldown);
            state.trial_in_flight = false;
        }
    }

    fn release_trial(&self, host: &str) {
        let mut hosts = self.hosts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(state) = hosts.get_mut(host) {
            state.trial_in_flight = false;
        }
    }
}

/// Leave to send requests to one host; settle it with the outcome.
#[derive(Debug)]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    host: &'a str,
    trial: bool,
    settled: bool,
}

impl Permit<'_> {
    /// The half-open trial: the caller should make a single attempt, without retries.
    pub fn is_trial(&self) -> bool {
        self.trial
    }

    /// The host answered (any response counts, a 404 too: the host is alive).
    pub fn succeeded(mut self) {
        self.settled = true;
        self.breaker.record_success(self.host);
    }

    /// The host failed: network error, timeout, 408, 429 or 5xx after all retries.
    pub fn failed(mut self) {
        self.settled = true;
        self.breaker.record_failure(self.host, self.trial);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        // Unsettled: cancelled, or an outcome that says nothing about the host (a blocked
        // redirect). Free the trial slot so the next caller may try.
        if !self.settled && self.trial {
            self.breaker.release_trial(self.host);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fail(b: &CircuitBreaker, host: &str) {
        b.admit(host).expect("admitted").failed();
    }

    #[tokio::test(start_paused = true)]
    async fn opens_after_threshold_and_half_opens_after_cooldown() {
        let b = CircuitBreaker::new(3, Duration::from_secs(30));
        fail(&b, "a");
        fail(&b, "a");
        assert!(!b.is_open("a"));
        fail(&b, "a");
        assert!(b.is_open("a"));
        assert!(matches!(b.admit("a"), Err(FetchError::CircuitOpen { .. })));
        // Other hosts are unaffected.
        b.admit("b").expect("other host").succeeded();

        tokio::time::advance(Duration::from_secs(31)).await;
        let trial = b.admit("a").expect("half-open trial");
        assert!(trial.is_trial());
        // Only one trial at a time.
        assert!(b.admit("a").is_err());
        trial.failed();
        assert!(b.admit("a").is_err(), "failed trial reopens");

        tokio::time::advance(Duration::from_secs(31)).await;
        b.admit("a").expect("second trial").succeeded();
        assert!(!b.is_open("a"));
        assert!(!b.admit("a").expect("closed").is_trial());
    }

    #[tokio::test(start_paused = true)]
    async fn success_resets_the_count_and_dropped_trial_frees_the_slot() {
        let b = CircuitBreaker::new(2, Duration::from_secs(1));
        fail(&b, "a");
        b.admit("a").expect("closed").succeeded();
        fail(&b, "a");
        assert!(!b.is_open("a"), "count restarted after the success");
        fail(&b, "a");
        assert!(b.is_open("a"));
        tokio::time::advance(Duration::from_secs(2)).await;
        drop(b.admit("a").expect("trial"));
        assert!(b.admit("a").expect("trial again").is_trial());
    }
}
