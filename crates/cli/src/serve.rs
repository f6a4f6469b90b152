//! `grandma serve`: the API and, unless `--no-worker` (or `[worker] enabled = false`), the run
//! workers with their scheduler and webhook dispatcher, in one process (the SQLite single-node
//! deployment, or one API node of many on PostgreSQL). The wiring is [`crate::node`]'s.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Args;
use tokio_util::sync::CancellationToken;

use crate::Failure;
use crate::db::runtime;
use crate::node::{self, Roles, stop_on_signal};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Settings file (TOML); environment variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on (overrides `[http] bind`).
    #[arg(long, value_name = "ADDR")]
    bind: Option<SocketAddr>,
    /// Serve the API only; runs are left to `grandma worker` processes.
    #[arg(long)]
    no_worker: bool,
}

pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let mut settings = crate::config_cmd::load(args.config.as_deref())?;
    if let Some(bind) = args.bind {
        settings.http.bind = bind;
    }
    if args.no_worker {
        settings.worker.enabled = false;
    }
    let roles = Roles::serve(&settings);
    runtime()?.block_on(async move {
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        node::run(settings, roles, shutdown).await
    })
}
