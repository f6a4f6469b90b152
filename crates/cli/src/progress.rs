//! Progress display: a bar on a terminal, plain lines otherwise (logs, CI, pipes).

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Instant;

use grandma_engine::JobSpec;
use grandma_engine::crawl::{Event, EventSink, RunOutcome, RunStatus};
use grandma_engine::spec::Pagination;
use indicatif::{ProgressBar, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
    started: Instant,
    /// Pages and items seen so far, for the plain-line form.
    counts: Mutex<(u32, u64)>,
}

impl Progress {
    pub fn new(spec: &JobSpec, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            // A bar with a length only when the page count is known in advance.
            let known = match spec.pagination {
                Pagination::UrlPattern { .. } | Pagination::NextButton { .. } => spec.max_pages,
                _ => Some(1),
            };
            let bar = match known {
                Some(n) => ProgressBar::new(n.into()).with_style(
                    ProgressStyle::with_template(
                        "{spinner} [{bar:30}] {pos}/{len} pages · {msg} · {elapsed}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                ),
                None => ProgressBar::new_spinner().with_style(
                    ProgressStyle::with_template("{spinner} {pos} pages · {msg} · {elapsed}")
                        .expect("valid template"),
                ),
            };
            bar.enable_steady_tick(std::time::Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            quiet,
            started: Instant::now(),
            counts: Mutex::new((0, 0)),
        }
    }

    /// Prints a line without tearing the bar.
    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    /// The end-of-run summary: items, pages, duration, warnings.
    pub fn summary(&self, outcome: &RunOutcome) {
        let secs = outcome.duration.as_secs_f64();
        let rate = if secs > 0.0 {
            outcome.total_items as f64 / secs
        } else {
            0.0
        };
        let warnings = outcome.warnings.len() + outcome.warnings_omitted;
        let mut text = format!(
            "{}: {} item(s) from {} page(s) in {:.1}s ({rate:.0} items/s)",
            outcome.status.as_str(),
            outcome.total_items,
            outcome.pages_scraped,
            secs,
        );
        if outcome.pages_failed > 0 {
            text.push_str(&format!(", {} page(s) failed", outcome.pages_failed));
        }
        if outcome.items_dropped > 0 {
            text.push_str(&format!(
                ", {} item(s) dropped for a missing required field",
                outcome.items_dropped
            ));
        }
        if warnings > 0 {
            text.push_str(&format!(", {warnings} warning(s)"));
        }
        eprintln!("{text}");
        // With --quiet the warnings were not shown as they happened; show them now.
        if self.quiet || outcome.status != RunStatus::Completed {
            for w in outcome.warnings.iter().take(20) {
                eprintln!("  warning: {w}");
            }
        }
    }
}

impl EventSink for Progress {
    fn emit(&self, event: &Event) {
        if self.quiet {
            return;
        }
        match event {
            Event::Extracted {
                page,
                items_on_page,
                total_items,
            } => {
                let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
                *counts = (*page, *total_items);
                let secs = self.started.elapsed().as_secs_f64().max(0.001);
                let rate = *total_items as f64 / secs;
                match &self.bar {
                    Some(bar) => {
                        bar.inc(1);
                        bar.set_message(format!("{total_items} items · {rate:.0} items/s"));
                    }
                    None => eprintln!(
                        "page {page}: {items_on_page} item(s), {total_items} in all ({rate:.0} items/s)"
                    ),
                }
            }
            Event::Warning { message } => self.line(&format!("warning: {message}")),
            Event::Failed { error } => self.line(&format!("failed: {error}")),
            Event::Started { .. } | Event::Fetching { .. } | Event::Completed { .. } => {}
        }
    }
}
