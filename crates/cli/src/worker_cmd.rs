//! `grandma worker`: run workers (with the scheduler and the webhook dispatcher) without the
//! API, for PostgreSQL deployments with many worker processes on many machines. With
//! `[worker] metrics_bind` it serves its own `/metrics`. The wiring is [`crate::node`]'s.

use std::path::PathBuf;

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::Failure;
use crate::db::runtime;
use crate::node::{self, Roles, stop_on_signal};

#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// Settings file (TOML); environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Runs crawled at the same time (default: `[worker] concurrency`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    concurrency: Option<u16>,
}

pub fn run(args: WorkerArgs) -> Result<(), Failure> {
    let mut settings = crate::config_cmd::load(args.config.as_deref())?;
    if let Some(n) = args.concurrency {
        settings.worker.concurrency = usize::from(n);
    }
    let roles = Roles::worker(&settings);
    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        node::run(settings, roles, shutdown).await
    })
}
