//! `grandma config check`: reads a deployment's settings exactly as `grandma serve` and
//! `grandma worker` would (defaults, `--config FILE`, `GRANDMA_*` variables), prints every
//! problem at once, or a summary when there is none. It starts nothing, connects to nothing
//! and writes nothing.

use std::path::{Path, PathBuf};

use anyhow::anyhow;
use clap::{Args, Subcommand};
use grandma_shared::Settings;

use crate::Failure;

#[derive(Debug, Args)]
pub struct ConfigArgs {
    #[command(subcommand)]
    command: ConfigCommand,
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Check the settings and list every problem (exit 2 if there is any).
    Check {
        /// Settings file (TOML); environment variables override it.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

pub fn run(args: ConfigArgs) -> Result<(), Failure> {
    match args.command {
        ConfigCommand::Check { config } => {
            let settings = load(config.as_deref())?;
            println!("The settings are valid:");
            for line in settings.summary() {
                println!("  {line}");
            }
            Ok(())
        }
    }
}

/// The settings of `config_file` and the environment; every problem is a bad input.
pub fn load(config_file: Option<&Path>) -> Result<Settings, Failure> {
    Settings::load(config_file).map_err(|problems| Failure::BadInput(anyhow!("{problems}")))
}
