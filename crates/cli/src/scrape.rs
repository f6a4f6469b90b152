//! `grandma scrape`: run a job file into a spreadsheet, standard output or a preview table
//! (see [`crate::output`]). With `--keep-partial` the items of a failed or interrupted run are
//! kept.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use grandma_engine::crawl::{Control, Crawl, PageOutput, PageSink, RunStatus, SinkError};
use grandma_engine::export::{ExportOptions, Format, ItemWriter};
use grandma_engine::fetch::{self, BrowserOptions, BrowserPool, needs_browser};
use grandma_engine::guard::NetworkGuard;
use grandma_engine::spec::FetcherType;
use grandma_engine::{Item, JobSpec};
use tokio_util::sync::CancellationToken;

use crate::output::{self, Finished, Output};
use crate::progress::Progress;
use crate::since::Since;
use crate::{Failure, jobfile};

/// Items shown in the table when no output file is given.
const PREVIEW_ITEMS: usize = 10;

#[derive(Debug, Args)]
pub struct ScrapeArgs {
    /// The job file (YAML or JSON).
    job: PathBuf,

    /// Write the items here (`-` for standard output). Without it, a table of the first items
    /// is shown.
    #[arg(long, short)]
    output: Option<PathBuf>,

    /// Output format; taken from the output file's extension when not given.
    #[arg(long, short, value_parser = parse_format)]
    format: Option<Format>,

    /// Keep the items scraped so far when the run fails or is interrupted (Ctrl-C).
    #[arg(long)]
    keep_partial: bool,

    /// Refuse private, loopback and link-local addresses, as the server does.
    #[arg(long)]
    block_private: bool,

    /// With --block-private, still allow this network (CIDR, e.g. 10.1.0.0/16); repeatable.
    #[arg(long = "allow-network", value_name = "CIDR")]
    allow_networks: Vec<ipnet::IpNet>,

    /// Start the CSV file with a UTF-8 byte order mark (for older Excel versions).
    #[arg(long)]
    csv_bom: bool,

    /// Store values that look like numbers as numbers in Excel files.
    #[arg(long)]
    numbers: bool,

    /// Print only the summary, no progress.
    #[arg(long, short)]
    quiet: bool,

    /// Write only the items that are new or changed compared with this earlier output of the
    /// job (a .jsonl file), matched by the job's item key.
    #[arg(long, value_name = "PREVIOUS.jsonl")]
    since: Option<PathBuf>,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

pub fn run(args: ScrapeArgs) -> Result<(), Failure> {
    let spec = jobfile::load_for_run(&args.job)?;
    // Read before anything is fetched: a wrong file is bad input, found at once.
    let since = args
        .since
        .as_deref()
        .map(|path| Since::load(path, &spec))
        .transpose()
        .map_err(Failure::BadInput)?;
    // A job that needs the browser cannot run without one; `auto` runs over plain HTTP then.
    let pool = match BrowserPool::new(BrowserOptions::default()) {
        Ok(pool) => (spec.fetcher_type != FetcherType::Requests).then_some(pool),
        Err(missing) if needs_browser(&spec) => return Err(Failure::BadInput(missing.into())),
        Err(_) => None,
    };
    let format = resolve_format(&args)?;
    let output = output::open(args.output.as_deref(), format).map_err(Failure::BadInput)?;
    let guard = if args.block_private {
        NetworkGuard::strict().allow_networks(args.allow_networks.iter().copied())
    } else {
        NetworkGuard::permissive()
    };
    if let Err(e) = guard.check_url(&spec.start_url) {
        return Err(Failure::BadInput(anyhow!("start_url: {e}")));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    runtime.block_on(scrape(spec, guard, pool, args, format, output, since))
}

fn resolve_format(args: &ScrapeArgs) -> Result<Format, Failure> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    match &args.output {
        Some(p) if p.as_os_str() != "-" => Format::from_extension(p).ok_or_else(|| {
            Failure::BadInput(anyhow!(
                "cannot tell the format from {:?}; name it .csv, .json, .jsonl or .xlsx, or pass --format",
                p.display().to_string()
            ))
        }),
        _ => Ok(Format::Jsonl),
    }
}

/// Writes each page's items as they come (with `--since`, only the new and changed ones).
struct WriterSink {
    writer: Option<Box<dyn ItemWriter>>,
    preview: Vec<Item>,
    since: Option<Since>,
}

impl PageSink for WriterSink {
    async fn save(&mut self, mut page: PageOutput) -> Result<Control, SinkError> {
        if let Some(since) = self.since.as_mut() {
            page.items.retain(|item| since.keep(item));
        }
        if let Some(w) = self.writer.as_mut() {
            for item in &page.items {
                w.write_item(item)?;
            }
        }
        let room = PREVIEW_ITEMS.saturating_sub(self.preview.len());
        self.preview.extend(page.items.into_iter().take(room));
        Ok(Control::Continue)
    }
}

async fn scrape(
    spec: JobSpec,
    guard: NetworkGuard,
    pool: Option<BrowserPool>,
    args: ScrapeArgs,
    format: Format,
    output: Box<dyn Output>,
    since: Option<Since>,
) -> Result<(), Failure> {
    let columns = spec.columns();
    let options = ExportOptions {
        csv_bom: args.csv_bom,
        numbers_as_numbers: args.numbers,
    };
    let writer = output.writer(format, columns.clone(), &options)?;
    let fetcher =
        fetch::for_job(&spec, guard, pool.as_ref()).map_err(|e| Failure::RunFailed(e.into()))?;
    let spec = Arc::new(spec);
    let progress = Progress::new(&spec, args.quiet);
    let cancel = CancellationToken::new();
    let interrupted = watch_ctrl_c(cancel.clone(), output.part_file());

    let mut sink = WriterSink {
        writer,
        preview: Vec::new(),
        since,
    };
    let outcome = Crawl::new(Arc::clone(&spec), fetcher, &progress, cancel)
        .run(&mut sink)
        .await;
    progress.finish();
    progress.summary(&outcome);
    if let Some(since) = &sink.since {
        eprintln!(
            "since the earlier file: {} new, {} changed item(s) written",
            since.new, since.changed
        );
    }

    let keep = match outcome.status {
        RunStatus::Completed => true,
        RunStatus::Failed | RunStatus::Cancelled => args.keep_partial,
    };
    output.finish(Finished {
        writer: sink.writer.take(),
        keep,
        outcome: &outcome,
        preview: &sink.preview,
        columns: &columns,
    })?;
    match outcome.status {
        RunStatus::Completed => Ok(()),
        RunStatus::Cancelled => Err(Failure::RunFailed(anyhow!(
            "interrupted{}",
            if interrupted.is_cancelled() {
                " by Ctrl-C"
            } else {
                ""
            }
        ))),
        RunStatus::Failed => Err(Failure::RunFailed(anyhow!(
            "the run failed: {}",
            outcome.error.unwrap_or_else(|| "unknown error".into())
        ))),
    }
}

/// Cancels the run at the first Ctrl-C; a second one exits at once, removing the unfinished
/// temporary file (`exit` skips destructors). The returned token is cancelled only when Ctrl-C
/// was pressed.
fn watch_ctrl_c(cancel: CancellationToken, part_file: Option<PathBuf>) -> CancellationToken {
    let pressed = CancellationToken::new();
    let flag = pressed.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nstopping after the current page… (Ctrl-C again to quit at once)");
            flag.cancel();
            cancel.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                if let Some(part) = part_file {
                    let _ = std::fs::remove_file(part);
                }
                std::process::exit(130);
            }
        }
    });
    pressed
}
