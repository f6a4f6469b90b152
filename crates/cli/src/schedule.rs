//! `grandma schedule list`: every schedule with its job, expression in words, zone and next
//! run, straight from the database (for operators; users use the API).

use anyhow::anyhow;
use clap::{Args, Subcommand};
use grandma_store::{Paging, Scope, Store};

use crate::Failure;
use crate::db::{DatabaseArgs, connect, database_url, runtime};

#[derive(Debug, Args)]
pub struct ScheduleArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: ScheduleCommand,
}

#[derive(Debug, Subcommand)]
enum ScheduleCommand {
    /// List schedules: job, expression, zone, enabled, next and last run.
    List,
}

pub fn run(args: ScheduleArgs) -> Result<(), Failure> {
    let url = database_url(&args.database)?;
    match args.command {
        ScheduleCommand::List => runtime()?.block_on(async move {
            let store = connect(&url).await?;
            let outcome = list(&store).await;
            store.close().await;
            outcome
        }),
    }
}

fn failed(e: grandma_store::StoreError) -> Failure {
    Failure::RunFailed(anyhow::Error::new(e).context("listing schedules"))
}

async fn list(store: &Store) -> Result<(), Failure> {
    if !store.schema_ready().await.map_err(failed)? {
        return Err(Failure::RunFailed(anyhow!(
            "the database schema is not up to date; run `grandma db upgrade head` first"
        )));
    }
    let mut offset = 0;
    let mut rows = Vec::new();
    loop {
        let page = store
            .list_schedules(Scope::all(), None, Paging::new(Paging::MAX_LIMIT, offset))
            .await
            .map_err(failed)?;
        let n = page.items.len() as i64;
        rows.extend(page.items);
        offset += n;
        if n == 0 || offset >= page.total {
            break;
        }
    }
    println!(
        "{:<36}  {:<24}  {:<15}  {:<16}  {:<7}  {:<20}  {:<20}  DESCRIPTION",
        "ID", "JOB", "CRON", "TIMEZONE", "ENABLED", "NEXT RUN", "LAST RUN"
    );
    for s in &rows {
        let job = match store.get_job(Scope::all(), s.job_id).await {
            Ok(job) => job.name,
            Err(_) => s.job_id.to_string(),
        };
        println!(
            "{:<36}  {:<24}  {:<15}  {:<16}  {:<7}  {:<20}  {:<20}  {}",
            s.schedule_id,
            job,
            s.cron_expression,
            s.timezone,
            if s.enabled { "yes" } else { "no" },
            s.next_run.map_or("-".to_owned(), |t| t
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()),
            s.last_run.map_or("-".to_owned(), |t| t
                .format("%Y-%m-%d %H:%M UTC")
                .to_string()),
            grandma_shared::cron::describe(&s.cron_expression)
        );
    }
    println!("{} schedule(s)", rows.len());
    Ok(())
}
