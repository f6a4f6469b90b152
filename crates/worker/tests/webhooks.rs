//! Webhook delivery end to end: a real HTTP receiver on 127.0.0.1 records every request; the
//! dispatcher runs against SQLite and PostgreSQL.

mod common;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use grandma_engine::fetch::retry::Backoff;
use grandma_engine::guard::NetworkGuard;
use grandma_store::{
    Delivery, DeliveryStatus, NewDelivery, Scope, Secret, Store, User, Uuid, Webhook, WebhookEvent,
    WebhookIn,
};
use grandma_worker::dispatcher::{Dispatcher, DispatcherConfig, run_dispatcher};
use hmac::{KeyInit, Mac};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use common::{Fixture, Pool, TestDb, job_config, owner, queue_run, test_config, wait_for};

both_backends!(
    a_finished_run_is_announced_signed_with_custom_headers,
    failures_are_retried_with_growing_gaps_until_delivered,
    retry_after_is_honoured_and_the_last_failure_is_final,
    a_failed_delivery_can_be_redelivered_with_the_same_id,
    a_webhook_failing_in_a_row_is_disabled,
    the_guard_refuses_a_private_target_unless_allowed,
    two_dispatchers_never_send_the_same_delivery_twice,
    run_events_wake_the_dispatcher_and_carry_the_request_id,
    job_started_leaves_while_the_run_is_still_crawling,
);

/// The Python check documented for receivers, transcribed: `hmac.new(secret.encode(), payload,
/// hashlib.sha256).hexdigest()` then `hmac.compare_digest(f"sha256={expected}", signature)`.
fn receiver_verify(payload: &[u8], signature: &str, secret: &str) -> bool {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(payload);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    // compare_digest: no early exit on the first difference.
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

/// What the receiver answers, in order, for one path; 200 once the script is used up.
#[derive(Debug, Clone)]
enum Reply {
    Status(u16),
    /// Answers 200 only after this long (longer than the attempt timeout).
    Hang(Duration),
    RetryAfter(u16, u64),
}

#[derive(Debug, Clone)]
struct Received {
    at: Instant,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

#[derive(Clone, Default)]
struct ReceiverState {
    log: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<Reply>>>>,
}

#[derive(Clone)]
struct Receiver {
    base: String,
    state: ReceiverState,
}

impl Receiver {
    async fn start() -> Receiver {
        let state = ReceiverState::default();
        let app = axum::Router::new()
            .route("/{name}", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver { base, state }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    fn script(&self, name: &str, replies: Vec<Reply>) {
        self.state
            .script
            .lock()
            .unwrap()
            .insert(format!("/{name}"), replies.into());
    }

    fn received(&self, name: &str) -> Vec<Received> {
        let path = format!("/{name}");
        let log = self.state.log.lock().unwrap();
        log.iter().filter(|r| r.path == path).cloned().collect()
    }

    async fn wait_for(&self, name: &str, n: usize, within: Duration) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let got = self.received(name);
            if got.len() >= n {
                return got;
            }
            assert!(
                started.elapsed() < within,
                "{name}: {} of {n} requests arrived",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn receive(
    State(state): State<ReceiverState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> axum::response::Response {
    let path = format!("/{name}");
    state.log.lock().unwrap().push(Received {
        at: Instant::now(),
        path: path.clone(),
        headers,
        body,
    });
    let reply = state
        .script
        .lock()
        .unwrap()
        .get_mut(&path)
        .and_then(VecDeque::pop_front);
    match reply {
        None => (StatusCode::OK, "thanks").into_response(),
        Some(Reply::Status(code)) => (StatusCode::from_u16(code).unwrap(), "nope").into_response(),
        Some(Reply::Hang(d)) => {
            tokio::time::sleep(d).await;
            (StatusCode::OK, "late").into_response()
        }
        Some(Reply::RetryAfter(code, secs)) => (
            StatusCode::from_u16(code).unwrap(),
            [("retry-after", secs.to_string())],
            "busy",
        )
            .into_response(),
    }
}

fn localhost_guard() -> NetworkGuard {
    NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().unwrap()])
}

fn dispatcher_config(id: &str) -> DispatcherConfig {
    let mut config = DispatcherConfig::new(id, localhost_guard());
    config.poll_interval = Duration::from_millis(20);
    config.timeout = Duration::from_millis(300);
    config.lease = Duration::from_secs(5);
    config.backoff = Backoff {
        base: Duration::from_millis(200),
        cap: Duration::from_secs(5),
        retry_after_cap: Duration::from_secs(5),
    };
    config
}

struct Running {
    shutdown: CancellationToken,
    handle: tokio::task::JoinHandle<()>,
}

impl Running {
    fn start(store: Store, config: DispatcherConfig) -> Running {
        let shutdown = CancellationToken::new();
        let dispatcher = Dispatcher::new(store, config).unwrap();
        let handle = tokio::spawn(run_dispatcher(
            dispatcher,
            Arc::new(Notify::new()),
            shutdown.clone(),
        ));
        Running { shutdown, handle }
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.handle.await.unwrap();
    }
}

async fn webhook(
    store: &Store,
    user: &User,
    url: &str,
    max_retries: i32,
    headers: BTreeMap<String, String>,
) -> Webhook {
    store
        .create_webhook(
            user.user_id,
            &WebhookIn {
                name: "receiver".into(),
                url: url.into(),
                enabled: true,
                events: vec![
                    WebhookEvent::JobStarted,
                    WebhookEvent::JobCompleted,
                    WebhookEvent::JobFailed,
                ],
                job_id: None,
                secret: Some(Secret::from("s3cret-key")),
                headers,
                retry_on_failure: true,
                max_retries,
            },
        )
        .await
        .unwrap()
}

async fn delivery(store: &Store, webhook: &Webhook, n: usize) -> Delivery {
    store
        .create_delivery(&NewDelivery {
            webhook_id: webhook.webhook_id,
            result_id: None,
            event_type: WebhookEvent::JobCompleted,
            payload: serde_json::json!({"event": "job.completed", "n": n}),
        })
        .await
        .unwrap()
}

async fn wait_delivery(store: &Store, id: Uuid, status: DeliveryStatus) -> Delivery {
    let started = Instant::now();
    loop {
        let d = store.get_delivery(Scope::all(), id).await.unwrap();
        if d.status == status {
            return d;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "delivery never became {status:?}: {d:#?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn header<'a>(r: &'a Received, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

async fn a_finished_run_is_announced_signed_with_custom_headers(db: &TestDb) {
    let site = Fixture::start().await;
    let rx = Receiver::start().await;
    let user = owner(&db.store).await;
    let headers = BTreeMap::from([
        ("X-Custom".to_owned(), "custom value".to_owned()),
        (
            "Authorization".to_owned(),
            "Bearer receiver-token".to_owned(),
        ),
        ("X-Webhook-Id".to_owned(), "forged".to_owned()),
        ("X-Webhook-Signature".to_owned(), "sha256=forged".to_owned()),
        ("Host".to_owned(), "evil.example".to_owned()),
    ]);
    let hook = webhook(&db.store, &user, &rx.url("run"), 3, headers).await;
    let pool = Pool::start(db.store.clone(), test_config("wh-e2e", 1));
    let dispatcher = Running::start(db.store.clone(), dispatcher_config("wh-e2e-d"));
    let run = queue_run(&db.store, &user, job_config(&site.url("/site/page-1.html"))).await;
    pool.wakeup.notify_one();
    let done = wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await;

    let got = rx.wait_for("run", 2, Duration::from_secs(20)).await;
    // Both become due in one poll and are sent concurrently, so they may arrive in either
    // order; receivers order them by X-Webhook-Timestamp.
    let mut events: Vec<&str> = got.iter().map(|r| header(r, "x-webhook-event")).collect();
    events.sort_unstable();
    assert_eq!(events, ["job.completed", "job.started"]);
    let completed = got
        .iter()
        .find(|r| header(r, "x-webhook-event") == "job.completed")
        .unwrap();
    let payload: serde_json::Value = serde_json::from_slice(&completed.body).unwrap();
    let expected_fields = [
        "event",
        "timestamp",
        "job_id",
        "result_id",
        "status",
        "items_count",
        "pages_scraped",
        "duration_seconds",
        "job_name",
        "result_url",
    ];
    for field in expected_fields {
        assert!(payload.get(field).is_some(), "{field} missing: {payload}");
    }
    assert_eq!(payload["event"], "job.completed");
    assert_eq!(payload["status"], "completed");
    assert_eq!(payload["job_id"], run.job_id.to_string());
    assert_eq!(payload["result_id"], run.result_id.to_string());
    assert_eq!(payload["items_count"], done.total_items);
    assert_eq!(payload["pages_scraped"], done.pages_scraped);
    assert_eq!(payload["job_name"], "fixture");
    assert!(payload["duration_seconds"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        payload["result_url"],
        format!("/api/v1/results/{}", run.result_id)
    );
    chrono::DateTime::parse_from_rfc3339(payload["timestamp"].as_str().unwrap()).unwrap();

    for r in &got {
        let signature = header(r, "x-webhook-signature");
        assert!(receiver_verify(&r.body, signature, "s3cret-key"));
        assert!(!receiver_verify(&r.body, signature, "other-key"));
        assert_eq!(header(r, "x-custom"), "custom value");
        assert_eq!(header(r, "authorization"), "Bearer receiver-token");
        assert_eq!(header(r, "content-type"), "application/json");
        assert_ne!(header(r, "host"), "evil.example");
        let ts: i64 = header(r, "x-webhook-timestamp").parse().unwrap();
        assert!((chrono::Utc::now().timestamp() - ts).abs() < 60);
        assert_eq!(r.headers.get_all("x-webhook-id").iter().count(), 1);
    }
    // The receiver sees a request before the dispatcher records its answer, so the second
    // delivery may still be in flight here.
    let started = Instant::now();
    let deliveries = loop {
        let page = db
            .store
            .list_deliveries(
                Scope::all(),
                hook.webhook_id,
                Some(DeliveryStatus::Delivered),
                grandma_store::Paging::new(10, 0),
            )
            .await
            .unwrap();
        if page.items.len() == 2 || started.elapsed() > Duration::from_secs(10) {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(deliveries.total, 2);
    assert_eq!(deliveries.items.len(), 2);
    let ids: Vec<String> = deliveries
        .items
        .iter()
        .map(|d| d.delivery_id.to_string())
        .collect();
    assert!(ids.contains(&header(completed, "x-webhook-id").to_owned()));
    dispatcher.stop().await;
    pool.stop().await;
}

async fn failures_are_retried_with_growing_gaps_until_delivered(db: &TestDb) {
    let rx = Receiver::start().await;
    rx.script(
        "flaky",
        vec![
            Reply::Status(500),
            Reply::Status(500),
            Reply::Hang(Duration::from_secs(2)),
        ],
    );
    let user = owner(&db.store).await;
    let hook = webhook(&db.store, &user, &rx.url("flaky"), 5, BTreeMap::new()).await;
    let d = delivery(&db.store, &hook, 1).await;
    let dispatcher = Running::start(db.store.clone(), dispatcher_config("wh-retry"));
    let done = wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Delivered).await;
    dispatcher.stop().await;

    assert_eq!(done.attempts, 4);
    assert_eq!(done.response_status, Some(200));
    let got = rx.received("flaky");
    assert_eq!(got.len(), 4);
    let ids: Vec<&str> = got.iter().map(|r| header(r, "x-webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == d.delivery_id.to_string()));
    // Waits after failure n lie in [c/2, c] with c = 200 ms · 2^(n-1); the third gap also
    // holds the 300 ms attempt timeout.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    let ms = |d: Duration| d.as_millis();
    assert!(ms(gaps[0]) >= 100 && ms(gaps[0]) < 600, "{gaps:?}");
    assert!(ms(gaps[1]) >= 200 && ms(gaps[1]) < 900, "{gaps:?}");
    assert!(ms(gaps[2]) >= 700, "{gaps:?}");
    assert!(gaps[1] > gaps[0] / 2 && gaps[2] > gaps[1], "{gaps:?}");

    let attempts = db
        .store
        .list_attempts(Scope::all(), d.delivery_id)
        .await
        .unwrap();
    let statuses: Vec<Option<i32>> = attempts.iter().map(|a| a.response_status).collect();
    assert_eq!(statuses, [Some(500), Some(500), None, Some(200)]);
    assert!(attempts[2].error.as_deref().unwrap().contains("timed out"));
}

async fn retry_after_is_honoured_and_the_last_failure_is_final(db: &TestDb) {
    let rx = Receiver::start().await;
    rx.script(
        "busy",
        vec![
            Reply::RetryAfter(503, 1),
            Reply::Status(500),
            Reply::Status(500),
        ],
    );
    let user = owner(&db.store).await;
    let hook = webhook(&db.store, &user, &rx.url("busy"), 2, BTreeMap::new()).await;
    let d = delivery(&db.store, &hook, 1).await;
    let mut config = dispatcher_config("wh-ra");
    config.backoff.base = Duration::from_millis(20);
    let dispatcher = Running::start(db.store.clone(), config);
    let done = wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Failed).await;
    dispatcher.stop().await;

    assert_eq!(done.attempts, 3, "1 attempt + max_retries 2");
    assert_eq!(done.response_status, Some(500));
    assert_eq!(done.response_body.as_deref(), Some("nope"));
    assert_eq!(done.next_retry, None);
    let got = rx.received("busy");
    assert_eq!(got.len(), 3);
    assert!(
        got[1].at - got[0].at >= Duration::from_secs(1),
        "Retry-After"
    );
    let hook = db
        .store
        .get_webhook(Scope::all(), hook.webhook_id)
        .await
        .unwrap();
    assert_eq!(hook.consecutive_failures, 1);
    assert!(hook.enabled);
}

async fn a_failed_delivery_can_be_redelivered_with_the_same_id(db: &TestDb) {
    let rx = Receiver::start().await;
    rx.script("later", vec![Reply::Status(500)]);
    let user = owner(&db.store).await;
    let hook = webhook(&db.store, &user, &rx.url("later"), 0, BTreeMap::new()).await;
    let d = delivery(&db.store, &hook, 1).await;
    let dispatcher = Running::start(db.store.clone(), dispatcher_config("wh-redeliver"));
    wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Failed).await;
    db.store
        .redeliver(Scope::member(user.user_id), d.delivery_id)
        .await
        .unwrap();
    let done = wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Delivered).await;
    dispatcher.stop().await;
    assert_eq!(done.attempts, 2);
    let got = rx.received("later");
    assert_eq!(got.len(), 2);
    assert_eq!(
        header(&got[0], "x-webhook-id"),
        header(&got[1], "x-webhook-id")
    );
    assert_eq!(got[0].body, got[1].body, "the same payload, byte for byte");
}

async fn a_webhook_failing_in_a_row_is_disabled(db: &TestDb) {
    let rx = Receiver::start().await;
    rx.script("down", vec![Reply::Status(500); 10]);
    let user = owner(&db.store).await;
    let hook = webhook(&db.store, &user, &rx.url("down"), 0, BTreeMap::new()).await;
    let mut config = dispatcher_config("wh-disable");
    config.disable_after = 3;
    let dispatcher = Running::start(db.store.clone(), config);
    for n in 0..3 {
        let d = delivery(&db.store, &hook, n).await;
        wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Failed).await;
    }
    let started = Instant::now();
    let hook = loop {
        let h = db
            .store
            .get_webhook(Scope::all(), hook.webhook_id)
            .await
            .unwrap();
        if !h.enabled || started.elapsed() > Duration::from_secs(5) {
            break h;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(!hook.enabled, "{hook:#?}");
    assert!(
        hook.disabled_reason
            .as_deref()
            .unwrap()
            .contains("3 deliveries in a row failed")
    );
    // Deliveries to a disabled webhook are not sent.
    let d = delivery(&db.store, &hook, 9).await;
    let d = wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Failed).await;
    dispatcher.stop().await;
    assert_eq!(rx.received("down").len(), 3);
    let attempts = db
        .store
        .list_attempts(Scope::all(), d.delivery_id)
        .await
        .unwrap();
    assert!(attempts[0].error.as_deref().unwrap().contains("disabled"));
}

async fn the_guard_refuses_a_private_target_unless_allowed(db: &TestDb) {
    let rx = Receiver::start().await;
    let user = owner(&db.store).await;
    let hook = webhook(&db.store, &user, &rx.url("private"), 5, BTreeMap::new()).await;
    let d = delivery(&db.store, &hook, 1).await;
    let mut config = dispatcher_config("wh-guard");
    config.guard = NetworkGuard::strict();
    let dispatcher = Running::start(db.store.clone(), config);
    let refused = wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Failed).await;
    dispatcher.stop().await;
    assert_eq!(refused.attempts, 1, "a refusal is not retried");
    let attempts = db
        .store
        .list_attempts(Scope::all(), d.delivery_id)
        .await
        .unwrap();
    let error = attempts[0].error.clone().unwrap();
    assert!(error.contains("network guard"), "{error}");
    assert!(rx.received("private").is_empty());

    // A name resolving to loopback is refused by the resolver too.
    let by_name = rx.url("private").replace("127.0.0.1", "localhost");
    let client =
        grandma_shared::webhook::WebhookClient::new(NetworkGuard::strict(), Duration::from_secs(2))
            .unwrap();
    let sent = client
        .send(grandma_shared::webhook::Outgoing {
            url: &by_name,
            delivery_id: Uuid::now_v7(),
            event: "ping",
            secret: None,
            headers: &BTreeMap::new(),
            body: b"{}",
            request_id: None,
        })
        .await;
    assert!(sent.refused && sent.status.is_none(), "{sent:?}");

    // With 127.0.0.1/32 allowed by the operator it goes through.
    db.store
        .redeliver(Scope::all(), d.delivery_id)
        .await
        .unwrap();
    let dispatcher = Running::start(db.store.clone(), dispatcher_config("wh-guard-2"));
    wait_delivery(&db.store, d.delivery_id, DeliveryStatus::Delivered).await;
    dispatcher.stop().await;
    assert_eq!(rx.received("private").len(), 1);
}

async fn two_dispatchers_never_send_the_same_delivery_twice(db: &TestDb) {
    let rx = Receiver::start().await;
    let user = owner(&db.store).await;
    let hook = webhook(&db.store, &user, &rx.url("many"), 0, BTreeMap::new()).await;
    const N: usize = 60;
    let mut ids = Vec::new();
    for n in 0..N {
        ids.push(delivery(&db.store, &hook, n).await.delivery_id);
    }
    let mut one = dispatcher_config("wh-one");
    one.batch = 5;
    let mut two = dispatcher_config("wh-two");
    two.batch = 5;
    let a = Running::start(db.store.clone(), one);
    let b = Running::start(db.another_store().await, two);
    let got = rx.wait_for("many", N, Duration::from_secs(30)).await;
    for id in &ids {
        wait_delivery(&db.store, *id, DeliveryStatus::Delivered).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    a.stop().await;
    b.stop().await;
    let got = if got.len() < N {
        got
    } else {
        rx.received("many")
    };
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for r in &got {
        *per_id
            .entry(header(r, "x-webhook-id").to_owned())
            .or_default() += 1;
    }
    assert_eq!(per_id.len(), N);
    assert!(per_id.values().all(|n| *n == 1), "{per_id:?}");
}

/// A worker pool and a dispatcher that polls once an hour, woken only by the run events the
/// workers publish (as `grandma serve` and `grandma worker` wire them; on PostgreSQL through
/// `NOTIFY`).
struct EventDriven {
    pool: Pool,
    shutdown: CancellationToken,
    dispatcher: tokio::task::JoinHandle<()>,
    waker: tokio::task::JoinHandle<()>,
}

impl EventDriven {
    fn start(db: &TestDb, name: &str) -> EventDriven {
        let events = grandma_store::PubSub::start(&db.store, Arc::new(Notify::new()));
        let shutdown = CancellationToken::new();
        let wakeup = Arc::new(Notify::new());
        let mut config = dispatcher_config(&format!("{name}-d"));
        config.poll_interval = Duration::from_secs(3600);
        let dispatcher = tokio::spawn(run_dispatcher(
            Dispatcher::new(db.store.clone(), config).unwrap(),
            Arc::clone(&wakeup),
            shutdown.clone(),
        ));
        let waker = tokio::spawn(grandma_worker::background::wake_on_outbox_events(
            events.subscribe(),
            wakeup,
            shutdown.clone(),
        ));
        let mut worker_config = test_config(&format!("{name}-w"), 1);
        worker_config.events = Some(events);
        let pool = Pool::start(db.store.clone(), worker_config);
        EventDriven {
            pool,
            shutdown,
            dispatcher,
            waker,
        }
    }

    async fn stop(self) {
        self.pool.stop().await;
        self.shutdown.cancel();
        self.dispatcher.await.unwrap();
        self.waker.await.unwrap();
    }
}

/// The dispatcher polls once an hour here, so a delivery arrives only because the run's start
/// and completion events (published as `grandma serve` and `grandma worker` publish them; on
/// PostgreSQL through `NOTIFY`) woke it. The run was queued by a request whose ID every
/// delivery carries.
async fn run_events_wake_the_dispatcher_and_carry_the_request_id(db: &TestDb) {
    let site = Fixture::start().await;
    let rx = Receiver::start().await;
    let user = owner(&db.store).await;
    webhook(&db.store, &user, &rx.url("woken"), 0, BTreeMap::new()).await;

    let woken = EventDriven::start(db, "woken");

    let job = db
        .store
        .create_job(
            user.user_id,
            &grandma_store::JobIn {
                name: "woken".into(),
                description: None,
                config: job_config(&site.url("/site/page-1.html")),
                enabled: true,
            },
        )
        .await
        .unwrap();
    let run = db
        .store
        .enqueue_run(
            Scope::member(user.user_id),
            job.job_id,
            &grandma_store::NewRun {
                request_id: Some("req-from-the-api".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    woken.pool.wakeup.notify_one();
    wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await;
    let got = rx.wait_for("woken", 2, Duration::from_secs(20)).await;
    let mut events_seen: Vec<&str> = got.iter().map(|r| header(r, "x-webhook-event")).collect();
    events_seen.sort_unstable();
    assert_eq!(events_seen, ["job.completed", "job.started"]);
    for r in &got {
        assert_eq!(header(r, "x-request-id"), "req-from-the-api");
    }

    woken.stop().await;
}

/// The start event wakes the dispatcher only once the `job.started` rows are committed: with an
/// hour-long poll, `job.started` still leaves while the run crawls (its second page takes a
/// minute), not when the run ends.
async fn job_started_leaves_while_the_run_is_still_crawling(db: &TestDb) {
    let site = Fixture::start().await;
    let rx = Receiver::start().await;
    let user = owner(&db.store).await;
    webhook(&db.store, &user, &rx.url("started"), 0, BTreeMap::new()).await;

    let woken = EventDriven::start(db, "started");
    let run = queue_run(&db.store, &user, job_config(&site.url("/slow/page-1.html"))).await;
    woken.pool.wakeup.notify_one();

    let got = rx.wait_for("started", 1, Duration::from_secs(10)).await;
    assert_eq!(header(&got[0], "x-webhook-event"), "job.started");
    let body: serde_json::Value = serde_json::from_slice(&got[0].body).unwrap();
    assert_eq!(body["status"], "running");
    assert_eq!(
        body["result_url"],
        format!("/api/v1/results/{}", run.result_id)
    );
    let now = db.store.get_run(Scope::all(), run.result_id).await.unwrap();
    assert_eq!(
        now.status,
        grandma_store::RunStatus::Running,
        "the run is still crawling"
    );

    db.store
        .request_cancel(Scope::all(), run.result_id)
        .await
        .unwrap();
    wait_for(&db.store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await;
    woken.stop().await;
}
