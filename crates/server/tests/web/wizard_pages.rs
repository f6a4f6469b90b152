//! The whole journey of a first-time user in a real Chromium, over a list spread on pages
//! linked by "Next": the first admin made with the setup code, the wizard (two clicks, two
//! values, the "next" link, the engine's rows), save and run, live progress to 100%, and the
//! Excel and CSV files holding exactly every page's rows. The same through "Find lists on this
//! page". And, ignored by default, the time from a click in the wizard to its preview rows on a
//! page of about 100 KB.

use std::io::Cursor;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use calamine::{Data, Reader, Xlsx};
use grandma_store::{Backend, Role};

use crate::app::{PASSWORD, Parts, WebApp};
use crate::browser::{Ui, Viewport, ui_test};
use crate::job_page::download;
use crate::support::sign_in;
use crate::wizard::click_in_page;

/// A catalogue of `pages` pages at `/list/N`, `per_page` products each (a name and a price),
/// every page but the last with a "Next" link to the following one; `/list/N` past the end is
/// a 404. `padding` adds that many bytes of description to each product (for page size).
async fn linked_catalogue(pages: u32, per_page: u32, padding: usize) -> SocketAddr {
    let app = Router::new().route(
        "/list/{page}",
        get(move |Path(page): Path<u32>| async move {
            if page == 0 || page > pages {
                return (
                    StatusCode::NOT_FOUND,
                    Html("<h1>No such page</h1>".to_owned()),
                )
                    .into_response();
            }
            let description = "A sturdy thing for every kitchen. ".repeat(padding / 34 + 1);
            let rows: String = (1..=per_page)
                .map(|i| {
                    let (name, price) = product(page, i);
                    format!(
                        "<li class=product><h2 class=title>{name}</h2>\
                         <p class=price>{price}</p>{}</li>",
                        if padding > 0 {
                            format!("<p class=about>{}</p>", &description[..padding])
                        } else {
                            String::new()
                        }
                    )
                })
                .collect();
            let next = if page < pages {
                format!("<a class=next href=\"/list/{}\">Next page ›</a>", page + 1)
            } else {
                String::new()
            };
            Html(format!(
                "<!doctype html><html><head><title>Kitchen shop</title></head><body>\
                 <header><a href=\"/\">Kitchen shop</a></header><main><h1>Page {page}</h1>\
                 <ul class=products>{rows}</ul><nav class=pager>{next}</nav></main></body></html>"
            ))
            .into_response()
        }),
    );
    crate::fixture::serve(app).await
}

/// The name and price of product `i` of page `page`.
fn product(page: u32, i: u32) -> (String, String) {
    (
        format!("Kettle {page}.{i}"),
        format!("{}.99", 10 + page * 10 + i),
    )
}

fn catalogue_rows(pages: u32, per_page: u32) -> Vec<(String, String)> {
    (1..=pages)
        .flat_map(|page| (1..=per_page).map(move |i| product(page, i)))
        .collect()
}

/// Makes the first admin on the setup page with the code the server issued.
async fn first_admin(ui: &Ui, code: &str) {
    ui.goto("/").await;
    ui.wait_path("/setup").await;
    ui.fill("#email", "grandma@example.com").await;
    ui.fill("#password", PASSWORD).await;
    ui.fill("#code", code).await;
    ui.click("form[action='/setup'] button").await;
    ui.wait_path("/").await;
    ui.wait_text("main h1", "My scrapes").await;
}

/// Opens the wizard on `url` read plainly, and waits for the snapshot.
async fn show_page(ui: &Ui, url: &str) {
    ui.goto("/jobs/new").await;
    ui.fill("#page-url", url).await;
    ui.select("#fetcher", "requests").await;
    ui.click("#show-page").await;
    ui.wait_until(
        "(() => { const d = document.getElementById('snapshot').contentDocument; \
         return !!(d && d.querySelector('.product [data-gs-node]')); })()",
    )
    .await;
}

/// Saves and runs the job, waits for live progress to reach 100%, and returns the rows of the
/// Excel and the CSV downloads (header first).
async fn save_run_and_download(ui: &Ui, name: &str) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    ui.fill("#delay", "0").await;
    ui.fill("#job-name", name).await;
    ui.click("#save-run").await;
    ui.wait_until("/^\\/jobs\\/[0-9a-f-]+$/.test(location.pathname)")
        .await;
    ui.wait_until("document.getElementById('progress')?.getAttribute('aria-valuenow') === '100'")
        .await;
    let xlsx = download(ui, "#live-xlsx").await;
    let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let excel: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| {
            r.iter()
                .map(|d| match d {
                    Data::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect();
    let csv = String::from_utf8(download(ui, "#live-csv").await).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(csv.as_bytes());
    let csv: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (excel, csv)
}

/// The expected file: a header, then every product of every page.
fn expected_file(header: [&str; 2], pages: u32, per_page: u32) -> Vec<Vec<String>> {
    std::iter::once(header.map(str::to_owned).to_vec())
        .chain(
            catalogue_rows(pages, per_page)
                .into_iter()
                .map(|(n, p)| vec![n, p]),
        )
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_from_setup_to_excel_and_csv_over_next_links() {
    const PAGES: u32 = 3;
    const PER_PAGE: u32 = 4;
    let site = linked_catalogue(PAGES, PER_PAGE, 0).await;
    let app = WebApp::start_with(Backend::Sqlite, Parts { workers: true }, |_| {}).await;
    // The code printed at start-up is replaced by one the test knows.
    let code = app.state.setup_code.issue();
    ui_test("wizard_next_links", &app.url(""), Viewport::Desktop, |ui| async move {
        first_admin(&ui, &code).await;
        show_page(&ui, &format!("http://{site}/list/1")).await;
        click_in_page(&ui, ".product:nth-of-type(1) .title").await;
        ui.wait_text("#items-status", "Now click a second item").await;
        click_in_page(&ui, ".product:nth-of-type(3) .title").await;
        ui.wait_text("#items-status", "4 items found").await;
        click_in_page(&ui, ".product:nth-of-type(2) .title").await;
        ui.wait_for("#field-name-0").await;
        click_in_page(&ui, ".product:nth-of-type(2) .price").await;
        ui.wait_for("#field-name-1").await;
        ui.fill("#field-name-0", "name").await;
        ui.fill("#field-name-1", "price").await;
        ui.eval::<bool>(
            "['field-name-0', 'field-name-1'].every(id => document.getElementById(id)\
             .dispatchEvent(new Event('change')))",
        )
        .await;
        ui.wait_until(
            "document.querySelectorAll('#rows tbody tr').length === 4 && \
             [...document.querySelectorAll('#rows thead th')].map(th => th.textContent).join() === 'name,price'",
        )
        .await;
        // The "next" link, clicked on the page itself.
        ui.click("#pick-next").await;
        ui.wait_text("#mode-words", "next page").await;
        click_in_page(&ui, "a.next").await;
        ui.wait_text("#pages-status", &format!("Page 2 is http://{site}/list/2"))
            .await;
        let preview: Vec<Vec<String>> = ui
            .eval("[...document.querySelectorAll('#rows tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))")
            .await;
        assert_eq!(
            preview,
            expected_file(["name", "price"], 1, PER_PAGE)[1..].to_vec()
        );
        let (excel, csv) = save_run_and_download(&ui, "Kettle prices").await;
        let expected = expected_file(["name", "price"], PAGES, PER_PAGE);
        assert_eq!(excel, expected, "the Excel file");
        assert_eq!(csv, expected, "the CSV file");
        ui.wait_text("#live-status", "12 items").await;
    })
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journey_through_find_lists_on_this_page() {
    const PAGES: u32 = 2;
    const PER_PAGE: u32 = 6;
    let site = linked_catalogue(PAGES, PER_PAGE, 0).await;
    let app = WebApp::start_with(Backend::Postgres, Parts { workers: true }, |_| {}).await;
    app.account("grandma@example.com", Role::User).await;
    ui_test(
        "wizard_find_lists",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "grandma@example.com").await;
            show_page(&ui, &format!("http://{site}/list/1")).await;
            ui.click("#find-lists").await;
            ui.wait_for("#use-list-0").await;
            let proposal = ui.text("#use-list-0").await;
            assert!(
                proposal.starts_with("Use: 6 items, columns title, price")
                    && proposal.contains("Kettle 1.1"),
                "{proposal}"
            );
            ui.click("#use-list-0").await;
            ui.wait_until("document.querySelectorAll('#rows tbody tr').length === 6")
                .await;
            // The proposal brought its pagination: the "Next" link.
            ui.wait_text("#pages-status", &format!("Page 2 is http://{site}/list/2"))
                .await;
            let (excel, csv) = save_run_and_download(&ui, "Kettles, found").await;
            let expected = expected_file(["title", "price"], PAGES, PER_PAGE);
            assert_eq!(excel, expected, "the Excel file");
            assert_eq!(csv, expected, "the CSV file");
        },
    )
    .await;
    app.finish().await;
}

/// How long a click in the wizard's columns step takes to show the preview rows on a page of
/// about 100 KB (400 products), 15 times; prints the median. Run with
/// `cargo test --workspace --test web wizard_preview_speed -- --ignored --nocapture`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a measurement, not a check"]
async fn wizard_preview_speed_on_a_100_kb_page() {
    const PRODUCTS: u32 = 400;
    const TIMES: usize = 15;
    let site = linked_catalogue(1, PRODUCTS, 150).await;
    // Starting the app installs the TLS provider reqwest needs.
    let app = WebApp::start(Backend::Sqlite).await;
    let size = reqwest::get(format!("http://{site}/list/1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
        .len();
    app.account("grandma@example.com", Role::User).await;
    ui_test(
        "wizard_speed",
        &app.url(""),
        Viewport::Desktop,
        |ui| async move {
            sign_in(&ui, "grandma@example.com").await;
            show_page(&ui, &format!("http://{site}/list/1")).await;
            click_in_page(&ui, ".product:nth-of-type(1) .title").await;
            ui.wait_text("#items-status", "Now click a second item")
                .await;
            click_in_page(&ui, ".product:nth-of-type(3) .title").await;
            ui.wait_text("#items-status", &format!("{PRODUCTS} items found"))
                .await;
            click_in_page(&ui, ".product:nth-of-type(2) .title").await;
            ui.wait_until("document.querySelectorAll('#rows thead th').length === 1")
                .await;
            let mut times = Vec::with_capacity(TIMES);
            for _ in 0..TIMES {
                let clicked = Instant::now();
                click_in_page(&ui, ".product:nth-of-type(2) .price").await;
                ui.wait_until(
                    "document.querySelectorAll('#rows thead th').length === 2 && \
                 document.querySelectorAll('#rows tbody tr').length > 0",
                )
                .await;
                times.push(clicked.elapsed());
                // Take the column away again and wait for the one-column rows.
                ui.click("#fields li:nth-child(2) button").await;
                ui.wait_until("document.querySelectorAll('#rows thead th').length === 1")
                    .await;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            times.sort();
            eprintln!(
                "click to preview rows on a {size}-byte page with {PRODUCTS} items: median {:?} \
             (fastest {:?}, slowest {:?}, {TIMES} times)",
                times[TIMES / 2],
                times[0],
                times[TIMES - 1]
            );
            assert!(size > 95_000 && size < 130_000, "the page is {size} bytes");
        },
    )
    .await;
    app.finish().await;
}
