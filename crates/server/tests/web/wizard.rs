//! The wizard in a real Chromium: paste an address, click two items on the snapshot, click two
//! values inside one, see the engine's rows, save and run, and the run's CSV holds the rows.

use std::time::{Duration, Instant};

use grandma_store::{Backend, Role};

use crate::app::{Parts, WebApp};
use crate::browser::{Ui, Viewport, js, ui_test};
use crate::fixture;
use crate::support::sign_in;

/// Clicks the element `css` matches inside the snapshot frame, as a person's click would land.
pub(crate) async fn click_in_page(ui: &Ui, css: &str) {
    let done: bool = ui
        .eval(&format!(
            "(() => {{ const el = document.getElementById('snapshot').contentDocument\
             .querySelector({}); if (!el) return false; \
             el.dispatchEvent(new MouseEvent('click', {{bubbles: true, cancelable: true}})); \
             return true; }})()",
            js(css)
        ))
        .await;
    assert!(done, "no {css} in the snapshot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_wizard_makes_a_job_from_clicks_and_runs_it() {
    let site = fixture::shop(1, 5, Duration::from_millis(0)).await;
    let app = WebApp::start_with(Backend::Sqlite, Parts { workers: true }, |_| {}).await;
    app.account("grandma@example.com", Role::User).await;
    let expected = fixture::shop_rows(1, 5);
    let started = Instant::now();
    ui_test("wizard_journey", &app.url(""), Viewport::Desktop, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto("/jobs/new").await;
        ui.fill("#page-url", &format!("http://{site}/shop")).await;
        ui.select("#fetcher", "requests").await;
        ui.click("#show-page").await;
        ui.wait_until(
            "(() => { const d = document.getElementById('snapshot').contentDocument; \
             return !!(d && d.querySelector('.row [data-gs-node]')); })()",
        )
        .await;
        // Nothing of the page's own runs: the frame is sandboxed without scripts.
        let sandbox: String = ui
            .eval("document.getElementById('snapshot').getAttribute('sandbox')")
            .await;
        assert_eq!(sandbox, "allow-same-origin");
        click_in_page(&ui, ".row:nth-of-type(1) .name").await;
        ui.wait_text("#items-status", "Now click a second item").await;
        click_in_page(&ui, ".row:nth-of-type(3) .name").await;
        ui.wait_text("#items-status", "5 items found").await;
        let marked: u32 = ui
            .eval("document.getElementById('snapshot').contentDocument.querySelectorAll('[data-gs-item]').length")
            .await;
        assert_eq!(marked, 5);
        // Two clicks in one moment: the second lands while the first is being answered, and
        // both become columns, in the order they were made.
        let clicked = Instant::now();
        let both: bool = ui
            .eval(
                "(() => { const d = document.getElementById('snapshot').contentDocument; \
                 const els = ['.row:nth-of-type(2) .name', '.row:nth-of-type(2) .price'] \
                 .map((css) => d.querySelector(css)); if (els.includes(null)) return false; \
                 for (const el of els) el.dispatchEvent(new MouseEvent('click', \
                 {bubbles: true, cancelable: true})); return true; })()",
            )
            .await;
        assert!(both, "no name or price in the snapshot");
        ui.wait_for("#field-name-1").await;
        ui.wait_until(
            "document.querySelectorAll('#rows tbody tr').length === 5 && \
             document.querySelectorAll('#rows thead th').length === 2",
        )
        .await;
        eprintln!("click to rows: {:?}", clicked.elapsed());
        let first: Vec<String> = ui
            .eval("[...document.querySelectorAll('#rows tbody tr:first-child td')].map(td => td.textContent)")
            .await;
        assert_eq!(first, [expected[0].0.clone(), expected[0].1.clone()]);
        let names: Vec<String> = ui
            .eval("[...document.querySelectorAll('#fields input')].map(i => i.value)")
            .await;
        assert_eq!(names, ["name", "price"]);
        ui.screenshot(
            &crate::browser::failures_dir()
                .with_file_name("ui-screenshots")
                .join("wizard.png"),
        )
        .await;
        ui.fill("#max-pages", "1").await;
        ui.fill("#delay", "0").await;
        ui.fill("#job-name", "Shop prices").await;
        ui.click("#save-run").await;
        ui.wait_until("/^\\/jobs\\/[0-9a-f-]+$/.test(location.pathname)").await;
        let path = ui.path().await;
        assert!(path.starts_with("/jobs/") && !path.ends_with("/new"), "{path}");
        ui.wait_until("document.getElementById('progress')?.getAttribute('aria-valuenow') === '100'")
            .await;
        let csv: String = ui
            .eval(
                "(async () => (await fetch(document.querySelector('#live-csv').href)).text())()",
            )
            .await;
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
    })
    .await;
    eprintln!("wizard journey: {:?}", started.elapsed());
    app.finish().await;
}
