//! One claimed run, in stages with typed outcomes: prepare (load
//! and validate the job, build the fetcher, read the checkpoint), crawl (with the lease
//! heartbeat, cancellation, time limit and shutdown watched on the side), then finish, release
//! or — when the lease was lost — walk away without writing.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use grandma_engine::JobSpec;
use grandma_engine::crawl::{self, Checkpoint, Crawl, Event, EventSink};
use grandma_engine::fetch::Validators;
use grandma_engine::fetch::{self, Fetcher};
use grandma_engine::identity::ItemIdentity;
use grandma_engine::revisit::{PreviousPage, PreviousPages, spec_fingerprint};
use grandma_engine::spec::FetcherType;
use grandma_shared::webhook::{RunEnd, WebhookPayload};
use grandma_store::{
    Claim, ResultRow, RunEvent, RunOutcome, RunProgress, RunStatus, Scope, StoreError, WebhookEvent,
};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::WorkerContext;
use crate::gates::{CrawlTally, missed_gates};
use crate::sink::{StopFlag, StopReason, StoreSink};

/// What the slot does after a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Claim the next run at once.
    Continue,
    /// The database misbehaved: wait for the poll interval before claiming again.
    Backoff,
}

/// Claims are made by the slot; this takes the claimed run to its end.
pub(crate) async fn process(ctx: &WorkerContext, claim: Claim) -> Next {
    let Claim { run, exhausted } = claim;
    let span = tracing::info_span!(
        "run",
        result_id = %run.result_id,
        run_id = %run.run_id,
        job_id = %run.job_id,
        attempt = run.attempts,
        request_id = tracing::field::Empty,
    );
    // The API request that queued the run, so its log lines join the request's.
    if let Some(request_id) = &run.request_id {
        span.record("request_id", request_id.as_str());
    }
    let task = RunTask { ctx, run };
    if exhausted {
        return task.give_up().instrument(span).await;
    }
    task.execute().instrument(span).await
}

/// The run being worked on and the worker's shared context.
struct RunTask<'a> {
    ctx: &'a WorkerContext,
    run: ResultRow,
}

/// Everything a crawl needs, once the job checked out.
struct Prepared {
    job_name: String,
    spec: Arc<JobSpec>,
    fetcher: Arc<dyn Fetcher>,
    resume: Option<Checkpoint>,
    /// The earlier run whose pages are asked for conditionally, and those pages.
    previous: Option<(grandma_store::Uuid, Arc<PreviousPages>)>,
}

/// Why a run cannot start.
enum NotStarted {
    /// The job itself is wrong: the run fails with this message and details.
    Fail {
        job_name: Option<String>,
        message: String,
        details: Option<Value>,
    },
    /// The database did not answer: give the run back and try again later.
    Transient(StoreError),
}

impl RunTask<'_> {
    async fn execute(self) -> Next {
        tracing::info!(resumed = self.run.checkpoint.is_some(), "run claimed");
        if self.ctx.shutdown.is_cancelled() {
            return self.release().await;
        }
        match self.prepare().await {
            Ok(prepared) => {
                // The start event also wakes the webhook dispatcher, so it is published only
                // once the `job.started` deliveries are committed: published earlier, the
                // dispatcher would find nothing and the delivery wait for its next poll.
                if self.run.checkpoint.is_none() {
                    self.announce_start(&prepared.job_name).await;
                    self.publish_progress("started".to_owned());
                } else {
                    self.publish_progress(format!("resumed (attempt {})", self.run.attempts));
                }
                self.crawl(prepared).await
            }
            Err(NotStarted::Fail {
                job_name,
                message,
                details,
            }) => {
                tracing::warn!(error = %message, "run cannot start");
                let outcome = self.outcome(
                    job_name.as_deref(),
                    RunStatus::Failed,
                    Some(message),
                    details,
                    Vec::new(),
                    self.run.total_items,
                    self.run.pages_scraped,
                );
                self.finish(outcome).await
            }
            Err(NotStarted::Transient(error)) => {
                tracing::warn!(%error, "could not load the run's job; releasing the run");
                self.release().await;
                Next::Backoff
            }
        }
    }

    /// Queues the `job.started` webhook deliveries (best effort: a failure only logs).
    async fn announce_start(&self, job_name: &str) {
        let payload = WebhookPayload::run_started(&self.run, job_name).to_value();
        let queued = self
            .ctx
            .store
            .enqueue_event_deliveries(
                self.run.org_id,
                self.run.job_id,
                Some(self.run.result_id),
                WebhookEvent::JobStarted,
                &payload,
            )
            .await;
        if let Err(error) = queued {
            tracing::warn!(%error, "could not queue the job.started webhooks");
        }
    }

    /// Fails a run whose workers kept dying on it ([`Claim::exhausted`]), keeping its items.
    async fn give_up(self) -> Next {
        let message = format!(
            "the run was abandoned {} times: each worker running it stopped without finishing \
             (killed, crashed or cut off from the database), so it is not retried again",
            self.run.attempts
        );
        tracing::warn!(attempts = self.run.attempts, "giving up on the run");
        let job_name = match self.ctx.store.get_job(Scope::all(), self.run.job_id).await {
            Ok(job) => Some(job.name),
            Err(_) => None,
        };
        let outcome = self.outcome(
            job_name.as_deref(),
            RunStatus::Failed,
            Some(message),
            Some(json!({ "attempts": self.run.attempts })),
            Vec::new(),
            self.run.total_items,
            self.run.pages_scraped,
        );
        self.finish(outcome).await
    }

    /// Publishes the run's current counters with `message` (claimed, resumed).
    fn publish_progress(&self, message: String) {
        if let Some(events) = &self.ctx.config.events {
            events.publish(RunEvent::Progress(RunProgress {
                result_id: self.run.result_id,
                owner_id: self.run.owner_id,
                org_id: self.run.org_id,
                status: RunStatus::Running,
                timestamp: Utc::now(),
                items_scraped: self.run.total_items,
                pages_scraped: self.run.pages_scraped,
                current_url: None,
                message: Some(message),
            }));
        }
    }

    /// Publishes the stored state of the run (its completion, or pending after a release).
    fn publish_row(&self, row: &ResultRow) {
        if let Some(events) = &self.ctx.config.events {
            events.publish(RunEvent::snapshot(row));
        }
    }

    /// Loads and validates the job, builds the fetcher and reads the checkpoint.
    async fn prepare(&self) -> Result<Prepared, NotStarted> {
        let job = match self.ctx.store.get_job(Scope::all(), self.run.job_id).await {
            Ok(job) => job,
            Err(StoreError::NotFound) => {
                return Err(NotStarted::Fail {
                    job_name: None,
                    message: "the job of this run no longer exists".into(),
                    details: None,
                });
            }
            Err(error) => return Err(NotStarted::Transient(error)),
        };
        let fail = |message: String, details: Option<Value>| NotStarted::Fail {
            job_name: Some(job.name.clone()),
            message,
            details,
        };
        let spec = JobSpec::from_value(&job.config).map_err(|errors| {
            let problems: Vec<Value> = errors
                .iter()
                .map(|e| json!({"path": e.path, "message": e.message}))
                .collect();
            fail(
                format!("the job's configuration is invalid: {errors}"),
                Some(json!({ "problems": problems })),
            )
        })?;
        let browser = self.ctx.config.browser.as_ref();
        if let Err(missing) = browser
            && fetch::needs_browser(&spec)
        {
            return Err(fail(missing.to_string(), None));
        }
        let fetcher = fetch::for_job(&spec, self.ctx.config.guard.clone(), browser.ok())
            .map_err(|e| fail(format!("could not set up fetching: {e}"), None))?;
        let resume = match &self.run.checkpoint {
            None => None,
            Some(value) => Some(serde_json::from_value::<Checkpoint>(value.clone()).map_err(
                |e| {
                    // Starting over would store the saved pages' items twice.
                    fail(
                        format!(
                            "the run's saved checkpoint cannot be read, so it cannot resume: {e}"
                        ),
                        None,
                    )
                },
            )?),
        };
        let spec_hash = spec_fingerprint(&job.config);
        self.ctx
            .store
            .set_run_spec(self.run.result_id, &self.ctx.config.worker_id, &spec_hash)
            .await
            .map_err(NotStarted::Transient)?;
        let previous = self.previous_pages(&spec, &spec_hash).await;
        Ok(Prepared {
            job_name: job.name,
            spec: Arc::new(spec),
            fetcher,
            resume,
            previous,
        })
    }

    /// The pages of the job's last completed run with the same job document whose items are
    /// still stored, to ask for with their validators. None when conditional requests are
    /// off, when the job always renders in the browser (which cannot ask conditionally), or
    /// when the database did not answer (the run then fetches every page whole).
    async fn previous_pages(
        &self,
        spec: &JobSpec,
        spec_hash: &str,
    ) -> Option<(grandma_store::Uuid, Arc<PreviousPages>)> {
        if !self.ctx.config.conditional_requests || spec.fetcher_type == FetcherType::Browser {
            return None;
        }
        let found = self
            .ctx
            .store
            .reusable_pages(
                self.run.job_id,
                self.run.result_id,
                &self.ctx.config.worker_id,
                spec_hash,
            )
            .await;
        let reusable = match found {
            Ok(found) => found?,
            Err(error) => {
                tracing::warn!(%error, "could not read the last run's pages; fetching every page whole");
                return None;
            }
        };
        let pages = reusable.pages.into_iter().filter_map(|p| {
            let url = p.url.parse().ok()?;
            let page = PreviousPage {
                page: u32::try_from(p.page).ok()?,
                final_url: p.final_url.parse().ok()?,
                validators: Validators {
                    etag: p.etag,
                    last_modified: p.last_modified,
                },
                next_url: p.next_url.and_then(|u| u.parse().ok()),
                matched: u32::try_from(p.matched).ok()?,
                items: u32::try_from(p.items).ok()?,
                dropped: u32::try_from(p.dropped).ok()?,
            };
            Some((url, page))
        });
        let pages = PreviousPages::new(pages);
        tracing::info!(
            base = %reusable.result_id,
            pages = pages.len(),
            "asking for the last run's pages conditionally"
        );
        Some((reusable.result_id, Arc::new(pages)))
    }

    /// Crawls with the lease heartbeat on the side, then finishes, releases or walks away.
    async fn crawl(&self, prepared: Prepared) -> Next {
        let Prepared {
            job_name,
            spec,
            fetcher,
            resume,
            previous,
        } = prepared;
        let limit = self.time_limit(&spec);
        let stop: StopFlag = Arc::new(OnceLock::new());
        let crawl_cancel = CancellationToken::new();
        let crawl_done = CancellationToken::new();
        let monitor = self.watch(limit, &stop, &crawl_cancel, &crawl_done);

        let mut warnings = Vec::new();
        let identity = ItemIdentity::for_spec(&spec);
        let mut crawl = Crawl::new(Arc::clone(&spec), fetcher, &LogEvents, crawl_cancel);
        if let Some(hosts) = &self.ctx.hosts {
            crawl = crawl.with_shared_hosts(Arc::clone(hosts));
        }
        let mut reused_from = None;
        if let Some((run, pages)) = previous {
            crawl = crawl.with_previous_pages(pages);
            reused_from = Some(run);
        }
        if let Some(checkpoint) = resume {
            tracing::info!(
                next_page = checkpoint.next_page,
                "resuming from the checkpoint"
            );
            warnings.push(format!(
                "resumed from page {} after an interrupted attempt",
                checkpoint.next_page
            ));
            crawl = crawl.resume_from(checkpoint);
        }
        let mut sink = StoreSink {
            store: &self.ctx.store,
            worker_id: &self.ctx.config.worker_id,
            result_id: self.run.result_id,
            owner_id: self.run.owner_id,
            org_id: self.run.org_id,
            identity,
            reused_from,
            stop: Arc::clone(&stop),
            events: self.ctx.config.events.as_ref(),
        };
        let outcome = crawl.run(&mut sink).await;
        crawl_done.cancel();
        if let Err(error) = monitor.await {
            tracing::error!(%error, "the lease heartbeat task crashed");
        }

        self.conclude(
            &job_name,
            &spec,
            limit,
            stop.get().copied(),
            outcome,
            warnings,
        )
        .await
    }

    /// Starts the side task of the crawl (lease heartbeat, cancel requests, time limit,
    /// shutdown).
    fn watch(
        &self,
        limit: Option<Duration>,
        stop: &StopFlag,
        crawl_cancel: &CancellationToken,
        crawl_done: &CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let monitor = Monitor {
            store: self.ctx.store.clone(),
            worker_id: self.ctx.config.worker_id.clone(),
            result_id: self.run.result_id,
            lease: self.ctx.config.lease,
            shutdown: self.ctx.shutdown.clone(),
            time_left: limit.map(|l| l.saturating_sub(self.elapsed().unwrap_or_default())),
            stop: Arc::clone(stop),
            crawl_cancel: crawl_cancel.clone(),
            crawl_done: crawl_done.clone(),
        };
        tokio::spawn(monitor.watch().in_current_span())
    }

    /// After the crawl: walks away from a lost lease, releases the run at shutdown, or
    /// records how it ended.
    #[allow(clippy::too_many_arguments)]
    async fn conclude(
        &self,
        job_name: &str,
        spec: &JobSpec,
        limit: Option<Duration>,
        stopped: Option<StopReason>,
        outcome: crawl::RunOutcome,
        mut warnings: Vec<String>,
    ) -> Next {
        let status = match (stopped, outcome.status) {
            (Some(StopReason::LeaseLost), _) => {
                tracing::warn!(
                    "lost the run's lease; another worker owns it now, or it was deleted"
                );
                return Next::Continue;
            }
            (Some(StopReason::Shutdown), crawl::RunStatus::Cancelled) => {
                return self.release().await;
            }
            (Some(StopReason::TimeLimit), crawl::RunStatus::Cancelled) => RunStatus::Failed,
            (_, crawl::RunStatus::Cancelled) => RunStatus::Cancelled,
            (_, crawl::RunStatus::Completed) => RunStatus::Completed,
            (_, crawl::RunStatus::Failed) => RunStatus::Failed,
        };
        let mut error = match (status, stopped) {
            (RunStatus::Failed, Some(StopReason::TimeLimit)) => Some(format!(
                "the run exceeded its time limit of {} s",
                limit.unwrap_or_default().as_secs()
            )),
            _ => outcome.error.clone(),
        };
        // Every run that ends records its quality; a failure to count only loses the report.
        let quality = match self
            .ctx
            .store
            .run_quality(self.run.result_id, &self.run.columns)
            .await
        {
            Ok(quality) => Some(quality),
            Err(failure) => {
                tracing::warn!(error = %failure, "could not count the run's fill rates");
                None
            }
        };
        let mut status = status;
        if status == RunStatus::Completed
            && let Some(quality) = &quality
        {
            let tally = CrawlTally {
                pages_scraped: outcome.pages_scraped,
                pages_failed: outcome.pages_failed,
            };
            let missed = missed_gates(&spec.expect, quality, tally);
            if !missed.is_empty() {
                tracing::info!(gates = ?missed, "the run missed its quality gates");
                status = RunStatus::Failed;
                error = Some(missed.join("; "));
            }
        }
        let details = (status == RunStatus::Failed).then(|| {
            json!({
                "pages_scraped": outcome.pages_scraped,
                "pages_failed": outcome.pages_failed,
            })
        });
        warnings.extend(outcome.warnings);
        if outcome.warnings_omitted > 0 {
            warnings.push(format!("… and {} more warnings", outcome.warnings_omitted));
        }
        let mut record = self.outcome(
            Some(job_name),
            status,
            error,
            details,
            warnings,
            i64::try_from(outcome.total_items).unwrap_or(i64::MAX),
            i32::try_from(outcome.pages_scraped).unwrap_or(i32::MAX),
        );
        record.quality = quality.map(|q| q.to_value());
        self.finish(record).await
    }

    /// The run's time limit, counted from its first start: the run's own (set when it was
    /// queued), else the job's `time_limit_seconds`, else the operator's default.
    fn time_limit(&self, spec: &JobSpec) -> Option<Duration> {
        let own = self
            .run
            .time_limit_seconds
            .filter(|s| *s > 0)
            .map(|s| Duration::from_secs(u64::try_from(s).unwrap_or_default()));
        own.or_else(|| {
            spec.time_limit_seconds
                .map(|s| Duration::from_secs(s.into()))
        })
        .or(self.ctx.config.default_time_limit)
    }

    /// Time since the run first started (across resumed attempts).
    fn elapsed(&self) -> Option<Duration> {
        let started = self.run.started_at?;
        (Utc::now() - started).to_std().ok()
    }

    /// The final record of the run, with the payload of its final webhook event.
    #[allow(clippy::too_many_arguments)]
    fn outcome(
        &self,
        job_name: Option<&str>,
        status: RunStatus,
        error_message: Option<String>,
        error_details: Option<Value>,
        warnings: Vec<String>,
        items_count: i64,
        pages_scraped: i32,
    ) -> RunOutcome {
        let duration_seconds = self.elapsed().unwrap_or_default().as_secs_f64();
        let end = RunEnd {
            status,
            items_count,
            pages_scraped,
            duration_seconds,
            error_message: error_message.as_deref(),
        };
        let webhook_payload =
            WebhookPayload::run_ended(&self.run, job_name, end).map(|p| p.to_value());
        let changes_payload = (status == RunStatus::Completed)
            .then(|| WebhookPayload::items_changed(&self.run, job_name, end).to_value());
        RunOutcome {
            status,
            error_message,
            error_details,
            warnings,
            duration_seconds,
            webhook_payload,
            quality: None,
            changes_payload,
            keep_runs: self.ctx.config.keep_runs,
        }
    }

    async fn finish(&self, outcome: RunOutcome) -> Next {
        let status = outcome.status;
        match self
            .ctx
            .store
            .finish_run(self.run.result_id, &self.ctx.config.worker_id, &outcome)
            .await
        {
            Ok(row) => {
                self.publish_row(&row);
                grandma_shared::metrics::record_run(
                    status,
                    row.total_items,
                    i64::from(row.pages_scraped),
                    outcome.duration_seconds,
                );
                tracing::info!(
                    %status,
                    total_items = row.total_items,
                    pages_scraped = row.pages_scraped,
                    pages_not_modified = row.pages_not_modified,
                    error = outcome.error_message.as_deref().unwrap_or(""),
                    "run finished"
                );
                Next::Continue
            }
            Err(StoreError::LeaseLost) => {
                tracing::warn!(%status, "could not finish the run: the lease was lost");
                Next::Continue
            }
            Err(error) => {
                // The lease expires and another worker resumes from the last checkpoint.
                tracing::error!(%error, %status, "could not record the end of the run");
                Next::Backoff
            }
        }
    }

    /// Gives the run back to the queue with its checkpoint (shutdown, or a database hiccup).
    async fn release(&self) -> Next {
        match self
            .ctx
            .store
            .release_run(self.run.result_id, &self.ctx.config.worker_id)
            .await
        {
            Ok(row) => {
                self.publish_row(&row);
                tracing::info!(status = %row.status, "run released");
            }
            Err(error) => {
                tracing::warn!(%error, "could not release the run; its lease will expire")
            }
        }
        Next::Continue
    }
}

/// The side task of a crawl: renews the lease every `lease / 3` and stops the crawl on a
/// cancel request, a lost lease, the time limit or shutdown. It keeps renewing after stopping
/// the crawl, until the crawl has actually returned (a page save may be in flight).
struct Monitor {
    store: grandma_store::Store,
    worker_id: String,
    result_id: grandma_store::Uuid,
    lease: Duration,
    shutdown: CancellationToken,
    time_left: Option<Duration>,
    stop: StopFlag,
    crawl_cancel: CancellationToken,
    crawl_done: CancellationToken,
}

impl Monitor {
    async fn watch(self) {
        let period = (self.lease / 3).max(Duration::from_millis(100));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A limit far away stands for "none", so the select below stays simple.
        let deadline = tokio::time::sleep(
            self.time_left
                .unwrap_or(Duration::from_secs(100 * 365 * 24 * 3600)),
        );
        tokio::pin!(deadline);
        let mut stopped = false;
        loop {
            tokio::select! {
                biased;
                _ = self.crawl_done.cancelled() => return,
                _ = self.shutdown.cancelled(), if !stopped => {
                    self.stop_crawl(StopReason::Shutdown);
                    stopped = true;
                }
                _ = &mut deadline, if !stopped => {
                    tracing::warn!("time limit reached; stopping the run");
                    self.stop_crawl(StopReason::TimeLimit);
                    stopped = true;
                }
                _ = ticker.tick() => {
                    match self.store.heartbeat_run(self.result_id, &self.worker_id, self.lease).await {
                        Ok(true) if !stopped => {
                            tracing::info!("cancellation requested; stopping the run");
                            self.stop_crawl(StopReason::UserCancel);
                            stopped = true;
                        }
                        Ok(_) => {}
                        Err(StoreError::LeaseLost) => {
                            self.stop_crawl(StopReason::LeaseLost);
                            return;
                        }
                        Err(error) => tracing::warn!(%error, "renewing the run's lease failed"),
                    }
                }
            }
        }
    }

    fn stop_crawl(&self, reason: StopReason) {
        let _ = self.stop.set(reason);
        self.crawl_cancel.cancel();
    }
}

/// Engine events go to the log, inside the run's span. Publishing them to WebSocket clients
/// is the server's pub/sub (not wired here yet).
#[derive(Debug)]
struct LogEvents;

impl EventSink for LogEvents {
    fn emit(&self, event: &Event) {
        match event {
            Event::Started { url } => tracing::debug!(%url, "crawl started"),
            Event::Fetching { page, url } => tracing::debug!(page, %url, "fetching"),
            Event::Extracted {
                page,
                items_on_page,
                total_items,
            } => tracing::debug!(page, items_on_page, total_items, "extracted"),
            // The crawl already logs warnings itself.
            Event::Warning { .. } => {}
            Event::Completed {
                total_items,
                pages_scraped,
                ..
            } => tracing::debug!(total_items, pages_scraped, "crawl completed"),
            Event::Failed { error } => tracing::debug!(%error, "crawl failed"),
        }
    }
}
