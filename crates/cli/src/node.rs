//! One GrandmaScraper process, whatever it does: `grandma serve` and `grandma worker` both end
//! in [`run`] with the [`Roles`] their command and the settings switch on (the API, the run
//! workers, the scheduler, the webhook dispatcher), so both start, share and stop their parts
//! the same way.
//!
//! Start-up: the database (migrated to head by a process with the API, only checked by a
//! worker process: with many processes the schema is the operator's step), one pub/sub and
//! one wakeup for the whole process (a run queued through the API is claimed at once by its
//! own workers), the listener and banner, then every part side by side. Ctrl-C or SIGTERM
//! cancels one token: the API finishes its requests in flight, the workers hand their running
//! runs back to the queue, the dispatcher and scheduler stop between rounds, a worker's
//! `/metrics` listener closes, and the process exits.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use grandma_engine::fetch::browser::{BrowserPool, ChromiumMissing};
use grandma_server::AppState;
use grandma_server::state::connect_store;
use grandma_shared::Settings;
use grandma_store::{Backend, PubSub, Store};
use grandma_worker::background::{self, Services};
use grandma_worker::dispatcher::DispatcherConfig;
use grandma_worker::maintenance::MaintenanceConfig;
use grandma_worker::scheduler::SchedulerConfig;
use grandma_worker::{WorkerConfig, run_workers};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::Failure;
use crate::db::describe_database;

/// What one process does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Roles {
    /// The REST API (and its `/metrics`) on `[http] bind`.
    pub api: bool,
    /// Run workers, `[worker] concurrency` at a time.
    pub workers: bool,
    /// The cron scheduler.
    pub scheduler: bool,
    /// The webhook dispatcher.
    pub dispatcher: bool,
}

impl Roles {
    /// `grandma serve`: the API, and the workers with their scheduler and dispatcher unless
    /// `[worker] enabled` is off.
    pub fn serve(settings: &Settings) -> Roles {
        Roles::with_workers(true, settings.worker.enabled, settings)
    }

    /// `grandma worker`: workers, scheduler and dispatcher, no API.
    pub fn worker(settings: &Settings) -> Roles {
        Roles::with_workers(false, true, settings)
    }

    fn with_workers(api: bool, workers: bool, settings: &Settings) -> Roles {
        Roles {
            api,
            workers,
            scheduler: workers && settings.scheduler.enabled,
            dispatcher: workers && settings.webhooks.enabled,
        }
    }
}

/// Runs the process's `roles` until `shutdown` is cancelled (or the server fails), then stops
/// every part and waits for it.
pub async fn run(
    settings: Settings,
    roles: Roles,
    shutdown: CancellationToken,
) -> Result<(), Failure> {
    let node = Node::prepare(settings, roles).await?;
    node.print_banner();
    node.start(shutdown.clone()).wait(shutdown).await
}

fn failed(e: anyhow::Error) -> Failure {
    Failure::RunFailed(e)
}

/// A process ready to start: its database, its one pub/sub and wakeup, and what each role
/// needs.
struct Node {
    settings: Settings,
    roles: Roles,
    store: Store,
    pubsub: PubSub,
    wakeup: Arc<Notify>,
    /// The API's state (API role).
    api: Option<AppState>,
    /// The workers' configuration (workers role).
    workers: Option<WorkerConfig>,
    /// The API's listener, or a worker process's `/metrics` listener.
    listener: Option<TcpListener>,
    /// The process's headless Chromium, or why there is none.
    browser: Result<BrowserPool, ChromiumMissing>,
}

impl Node {
    async fn prepare(mut settings: Settings, roles: Roles) -> Result<Node, Failure> {
        if roles.api {
            settings
                .ensure_secret_key()
                .map_err(|p| Failure::BadInput(anyhow!("{p}")))?;
        }
        let store = connect_store(&settings, roles.api)
            .await
            .context("cannot open the database")
            .map_err(failed)?;
        if !roles.api {
            check_schema(&store).await?;
        }
        let wakeup = Arc::new(Notify::new());
        // Publishes progress to every API node and, on PostgreSQL, wakes the workers on
        // `NOTIFY` when a run is queued anywhere.
        let pubsub = PubSub::start(&store, Arc::clone(&wakeup));
        // One browser for the whole process: the API's previews and every worker's runs.
        let browser = BrowserPool::new(settings.browser.options());
        if let Err(missing) = &browser {
            tracing::warn!(%missing, "no browser: jobs that need one are refused");
        }
        let workers = roles.workers.then(|| WorkerConfig {
            events: Some(pubsub.clone()),
            browser: browser.clone(),
            ..WorkerConfig::from_settings(&settings)
        });
        let api = match roles.api {
            true => {
                let mut state = AppState::with_pubsub(
                    store.clone(),
                    settings.clone(),
                    pubsub.clone(),
                    Arc::clone(&wakeup),
                );
                state.browser = browser.clone();
                state
                    .ensure_initial_admin()
                    .await
                    .context("cannot start")
                    .map_err(failed)?;
                Some(state)
            }
            false => None,
        };
        let bind = match roles.api {
            true => Some(settings.http.bind),
            false => settings.worker.metrics_bind,
        };
        let listener = match bind {
            Some(bind) => Some(
                TcpListener::bind(bind)
                    .await
                    .with_context(|| format!("cannot listen on {bind}"))
                    .map_err(failed)?,
            ),
            None => None,
        };
        Ok(Node {
            settings,
            roles,
            store,
            pubsub,
            wakeup,
            api,
            workers,
            listener,
            browser,
        })
    }

    /// Starts every part; they stop when `shutdown` is cancelled.
    fn start(self, shutdown: CancellationToken) -> Running {
        let Node {
            settings,
            roles,
            store,
            pubsub,
            wakeup,
            api,
            workers,
            listener,
            browser: _,
        } = self;
        // The recorder goes in before any role starts: what a role records earlier is lost,
        // such as the gauge of the scheduled backup written at start-up.
        if listener.is_some() {
            grandma_shared::metrics::install();
        }
        let id = match &workers {
            Some(config) => config.worker_id.clone(),
            None => grandma_worker::default_worker_id(),
        };
        let workers = workers.map(|config| {
            let slots = run_workers(store.clone(), config, Arc::clone(&wakeup), shutdown.clone());
            tokio::spawn(slots)
        });
        let services = Services {
            dispatcher: roles
                .dispatcher
                .then(|| DispatcherConfig::from_settings(format!("{id}-webhooks"), &settings)),
            scheduler: roles
                .scheduler
                .then(|| SchedulerConfig::from_settings(&settings)),
            // Timed housekeeping belongs to the scheduler's processes, like backups.
            maintenance: roles.scheduler.then(MaintenanceConfig::default),
        };
        // Scheduled backups belong to the scheduler's processes, like every timed task.
        let backups = (roles.scheduler && settings.backup.enabled).then(|| {
            tokio::spawn(crate::backup::run_scheduled(
                store.clone(),
                settings.clone(),
                shutdown.clone(),
            ))
        });
        let background = background::start(
            store.clone(),
            services,
            wakeup,
            Some(&pubsub),
            shutdown.clone(),
        );
        let server = listener.map(|listener| {
            let stop = shutdown.clone().cancelled_owned();
            match api {
                Some(state) => tokio::spawn(grandma_server::launch(listener, state, stop)),
                None => {
                    let token = settings.http.metrics_token.as_ref();
                    let token = token.map(|t| t.expose().to_owned());
                    let metrics = grandma_server::metrics::serve_standalone;
                    tokio::spawn(metrics(listener, store.clone(), token, stop))
                }
            }
        });
        Running {
            store,
            pubsub,
            server,
            workers,
            background,
            backups,
        }
    }

    fn print_banner(&self) {
        // The effective settings, secrets hidden, for whoever reads the logs later.
        tracing::info!(settings = %self.settings.summary().join("; "), "settings");
        let address = self.listener.as_ref().and_then(|l| l.local_addr().ok());
        print_banner(
            &self.settings,
            self.roles,
            self.workers.as_ref(),
            address,
            &self.browser,
        );
    }
}

/// The parts of a started process.
struct Running {
    store: Store,
    pubsub: PubSub,
    server: Option<JoinHandle<std::io::Result<()>>>,
    workers: Option<JoinHandle<Result<(), grandma_worker::WorkerError>>>,
    background: background::Background,
    /// Scheduled backups (`[backup] enabled` on a scheduler process).
    backups: Option<JoinHandle<()>>,
}

impl Running {
    /// Waits for the server (or, without one, for `shutdown`), then stops and joins the rest.
    async fn wait(self, shutdown: CancellationToken) -> Result<(), Failure> {
        let mut outcome = Ok(());
        match self.server {
            Some(server) => {
                // The server may also end on its own (an accept error): the rest stops too.
                let served = server.await;
                shutdown.cancel();
                outcome = match served {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(failed(anyhow::Error::new(e).context("the server failed"))),
                    Err(e) => Err(failed(anyhow!("the server crashed: {e}"))),
                };
            }
            None => shutdown.cancelled().await,
        }
        self.background.join().await;
        if let Some(backups) = self.backups
            && let Err(e) = backups.await
        {
            tracing::warn!(error = %e, "the backup task crashed");
        }
        if let Some(workers) = self.workers {
            let joined = match workers.await {
                Ok(result) => result.map_err(|e| failed(e.into())),
                Err(e) => Err(failed(anyhow!("workers: {e}"))),
            };
            outcome = outcome.and(joined);
        }
        drop(self.pubsub);
        self.store.close().await;
        eprintln!("GrandmaScraper stopped.");
        outcome
    }
}

/// Refuses to work on a schema that is not at head (workers never migrate).
async fn check_schema(store: &Store) -> Result<(), Failure> {
    let ready = store
        .schema_ready()
        .await
        .map_err(|e| Failure::RunFailed(anyhow::Error::new(e).context("reading the schema")))?;
    if !ready {
        return Err(Failure::RunFailed(anyhow!(
            "the database schema is not up to date; run `grandma db upgrade head` (or start \
             `grandma serve`) first"
        )));
    }
    if store.backend() == Backend::Sqlite {
        tracing::warn!(
            "a separate worker process on SQLite: fine on one machine, but PostgreSQL is the \
             database for many workers"
        );
    }
    Ok(())
}

fn print_banner(
    settings: &Settings,
    roles: Roles,
    worker: Option<&WorkerConfig>,
    address: Option<SocketAddr>,
    browser: &Result<BrowserPool, ChromiumMissing>,
) {
    let browser = match browser {
        Ok(pool) => format!(
            "{} (started when a page needs it)",
            pool.executable().display()
        ),
        Err(_) => "none: jobs that need Chromium are refused (see /health)".to_owned(),
    };
    let database = describe_database(&settings.database_url());
    if !roles.api {
        if let Some(config) = worker {
            println!(
                "GrandmaScraper worker {} ({} at a time) on {database}",
                config.worker_id, config.concurrency
            );
            println!("browser: {browser}");
        }
        if let Some(address) = address {
            println!("metrics on http://{address}/metrics");
        }
        return;
    }
    let url = address.map(|a| format!("http://{a}")).unwrap_or_default();
    println!("GrandmaScraper {} is running", env!("CARGO_PKG_VERSION"));
    println!("  URL:        {url}");
    println!("  API docs:   {url}/api/docs");
    println!("  Health:     {url}/health");
    println!("  Database:   {database}");
    println!("  Data dir:   {}", settings.data_dir.display());
    println!("  Browser:    {browser}");
    println!(
        "  Workers:    {}",
        match worker {
            Some(config) => format!("in-process, {} at a time", config.concurrency),
            None => "off (run `grandma worker`)".to_owned(),
        }
    );
    println!("Press Ctrl-C to stop.");
}

/// Cancels `shutdown` on Ctrl-C or SIGTERM.
pub async fn stop_on_signal(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                    _ = shutdown.cancelled() => return,
                }
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C still works");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = shutdown.cancelled() => return,
                }
            }
        }
    }
    #[cfg(not(unix))]
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = shutdown.cancelled() => return,
    }
    // Cancel first: the message must not stand in the way (stderr may be a closed pipe, and
    // `eprintln!` panics on a failed write).
    shutdown.cancel();
    let _ = writeln!(
        std::io::stderr(),
        "Shutting down: finishing requests and handing running runs back to the queue…"
    );
}
