//! Fair claims: organizations take turns, none exceeds its concurrent-run limit, and the
//! queue's old guarantees (one claimer per run, takeover of a dead worker's run) still hold.

use std::collections::HashMap;
use std::time::Duration;

use grandma_store::{ClaimLimits, NewRun, Role, RunOutcome, RunStatus, Scope, Store, Uuid};

use crate::common::{TestDb, job_in, user};

store_test!(
    a_waiting_organization_is_served_before_a_busy_one,
    organizations_take_turns,
    the_concurrent_run_limit_holds_at_claim_time,
    a_dead_workers_run_is_taken_over_within_the_limit,
    many_claimers_never_share_a_run_or_exceed_a_limit,
);

const LEASE: Duration = Duration::from_secs(60);

/// An organization with one job: a user's personal organization (its id is the user's).
struct Org {
    id: Uuid,
    job: Uuid,
}

async fn org(store: &Store, name: &str) -> Org {
    let owner = user(store, &format!("{name}@example.com"), Role::User).await;
    let job = store
        .create_job(owner.user_id, &job_in(name, &["a"]))
        .await
        .unwrap();
    Org {
        id: owner.user_id,
        job: job.job_id,
    }
}

async fn enqueue(store: &Store, org: &Org, n: usize) -> Vec<Uuid> {
    let mut ids = Vec::with_capacity(n);
    for _ in 0..n {
        ids.push(
            store
                .enqueue_run(Scope::all(), org.job, &NewRun::default())
                .await
                .unwrap()
                .result_id,
        );
    }
    ids
}

fn limits(max_concurrent_runs: u32) -> ClaimLimits {
    ClaimLimits {
        max_attempts: 3,
        max_concurrent_runs,
    }
}

/// The organization of the run `worker` claims next, if any.
async fn claim_org(store: &Store, worker: &str, max_concurrent_runs: u32) -> Option<Uuid> {
    store
        .claim_with(worker, LEASE, limits(max_concurrent_runs))
        .await
        .unwrap()
        .map(|claim| claim.run.org_id)
}

fn completed() -> RunOutcome {
    RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 0.1,
        webhook_payload: None,
        quality: None,
        changes_payload: None,
        keep_runs: None,
    }
}

/// Organization A has a thousand runs queued and is being served; B queues one run later. The
/// very next claim takes B's run, although 997 of A's are older.
async fn a_waiting_organization_is_served_before_a_busy_one(db: &TestDb) {
    let store = &db.store;
    let a = org(store, "busy").await;
    let b = org(store, "waiting").await;
    enqueue(store, &a, 1000).await;
    for w in 0..3 {
        assert_eq!(
            claim_org(store, &format!("w{w}"), 100).await,
            Some(a.id),
            "only A has work"
        );
    }
    let b_run = enqueue(store, &b, 1).await[0];
    let next = store
        .claim_with("w3", LEASE, limits(100))
        .await
        .unwrap()
        .expect("a run");
    assert_eq!(
        next.run.result_id, b_run,
        "B's run is next, before A's older ones"
    );
    assert_eq!(next.run.attempts, 1);
    assert_eq!(
        claim_org(store, "w4", 100).await,
        Some(a.id),
        "then A again"
    );
    assert_eq!(
        store.queue_depth().await.unwrap(),
        996,
        "A's other runs still queued"
    );
}

/// Three organizations with work: claims go round, each organization's runs oldest first,
/// whatever the order the runs were queued in.
async fn organizations_take_turns(db: &TestDb) {
    let store = &db.store;
    let a = org(store, "a").await;
    let b = org(store, "b").await;
    let c = org(store, "c").await;
    // A's runs are all older than B's, B's than C's.
    let a_runs = enqueue(store, &a, 4).await;
    let b_runs = enqueue(store, &b, 4).await;
    let c_runs = enqueue(store, &c, 4).await;
    let mut order = Vec::new();
    for w in 0..12 {
        let claim = store
            .claim_with(&format!("w{w}"), LEASE, limits(100))
            .await
            .unwrap()
            .expect("a run");
        order.push(claim.run.result_id);
    }
    assert!(
        store
            .claim_with("idle", LEASE, limits(100))
            .await
            .unwrap()
            .is_none()
    );
    // Never-served organizations go first by their oldest run, then turns repeat.
    let mut expected = Vec::new();
    for i in 0..4 {
        expected.extend([a_runs[i], b_runs[i], c_runs[i]]);
    }
    assert_eq!(order, expected);
}

/// An organization with as many runs leased as its limit is passed over until one ends; its
/// own limit wins over the instance default.
async fn the_concurrent_run_limit_holds_at_claim_time(db: &TestDb) {
    let store = &db.store;
    let a = org(store, "limited").await;
    let b = org(store, "own-limit").await;
    enqueue(store, &a, 5).await;
    enqueue(store, &b, 5).await;
    store
        .set_org_quotas(
            b.id,
            &grandma_store::OrgQuotas {
                max_concurrent_runs: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut claimed: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
    for w in 0..10 {
        if let Some(claim) = store
            .claim_with(&format!("w{w}"), LEASE, limits(2))
            .await
            .unwrap()
        {
            claimed
                .entry(claim.run.org_id)
                .or_default()
                .push(claim.run.result_id);
        }
    }
    assert_eq!(claimed[&a.id].len(), 2, "A: the instance default of 2");
    assert_eq!(claimed[&b.id].len(), 1, "B: its own limit of 1");
    assert_eq!(store.queue_depth().await.unwrap(), 7);

    // A run of A ends: A has a free slot again, B still none.
    store
        .finish_run(claimed[&a.id][0], "w0", &completed())
        .await
        .unwrap();
    assert_eq!(claim_org(store, "w10", 2).await, Some(a.id));
    assert_eq!(claim_org(store, "w11", 2).await, None);
    // A higher instance default lets A go on; B keeps its own limit.
    assert_eq!(claim_org(store, "w12", 3).await, Some(a.id));
    assert_eq!(claim_org(store, "w13", 3).await, None);
}

/// A run whose worker died is taken over (attempts + 1) when its lease expires: a dead lease
/// does not count against the limit, and the run goes before the organization's newer runs.
async fn a_dead_workers_run_is_taken_over_within_the_limit(db: &TestDb) {
    let store = &db.store;
    let a = org(store, "takeover").await;
    let runs = enqueue(store, &a, 3).await;
    let alive = store
        .claim_with("alive", LEASE, limits(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(alive.run.result_id, runs[0]);
    let dead = store
        .claim_with("dead", Duration::from_millis(1), limits(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(dead.run.result_id, runs[1]);
    tokio::time::sleep(Duration::from_millis(20)).await;
    // Two running, one with an expired lease: one slot is free, and the dead run goes before
    // the newer pending one.
    let taken = store
        .claim_with("heir", LEASE, limits(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.run.result_id, runs[1]);
    assert_eq!(taken.run.attempts, 2);
    assert_eq!(taken.run.lease_owner.as_deref(), Some("heir"));
    assert!(!taken.exhausted);
    assert!(
        store
            .claim_with("late", LEASE, limits(2))
            .await
            .unwrap()
            .is_none(),
        "two leased: the limit"
    );
    // The dead worker cannot write to the run any more.
    assert!(store.heartbeat_run(runs[1], "dead", LEASE).await.is_err());
}

/// Five organizations, three stores (as three processes) with four claimers each, all racing:
/// each organization gets exactly its limit, no run is claimed twice; without the limit the
/// rest is claimed once each.
async fn many_claimers_never_share_a_run_or_exceed_a_limit(db: &TestDb) {
    const ORGS: usize = 5;
    const RUNS: usize = 20;
    const LIMIT: u32 = 3;
    let store = &db.store;
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        let o = org(store, &format!("race{i}")).await;
        enqueue(store, &o, RUNS).await;
        orgs.push(o.id);
    }
    let mut stores = vec![store.clone()];
    for _ in 0..2 {
        stores.push(db.another_store().await);
    }
    let race = |limit: u32| {
        let mut tasks = Vec::new();
        for (p, s) in stores.iter().enumerate() {
            for t in 0..4 {
                let s = s.clone();
                let worker = format!("worker-{p}-{t}");
                tasks.push(tokio::spawn(async move {
                    let mut mine = Vec::new();
                    while let Some(claim) =
                        s.claim_with(&worker, LEASE, limits(limit)).await.unwrap()
                    {
                        assert_eq!(claim.run.lease_owner.as_deref(), Some(worker.as_str()));
                        mine.push((claim.run.result_id, claim.run.org_id));
                    }
                    mine
                }));
            }
        }
        tasks
    };
    let mut runs: HashMap<Uuid, usize> = HashMap::new();
    let mut per_org: HashMap<Uuid, usize> = HashMap::new();
    let mut busy = 0;
    for task in race(LIMIT) {
        let mine = task.await.unwrap();
        busy += usize::from(!mine.is_empty());
        for (run, org) in mine {
            *runs.entry(run).or_default() += 1;
            *per_org.entry(org).or_default() += 1;
        }
    }
    assert!(busy > 1, "the claimers really competed");
    assert!(runs.values().all(|&n| n == 1), "no run claimed twice");
    for o in &orgs {
        assert_eq!(per_org.get(o), Some(&(LIMIT as usize)), "org {o}");
    }
    for task in race(u32::MAX) {
        for (run, _) in task.await.unwrap() {
            *runs.entry(run).or_default() += 1;
        }
    }
    assert_eq!(runs.len(), ORGS * RUNS, "every run claimed");
    assert!(runs.values().all(|&n| n == 1), "no run claimed twice");
    assert_eq!(store.queue_depth().await.unwrap(), 0);
    for s in &stores[1..] {
        s.close().await;
    }
}
