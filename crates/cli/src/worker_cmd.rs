//! `grandma worker`: run workers without the API, for PostgreSQL deployments with many worker
//! processes on many machines. SIGTERM or Ctrl-C hands the running runs back to the queue.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Args;
use grandma_server::Settings;
use grandma_store::Backend;
use grandma_worker::run_workers;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Failure;
use crate::db::{connect, describe_database, runtime};
use crate::serve::{stop_on_signal, worker_config};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Settings file (TOML); environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Runs crawled at the same time (default: the settings' `worker_concurrency`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: Option<u16>,
}

pub fn run(args: WorkerArgs) -> Result<(), Failure> {
    let settings = Settings::load(args.config.as_deref())
        .map_err(|e| Failure::BadInput(anyhow::Error::new(e).context("settings")))?;
    let concurrency = args
        .concurrency
        .map_or(settings.worker_concurrency, usize::from);
    runtime()?.block_on(async move {
        let store = connect(&settings.database_url).await?;
        // Workers never migrate: with many processes the schema is the operator's step.
        let ready = store
            .schema_ready()
            .await
            .map_err(|e| Failure::RunFailed(anyhow::Error::new(e).context("reading the schema")))?;
        if !ready {
            return Err(Failure::RunFailed(anyhow!(
                "the database schema is not up to date; run `grandma db upgrade head` (or \
                 start `grandma serve`) first"
            )));
        }
        // Each worker process serves its own scraping metrics when a port is configured.
        if let Some(bind) = settings.http.worker_metrics_bind {
            let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
                Failure::RunFailed(
                    anyhow::Error::new(e).context(format!("cannot listen on {bind}")),
                )
            })?;
            println!("metrics on http://{bind}/metrics");
            let token = settings
                .http
                .metrics_token
                .as_ref()
                .map(|t| t.expose().to_owned());
            tokio::spawn(grandma_server::metrics::serve_standalone(
                listener,
                store.clone(),
                token,
                std::future::pending(),
            ));
        }
        if store.backend() == Backend::Sqlite {
            tracing::warn!(
                "a separate worker process on SQLite: fine on one machine, but PostgreSQL is \
                 the database for many workers"
            );
        }
        let mut config = worker_config(&settings, concurrency);
        // Publishes progress to every API node and, on PostgreSQL, wakes up on `NOTIFY`
        // when a run is queued anywhere.
        let wakeup = Arc::new(Notify::new());
        let pubsub = grandma_store::PubSub::start(&store, Arc::clone(&wakeup));
        config.events = Some(pubsub.clone());
        println!(
            "GrandmaScraper worker {} ({} at a time) on {}",
            config.worker_id,
            config.concurrency,
            describe_database(&settings.database_url)
        );
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        let background = grandma_worker::background::start(
            store.clone(),
            &config.worker_id,
            settings.network_guard(),
            Arc::clone(&wakeup),
            Some(&pubsub),
            shutdown.clone(),
        );
        let outcome = run_workers(store.clone(), config, wakeup, shutdown).await;
        background.join().await;
        drop(pubsub);
        store.close().await;
        outcome.map_err(|e| Failure::RunFailed(e.into()))
    })
}
