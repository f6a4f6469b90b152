use std::time::Duration;

use futures::TryStreamExt;
use grandma_store::{FieldValue, Item, Paging, Role, RunCounters, Scope, StoreError};

use crate::common::{TestDb, job_in, user};

store_test!(items_page_and_stream_in_order);

fn item(n: usize) -> Item {
    Item::new(vec![
        FieldValue::Text(format!("item {n} — «ünïcode» \"quoted\"")),
        if n.is_multiple_of(3) {
            FieldValue::Null
        } else {
            FieldValue::List(vec![format!("{n}"), String::new()])
        },
    ])
}

async fn items_page_and_stream_in_order(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "i@example.com", Role::User).await;
    let bob = user(store, "j@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let job = store
        .create_job(alice.user_id, &job_in("i", &["title", "tags"]))
        .await
        .unwrap();
    let run = store
        .enqueue_run(a, job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    store
        .claim_next("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();

    // 2,600 items over pages of 1,300 and 1,300: crosses the insert chunk (500) and the
    // stream batch (1,000) boundaries.
    const TOTAL: usize = 2600;
    let all: Vec<Item> = (0..TOTAL).map(item).collect();
    for (page, chunk) in all.chunks(1300).enumerate() {
        let page = i32::try_from(page).unwrap() + 1;
        store
            .save_page(
                run.result_id,
                "w",
                page,
                chunk,
                RunCounters {
                    pages_scraped: page,
                    items_dropped: 0,
                },
                None,
            )
            .await
            .unwrap();
    }

    let first = store
        .list_items(a, run.result_id, Paging::new(10, 0))
        .await
        .unwrap();
    assert_eq!(first.total, TOTAL as i64);
    assert_eq!(first.items.len(), 10);
    assert_eq!(first.items[0].data, all[0]);
    assert_eq!(first.items[0].page, 1);
    let middle = store
        .list_items(a, run.result_id, Paging::new(5, 1298))
        .await
        .unwrap();
    assert_eq!(
        middle.items.iter().map(|i| i.seq).collect::<Vec<_>>(),
        vec![1298, 1299, 1300, 1301, 1302]
    );
    assert_eq!(
        middle.items.iter().map(|i| i.page).collect::<Vec<_>>(),
        vec![1, 1, 2, 2, 2]
    );
    assert_eq!(middle.items[2].data, all[1300]);
    let past_end = store
        .list_items(a, run.result_id, Paging::new(10, 5000))
        .await
        .unwrap();
    assert!(past_end.items.is_empty());
    assert!(matches!(
        store
            .list_items(Scope::member(bob.user_id), run.result_id, Paging::default())
            .await,
        Err(StoreError::NotFound)
    ));

    let streamed: Vec<Item> = store
        .stream_items(run.result_id, 0, None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(streamed, all, "every item, in order");
    let window: Vec<Item> = store
        .stream_items(run.result_id, 999, Some(1002))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(window, all[999..2001].to_vec());
    let tail: Vec<Item> = store
        .stream_items(run.result_id, 2590, Some(100))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tail.len(), 10);
    let none: Vec<Item> = store
        .stream_items(run.result_id, 0, Some(0))
        .try_collect()
        .await
        .unwrap();
    assert!(none.is_empty());

    // The stream is 'static: it can outlive the borrow, e.g. in a spawned response body.
    let stream = store.stream_items(run.result_id, 0, None);
    let count = tokio::spawn(async move { stream.try_collect::<Vec<_>>().await.unwrap().len() })
        .await
        .unwrap();
    assert_eq!(count, TOTAL);

    // Items go with their run.
    store.delete_run(a, run.result_id).await.unwrap();
    let gone: Vec<Item> = store
        .stream_items(run.result_id, 0, None)
        .try_collect()
        .await
        .unwrap();
    assert!(gone.is_empty());
}
