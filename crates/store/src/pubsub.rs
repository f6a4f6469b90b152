//! Live run events between processes: a worker publishes each run's progress and completion,
//! API nodes relay them to WebSocket clients, and idle workers are woken when a run is queued.
//!
//! - SQLite (one node): an in-process [`broadcast`] channel; a queued run pokes the shared
//!   [`Notify`] directly.
//! - PostgreSQL (many nodes): `NOTIFY` on [`EVENTS_CHANNEL`] and [`RUNS_CHANNEL`], and one
//!   `LISTEN` connection per process that feeds the same local broadcast channel and `Notify`.
//!   The listener reconnects after a lost connection or a database restart; notifications sent
//!   while it was away are lost (clients re-read the run row; workers fall back to polling).
//!
//! Publishing never waits for subscribers: events go through a bounded queue to one sender task
//! (so they stay in order) and progress is dropped rather than queued when it is full; a slow
//! subscriber lags on the broadcast channel and is told so by `RecvError::Lagged`.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::{Pools, Store};
use crate::results::ResultRow;
use crate::types::RunStatus;

/// The PostgreSQL channel of [`RunEvent`]s (JSON payloads).
pub const EVENTS_CHANNEL: &str = "grandma_run_events";
/// The PostgreSQL channel poked when a run is queued (empty payload).
pub const RUNS_CHANNEL: &str = "grandma_runs";
/// PostgreSQL refuses `NOTIFY` payloads of 8000 bytes or more; events are kept below this.
pub const MAX_PAYLOAD_BYTES: usize = 7_000;
/// Events a local subscriber may fall behind before it lags.
const BROADCAST_CAPACITY: usize = 1024;
/// Events waiting to be sent with `NOTIFY`.
const OUTBOX_CAPACITY: usize = 1024;
/// Longest `current_url` and `message` carried by an event.
const MAX_TEXT_BYTES: usize = 2_000;

/// A run's progress after a page was stored (or a change of state: claimed, released).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunProgress {
    pub result_id: Uuid,
    pub owner_id: Uuid,
    /// The run's organization: who may receive the event.
    pub org_id: Uuid,
    pub status: RunStatus,
    pub timestamp: DateTime<Utc>,
    pub items_scraped: i64,
    pub pages_scraped: i32,
    pub current_url: Option<String>,
    pub message: Option<String>,
}

/// The end of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunCompletion {
    pub result_id: Uuid,
    pub owner_id: Uuid,
    /// The run's organization: who may receive the event.
    pub org_id: Uuid,
    pub status: RunStatus,
    pub timestamp: DateTime<Utc>,
    pub total_items: i64,
    pub total_pages: i32,
    pub duration_seconds: Option<f64>,
    pub error_message: Option<String>,
}

/// What is published about a run; serialized with a `type` tag (`progress`, `completion`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RunEvent {
    Progress(RunProgress),
    Completion(RunCompletion),
}

impl RunEvent {
    /// The state of a stored run as an event: completion for a finished run, progress
    /// otherwise (the snapshot a late WebSocket client gets).
    pub fn snapshot(row: &ResultRow) -> RunEvent {
        if row.status.is_terminal() {
            RunEvent::Completion(RunCompletion {
                result_id: row.result_id,
                owner_id: row.owner_id,
                org_id: row.org_id,
                status: row.status,
                timestamp: row.completed_at.unwrap_or_else(Utc::now),
                total_items: row.total_items,
                total_pages: row.pages_scraped,
                duration_seconds: row.duration_seconds,
                error_message: row.error_message.clone(),
            })
        } else {
            RunEvent::Progress(RunProgress {
                result_id: row.result_id,
                owner_id: row.owner_id,
                org_id: row.org_id,
                status: row.status,
                timestamp: Utc::now(),
                items_scraped: row.total_items,
                pages_scraped: row.pages_scraped,
                current_url: None,
                message: None,
            })
        }
    }

    pub fn result_id(&self) -> Uuid {
        match self {
            RunEvent::Progress(p) => p.result_id,
            RunEvent::Completion(c) => c.result_id,
        }
    }

    pub fn owner_id(&self) -> Uuid {
        match self {
            RunEvent::Progress(p) => p.owner_id,
            RunEvent::Completion(c) => c.owner_id,
        }
    }

    pub fn org_id(&self) -> Uuid {
        match self {
            RunEvent::Progress(p) => p.org_id,
            RunEvent::Completion(c) => c.org_id,
        }
    }

    pub fn is_completion(&self) -> bool {
        matches!(self, RunEvent::Completion(_))
    }

    /// The JSON payload, with long texts cut so it stays under [`MAX_PAYLOAD_BYTES`].
    pub fn to_payload(&self) -> String {
        let mut event = self.clone();
        match &mut event {
            RunEvent::Progress(p) => {
                truncate(&mut p.current_url, MAX_TEXT_BYTES);
                truncate(&mut p.message, MAX_TEXT_BYTES);
            }
            RunEvent::Completion(c) => truncate(&mut c.error_message, MAX_TEXT_BYTES),
        }
        let payload = serde_json::to_string(&event).unwrap_or_default();
        if payload.len() <= MAX_PAYLOAD_BYTES {
            return payload;
        }
        // Only pathological texts get here: drop them.
        match &mut event {
            RunEvent::Progress(p) => {
                p.current_url = None;
                p.message = None;
            }
            RunEvent::Completion(c) => c.error_message = None,
        }
        serde_json::to_string(&event).unwrap_or_default()
    }
}

fn truncate(text: &mut Option<String>, max: usize) {
    if let Some(t) = text
        && t.len() > max
    {
        let mut end = max;
        while !t.is_char_boundary(end) {
            end -= 1;
        }
        t.truncate(end);
        t.push('…');
    }
}

/// The process's publisher and subscription point. Clone freely; the listener and sender
/// tasks stop when the last clone is dropped or the store is closed.
#[derive(Debug, Clone)]
pub struct PubSub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    events: broadcast::Sender<RunEvent>,
    run_wakeup: Arc<Notify>,
    /// PostgreSQL only: events to `NOTIFY`, and the pool to poke [`RUNS_CHANNEL`] with.
    outbox: Option<mpsc::Sender<RunEvent>>,
    pool: Option<PgPool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl PubSub {
    /// Starts the process's pub/sub over `store`. Queued runs poke `run_wakeup` (on
    /// PostgreSQL also when they were queued by another process). Must be called inside a
    /// Tokio runtime.
    pub fn start(store: &Store, run_wakeup: Arc<Notify>) -> PubSub {
        let (events, _) = broadcast::channel(BROADCAST_CAPACITY);
        let inner = match &store.pools {
            Pools::Sqlite(_) => Inner {
                events,
                run_wakeup,
                outbox: None,
                pool: None,
                tasks: Vec::new(),
            },
            Pools::Postgres(pool) => {
                let (outbox, queued) = mpsc::channel(OUTBOX_CAPACITY);
                let listener = tokio::spawn(listen(
                    pool.clone(),
                    events.clone(),
                    Arc::clone(&run_wakeup),
                ));
                let sender = tokio::spawn(send_notifications(pool.clone(), queued));
                Inner {
                    events,
                    run_wakeup,
                    outbox: Some(outbox),
                    pool: Some(pool.clone()),
                    tasks: vec![listener, sender],
                }
            }
        };
        PubSub {
            inner: Arc::new(inner),
        }
    }

    /// Events of every run from now on (of every node, on PostgreSQL).
    pub fn subscribe(&self) -> broadcast::Receiver<RunEvent> {
        self.inner.events.subscribe()
    }

    /// The wakeup poked when a run is queued.
    pub fn run_wakeup(&self) -> Arc<Notify> {
        Arc::clone(&self.inner.run_wakeup)
    }

    /// Publishes an event without waiting: progress is dropped when the outbox is full (the
    /// next page's progress supersedes it), a completion waits for room in a side task.
    pub fn publish(&self, event: RunEvent) {
        match &self.inner.outbox {
            None => {
                // No subscriber is not an error.
                let _ = self.inner.events.send(event);
            }
            Some(outbox) => match outbox.try_send(event) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(event)) if event.is_completion() => {
                    let outbox = outbox.clone();
                    tokio::spawn(async move {
                        let _ = outbox.send(event).await;
                    });
                }
                Err(error) => {
                    tracing::debug!(%error, "run event dropped: the notification queue is full");
                }
            },
        }
    }

    /// Wakes idle workers after a run was queued: this process's at once, and on PostgreSQL
    /// every worker process through [`RUNS_CHANNEL`].
    pub async fn notify_run_queued(&self) {
        self.inner.run_wakeup.notify_one();
        if let Some(pool) = &self.inner.pool
            && let Err(error) = sqlx::query("select pg_notify($1, '')")
                .bind(RUNS_CHANNEL)
                .execute(pool)
                .await
        {
            tracing::warn!(%error, "could not notify the workers of a queued run");
        }
    }
}

/// Sends queued events with `NOTIFY`, in order.
async fn send_notifications(pool: PgPool, mut queued: mpsc::Receiver<RunEvent>) {
    while let Some(event) = queued.recv().await {
        if pool.is_closed() {
            return;
        }
        let sent = sqlx::query("select pg_notify($1, $2)")
            .bind(EVENTS_CHANNEL)
            .bind(event.to_payload())
            .execute(&pool)
            .await;
        if let Err(error) = sent {
            tracing::warn!(%error, result_id = %event.result_id(), "could not publish a run event");
        }
    }
}

/// Listens on both channels until the pool closes, reconnecting after errors.
async fn listen(pool: PgPool, events: broadcast::Sender<RunEvent>, run_wakeup: Arc<Notify>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "LISTEN connection failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        if let Err(error) = listener.listen_all([EVENTS_CHANNEL, RUNS_CHANNEL]).await {
            tracing::warn!(%error, "LISTEN failed; retrying");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(5));
            continue;
        }
        tracing::debug!("listening for run events");
        backoff = Duration::from_millis(100);
        // Runs may have been queued while nobody listened.
        run_wakeup.notify_one();
        loop {
            match listener.try_recv().await {
                Ok(Some(notification)) => {
                    if notification.channel() == RUNS_CHANNEL {
                        run_wakeup.notify_one();
                        continue;
                    }
                    match serde_json::from_str::<RunEvent>(notification.payload()) {
                        Ok(event) => {
                            let _ = events.send(event);
                        }
                        Err(error) => tracing::warn!(%error, "unreadable run event ignored"),
                    }
                }
                // The connection was lost and re-established (with its LISTENs).
                Ok(None) => {
                    tracing::info!("LISTEN connection re-established");
                    run_wakeup.notify_one();
                }
                Err(error) => {
                    if pool.is_closed() {
                        return;
                    }
                    tracing::warn!(%error, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(backoff).await;
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_stay_small() {
        let event = RunEvent::Progress(RunProgress {
            result_id: Uuid::nil(),
            owner_id: Uuid::nil(),
            org_id: Uuid::nil(),
            status: RunStatus::Running,
            timestamp: Utc::now(),
            items_scraped: 1,
            pages_scraped: 1,
            current_url: Some("é".repeat(20_000)),
            message: Some("x".repeat(20_000)),
        });
        let payload = event.to_payload();
        assert!(payload.len() < MAX_PAYLOAD_BYTES, "{}", payload.len());
        let back: RunEvent = serde_json::from_str(&payload).unwrap();
        assert_eq!(back.result_id(), Uuid::nil());
        assert!(payload.starts_with(r#"{"type":"progress""#), "{payload}");
    }
}
