//! Helpers for the end-to-end tests of `grandma`: the fixture site, job files in a scratch
//! folder, running the binary, and reading every output format back with a real reader.

#![allow(dead_code, unused_imports)]

pub mod site;

use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output};
use std::time::{Duration, Instant};

use calamine::{Data, Reader, Xlsx, open_workbook};
use serde_json::{Value, json};

pub use site::{PAGES, PER_PAGE, WIDE_COLUMNS, html, serve_logged, site};

/// `grandma` with a clean environment for what it reads (log filter, backtraces).
pub fn grandma() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("grandma").expect("the grandma binary");
    cmd.env_remove("GRANDMA_LOG")
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .timeout(Duration::from_secs(120));
    cmd
}

/// Runs `grandma ARGS`, checks its exit code, and returns what it printed.
#[track_caller]
pub fn run<I, S>(args: I, code: i32) -> Printed
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let output = grandma().args(args).output().expect("run grandma");
    Printed::checked(output, code)
}

/// What a finished `grandma` printed.
#[derive(Debug)]
pub struct Printed {
    pub stdout: String,
    pub stderr: String,
}

impl Printed {
    #[track_caller]
    pub fn checked(output: Output, code: i32) -> Printed {
        let printed = Printed {
            stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
        };
        assert_eq!(
            output.status.code(),
            Some(code),
            "exit status {:?}\n--- stdout:\n{}\n--- stderr:\n{}",
            output.status,
            printed.stdout,
            printed.stderr
        );
        printed.assert_no_panic();
        printed
    }

    /// The lines of stderr that start with `error:`; a failing command prints exactly one.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect()
    }

    /// The single `error: …` line, without the prefix.
    #[track_caller]
    pub fn error(&self) -> &str {
        let lines = self.error_lines();
        assert_eq!(lines.len(), 1, "one error line expected:\n{}", self.stderr);
        lines[0].strip_prefix("error: ").unwrap()
    }

    /// The end-of-run summary line (`completed: …`, `failed: …`, `cancelled: …`).
    #[track_caller]
    pub fn summary(&self) -> &str {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| {
                ["completed: ", "failed: ", "cancelled: "]
                    .iter()
                    .any(|p| l.starts_with(p))
                    && l.contains(" item(s) from ")
            })
            .collect();
        assert_eq!(
            lines.len(),
            1,
            "one summary line expected:\n{}",
            self.stderr
        );
        lines[0]
    }

    #[track_caller]
    pub fn assert_no_panic(&self) {
        for text in [&self.stdout, &self.stderr] {
            assert!(
                !text.contains("panicked") && !text.to_lowercase().contains("backtrace"),
                "a panic or backtrace was printed:\n{text}"
            );
        }
    }
}

/// Checks a summary line: `{status}: {items} item(s) from {pages} page(s) in …s (… items/s){rest}`.
/// The duration and rate vary, so only their shape is checked.
#[track_caller]
pub fn assert_summary(line: &str, status: &str, items: u64, pages: u32, rest: &str) {
    let head = format!("{status}: {items} item(s) from {pages} page(s) in ");
    let tail = line
        .strip_prefix(&head)
        .unwrap_or_else(|| panic!("summary {line:?} does not start with {head:?}"));
    let (secs, tail) = tail.split_once("s (").expect("a duration");
    assert!(secs.parse::<f64>().is_ok(), "duration in {line:?}");
    let (rate, tail) = tail.split_once(" items/s)").expect("a rate");
    assert!(rate.parse::<u64>().is_ok(), "rate in {line:?}");
    assert_eq!(tail, rest, "end of the summary {line:?}");
}

/// A scratch folder for job files and outputs.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().expect("a scratch folder"),
        }
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, contents).expect("write a scratch file");
        path
    }

    /// The file names in the folder, sorted (temporary `.part` files included).
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temp path")
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// The catalogue job: title, price, url, tags (a list), following the next link.
/// `extra` is appended as more top-level YAML keys.
pub fn catalogue_job(base: &str, extra: &str) -> String {
    format!(
        r#"# The fixture catalogue, page by page.
name: Catalogue
start_url: {base}/cat/page-1.html
item_selector: li.product
fields:
  - name: title
    selector: h2 a
  - name: price
    selector: p.price
  - name: url
    selector: h2 a
    attribute: href
  - name: tags
    selector: .tag
    multiple: true
pagination:
  type: next_button
  next_button_selector: a.next
min_delay_ms: 0
max_delay_ms: 0
retry_count: 0
timeout_seconds: 30
{extra}
"#
    )
}

/// One catalogue product as the catalogue job extracts it.
#[derive(Debug, Clone)]
pub struct Product {
    pub title: String,
    pub price: String,
    pub url: String,
    pub tags: Vec<String>,
}

/// The products of catalogue pages `pages`, for the site part at `base`, under route `route`.
pub fn products(base: &str, route: &str, pages: std::ops::RangeInclusive<u32>) -> Vec<Product> {
    pages
        .flat_map(|n| {
            (1..=PER_PAGE).map(move |i| Product {
                title: format!("Item {n}-{i}"),
                price: format!("£{n}.{i}0"),
                url: format!("{base}/{route}/item-{n}-{i}.html"),
                tags: vec![format!("p{n}"), format!("i{i}")],
            })
        })
        .collect()
}

pub const CATALOGUE_COLUMNS: [&str; 4] = ["title", "price", "url", "tags"];

/// Products as CSV records: lists joined with "; ".
pub fn product_records(products: &[Product]) -> Vec<Vec<String>> {
    products
        .iter()
        .map(|p| {
            vec![
                p.title.clone(),
                p.price.clone(),
                p.url.clone(),
                p.tags.join("; "),
            ]
        })
        .collect()
}

/// Products as JSON objects: lists as arrays.
pub fn product_objects(products: &[Product]) -> Vec<Value> {
    products
        .iter()
        .map(|p| json!({"title": p.title, "price": p.price, "url": p.url, "tags": p.tags}))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Readers

/// A CSV file read with the csv crate: its header and records.
pub fn read_csv(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header = reader
        .headers()
        .expect("a CSV header")
        .iter()
        .map(str::to_owned)
        .collect();
    let records = reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect();
    (header, records)
}

pub fn read_csv_file(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    read_csv(&std::fs::read(path).expect("the CSV file"))
}

/// A JSON document that must be an array of objects.
pub fn read_json(bytes: &[u8]) -> Vec<Value> {
    let value: Value = serde_json::from_slice(bytes).expect("valid JSON");
    value.as_array().expect("a JSON array").clone()
}

/// JSON Lines: one object per line, each line ended by a newline.
pub fn read_jsonl(bytes: &[u8]) -> Vec<Value> {
    let text = std::str::from_utf8(bytes).expect("UTF-8 JSON Lines");
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "last line not ended"
    );
    text.lines()
        .map(|l| serde_json::from_str(l).expect("one JSON value per line"))
        .collect()
}

/// The keys of each object, in document order (serde_json keeps it: `preserve_order`).
pub fn key_orders(objects: &[Value]) -> Vec<Vec<String>> {
    objects
        .iter()
        .map(|o| o.as_object().expect("an object").keys().cloned().collect())
        .collect()
}

/// Checks objects for equal values *and* equal key order (map equality ignores order).
#[track_caller]
pub fn assert_objects(got: &[Value], want: &[Value]) {
    assert_eq!(got, want);
    assert_eq!(key_orders(got), key_orders(want), "key order");
}

/// Every row of the `Items` sheet of an XLSX file, read with calamine.
pub fn read_xlsx(path: &Path) -> Vec<Vec<Data>> {
    let mut book: Xlsx<_> = open_workbook(path).expect("a readable XLSX file");
    assert_eq!(book.sheet_names(), ["Items"]);
    let range = book.worksheet_range("Items").expect("the Items sheet");
    assert_eq!(range.start(), Some((0, 0)));
    range.rows().map(<[Data]>::to_vec).collect()
}

/// The formulas of the `Items` sheet that are not empty.
pub fn xlsx_formulas(path: &Path) -> Vec<String> {
    let mut book: Xlsx<_> = open_workbook(path).expect("a readable XLSX file");
    let formulas = book.worksheet_formula("Items").expect("the Items sheet");
    formulas
        .used_cells()
        .filter(|(_, _, f)| !f.is_empty())
        .map(|(_, _, f)| f.clone())
        .collect()
}

pub fn text(s: &str) -> Data {
    Data::String(s.to_owned())
}

// ---------------------------------------------------------------------------------------------
// Processes

/// Polls `done` until it holds or `timeout` passes; false on timeout.
pub fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    done()
}

/// Waits for a child to exit; kills it (and fails) past `timeout`.
#[track_caller]
pub fn wait_child(child: &mut Child, timeout: Duration) -> ExitStatus {
    let mut status = None;
    wait_until(timeout, || {
        status = child.try_wait().expect("poll the child");
        status.is_some()
    });
    match status {
        Some(s) => s,
        None => {
            child.kill().ok();
            child.wait().ok();
            panic!("grandma did not exit within {timeout:?}");
        }
    }
}

/// Sends SIGINT (what Ctrl-C sends) to a process, through `kill(1)`.
#[track_caller]
pub fn interrupt(pid: u32) {
    let status = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -INT {pid} failed");
}
