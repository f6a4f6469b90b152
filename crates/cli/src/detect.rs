//! `grandma detect SOURCE`: the lists on a page, the likeliest first, each with its count,
//! fields, next page and first rows; `--write FILE` saves one as a commented job file ready
//! for `grandma scrape`.
//!
//! SOURCE is an http(s) URL (fetched like `grandma scrape` fetches: the same fetchers, private
//! addresses allowed unless `--block-private`, rendered in Chromium with `--browser` or when
//! plain HTTP shows a page built by scripts), a local HTML file, or `-` for HTML on standard
//! input (then `--url` says where the page lives, for its links and the job's `start_url`).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::Args;
use grandma_engine::detect::{self, Candidate, Detection, PaginationProposal};
use grandma_engine::fetch::browser::PageOptions;
use grandma_engine::fetch::{self, BrowserOptions, BrowserPool, FetchOptions, charset};
use grandma_engine::guard::NetworkGuard;
use grandma_engine::spec::{DEFAULT_USER_AGENTS, FetcherType, parse_http_url};
use grandma_engine::survey;
use grandma_engine::{Item, JobSpec};
use serde_json::Value;
use url::Url;

use crate::{Failure, starter, table};

/// Largest page read from a file or standard input (what the fetcher allows per page).
const MAX_PAGE_BYTES: usize = 10 * 1024 * 1024;
/// Where a page read from a file or standard input lives when `--url` is not given.
const LOCAL_URL: &str = "http://localhost/";

#[derive(Debug, Args)]
pub struct DetectArgs {
    /// The page: an http(s) URL, an HTML file, or `-` for HTML on standard input.
    source: String,

    /// Where the page lives when SOURCE is a file or `-`: its links resolve against it and it
    /// becomes the job's start_url (default http://localhost/).
    #[arg(long, value_name = "URL")]
    url: Option<String>,

    /// Save a candidate as a commented job file.
    #[arg(long, short, value_name = "FILE")]
    write: Option<PathBuf>,

    /// Which candidate --write saves (1 is the likeliest).
    #[arg(long, value_name = "N", default_value_t = 1)]
    pick: usize,

    /// Overwrite the --write file if it exists.
    #[arg(long)]
    force: bool,

    /// Print everything found as JSON (candidates, fields, sample rows, job documents).
    #[arg(long)]
    json: bool,

    /// Candidates listed at most.
    #[arg(long, value_name = "N", default_value_t = 5)]
    limit: usize,

    /// Refuse private, loopback and link-local addresses, as the server does.
    #[arg(long)]
    block_private: bool,

    /// With --block-private, still allow this network (CIDR, e.g. 10.1.0.0/16); repeatable.
    #[arg(long = "allow-network", value_name = "CIDR")]
    allow_networks: Vec<ipnet::IpNet>,

    /// Render the page in headless Chromium before looking (without it, a page that plain HTTP
    /// shows empty and that looks built by scripts is rendered when Chromium is installed).
    #[arg(long)]
    browser: bool,
}

/// A page to look at: its HTML and where it lives.
struct Source {
    html: String,
    url: Url,
}

pub fn run(args: DetectArgs) -> Result<(), Failure> {
    if args.pick == 0 {
        return Err(Failure::BadInput(anyhow!(
            "--pick counts from 1 (the likeliest list)"
        )));
    }
    let options = detect::DetectOptions {
        max_candidates: args.limit.max(args.pick).max(1),
        ..detect::DetectOptions::default()
    };
    let found = match load(&args)? {
        Some(source) => detect::detect_html(&source.html, &source.url, &options),
        None => fetch(&args, options)?,
    };
    for w in &found.warnings {
        eprintln!("warning: {w}");
    }
    if args.json {
        let text = serde_json::to_string_pretty(&found).context("cannot write JSON");
        println!("{}", text.map_err(Failure::RunFailed)?);
    } else {
        print_list(&found, &args);
    }
    let Some(path) = &args.write else {
        return if found.candidates.is_empty() && !args.json {
            Err(Failure::RunFailed(anyhow!(
                "no list found on {}; if the page builds its content with JavaScript, try \
                 --browser",
                found.url
            )))
        } else {
            Ok(())
        };
    };
    let candidate = found.candidates.get(args.pick - 1).ok_or_else(|| {
        Failure::BadInput(match found.candidates.len() {
            0 => anyhow!("no list found on {}; nothing to write", found.url),
            n => anyhow!("there are {n} candidate(s); pick one from 1 to {n}"),
        })
    })?;
    write_job(path, &found, candidate, args.pick, args.force)
}

/// Reads the page from a file or standard input; `None` for a URL, which [`fetch`] looks at.
fn load(args: &DetectArgs) -> Result<Option<Source>, Failure> {
    let lower = args.source.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        if args.url.is_some() {
            return Err(Failure::BadInput(anyhow!(
                "--url is for pages read from a file or standard input; this page's address is {}",
                args.source
            )));
        }
        return Ok(None);
    }
    if args.browser {
        return Err(Failure::BadInput(anyhow!(
            "--browser renders a page fetched from an http(s) address; a file is read as it is"
        )));
    }
    if lower.contains("://") {
        return Err(Failure::BadInput(anyhow!(
            "{:?} is not an http:// or https:// address, a file or `-`",
            args.source
        )));
    }
    let url = match &args.url {
        Some(u) => page_url(u).map_err(|e| Failure::BadInput(anyhow!("--url: {e}")))?,
        None => Url::parse(LOCAL_URL).expect("a valid URL"),
    };
    let bytes = if args.source == "-" {
        read_limited(std::io::stdin().lock(), "standard input")?
    } else {
        let path = Path::new(&args.source);
        let file = std::fs::File::open(path)
            .map_err(|e| Failure::BadInput(anyhow!("cannot read {}: {e}", path.display())))?;
        read_limited(file, &path.display().to_string())?
    };
    Ok(Some(Source {
        html: charset::decode(bytes, None),
        url,
    }))
}

/// An absolute http(s) URL with a host: what a job's start_url must be.
fn page_url(s: &str) -> anyhow::Result<Url> {
    parse_http_url(s).map_err(|message| anyhow!(message))
}

/// Reads at most [`MAX_PAGE_BYTES`]; a larger input is refused rather than cut.
fn read_limited(reader: impl Read, what: &str) -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    reader
        .take(MAX_PAGE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::BadInput(anyhow!("cannot read {what}: {e}")))?;
    if bytes.len() > MAX_PAGE_BYTES {
        return Err(Failure::BadInput(anyhow!(
            "{what} is larger than {MAX_PAGE_BYTES} bytes; a page may be at most that"
        )));
    }
    Ok(bytes)
}

/// Fetches the page behind the CLI's network policy and detects its lists: in Chromium with
/// `--browser`, else over plain HTTP, rendered in Chromium (when there is one) if it turns out
/// to be built by scripts.
fn fetch(args: &DetectArgs, detect_options: detect::DetectOptions) -> Result<Detection, Failure> {
    let url = page_url(&args.source).map_err(Failure::BadInput)?;
    let guard = if args.block_private {
        NetworkGuard::strict().allow_networks(args.allow_networks.iter().copied())
    } else {
        NetworkGuard::permissive()
    };
    guard
        .check_url(&url)
        .map_err(|e| Failure::BadInput(anyhow!("{url}: {e}")))?;
    let pool = match BrowserPool::new(BrowserOptions::default()) {
        Ok(pool) => Some(pool),
        Err(missing) if args.browser => {
            return Err(Failure::BadInput(anyhow!("--browser: {missing}")));
        }
        Err(_) => None,
    };
    let kind = match args.browser {
        true => FetcherType::Browser,
        false => FetcherType::Auto,
    };
    let options = FetchOptions {
        retry_count: 1,
        user_agents: DEFAULT_USER_AGENTS.iter().map(|s| s.to_string()).collect(),
        ..FetchOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)?;
    runtime.block_on(async {
        let fetcher = fetch::for_pages(kind, guard, options, PageOptions::default(), pool.as_ref())
            .map_err(|e| Failure::RunFailed(e.into()))?;
        survey::fetch_and_detect(fetcher.as_ref(), &url, detect_options)
            .await
            .map_err(|e| Failure::RunFailed(e.into()))
    })
}

/// The candidates as text: count, selector, fields, next page, a table of the first rows.
fn print_list(found: &Detection, args: &DetectArgs) {
    let title = found
        .title
        .as_deref()
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    match found.candidates.len() {
        0 => {
            println!("No list found on {}{title}.", found.url);
            return;
        }
        n => println!("{n} list(s) found on {}{title}:", found.url),
    }
    for (i, c) in found.candidates.iter().take(args.limit.max(1)).enumerate() {
        println!();
        println!("{}. {} item(s): {}", i + 1, c.count, c.item_selector);
        let names: Vec<&str> = c.fields.iter().map(|f| f.name.as_str()).collect();
        println!("   fields: {}", names.join(", "));
        if let Some(p) = &c.pagination {
            println!("   next page: {}", describe_pagination(p));
        }
        let columns: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let rows: Vec<Item> = c
            .sample
            .iter()
            .map(|r| Item::from_json_object(r, &columns))
            .collect();
        for line in table::render(&columns, &rows, 28).lines() {
            println!("   {line}");
        }
    }
    if args.write.is_none() {
        println!();
        println!(
            "Save one as a job file: grandma detect {} --pick N --write job.yaml",
            shell_word(&args.source)
        );
    }
}

fn describe_pagination(p: &PaginationProposal) -> String {
    match p {
        PaginationProposal::NextButton {
            selector, next_url, ..
        } => format!("the link {selector} → {next_url}"),
        PaginationProposal::UrlPattern {
            url_pattern,
            next_url,
        } => format!("page numbers {url_pattern} → {next_url}"),
    }
}

/// `s` quoted for a POSIX shell when it needs to be.
fn shell_word(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// Saves `candidate` as a commented job file, checked before it is written.
fn write_job(
    path: &Path,
    found: &Detection,
    candidate: &Candidate,
    pick: usize,
    force: bool,
) -> Result<(), Failure> {
    let text = job_yaml(found, candidate, pick);
    JobSpec::from_yaml_str(&text).map_err(|e| {
        Failure::RunFailed(anyhow!(
            "the job written from this list would not be valid: {e}"
        ))
    })?;
    let mut file = starter::create_file(path, force)?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
        .map_err(Failure::RunFailed)?;
    println!();
    println!(
        "wrote {}: {} item(s) per page, {} field(s); run it with `grandma scrape {} -o items.csv`",
        path.display(),
        candidate.count,
        candidate.fields.len(),
        path.display()
    );
    Ok(())
}

/// A YAML line with a comment lined up after it.
fn commented(content: &str, comment: &str) -> String {
    format!("{content:<32} # {comment}")
}

/// A YAML scalar: JSON text is valid YAML, quoted and escaped.
fn yaml(v: &Value) -> String {
    v.to_string()
}

/// The candidate's job document as commented YAML, key by key, so a person can read and edit
/// it.
fn job_yaml(found: &Detection, c: &Candidate, pick: usize) -> String {
    let job = &c.job;
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "# Written by `grandma detect` from {}: list {pick} of {}, {} item(s) on that page.",
        found.url,
        found.candidates.len(),
        c.count
    ));
    line(
        "# Check it with `grandma validate FILE`, run it with `grandma scrape FILE -o items.csv`."
            .into(),
    );
    line(format!("name: {}", yaml(&job["name"])));
    line(format!("start_url: {}", yaml(&job["start_url"])));
    line(String::new());
    line("# One match of this selector is one row of the spreadsheet.".into());
    line(format!("item_selector: {}", yaml(&job["item_selector"])));
    line(format!(
        "item_selector_type: {}",
        job["item_selector_type"].as_str().unwrap_or("css")
    ));
    line(String::new());
    line("# One column per field; selectors are relative to the item.".into());
    line("fields:".into());
    let fields = job["fields"].as_array().cloned().unwrap_or_default();
    for (f, proposal) in fields.iter().zip(&c.fields) {
        line(format!("  - name: {}", yaml(&f["name"])));
        line(format!("    selector: {}", yaml(&f["selector"])));
        if f["selector_type"].as_str() == Some("xpath") {
            line("    selector_type: xpath".into());
        }
        let attribute = f["attribute"].as_str().unwrap_or("text");
        line(commented(
            &format!("    attribute: {attribute}"),
            &format!(
                "{} of {} item(s) on the page have it",
                proposal.filled, c.count
            ),
        ));
        if let Some(custom) = f.get("custom_attribute") {
            line(format!("    custom_attribute: {}", yaml(custom)));
        }
        if f["multiple"].as_bool() == Some(true) {
            line(commented("    multiple: true", "every match, as a list"));
        }
        if f["required"].as_bool() == Some(true) {
            line(commented(
                "    required: true",
                "rows without it are dropped",
            ));
        }
    }
    line(String::new());
    match &c.pagination {
        Some(p) => {
            line(format!("# The next page: {}.", describe_pagination(p)));
            line("pagination:".into());
            for (k, v) in job["pagination"].as_object().into_iter().flatten() {
                line(format!("  {k}: {}", yaml(v)));
            }
            line(commented(
                "max_pages: 10",
                "raise it (up to 10000) to follow more pages",
            ));
        }
        None => {
            line("# No next page was found on the page.".into());
            line("pagination:".into());
            line("  type: none".into());
        }
    }
    line(String::new());
    line("# Be polite: wait between requests to the same site.".into());
    line("min_delay_ms: 1000".into());
    line("max_delay_ms: 3000".into());
    line("respect_robots_txt: true".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detection(html: &str) -> Detection {
        let url = Url::parse("https://shop.example/list?q=a'b").unwrap();
        detect::detect_html(html, &url, &detect::DetectOptions::default())
    }

    #[test]
    fn written_jobs_are_valid_and_say_what_they_found() {
        let items: String = (0..5)
            .map(|i| {
                format!(
                    "<li class=\"product\"><a href=\"/p/{i}\">Name \"{i}\": é</a>\
                     <span class=\"price\">€{i}.50</span><span data-sku=\"S{i}\"></span></li>"
                )
            })
            .collect();
        let found = detection(&format!(
            "<title>A \"quoted\" title</title><main><ul>{items}</ul>\
             <a rel=\"next\" href=\"?page=2\">Next</a></main>"
        ));
        let c = &found.candidates[0];
        let text = job_yaml(&found, c, 1);
        let spec = JobSpec::from_yaml_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(spec.name, "A \"quoted\" title");
        assert_eq!(spec.item_selector.source, c.item_selector);
        assert_eq!(spec.columns().len(), c.fields.len());
        assert_eq!(spec.max_pages, Some(10));
        assert!(
            text.contains("# 5 of 5 item(s) on the page have it"),
            "{text}"
        );
        assert!(text.contains("# The next page: the link"), "{text}");
    }

    #[test]
    fn shell_words() {
        assert_eq!(shell_word("https://a.example/x"), "https://a.example/x");
        // `?` is a shell wildcard.
        assert_eq!(
            shell_word("https://a.example/x?y=1"),
            "'https://a.example/x?y=1'"
        );
        assert_eq!(
            shell_word("https://a.example/x?y=1&z=2"),
            "'https://a.example/x?y=1&z=2'"
        );
        assert_eq!(shell_word("it's"), "'it'\\''s'");
    }
}
