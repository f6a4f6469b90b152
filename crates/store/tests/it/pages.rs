//! Page records and replayed pages: what a run records per page, which earlier run a new run
//! may reuse, and a page answered 304 saved as a copy of the earlier run's items (values and
//! hashes), counted, idempotent on retry, and refused when those items are gone.

use std::time::Duration;

use grandma_engine::fetch::Validators;
use grandma_engine::identity::ItemIdentity;
use grandma_engine::revisit::{PageRecord, Reused};
use grandma_store::{
    CopiedItems, CrawledPage, FieldValue, Item, Paging, ResultRow, RunCounters, RunOutcome,
    RunStatus, Scope, Store, StoreError, Uuid,
};

use crate::common::{TestDb, job_in, user};

store_test!(
    a_page_answered_304_is_a_copy_of_the_earlier_items,
    retention_keeps_the_items_a_running_run_replays,
);

const LEASE: Duration = Duration::from_secs(60);

fn item(title: &str, url: &str) -> Item {
    Item::new(vec![
        FieldValue::Text(title.into()),
        FieldValue::Text(url.into()),
    ])
}

fn identity() -> ItemIdentity {
    ItemIdentity::for_columns(&["title".to_owned(), "url".to_owned()], &["url".to_owned()])
}

fn record(page: u32, etag: &str, reused: Option<Reused>) -> PageRecord {
    PageRecord {
        final_url: format!("http://shop.test/list-{page}").parse().unwrap(),
        validators: Validators {
            etag: Some(etag.to_owned()),
            last_modified: None,
        },
        next_url: Some(
            format!("http://shop.test/list-{}", page + 1)
                .parse()
                .unwrap(),
        ),
        matched: 3,
        dropped: 0,
        reused,
    }
}

async fn claim(store: &Store, job: Uuid, spec: &str) -> ResultRow {
    store
        .enqueue_run(Scope::all(), job, &grandma_store::NewRun::default())
        .await
        .unwrap();
    let run = store.claim_next("w", LEASE).await.unwrap().unwrap();
    store.set_run_spec(run.result_id, "w", spec).await.unwrap();
    run
}

/// Saves page `page` of `run`: `items`, or a copy when `copied` is set.
async fn save(
    store: &Store,
    run: Uuid,
    page: i32,
    items: &[Item],
    record: &PageRecord,
    copied: Option<CopiedItems>,
) -> Result<grandma_store::PageSaved, StoreError> {
    let url = format!("http://shop.test/list-{page}");
    store
        .save_crawled_page(
            run,
            "w",
            CrawledPage {
                page,
                items,
                identity: &identity(),
                counters: RunCounters {
                    pages_scraped: page,
                    items_dropped: 0,
                },
                checkpoint: None,
                record: Some((&url, record)),
                copied,
            },
        )
        .await
}

async fn complete(store: &Store, run: Uuid) -> ResultRow {
    complete_keeping(store, run, None).await
}

async fn complete_keeping(store: &Store, run: Uuid, keep_runs: Option<u32>) -> ResultRow {
    let outcome = RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 1.0,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs,
    };
    store.finish_run(run, "w", &outcome).await.unwrap()
}

async fn rows(store: &Store, run: Uuid) -> Vec<(i64, i32, Item)> {
    store
        .list_items(Scope::all(), run, Paging::new(100, 0))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|row| (row.seq, row.page, row.data))
        .collect()
}

async fn a_page_answered_304_is_a_copy_of_the_earlier_items(db: &TestDb) {
    let store = &db.store;
    let owner = user(store, "pages@example.com", grandma_store::Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in("shop", &["title", "url"]))
        .await
        .unwrap()
        .job_id;

    let first = claim(store, job, "spec-a").await;
    let page_one = [item("One", "/1"), item("Two", "/2"), item("Three", "/3")];
    let page_two = [item("Four", "/4"), item("Five", "/5")];
    save(
        store,
        first.result_id,
        1,
        &page_one,
        &record(1, "\"a\"", None),
        None,
    )
    .await
    .unwrap();
    save(
        store,
        first.result_id,
        2,
        &page_two,
        &record(2, "\"b\"", None),
        None,
    )
    .await
    .unwrap();
    let recorded = store.run_pages(first.result_id).await.unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!(
        (
            recorded[1].url.as_str(),
            recorded[1].etag.as_deref(),
            recorded[1].items,
            recorded[1].next_url.as_deref(),
            recorded[1].not_modified
        ),
        (
            "http://shop.test/list-2",
            Some("\"b\""),
            2,
            Some("http://shop.test/list-3"),
            false
        )
    );

    // A running run is no base; a completed one is, for its own job document only.
    let second = claim(store, job, "spec-a").await;
    assert_eq!(
        store
            .reusable_pages(job, second.result_id, "w", "spec-a")
            .await
            .unwrap(),
        None
    );
    complete(store, first.result_id).await;
    let reusable = store
        .reusable_pages(job, second.result_id, "w", "spec-a")
        .await
        .unwrap()
        .expect("the first run is reusable");
    assert_eq!(reusable.result_id, first.result_id);
    assert_eq!(reusable.pages, recorded);
    assert_eq!(
        store
            .reusable_pages(job, second.result_id, "w", "spec-b")
            .await
            .unwrap(),
        None
    );

    // Page 1 answered 304 in full; page 2 answered 304 but cut to one item by max_items.
    let copy = |page: i32, items: i64| CopiedItems {
        from_run: first.result_id,
        from_page: page,
        items,
    };
    let reused = |page: u32, items: u32| {
        Some(Reused {
            from_page: page,
            items,
        })
    };
    save(
        store,
        second.result_id,
        1,
        &[],
        &record(1, "\"a\"", reused(1, 3)),
        Some(copy(1, 3)),
    )
    .await
    .unwrap();
    let saved = save(
        store,
        second.result_id,
        2,
        &[],
        &record(2, "\"b\"", reused(2, 1)),
        Some(copy(2, 1)),
    )
    .await
    .unwrap();
    assert_eq!(saved.total_items, 4);
    // The same save again (its answer lost, say) changes nothing.
    save(
        store,
        second.result_id,
        2,
        &[],
        &record(2, "\"b\"", reused(2, 1)),
        Some(copy(2, 1)),
    )
    .await
    .unwrap();
    let expected: Vec<_> = rows(store, first.result_id)
        .await
        .into_iter()
        .take(4)
        .collect();
    assert_eq!(rows(store, second.result_id).await, expected);
    let pages = store.run_pages(second.result_id).await.unwrap();
    assert!(pages.iter().all(|p| p.not_modified));
    assert_eq!(pages[1].items, 1);

    // The hashes came along: the comparison finds the four items unchanged, the fifth gone.
    let done = complete(store, second.result_id).await;
    assert_eq!(done.total_items, 4);
    assert_eq!(done.pages_not_modified, 2);
    assert_eq!(
        (
            done.diff_base_id,
            done.new_items,
            done.changed_items,
            done.removed_items,
            done.unchanged_items
        ),
        (Some(first.result_id), Some(0), Some(0), Some(1), Some(4))
    );

    // Items that are not there (no such page, as after pruning): nothing is written.
    let third = claim(store, job, "spec-a").await;
    let refused = save(
        store,
        third.result_id,
        1,
        &[],
        &record(1, "\"a\"", reused(7, 2)),
        Some(copy(7, 2)),
    )
    .await;
    assert!(
        matches!(refused, Err(StoreError::Invalid(_))),
        "{refused:?}"
    );
    let third = store.get_run(Scope::all(), third.result_id).await.unwrap();
    assert_eq!(
        (
            third.total_items,
            third.pages_scraped,
            third.pages_not_modified
        ),
        (0, 0, 0)
    );
    assert!(store.run_pages(third.result_id).await.unwrap().is_empty());
}

async fn retention_keeps_the_items_a_running_run_replays(db: &TestDb) {
    let store = &db.store;
    let owner = user(store, "kept@example.com", grandma_store::Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in("shop", &["title", "url"]))
        .await
        .unwrap()
        .job_id;
    let page = [item("One", "/1"), item("Two", "/2")];
    let base = claim(store, job, "spec").await;
    save(
        store,
        base.result_id,
        1,
        &page,
        &record(1, "\"a\"", None),
        None,
    )
    .await
    .unwrap();
    complete_keeping(store, base.result_id, Some(1)).await;

    // A long run starts from the base; a shorter run of the job starts and ends meanwhile.
    let long = claim(store, job, "spec").await;
    let reusable = store
        .reusable_pages(job, long.result_id, "w", "spec")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(reusable.result_id, base.result_id);
    let short = claim(store, job, "spec").await;
    save(
        store,
        short.result_id,
        1,
        &page,
        &record(1, "\"a\"", None),
        None,
    )
    .await
    .unwrap();
    complete_keeping(store, short.result_id, Some(1)).await;
    let kept = store.get_run(Scope::all(), base.result_id).await.unwrap();
    assert!(!kept.items_pruned, "the long run still replays it");

    // So the long run's page answered 304 can still be copied.
    let copied = CopiedItems {
        from_run: base.result_id,
        from_page: 1,
        items: 2,
    };
    let reused = Some(Reused {
        from_page: 1,
        items: 2,
    });
    save(
        store,
        long.result_id,
        1,
        &[],
        &record(1, "\"a\"", reused),
        Some(copied),
    )
    .await
    .unwrap();
    complete_keeping(store, long.result_id, Some(1)).await;
    let base = store.get_run(Scope::all(), base.result_id).await.unwrap();
    let short = store.get_run(Scope::all(), short.result_id).await.unwrap();
    assert!(
        base.items_pruned && short.items_pruned,
        "pruned once the long run ended"
    );
    assert_eq!(rows(store, long.result_id).await.len(), 2);
}
