//! Schedules: next-run arithmetic across daylight-saving changes, and the scheduler firing
//! against SQLite and PostgreSQL with an injected clock.

mod common;

use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;
use grandma_shared::cron::{CronSchedule, CronSpecError};
use grandma_store::{
    FireOutcome, JobIn, OverlapPolicy, RunFilter, RunStatus, Schedule, ScheduleIn, Scope, Store,
    User,
};
use grandma_worker::scheduler::{Clock, Scheduler, SchedulerConfig, following_run};

use common::{TestDb, owner};

both_backends!(
    a_due_schedule_fires_once_and_moves_on,
    missed_ticks_after_downtime_fire_once,
    overlap_skip_and_queue,
);

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn local(tz: &str, y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    let tz: Tz = tz.parse().unwrap();
    tz.with_ymd_and_hms(y, m, d, h, mi, 0)
        .earliest()
        .unwrap()
        .with_timezone(&Utc)
}

fn next_n(expr: &str, tz: &str, after: DateTime<Utc>, n: usize) -> Vec<DateTime<Utc>> {
    CronSchedule::parse(expr, tz).unwrap().upcoming(after, n)
}

#[test]
fn berlin_spring_forward_gap_runs_right_after_the_gap() {
    // 2025-03-30: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that day.
    let after = local("Europe/Berlin", 2025, 3, 29, 12, 0);
    assert_eq!(
        next_n("30 2 * * *", "Europe/Berlin", after, 3),
        [
            utc("2025-03-30T01:00:00Z"), // 03:00 CEST, the first instant after the gap
            utc("2025-03-31T00:30:00Z"), // 02:30 CEST
            utc("2025-04-01T00:30:00Z"),
        ]
    );
    // A time outside the gap just moves by an hour in UTC.
    assert_eq!(
        next_n("0 9 * * *", "Europe/Berlin", after, 2),
        [utc("2025-03-30T07:00:00Z"), utc("2025-03-31T07:00:00Z")]
    );
}

#[test]
fn berlin_fall_back_overlap_runs_once() {
    // 2025-10-26: 03:00 CEST falls back to 02:00 CET; 02:30 happens twice.
    let after = local("Europe/Berlin", 2025, 10, 25, 12, 0);
    assert_eq!(
        next_n("30 2 * * *", "Europe/Berlin", after, 3),
        [
            utc("2025-10-26T00:30:00Z"), // 02:30 CEST, the first copy
            utc("2025-10-27T01:30:00Z"), // next day 02:30 CET; not 01:30Z on the 26th
            utc("2025-10-28T01:30:00Z"),
        ]
    );
}

#[test]
fn new_york_gap_and_overlap() {
    // 2025-03-09: 02:00 EST jumps to 03:00 EDT.
    let after = local("America/New_York", 2025, 3, 8, 12, 0);
    assert_eq!(
        next_n("30 2 * * *", "America/New_York", after, 2),
        [utc("2025-03-09T07:00:00Z"), utc("2025-03-10T06:30:00Z")]
    );
    // 2025-11-02: 02:00 EDT falls back to 01:00 EST; 01:30 happens twice.
    let after = local("America/New_York", 2025, 11, 1, 12, 0);
    assert_eq!(
        next_n("30 1 * * *", "America/New_York", after, 2),
        [utc("2025-11-02T05:30:00Z"), utc("2025-11-03T06:30:00Z")]
    );
    // Business hours keep their local time across the change.
    let after = local("America/New_York", 2025, 10, 31, 12, 0);
    assert_eq!(
        next_n("0 9 * * 1-5", "America/New_York", after, 2),
        [utc("2025-11-03T14:00:00Z"), utc("2025-11-04T14:00:00Z")]
    );
}

#[test]
fn expressions_and_zones_are_validated() {
    for (expr, tz) in [
        ("* * * *", "UTC"),
        ("0 0 * * * *", "UTC"),
        ("61 * * * *", "UTC"),
        ("0 25 * * *", "UTC"),
        ("0 0 * * *", "Europe/Atlantis"),
        ("0 0 31 2 *", "UTC"),
    ] {
        let err = CronSchedule::parse(expr, tz).unwrap_err();
        assert!(!err.to_string().is_empty(), "{expr} {tz}");
    }
    assert!(matches!(
        CronSchedule::parse("0 0 31 2 *", "UTC"),
        Err(CronSpecError::Never)
    ));
}

#[test]
fn occurrences_are_whole_minutes_whatever_the_start() {
    let every = CronSchedule::parse("* * * * *", "UTC").unwrap();
    assert_eq!(
        every.next_after(utc("2030-01-01T10:00:00.789Z")),
        Some(utc("2030-01-01T10:01:00Z"))
    );
    assert_eq!(
        every.next_after(utc("2030-01-01T10:00:00Z")),
        Some(utc("2030-01-01T10:01:00Z"))
    );
}

/// A clock the test moves by hand.
fn manual_clock(start: DateTime<Utc>) -> (Clock, Arc<Mutex<DateTime<Utc>>>) {
    let now = Arc::new(Mutex::new(start));
    let read = Arc::clone(&now);
    (Arc::new(move || *read.lock().unwrap()), now)
}

async fn job_and_schedule(
    store: &Store,
    user: &User,
    expr: &str,
    next_run: DateTime<Utc>,
    policy: OverlapPolicy,
) -> Schedule {
    let job = store
        .create_job(
            user.user_id,
            &JobIn {
                name: "scheduled".into(),
                description: None,
                config: common::job_config("http://127.0.0.1:9/"),
                enabled: true,
            },
        )
        .await
        .unwrap();
    store
        .create_schedule(
            Scope::member(user.user_id),
            job.job_id,
            &ScheduleIn {
                cron_expression: expr.into(),
                timezone: "UTC".into(),
                enabled: true,
                next_run: Some(next_run),
                overlap_policy: policy,
            },
        )
        .await
        .unwrap()
}

async fn runs_of(store: &Store, schedule: &Schedule) -> Vec<grandma_store::ResultRow> {
    store
        .list_runs(
            Scope::all(),
            &RunFilter {
                job_id: Some(schedule.job_id),
                ..Default::default()
            },
            grandma_store::Paging::new(100, 0),
        )
        .await
        .unwrap()
        .items
}

fn enqueued(outcomes: &[(grandma_store::Uuid, FireOutcome)]) -> usize {
    outcomes
        .iter()
        .filter(|(_, o)| matches!(o, FireOutcome::Enqueued(_)))
        .count()
}

async fn a_due_schedule_fires_once_and_moves_on(db: &TestDb) {
    let user = owner(&db.store).await;
    let t0 = utc("2030-01-01T10:00:00Z");
    let schedule =
        job_and_schedule(&db.store, &user, "*/5 * * * *", t0, OverlapPolicy::Queue).await;
    let (clock, now) = manual_clock(utc("2030-01-01T09:59:00Z"));
    // Two schedulers on two pools, like two servers.
    let one =
        Scheduler::new(db.store.clone(), SchedulerConfig::default()).with_clock(clock.clone());
    let other = Scheduler::new(db.another_store().await, SchedulerConfig::default())
        .with_clock(clock.clone());

    assert!(one.tick().await.unwrap().is_empty(), "not due yet");
    *now.lock().unwrap() = utc("2030-01-01T10:00:01Z");
    let mut total = 0;
    for _ in 0..5 {
        let (a, b) = tokio::join!(one.tick(), other.tick());
        total += enqueued(&a.unwrap()) + enqueued(&b.unwrap());
    }
    assert_eq!(total, 1, "one tick, one run");
    let after = db
        .store
        .get_schedule(Scope::all(), schedule.schedule_id)
        .await
        .unwrap();
    assert_eq!(after.next_run, Some(utc("2030-01-01T10:05:00Z")));
    assert!(after.last_run.is_some());
    assert_eq!(runs_of(&db.store, &schedule).await.len(), 1);

    *now.lock().unwrap() = utc("2030-01-01T10:05:00Z");
    let (a, b) = tokio::join!(one.tick(), other.tick());
    assert_eq!(enqueued(&a.unwrap()) + enqueued(&b.unwrap()), 1);
    assert_eq!(runs_of(&db.store, &schedule).await.len(), 2);
}

async fn missed_ticks_after_downtime_fire_once(db: &TestDb) {
    let user = owner(&db.store).await;
    let schedule = job_and_schedule(
        &db.store,
        &user,
        "0 * * * *",
        utc("2030-01-01T10:00:00Z"),
        OverlapPolicy::Queue,
    )
    .await;
    // Down from 09:30 to 15:20: the 10:00 … 15:00 ticks were missed.
    let (clock, _now) = manual_clock(utc("2030-01-01T15:20:00Z"));
    let scheduler = Scheduler::new(db.store.clone(), SchedulerConfig::default()).with_clock(clock);
    assert_eq!(enqueued(&scheduler.tick().await.unwrap()), 1);
    assert_eq!(enqueued(&scheduler.tick().await.unwrap()), 0);
    let after = db
        .store
        .get_schedule(Scope::all(), schedule.schedule_id)
        .await
        .unwrap();
    assert_eq!(after.next_run, Some(utc("2030-01-01T16:00:00Z")));
    assert_eq!(runs_of(&db.store, &schedule).await.len(), 1);
    assert_eq!(
        following_run(&after, utc("2030-01-01T16:00:00Z")).unwrap(),
        Some(utc("2030-01-01T17:00:00Z"))
    );
}

async fn overlap_skip_and_queue(db: &TestDb) {
    let user = owner(&db.store).await;
    let t0 = utc("2030-01-01T10:00:00Z");
    let skip = job_and_schedule(&db.store, &user, "* * * * *", t0, OverlapPolicy::Skip).await;
    let queue = job_and_schedule(&db.store, &user, "* * * * *", t0, OverlapPolicy::Queue).await;
    let (clock, now) = manual_clock(t0);
    let scheduler = Scheduler::new(db.store.clone(), SchedulerConfig::default()).with_clock(clock);
    assert_eq!(enqueued(&scheduler.tick().await.unwrap()), 2);

    // The first runs are still pending (no worker here) at the next tick.
    *now.lock().unwrap() = utc("2030-01-01T10:01:00Z");
    let outcomes = scheduler.tick().await.unwrap();
    let of = |id| {
        outcomes
            .iter()
            .find(|(s, _)| *s == id)
            .map(|(_, o)| o.clone())
            .unwrap()
    };
    assert_eq!(of(skip.schedule_id), FireOutcome::SkippedOverlap);
    assert!(matches!(of(queue.schedule_id), FireOutcome::Enqueued(_)));
    assert_eq!(runs_of(&db.store, &skip).await.len(), 1);
    assert_eq!(runs_of(&db.store, &queue).await.len(), 2);
    let runs = runs_of(&db.store, &skip).await;
    assert!(runs.iter().all(|r| r.status == RunStatus::Pending));
    // Skipping still advances the schedule.
    let after = db
        .store
        .get_schedule(Scope::all(), skip.schedule_id)
        .await
        .unwrap();
    assert_eq!(after.next_run, Some(utc("2030-01-01T10:02:00Z")));
}
