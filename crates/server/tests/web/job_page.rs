//! The job page: run now, live progress over the WebSocket to 100%, then the downloads hold
//! exactly the fixture site's rows; the results table pages through them; delete asks first.

use std::io::Cursor;
use std::time::Duration;

use base64::Engine;
use calamine::{Data, Reader, Xlsx};
use grandma_store::{Backend, Role};

use crate::app::{Parts, WebApp, both_databases, fixture_job};
use crate::browser::{Ui, Viewport, ui_test};
use crate::fixture;
use crate::support::sign_in;

/// Where the screenshots for the docs are written (then copied to docs/screenshots/).
fn screenshots() -> std::path::PathBuf {
    crate::browser::failures_dir().with_file_name("ui-screenshots")
}

/// The body of a download link of the page, fetched by the page itself (with its cookie).
pub(crate) async fn download(ui: &Ui, css: &str) -> Vec<u8> {
    let encoded: String = ui
        .eval(&format!(
            "(async () => {{ const r = await fetch(document.querySelector({}).href); \
             if (!r.ok) throw new Error('status ' + r.status); \
             const bytes = new Uint8Array(await r.arrayBuffer()); let s = ''; \
             for (const b of bytes) s += String.fromCharCode(b); return btoa(s); }})()",
            crate::browser::js(css)
        ))
        .await;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .unwrap()
}

both_databases!(run_now_shows_live_progress_and_the_downloads_hold_every_row);

async fn run_now_shows_live_progress_and_the_downloads_hold_every_row(backend: Backend) {
    const PAGES: u32 = 4;
    const PER_PAGE: u32 = 5;
    let site = fixture::shop(PAGES, PER_PAGE, Duration::from_millis(700)).await;
    let app = WebApp::start_with(backend, Parts { workers: true }, |_| {}).await;
    app.account("grandma@example.com", Role::User).await;
    let bearer = app.bearer("grandma@example.com").await;
    let job = app
        .job(
            &bearer,
            fixture_job("Garden shop prices", &format!("http://{site}/shop"), PAGES),
        )
        .await;
    let expected = fixture::shop_rows(PAGES, PER_PAGE);
    let name = format!("job_page_run_{backend:?}");
    ui_test(&name, &app.url(""), Viewport::Desktop, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto(&format!("/jobs/{job}")).await;
        ui.wait_text("#no-runs", "not run yet").await;
        ui.click("#run-now").await;
        // Mid-run: some pages done, not all.
        ui.wait_until(
            "(() => { const v = Number(document.getElementById('progress').getAttribute('aria-valuenow')); \
             return v >= 25 && v < 100; })()",
        )
        .await;
        let url = ui.text("#live-url").await;
        assert!(url.contains("/shop"), "{url}");
        if backend == Backend::Sqlite {
            ui.screenshot(&screenshots().join("job-running.png")).await;
        }
        ui.wait_until("document.getElementById('progress').getAttribute('aria-valuenow') === '100'")
            .await;
        ui.wait_text("#live-status", "Finished: 20 items").await;
        let csv = String::from_utf8(download(&ui, "#live-csv").await).unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        assert_eq!(reader.headers().unwrap(), vec!["name", "price"]);
        let rows: Vec<(String, String)> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                (r[0].to_owned(), r[1].to_owned())
            })
            .collect();
        assert_eq!(rows, expected);
        let xlsx = download(&ui, "#live-xlsx").await;
        let mut book: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(xlsx)).unwrap();
        let sheet = book.worksheet_range_at(0).unwrap().unwrap();
        let cells: Vec<(String, String)> = sheet
            .rows()
            .skip(1)
            .map(|r| {
                let text = |d: &Data| match d {
                    Data::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (text(&r[0]), text(&r[1]))
            })
            .collect();
        assert_eq!(cells, expected);
        // The rows page shows the same rows, and the home card the last run.
        ui.click("#live-results").await;
        ui.wait_text("#row-range", "Rows 1 to 20 of 20").await;
        let first: String = ui.eval("document.querySelector('table.rows tbody tr td:nth-child(2)').textContent").await;
        assert_eq!(first, "Item 1-1");
        ui.goto("/").await;
        ui.wait_text(".card", "20 items").await;
        if backend == Backend::Sqlite {
            ui.screenshot(&screenshots().join("home.png")).await;
        }
    })
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_job_asks_first() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("grandma@example.com", Role::User).await;
    let bearer = app.bearer("grandma@example.com").await;
    let job = app
        .job(
            &bearer,
            fixture_job("Old scrape", "http://127.0.0.1:9/shop", 1),
        )
        .await;
    let store = app.store.clone();
    ui_test(
        "job_delete",
        &app.url(""),
        Viewport::Phone,
        |ui| async move {
            sign_in(&ui, "grandma@example.com").await;
            ui.goto(&format!("/jobs/{job}")).await;
            ui.click("#delete-job").await;
            ui.wait_until("document.getElementById('confirm-delete').open")
                .await;
            ui.click("#confirm-delete-no").await;
            ui.wait_until("!document.getElementById('confirm-delete').open")
                .await;
            assert!(
                store
                    .get_job(grandma_store::Scope::all(), job.parse().unwrap())
                    .await
                    .is_ok()
            );
            ui.click("#delete-job").await;
            ui.click("#confirm-delete-yes").await;
            ui.wait_path("/").await;
            ui.wait_text("main", "Nothing here yet").await;
            assert!(
                store
                    .get_job(grandma_store::Scope::all(), job.parse().unwrap())
                    .await
                    .is_err()
            );
            // Its page is now a page in words, not JSON.
            ui.goto(&format!("/jobs/{job}")).await;
            ui.wait_text("main h1", "Page not found").await;
        },
    )
    .await;
    app.finish().await;
}
