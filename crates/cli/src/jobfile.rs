//! Reading job files, and `grandma validate`.

use std::path::Path;

use anyhow::anyhow;
use grandma_engine::JobSpec;
use grandma_engine::fetch::{browser, check_browser};
use grandma_engine::guard::NetworkGuard;
use grandma_engine::spec::{FetcherType, MAX_DOCUMENT_BYTES, Pagination};

use crate::Failure;

/// Why a job file could not be loaded.
pub enum LoadError {
    /// The file could not be read at all.
    Read(anyhow::Error),
    /// It was read, and has these problems (each `path: message`).
    Invalid(Vec<String>),
}

/// Reads and validates a job file: JSON when it ends in `.json`, YAML otherwise.
pub fn load(path: &Path) -> Result<JobSpec, LoadError> {
    let meta = std::fs::metadata(path)
        .map_err(|e| LoadError::Read(anyhow!("cannot read {}: {e}", path.display())))?;
    if meta.len() > MAX_DOCUMENT_BYTES as u64 {
        return Err(LoadError::Read(anyhow!(
            "{} is {} bytes; a job file may be at most {MAX_DOCUMENT_BYTES}",
            path.display(),
            meta.len()
        )));
    }
    let bytes = std::fs::read(path)
        .map_err(|e| LoadError::Read(anyhow!("cannot read {}: {e}", path.display())))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        LoadError::Read(anyhow!(
            "{} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parsed = if is_json {
        JobSpec::from_json_str(&text)
    } else {
        JobSpec::from_yaml_str(&text)
    };
    parsed.map_err(|errors| LoadError::Invalid(errors.iter().map(|e| e.to_string()).collect()))
}

/// Loads a job for a command that then runs it: every problem is bad input (exit 2).
pub fn load_for_run(path: &Path) -> Result<JobSpec, Failure> {
    load(path).map_err(|e| match e {
        LoadError::Read(e) => Failure::BadInput(e),
        LoadError::Invalid(problems) => {
            for p in &problems {
                eprintln!("{}: {p}", path.display());
            }
            Failure::BadInput(anyhow!(
                "{} has {} problem(s); nothing was fetched",
                path.display(),
                problems.len()
            ))
        }
    })
}

/// `grandma validate JOB`: every problem on its own line, exit 1 if there is any.
pub fn validate_command(path: &Path) -> Result<(), Failure> {
    match load(path) {
        Ok(spec) => {
            // The start URL must pass the network guard; validate with the CLI's
            // own policy so `validate` and `scrape` agree.
            if let Err(e) = NetworkGuard::permissive().check_url(&spec.start_url) {
                println!("{}: start_url: {e}", path.display());
                return Err(Failure::RunFailed(anyhow!(
                    "1 problem(s) in {}",
                    path.display()
                )));
            }
            if let Err(missing) = check_browser(&spec, None) {
                println!("{}: {missing}", path.display());
                return Err(Failure::RunFailed(anyhow!(
                    "1 problem(s) in {}",
                    path.display()
                )));
            }
            let pagination = match &spec.pagination {
                Pagination::None => "no pagination".to_owned(),
                Pagination::NextButton { selector } => {
                    format!("next button {:?}", selector.source)
                }
                Pagination::UrlPattern { pattern } => format!("url pattern {pattern:?}"),
                Pagination::InfiniteScroll { .. } => "infinite scroll".to_owned(),
            };
            println!(
                "{}: ok: {:?} — {} field(s), {pagination}, starting at {}",
                path.display(),
                spec.name,
                spec.fields.len(),
                spec.start_url
            );
            if spec.fetcher_type == FetcherType::Auto && browser::locate_chromium(None).is_err() {
                println!(
                    "{}: note: pages that need JavaScript will not be rendered: Chromium was not \
                     found (install the `chromium` package or set {})",
                    path.display(),
                    browser::CHROMIUM_ENV
                );
            }
            Ok(())
        }
        Err(LoadError::Read(e)) => Err(Failure::BadInput(e)),
        Err(LoadError::Invalid(problems)) => {
            for p in &problems {
                println!("{}: {p}", path.display());
            }
            Err(Failure::RunFailed(anyhow!(
                "{} problem(s) in {}",
                problems.len(),
                path.display()
            )))
        }
    }
}
