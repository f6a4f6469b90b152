//! Webhook dispatcher figures against a local receiver (axum on 127.0.0.1, answers 200):
//!
//! 1. throughput: N deliveries queued at once, one dispatcher with the default settings
//!    (batch 32, 8 in flight, 250 ms poll), deliveries per second until all arrived;
//! 2. latency: M runs finished one at a time with `Store::finish_run` (the outbox row is
//!    written with the final status), each at a random moment relative to the dispatcher's
//!    poll; the time from the `finish_run` call to the webhook's arrival at the receiver.
//!    Measured twice: with the poll alone, then with the run's completion event published as
//!    a worker does (through PostgreSQL `NOTIFY` on PostgreSQL), which wakes the dispatcher.
//!
//! ```text
//! cargo run --release -p grandma-worker --example webhook_bench -- [N] [M] [DATABASE_URL]
//! ```
//! Defaults: N = 2000, M = 40, a temporary SQLite file. For PostgreSQL pass an empty database
//! URL (it is migrated).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use grandma_engine::guard::NetworkGuard;
use grandma_store::{
    JobIn, NewDelivery, NewUser, PubSub, Role, RunEvent, RunOutcome, RunStatus, Scope, Secret,
    Store, WebhookEvent, WebhookIn,
};
use grandma_worker::background::wake_on_outbox_events;
use grandma_worker::dispatcher::{Dispatcher, DispatcherConfig, run_dispatcher};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

type Arrivals = Arc<Mutex<Vec<Instant>>>;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let n: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let m: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(40);
    let dir = tempfile::tempdir().unwrap();
    let url = args.get(2).cloned().unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("bench.db").display()
        )
    });
    let store = Store::connect(&url).await.expect("database");
    store.migrate_to_head().await.expect("migrate");

    let arrivals: Arrivals = Arc::default();
    let log = Arc::clone(&arrivals);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |_body: axum::body::Bytes| {
            let log = Arc::clone(&log);
            async move {
                log.lock().unwrap().push(Instant::now());
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let user = store
        .create_user(&NewUser {
            email: grandma_store::Email::parse("bench@example.com").unwrap(),
            password_hash: "x".into(),
            role: Role::User,
            is_active: true,
        })
        .await
        .unwrap();
    let webhook = store
        .create_webhook(
            user.user_id,
            &WebhookIn {
                name: "bench".into(),
                url: hook_url,
                enabled: true,
                events: vec![WebhookEvent::JobCompleted],
                job_id: None,
                secret: Some(Secret::from("bench-secret")),
                headers: BTreeMap::new(),
                retry_on_failure: true,
                max_retries: 3,
            },
        )
        .await
        .unwrap();

    let guard = NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().unwrap()]);
    let config = DispatcherConfig::new("bench-dispatcher", guard);
    println!(
        "backend {:?}; dispatcher: batch {}, {} in flight, poll {} ms",
        store.backend(),
        config.batch,
        config.concurrency,
        config.poll_interval.as_millis()
    );
    let shutdown = CancellationToken::new();
    let dispatcher = Dispatcher::new(store.clone(), config).unwrap();
    let wakeup = Arc::new(Notify::new());
    let task = tokio::spawn(run_dispatcher(
        dispatcher,
        Arc::clone(&wakeup),
        shutdown.clone(),
    ));
    let pubsub = PubSub::start(&store, Arc::new(Notify::new()));
    tokio::spawn(wake_on_outbox_events(
        pubsub.subscribe(),
        wakeup,
        shutdown.clone(),
    ));

    // 1. Throughput.
    for i in 0..n {
        store
            .create_delivery(&NewDelivery {
                webhook_id: webhook.webhook_id,
                result_id: None,
                event_type: WebhookEvent::JobCompleted,
                payload: serde_json::json!({"event": "job.completed", "n": i}),
            })
            .await
            .unwrap();
    }
    let started = Instant::now();
    wait_for(&arrivals, n).await;
    let elapsed = started.elapsed();
    println!(
        "throughput: {n} deliveries in {:.2} s = {:.0} deliveries/s",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64()
    );

    // 2. Latency from finish_run to arrival.
    let job = store
        .create_job(
            user.user_id,
            &JobIn {
                name: "bench".into(),
                description: None,
                config: serde_json::json!({"name": "bench"}),
                enabled: true,
            },
        )
        .await
        .unwrap();
    for woken in [false, true] {
        let mut samples = Vec::with_capacity(m);
        for i in 0..m {
            let queued = store
                .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
                .await
                .unwrap();
            let run = store
                .claim_next("bench-worker", Duration::from_secs(60))
                .await
                .unwrap()
                .expect("the run just queued");
            assert_eq!(run.result_id, queued.result_id);
            tokio::time::sleep(Duration::from_millis(rand::random_range(0..300))).await;
            let before = arrivals.lock().unwrap().len();
            let t0 = Instant::now();
            let outcome = RunOutcome {
                status: RunStatus::Completed,
                error_message: None,
                error_details: None,
                warnings: Vec::new(),
                duration_seconds: 1.0,
                webhook_payload: Some(serde_json::json!({"event": "job.completed", "sample": i})),
                quality: None,
                changes_payload: None,
                keep_runs: None,
            };
            let row = store
                .finish_run(run.result_id, "bench-worker", &outcome)
                .await
                .unwrap();
            if woken {
                pubsub.publish(RunEvent::snapshot(&row));
            }
            wait_for(&arrivals, before + 1).await;
            let arrived = arrivals.lock().unwrap()[before];
            samples.push(arrived - t0);
        }
        samples.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "latency finish_run -> arrival over {m} runs ({}): median {:.1} ms, min {:.1} ms, p90 {:.1} ms, max {:.1} ms",
            if woken {
                "woken by the completion event"
            } else {
                "poll only"
            },
            ms(samples[m / 2]),
            ms(samples[0]),
            ms(samples[(m * 9 / 10).min(m - 1)]),
            ms(samples[m - 1])
        );
    }

    shutdown.cancel();
    task.await.unwrap();
    store.close().await;
}

async fn wait_for(arrivals: &Arrivals, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(300);
    while arrivals.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "deliveries did not arrive");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
