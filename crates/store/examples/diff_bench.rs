//! Times the comparison of two runs (`bench/diff.sh`): `diff_bench DATABASE_URL ITEMS`.
//!
//! On a migrated, empty database it stores a run of ITEMS items, then a second run of ITEMS
//! items of which about 10% differ (4% changed content, 3% removed keys, 3% new keys, in a
//! shuffled order), through the same queue path as a worker (claim, pages of 1,000 items with
//! their hashes, finish). Then it finishes the second run, which compares it with the first
//! inside the completion transaction, and prints the counts, the time of that finish and the
//! process's peak RSS during it (VmHWM, reset just before).

use std::time::{Duration, Instant};

use grandma_engine::identity::ItemIdentity;
use grandma_store::{
    FieldValue, Item, JobIn, RunCounters, RunOutcome, RunStatus, Scope, Store, Uuid,
};

const PER_PAGE: usize = 1000;
const WORKER: &str = "bench-diff";

fn item(k: usize, price_bump: usize) -> Item {
    Item::new(vec![
        FieldValue::Text(format!("Item {k} with a title of ordinary length")),
        FieldValue::Text(format!("http://shop.example/catalogue/item-{k}/index.html")),
        FieldValue::Text(format!("£{}.{:02}", (k + price_bump) % 97, k % 100)),
        FieldValue::List(vec!["In stock".into(), format!("{} left", k % 9)]),
    ])
}

fn columns() -> Vec<String> {
    ["title", "url", "price", "stock"]
        .iter()
        .map(|c| (*c).to_owned())
        .collect()
}

/// Stores a run whose items are `keys` (with a price bump for the changed ones).
async fn store_run(
    store: &Store,
    job: Uuid,
    items: impl Iterator<Item = Item>,
) -> Result<Uuid, Box<dyn std::error::Error>> {
    store
        .enqueue_run(Scope::all(), job, &grandma_store::NewRun::default())
        .await?;
    let run = store
        .claim_next(WORKER, Duration::from_secs(3600))
        .await?
        .ok_or("nothing to claim")?;
    let identity = ItemIdentity::for_columns(&columns(), &["url".to_owned()]);
    let mut page = 0;
    let mut batch = Vec::with_capacity(PER_PAGE);
    let mut items = items.peekable();
    while items.peek().is_some() {
        batch.clear();
        batch.extend(items.by_ref().take(PER_PAGE));
        page += 1;
        store
            .save_keyed_page(
                run.result_id,
                WORKER,
                page,
                &batch,
                &identity,
                RunCounters {
                    pages_scraped: page,
                    items_dropped: 0,
                },
                None,
            )
            .await?;
    }
    Ok(run.result_id)
}

fn outcome() -> RunOutcome {
    RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 0.0,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs: None,
    }
}

/// Peak resident set of this process, in KiB.
fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, count] = args.as_slice() else {
        return Err("usage: diff_bench DATABASE_URL ITEMS".into());
    };
    let count: usize = count.parse()?;
    let store = Store::connect(url).await?;
    store.migrate_to_head().await?;
    let owner = store
        .create_user(&grandma_store::NewUser {
            email: grandma_store::Email::parse(&format!("bench-{}@example.com", Uuid::now_v7()))?,
            password_hash: "x".into(),
            role: grandma_store::Role::User,
            is_active: true,
        })
        .await?;
    let fields: Vec<serde_json::Value> = columns()
        .iter()
        .map(|c| serde_json::json!({"name": c, "selector": format!(".{c}")}))
        .collect();
    let job = store
        .create_job(
            owner.user_id,
            &JobIn {
                name: "diff bench".into(),
                description: None,
                config: serde_json::json!({
                    "name": "diff bench",
                    "start_url": "https://shop.example/",
                    "item_selector": ".item",
                    "fields": fields,
                    "item_key": ["url"],
                }),
                enabled: true,
            },
        )
        .await?;

    let started = Instant::now();
    let first = store_run(&store, job.job_id, (0..count).map(|k| item(k, 0))).await?;
    store.finish_run(first, WORKER, &outcome()).await?;
    // Second run: keys 3% of the way in are gone, 3% new keys are added past the end, 4% get
    // a new price, and the order is rotated by a stride so no page matches yesterday's.
    let removed = count * 3 / 100;
    let added = count * 3 / 100;
    let stride = 7919;
    let second_keys = (removed..count + added).collect::<Vec<_>>();
    let n = second_keys.len();
    let shuffled = (0..n).map(move |i| second_keys[(i * stride) % n]);
    let second = store_run(
        &store,
        job.job_id,
        shuffled.map(|k| item(k, usize::from(k % 25 == 0))),
    )
    .await?;
    println!(
        "stored 2 runs of {count} items in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The peak from here on: reset the high-water mark (Linux `clear_refs` 5).
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let started = Instant::now();
    let done = store.finish_run(second, WORKER, &outcome()).await?;
    let elapsed = started.elapsed();
    println!(
        "backend {:?}: new {:?}, changed {:?}, removed {:?}, unchanged {:?}",
        store.backend(),
        done.new_items,
        done.changed_items,
        done.removed_items,
        done.unchanged_items
    );
    println!(
        "diff of {count} against {n} items: {:.2} s, peak RSS {} MiB",
        elapsed.as_secs_f64(),
        peak_rss_kib() / 1024
    );
    store.close().await;
    Ok(())
}
