//! GrandmaScraper's run workers.
//!
//! [`run_workers`] starts `concurrency` slots. Each slot claims a queued run from the store
//! ([`Store::claim_with`], a lease; organizations take turns), crawls it with the engine and writes each page's
//! items, counters and checkpoint in one transaction ([`Store::save_page`]), heartbeating the
//! lease on the side. A run whose worker died is claimed again once its lease expires and
//! resumes from its checkpoint. On shutdown the running crawls stop and their runs go back to
//! the queue ([`Store::release_run`]) with their checkpoint.
//!
//! Slots wait for work on a shared [`Notify`] (poked when a run is queued in this process, or
//! on PostgreSQL in any process through `NOTIFY`) or a fallback poll, whichever comes first.

pub mod background;
pub mod dispatcher;
mod gates;
pub mod hosts;
pub mod maintenance;
mod run;
pub mod scheduler;
mod sink;

use std::sync::Arc;
use std::time::Duration;

use grandma_engine::SharedHosts;
use grandma_engine::fetch::BrowserOptions;
use grandma_engine::fetch::browser::{BrowserPool, ChromiumMissing};
use grandma_engine::guard::NetworkGuard;
use grandma_shared::Settings;
use grandma_store::{ClaimLimits, PubSub, Store};
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

/// How often the worker row is refreshed so `/health` can count live workers.
pub const WORKER_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);

/// Runs of one organization crawled at once when neither the organization nor the settings
/// say otherwise.
pub const DEFAULT_MAX_CONCURRENT_RUNS: u32 = 10;

/// Settings of one worker process.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Identifies this process in leases and the `worker` table: `hostname-pid-random`
    /// (see [`default_worker_id`]).
    pub worker_id: String,
    /// Runs crawled at the same time by this process.
    pub concurrency: usize,
    /// How long a claimed run stays ours without a heartbeat; renewed every `lease / 3`. A dead
    /// worker's runs are resumed by others after this long.
    pub lease: Duration,
    /// Fallback poll for queued runs when nobody pokes the wakeup (runs queued by another
    /// process, expired leases).
    pub poll_interval: Duration,
    /// The network guard of every fetch: strict plus the operator's allow-list.
    pub guard: NetworkGuard,
    /// A run whose workers died this many times (lease expired) is failed instead of being
    /// crawled again (default 3).
    pub max_attempts: i32,
    /// Runs of one organization crawled at once across every worker, for organizations
    /// without a limit of their own (settings `[quotas] max_concurrent_runs`, default 10): a
    /// slot does not claim a run of an organization that already has this many running.
    pub max_concurrent_runs: u32,
    /// Where each run's progress (per stored page) and completion are published; `None`
    /// publishes nothing.
    pub events: Option<PubSub>,
    /// The time limit of runs whose job sets none (`time_limit_seconds` in the job document
    /// wins); `None` lets them run as long as they take.
    pub default_time_limit: Option<Duration>,
    /// The process's headless Chromium, shared by its runs; the error says why there is none
    /// (runs of jobs that need it then fail with that message, `auto` runs over plain HTTP).
    pub browser: Result<BrowserPool, ChromiumMissing>,
    /// Whether runs space their requests to a site and read its robots.txt through state
    /// every worker shares (Redis with `redis_url`, else PostgreSQL; SQLite: never). `false`
    /// keeps each run's own, as with one process.
    pub share_hosts: bool,
    /// Redis for the shared politeness state, instead of the database (a secret: it may hold
    /// a password).
    pub redis_url: Option<grandma_store::Secret>,
    /// Prefix of the politeness keys in Redis.
    pub redis_prefix: String,
    /// Completed runs per job whose items are kept; older runs' items are pruned when a run
    /// completes (their counts stay). `None` keeps every run's items.
    pub keep_runs: Option<u32>,
    /// Whether a repeat run asks for the pages of the last run of the same job document with
    /// their validators and reuses the stored items of pages answered 304 (plain HTTP only).
    /// Page records are kept either way, so turning it on later works at the next run.
    pub conditional_requests: bool,
}

impl WorkerConfig {
    /// Defaults: a fresh worker id, 2 slots, a 15 s lease (renewed every 5 s, so a killed
    /// process's runs resume within about 15 s), a 1 s poll.
    pub fn new(guard: NetworkGuard) -> Self {
        WorkerConfig {
            worker_id: default_worker_id(),
            concurrency: 2,
            lease: Duration::from_secs(15),
            poll_interval: Duration::from_secs(1),
            guard,
            max_attempts: 3,
            max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
            events: None,
            default_time_limit: None,
            browser: BrowserPool::new(BrowserOptions::default()),
            share_hosts: true,
            redis_url: None,
            redis_prefix: "grandma:polite:".to_owned(),
            keep_runs: None,
            conditional_requests: true,
        }
    }

    /// The configuration of the settings' `[worker]` table, with their network guard.
    pub fn from_settings(settings: &Settings) -> Self {
        let worker = &settings.worker;
        WorkerConfig {
            concurrency: worker.concurrency.max(1),
            lease: Duration::from_secs(worker.lease_seconds.max(1)),
            poll_interval: Duration::from_millis(worker.poll_interval_ms.max(1)),
            max_attempts: i32::try_from(worker.max_attempts).unwrap_or(i32::MAX),
            max_concurrent_runs: settings.quotas.max_concurrent_runs.max(1),
            default_time_limit: worker.run_time_limit_seconds.map(Duration::from_secs),
            browser: BrowserPool::new(settings.browser.options()),
            redis_url: worker.redis_url.clone(),
            redis_prefix: worker.redis_prefix.clone(),
            keep_runs: worker.keep_runs,
            conditional_requests: worker.conditional_requests,
            ..WorkerConfig::new(settings.network_guard())
        }
    }

    fn validate(&self) -> Result<(), WorkerError> {
        if self.worker_id.is_empty() {
            return Err(WorkerError::Config("worker_id must not be empty"));
        }
        if self.concurrency == 0 {
            return Err(WorkerError::Config("concurrency must be at least 1"));
        }
        // Below this the heartbeat (lease / 3) would hammer the database.
        if self.lease < Duration::from_millis(300) {
            return Err(WorkerError::Config("lease must be at least 300 ms"));
        }
        if self.max_attempts < 1 {
            return Err(WorkerError::Config("max_attempts must be at least 1"));
        }
        if self.max_concurrent_runs == 0 {
            return Err(WorkerError::Config(
                "max_concurrent_runs must be at least 1: with 0 no run would ever be crawled",
            ));
        }
        if self.poll_interval.is_zero() {
            return Err(WorkerError::Config("poll_interval must not be zero"));
        }
        Ok(())
    }
}

/// `hostname-pid-random`: unique per process, and readable in the `worker` table.
pub fn default_worker_id() -> String {
    format!(
        "{}-{}-{:08x}",
        hostname(),
        std::process::id(),
        rand::random::<u32>()
    )
}

/// The machine's name, for the `worker` table; `localhost` when it cannot be read.
pub fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Why the workers could not run.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("invalid worker configuration: {0}")]
    Config(&'static str),
    /// A slot task panicked: a bug of ours. The other slots were shut down.
    #[error("a worker slot crashed")]
    SlotCrashed(#[source] tokio::task::JoinError),
}

/// What every slot shares, in one struct rather than long argument lists.
#[derive(Debug)]
pub(crate) struct WorkerContext {
    pub(crate) store: Store,
    /// Politeness state shared with every other worker; none: each run keeps its own.
    pub(crate) hosts: Option<Arc<dyn SharedHosts>>,
    pub(crate) config: WorkerConfig,
    pub(crate) wakeup: Arc<Notify>,
    pub(crate) shutdown: CancellationToken,
}

/// Runs the workers until `shutdown` is cancelled: running crawls are stopped, their runs
/// released to the queue with their checkpoint, and the worker row removed.
pub async fn run_workers(
    store: Store,
    config: WorkerConfig,
    wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) -> Result<(), WorkerError> {
    config.validate()?;
    let hosts = if config.share_hosts {
        hosts::shared_hosts(
            config.redis_url.as_ref().map(|url| url.expose()),
            &config.redis_prefix,
            &store,
        )
        .map_err(|_| WorkerError::Config("worker.redis_url is not a usable Redis URL"))?
    } else {
        None
    };
    tracing::info!(shared = ?hosts, "per-site politeness state");
    let ctx = Arc::new(WorkerContext {
        hosts,
        store,
        config,
        wakeup,
        shutdown,
    });
    tracing::info!(
        worker_id = %ctx.config.worker_id,
        concurrency = ctx.config.concurrency,
        lease_s = ctx.config.lease.as_secs_f64(),
        "workers starting"
    );

    let beat_stop = CancellationToken::new();
    let beat = tokio::spawn(worker_heartbeat(Arc::clone(&ctx), beat_stop.clone()));

    let mut slots = JoinSet::new();
    for slot in 0..ctx.config.concurrency {
        slots.spawn(
            slot_loop(Arc::clone(&ctx), slot).instrument(tracing::info_span!("worker_slot", slot)),
        );
    }
    let mut crashed = None;
    while let Some(joined) = slots.join_next().await {
        if let Err(error) = joined {
            tracing::error!(%error, "worker slot crashed; shutting the others down");
            ctx.shutdown.cancel();
            crashed.get_or_insert(error);
        }
    }

    beat_stop.cancel();
    if let Err(error) = beat.await {
        tracing::warn!(%error, "worker heartbeat task ended abnormally");
    }
    if let Err(error) = ctx.store.remove_worker(&ctx.config.worker_id).await {
        tracing::warn!(%error, "could not remove the worker row at shutdown");
    }
    tracing::info!(worker_id = %ctx.config.worker_id, "workers stopped");
    match crashed {
        Some(error) => Err(WorkerError::SlotCrashed(error)),
        None => Ok(()),
    }
}

/// One slot: claim, crawl, repeat; wait for a wakeup or the poll when the queue is empty.
async fn slot_loop(ctx: Arc<WorkerContext>, slot: usize) {
    loop {
        if ctx.shutdown.is_cancelled() {
            return;
        }
        let claimed = ctx
            .store
            .claim_with(
                &ctx.config.worker_id,
                ctx.config.lease,
                ClaimLimits {
                    max_attempts: ctx.config.max_attempts,
                    max_concurrent_runs: ctx.config.max_concurrent_runs,
                },
            )
            .await;
        match claimed {
            Ok(Some(claim)) => {
                if run::process(&ctx, claim).await == run::Next::Backoff {
                    idle(&ctx).await;
                }
            }
            Ok(None) => idle(&ctx).await,
            Err(error) => {
                tracing::warn!(%error, slot, "claiming a run failed; retrying after the poll interval");
                idle(&ctx).await;
            }
        }
    }
}

/// Waits for a wakeup, the poll interval or shutdown, whichever comes first.
async fn idle(ctx: &WorkerContext) {
    tokio::select! {
        _ = ctx.shutdown.cancelled() => {}
        _ = ctx.wakeup.notified() => {}
        _ = tokio::time::sleep(ctx.config.poll_interval) => {}
    }
}

/// Keeps this process's row in `worker` fresh until stopped.
async fn worker_heartbeat(ctx: Arc<WorkerContext>, stop: CancellationToken) {
    let host = hostname();
    let mut ticker = tokio::time::interval(WORKER_HEARTBEAT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        if let Err(error) = ctx
            .store
            .worker_heartbeat(&ctx.config.worker_id, &host)
            .await
        {
            tracing::warn!(%error, "worker heartbeat failed");
        }
    }
}
