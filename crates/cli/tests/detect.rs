//! `grandma detect`: the real binary against pages served from this process, and the job files
//! it writes run by `grandma scrape` against the same server.

mod cli_support;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cli_support::{Scratch, arg, grandma, html, run, serve_logged};
use serde_json::Value;

/// The pages `grandma detect` looks at.
struct Pages {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Pages {
    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn hits(&self, prefix: &str) -> Vec<String> {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|p| p.starts_with(prefix))
            .cloned()
            .collect()
    }
}

fn pages() -> &'static Pages {
    static PAGES: OnceLock<Pages> = OnceLock::new();
    PAGES.get_or_init(|| {
        let app = Router::new()
            .route("/shop.html", get(|| async { html(shop()) }))
            .route("/paged/{page}", get(paged))
            .route(
                "/data.json",
                get(|| async {
                    ([(header::CONTENT_TYPE, "application/json")], "{\"a\": 1}").into_response()
                }),
            )
            .route("/scripted.html", get(|| async { html(scripted()) }))
            .route(
                "/empty.html",
                get(|| async { html("<html><body><p>Nothing to see.</p></body></html>".into()) }),
            );
        let (addr, log) = serve_logged(app);
        Pages { addr, log }
    })
}

/// A shop page: six products in the main grid, a menu and a footer of links.
fn shop() -> String {
    let products: String = (1..=6)
        .map(|i| {
            format!(
                "<li class=\"product\"><a href=\"/p/{i}.html\"><img src=\"/img/{i}.jpg\" alt=\"\">\
                 <h2>Teapot model {i}</h2></a><span class=\"price\">€{i}4.50</span>\
                 <button>Add to basket</button></li>"
            )
        })
        .collect();
    let menu: String = ["Teapots", "Cups", "Kettles", "Sale"]
        .iter()
        .map(|m| format!("<li><a href=\"/c/{m}\">{m}</a></li>"))
        .collect();
    format!(
        "<!DOCTYPE html><html><head><title>Teapots</title></head><body>\
         <nav><ul>{menu}</ul></nav><main><h1>Teapots</h1><ul class=\"grid\">{products}</ul></main>\
         <footer><ul>{menu}</ul></footer></body></html>"
    )
}

/// The shop's six products, written into an empty page by a script.
fn scripted() -> String {
    "<!DOCTYPE html><html><head><title>Teapots</title></head><body><ul id=\"grid\"></ul>\
     <script>const grid = document.getElementById('grid');\
     for (let i = 1; i <= 6; i++) {\
       const li = document.createElement('li'); li.className = 'product';\
       li.innerHTML = `<a href=\"/p/${i}.html\"><h2>Teapot model ${i}</h2></a>` +\
         `<span class=\"price\">€${i}4.50</span>`;\
       grid.appendChild(li);\
     }</script></body></html>"
        .to_owned()
}

/// Two pages of posts joined by a next link.
async fn paged(Path(page): Path<String>) -> Response {
    let (n, count, next) = match page.as_str() {
        "1.html" => (1, 4, Some("2.html")),
        "2.html" => (2, 3, None),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    let posts: String = (1..=count)
        .map(|i| {
            format!(
                "<article class=\"post\"><h2><a href=\"/posts/{n}-{i}\">Post {n}-{i}</a></h2>\
                 <p class=\"summary\">What happened on day {n}-{i}.</p></article>"
            )
        })
        .collect();
    let next = next
        .map(|p| format!("<a class=\"next\" href=\"{p}\">Older posts</a>"))
        .unwrap_or_default();
    html(format!(
        "<html><head><title>Blog</title></head><body><main>{posts}</main>{next}</body></html>"
    ))
}

fn json_of(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// The items of a `grandma scrape -o FILE.json` run.
fn scraped(s: &Scratch, job: &std::path::Path) -> Vec<Value> {
    let out = s.path("items.json");
    run(["scrape", arg(job), "-o", arg(&out), "--quiet"], 0);
    let text = std::fs::read_to_string(&out).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

#[test]
fn written_job_scrapes_the_rows_it_showed() {
    let url = pages().url("/shop.html");
    let found = json_of(&run(["detect", &url, "--json"], 0).stdout);
    let first = &found["candidates"][0];
    assert_eq!(first["count"], 6, "{first:#}");
    let sample = first["sample"].as_array().unwrap().clone();
    assert_eq!(sample.len(), 5);
    assert_eq!(sample[0]["title"], "Teapot model 1", "{first:#}");
    assert_eq!(sample[0]["price"], "€14.50");

    let s = Scratch::new();
    let job = s.path("teapots.yaml");
    let p = run(["detect", &url, "--write", arg(&job)], 0);
    assert!(p.stdout.contains("wrote "), "{}", p.stdout);
    let text = std::fs::read_to_string(&job).unwrap();
    assert!(text.starts_with("# Written by `grandma detect`"), "{text}");
    run(["validate", arg(&job)], 0);
    let items = scraped(&s, &job);
    assert_eq!(items.len(), 6);
    assert_eq!(
        items[..5],
        sample[..],
        "the run gives the rows detect showed"
    );
}

#[test]
fn written_job_follows_the_next_page() {
    let url = pages().url("/paged/1.html");
    let found = json_of(&run(["detect", &url, "--json"], 0).stdout);
    let first = &found["candidates"][0];
    assert_eq!(first["pagination"]["type"], "next_button", "{first:#}");
    assert_eq!(
        first["pagination"]["next_url"],
        pages().url("/paged/2.html")
    );
    let sample = first["sample"].as_array().unwrap().clone();
    assert_eq!(sample.len(), 4);

    let s = Scratch::new();
    let job = s.path("blog.yaml");
    run(["detect", &url, "--write", arg(&job)], 0);
    let items = scraped(&s, &job);
    assert_eq!(items.len(), 7, "{items:#?}");
    assert_eq!(items[..4], sample[..]);
    assert_eq!(items[4]["title"], "Post 2-1", "{items:#?}");
}

#[test]
fn the_list_is_readable_text() {
    let url = pages().url("/shop.html");
    let p = run(["detect", &url], 0);
    let out = &p.stdout;
    assert!(
        out.contains(&format!("list(s) found on {url} (Teapots):")),
        "{out}"
    );
    assert!(out.contains("1. 6 item(s): "), "{out}");
    assert!(out.contains("   fields: title, "), "{out}");
    assert!(out.contains("Teapot model 3"), "{out}");
    assert!(
        out.contains("Save one as a job file: grandma detect"),
        "{out}"
    );
    // The menu and the footer come after the product grid, if at all.
    let grid = out.find("1. 6 item(s)").unwrap();
    assert!(!out[..grid].contains("Cups"), "{out}");
}

#[test]
fn files_and_standard_input() {
    let s = Scratch::new();
    let page = s.write("shop.html", shop());
    let base = pages().url("/shop.html");
    let from_file = json_of(&run(["detect", arg(&page), "--url", &base, "--json"], 0).stdout);
    let from_web = json_of(&run(["detect", &base, "--json"], 0).stdout);
    assert_eq!(from_file["candidates"], from_web["candidates"]);

    let out = grandma()
        .args(["detect", "-", "--json"])
        .write_stdin(shop())
        .output()
        .unwrap();
    let p = cli_support::Printed::checked(out, 0);
    let from_stdin = json_of(&p.stdout);
    assert_eq!(from_stdin["url"], "http://localhost/");
    assert_eq!(from_stdin["candidates"][0]["count"], 6);
    assert_eq!(
        from_stdin["candidates"][0]["sample"][0]["link"],
        "http://localhost/p/1.html"
    );

    // A job written from a file can be scraped from the address given with --url.
    let job = s.path("job.yaml");
    run(
        ["detect", arg(&page), "--url", &base, "--write", arg(&job)],
        0,
    );
    assert_eq!(scraped(&s, &job).len(), 6);
}

#[test]
fn bad_input_is_refused_in_words() {
    let shop_url = pages().url("/shop.html");
    let s = Scratch::new();

    let p = run(["detect", "ftp://files.example/list"], 2);
    assert!(
        p.error().contains("not an http:// or https:// address"),
        "{}",
        p.stderr
    );

    let p = run(["detect", &shop_url, "--pick", "0"], 2);
    assert!(p.error().contains("--pick counts from 1"), "{}", p.stderr);

    let job = s.path("job.yaml");
    let p = run(
        ["detect", &shop_url, "--pick", "40", "--write", arg(&job)],
        2,
    );
    assert!(p.error().starts_with("there are "), "{}", p.stderr);
    assert!(!job.exists());

    let existing = s.write("existing.yaml", "keep me");
    let p = run(["detect", &shop_url, "--write", arg(&existing)], 2);
    assert!(
        p.error().contains("already exists; pass --force"),
        "{}",
        p.stderr
    );
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    run(
        ["detect", &shop_url, "--write", arg(&existing), "--force"],
        0,
    );
    run(["validate", arg(&existing)], 0);

    let p = run(["detect", &pages().url("/data.json")], 1);
    assert!(p.error().contains("is not an HTML page"), "{}", p.stderr);

    let p = run(["detect", &pages().url("/empty.html")], 1);
    assert!(p.error().starts_with("no list found on "), "{}", p.stderr);
    let p = run(
        ["detect", &pages().url("/empty.html"), "--write", arg(&job)],
        2,
    );
    assert!(p.error().contains("nothing to write"), "{}", p.stderr);

    let p = run(["detect", &pages().url("/missing.html")], 1);
    assert!(p.error().contains("404"), "{}", p.stderr);

    let p = run(["detect", &shop_url, "--block-private"], 2);
    assert!(p.error().contains("127.0.0.1"), "{}", p.stderr);
    assert!(pages().hits("/shop.html").iter().all(|h| h == "/shop.html"));

    let p = run(["detect", arg(&s.path("nope.html"))], 2);
    assert!(p.error().starts_with("cannot read "), "{}", p.stderr);

    let page = s.write("page.html", shop());
    let p = run(["detect", arg(&page), "--url", "ftp://x.example/"], 2);
    assert!(p.error().starts_with("--url: "), "{}", p.stderr);
    let p = run(["detect", &shop_url, "--url", "http://x.example/"], 2);
    assert!(
        p.error().contains("--url is for pages read from a file"),
        "{}",
        p.stderr
    );

    // More than a page may be: refused, not cut.
    let huge = vec![b'a'; 10 * 1024 * 1024 + 1];
    let out = grandma()
        .args(["detect", "-"])
        .write_stdin(huge)
        .output()
        .unwrap();
    let p = cli_support::Printed::checked(out, 2);
    assert!(p.error().contains("is larger than"), "{}", p.stderr);

    // Garbage bytes are a page without lists, not a crash.
    let noise: Vec<u8> = (0..200_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let out = grandma()
        .args(["detect", "-"])
        .write_stdin(noise)
        .output()
        .unwrap();
    cli_support::Printed::checked(out, 1);
}

/// A page built by a script: plain HTTP sees no list, so detection renders it in Chromium (and
/// says so); `--browser` renders it at once. Either way the six products are found, and
/// without a browser the error says what to install.
#[test]
fn pages_built_by_scripts_are_rendered() {
    let url = pages().url("/scripted.html");
    for args in [
        vec!["detect", &url, "--json"],
        vec!["detect", &url, "--json", "--browser"],
    ] {
        let found = json_of(&run(args.clone(), 0).stdout);
        let best = &found["candidates"][0];
        assert_eq!(best["count"], 6, "{args:?}: {found}");
        let titles: Vec<&str> = best["sample"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|row| row["title"].as_str())
            .collect();
        assert_eq!(titles[..2], ["Teapot model 1", "Teapot model 2"], "{found}");
        let rendered_note = found["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("rendered in the browser"));
        assert_eq!(rendered_note, !args.contains(&"--browser"), "{found}");
    }

    let out = grandma()
        .args(["detect", &url, "--browser"])
        .env("GRANDMA_CHROMIUM", "/nonexistent/chromium")
        .output()
        .unwrap();
    let p = cli_support::Printed::checked(out, 2);
    assert!(p.error().contains("`chromium` package"), "{}", p.stderr);

    let s = Scratch::new();
    let page = s.write("page.html", scripted());
    let p = run(["detect", arg(&page), "--browser"], 2);
    assert!(
        p.error().contains("--browser renders a page fetched"),
        "{}",
        p.stderr
    );
}
