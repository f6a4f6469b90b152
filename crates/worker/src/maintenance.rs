//! Housekeeping of tables that would otherwise only grow: host slots long past and robots.txt
//! copies past their time to live (`host_slot`, `robots_cache`, which every PostgreSQL worker
//! writes for each site it visits). Runs in the scheduler's processes, like every timed task;
//! with several of them the deletes are idempotent, so no coordination is needed.

use std::time::Duration;

use grandma_store::Store;
use tokio_util::sync::CancellationToken;

/// Settings of the housekeeping task.
#[derive(Debug, Clone)]
pub struct MaintenanceConfig {
    /// Time between two passes (the first one runs at start).
    pub interval: Duration,
    /// How long after a host's slot fell free its row is deleted. A slot in the past delays
    /// nobody, so any value is correct; an hour keeps the rows of sites being crawled now.
    pub slot_idle: Duration,
}

impl Default for MaintenanceConfig {
    fn default() -> Self {
        MaintenanceConfig {
            interval: Duration::from_secs(600),
            slot_idle: Duration::from_secs(3600),
        }
    }
}

/// One pass: deletes stale host slots and expired robots.txt copies.
pub async fn prune_once(store: &Store, config: &MaintenanceConfig) {
    match store.prune_host_state(config.slot_idle).await {
        Ok((0, 0)) => {}
        Ok((slots, robots)) => {
            tracing::info!(slots, robots, "pruned stale politeness state");
        }
        Err(error) => tracing::warn!(%error, "cannot prune politeness state"),
    }
}

/// Runs a pass every `interval` until `shutdown`.
pub async fn run_maintenance(store: Store, config: MaintenanceConfig, shutdown: CancellationToken) {
    let mut ticker = tokio::time::interval(config.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        prune_once(&store, &config).await;
    }
}
