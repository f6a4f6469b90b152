//! Claim latency with a long queue: 100 organizations × 1,000 pending runs, on SQLite and on
//! PostgreSQL, the fair claim ([`Store::claim_with`]) against the single-queue claim it
//! replaced (its pick query is kept here only, to be measured in the same run on the same
//! queue). Ignored in the suite: `bench/claim.sh` runs it and prints p50 and p99.

use std::time::{Duration, Instant};

use grandma_store::{Backend, ClaimLimits, NewRun, Role, Scope};
use sqlx::Connection;

use crate::catalog::RawConn;
use crate::common::{TestDb, job_in, user};

const ORGS: usize = 100;
const RUNS_PER_ORG: i64 = 1000;
/// Claims measured per variant; each variant's claims alternate with the other's, so both
/// see the same queue, caches and machine load.
const CLAIMS: usize = 500;
const LEASE: Duration = Duration::from_secs(600);

/// The single-queue pick: the oldest claimable run of all.
const OLD_PICK_SQLITE: &str = "select result_id, status, attempts from result \
     where status = 'pending' or (status = 'running' and lease_expires_at < $1) \
     order by created_at, result_id limit 1";
const OLD_PICK_POSTGRES: &str = "select result_id, status, attempts from result \
     where status = 'pending' or (status = 'running' and lease_expires_at < $1) \
     order by created_at, result_id limit 1 for update skip locked";
const LEASE_SQL: &str = "update result set status = 'running', lease_owner = $1, \
     lease_expires_at = $2, attempts = attempts + 1, started_at = coalesce(started_at, $3) \
     where result_id = $4";

/// Every organization's other 999 runs, a millisecond apart per organization, so the
/// organizations' runs interleave in time as they would when queued by many users.
const FILL_SQLITE: &str = "with recursive s(n) as (select 1 union all select n + 1 from s \
     where n < 999) \
     insert into result (result_id, run_id, job_id, owner_id, org_id, status, columns, created_at) \
     select randomblob(16), randomblob(16), r.job_id, r.owner_id, r.org_id, 'pending', r.columns, \
     strftime('%Y-%m-%dT%H:%M:%fZ', r.created_at, '+' || (s.n / 1000.0) || ' seconds') \
     from result r cross join s";
const FILL_POSTGRES: &str = "insert into result \
     (result_id, run_id, job_id, owner_id, org_id, status, columns, created_at) \
     select gen_random_uuid(), gen_random_uuid(), r.job_id, r.owner_id, r.org_id, 'pending', \
     r.columns, r.created_at + s.n * interval '1 millisecond' \
     from result r cross join generate_series(1, 999) s(n)";

fn percentile(mut values: Vec<Duration>, p: f64) -> Duration {
    values.sort();
    let at = ((values.len() as f64 - 1.0) * p).round() as usize;
    values[at]
}

/// One single-queue claim on a raw connection, in a write transaction like the store's.
macro_rules! old_claim {
    ($conn:expr, $begin:expr, $pick:expr, $worker:expr) => {{
        let mut tx = $conn.begin_with($begin).await.unwrap();
        let at = grandma_store::now();
        let picked: Option<(grandma_store::Uuid, String, i32)> = sqlx::query_as($pick)
            .bind(at)
            .fetch_optional(&mut *tx)
            .await
            .unwrap();
        let (id, _, _) = picked.expect("a run");
        sqlx::query(LEASE_SQL)
            .bind($worker)
            .bind(at + LEASE)
            .bind(at)
            .bind(id)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }};
}

async fn claim_latency(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store = &db.store;
    let seeding = Instant::now();
    for o in 0..ORGS {
        let owner = user(store, &format!("org{o}@example.com"), Role::User).await;
        let job = store
            .create_job(owner.user_id, &job_in(&format!("j{o}"), &["a"]))
            .await
            .unwrap();
        store
            .enqueue_run(Scope::all(), job.job_id, &NewRun::default())
            .await
            .unwrap();
    }
    let mut raw = RawConn::open(backend, db.url()).await;
    raw.execute(match backend {
        Backend::Sqlite => FILL_SQLITE,
        Backend::Postgres => FILL_POSTGRES,
    })
    .await;
    // What autovacuum does after a bulk load on PostgreSQL (the visibility map lets the
    // claim's index-only scans skip the table); statistics on both.
    raw.execute(match backend {
        Backend::Sqlite => "analyze",
        Backend::Postgres => "vacuum analyze result",
    })
    .await;
    assert_eq!(
        store.queue_depth().await.unwrap(),
        ORGS as i64 * RUNS_PER_ORG
    );
    println!(
        "{backend:?}: {ORGS} organizations x {RUNS_PER_ORG} pending runs seeded in {:.1?}",
        seeding.elapsed()
    );
    // A fresh store so SQLite connections load the statistics.
    let store = db.another_store().await;
    let limits = ClaimLimits {
        max_attempts: 3,
        max_concurrent_runs: 10,
    };
    let (mut fair, mut single) = (Vec::new(), Vec::new());
    for i in 0..CLAIMS {
        let t = Instant::now();
        store
            .claim_with(&format!("fair-{i}"), LEASE, limits)
            .await
            .unwrap()
            .expect("a run");
        fair.push(t.elapsed());
        let worker = format!("single-{i}");
        let t = Instant::now();
        match &mut raw {
            RawConn::Sqlite(conn) => old_claim!(conn, "BEGIN IMMEDIATE", OLD_PICK_SQLITE, &worker),
            RawConn::Postgres(conn) => old_claim!(conn, "BEGIN", OLD_PICK_POSTGRES, &worker),
        }
        single.push(t.elapsed());
    }
    println!(
        "FIGURES claim {backend:?} ({CLAIMS} claims each, {} runs queued): \
         fair claim p50 {:.2?} p99 {:.2?}; single-queue claim p50 {:.2?} p99 {:.2?}",
        ORGS as i64 * RUNS_PER_ORG,
        percentile(fair.clone(), 0.5),
        percentile(fair, 0.99),
        percentile(single.clone(), 0.5),
        percentile(single, 0.99),
    );
    raw.close().await;
    store.close().await;
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: bench/claim.sh"]
async fn claim_bench_sqlite() {
    claim_latency(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: bench/claim.sh"]
async fn claim_bench_postgres() {
    claim_latency(Backend::Postgres).await;
}
