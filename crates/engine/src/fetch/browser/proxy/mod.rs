//! The guarded forward proxy: the browser's only way out to the network.
//!
//! Chromium is started with `--proxy-server` pointing here (and every run's browser context
//! gets a proxy of its own), so each navigation, subresource, XHR/fetch, WebSocket and worker
//! request arrives as either a `CONNECT host:port` (HTTPS, WebSockets) or an absolute-form
//! `GET http://host/...` (plain HTTP). For both, the proxy
//!
//! 1. checks the target the way a job's URL is checked ([`NetworkGuard::check_url`]: scheme,
//!    credentials, IP literals, `localhost` names),
//! 2. resolves the host once through the guard ([`NetworkGuard::resolve`]), which keeps only
//!    allowed addresses,
//! 3. connects to one of those very addresses, so a name cannot answer "public" to the check
//!    and "private" to the connect (no DNS-rebinding gap),
//! 4. and refuses everything else with a 403 that says why.
//!
//! The browser never resolves names itself (its resolver is disabled by a flag), so nothing it
//! does can reach an address that this proxy did not check. The design follows Stripe's
//! smokescreen: an egress proxy that owns resolution and the connect.

mod forward;

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::guard::{GuardError, NetworkGuard};

/// Failures remembered for the fetcher to explain a failed navigation; older ones are dropped.
const FAILURES_KEPT: usize = 64;

/// Who may be reached through a proxy.
#[derive(Debug, Clone)]
pub enum Policy {
    /// What the run's network guard allows.
    Guard(NetworkGuard),
    /// Nothing: the browser-wide default, so traffic outside a run's context (Chromium's own
    /// background requests, a context we did not create) goes nowhere.
    RefuseAll,
}

/// A request the proxy did not connect: the host as the browser asked for it, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Counts failures of this proxy from 1, in order.
    pub seq: u64,
    pub host: String,
    pub port: u16,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The network guard refused the address.
    Refused(GuardError),
    /// Allowed, but nothing answered there.
    Unreachable(String),
}

/// What went through a proxy, for tests and diagnostics.
#[derive(Debug, Default)]
pub struct ProxyStats {
    /// Connections that reached an upstream address.
    pub connected: AtomicU64,
    pub refused: AtomicU64,
    /// Refused and unreachable requests together: the sequence of [`Failure`]s.
    pub failed: AtomicU64,
    /// Bytes received from upstream servers (tunnels count when they close).
    pub bytes_in: AtomicU64,
}

#[derive(Debug)]
struct Shared {
    policy: Policy,
    failures: Mutex<VecDeque<Failure>>,
    stats: ProxyStats,
}

impl Shared {
    fn refuse(&self, host: &str, port: u16, error: GuardError) -> GuardError {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(host, port, error = %error, "browser request refused by the network guard");
        self.record(host, port, FailureKind::Refused(error.clone()));
        error
    }

    fn unreachable(&self, host: &str, port: u16, error: &std::io::Error) {
        self.record(host, port, FailureKind::Unreachable(error.to_string()));
    }

    fn record(&self, host: &str, port: u16, kind: FailureKind) {
        let mut log = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let seq = self.stats.failed.fetch_add(1, Ordering::Relaxed) + 1;
        if log.len() == FAILURES_KEPT {
            log.pop_front();
        }
        log.push_back(Failure {
            seq,
            host: host.to_owned(),
            port,
            kind,
        });
    }

    /// A request made outside any run's browser context ([`Policy::RefuseAll`]).
    fn refuse_outside_run(&self, host: &str, port: u16) {
        self.stats.refused.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(host, port, "browser request outside a run refused");
    }
}

/// A running proxy on 127.0.0.1; stops (and drops every connection it carries) when dropped.
#[derive(Debug)]
pub struct GuardedProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: CancellationToken,
}

impl GuardedProxy {
    /// Binds a fresh port on 127.0.0.1 and serves until dropped. Must be called within a
    /// tokio runtime (the proxy is a task of it).
    pub fn start(policy: Policy) -> io::Result<Self> {
        let listener = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        listener.set_nonblocking(true)?;
        let listener = TcpListener::from_std(listener)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            policy,
            failures: Mutex::new(VecDeque::new()),
            stats: ProxyStats::default(),
        });
        let stop = CancellationToken::new();
        tokio::spawn(forward::serve(listener, Arc::clone(&shared), stop.clone()));
        Ok(Self { addr, shared, stop })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The value for Chromium's `--proxy-server` (or a context's `proxyServer`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn stats(&self) -> &ProxyStats {
        &self.shared.stats
    }

    /// How many failures so far; pass it to [`failure_since`](Self::failure_since) later.
    pub fn failure_mark(&self) -> u64 {
        self.shared.stats.failed.load(Ordering::Relaxed)
    }

    /// The latest failure after `mark` of a request to `host`, or with `host` `None`, of any
    /// request.
    pub fn failure_since(&self, mark: u64, host: Option<&str>) -> Option<Failure> {
        let bare = |h: &str| {
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase()
        };
        let wanted = host.map(bare);
        let log = self
            .shared
            .failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        log.iter()
            .rev()
            .take_while(|f| f.seq > mark)
            .find(|f| wanted.as_ref().is_none_or(|w| *w == bare(&f.host)))
            .cloned()
    }
}

impl Drop for GuardedProxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}
