//! `grandma`: the GrandmaScraper command line.
//!
//! `main` only parses arguments and maps outcomes to exit codes; each command lives in its own
//! module. Exit codes: 0 success, 1 the run failed, 2 bad input.

mod backup;
mod config_cmd;
mod db;
mod detect;
mod jobfile;
mod logging;
mod node;
#[cfg(feature = "otel")]
mod otel;
mod output;
mod progress;
mod schedule;
mod scrape;
mod serve;
mod since;
mod starter;
mod table;
mod user;
mod worker_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "grandma",
    version,
    about = "GrandmaScraper: scrape web pages into spreadsheets",
    propagate_version = true
)]
struct Cli {
    /// Show debug logs, and full error chains.
    #[arg(long, short, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a job file and write its items to CSV, JSON, JSON Lines or Excel.
    Scrape(scrape::ScrapeArgs),
    /// Check a job file and list every problem in it.
    Validate {
        /// The job file (YAML or JSON).
        job: std::path::PathBuf,
    },
    /// Write a commented starter job file.
    Init(starter::InitArgs),
    /// Find the lists on a page and propose jobs for them.
    Detect(detect::DetectArgs),
    /// Run the web API and (unless --no-worker) the run workers.
    Serve(serve::ServeArgs),
    /// Run workers only (many worker processes against one PostgreSQL).
    Worker(worker_cmd::WorkerArgs),
    /// Database migrations: upgrade, downgrade, current, history, revision.
    Db(db::DbArgs),
    /// Manage user accounts.
    User(user::UserArgs),
    /// Inspect cron schedules.
    Schedule(schedule::ScheduleArgs),
    /// Check a deployment's settings without starting anything.
    Config(config_cmd::ConfigArgs),
    /// Back up the whole database, verify an archive, or restore one into an empty database
    /// (also the way from SQLite to PostgreSQL).
    Backup(backup::BackupArgs),
}

/// How a command ended, beyond success.
#[derive(Debug)]
pub enum Failure {
    /// The input was wrong (a bad job file, a bad flag value): exit 2.
    BadInput(anyhow::Error),
    /// The run itself failed: exit 1.
    RunFailed(anyhow::Error),
}

impl Failure {
    fn code(&self) -> u8 {
        match self {
            Failure::BadInput(_) => 2,
            Failure::RunFailed(_) => 1,
        }
    }

    fn error(&self) -> &anyhow::Error {
        match self {
            Failure::BadInput(e) | Failure::RunFailed(e) => e,
        }
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version itself; both are successes.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    // The long-running services log at info by default; the one-shot commands only errors.
    // They are also the only ones that export traces (feature `otel`), under these names.
    let service = match cli.command {
        Command::Serve(_) => Some("grandma-server"),
        Command::Worker(_) => Some("grandma-worker"),
        _ => None,
    };
    let telemetry = logging::init(cli.verbose, service);
    let result = match cli.command {
        Command::Scrape(args) => scrape::run(args),
        Command::Validate { job } => jobfile::validate_command(&job),
        Command::Init(args) => starter::run(args),
        Command::Detect(args) => detect::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Worker(args) => worker_cmd::run(args),
        Command::Db(args) => db::run(args),
        Command::User(args) => user::run(args),
        Command::Schedule(args) => schedule::run(args),
        Command::Config(args) => config_cmd::run(args),
        Command::Backup(args) => backup::run(args),
    };
    // The runtime is gone, so every span has ended: export those still queued.
    telemetry.shutdown();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            let e = failure.error();
            if cli.verbose {
                eprintln!("error: {e:?}");
            } else {
                // One clear line per problem; the chain joined, no backtrace.
                let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
                eprintln!("error: {}", chain.join(": "));
            }
            ExitCode::from(failure.code())
        }
    }
}
