//! Where `grandma scrape` puts the items, one type per kind of place: a file (through a
//! temporary file renamed at the end, so a failed or interrupted run never leaves a truncated
//! spreadsheet), standard output, or a preview table on the terminal.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use grandma_engine::Item;
use grandma_engine::crawl::{RunOutcome, RunStatus};
use grandma_engine::export::{self, ExportOptions, Format, ItemWriter};

use crate::{Failure, table};

/// How the run ended, for [`Output::finish`].
pub struct Finished<'a> {
    /// The writer [`Output::writer`] gave, with every item of the run.
    pub writer: Option<Box<dyn ItemWriter>>,
    /// Whether the items are kept: always for a completed run, with `--keep-partial` else.
    pub keep: bool,
    pub outcome: &'a RunOutcome,
    /// The first items, for the table.
    pub preview: &'a [Item],
    pub columns: &'a [String],
}

/// One place for the items.
pub trait Output {
    /// A writer the items go to as pages arrive; `None` when only a preview is shown.
    fn writer(
        &self,
        format: Format,
        columns: Vec<String>,
        options: &ExportOptions,
    ) -> Result<Option<Box<dyn ItemWriter>>, Failure>;

    /// The unfinished file to remove when the user insists on quitting at once.
    fn part_file(&self) -> Option<PathBuf> {
        None
    }

    /// Completes the output once the run has ended.
    fn finish(self: Box<Self>, run: Finished<'_>) -> Result<(), Failure>;
}

/// The output `-o` asks for: a file, `-` for standard output, or none for the table.
pub fn open(target: Option<&Path>, format: Format) -> anyhow::Result<Box<dyn Output>> {
    let Some(target) = target else {
        return Ok(Box::new(TableOutput));
    };
    if target.as_os_str() == "-" {
        if format == Format::Xlsx {
            anyhow::bail!("Excel files cannot be written to standard output; give a file name");
        }
        return Ok(Box::new(StdoutOutput));
    }
    Ok(Box::new(FileOutput::create(target)?))
}

fn failed(e: impl Into<anyhow::Error>) -> Failure {
    Failure::RunFailed(e.into())
}

/// A file, written through a temporary file beside it.
struct FileOutput {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl FileOutput {
    fn create(target: &Path) -> anyhow::Result<FileOutput> {
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
        // Temporary files are made 0600, and the rename would keep that; the output is an
        // ordinary file, so it gets what any new file gets: 0666 less the umask.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let temp = builder
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        Ok(FileOutput {
            target: target.to_owned(),
            temp,
        })
    }

    /// Moves the finished temporary file onto the target.
    fn persist(self) -> anyhow::Result<()> {
        let target = self.target;
        let file: File = self
            .temp
            .persist(&target)
            .map_err(|e| anyhow!("cannot write {}: {}", target.display(), e.error))?;
        file.sync_all().ok();
        Ok(())
    }
}

impl Output for FileOutput {
    fn writer(
        &self,
        format: Format,
        columns: Vec<String>,
        options: &ExportOptions,
    ) -> Result<Option<Box<dyn ItemWriter>>, Failure> {
        let file = self
            .temp
            .reopen()
            .context("cannot open the temporary output file")
            .map_err(Failure::RunFailed)?;
        export::file_writer(format, columns, BufWriter::new(file), options)
            .map(Some)
            .map_err(failed)
    }

    fn part_file(&self) -> Option<PathBuf> {
        Some(self.temp.path().to_path_buf())
    }

    fn finish(self: Box<Self>, run: Finished<'_>) -> Result<(), Failure> {
        let written = run.writer.as_ref().map_or(0, |w| w.items_written());
        // A failed run that scraped nothing has nothing to keep: an empty file must not
        // replace the one a previous run left there.
        let completed = run.outcome.status == RunStatus::Completed;
        if run.keep && (written > 0 || completed) {
            if let Some(writer) = run.writer {
                writer.finish().map_err(failed)?;
            }
            let target = self.target.clone();
            self.persist().map_err(Failure::RunFailed)?;
            eprintln!("{written} item(s) written to {}", target.display());
        } else if written > 0 {
            eprintln!(
                "{} not written ({written} item(s) discarded; --keep-partial keeps them)",
                self.target.display()
            );
        }
        Ok(())
    }
}

/// Standard output, streamed.
struct StdoutOutput;

impl Output for StdoutOutput {
    fn writer(
        &self,
        format: Format,
        columns: Vec<String>,
        options: &ExportOptions,
    ) -> Result<Option<Box<dyn ItemWriter>>, Failure> {
        let out = BufWriter::new(std::io::stdout());
        export::stream_writer(format, columns, out, options)
            .map(Some)
            .map_err(failed)
    }

    /// What went out cannot be taken back, so the stream is always closed properly (a JSON
    /// array gets its `]`), kept or not.
    fn finish(self: Box<Self>, run: Finished<'_>) -> Result<(), Failure> {
        if let Some(writer) = run.writer {
            writer.finish().map_err(failed)?;
        }
        std::io::stdout().flush().ok();
        Ok(())
    }
}

/// A table of the first items on the terminal.
struct TableOutput;

impl Output for TableOutput {
    fn writer(
        &self,
        _: Format,
        _: Vec<String>,
        _: &ExportOptions,
    ) -> Result<Option<Box<dyn ItemWriter>>, Failure> {
        Ok(None)
    }

    fn finish(self: Box<Self>, run: Finished<'_>) -> Result<(), Failure> {
        if !run.preview.is_empty() {
            println!("{}", table::render(run.columns, run.preview, 40));
            let shown = run.preview.len() as u64;
            if run.outcome.total_items > shown {
                println!(
                    "… {} more item(s); use -o FILE to save them all",
                    run.outcome.total_items - shown
                );
            }
        }
        Ok(())
    }
}
