//! Fills one run of a job with synthetic items, for the export and items benchmarks
//! (`bench/api.sh`): `seed_run DATABASE_URL JOB_ID ITEMS`. Prints the result id.
//!
//! It goes through the same queue path as a worker (enqueue, claim, one transaction per page of
//! 1000 items, finish), so the rows are exactly what a real run leaves.

use std::time::{Duration, Instant};

use grandma_store::{FieldValue, Item, RunCounters, RunOutcome, RunStatus, Scope, Store, Uuid};

const PER_PAGE: usize = 1000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, job_id, count] = args.as_slice() else {
        return Err("usage: seed_run DATABASE_URL JOB_ID ITEMS".into());
    };
    let job_id: Uuid = job_id.parse()?;
    let count: usize = count.parse()?;
    let store = Store::connect(url).await?;
    let job = store.get_job(Scope::all(), job_id).await?;
    let columns = job
        .config
        .get("fields")
        .and_then(|f| f.as_array())
        .map_or(1, Vec::len);
    let run = store
        .enqueue_run(Scope::all(), job_id, &grandma_store::NewRun::default())
        .await?;
    let worker = "bench-seed";
    let claimed = store
        .claim_next(worker, Duration::from_secs(3600))
        .await?
        .ok_or("nothing to claim")?;
    if claimed.result_id != run.result_id {
        return Err("another run was pending; seed on a quiet database".into());
    }
    let started = Instant::now();
    let pages = count.div_ceil(PER_PAGE);
    for page in 0..pages {
        let n = PER_PAGE.min(count - page * PER_PAGE);
        let items: Vec<Item> = (0..n)
            .map(|i| {
                let k = page * PER_PAGE + i;
                Item::new(
                    (0..columns)
                        .map(|c| match c {
                            0 => FieldValue::Text(format!(
                                "Item {k} with a title of ordinary length"
                            )),
                            1 => FieldValue::Text(format!("£{}.{:02}", k % 97, k % 100)),
                            2 => {
                                FieldValue::List(vec!["In stock".into(), format!("{} left", k % 9)])
                            }
                            _ => FieldValue::Text(format!(
                                "http://shop.example/catalogue/item-{k}/index.html"
                            )),
                        })
                        .collect(),
                )
            })
            .collect();
        let counters = RunCounters {
            pages_scraped: page as i32 + 1,
            items_dropped: 0,
        };
        store
            .save_page(
                run.result_id,
                worker,
                page as i32 + 1,
                &items,
                counters,
                None,
            )
            .await?;
    }
    store
        .finish_run(
            run.result_id,
            worker,
            &RunOutcome {
                status: RunStatus::Completed,
                error_message: None,
                error_details: None,
                warnings: Vec::new(),
                duration_seconds: started.elapsed().as_secs_f64(),
                webhook_payload: None,
                quality: None,
                changes_payload: None,
                keep_runs: None,
            },
        )
        .await?;
    println!("{}", run.result_id);
    Ok(())
}
