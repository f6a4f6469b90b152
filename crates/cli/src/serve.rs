//! `grandma serve`: the API and, unless `--no-worker`, the run workers in one process (the
//! SQLite single-node deployment, or one API node of many on PostgreSQL).
//!
//! Start-up order: settings, database (migrated to head once, before serving, and the initial
//! admin created if configured), listener, banner, then the API and the workers side by side.
//! They share one wakeup, so a run queued through the API is claimed at once. Ctrl-C or
//! SIGTERM stops both: the API finishes its requests in flight, the workers hand their running
//! runs back to the queue.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow};
use clap::Args;
use grandma_server::{AppState, Settings};
use grandma_worker::{WorkerConfig, run_workers};
use tokio_util::sync::CancellationToken;

use crate::Failure;
use crate::db::{describe_database, runtime};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Settings file (TOML); environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides the settings' `bind`).
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Serve the API only; runs are left to `grandma worker` processes.
    #[arg(long)]
    no_worker: bool,
}

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let mut settings = Settings::load(args.config.as_deref())
        .map_err(|e| Failure::BadInput(anyhow::Error::new(e).context("settings")))?;
    if let Some(bind) = args.bind {
        settings.bind = bind;
    }
    if args.no_worker {
        settings.workers_enabled = false;
    }
    runtime()?.block_on(serve(settings))
}

async fn serve(settings: Settings) -> Result<(), Failure> {
    let state = AppState::connect(settings.clone())
        .await
        .map_err(|e| Failure::RunFailed(anyhow::Error::new(e).context("cannot start")))?;
    let listener = tokio::net::TcpListener::bind(settings.bind)
        .await
        .with_context(|| format!("cannot listen on {}", settings.bind))
        .map_err(Failure::RunFailed)?;
    let address = listener
        .local_addr()
        .map_err(|e| Failure::RunFailed(e.into()))?;
    print_banner(&settings, address);

    let shutdown = CancellationToken::new();
    tokio::spawn(stop_on_signal(shutdown.clone()));

    let workers = settings.workers_enabled.then(|| {
        let mut config = worker_config(&settings, settings.worker_concurrency);
        config.events = Some(state.pubsub.clone());
        tokio::spawn(run_workers(
            state.store.clone(),
            config,
            Arc::clone(&state.run_wakeup),
            shutdown.clone(),
        ))
    });
    let background = settings.workers_enabled.then(|| {
        let id = grandma_worker::default_worker_id();
        let guard = settings.network_guard();
        let wakeup = Arc::clone(&state.run_wakeup);
        grandma_worker::background::start(
            state.store.clone(),
            &id,
            guard,
            wakeup,
            Some(&state.pubsub),
            shutdown.clone(),
        )
    });
    let store = state.store.clone();
    let served = grandma_server::launch(listener, state, shutdown.clone().cancelled_owned()).await;
    // The API may also end on its own (an accept error): take the workers down with it.
    shutdown.cancel();
    let mut outcome = served
        .context("the API server failed")
        .map_err(Failure::RunFailed);
    if let Some(background) = background {
        background.join().await;
    }
    if let Some(workers) = workers {
        match workers.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                outcome = outcome.and(Err(Failure::RunFailed(anyhow::Error::new(e))));
            }
            Err(e) => outcome = outcome.and(Err(Failure::RunFailed(anyhow!("workers: {e}")))),
        }
    }
    store.close().await;
    eprintln!("GrandmaScraper stopped.");
    outcome
}

fn print_banner(settings: &Settings, address: SocketAddr) {
    let url = format!("http://{address}");
    println!("GrandmaScraper {} is running", env!("CARGO_PKG_VERSION"));
    println!("  URL:        {url}");
    println!("  API docs:   {url}/api/docs");
    println!("  Health:     {url}/health");
    println!(
        "  Database:   {}",
        describe_database(&settings.database_url)
    );
    println!("  Data dir:   {}", settings.data_dir.display());
    println!(
        "  Workers:    {}",
        if settings.workers_enabled {
            format!("in-process, {} at a time", settings.worker_concurrency)
        } else {
            "off (run `grandma worker`)".to_owned()
        }
    );
    println!("Press Ctrl-C to stop.");
}

/// The worker settings from the server settings.
pub fn worker_config(settings: &Settings, concurrency: usize) -> WorkerConfig {
    let mut config = WorkerConfig::new(settings.network_guard());
    config.concurrency = concurrency.max(1);
    config.lease = Duration::from_secs(settings.lease_seconds.max(1));
    config.poll_interval = Duration::from_secs(1);
    config.max_attempts = i32::try_from(settings.max_attempts).unwrap_or(i32::MAX);
    config.default_time_limit = settings.run_time_limit_seconds.map(Duration::from_secs);
    config
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
