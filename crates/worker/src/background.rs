//! The services next to the run slots: the webhook dispatcher, the scheduler and the
//! housekeeping of politeness state. A process starts those its configuration switches on;
//! with several processes the store's leases and compare-and-set keep every delivery attempt
//! and every schedule tick single (housekeeping is idempotent).

use std::sync::Arc;

use grandma_store::{PubSub, RunEvent, RunStatus, Store};
use tokio::sync::Notify;
use tokio::sync::broadcast::{Receiver, error::RecvError};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::dispatcher::{Dispatcher, DispatcherConfig, run_dispatcher};
use crate::maintenance::{MaintenanceConfig, run_maintenance};
use crate::scheduler::{Scheduler, SchedulerConfig, run_scheduler};

/// Which services to start, with their configuration.
#[derive(Debug, Clone, Default)]
pub struct Services {
    pub dispatcher: Option<DispatcherConfig>,
    pub scheduler: Option<SchedulerConfig>,
    pub maintenance: Option<MaintenanceConfig>,
}

/// The running services; [`Background::join`] waits for them after `shutdown`.
#[derive(Debug)]
pub struct Background {
    handles: Vec<JoinHandle<()>>,
}

/// Starts `services`. The scheduler pokes `run_wakeup` when it queues a run. With `events`,
/// the dispatcher is also woken when a run starts or ends anywhere (the moments its outbox gets
/// rows), instead of at its next poll.
pub fn start(
    store: Store,
    services: Services,
    run_wakeup: Arc<Notify>,
    events: Option<&PubSub>,
    shutdown: CancellationToken,
) -> Background {
    let mut handles = Vec::new();
    if let Some(config) = services.dispatcher {
        match Dispatcher::new(store.clone(), config) {
            Ok(dispatcher) => {
                let wakeup = Arc::new(Notify::new());
                if let Some(events) = events {
                    handles.push(tokio::spawn(wake_on_outbox_events(
                        events.subscribe(),
                        Arc::clone(&wakeup),
                        shutdown.clone(),
                    )));
                }
                handles.push(tokio::spawn(run_dispatcher(
                    dispatcher,
                    wakeup,
                    shutdown.clone(),
                )));
            }
            Err(error) => tracing::error!(%error, "the webhook dispatcher cannot start"),
        }
    }
    if let Some(config) = services.maintenance {
        handles.push(tokio::spawn(run_maintenance(
            store.clone(),
            config,
            shutdown.clone(),
        )));
    }
    if let Some(config) = services.scheduler {
        let scheduler = Scheduler::new(store, config).with_run_wakeup(run_wakeup);
        handles.push(tokio::spawn(run_scheduler(scheduler, shutdown)));
    }
    Background { handles }
}

/// Whether `event` is one after which deliveries are queued: a run's start (`job.started`)
/// or its end (the final event, written with the status).
fn queues_deliveries(event: &RunEvent) -> bool {
    match event {
        RunEvent::Completion(_) => true,
        RunEvent::Progress(p) => p.status == RunStatus::Running && p.pages_scraped == 0,
    }
}

/// Pokes the dispatcher for every event that queues deliveries. Missed events (a lagging
/// receiver) poke it too: something happened.
pub async fn wake_on_outbox_events(
    mut events: Receiver<RunEvent>,
    wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    loop {
        let received = tokio::select! {
            _ = shutdown.cancelled() => return,
            received = events.recv() => received,
        };
        match received {
            Ok(event) if queues_deliveries(&event) => wakeup.notify_one(),
            Ok(_) => {}
            Err(RecvError::Lagged(_)) => wakeup.notify_one(),
            Err(RecvError::Closed) => return,
        }
    }
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
