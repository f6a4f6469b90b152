//! End-to-end tests of the `grandma` command line: the real binary against a fixture site
//! served from this process (see `cli_support/site.rs`), with every output read back by a real
//! reader (csv, serde_json, calamine) and compared in full.
//!
//! Exit codes under test: 0 success, 1 the run failed (or `validate` found problems), 2 bad
//! input. Each test uses its own tag (a path prefix on the site) and its own scratch folder, so
//! the tests run in parallel.

mod cli_support;

use std::process::Stdio;
use std::time::Duration;

use calamine::Data;
use cli_support::*;
use serde_json::{Value, json};

/// Long enough for a slow machine, never part of an assertion about speed.
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// scrape: formats

#[test]
fn csv_output_has_every_item_in_field_order() {
    let site = site();
    let base = site.base("csv");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let out = s.path("items.csv");

    let p = run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let (header, records) = read_csv_file(&out);
    assert_eq!(header, CATALOGUE_COLUMNS);
    assert_eq!(records, product_records(&products(&base, "cat", 1..=PAGES)));
    // The next link is followed to the last page, and no further.
    let pages: Vec<String> = (1..=PAGES)
        .map(|n| format!("/csv/cat/page-{n}.html"))
        .collect();
    assert_eq!(site.hits("csv"), pages);
    // Only the job and the output: the temporary file was renamed into place.
    assert_eq!(s.entries(), ["catalogue.yaml", "items.csv"]);
    assert_eq!(p.stdout, "");
    // Progress lines (stderr is not a terminal), then the summary, then where the items went.
    let progress: Vec<&str> = p
        .stderr
        .lines()
        .filter(|l| l.starts_with("page "))
        .collect();
    assert_eq!(progress.len(), PAGES as usize, "{}", p.stderr);
    for (i, line) in progress.iter().enumerate() {
        let want = format!("page {}: 3 item(s), {} in all (", i + 1, 3 * (i + 1));
        assert!(line.starts_with(&want), "{line:?}");
        assert!(line.ends_with(" items/s)"), "{line:?}");
    }
    assert_summary(p.summary(), "completed", 12, 4, "");
    assert!(
        p.stderr
            .lines()
            .any(|l| l == format!("12 item(s) written to {}", out.display())),
        "{}",
        p.stderr
    );
    assert!(p.error_lines().is_empty(), "{}", p.stderr);
}

#[cfg(unix)]
#[test]
fn output_file_gets_the_usual_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let base = site().base("mode");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, "max_pages: 1"));
    let out = s.path("items.csv");
    run(["scrape", arg(&job), "-o", arg(&out)], 0);
    // What any program writing a new file gets (0666 less the umask), not a temp file's 0600.
    let usual = std::fs::File::create(s.path("usual.txt")).unwrap();
    let usual = usual.metadata().unwrap().permissions().mode() & 0o777;
    let got = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(got, usual, "mode {got:o}, expected {usual:o}");
}

#[test]
fn csv_bom_only_adds_the_byte_order_mark() {
    let base = site().base("bom");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let plain = s.path("plain.csv");
    let bom = s.path("bom.csv");
    run(["scrape", arg(&job), "-o", arg(&plain)], 0);
    run(["scrape", arg(&job), "-o", arg(&bom), "--csv-bom"], 0);

    let plain = std::fs::read(plain).unwrap();
    let bom = std::fs::read(bom).unwrap();
    assert!(!plain.starts_with(b"\xEF\xBB\xBF"));
    assert_eq!(&bom[..3], b"\xEF\xBB\xBF");
    assert_eq!(&bom[3..], &plain[..]);
}

/// The page of awkward values, one column per kind of trouble.
fn tricky_job(base: &str) -> String {
    format!(
        r#"name: Tricky values
start_url: {base}/tricky
item_selector: div.row
fields:
  - name: name
    selector: .name
  - name: note
    selector: p.note
    attribute: custom
    custom_attribute: data-note
  - name: cell
    selector: .cell
  - name: tags
    selector: i.tag
    multiple: true
  - name: missing
    selector: .absent
  - name: fallback
    selector: .absent
    default_value: n/a
min_delay_ms: 0
max_delay_ms: 0
retry_count: 0
"#
    )
}

const TRICKY_COLUMNS: [&str; 6] = ["name", "note", "cell", "tags", "missing", "fallback"];

/// The tricky items as scraped (whitespace in attribute values collapsed, as in every string
/// result): what JSON carries untouched.
fn tricky_objects() -> Vec<Value> {
    vec![
        json!({"name": "Comma, \"quoted\" name", "note": "line one line two",
               "cell": "=SUM(A1:A9)", "tags": ["a, b", "c \"d\""], "missing": null,
               "fallback": "n/a"}),
        json!({"name": "Crème brûlée — 5€ 日本語 🎉", "note": "tab here",
               "cell": "+33 1 23 45 67", "tags": ["日本"], "missing": null, "fallback": "n/a"}),
        json!({"name": "A <b> tag & co", "note": null, "cell": "-42", "tags": null,
               "missing": null, "fallback": "n/a"}),
        json!({"name": "At sign", "note": "'already quoted", "cell": "@cmd",
               "tags": ["x;y", "z"], "missing": null, "fallback": "n/a"}),
        json!({"name": "Plain", "note": "a=b after a blank line", "cell": "42",
               "tags": ["one"], "missing": null, "fallback": "n/a"}),
    ]
}

#[test]
fn csv_quotes_joins_lists_and_neutralises_formulas() {
    let base = site().base("tricky-csv");
    let s = Scratch::new();
    let job = s.write("tricky.yaml", tricky_job(&base));
    let out = s.path("tricky.csv");
    run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let (header, records) = read_csv_file(&out);
    assert_eq!(header, TRICKY_COLUMNS);
    let want: Vec<Vec<&str>> = vec![
        vec![
            "Comma, \"quoted\" name",
            "line one line two",
            "'=SUM(A1:A9)",
            "a, b; c \"d\"",
            "",
            "n/a",
        ],
        vec![
            "Crème brûlée — 5€ 日本語 🎉",
            "tab here",
            "'+33 1 23 45 67",
            "日本",
            "",
            "n/a",
        ],
        vec!["A <b> tag & co", "", "-42", "", "", "n/a"],
        vec!["At sign", "'already quoted", "'@cmd", "x;y; z", "", "n/a"],
        vec!["Plain", "a=b after a blank line", "42", "one", "", "n/a"],
    ];
    assert_eq!(records, want);
}

#[test]
fn json_keeps_values_lists_and_nulls_as_scraped() {
    let base = site().base("tricky-json");
    let s = Scratch::new();
    let job = s.write("tricky.yaml", tricky_job(&base));
    let out = s.path("tricky.json");
    run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let items = read_json(&std::fs::read(&out).unwrap());
    assert_objects(&items, &tricky_objects());
    assert_eq!(key_orders(&items)[0], TRICKY_COLUMNS);
}

#[test]
fn xlsx_stores_formula_looking_values_as_text() {
    let base = site().base("tricky-xlsx");
    let s = Scratch::new();
    let job = s.write("tricky.yaml", tricky_job(&base));
    let out = s.path("tricky.xlsx");
    run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let rows = read_xlsx(&out);
    let e = Data::Empty;
    let na = text("n/a");
    let want = vec![
        TRICKY_COLUMNS.iter().map(|c| text(c)).collect::<Vec<_>>(),
        vec![
            text("Comma, \"quoted\" name"),
            text("line one line two"),
            text("=SUM(A1:A9)"),
            text("a, b; c \"d\""),
            e.clone(),
            na.clone(),
        ],
        vec![
            text("Crème brûlée — 5€ 日本語 🎉"),
            text("tab here"),
            text("+33 1 23 45 67"),
            text("日本"),
            e.clone(),
            na.clone(),
        ],
        vec![
            text("A <b> tag & co"),
            e.clone(),
            text("-42"),
            e.clone(),
            e.clone(),
            na.clone(),
        ],
        vec![
            text("At sign"),
            text("'already quoted"),
            text("@cmd"),
            text("x;y; z"),
            e.clone(),
            na.clone(),
        ],
        vec![
            text("Plain"),
            text("a=b after a blank line"),
            text("42"),
            text("one"),
            e.clone(),
            na.clone(),
        ],
    ];
    assert_eq!(rows, want);
    assert_eq!(xlsx_formulas(&out), Vec::<String>::new());

    // --numbers: plain numbers become number cells; "+33 …" and "@cmd" stay text.
    let numbers = s.path("numbers.xlsx");
    run(["scrape", arg(&job), "-o", arg(&numbers), "--numbers"], 0);
    let rows = read_xlsx(&numbers);
    let cells: Vec<&Data> = rows[1..].iter().map(|r| &r[2]).collect();
    assert_eq!(
        cells,
        [
            &text("=SUM(A1:A9)"),
            &text("+33 1 23 45 67"),
            &Data::Float(-42.0),
            &text("@cmd"),
            &Data::Float(42.0),
        ]
    );
}

#[test]
fn xlsx_with_more_than_26_columns() {
    let base = site().base("wide");
    let s = Scratch::new();
    let mut job = format!(
        "name: Wide\nstart_url: {base}/wide\nitem_selector: div.row\n\
         min_delay_ms: 0\nmax_delay_ms: 0\nfields:\n"
    );
    for col in 1..=WIDE_COLUMNS {
        job.push_str(&format!("  - {{name: column {col}, selector: .c{col}}}\n"));
    }
    let job = s.write("wide.yaml", job);
    let out = s.path("wide.xlsx");
    run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let rows = read_xlsx(&out);
    let header: Vec<Data> = (1..=WIDE_COLUMNS)
        .map(|c| text(&format!("column {c}")))
        .collect();
    let row = |r: usize| -> Vec<Data> {
        (1..=WIDE_COLUMNS)
            .map(|c| text(&format!("r{r}c{c}")))
            .collect()
    };
    assert_eq!(rows, vec![header, row(1), row(2)]);
}

#[test]
fn jsonl_with_numbered_pages_ends_at_the_404() {
    let site = site();
    let base = site.base("jsonl");
    let s = Scratch::new();
    let job = catalogue_job(&base, "").replace(
        "  type: next_button\n  next_button_selector: a.next",
        "  type: url_pattern\n  url_pattern: page-{page}.html",
    );
    assert!(job.contains("url_pattern"));
    let job = s.write("numbered.yaml", job);
    let out = s.path("items.jsonl");
    let p = run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let items = read_jsonl(&std::fs::read(&out).unwrap());
    assert_objects(&items, &product_objects(&products(&base, "cat", 1..=PAGES)));
    // Page 5 answers 404: the end of the catalogue, not a failure.
    let pages: Vec<String> = (1..=PAGES + 1)
        .map(|n| format!("/jsonl/cat/page-{n}.html"))
        .collect();
    assert_eq!(site.hits("jsonl"), pages);
    assert_summary(p.summary(), "completed", 12, 4, "");
}

#[test]
fn format_comes_from_the_extension_unless_given() {
    let base = site().base("ext");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, "max_pages: 1"));
    let want = products(&base, "cat", 1..=1);

    // Extensions in any case, and the .ndjson alias.
    let upper = s.path("ITEMS.JSON");
    run(["scrape", arg(&job), "-o", arg(&upper)], 0);
    assert_objects(
        &read_json(&std::fs::read(&upper).unwrap()),
        &product_objects(&want),
    );
    let nd = s.path("items.ndjson");
    run(["scrape", arg(&job), "-o", arg(&nd)], 0);
    assert_objects(
        &read_jsonl(&std::fs::read(&nd).unwrap()),
        &product_objects(&want),
    );

    // --format wins over the extension, and names the format of an unknown one.
    let json_named = s.path("really-csv.json");
    run(
        [
            "scrape",
            arg(&job),
            "-o",
            arg(&json_named),
            "--format",
            "csv",
        ],
        0,
    );
    assert_eq!(
        read_csv_file(&json_named),
        (
            CATALOGUE_COLUMNS.map(String::from).to_vec(),
            product_records(&want)
        )
    );
    let txt = s.path("items.txt");
    run(["scrape", arg(&job), "-o", arg(&txt), "-f", "excel"], 0);
    let rows = read_xlsx(&txt);
    assert_eq!(rows.len(), 1 + want.len());
    assert_eq!(rows[0], CATALOGUE_COLUMNS.map(text));
    assert_eq!(rows[1][0], text(&want[0].title));
}

#[test]
fn unknown_extension_without_format_is_bad_input() {
    let site = site();
    let base = site.base("unknown-ext");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let out = s.path("items.txt");
    let p = run(["scrape", arg(&job), "-o", arg(&out)], 2);
    assert_eq!(
        p.error(),
        format!(
            "cannot tell the format from {:?}; name it .csv, .json, .jsonl or .xlsx, or pass --format",
            out.display().to_string()
        )
    );
    assert_eq!(s.entries(), ["catalogue.yaml"]);
    assert!(site.hits("unknown-ext").is_empty(), "nothing is fetched");

    // A folder that does not exist is refused before anything is fetched, too.
    let nowhere = s.path("no/such/folder/items.csv");
    let p = run(["scrape", arg(&job), "-o", arg(&nowhere)], 2);
    assert_eq!(
        p.error(),
        format!(
            "the folder {} does not exist",
            s.path("no/such/folder").display()
        )
    );
    assert!(site.hits("unknown-ext").is_empty(), "nothing is fetched");
}

#[test]
fn dash_writes_to_standard_output() {
    let base = site().base("stdout");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let want = products(&base, "cat", 1..=PAGES);

    // JSON Lines by default: the one format that is a stream of items.
    let p = run(["scrape", arg(&job), "-o", "-"], 0);
    assert_objects(&read_jsonl(p.stdout.as_bytes()), &product_objects(&want));
    assert_summary(p.summary(), "completed", 12, 4, "");

    let p = run(
        ["scrape", arg(&job), "-o", "-", "--format", "csv", "--quiet"],
        0,
    );
    let (header, records) = read_csv(p.stdout.as_bytes());
    assert_eq!(header, CATALOGUE_COLUMNS);
    assert_eq!(records, product_records(&want));

    let p = run(["scrape", arg(&job), "-o", "-", "--format", "json"], 0);
    assert_objects(&read_json(p.stdout.as_bytes()), &product_objects(&want));

    let p = run(["scrape", arg(&job), "-o", "-", "--format", "xlsx"], 2);
    assert_eq!(
        p.error(),
        "Excel files cannot be written to standard output; give a file name"
    );
    assert_eq!(p.stdout, "");
    assert_eq!(s.entries(), ["catalogue.yaml"]);
}

#[test]
fn without_output_a_table_of_the_first_items() {
    let base = site().base("table");
    let s = Scratch::new();
    let job = catalogue_job(&base, "").replace(
        "  - name: url\n    selector: h2 a\n    attribute: href\n",
        "",
    );
    let job = s.write("catalogue.yaml", job);
    let p = run(["scrape", arg(&job)], 0);

    let mut want = vec![
        "title    │ price │ tags".to_owned(),
        format!("{}─┼─{}─┼─{}", "─".repeat(8), "─".repeat(5), "─".repeat(6)),
    ];
    for item in products(&base, "cat", 1..=PAGES).iter().take(10) {
        want.push(format!(
            "{} │ {} │ {}",
            item.title,
            item.price,
            item.tags.join("; ")
        ));
    }
    want.push("… 2 more item(s); use -o FILE to save them all".to_owned());
    assert_eq!(p.stdout, want.join("\n") + "\n");
    assert_summary(p.summary(), "completed", 12, 4, "");
    assert_eq!(s.entries(), ["catalogue.yaml"]);
}

#[test]
fn quiet_prints_only_the_summary() {
    let base = site().base("quiet");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let out = s.path("items.csv");
    let p = run(["scrape", arg(&job), "-o", arg(&out), "-q"], 0);
    let lines: Vec<&str> = p.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", p.stderr);
    assert_summary(lines[0], "completed", 12, 4, "");
    assert_eq!(lines[1], format!("12 item(s) written to {}", out.display()));
}

// ---------------------------------------------------------------------------------------------
// scrape: failed and interrupted runs

/// A job whose every page answers 500, tried once.
fn broken_job(base: &str) -> String {
    catalogue_job(base, "").replace("/cat/page-1.html", "/broken/page-1.html")
}

#[test]
fn a_failed_run_exits_1_and_writes_no_file() {
    let base = site().base("broken");
    let s = Scratch::new();
    let job = s.write("broken.yaml", broken_job(&base));
    let out = s.path("items.csv");
    let p = run(["scrape", arg(&job), "-o", arg(&out)], 1);

    let url = format!("{base}/broken/page-1.html");
    assert_eq!(
        p.error(),
        format!("the run failed: every page failed; first error: {url} answered HTTP 500")
    );
    assert_summary(
        p.summary(),
        "failed",
        0,
        0,
        ", 1 page(s) failed, 1 warning(s)",
    );
    assert!(
        p.stderr.contains(&format!(
            "warning: page 1 ({url}) failed: {url} answered HTTP 500"
        )),
        "{}",
        p.stderr
    );
    assert_eq!(s.entries(), ["broken.yaml"], "no output, no temporary file");
}

#[test]
fn a_failed_run_leaves_an_existing_file_alone() {
    let base = site().base("broken-existing");
    let s = Scratch::new();
    let job = s.write("broken.yaml", broken_job(&base));
    let out = s.write("items.csv", "yesterday's items\n");
    run(["scrape", arg(&job), "-o", arg(&out)], 1);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "yesterday's items\n"
    );
    // With --keep-partial too: nothing was scraped, so there is nothing to keep.
    let p = run(["scrape", arg(&job), "-o", arg(&out), "--keep-partial"], 1);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "yesterday's items\n"
    );
    assert!(p.error().starts_with("the run failed: "), "{}", p.stderr);
    assert_eq!(s.entries(), ["broken.yaml", "items.csv"]);
}

#[test]
fn pages_before_a_failing_page_are_a_completed_run_with_a_warning() {
    // The engine's rule: a run fails when *every* page failed; a catalogue that
    // breaks on page 3 completes with the first two pages and says that a page failed.
    let base = site().base("partial");
    let s = Scratch::new();
    let job = catalogue_job(&base, "").replace("/cat/page-1.html", "/partial/page-1.html");
    let job = s.write("partial.yaml", job);
    let out = s.path("items.json");
    let p = run(["scrape", arg(&job), "-o", arg(&out)], 0);

    let items = read_json(&std::fs::read(&out).unwrap());
    assert_objects(&items, &product_objects(&products(&base, "partial", 1..=2)));
    assert_summary(
        p.summary(),
        "completed",
        6,
        2,
        ", 1 page(s) failed, 1 warning(s)",
    );
    let url = format!("{base}/partial/page-3.html");
    assert!(
        p.stderr.contains(&format!(
            "warning: page 3 ({url}) failed: {url} answered HTTP 500"
        )),
        "{}",
        p.stderr
    );
}

/// Starts `grandma scrape` on the slow catalogue, waits until pages 1 and 2 were delivered
/// (the site was asked for page 3, which never comes), and sends SIGINT.
fn interrupt_slow_run(tag: &str, s: &Scratch, out: &std::path::Path, extra: &[&str]) -> Printed {
    let site = site();
    let base = site.base(tag);
    let job = catalogue_job(&base, "")
        .replace("/cat/page-1.html", "/slow/page-1.html")
        .replace("timeout_seconds: 30", "timeout_seconds: 300");
    let job = s.write("slow.yaml", job);
    // stderr goes to a file, so that a chatty run can never block on a full pipe.
    let stderr = tempfile::NamedTempFile::new().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_grandma"))
        .args(["scrape", arg(&job), "-o", arg(out)])
        .args(extra)
        .env_remove("GRANDMA_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr.reopen().unwrap())
        .spawn()
        .expect("start grandma");
    let page3 = format!("/{tag}/slow/page-3.html");
    let asked = wait_until(PATIENCE, || site.hits(tag).contains(&page3));
    if !asked {
        child.kill().ok();
        panic!("page 3 was never requested: {:?}", site.hits(tag));
    }
    interrupt(child.id());
    let status = wait_child(&mut child, PATIENCE);
    let mut stdout = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut stdout).unwrap();
    let output = std::process::Output {
        status,
        stdout: stdout.into_bytes(),
        stderr: std::fs::read(stderr.path()).unwrap(),
    };
    Printed::checked(output, 1)
}

#[test]
fn ctrl_c_stops_the_run_and_writes_no_file() {
    let s = Scratch::new();
    let out = s.path("items.csv");
    let p = interrupt_slow_run("sigint", &s, &out, &[]);

    assert_eq!(p.error(), "interrupted by Ctrl-C");
    assert_summary(p.summary(), "cancelled", 6, 2, "");
    assert!(
        p.stderr.contains(&format!(
            "{} not written (6 item(s) discarded; --keep-partial keeps them)",
            out.display()
        )),
        "{}",
        p.stderr
    );
    assert_eq!(s.entries(), ["slow.yaml"], "no output, no temporary file");
}

#[test]
fn ctrl_c_with_keep_partial_keeps_the_completed_pages() {
    let s = Scratch::new();
    let out = s.path("items.json");
    let p = interrupt_slow_run("sigint-keep", &s, &out, &["--keep-partial"]);

    assert_eq!(p.error(), "interrupted by Ctrl-C");
    assert_summary(p.summary(), "cancelled", 6, 2, "");
    assert!(
        p.stderr
            .contains(&format!("6 item(s) written to {}", out.display())),
        "{}",
        p.stderr
    );
    // A complete JSON document holding exactly the items of pages 1 and 2.
    let base = site().base("sigint-keep");
    let items = read_json(&std::fs::read(&out).unwrap());
    assert_objects(&items, &product_objects(&products(&base, "slow", 1..=2)));
    assert_eq!(s.entries(), ["items.json", "slow.yaml"]);
}

/// Runs grandma with a file-size limit (`ulimit -f`), as on a full disk: writing the output
/// fails part-way through page 2. SIGXFSZ is ignored (inherited through `exec`) so that the
/// write fails with EFBIG instead of killing the process.
#[cfg(unix)]
fn run_with_small_disk(args: &[&str]) -> Printed {
    let output = std::process::Command::new("sh")
        .arg("-c")
        .arg("trap '' XFSZ; ulimit -f 64 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_grandma"))
        .args(args)
        .env_remove("GRANDMA_LOG")
        .output()
        .expect("run grandma through sh");
    Printed::checked(output, 1)
}

#[cfg(unix)]
#[test]
fn a_write_failure_mid_run_leaves_no_truncated_file() {
    let base = site().base("full-disk");
    let s = Scratch::new();
    let job = catalogue_job(&base, "").replace("/cat/page-1.html", "/big/page-1.html");
    let job = s.write("big.yaml", job);
    let out = s.path("items.csv");

    let p = run_with_small_disk(&["scrape", arg(&job), "-o", arg(&out)]);
    assert!(p.error().contains("File too large"), "{}", p.stderr);
    assert!(p.summary().starts_with("failed: "), "{}", p.stderr);
    assert_eq!(s.entries(), ["big.yaml"], "no output, no temporary file");

    // What was written cannot be completed, so even --keep-partial leaves no file.
    let p = run_with_small_disk(&["scrape", arg(&job), "-o", arg(&out), "--keep-partial"]);
    assert!(p.error().contains("File too large"), "{}", p.stderr);
    assert_eq!(s.entries(), ["big.yaml"], "no output, no temporary file");
}

// ---------------------------------------------------------------------------------------------
// scrape: the network guard

#[test]
fn block_private_refuses_the_loopback_site() {
    let site = site();
    let base = site.base("guard");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let out = s.path("items.csv");

    let p = run(["scrape", arg(&job), "-o", arg(&out), "--block-private"], 2);
    assert_eq!(
        p.error(),
        "start_url: 127.0.0.1 is not allowed by the network guard (loopback)"
    );
    assert!(site.hits("guard").is_empty(), "nothing is fetched");
    assert_eq!(s.entries(), ["catalogue.yaml"]);

    // An allowed network opens it again.
    let args = [
        "scrape",
        arg(&job),
        "-o",
        arg(&out),
        "--block-private",
        "--allow-network",
        "127.0.0.1/32",
    ];
    run(args, 0);
    assert_eq!(
        read_csv_file(&out).1,
        product_records(&products(&base, "cat", 1..=PAGES))
    );
}

#[test]
fn block_private_refuses_a_host_name_that_resolves_to_loopback() {
    let site = site();
    let base = site.localhost_base("guard-dns");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let out = s.path("items.csv");
    // The name is resolved and its address checked before anything is fetched.
    let p = run(["scrape", arg(&job), "-o", arg(&out), "--block-private"], 2);
    // 127.0.0.1 or ::1, whichever the resolver gives first.
    let error = p.error();
    assert!(
        error.starts_with("start_url: localhost resolves to ")
            && error.ends_with(", which is not allowed by the network guard (loopback)"),
        "{error}"
    );
    assert!(site.hits("guard-dns").is_empty(), "nothing is fetched");
    assert_eq!(s.entries(), ["catalogue.yaml"]);
}

// ---------------------------------------------------------------------------------------------
// validate and bad job files

#[test]
fn validate_accepts_a_good_job() {
    let base = site().base("validate");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let p = run(["validate", arg(&job)], 0);
    assert_eq!(
        p.stdout,
        format!(
            "{}: ok: \"Catalogue\" — 4 field(s), next button \"a.next\", starting at {base}/cat/page-1.html\n",
            job.display()
        )
    );
    assert_eq!(p.stderr, "");
    assert!(
        site().hits("validate").is_empty(),
        "validate fetches nothing"
    );

    // A JSON job, read as JSON because of its extension.
    let doc = json!({
        "name": "Catalogue",
        "start_url": format!("{base}/cat/page-1.html"),
        "item_selector": "li.product",
        "fields": [{"name": "title", "selector": "h2 a"}],
    });
    let json_job = s.write(
        "catalogue.json",
        serde_json::to_string_pretty(&doc).unwrap(),
    );
    let p = run(["validate", arg(&json_job)], 0);
    assert_eq!(
        p.stdout,
        format!(
            "{}: ok: \"Catalogue\" — 1 field(s), no pagination, starting at {base}/cat/page-1.html\n",
            json_job.display()
        )
    );
    let bad_json = s.write("bad.json", "{\"name\": \"x\",}");
    let p = run(["validate", arg(&bad_json)], 1);
    let prefix = format!("{}: not valid JSON: ", bad_json.display());
    assert!(p.stdout.starts_with(&prefix), "{}", p.stdout);
    assert_eq!(p.stdout.lines().count(), 1, "{}", p.stdout);
}

/// The catalogue job on a host that is never fetched, for the validation tests.
fn offline_job() -> String {
    catalogue_job("http://shop.example", "")
}

#[test]
fn validate_names_each_problem_with_its_path() {
    let s = Scratch::new();
    // (what to replace in the good job, by what, the line `validate` prints after "FILE: ").
    let exact: &[(&str, &str, &str)] = &[
        (
            "retry_count: 0",
            "retries: 0",
            "retries: unknown key; did you mean `retry_count`?",
        ),
        (
            "max_delay_ms: 0",
            "max_delay_ms: 0\nmax_page: 3",
            "max_page: unknown key; did you mean `max_pages`?",
        ),
        (
            "    attribute: href",
            "    atribute: href",
            "fields[2].atribute: unknown key; did you mean `attribute`?",
        ),
        (
            "start_url: http://shop.example/cat/page-1.html",
            "start_url: ftp://shop.example/",
            "start_url: must be an http:// or https:// URL, got scheme \"ftp\"",
        ),
        (
            "start_url: http://shop.example/cat/page-1.html",
            "start_url: shop.example/cat",
            "start_url: not a valid URL (relative URL without a base): \"shop.example/cat\"",
        ),
        (
            "retry_count: 0",
            "retry_count: three",
            "retry_count: must be a whole number, got text",
        ),
        (
            "    multiple: true",
            "    multiple: \"yes\"",
            "fields[3].multiple: must be true or false, got text",
        ),
        (
            "timeout_seconds: 30",
            "timeout_seconds: 0",
            "timeout_seconds: must be between 1 and 300, got 0",
        ),
        (
            "retry_count: 0",
            "retry_count: 11",
            "retry_count: must be between 0 and 10, got 11",
        ),
    ];
    // Selector errors end with the parser's own words: checked up to them.
    let prefixed: &[(&str, &str, &str)] = &[
        (
            "    selector: p.price",
            "    selector: \"p[[\"",
            "fields[1].selector: invalid CSS selector \"p[[\": ",
        ),
        (
            "    selector: h2 a\n    attribute: href",
            "    selector: \"//a[\"\n    selector_type: xpath\n    attribute: href",
            "fields[2].selector: invalid XPath \"//a[\": ",
        ),
        (
            "next_button_selector: a.next",
            "next_button_selector: \"a.next >\"",
            "pagination.next_button_selector: invalid CSS selector \"a.next >\": ",
        ),
    ];
    let cases = exact
        .iter()
        .map(|c| (c, true))
        .chain(prefixed.iter().map(|c| (c, false)));
    for (i, ((from, to, want), is_exact)) in cases.enumerate() {
        let text = offline_job();
        assert!(text.contains(from), "{from:?} is not in the job");
        let job = s.write(&format!("bad-{i}.yaml"), text.replacen(from, to, 1));
        let p = run(["validate", arg(&job)], 1);
        let want = format!("{}: {want}", job.display());
        let lines: Vec<&str> = p.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "{}", p.stdout);
        if is_exact {
            assert_eq!(lines[0], want);
        } else {
            assert!(lines[0].starts_with(&want), "{:?} vs {want:?}", lines[0]);
            assert!(lines[0].len() > want.len(), "the parser's reason is given");
        }
        assert_eq!(
            p.stderr,
            format!("error: 1 problem(s) in {}\n", job.display())
        );
    }
}

#[test]
fn validate_reports_malformed_yaml_with_its_line() {
    let s = Scratch::new();
    let job = s.write(
        "broken.yaml",
        "name: x\nfields: [unclosed\nstart_url: http://a.example/\n",
    );
    let p = run(["validate", arg(&job)], 1);
    let prefix = format!("{}: not valid YAML: ", job.display());
    assert!(p.stdout.starts_with(&prefix), "{}", p.stdout);
    assert!(p.stdout.contains("line "), "{}", p.stdout);
    assert_eq!(p.stdout.lines().count(), 1, "{}", p.stdout);
    assert_eq!(p.error(), format!("1 problem(s) in {}", job.display()));
}

/// A job with a dozen problems, and the lines `validate` gives for them in document order, each
/// with whether it is exact (or only its beginning is fixed).
fn many_problems() -> (&'static str, Vec<(&'static str, bool)>) {
    let job = r#"name: ""
start_url: ftp://shop.example/
item_selecter: li.product
fields:
  - name: title
    selector: "h2 [["
  - name: title
    selector: "//a["
    selector_type: xpath
  - name: price
    selector: p
    attribute: colour
pagination:
  type: next_button
  next_button_selector: "a.next >"
max_pages: ten
min_delay_ms: 5000
max_delay_ms: 10
concurrent_requests: 99
"#;
    let lines = vec![
        (
            "item_selecter: unknown key; did you mean `item_selector`?",
            true,
        ),
        ("name: must not be empty", true),
        (
            "start_url: must be an http:// or https:// URL, got scheme \"ftp\"",
            true,
        ),
        ("item_selector: is required", true),
        (
            "fields[0].selector: invalid CSS selector \"h2 [[\": ",
            false,
        ),
        (
            "fields[1].name: duplicate field name \"title\"; field names are column names and must be unique",
            true,
        ),
        ("fields[1].selector: invalid XPath \"//a[\": ", false),
        (
            "fields[2].attribute: must be one of text, html, href, src, value, custom; got \"colour\" \
             (for another attribute use `attribute: custom` with `custom_attribute: colour`)",
            true,
        ),
        (
            "pagination.next_button_selector: invalid CSS selector \"a.next >\": ",
            false,
        ),
        ("max_pages: must be a whole number, got text", true),
        (
            "max_delay_ms: must be at least min_delay_ms (5000), got 10",
            true,
        ),
        (
            "concurrent_requests: must be between 1 and 32, got 99",
            true,
        ),
    ];
    (job, lines)
}

#[track_caller]
fn assert_problem_lines(printed: &str, file: &std::path::Path, want: &[(&str, bool)]) {
    let got: Vec<&str> = printed
        .lines()
        .filter(|l| !l.starts_with("error:"))
        .collect();
    assert_eq!(got.len(), want.len(), "{printed}");
    for (line, (want, is_exact)) in got.iter().zip(want) {
        let want = format!("{}: {want}", file.display());
        if *is_exact {
            assert_eq!(*line, want);
        } else {
            assert!(line.starts_with(&want), "{line:?} vs {want:?}");
        }
    }
}

#[test]
fn validate_lists_every_problem_at_once() {
    let s = Scratch::new();
    let (text, want) = many_problems();
    let job = s.write("many.yaml", text);
    let p = run(["validate", arg(&job)], 1);
    assert_problem_lines(&p.stdout, &job, &want);
    assert_eq!(p.error(), format!("12 problem(s) in {}", job.display()));
}

#[test]
fn scrape_refuses_an_invalid_job_before_fetching() {
    let site = site();
    let s = Scratch::new();
    let (text, want) = many_problems();
    let job = s.write("many.yaml", text);
    let out = s.path("items.csv");
    let p = run(["scrape", arg(&job), "-o", arg(&out)], 2);
    assert_problem_lines(&p.stderr, &job, &want);
    assert_eq!(
        p.error(),
        format!("{} has 12 problem(s); nothing was fetched", job.display())
    );
    assert_eq!(p.stdout, "");
    assert_eq!(s.entries(), ["many.yaml"]);

    // A job on the fixture site with one bad selector: still nothing fetched.
    let base = site.base("invalid");
    let bad = catalogue_job(&base, "").replace("selector: p.price", "selector: \"p[[\"");
    let job = s.write("bad.yaml", bad);
    let p = run(["scrape", arg(&job), "-o", arg(&out)], 2);
    assert!(
        p.stderr
            .contains("fields[1].selector: invalid CSS selector")
    );
    assert!(site.hits("invalid").is_empty(), "nothing is fetched");
}

#[test]
fn unreadable_job_files_are_bad_input() {
    let s = Scratch::new();
    let missing = s.path("missing.yaml");
    let folder = s.path("folder.yaml");
    std::fs::create_dir(&folder).unwrap();
    // "café" in Latin-1: the é is byte 0xE9, at offset 9.
    let latin1 = s.write(
        "latin1.yaml",
        b"name: caf\xe9\nstart_url: http://a.example/\n",
    );
    let cases = [
        (
            &missing,
            format!(
                "cannot read {}: No such file or directory (os error 2)",
                missing.display()
            ),
        ),
        (
            &folder,
            format!(
                "cannot read {}: Is a directory (os error 21)",
                folder.display()
            ),
        ),
        (
            &latin1,
            format!(
                "{} is not UTF-8 text (invalid byte at offset 9)",
                latin1.display()
            ),
        ),
    ];
    for (path, want) in cases {
        for command in ["validate", "scrape"] {
            let p = run([command, arg(path)], 2);
            assert_eq!(p.error(), want, "{command}");
            assert_eq!(p.stdout, "", "{command}");
        }
    }
}

#[test]
fn a_job_that_needs_chromium_is_refused_in_words_when_there_is_none() {
    let site = site();
    let base = site.base("nochromium");
    let s = Scratch::new();
    let job = catalogue_job(&base, "").replace(
        "  type: next_button\n  next_button_selector: a.next",
        "  type: infinite_scroll",
    );
    let job = s.write("scroll.yaml", job);
    let missing = s.path("no-such-chromium");
    let reason = format!(
        "this job needs Chromium: {} (from GRANDMA_CHROMIUM) is not an executable file; install \
         the `chromium` package or set GRANDMA_CHROMIUM to the browser's path",
        missing.display()
    );
    let output = grandma()
        .env("GRANDMA_CHROMIUM", &missing)
        .args(["validate", arg(&job)])
        .output()
        .unwrap();
    let p = Printed::checked(output, 1);
    assert_eq!(p.stdout, format!("{}: {reason}\n", job.display()));
    let output = grandma()
        .env("GRANDMA_CHROMIUM", &missing)
        .args(["scrape", arg(&job), "-o", arg(&s.path("items.csv"))])
        .output()
        .unwrap();
    let p = Printed::checked(output, 2);
    assert_eq!(p.error(), reason);
    assert!(site.hits("nochromium").is_empty(), "nothing is fetched");
    // `auto` still runs over plain HTTP, and `validate` says what is missing.
    let auto = s.write("auto.yaml", catalogue_job(&base, "fetcher_type: auto"));
    let output = grandma()
        .env("GRANDMA_CHROMIUM", &missing)
        .args(["validate", arg(&auto)])
        .output()
        .unwrap();
    let p = Printed::checked(output, 0);
    assert!(
        p.stdout
            .contains("note: pages that need JavaScript will not be rendered"),
        "{}",
        p.stdout
    );
}

#[test]
fn scrape_runs_browser_and_infinite_scroll_jobs_in_chromium() {
    let site = site();
    let base = site.base("inbrowser");
    let s = Scratch::new();
    let by_http = s.write("http.yaml", catalogue_job(&base, "fetcher_type: requests"));
    let p = run(
        [
            "scrape",
            arg(&by_http),
            "-o",
            arg(&s.path("http.csv")),
            "-q",
        ],
        0,
    );
    assert!(p.stderr.contains("item(s) written"), "{}", p.stderr);
    let expected = std::fs::read_to_string(s.path("http.csv")).unwrap();

    let in_browser = s.write(
        "browser.yaml",
        catalogue_job(&base, "fetcher_type: browser"),
    );
    let p = run(["validate", arg(&in_browser)], 0);
    assert!(p.stdout.contains(": ok:"), "{}", p.stdout);
    run(
        [
            "scrape",
            arg(&in_browser),
            "-o",
            arg(&s.path("browser.csv")),
            "-q",
        ],
        0,
    );
    assert_eq!(
        std::fs::read_to_string(s.path("browser.csv")).unwrap(),
        expected,
        "the same rows through the browser"
    );

    // The catalogue does not grow when scrolled: the first page's rows, once.
    let scroll = catalogue_job(&base, "").replace(
        "  type: next_button\n  next_button_selector: a.next",
        "  type: infinite_scroll\n  scroll_wait_ms: 100",
    );
    let scroll = s.write("scroll.yaml", scroll);
    run(
        [
            "scrape",
            arg(&scroll),
            "-o",
            arg(&s.path("scroll.csv")),
            "-q",
        ],
        0,
    );
    let page_one = s.write(
        "one.yaml",
        catalogue_job(&base, "fetcher_type: requests\nmax_pages: 1"),
    );
    run(
        [
            "scrape",
            arg(&page_one),
            "-o",
            arg(&s.path("one.csv")),
            "-q",
        ],
        0,
    );
    assert_eq!(
        std::fs::read_to_string(s.path("scroll.csv")).unwrap(),
        std::fs::read_to_string(s.path("one.csv")).unwrap()
    );
}

// ---------------------------------------------------------------------------------------------
// init

#[test]
fn init_writes_a_starter_that_validates_and_is_not_overwritten() {
    let s = Scratch::new();
    let file = s.path("shop.yaml");
    let name = "Daily \"prices\": shop #1";
    let url = "https://shop.example/list?page=1&sort=new";
    let p = run(["init", name, url, "-o", arg(&file)], 0);
    assert_eq!(
        p.stdout,
        format!(
            "wrote {0}: edit the selectors, then run `grandma scrape {0} -o items.csv`\n",
            file.display()
        )
    );
    let starter = std::fs::read_to_string(&file).unwrap();
    assert!(
        starter.starts_with("# GrandmaScraper job file."),
        "{starter}"
    );
    assert!(
        starter
            .lines()
            .filter(|l| l.trim_start().starts_with('#'))
            .count()
            > 10
    );

    let p = run(["validate", arg(&file)], 0);
    assert_eq!(
        p.stdout,
        format!(
            "{}: ok: \"Daily \\\"prices\\\": shop #1\" — 2 field(s), no pagination, starting at {url}\n",
            file.display()
        )
    );

    // An existing file is kept unless --force.
    let p = run(
        ["init", "Other", "https://other.example/", "-o", arg(&file)],
        2,
    );
    assert_eq!(
        p.error(),
        format!(
            "{} already exists; pass --force to overwrite it",
            file.display()
        )
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), starter);
    let args = [
        "init",
        "Other",
        "https://other.example/",
        "-o",
        arg(&file),
        "--force",
    ];
    run(args, 0);
    let p = run(["validate", arg(&file)], 0);
    assert!(p.stdout.contains(": ok: \"Other\""), "{}", p.stdout);
}

#[test]
fn init_names_the_file_after_the_job() {
    let s = Scratch::new();
    let p = grandma()
        .current_dir(s.dir())
        .args(["init", "Daily Prices!", "https://shop.example/"])
        .output()
        .unwrap();
    let p = Printed::checked(p, 0);
    assert!(
        p.stdout.starts_with("wrote daily-prices.yaml: "),
        "{}",
        p.stdout
    );
    assert_eq!(s.entries(), ["daily-prices.yaml"]);
    run(["validate", arg(&s.path("daily-prices.yaml"))], 0);
}

#[test]
fn init_refuses_a_bad_url_and_writes_nothing() {
    let s = Scratch::new();
    let file = s.path("job.yaml");
    let p = run(["init", "Shop", "ftp://shop.example/", "-o", arg(&file)], 2);
    assert_eq!(
        p.error(),
        "cannot make a job from these values: start_url: must be an http:// or https:// URL, got scheme \"ftp\""
    );
    assert_eq!(s.entries(), Vec::<String>::new());
}

#[test]
fn the_starter_job_scrapes_as_written() {
    let site = site();
    let base = site.base("starter");
    let s = Scratch::new();
    let file = s.path("starter.yaml");
    run(
        [
            "init",
            "Stories",
            &format!("{base}/starter"),
            "-o",
            arg(&file),
        ],
        0,
    );
    let out = s.path("stories.csv");
    let p = run(["scrape", arg(&file), "-o", arg(&out)], 0);
    let root = base.trim_end_matches("/starter");
    assert_eq!(
        read_csv_file(&out),
        (
            vec!["title".to_owned(), "link".to_owned()],
            vec![
                vec!["First story".to_owned(), format!("{root}/stories/1")],
                vec!["Second story".to_owned(), format!("{base}/stories/2")],
            ]
        )
    );
    // The advert has no title, which the starter marks required.
    assert_summary(
        p.summary(),
        "completed",
        2,
        1,
        ", 1 item(s) dropped for a missing required field, 1 warning(s)",
    );
}

// ---------------------------------------------------------------------------------------------
// arguments and errors

#[test]
fn help_and_version_exit_0() {
    let p = run(["--help"], 0);
    for command in ["scrape", "validate", "init"] {
        assert!(p.stdout.contains(command), "{}", p.stdout);
    }
    let p = run(["scrape", "--help"], 0);
    for flag in [
        "--output",
        "--format",
        "--keep-partial",
        "--block-private",
        "--allow-network",
        "--csv-bom",
        "--numbers",
        "--quiet",
    ] {
        assert!(p.stdout.contains(flag), "{flag}: {}", p.stdout);
    }
    let p = run(["--version"], 0);
    assert_eq!(p.stdout, format!("grandma {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn bad_arguments_exit_2() {
    let s = Scratch::new();
    let job = s.write("job.yaml", offline_job());
    let job = arg(&job);
    let cases: &[(&[&str], &str)] = &[
        (&["scrape", job, "--bogus"], "unexpected argument '--bogus'"),
        (&["scrape"], "required arguments were not provided"),
        (&[], "Usage:"),
        (&["frobnicate"], "unrecognized subcommand 'frobnicate'"),
        (
            &["scrape", job, "--format", "pdf"],
            "unknown export format \"pdf\"",
        ),
        (
            &[
                "scrape",
                job,
                "--block-private",
                "--allow-network",
                "localnet",
            ],
            "invalid value 'localnet' for '--allow-network <CIDR>'",
        ),
    ];
    for (args, want) in cases {
        let p = run(*args, 2);
        assert!(p.stderr.contains(want), "{args:?}: {}", p.stderr);
        assert_eq!(p.stdout, "", "{args:?}");
    }
}

#[test]
fn errors_are_one_line_even_with_backtraces_enabled() {
    let base = site().base("one-line");
    let s = Scratch::new();
    let job = s.write("broken.yaml", broken_job(&base));
    let out = s.path("items.csv");
    let output = grandma()
        .env("RUST_BACKTRACE", "1")
        .args(["scrape", arg(&job), "-o", arg(&out)])
        .output()
        .unwrap();
    let p = Printed::checked(output, 1);
    assert!(p.error().starts_with("the run failed: "), "{}", p.stderr);

    // --verbose is where a backtrace may be shown, when one was asked for.
    let output = grandma()
        .env("RUST_BACKTRACE", "1")
        .args(["--verbose", "scrape", arg(&job), "-o", arg(&out)])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.contains("error: the run failed: every page failed"),
        "{stderr}"
    );
    assert!(stderr.contains("Stack backtrace:"), "{stderr}");
    assert_eq!(s.entries(), ["broken.yaml"]);
}

#[test]
fn validate_checks_the_start_url_against_the_network_guard() {
    let s = Scratch::new();
    let job = s.write("metadata.yaml", catalogue_job("http://169.254.169.254", ""));
    let p = run(["validate", arg(&job)], 1);
    assert!(
        p.stdout.contains("start_url: 169.254.169.254")
            && p.stdout.contains("not allowed by the network guard"),
        "{}",
        p.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// scrape --since

#[test]
fn since_writes_only_the_new_and_changed_items() {
    let site = site();
    let base = site.base("since");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let all = products(&base, "cat", 1..=PAGES);
    // The earlier output: without the first product, with another price for the fifth, with a
    // product the site no longer lists, and with one product twice; shuffled.
    let mut earlier: Vec<Value> = product_objects(&all[1..]);
    earlier[3]["price"] = json!("£0.01");
    earlier.push(
        json!({"title": "Gone", "price": "£1", "url": format!("{base}/cat/gone.html"), "tags": []}),
    );
    earlier.push(earlier[0].clone());
    earlier.reverse();
    let lines: Vec<String> = earlier.iter().map(Value::to_string).collect();
    let previous = s.write("previous.jsonl", lines.join("\n") + "\n\n");
    let out = s.path("new.jsonl");

    let p = run(
        [
            "scrape",
            arg(&job),
            "-o",
            arg(&out),
            "--since",
            arg(&previous),
        ],
        0,
    );

    let items = read_jsonl(&std::fs::read(&out).unwrap());
    assert_objects(&items, &product_objects(&[all[0].clone(), all[4].clone()]));
    assert!(
        p.stderr
            .lines()
            .any(|l| l == "since the earlier file: 1 new, 1 changed item(s) written"),
        "{}",
        p.stderr
    );
}

#[test]
fn since_refuses_a_malformed_earlier_file_before_fetching() {
    let site = site();
    let base = site.base("since-bad");
    let s = Scratch::new();
    let job = s.write("catalogue.yaml", catalogue_job(&base, ""));
    let out = s.path("new.jsonl");
    let long = format!("{{\"title\": \"{}\"}}\n", "x".repeat(9 * 1024 * 1024));
    for (name, contents, message) in [
        (
            "broken.jsonl",
            "{\"title\": \"a\"}\n{not json\n".to_owned(),
            "broken.jsonl line 2: not JSON",
        ),
        (
            "list.jsonl",
            "[1, 2]\n".to_owned(),
            "list.jsonl line 1: expected an object of field values",
        ),
        (
            "other.jsonl",
            "{\"name\": \"a\"}\n".to_owned(),
            "other.jsonl line 1: none of the job's fields",
        ),
        (
            "binary.jsonl",
            "{\"title\": \"\\u0000\"}\n\u{feff}\u{1}\n".to_owned(),
            "binary.jsonl line 2: not JSON",
        ),
        (
            "long.jsonl",
            long,
            "long.jsonl line 1: longer than 8388608 bytes",
        ),
    ] {
        let previous = s.write(name, contents);
        let p = run(
            [
                "scrape",
                arg(&job),
                "-o",
                arg(&out),
                "--since",
                arg(&previous),
            ],
            2,
        );
        assert!(p.error().contains(message), "{name}: {}", p.stderr);
    }
    let missing = s.path("missing.jsonl");
    let p = run(["scrape", arg(&job), "--since", arg(&missing)], 2);
    assert!(p.error().contains("cannot open"), "{}", p.stderr);
    assert!(site.hits("since-bad").is_empty(), "nothing was fetched");
    assert!(!out.exists());
}
