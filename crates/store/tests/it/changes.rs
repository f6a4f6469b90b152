//! Comparing a completed run with the previous completed run of its job: exact counts, changed
//! fields, duplicates, exports of the changed items, the `job.items_changed` outbox row, an
//! interrupted comparison, retention and the quality report.

use std::time::Duration;

use futures::TryStreamExt;
use grandma_engine::identity::ItemIdentity;
use grandma_store::{
    Backend, ChangeKind, FieldValue, Item, Paging, ResultRow, Role, RunCounters, RunOutcome,
    RunStatus, Scope, Store, StoreError, Uuid, WebhookEvent, WebhookIn,
};
use serde_json::json;
use sqlx::Connection;

use crate::common::{TestDb, job_in, user};

store_test!(
    a_second_run_is_compared_by_key_and_content,
    an_interrupted_comparison_is_done_once_by_the_next_owner,
    retention_prunes_items_and_keeps_counts,
    quality_counts_fill_rates_and_items_per_page,
);

/// A changed field as (name, old value, new value).
type FieldTriple = (String, serde_json::Value, serde_json::Value);

const LEASE: Duration = Duration::from_secs(60);
const COLUMNS: [&str; 3] = ["title", "url", "price"];

fn item(title: &str, url: &str, price: Option<&str>) -> Item {
    Item::new(vec![
        FieldValue::Text(title.into()),
        FieldValue::Text(url.into()),
        price.map_or(FieldValue::Null, FieldValue::from),
    ])
}

fn columns() -> Vec<String> {
    COLUMNS.iter().map(|c| (*c).to_owned()).collect()
}

fn completed(changes_payload: Option<serde_json::Value>, keep_runs: Option<u32>) -> RunOutcome {
    RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 1.0,
        webhook_payload: None,
        quality: None,
        changes_payload,
        keep_runs,
    }
}

/// Queues, claims and stores a run of `job` with `pages` (items per page), keyed by `url`.
async fn stored_run(store: &Store, job: Uuid, worker: &str, pages: &[Vec<Item>]) -> ResultRow {
    store
        .enqueue_run(Scope::all(), job, &grandma_store::NewRun::default())
        .await
        .unwrap();
    let run = store.claim_next(worker, LEASE).await.unwrap().unwrap();
    let identity = ItemIdentity::for_columns(&columns(), &["url".to_owned()]);
    for (i, items) in pages.iter().enumerate() {
        let page = i32::try_from(i + 1).unwrap();
        store
            .save_keyed_page(
                run.result_id,
                worker,
                page,
                items,
                &identity,
                RunCounters {
                    pages_scraped: page,
                    items_dropped: 0,
                },
                None,
            )
            .await
            .unwrap();
    }
    run
}

/// Yesterday: five links, one of them twice. Today: shuffled, one price changed, one title
/// changed, one link gone, two new links (one of them twice).
fn yesterday() -> Vec<Vec<Item>> {
    vec![
        vec![
            item("One", "/1", Some("10")),
            item("Two", "/2", Some("20")),
            item("Three", "/3", Some("30")),
        ],
        vec![
            item("Three again", "/3", Some("31")),
            item("Four", "/4", None),
            item("Five", "/5", Some("50")),
        ],
    ]
}

fn today() -> Vec<Vec<Item>> {
    vec![
        vec![
            item("Five", "/5", Some("50")),
            item("Seven", "/7", Some("70")),
            item("Two", "/2", Some("22")),
        ],
        vec![
            item("Six", "/6", Some("60")),
            item("One", "/1", Some("10")),
            item("Four, renamed", "/4", None),
            item("Six twice", "/6", Some("61")),
        ],
    ]
}

async fn a_second_run_is_compared_by_key_and_content(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let job = store
        .create_job(alice.user_id, &job_in("shop", &COLUMNS))
        .await
        .unwrap();
    let hook = store
        .create_webhook(
            alice.user_id,
            &WebhookIn {
                name: "changes".into(),
                url: "https://hooks.example.com/x".into(),
                enabled: true,
                events: vec![WebhookEvent::JobItemsChanged],
                job_id: None,
                secret: None,
                headers: Default::default(),
                retry_on_failure: true,
                max_retries: 3,
            },
        )
        .await
        .unwrap();
    let payload = json!({"event": "job.items_changed", "job_name": "shop"});

    let first = stored_run(store, job.job_id, "w1", &yesterday()).await;
    let first = store
        .finish_run(
            first.result_id,
            "w1",
            &completed(Some(payload.clone()), None),
        )
        .await
        .unwrap();
    assert_eq!(
        first.diff_base_id, None,
        "a first run has nothing to compare with"
    );
    assert_eq!(first.new_items, None);
    assert_eq!(first.duplicate_keys, Some(1));
    let none = store
        .list_changes(Scope::all(), first.result_id, None, Paging::default())
        .await
        .unwrap();
    assert_eq!(none.total, 0);

    let second = stored_run(store, job.job_id, "w1", &today()).await;
    let second = store
        .finish_run(
            second.result_id,
            "w1",
            &completed(Some(payload.clone()), None),
        )
        .await
        .unwrap();
    assert_eq!(second.diff_base_id, Some(first.result_id));
    assert_eq!(second.new_items, Some(2), "/6 and /7");
    assert_eq!(second.changed_items, Some(2), "/2's price and /4's title");
    assert_eq!(second.removed_items, Some(1), "/3");
    assert_eq!(second.unchanged_items, Some(2), "/1 and /5");
    assert_eq!(second.duplicate_keys, Some(1), "/6 twice");

    let a = Scope::member(alice.user_id);
    let changed = store
        .list_changes(
            a,
            second.result_id,
            Some(ChangeKind::Changed),
            Paging::default(),
        )
        .await
        .unwrap();
    assert_eq!(changed.total, 2);
    let summary: Vec<(i64, Vec<FieldTriple>)> = changed
        .items
        .iter()
        .map(|c| {
            (
                c.seq,
                c.fields
                    .iter()
                    .map(|f| (f.field.clone(), f.old.clone(), f.new.clone()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (2, vec![("price".into(), json!("20"), json!("22"))]),
            (
                5,
                vec![("title".into(), json!("Four"), json!("Four, renamed"))]
            ),
        ]
    );
    let removed = store
        .list_changes(
            a,
            second.result_id,
            Some(ChangeKind::Removed),
            Paging::default(),
        )
        .await
        .unwrap();
    assert_eq!(removed.total, 1);
    assert_eq!(removed.items[0].item, None);
    assert_eq!(
        removed.items[0].previous.as_ref().unwrap()["title"],
        json!("Three"),
        "the first item of a duplicated key stands for it"
    );
    let all = store
        .list_changes(a, second.result_id, None, Paging::new(2, 1))
        .await
        .unwrap();
    assert_eq!(all.total, 5);
    assert_eq!(
        all.items
            .iter()
            .map(|c| (c.kind, c.seq))
            .collect::<Vec<_>>(),
        vec![(ChangeKind::New, 3), (ChangeKind::Changed, 2)],
        "new first, then changed, then removed, each in item order"
    );
    // A page of rows (items 2..6) gets its new and changed items in item order, removed
    // ones never (they are not among this run's rows).
    let between = store
        .changes_between(a, second.result_id, 2, 6)
        .await
        .unwrap();
    assert_eq!(
        between
            .iter()
            .map(|c| (c.kind, c.seq, c.fields.len()))
            .collect::<Vec<_>>(),
        vec![
            (ChangeKind::Changed, 2, 1),
            (ChangeKind::New, 3, 0),
            (ChangeKind::Changed, 5, 1)
        ]
    );
    assert!(
        store
            .changes_between(a, second.result_id, 6, 100)
            .await
            .unwrap()
            .is_empty(),
        "the duplicate of /6 is not a change of its own"
    );
    let bob = user(store, "bob@example.com", Role::User).await;
    assert!(matches!(
        store
            .list_changes(
                Scope::member(bob.user_id),
                second.result_id,
                None,
                Paging::default()
            )
            .await,
        Err(StoreError::NotFound)
    ));

    // Exports of only the new or changed items, in item order, with offset and limit.
    let only = |kinds: Vec<ChangeKind>, offset: i64, limit: Option<i64>| {
        store
            .stream_changed_items(second.result_id, kinds, offset, limit)
            .map_ok(|item| item.values[1].to_cell().into_owned())
            .try_collect::<Vec<String>>()
    };
    assert_eq!(
        only(vec![ChangeKind::New], 0, None).await.unwrap(),
        ["/7", "/6"]
    );
    assert_eq!(
        only(vec![ChangeKind::Changed], 0, None).await.unwrap(),
        ["/2", "/4"]
    );
    assert_eq!(
        only(vec![ChangeKind::New, ChangeKind::Changed], 1, Some(2))
            .await
            .unwrap(),
        ["/2", "/6"]
    );

    // One job.items_changed delivery, with the counts and the changes.
    let deliveries = store
        .list_deliveries(Scope::all(), hook.webhook_id, None, Paging::default())
        .await
        .unwrap();
    assert_eq!(
        deliveries.total, 1,
        "the first run changed nothing it could compare"
    );
    let delivery = &deliveries.items[0];
    assert_eq!(delivery.event_type, WebhookEvent::JobItemsChanged);
    assert_eq!(delivery.result_id, Some(second.result_id));
    assert_eq!(delivery.payload["job_name"], json!("shop"));
    assert_eq!(
        delivery.payload["changes"],
        json!({"new": 2, "changed": 2, "removed": 1, "unchanged": 2})
    );
    let first_changes = delivery.payload["first_changes"].as_array().unwrap();
    assert_eq!(first_changes.len(), 5);
    assert_eq!(first_changes[2]["kind"], json!("changed"));
    assert_eq!(
        first_changes[2]["fields"],
        json!([{"field": "price", "old": "20", "new": "22"}])
    );

    // A third run identical to the second: compared, nothing changed, no delivery.
    let third = stored_run(store, job.job_id, "w1", &today()).await;
    let third = store
        .finish_run(third.result_id, "w1", &completed(Some(payload), None))
        .await
        .unwrap();
    assert_eq!(third.diff_base_id, Some(second.result_id));
    assert_eq!(
        (
            third.new_items,
            third.changed_items,
            third.removed_items,
            third.unchanged_items
        ),
        (Some(0), Some(0), Some(0), Some(6))
    );
    let deliveries = store
        .list_deliveries(Scope::all(), hook.webhook_id, None, Paging::default())
        .await
        .unwrap();
    assert_eq!(deliveries.total, 1, "nothing changed, nothing sent");
}

/// Makes the next insert of a `changed` row fail, as a process killed halfway through the
/// comparison would: the transaction never commits.
async fn break_the_comparison(db: &TestDb, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(
                "create trigger stop_diff before insert on item_change \
                 when new.kind = 'changed' begin select raise(abort, 'killed'); end",
            )
            .execute(&mut conn)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(
                "create function stop_diff() returns trigger language plpgsql as \
                 $$ begin raise exception 'killed'; end $$",
            )
            .execute(&mut conn)
            .await
            .unwrap();
            sqlx::query(
                "create trigger stop_diff before insert on item_change for each row \
                 when (new.kind = 'changed') execute function stop_diff()",
            )
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

async fn repair_the_comparison(db: &TestDb, backend: Backend) {
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query("drop trigger stop_diff")
                .execute(&mut conn)
                .await
                .unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query("drop trigger stop_diff on item_change")
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
}

async fn an_interrupted_comparison_is_done_once_by_the_next_owner(db: &TestDb) {
    let store = &db.store;
    let backend = store.backend();
    let alice = user(store, "alice@example.com", Role::User).await;
    let job = store
        .create_job(alice.user_id, &job_in("shop", &COLUMNS))
        .await
        .unwrap();
    let first = stored_run(store, job.job_id, "w1", &yesterday()).await;
    store
        .finish_run(first.result_id, "w1", &completed(None, None))
        .await
        .unwrap();
    let second = stored_run(store, job.job_id, "w1", &today()).await;

    break_the_comparison(db, backend).await;
    let failed = store
        .finish_run(second.result_id, "w1", &completed(None, None))
        .await;
    assert!(
        failed.is_err() && !matches!(failed, Err(StoreError::LeaseLost)),
        "the comparison stopped halfway: {failed:?}"
    );
    let left = store.get_run(Scope::all(), second.result_id).await.unwrap();
    assert_eq!(
        left.status,
        RunStatus::Running,
        "neither completed nor compared"
    );
    assert_eq!(left.new_items, None);
    let rows = store
        .list_changes(Scope::all(), second.result_id, None, Paging::default())
        .await
        .unwrap();
    assert_eq!(
        rows.total, 0,
        "the new rows inserted before the stop were rolled back"
    );
    repair_the_comparison(db, backend).await;

    // The worker is gone; its lease runs out and another worker takes the run over.
    let other = db.another_store().await;
    // The lease of "w1" is 60 s: end it as time would, by moving its expiry to the past.
    expire_lease(db, backend, second.result_id).await;
    let taken = other
        .claim_next("w2", LEASE)
        .await
        .unwrap()
        .expect("the run is claimed again");
    assert_eq!(taken.result_id, second.result_id);
    let done = other
        .finish_run(second.result_id, "w2", &completed(None, None))
        .await
        .unwrap();
    assert_eq!(
        (
            done.new_items,
            done.changed_items,
            done.removed_items,
            done.unchanged_items
        ),
        (Some(2), Some(2), Some(1), Some(2))
    );
    let rows = other
        .list_changes(Scope::all(), second.result_id, None, Paging::default())
        .await
        .unwrap();
    assert_eq!(rows.total, 5, "each change once");
    assert!(matches!(
        store
            .finish_run(second.result_id, "w1", &completed(None, None))
            .await,
        Err(StoreError::LeaseLost)
    ));
    other.close().await;
}

async fn expire_lease(db: &TestDb, backend: Backend, result_id: Uuid) {
    match backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(db.url()).await.unwrap();
            sqlx::query(
                "update result set lease_expires_at = '2000-01-01T00:00:00Z' where result_id = $1",
            )
            .bind(result_id)
            .execute(&mut conn)
            .await
            .unwrap();
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(db.url()).await.unwrap();
            sqlx::query(
                "update result set lease_expires_at = '2000-01-01T00:00:00Z' where result_id = $1",
            )
            .bind(result_id)
            .execute(&mut conn)
            .await
            .unwrap();
        }
    }
}

async fn retention_prunes_items_and_keeps_counts(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let job = store
        .create_job(alice.user_id, &job_in("shop", &COLUMNS))
        .await
        .unwrap();
    let mut runs = Vec::new();
    for pages in [yesterday(), today(), yesterday()] {
        let run = stored_run(store, job.job_id, "w1", &pages).await;
        let done = store
            .finish_run(run.result_id, "w1", &completed(None, Some(2)))
            .await
            .unwrap();
        runs.push(done);
    }
    let first = store
        .get_run(Scope::all(), runs[0].result_id)
        .await
        .unwrap();
    assert!(first.items_pruned, "older than the 2 newest completed runs");
    assert_eq!(first.total_items, 6, "its counts stay");
    assert_eq!(first.duplicate_keys, Some(1));
    let items = store
        .list_items(Scope::all(), first.result_id, Paging::default())
        .await
        .unwrap();
    assert!(items.items.is_empty());
    let second = store
        .get_run(Scope::all(), runs[1].result_id)
        .await
        .unwrap();
    assert!(!second.items_pruned);
    assert_eq!(second.new_items, Some(2));
    let changes = store
        .list_changes(
            Scope::all(),
            second.result_id,
            Some(ChangeKind::Changed),
            Paging::default(),
        )
        .await
        .unwrap();
    assert_eq!(changes.total, 2, "a kept run's changes stay readable");
    // The third run was compared with the second (the newest with items), not the first.
    let third = &runs[2];
    assert_eq!(third.diff_base_id, Some(runs[1].result_id));
    assert_eq!(
        (third.new_items, third.changed_items, third.removed_items),
        (Some(1), Some(2), Some(2))
    );
}

async fn quality_counts_fill_rates_and_items_per_page(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "alice@example.com", Role::User).await;
    let job = store
        .create_job(alice.user_id, &job_in("shop", &COLUMNS))
        .await
        .unwrap();
    let pages = vec![
        vec![
            item("One", "/1", Some("10")),
            item("", "/2", None),
            Item::new(vec![
                FieldValue::List(vec![]),
                FieldValue::Text("/3".into()),
                FieldValue::Text(String::new()),
            ]),
        ],
        vec![],
        vec![item("Four", "/4", Some("40"))],
    ];
    let run = stored_run(store, job.job_id, "w1", &pages).await;
    let quality = store.run_quality(run.result_id, &columns()).await.unwrap();
    assert_eq!(quality.items, 4);
    let filled: Vec<(&str, i64, f64)> = quality
        .fields
        .iter()
        .map(|f| (f.field.as_str(), f.filled, f.rate))
        .collect();
    assert_eq!(
        filled,
        vec![("title", 2, 0.5), ("url", 4, 1.0), ("price", 2, 0.5)]
    );
    assert_eq!(quality.items_on(1), 3);
    assert_eq!(quality.items_on(2), 0);
    assert_eq!(quality.items_on(3), 1);
    let done = store
        .finish_run(
            run.result_id,
            "w1",
            &RunOutcome {
                quality: Some(quality.to_value()),
                ..completed(None, None)
            },
        )
        .await
        .unwrap();
    assert_eq!(done.quality.unwrap()["fields"][0]["rate"], json!(0.5));
}
