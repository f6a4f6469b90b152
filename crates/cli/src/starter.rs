//! `grandma init NAME URL`: a commented starter job file.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use grandma_engine::JobSpec;

use crate::Failure;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The job's name, e.g. "Daily prices".
    name: String,
    /// The page to start from.
    url: String,
    /// Where to write the file (default: the name, lowercased, as a .yaml file).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Overwrite the file if it exists.
    #[arg(long)]
    force: bool,
}

pub fn run(args: InitArgs) -> Result<(), Failure> {
    let text = starter_job(&args.name, &args.url);
    // The starter must itself be a valid job: check before writing it.
    JobSpec::from_yaml_str(&text)
        .map_err(|e| Failure::BadInput(anyhow!("cannot make a job from these values: {e}")))?;
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{}.yaml", slug(&args.name))));
    let mut file = create_file(&path, args.force)?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::RunFailed)?;
    println!(
        "wrote {}: edit the selectors, then run `grandma scrape {} -o items.csv`",
        path.display(),
        path.display()
    );
    Ok(())
}

/// Creates a job file: a new one, or with `force` over an existing one.
pub(crate) fn create_file(path: &Path, force: bool) -> Result<std::fs::File, Failure> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Failure::BadInput(anyhow!(
                "{} already exists; pass --force to overwrite it",
                path.display()
            ))
        } else {
            Failure::BadInput(anyhow!("cannot create {}: {e}", path.display()))
        }
    })
}

/// A file-name-safe version of the job name.
fn slug(name: &str) -> String {
    let s: String = name
        .trim()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    let s = s
        .split('-')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if s.is_empty() { "job".into() } else { s }
}

/// YAML string quoting through JSON: JSON strings are valid YAML scalars.
fn quoted(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

fn starter_job(name: &str, url: &str) -> String {
    format!(
        r##"# GrandmaScraper job file. Check it with `grandma validate FILE`,
# run it with `grandma scrape FILE -o items.csv` (or .xlsx, .json, .jsonl).
name: {name}
start_url: {url}

# One match of this selector is one row of the spreadsheet.
item_selector: "article"
item_selector_type: css          # css or xpath

# One column per field. Selectors are relative to the item.
fields:
  - name: title
    selector: "h2"
    attribute: text              # text, html, href, src, value, or custom (+ custom_attribute)
    required: true               # drop the row when the title is missing
  - name: link
    selector: "a"
    attribute: href              # links become absolute URLs
  # - name: price
  #   selector: ".//span[@class='price']/text()"
  #   selector_type: xpath
  #   default_value: "n/a"
  # - name: tags
  #   selector: ".tag"
  #   multiple: true             # every match, joined with "; " in spreadsheets

# How to reach the next pages:
pagination:
  type: none                     # none, next_button, url_pattern
  # type: next_button
  # next_button_selector: "li.next a"
  # type: url_pattern
  # url_pattern: "?page={{page}}" # or "page-{{page}}.html" or a full URL with {{page}}

# max_pages: 10
# max_items: 1000

# Which fields say "this is the same item" from one run to the next (default: the first
# link field, else all fields); what changed since the last run is counted by it.
# item_key: [link]

# Data-quality gates: a run that misses one fails, saying why, and keeps its items.
# expect:
#   min_items: 20
#   fields_filled: {{title: 0.9}}  # title filled on at least 90% of the items
#   max_failed_pages: 0.1

# Be polite: wait between requests to the same site.
min_delay_ms: 1000
max_delay_ms: 3000
concurrent_requests: 1
respect_robots_txt: true
timeout_seconds: 30
retry_count: 3
"##,
        name = quoted(name),
        url = quoted(url),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starter_is_a_valid_job() {
        let text = starter_job("Daily \"prices\": shop", "https://shop.example/list");
        let spec = JobSpec::from_yaml_str(&text).unwrap();
        assert_eq!(spec.name, "Daily \"prices\": shop");
        assert_eq!(spec.start_url.as_str(), "https://shop.example/list");
        assert_eq!(spec.fields.len(), 2);
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Daily Prices!"), "daily-prices");
        assert_eq!(slug("***"), "job");
    }
}
