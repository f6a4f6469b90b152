//! What changed between two runs, through the API: the counts on the run, the paged
//! `/changes` listing with changed fields, exports of only the new or changed items in every
//! format, and refusals of malformed parameters.

use std::io::Cursor;
use std::time::Duration;

use calamine::{Data, Reader, Xlsx};
use grandma_engine::identity::ItemIdentity;
use grandma_store::{FieldValue, Item, Role, RunCounters, RunOutcome, RunStatus, Uuid};
use serde_json::{Value, json};

use crate::common::TestApp;

api_test!(
    changes_are_listed_and_exported,
    malformed_change_parameters_are_refused
);

const WORKER: &str = "changes-worker";

fn item(title: &str, price: &str, link: &str) -> Item {
    Item::new(vec![
        FieldValue::Text(title.into()),
        FieldValue::Text(price.into()),
        FieldValue::Text(link.into()),
    ])
}

/// Runs `job` once through the queue with `items`, keyed as the worker keys them.
async fn run_with(app: &TestApp, token: &str, job: Uuid, items: &[Item]) -> Uuid {
    let queued = app
        .post(&format!("/jobs/{job}/run"), token, json!({}), 202)
        .await;
    let result_id: Uuid = queued["result_id"].as_str().unwrap().parse().unwrap();
    app.store
        .claim_next(WORKER, Duration::from_secs(60))
        .await
        .unwrap()
        .expect("a pending run");
    let stored = app
        .store
        .get_job(grandma_store::Scope::all(), job)
        .await
        .unwrap();
    let spec = grandma_engine::JobSpec::from_value(&stored.config).unwrap();
    let identity = ItemIdentity::for_spec(&spec);
    app.store
        .save_keyed_page(
            result_id,
            WORKER,
            1,
            items,
            &identity,
            RunCounters {
                pages_scraped: 1,
                items_dropped: 0,
            },
            None,
        )
        .await
        .unwrap();
    let outcome = RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 1.0,
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

/// Two runs of one job (keyed by its `link` field): /1 unchanged, /2 repriced, /3 removed,
/// /5 and /6 new.
async fn two_runs(app: &TestApp, token: &str) -> (Uuid, Uuid) {
    let job = app.job(token, "Shop").await;
    let first = run_with(
        app,
        token,
        job,
        &[
            item("One", "1.00", "https://shop.example/1"),
            item("Two", "2.00", "https://shop.example/2"),
            item("Three", "3.00", "https://shop.example/3"),
        ],
    )
    .await;
    let second = run_with(
        app,
        token,
        job,
        &[
            item("Five", "5.00", "https://shop.example/5"),
            item("Two", "2.50", "https://shop.example/2"),
            item("One", "1.00", "https://shop.example/1"),
            item("=HYPERLINK(\"x\")", "6.00", "https://shop.example/6"),
        ],
    )
    .await;
    (first, second)
}

async fn body(app: &TestApp, token: &str, path: &str) -> Vec<u8> {
    let response = app
        .client
        .get(app.api(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "GET {path}");
    response.bytes().await.unwrap().to_vec()
}

async fn changes_are_listed_and_exported(app: &TestApp) {
    let (_, token) = app.user("changes@example.com", Role::User).await;
    let (first, second) = two_runs(app, &token).await;

    let run = app.get(&format!("/results/{first}"), &token, 200).await;
    assert_eq!(
        run["changes"],
        Value::Null,
        "a first run has nothing to compare"
    );
    assert_eq!(run["duplicate_keys"], json!(0));
    let run = app.get(&format!("/results/{second}"), &token, 200).await;
    assert_eq!(
        run["changes"],
        json!({"previous_result_id": first, "new": 2, "changed": 1, "removed": 1, "unchanged": 1})
    );
    assert_eq!(run["items_pruned"], json!(false));
    assert_eq!(
        run["pages_not_modified"],
        json!(0),
        "stored page by page, none replayed"
    );

    let changed = app
        .get(
            &format!("/results/{second}/changes?kind=changed"),
            &token,
            200,
        )
        .await;
    assert_eq!(changed["total"], 1);
    assert_eq!(
        changed["items"][0]["fields"],
        json!([{"field": "price", "old": "2.00", "new": "2.50"}])
    );
    assert_eq!(changed["items"][0]["item"]["title"], json!("Two"));
    let removed = app
        .get(
            &format!("/results/{second}/changes?kind=removed"),
            &token,
            200,
        )
        .await;
    assert_eq!(removed["items"][0]["previous"]["title"], json!("Three"));
    assert_eq!(removed["items"][0]["item"], Value::Null);
    let all = app
        .get(
            &format!("/results/{second}/changes?limit=2&offset=1"),
            &token,
            200,
        )
        .await;
    assert_eq!(
        (all["total"].clone(), all["limit"].clone()),
        (json!(4), json!(2))
    );
    let kinds: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["new", "changed"]);

    // Exports of only the new or changed items, in every format.
    let jsonl = body(
        app,
        &token,
        &format!("/results/{second}/export/jsonl?only=new"),
    )
    .await;
    let titles: Vec<String> = String::from_utf8(jsonl)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["title"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(titles, ["Five", "=HYPERLINK(\"x\")"]);
    let json_body = body(
        app,
        &token,
        &format!("/results/{second}/export/json?only=changed"),
    )
    .await;
    let parsed: Value = serde_json::from_slice(&json_body).unwrap();
    assert_eq!(
        parsed,
        json!([{"title": "Two", "price": "2.50", "link": "https://shop.example/2"}])
    );
    let csv_body = body(
        app,
        &token,
        &format!("/results/{second}/export/csv?only=new,changed&fields=title"),
    )
    .await;
    let mut reader = csv::Reader::from_reader(csv_body.as_slice());
    let rows: Vec<String> = reader.records().map(|r| r.unwrap()[0].to_owned()).collect();
    assert_eq!(rows, ["Five", "Two", "'=HYPERLINK(\"x\")"]);
    let xlsx = body(
        app,
        &token,
        &format!("/results/{second}/export/xlsx?only=new&offset=1"),
    )
    .await;
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(xlsx)).unwrap();
    let sheet = book.worksheet_range_at(0).unwrap().unwrap();
    let cells: Vec<Vec<Data>> = sheet.rows().map(<[Data]>::to_vec).collect();
    assert_eq!(
        cells.len(),
        2,
        "the header and the second new item: {cells:?}"
    );
    assert_eq!(cells[1][0], Data::String("=HYPERLINK(\"x\")".into()));

    // Another user sees neither the changes nor the exports.
    let (_, other) = app.user("other@example.com", Role::User).await;
    app.get(&format!("/results/{second}/changes"), &other, 404)
        .await;
    app.get(
        &format!("/results/{second}/export/csv?only=new"),
        &other,
        404,
    )
    .await;
}

async fn malformed_change_parameters_are_refused(app: &TestApp) {
    let (_, token) = app.user("malformed@example.com", Role::User).await;
    let (_, second) = two_runs(app, &token).await;
    for query in [
        "kind=added",
        "kind=",
        "kind=new&kind=changed",
        "offset=-1",
        "limit=ten",
        "kind=%00",
    ] {
        let answer = app
            .get(&format!("/results/{second}/changes?{query}"), &token, 422)
            .await;
        assert!(
            answer["detail"].is_string() || answer["detail"].is_array(),
            "{query}: {answer}"
        );
    }
    let hostile = "x".repeat(5000);
    for only in [
        "removed",
        "new,removed",
        "",
        "NEW",
        hostile.as_str(),
        "new%0achanged",
    ] {
        let answer = app
            .get(
                &format!("/results/{second}/export/csv?only={only}"),
                &token,
                422,
            )
            .await;
        let text = answer.to_string();
        assert!(text.contains("only"), "{only}: {text}");
        assert!(
            text.len() < 1000,
            "the refusal does not echo a long value: {text}"
        );
    }
    let unknown = Uuid::now_v7();
    app.get(&format!("/results/{unknown}/changes"), &token, 404)
        .await;
    app.get("/results/not-a-uuid/changes", &token, 404).await;
}
