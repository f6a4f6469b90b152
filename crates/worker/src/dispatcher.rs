//! The webhook dispatcher: drains the delivery outbox.
//!
//! Deliveries are written by [`Store::finish_run`] in the same transaction as the run's final
//! status, so an event is never lost. The dispatcher claims due deliveries with a lease
//! ([`Store::claim_deliveries`]: `FOR UPDATE SKIP LOCKED` on PostgreSQL), sends each one, and
//! records the attempt ([`Store::record_attempt`], which checks the lease is still ours). Several
//! dispatchers therefore never send the same attempt twice; a dispatcher that dies mid-send
//! leaves its deliveries to come due again when the lease ends (at-least-once).
//!
//! A 2xx response delivers. Anything else is retried with exponential backoff and full
//! jitter, at least the receiver's `Retry-After`, up to the webhook's `max_retries`; then the
//! delivery fails. A webhook whose deliveries fail for good `disable_after` times in a row is
//! disabled, with the reason in its `disabled_reason`.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use grandma_engine::fetch::retry::Backoff;
use grandma_engine::guard::NetworkGuard;
use grandma_shared::Settings;
use grandma_store::{AttemptOutcome, Delivery, Scope, Store, StoreError, Verdict, Webhook};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use grandma_shared::metrics;
use grandma_shared::webhook::{Outgoing, SendResult, WebhookClient};

/// Settings of one dispatcher.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Lease owner name in `webhook_delivery.lease_owner`.
    pub worker_id: String,
    /// How long a claimed delivery stays ours; must exceed `timeout`.
    pub lease: Duration,
    /// How often the outbox is polled when nobody pokes the wakeup.
    pub poll_interval: Duration,
    /// Deliveries claimed per round.
    pub batch: i64,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Per-attempt timeout (connect, send, read the bounded body).
    pub timeout: Duration,
    /// Waits between attempts: after the n-th failure, "equal jitter" in `[c/2, c]` with
    /// `c = min(cap, base·2^(n-1))` — spread out, yet each wait at least as long as the last
    /// could have been — and never less than the receiver's `Retry-After` (clamped to
    /// `retry_after_cap`).
    pub backoff: Backoff,
    /// Deliveries failed for good in a row after which the webhook is disabled.
    pub disable_after: i32,
    /// The network guard of every request: strict plus the operator's allow-list.
    pub guard: NetworkGuard,
}

impl DispatcherConfig {
    /// Defaults: 10 s per attempt, a 60 s lease, a 250 ms poll, retries from 10 s up to 1 h
    /// apart, disabled after 20 deliveries failed in a row.
    pub fn new(worker_id: impl Into<String>, guard: NetworkGuard) -> Self {
        DispatcherConfig {
            worker_id: worker_id.into(),
            lease: Duration::from_secs(60),
            poll_interval: Duration::from_millis(250),
            batch: 32,
            concurrency: 8,
            timeout: Duration::from_secs(10),
            backoff: Backoff {
                base: Duration::from_secs(10),
                cap: Duration::from_secs(3600),
                retry_after_cap: Duration::from_secs(3600),
            },
            disable_after: 20,
            guard,
        }
    }
}

impl DispatcherConfig {
    /// The configuration of the settings' `[webhooks]` table; `worker_id` names the lease owner.
    pub fn from_settings(worker_id: impl Into<String>, settings: &Settings) -> Self {
        let hooks = &settings.webhooks;
        DispatcherConfig {
            poll_interval: Duration::from_millis(hooks.poll_interval_ms.max(1)),
            timeout: Duration::from_secs(hooks.timeout_seconds.max(1)),
            disable_after: hooks.disable_after.max(1),
            ..DispatcherConfig::new(worker_id, settings.network_guard())
        }
    }
}

/// Claims, sends and records deliveries.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    store: Store,
    config: Arc<DispatcherConfig>,
    client: WebhookClient,
}

impl Dispatcher {
    pub fn new(store: Store, config: DispatcherConfig) -> Result<Self, reqwest::Error> {
        let client = WebhookClient::new(config.guard.clone(), config.timeout)?;
        Ok(Dispatcher {
            store,
            config: Arc::new(config),
            client,
        })
    }

    pub fn client(&self) -> &WebhookClient {
        &self.client
    }

    /// One round: claims up to `batch` due deliveries and sends them, `concurrency` at a
    /// time. Returns how many were attempted.
    pub async fn dispatch_once(&self) -> Result<usize, StoreError> {
        let claimed = self
            .store
            .claim_deliveries(&self.config.worker_id, self.config.lease, self.config.batch)
            .await?;
        let n = claimed.len();
        let permits = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for delivery in claimed {
            let this = self.clone();
            let permits = Arc::clone(&permits);
            let span = tracing::info_span!(
                "webhook_delivery",
                delivery_id = %delivery.delivery_id,
                webhook_id = %delivery.webhook_id,
                event = delivery.event_type.as_str(),
                attempt = delivery.attempts + 1,
                request_id = tracing::field::Empty,
            );
            if let Some(request_id) = &delivery.request_id {
                span.record("request_id", request_id.as_str());
            }
            tasks.spawn(
                async move {
                    let _permit = permits.acquire_owned().await;
                    if let Err(error) = this.deliver(delivery).await {
                        tracing::warn!(%error, "webhook delivery not recorded");
                    }
                }
                .instrument(span),
            );
        }
        while tasks.join_next().await.is_some() {}
        Ok(n)
    }

    /// Sends one claimed delivery and records the attempt.
    async fn deliver(&self, delivery: Delivery) -> Result<Delivery, StoreError> {
        let webhook = match self
            .store
            .get_webhook(Scope::all(), delivery.webhook_id)
            .await
        {
            Ok(w) => w,
            Err(StoreError::NotFound) => return Ok(delivery),
            Err(e) => return Err(e),
        };
        let body = serde_json::to_vec(&delivery.payload).unwrap_or_default();
        let result = if webhook.enabled {
            self.client
                .send(Outgoing {
                    url: &webhook.url,
                    delivery_id: delivery.delivery_id,
                    event: delivery.event_type.as_str(),
                    secret: webhook.secret.as_ref().map(|s| s.expose()),
                    headers: &webhook.headers,
                    body: &body,
                    request_id: delivery.request_id.as_deref(),
                })
                .await
        } else {
            SendResult {
                status: None,
                body: None,
                error: Some("the webhook is disabled".into()),
                refused: true,
                retry_after: None,
                duration: Duration::ZERO,
            }
        };
        let verdict = self.verdict(&webhook, &delivery, &result);
        metrics::record_delivery_attempt(&verdict, result.duration.as_secs_f64());
        let outcome = AttemptOutcome {
            verdict,
            response_status: result.status.map(i32::from),
            response_body: result.body,
            error: result.error,
            duration_ms: i64::try_from(result.duration.as_millis()).unwrap_or(i64::MAX),
        };
        let recorded = self
            .store
            .record_attempt(delivery.delivery_id, &self.config.worker_id, &outcome)
            .await?;
        match verdict {
            Verdict::Delivered => {
                tracing::debug!(delivery_id = %delivery.delivery_id, "webhook delivered")
            }
            Verdict::RetryAt(at) => tracing::info!(
                delivery_id = %delivery.delivery_id, status = ?outcome.response_status,
                error = ?outcome.error, retry_at = %at, "webhook attempt failed; will retry"
            ),
            Verdict::GiveUp => {
                tracing::warn!(
                    delivery_id = %delivery.delivery_id, status = ?outcome.response_status,
                    error = ?outcome.error, "webhook delivery failed for good"
                );
                self.maybe_disable(webhook.webhook_id).await?;
            }
        }
        Ok(recorded)
    }

    fn verdict(&self, webhook: &Webhook, delivery: &Delivery, result: &SendResult) -> Verdict {
        if result.is_success() {
            return Verdict::Delivered;
        }
        let failed_attempts = u32::try_from(delivery.attempts + 1).unwrap_or(u32::MAX);
        let retries_left = webhook.retry_on_failure
            && i64::from(delivery.attempts) < i64::from(webhook.max_retries.max(0));
        if result.refused || !retries_left {
            return Verdict::GiveUp;
        }
        let wait = retry_delay(&self.config.backoff, failed_attempts, result.retry_after);
        let wait = chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::hours(1));
        Verdict::RetryAt(Utc::now() + wait)
    }

    async fn maybe_disable(&self, webhook_id: grandma_store::Uuid) -> Result<(), StoreError> {
        let webhook = self.store.get_webhook(Scope::all(), webhook_id).await?;
        if webhook.enabled && webhook.consecutive_failures >= self.config.disable_after {
            let reason = format!(
                "disabled automatically after {} deliveries in a row failed",
                webhook.consecutive_failures
            );
            self.store.disable_webhook(webhook_id, &reason).await?;
            tracing::warn!(%webhook_id, %reason, "webhook disabled");
        }
        Ok(())
    }
}

/// The wait after the `failed_attempts`-th failure (see [`DispatcherConfig::backoff`]).
pub fn retry_delay(
    backoff: &Backoff,
    failed_attempts: u32,
    retry_after: Option<Duration>,
) -> Duration {
    let ceiling = backoff.ceiling(failed_attempts);
    let half = ceiling / 2;
    let jittered = half + rand::random_range(Duration::ZERO..=ceiling - half);
    match retry_after {
        Some(floor) => jittered.max(floor.min(backoff.retry_after_cap)),
        None => jittered,
    }
}

/// Runs a dispatcher until `shutdown`: a round whenever `wakeup` is poked or the poll interval
/// passes; a full batch is followed by another round at once.
pub async fn run_dispatcher(
    dispatcher: Dispatcher,
    wakeup: Arc<Notify>,
    shutdown: CancellationToken,
) {
    tracing::info!(worker_id = %dispatcher.config.worker_id, "webhook dispatcher starting");
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let round = tokio::select! {
            _ = shutdown.cancelled() => break,
            round = dispatcher.dispatch_once() => round,
        };
        match round {
            Ok(n) if n as i64 >= dispatcher.config.batch => continue,
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "claiming webhook deliveries failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = wakeup.notified() => {}
            _ = tokio::time::sleep(dispatcher.config.poll_interval) => {}
        }
    }
    tracing::info!("webhook dispatcher stopped");
}
