//! The worker process's background services next to the run slots: the webhook dispatcher and
//! the scheduler. `grandma serve` (with workers enabled) and `grandma worker` start both; with
//! several processes the store's leases and compare-and-set keep every delivery attempt and
//! every schedule tick single.

use std::sync::Arc;

use grandma_engine::guard::NetworkGuard;
use grandma_store::Store;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::dispatcher::{Dispatcher, DispatcherConfig, run_dispatcher};
use crate::scheduler::{Scheduler, SchedulerConfig, run_scheduler};

/// The running services; [`Background::join`] waits for them after `shutdown`.
#[derive(Debug)]
pub struct Background {
    handles: Vec<JoinHandle<()>>,
}

/// Starts the dispatcher (lease owner `<worker_id>-webhooks`) and the scheduler, which pokes
/// `run_wakeup` when it queues a run.
pub fn start(
    store: Store,
    worker_id: &str,
    guard: NetworkGuard,
    run_wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) -> Background {
    let mut handles = Vec::new();
    let config = DispatcherConfig::new(format!("{worker_id}-webhooks"), guard);
    match Dispatcher::new(store.clone(), config) {
        Ok(dispatcher) => handles.push(tokio::spawn(run_dispatcher(
            dispatcher,
            Arc::new(Notify::new()),
            shutdown.clone(),
        ))),
        Err(error) => tracing::error!(%error, "the webhook dispatcher cannot start"),
    }
    let scheduler = Scheduler::new(store, SchedulerConfig::default()).with_run_wakeup(run_wakeup);
    handles.push(tokio::spawn(run_scheduler(scheduler, shutdown)));
    Background { handles }
}

impl Background {
    pub async fn join(self) {
        for handle in self.handles {
            if let Err(error) = handle.await {
                tracing::warn!(%error, "a background service ended abnormally");
            }
        }
    }
}
