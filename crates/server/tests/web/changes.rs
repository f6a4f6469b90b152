//! The run page after a second run: "3 new, 1 price changed, 2 gone since …", new rows and
//! changed cells marked in words (the old value beside the new), only new / changed / gone
//! rows on request, downloads of only the new rows, and the quality report warning about a
//! mostly empty column; on a desktop and on a phone.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Html;
use axum::routing::get;
use grandma_store::{Backend, Role, RunStatus, Scope, Uuid};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::app::{Parts, WebApp};
use crate::browser::{Ui, Viewport, js, ui_test};
use crate::support::sign_in;

/// Rows per page of the shop.
const PER_PAGE: usize = 5;

/// One product: name, price, and a stock note most products lack.
#[derive(Clone)]
struct Product {
    name: String,
    price: String,
    stock: Option<String>,
}

type Shelf = Arc<Mutex<Vec<Product>>>;

/// A shop whose products the test changes between runs, `PER_PAGE` to a page at
/// `/shop?page=N`.
async fn changing_shop(shelf: Shelf) -> SocketAddr {
    #[derive(serde::Deserialize)]
    struct PageQuery {
        page: Option<usize>,
    }
    let app = Router::new()
        .route(
            "/shop",
            get(
                |State(shelf): State<Shelf>, Query(q): Query<PageQuery>| async move {
                    let page = q.page.unwrap_or(1).max(1);
                    let rows: String = shelf
                        .lock()
                        .unwrap()
                        .iter()
                        .skip((page - 1) * PER_PAGE)
                        .take(PER_PAGE)
                        .map(|p| {
                            format!(
                                "<div class=row><span class=name>{}</span>\
                                 <span class=price>{}</span>{}</div>",
                                p.name,
                                p.price,
                                p.stock
                                    .as_ref()
                                    .map(|s| format!("<span class=stock>{s}</span>"))
                                    .unwrap_or_default()
                            )
                        })
                        .collect();
                    Html(format!(
                        "<!doctype html><html><body><h1>Shop page {page}</h1>{rows}</body></html>"
                    ))
                },
            ),
        )
        .with_state(shelf);
    crate::fixture::serve(app).await
}

fn product(n: u32) -> Product {
    Product {
        name: format!("Teapot {n}"),
        price: format!("{}.50", 10 + n),
        stock: None,
    }
}

/// Runs the job through the API and waits until it completed.
async fn run_to_completion(app: &WebApp, bearer: &str, job: &str) -> Uuid {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/jobs/{job}/run")))
        .bearer_auth(bearer)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let body: Value = response.json().await.unwrap();
    let id: Uuid = body["result_id"].as_str().unwrap().parse().unwrap();
    for _ in 0..300 {
        let run = app.store.get_run(Scope::all(), id).await.unwrap();
        match run.status {
            RunStatus::Completed => return id,
            RunStatus::Failed | RunStatus::Cancelled => {
                panic!("the run ended {:?}: {:?}", run.status, run.error_message)
            }
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("the run did not complete in 30 s");
}

/// The texts of the first column after `#` of the rows table.
async fn names(ui: &Ui) -> Vec<String> {
    ui.eval("[...document.querySelectorAll('table.rows tbody tr td:nth-child(2)')].map(td => td.textContent.trim())")
        .await
}

async fn the_run_page_shows_what_changed(backend: Backend, viewport: Viewport, shot: &str) {
    let shelf: Shelf = Arc::new(Mutex::new((1..=10).map(product).collect()));
    let site = changing_shop(Arc::clone(&shelf)).await;
    let app = WebApp::start_with(backend, Parts { workers: true }, |_| {}).await;
    app.account("grandma@example.com", Role::User).await;
    let bearer = app.bearer("grandma@example.com").await;
    let start = format!("http://{site}/shop");
    let job = app
        .job(
            &bearer,
            json!({
                "name": "Teapot prices",
                "start_url": start,
                "item_selector": ".row",
                "fields": [
                    {"name": "name", "selector": ".name"},
                    {"name": "price", "selector": ".price"},
                    {"name": "stock", "selector": ".stock"},
                ],
                "item_key": ["name"],
                "pagination": {"type": "url_pattern", "url_pattern": format!("{start}?page={{page}}")},
                "max_pages": 5,
                "min_delay_ms": 0,
                "max_delay_ms": 0,
                "respect_robots_txt": false,
            }),
        )
        .await;
    run_to_completion(&app, &bearer, &job).await;
    {
        // The next day: Teapot 3 costs more, Teapots 5 and 9 are gone, three are new (two
        // of them with a stock note, so that column is mostly empty).
        let mut products = shelf.lock().unwrap();
        products[2].price = "99.00".into();
        products.retain(|p| p.name != "Teapot 5" && p.name != "Teapot 9");
        for n in 11..=13 {
            let mut p = product(n);
            if n < 13 {
                p.stock = Some("Only a few left".into());
            }
            products.push(p);
        }
    }
    let second = run_to_completion(&app, &bearer, &job).await;
    let run = app.store.get_run(Scope::all(), second).await.unwrap();
    assert_eq!(
        (run.new_items, run.changed_items, run.removed_items),
        (Some(3), Some(1), Some(2))
    );
    let page = format!("/jobs/{job}/runs/{second}");
    let shot = shot.to_owned();
    ui_test(&format!("changes_{shot}"), &app.url(""), viewport, |ui| async move {
        sign_in(&ui, "grandma@example.com").await;
        ui.goto(&page).await;
        ui.wait_for("#changes").await;
        assert_eq!(
            ui.text("#changes").await.trim(),
            "3 new, 1 price changed, 2 gone since earlier today."
        );
        // The day is a time the browser words in its own zone, the full time on hover; earlier
        // days read as people say them.
        assert!(ui.exists("#changes time[data-words='since'][datetime]").await);
        let days: Vec<String> = ui
            .eval(
                "(async () => { const { sinceWords } = await import('words'); \
                 const now = new Date(2026, 11, 3, 9, 0); \
                 return [new Date(2026, 11, 3, 1, 0), new Date(2026, 11, 2, 23, 0), \
                         new Date(2026, 10, 30, 8, 0), new Date(2026, 10, 3, 8, 0), \
                         new Date(2025, 10, 3, 8, 0)].map(d => sinceWords(d, now)); })()",
            )
            .await;
        assert_eq!(
            days,
            ["earlier today", "yesterday", "Monday", "3 Nov", "3 Nov 2025"]
        );

        // Every row of this run; new ones say so in words, the changed cell holds the old value.
        assert_eq!(
            names(&ui).await,
            [1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13].map(|n| format!("Teapot {n}"))
        );
        let tags: Vec<String> = ui
            .eval("[...document.querySelectorAll('table.rows tbody tr')].map(tr => tr.querySelector('.tag')?.textContent ?? '')")
            .await;
        assert_eq!(tags, ["", "", "Changed", "", "", "", "", "", "New", "New", "New"]);
        let changed: Vec<(String, String)> = ui
            .eval("[...document.querySelectorAll('td.changed-cell')].map(td => [td.firstChild.textContent.trim(), td.querySelector('.was').textContent])")
            .await;
        assert_eq!(changed, [("99.00".to_owned(), "(was 13.50)".to_owned())]);
        let title: String = ui.eval("document.querySelector('td.changed-cell').title").await;
        assert_eq!(title, "was 13.50");

        // Only one kind of change at a time; gone rows as the previous run had them.
        ui.click(".show-rows a[href='?show=new']").await;
        ui.wait_text("#row-range", "New rows 1 to 3 of 3").await;
        assert_eq!(names(&ui).await, ["Teapot 11", "Teapot 12", "Teapot 13"]);
        let current: String = ui.eval("document.querySelector('.show-rows [aria-current=page]').textContent").await;
        assert_eq!(current, "New (3)");
        ui.click(".show-rows a[href='?show=changed']").await;
        ui.wait_text("#row-range", "Changed rows 1 to 1 of 1").await;
        assert_eq!(names(&ui).await, ["Teapot 3"]);
        ui.click(".show-rows a[href='?show=removed']").await;
        ui.wait_text("#row-range", "previous run had them").await;
        assert_eq!(names(&ui).await, ["Teapot 5", "Teapot 9"]);
        let prices: Vec<String> = ui
            .eval("[...document.querySelectorAll('table.rows tbody tr td:nth-child(3)')].map(td => td.textContent)")
            .await;
        assert_eq!(prices, ["15.50", "19.50"]);

        // Downloads of only the new rows hold exactly those.
        let csv: String = ui
            .eval(&format!(
                "(async () => (await fetch(document.querySelector({}).href)).text())()",
                js("#download-new a[href$='csv?only=new']")
            ))
            .await;
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let new: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
        assert_eq!(new, ["Teapot 11", "Teapot 12", "Teapot 13"]);
        assert!(ui.exists("#download-changed a[href$='xlsx?only=changed']").await);

        // The quality report: the stock column is mostly empty, and says so in words.
        let warnings = ui.text("#quality-warnings").await;
        assert!(
            warnings.contains("Only 2 of 11 rows have a value for “stock” (18%)"),
            "{warnings}"
        );
        let fill: Vec<String> = ui
            .eval("[...document.querySelectorAll('#fill-rates tbody tr')].map(tr => tr.textContent.replace(/\\s+/g, ' ').trim())")
            .await;
        assert_eq!(
            fill,
            [
                "name 100% (11 of 11)",
                "price 100% (11 of 11)",
                "stock 18% (2 of 11) mostly empty"
            ]
        );
        let per_page: Vec<String> = ui
            .eval("[...document.querySelectorAll('#page-counts tbody tr')].map(tr => tr.textContent)")
            .await;
        assert_eq!(per_page, ["15", "25", "31"]);

        // Nothing sticks out of the window, on a phone too.
        ui.goto(&page).await;
        ui.wait_for("#changes").await;
        let fits: bool = ui
            .eval("document.documentElement.scrollWidth <= window.innerWidth")
            .await;
        assert!(fits, "the page is wider than the window");
        ui.screenshot(
            &crate::browser::failures_dir()
                .with_file_name("ui-screenshots")
                .join(format!("{shot}.png")),
        )
        .await;
    })
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_page_shows_what_changed_on_a_desktop() {
    the_run_page_shows_what_changed(Backend::Sqlite, Viewport::Desktop, "changes").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_page_shows_what_changed_on_a_phone() {
    the_run_page_shows_what_changed(Backend::Postgres, Viewport::Phone, "changes-phone").await;
}
