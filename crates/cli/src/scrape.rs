//! `grandma scrape`: run a job file into a spreadsheet.
//!
//! Output goes to a temporary file beside the target, renamed into place only when the run
//! succeeds, so a failed or interrupted run never leaves a truncated spreadsheet. With
//! `--keep-partial` the items scraped so far are kept instead.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use clap::Args;
use grandma_engine::crawl::{self, Control, Crawl, PageOutput, PageSink, RunStatus, SinkError};
use grandma_engine::export::{self, ExportOptions, Format, ItemWriter};
use grandma_engine::guard::NetworkGuard;
use grandma_engine::{Item, JobSpec};
use tokio_util::sync::CancellationToken;

use crate::progress::Progress;
use crate::{Failure, jobfile, table};

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
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse::<Format>().map_err(|e| e.to_string())
}

/// Where the items go.
enum Destination {
    /// A file, through a temporary file renamed at the end.
    File {
        target: PathBuf,
        temp: tempfile::NamedTempFile,
    },
    Stdout,
    /// Only the preview table.
    Table,
}

pub fn run(args: ScrapeArgs) -> Result<(), Failure> {
    let spec = jobfile::load_for_run(&args.job)?;
    if let Some(reason) = crawl::unsupported_reason(&spec) {
        return Err(Failure::BadInput(anyhow!(reason)));
    }
    let format = resolve_format(&args)?;
    let destination = open_destination(&args, format).map_err(Failure::BadInput)?;
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
    runtime.block_on(scrape(spec, guard, args, format, destination))
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

fn open_destination(args: &ScrapeArgs, format: Format) -> anyhow::Result<Destination> {
    let Some(target) = &args.output else {
        return Ok(Destination::Table);
    };
    if target.as_os_str() == "-" {
        if format == Format::Xlsx {
            anyhow::bail!("Excel files cannot be written to standard output; give a file name");
        }
        return Ok(Destination::Stdout);
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        anyhow::bail!("the folder {} does not exist", dir.display());
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let prefix = format!(".{name}.");
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix).suffix(".part");
    // Temporary files are made 0600, and the rename would keep that; the output is an ordinary
    // file, so it gets what any new file gets: 0666 less the umask.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let temp = builder
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a file in {}", dir.display()))?;
    Ok(Destination::File {
        target: target.clone(),
        temp,
    })
}

/// Writes each page's items as they come.
struct WriterSink {
    writer: Option<Box<dyn ItemWriter>>,
    preview: Vec<Item>,
}

impl PageSink for WriterSink {
    async fn save(&mut self, page: PageOutput) -> Result<Control, SinkError> {
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
    args: ScrapeArgs,
    format: Format,
    destination: Destination,
) -> Result<(), Failure> {
    let columns = spec.columns();
    let options = ExportOptions {
        csv_bom: args.csv_bom,
        numbers_as_numbers: args.numbers,
    };
    let writer: Option<Box<dyn ItemWriter>> = match &destination {
        Destination::File { temp, .. } => {
            let file = temp
                .reopen()
                .context("cannot open the temporary output file")
                .map_err(Failure::RunFailed)?;
            Some(
                export::file_writer(format, columns.clone(), BufWriter::new(file), &options)
                    .map_err(|e| Failure::RunFailed(e.into()))?,
            )
        }
        Destination::Stdout => Some(
            export::stream_writer(
                format,
                columns.clone(),
                BufWriter::new(std::io::stdout()),
                &options,
            )
            .map_err(|e| Failure::RunFailed(e.into()))?,
        ),
        Destination::Table => None,
    };
    let fetcher = crawl::http_fetcher(&spec, guard).map_err(|e| Failure::RunFailed(e.into()))?;
    let spec = Arc::new(spec);
    let progress = Progress::new(&spec, args.quiet);
    let cancel = CancellationToken::new();
    let part_file = match &destination {
        Destination::File { temp, .. } => Some(temp.path().to_path_buf()),
        _ => None,
    };
    let interrupted = watch_ctrl_c(cancel.clone(), part_file);

    let mut sink = WriterSink {
        writer,
        preview: Vec::new(),
    };
    let outcome = Crawl::new(Arc::clone(&spec), Arc::new(fetcher), &progress, cancel)
        .run(&mut sink)
        .await;
    progress.finish();
    progress.summary(&outcome);

    let keep = match outcome.status {
        RunStatus::Completed => true,
        RunStatus::Failed | RunStatus::Cancelled => args.keep_partial,
    };
    let items_written = sink.writer.as_ref().map_or(0, |w| w.items_written());
    // What went to standard output cannot be taken back, so a stream is always closed
    // properly (a JSON array gets its `]`); a file is finished only when it will be kept.
    let always_finish = matches!(destination, Destination::Stdout);
    let finished = match sink.writer.take() {
        Some(w) if keep || always_finish => w.finish().map_err(anyhow::Error::from),
        _ => Ok(()),
    };
    match destination {
        Destination::File { target, temp } => {
            // A failed run that scraped nothing has nothing to keep: an empty file must not
            // replace the one a previous run left there.
            if keep && (items_written > 0 || outcome.status == RunStatus::Completed) {
                finished
                    .and_then(|()| persist(temp, &target))
                    .map_err(Failure::RunFailed)?;
                eprintln!("{items_written} item(s) written to {}", target.display());
            } else if items_written > 0 {
                eprintln!(
                    "{} not written ({items_written} item(s) discarded; --keep-partial keeps them)",
                    target.display()
                );
            }
        }
        Destination::Stdout => {
            finished.map_err(Failure::RunFailed)?;
            std::io::stdout().flush().ok();
        }
        Destination::Table => {
            if !sink.preview.is_empty() {
                println!("{}", table::render(&columns, &sink.preview, 40));
                if outcome.total_items > sink.preview.len() as u64 {
                    println!(
                        "… {} more item(s); use -o FILE to save them all",
                        outcome.total_items - sink.preview.len() as u64
                    );
                }
            }
        }
    }
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

/// Moves the finished temporary file onto the target.
fn persist(temp: tempfile::NamedTempFile, target: &Path) -> anyhow::Result<()> {
    let file: File = temp
        .persist(target)
        .map_err(|e| anyhow!("cannot write {}: {}", target.display(), e.error))?;
    file.sync_all().ok();
    Ok(())
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
