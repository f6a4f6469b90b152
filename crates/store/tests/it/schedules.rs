use chrono::{Duration as TimeDelta, Utc};
use grandma_store::{
    FireOutcome, JobIn, OverlapPolicy, Paging, Role, RunStatus, ScheduleIn, Scope, StoreError,
};

use crate::common::{TestDb, job_in, user};

store_test!(
    schedules_crud_and_firing,
    schedules_written_only_if_unchanged
);

fn schedule_in(next_run: chrono::DateTime<Utc>) -> ScheduleIn {
    ScheduleIn {
        cron_expression: "0 7 * * *".into(),
        timezone: "Europe/Paris".into(),
        enabled: true,
        next_run: Some(next_run),
        overlap_policy: OverlapPolicy::Skip,
    }
}

async fn schedules_crud_and_firing(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "s@example.com", Role::User).await;
    let bob = user(store, "t@example.com", Role::User).await;
    let (a, b) = (Scope::member(alice.user_id), Scope::member(bob.user_id));
    let job = store
        .create_job(alice.user_id, &job_in("s", &["a"]))
        .await
        .unwrap();
    let past = grandma_store::now() - TimeDelta::minutes(5);
    let future = grandma_store::now() + TimeDelta::hours(1);

    assert!(matches!(
        store
            .create_schedule(b, job.job_id, &schedule_in(past))
            .await,
        Err(StoreError::NotFound)
    ));
    let due = store
        .create_schedule(a, job.job_id, &schedule_in(past))
        .await
        .unwrap();
    assert_eq!((due.owner_id, due.job_id), (alice.user_id, job.job_id));
    assert_eq!(due.next_run, Some(past));
    assert_eq!(due.timezone, "Europe/Paris");
    let later = store
        .create_schedule(a, job.job_id, &schedule_in(future))
        .await
        .unwrap();
    let mut off = schedule_in(past);
    off.enabled = false;
    let disabled = store.create_schedule(a, job.job_id, &off).await.unwrap();

    assert_eq!(store.get_schedule(a, due.schedule_id).await.unwrap(), due);
    assert!(matches!(
        store.get_schedule(b, due.schedule_id).await,
        Err(StoreError::NotFound)
    ));
    let listed = store
        .list_schedules(a, Some(job.job_id), Paging::default())
        .await
        .unwrap();
    assert_eq!(listed.total, 3);
    assert_eq!(
        store
            .list_schedules(b, None, Paging::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .list_schedules(Scope::all(), None, Paging::default())
            .await
            .unwrap()
            .total,
        3
    );

    let due_now = store.due_schedules(Utc::now(), 10).await.unwrap();
    assert_eq!(
        due_now.iter().map(|s| s.schedule_id).collect::<Vec<_>>(),
        vec![due.schedule_id]
    );
    assert!(
        due_now
            .iter()
            .all(|s| s.schedule_id != disabled.schedule_id && s.schedule_id != later.schedule_id)
    );

    // Five schedulers see the same due occurrence; exactly one fires it.
    let next = past + TimeDelta::days(1);
    let following = Some(next);
    let mut tasks = Vec::new();
    for _ in 0..5 {
        let s = store.clone();
        let id = due.schedule_id;
        tasks.push(tokio::spawn(async move {
            s.fire_schedule(id, past, following).await.unwrap()
        }));
    }
    let mut enqueued = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            FireOutcome::Enqueued(run) => enqueued.push(run),
            FireOutcome::AlreadyFired => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(enqueued.len(), 1, "fired once");
    assert_eq!(enqueued[0].status, RunStatus::Pending);
    assert_eq!(enqueued[0].columns, vec!["a"]);
    let moved = store.get_schedule(a, due.schedule_id).await.unwrap();
    assert_eq!(moved.next_run, following);
    assert!(moved.last_run.is_some());

    // The next occurrence, with the first run still pending: `skip` skips but moves on.
    let after_next = Some(next + TimeDelta::days(1));
    assert_eq!(
        store
            .fire_schedule(due.schedule_id, next, after_next)
            .await
            .unwrap(),
        FireOutcome::SkippedOverlap
    );
    assert_eq!(
        store
            .get_schedule(a, due.schedule_id)
            .await
            .unwrap()
            .next_run,
        after_next
    );
    // `queue` queues anyway.
    let mut queueing = schedule_in(past);
    queueing.overlap_policy = OverlapPolicy::Queue;
    let queueing = store
        .update_schedule(a, due.schedule_id, &queueing)
        .await
        .unwrap();
    assert_eq!(queueing.overlap_policy, OverlapPolicy::Queue);
    assert!(matches!(
        store
            .fire_schedule(due.schedule_id, past, None)
            .await
            .unwrap(),
        FireOutcome::Enqueued(_)
    ));
    assert_eq!(store.queue_depth().await.unwrap(), 2);
    assert_eq!(
        store
            .get_schedule(a, due.schedule_id)
            .await
            .unwrap()
            .next_run,
        None
    );
    assert!(
        store
            .due_schedules(Utc::now(), 10)
            .await
            .unwrap()
            .is_empty()
    );

    // A disabled job is not run; its schedule moves on.
    store
        .update_job(
            a,
            job.job_id,
            &JobIn {
                enabled: false,
                ..job_in("s", &["a"])
            },
        )
        .await
        .unwrap();
    store
        .update_schedule(a, due.schedule_id, &queueing_at(past))
        .await
        .unwrap();
    assert_eq!(
        store
            .fire_schedule(due.schedule_id, past, following)
            .await
            .unwrap(),
        FireOutcome::SkippedDisabledJob
    );
    // A disabled schedule never fires.
    assert_eq!(
        store
            .fire_schedule(disabled.schedule_id, past, following)
            .await
            .unwrap(),
        FireOutcome::AlreadyFired
    );

    assert!(matches!(
        store
            .update_schedule(b, due.schedule_id, &schedule_in(past))
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_schedule(b, due.schedule_id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_schedule(a, due.schedule_id).await.unwrap();
    // Schedules go with their job.
    store.delete_job(a, job.job_id).await.unwrap();
    assert_eq!(
        store
            .list_schedules(Scope::all(), None, Paging::default())
            .await
            .unwrap()
            .total,
        0
    );
}

fn queueing_at(next_run: chrono::DateTime<Utc>) -> ScheduleIn {
    ScheduleIn {
        overlap_policy: OverlapPolicy::Queue,
        ..schedule_in(next_run)
    }
}

/// A conditional write or delete lands only on the version it names; a firing is a new
/// version, so a change based on the schedule as it was before the firing writes nothing.
async fn schedules_written_only_if_unchanged(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "cas@example.com", Role::User).await;
    let bob = user(store, "other@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let job = store
        .create_job(alice.user_id, &job_in("s", &["a"]))
        .await
        .unwrap();
    let past = grandma_store::now() - TimeDelta::minutes(5);
    let read = store
        .create_schedule(a, job.job_id, &schedule_in(past))
        .await
        .unwrap();
    assert_eq!(
        store
            .get_schedule(a, read.schedule_id)
            .await
            .unwrap()
            .updated_at,
        read.updated_at,
        "stored times round-trip exactly"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;

    // The scheduler fires it: whoever read it before holds an old version now.
    let following = grandma_store::now() + TimeDelta::hours(1);
    assert!(matches!(
        store
            .fire_schedule(read.schedule_id, past, Some(following))
            .await
            .unwrap(),
        FireOutcome::Enqueued(_)
    ));
    let fired = store.get_schedule(a, read.schedule_id).await.unwrap();
    assert_ne!(fired.updated_at, read.updated_at);
    let mut change = schedule_in(past);
    change.cron_expression = "0 8 * * *".into();
    assert!(
        store
            .update_schedule_if(a, read.schedule_id, &change, Some(read.updated_at))
            .await
            .unwrap()
            .is_none(),
        "a stale version writes nothing"
    );
    assert_eq!(
        store.get_schedule(a, read.schedule_id).await.unwrap(),
        fired,
        "the firing's next run survives"
    );
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let changed = store
        .update_schedule_if(a, read.schedule_id, &change, Some(fired.updated_at))
        .await
        .unwrap()
        .expect("the version read is current");
    assert_eq!(changed.cron_expression, "0 8 * * *");
    assert_ne!(changed.updated_at, fired.updated_at);
    // Another user's schedule is not found whatever the version.
    assert!(
        store
            .update_schedule_if(
                Scope::member(bob.user_id),
                read.schedule_id,
                &change,
                Some(changed.updated_at)
            )
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .delete_schedule_if(
                Scope::member(bob.user_id),
                read.schedule_id,
                Some(changed.updated_at)
            )
            .await
            .unwrap(),
        0
    );
    // Without a version the write is unconditional, as before.
    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    let plain = store
        .update_schedule_if(a, read.schedule_id, &schedule_in(past), None)
        .await
        .unwrap()
        .expect("unconditional");

    assert_eq!(
        store
            .delete_schedule_if(a, read.schedule_id, Some(changed.updated_at))
            .await
            .unwrap(),
        0,
        "a stale delete deletes nothing"
    );
    assert_eq!(
        store
            .delete_schedule_if(a, read.schedule_id, Some(plain.updated_at))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.get_schedule(a, read.schedule_id).await,
        Err(StoreError::NotFound)
    ));
}
