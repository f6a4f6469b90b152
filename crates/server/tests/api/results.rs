//! Runs end to end through the API (a test plays the worker with the store's queue calls),
//! paged items, exports read back with real parsers, cancellation and listing filters.

use std::io::Cursor;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use grandma_store::{FieldValue, Item, Role, RunCounters, RunOutcome, RunStatus, Uuid};
use serde_json::{Value, json};

use crate::common::TestApp;

api_test!(
    items_and_exports,
    cancel_and_filters,
    large_exports_stream_every_item
);

const WORKER: &str = "test-worker";

/// Queues a run of a new job, then claims it and saves `n` items over two pages.
pub(crate) async fn completed_run(app: &TestApp, token: &str, n: usize) -> Uuid {
    let job = app.job(token, "Shop").await;
    let queued = app
        .post(&format!("/jobs/{job}/run"), token, json!({}), 202)
        .await;
    let result_id: Uuid = queued["result_id"].as_str().unwrap().parse().unwrap();
    let run = app
        .store
        .claim_next(WORKER, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a pending run");
    assert_eq!(run.result_id, result_id);
    let items: Vec<Item> = (0..n)
        .map(|i| {
            let title = if i == 0 {
                "=1+1".to_owned()
            } else {
                format!("Item {i}")
            };
            Item::new(vec![
                FieldValue::Text(title),
                if i % 2 == 0 {
                    FieldValue::Text(format!("{i}.99"))
                } else {
                    FieldValue::Null
                },
                FieldValue::List(vec![
                    format!("https://example.com/{i}"),
                    "https://example.com/x".into(),
                ]),
            ])
        })
        .collect();
    let (first, second) = items.split_at(n / 2);
    for (page, chunk) in [(1, first), (2, second)] {
        let counters = RunCounters {
            pages_scraped: page,
            items_dropped: 0,
        };
        app.store
            .save_page(result_id, WORKER, page, chunk, counters, None)
            .await
            .unwrap();
    }
    let outcome = RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 1.5,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs: None,
    };
    app.store
        .finish_run(result_id, WORKER, &outcome)
        .await
        .unwrap();
    result_id
}

async fn download(app: &TestApp, token: &str, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .client
        .get(app.api(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    let headers = response.headers().clone();
    (headers, response.bytes().await.unwrap().to_vec())
}

async fn items_and_exports(app: &TestApp) {
    let (_, token) = app.user("exporter@example.com", Role::User).await;
    let id = completed_run(app, &token, 10).await;

    let run = app.get(&format!("/results/{id}"), &token, 200).await;
    assert_eq!(run["status"], "completed");
    assert_eq!(run["total_items"], 10);
    assert_eq!(run["pages_scraped"], 2);
    assert_eq!(run["columns"], json!(["title", "price", "link"]));

    let page = app
        .get(
            &format!("/results/{id}/items?offset=3&limit=4"),
            &token,
            200,
        )
        .await;
    assert_eq!(page["total"], 10);
    assert_eq!(
        (page["offset"].as_i64(), page["limit"].as_i64()),
        (Some(3), Some(4))
    );
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(items[0]["title"], "Item 3");
    assert_eq!(items[0]["price"], Value::Null);
    assert_eq!(items[1]["price"], "4.99");
    assert_eq!(items[0]["link"][0], "https://example.com/3");

    // CSV: header in the job's order, formula neutralised, lists joined.
    let (headers, body) = download(app, &token, &format!("/results/{id}/export/csv")).await;
    assert_eq!(
        headers["content-disposition"],
        format!("attachment; filename=\"result_{id}.csv\"").as_str()
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let mut reader = csv::Reader::from_reader(body.as_slice());
    assert_eq!(reader.headers().unwrap(), vec!["title", "price", "link"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 10);
    assert_eq!(&rows[0][0], "'=1+1");
    assert_eq!(&rows[0][2], "https://example.com/0; https://example.com/x");
    assert_eq!(&rows[1][1], "");

    // fields chooses and orders, omit removes, offset/limit cut.
    let (_, body) = download(
        app,
        &token,
        &format!("/results/{id}/export/csv?fields=link,title&offset=8&limit=5"),
    )
    .await;
    let mut reader = csv::Reader::from_reader(body.as_slice());
    assert_eq!(reader.headers().unwrap(), vec!["link", "title"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][1], "Item 8");

    // JSON: an array of objects; values untouched.
    let (headers, body) =
        download(app, &token, &format!("/results/{id}/export/json?omit=link")).await;
    assert_eq!(headers["content-type"], "application/json");
    let json: Value = serde_json::from_slice(&body).unwrap();
    let array = json.as_array().unwrap();
    assert_eq!(array.len(), 10);
    assert_eq!(array[0], json!({"title": "=1+1", "price": "0.99"}));

    // JSON Lines: one object per line.
    let (headers, body) =
        download(app, &token, &format!("/results/{id}/export/jsonl?limit=3")).await;
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".jsonl\"")
    );
    let lines: Vec<Value> = String::from_utf8(body)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[2]["link"][1], "https://example.com/x");

    // XLSX: a real workbook.
    let (headers, body) = download(
        app,
        &token,
        &format!("/results/{id}/export/xlsx?fields=title,price"),
    )
    .await;
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .ends_with(".xlsx\"")
    );
    let mut book = Xlsx::new(Cursor::new(body)).expect("a workbook");
    let range = book.worksheet_range_at(0).unwrap().unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(rows.len(), 11);
    assert_eq!(
        rows[0],
        vec![Data::String("title".into()), Data::String("price".into())]
    );
    assert_eq!(rows[1][0], Data::String("=1+1".into()));
    assert_eq!(rows[3][1], Data::String("2.99".into()));

    // Bad requests.
    app.get(&format!("/results/{id}/export/pdf"), &token, 404)
        .await;
    let bad = app
        .get(
            &format!("/results/{id}/export/csv?fields=title,nope"),
            &token,
            422,
        )
        .await;
    assert_eq!(bad["detail"][0]["path"], "fields");
    app.get(&format!("/results/{id}/export/csv?omit=zzz"), &token, 422)
        .await;
    app.get(&format!("/results/{id}/export/csv?offset=-1"), &token, 422)
        .await;
    app.get(
        &format!("/results/{}/export/csv", Uuid::now_v7()),
        &token,
        404,
    )
    .await;
    app.get(&format!("/results/{}/items", Uuid::now_v7()), &token, 404)
        .await;
}

async fn cancel_and_filters(app: &TestApp) {
    let (_, token) = app.user("canceller@example.com", Role::User).await;
    let job = app.job(&token, "Cancel me").await;
    let pending = app
        .post(&format!("/jobs/{job}/run"), &token, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let cancelled = app
        .post(
            &format!("/results/{pending}/cancel"),
            &token,
            json!({}),
            200,
        )
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    app.post(
        &format!("/results/{pending}/cancel"),
        &token,
        json!({}),
        409,
    )
    .await;

    let running = app
        .post(&format!("/jobs/{job}/run"), &token, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.store
        .claim_next(WORKER, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("claimed");
    let flagged = app
        .post(
            &format!("/results/{running}/cancel"),
            &token,
            json!({}),
            200,
        )
        .await;
    assert_eq!(flagged["status"], "running");
    assert_eq!(flagged["cancel_requested"], true);

    let all = app
        .get(&format!("/results/?job_id={job}"), &token, 200)
        .await;
    assert_eq!(all["total"], 2);
    let only = app.get("/results/?status=cancelled", &token, 200).await;
    assert_eq!(only["total"], 1);
    assert_eq!(only["items"][0]["id"], pending);
    app.get("/results/?status=exploded", &token, 422).await;
    app.get("/results?status=running", &token, 200).await;

    app.delete(&format!("/results/{pending}"), &token, 204)
        .await;
    app.get(&format!("/results/{pending}"), &token, 404).await;
}

/// More items than one store batch (1,000) and more bytes than one body chunk (64 KiB), so the
/// streaming path really hands over several batches and chunks, in order.
async fn large_exports_stream_every_item(app: &TestApp) {
    const N: usize = 5_000;
    let (_, token) = app.user("bulk@example.com", Role::User).await;
    let id = completed_run(app, &token, N).await;
    let (_, body) = download(app, &token, &format!("/results/{id}/export/csv")).await;
    assert!(body.len() > 3 * 64 * 1024, "{} bytes", body.len());
    let rows: Vec<csv::StringRecord> = csv::Reader::from_reader(body.as_slice())
        .records()
        .map(Result::unwrap)
        .collect();
    assert_eq!(rows.len(), N);
    for (i, row) in rows.iter().enumerate().skip(1) {
        assert_eq!(&row[0], format!("Item {i}"), "row {i} out of order");
    }
    let (_, body) = download(
        app,
        &token,
        &format!("/results/{id}/export/jsonl?offset=1500"),
    )
    .await;
    let lines: Vec<&str> = std::str::from_utf8(&body).unwrap().lines().collect();
    assert_eq!(lines.len(), N - 1500);
    let last: Value = serde_json::from_str(lines[lines.len() - 1]).unwrap();
    assert_eq!(last["title"], format!("Item {}", N - 1));
    let (_, body) = download(
        app,
        &token,
        &format!("/results/{id}/export/json?limit=2500"),
    )
    .await;
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2500);
}
