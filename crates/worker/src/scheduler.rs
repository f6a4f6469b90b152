//! The scheduler: turns due schedules into queued runs.
//!
//! Every `poll_interval` it reads the enabled schedules whose `next_run` has passed
//! ([`Store::due_schedules`]) and fires each one ([`Store::fire_schedule`]): in one transaction
//! `next_run` moves to the following occurrence — a compare-and-set on the old value, so with
//! several schedulers exactly one fires each occurrence — and a run is queued unless the
//! overlap policy (`skip`, the default) sees a pending or running run of the job, or the job's
//! organization is at its quota of stored items or of runs per day: such a firing is skipped
//! with a warning, the schedule moves on, and the schedule records why it queued nothing.
//!
//! The following occurrence is computed after *now*, not after the missed one: after downtime
//! a schedule fires once for all the ticks it missed, then resumes its rhythm.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use grandma_shared::Settings;
use grandma_store::{FireOutcome, QuotaLimits, Schedule, Store, StoreError, Uuid};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use grandma_shared::cron::{CronSchedule, CronSpecError};

/// Where the scheduler reads the time (tests move it by hand).
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

/// The wall clock.
pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

/// Settings of one scheduler.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    pub poll_interval: Duration,
    /// Due schedules handled per tick.
    pub batch: i64,
    /// The limits of organizations that override none (the settings' `[quotas]`).
    pub quotas: QuotaLimits,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            poll_interval: Duration::from_secs(5),
            batch: 100,
            quotas: grandma_shared::config::QuotaSettings::default().limits(),
        }
    }
}

impl SchedulerConfig {
    /// The configuration of the settings' `[scheduler]` table.
    pub fn from_settings(settings: &Settings) -> Self {
        SchedulerConfig {
            poll_interval: Duration::from_secs(settings.scheduler.poll_interval_seconds.max(1)),
            quotas: settings.quotas.limits(),
            ..SchedulerConfig::default()
        }
    }
}

/// Fires due schedules.
#[derive(Clone)]
pub struct Scheduler {
    store: Store,
    clock: Clock,
    config: SchedulerConfig,
    /// Poked after a run is queued so local workers claim it at once.
    run_wakeup: Option<Arc<Notify>>,
}

impl std::fmt::Debug for Scheduler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Scheduler {
    pub fn new(store: Store, config: SchedulerConfig) -> Self {
        Scheduler {
            store,
            clock: system_clock(),
            config,
            run_wakeup: None,
        }
    }

    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    pub fn with_run_wakeup(mut self, wakeup: Arc<Notify>) -> Self {
        self.run_wakeup = Some(wakeup);
        self
    }

    /// One pass over the due schedules; returns what happened to each.
    pub async fn tick(&self) -> Result<Vec<(Uuid, FireOutcome)>, StoreError> {
        let now = (self.clock)();
        let due = self.store.due_schedules(now, self.config.batch).await?;
        let mut fired = Vec::with_capacity(due.len());
        for schedule in due {
            let Some(expected) = schedule.next_run else {
                continue;
            };
            let following = match following_run(&schedule, now) {
                Ok(next) => next,
                Err(error) => {
                    tracing::warn!(schedule_id = %schedule.schedule_id, %error,
                        "schedule has an invalid expression; it stops");
                    None
                }
            };
            let outcome = self
                .store
                .fire_schedule(
                    schedule.schedule_id,
                    expected,
                    following,
                    &self.config.quotas,
                )
                .await?;
            match &outcome {
                FireOutcome::Enqueued(run) => {
                    tracing::info!(schedule_id = %schedule.schedule_id,
                        result_id = %run.result_id, "schedule fired");
                    if let Some(wakeup) = &self.run_wakeup {
                        wakeup.notify_one();
                    }
                }
                FireOutcome::SkippedQuota(over) => {
                    tracing::warn!(schedule_id = %schedule.schedule_id, job_id = %schedule.job_id,
                        quota = over.kind.as_str(), used = over.used, limit = over.limit,
                        "schedule firing skipped: {over}");
                }
                other => tracing::debug!(schedule_id = %schedule.schedule_id, ?other,
                    "schedule tick without a run"),
            }
            fired.push((schedule.schedule_id, outcome));
        }
        Ok(fired)
    }
}

/// The occurrence after `now` (missed ones in between are not replayed).
pub fn following_run(
    schedule: &Schedule,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, CronSpecError> {
    let cron = CronSchedule::parse(&schedule.cron_expression, &schedule.timezone)?;
    Ok(cron.next_after(now))
}

/// Runs the scheduler until `shutdown`.
pub async fn run_scheduler(scheduler: Scheduler, shutdown: CancellationToken) {
    tracing::info!("scheduler starting");
    let mut ticker = tokio::time::interval(scheduler.config.poll_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = ticker.tick() => {}
        }
        if let Err(error) = scheduler.tick().await {
            tracing::warn!(%error, "scheduler tick failed");
        }
    }
    tracing::info!("scheduler stopped");
}
