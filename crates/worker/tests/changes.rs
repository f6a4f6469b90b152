//! What changed between runs, end to end: a catalogue on 127.0.0.1 whose products change between
//! two runs of a job (added, removed, repriced, shuffled, a duplicated link), real workers that
//! store and compare the runs, a signed `job.items_changed` webhook checked by a receiver, and
//! the data-quality gates failing and passing. Every test runs on SQLite and on PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Html;
use grandma_engine::guard::NetworkGuard;
use grandma_store::{
    ChangeKind, JobIn, Paging, ResultRow, RunStatus, Scope, Secret, Store, User, Uuid,
    WebhookEvent, WebhookIn,
};
use grandma_worker::dispatcher::{Dispatcher, DispatcherConfig, run_dispatcher};
use hmac::{KeyInit, Mac};
use serde_json::json;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use common::{Pool, TestDb, owner, test_config, wait_for};

both_backends!(
    a_changed_catalogue_gives_exact_counts_fields_and_a_signed_webhook,
    a_run_that_misses_its_gates_fails_in_words_and_keeps_its_items,
    a_run_that_meets_its_gates_completes_with_its_quality_report,
);

/// One product: its name, its page (the link, the default key) and its price.
#[derive(Clone, Debug)]
struct Product {
    name: String,
    slug: String,
    price: Option<String>,
}

fn product(name: &str, slug: &str, price: Option<&str>) -> Product {
    Product {
        name: name.into(),
        slug: slug.into(),
        price: price.map(str::to_owned),
    }
}

/// The catalogue site: `/list-N.html` shows products `[3(N-1), 3N)` of the current catalogue
/// with a next link while more follow.
#[derive(Clone, Default)]
struct Catalogue(Arc<Mutex<Vec<Product>>>);

impl Catalogue {
    async fn start(products: Vec<Product>) -> (Catalogue, String) {
        let catalogue = Catalogue(Arc::new(Mutex::new(products)));
        let app = axum::Router::new()
            .route("/{file}", axum::routing::get(list))
            .with_state(catalogue.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (catalogue, base)
    }

    fn replace(&self, products: Vec<Product>) {
        *self.0.lock().unwrap() = products;
    }
}

async fn list(
    State(catalogue): State<Catalogue>,
    axum::extract::Path(file): axum::extract::Path<String>,
) -> Html<String> {
    let page: usize = file
        .strip_prefix("list-")
        .and_then(|f| f.strip_suffix(".html"))
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let products = catalogue.0.lock().unwrap().clone();
    let shown: String = products
        .iter()
        .skip((page - 1) * 3)
        .take(3)
        .map(|p| {
            format!(
                "<li class=\"product\"><a href=\"/p/{}\">{}</a><span class=\"price\">{}</span></li>",
                p.slug,
                p.name,
                p.price.as_deref().unwrap_or("")
            )
        })
        .collect();
    let next = if products.len() > page * 3 {
        format!(
            "<a class=\"next\" href=\"/list-{}.html\">next</a>",
            page + 1
        )
    } else {
        String::new()
    };
    Html(format!("<html><body><ul>{shown}</ul>{next}</body></html>"))
}

fn job(base: &str, extra: serde_json::Value) -> serde_json::Value {
    let mut config = json!({
        "name": "catalogue",
        "start_url": format!("{base}/list-1.html"),
        "item_selector": "li.product",
        "fields": [
            {"name": "name", "selector": "a"},
            {"name": "link", "selector": "a", "attribute": "href"},
            {"name": "price", "selector": "span.price"},
        ],
        "pagination": {"type": "next_button", "next_button_selector": "a.next"},
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "retry_count": 0,
        "respect_robots_txt": false,
    });
    if let (Some(doc), Some(extra)) = (config.as_object_mut(), extra.as_object()) {
        for (k, v) in extra {
            doc.insert(k.clone(), v.clone());
        }
    }
    config
}

async fn create_job(store: &Store, user: &User, config: serde_json::Value) -> Uuid {
    store
        .create_job(
            user.user_id,
            &JobIn {
                name: "catalogue".into(),
                description: None,
                config,
                enabled: true,
            },
        )
        .await
        .unwrap()
        .job_id
}

/// Queues a run of `job`, wakes the pool and waits for its end.
async fn run_once(store: &Store, pool: &Pool, user: &User, job: Uuid) -> ResultRow {
    let run = store
        .enqueue_run(
            Scope::member(user.user_id),
            job,
            &grandma_store::NewRun::default(),
        )
        .await
        .unwrap();
    pool.wakeup.notify_one();
    wait_for(store, run.result_id, Duration::from_secs(30), |r| {
        r.status.is_terminal()
    })
    .await
}

fn monday() -> Vec<Product> {
    vec![
        product("Apron", "apron", Some("10")),
        product("Bowl", "bowl", Some("20")),
        product("Cup", "cup", Some("30")),
        product("Dish", "dish", Some("40")),
        product("Egg cup", "egg-cup", Some("50")),
    ]
}

/// Shuffled; Bowl repriced, Dish renamed, Cup gone, Fork and Grater new, Fork listed twice.
fn tuesday() -> Vec<Product> {
    vec![
        product("Egg cup", "egg-cup", Some("50")),
        product("Fork", "fork", Some("5")),
        product("Bowl", "bowl", Some("22")),
        product("Apron", "apron", Some("10")),
        product("Dish (large)", "dish", Some("40")),
        product("Fork again", "fork", Some("6")),
        product("Grater", "grater", Some("15")),
    ]
}

/// Receives webhook requests: (event header, signature header, raw body).
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(String, String, Bytes)>>>);

async fn receive(
    State(received): State<Received>,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    received.0.lock().unwrap().push((
        header("x-webhook-event"),
        header("x-webhook-signature"),
        body,
    ));
    "thanks"
}

/// `sha256=` + hex HMAC-SHA256 of the raw body, compared in constant time, as a receiver does.
fn signature_is_valid(body: &[u8], signature: &str, secret: &str) -> bool {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    expected.len() == signature.len()
        && expected
            .bytes()
            .zip(signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

async fn a_changed_catalogue_gives_exact_counts_fields_and_a_signed_webhook(db: &TestDb) {
    let store = &db.store;
    let (catalogue, base) = Catalogue::start(monday()).await;
    let received = Received::default();
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let user = owner(store).await;
    store
        .create_webhook(
            user.user_id,
            &WebhookIn {
                name: "changes".into(),
                url: hook_url,
                enabled: true,
                events: vec![WebhookEvent::JobItemsChanged],
                job_id: None,
                secret: Some(Secret::from("change-secret")),
                headers: Default::default(),
                retry_on_failure: true,
                max_retries: 3,
            },
        )
        .await
        .unwrap();
    let guard = NetworkGuard::strict().allow_networks(["127.0.0.1/32".parse().unwrap()]);
    let mut dispatcher_config = DispatcherConfig::new("changes-d", guard);
    dispatcher_config.poll_interval = Duration::from_millis(20);
    let shutdown = CancellationToken::new();
    let dispatcher = tokio::spawn(run_dispatcher(
        Dispatcher::new(store.clone(), dispatcher_config).unwrap(),
        Arc::new(Notify::new()),
        shutdown.clone(),
    ));
    let pool = Pool::start(store.clone(), test_config("changes-w", 1));
    let job = create_job(store, &user, job(&base, json!({}))).await;

    let first = run_once(store, &pool, &user, job).await;
    assert_eq!(first.status, RunStatus::Completed, "{first:#?}");
    assert_eq!(first.total_items, 5);
    assert_eq!(first.diff_base_id, None);

    catalogue.replace(tuesday());
    let second = run_once(store, &pool, &user, job).await;
    assert_eq!(second.status, RunStatus::Completed, "{second:#?}");
    assert_eq!(second.diff_base_id, Some(first.result_id));
    assert_eq!(
        (
            second.new_items,
            second.changed_items,
            second.removed_items,
            second.unchanged_items,
            second.duplicate_keys
        ),
        (Some(2), Some(2), Some(1), Some(2), Some(1)),
        "new: fork, grater; changed: bowl, dish; removed: cup; unchanged: apron, egg cup"
    );
    let changed = store
        .list_changes(
            Scope::member(user.user_id),
            second.result_id,
            Some(ChangeKind::Changed),
            Paging::default(),
        )
        .await
        .unwrap();
    let fields: Vec<(String, serde_json::Value, serde_json::Value)> = changed
        .items
        .iter()
        .flat_map(|c| {
            c.fields
                .iter()
                .map(|f| (f.field.clone(), f.old.clone(), f.new.clone()))
        })
        .collect();
    assert_eq!(
        fields,
        vec![
            ("price".into(), json!("20"), json!("22")),
            ("name".into(), json!("Dish"), json!("Dish (large)")),
        ]
    );

    // The webhook: sent once, for the second run only, signed over the raw body.
    let started = tokio::time::Instant::now();
    while received.0.lock().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(20), "no webhook");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give a wrongly queued second delivery the time to arrive before counting.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let requests = received.0.lock().unwrap().clone();
    assert_eq!(
        requests.len(),
        1,
        "only the run that changed something is announced"
    );
    let (event, signature, body) = &requests[0];
    assert_eq!(event, "job.items_changed");
    assert!(signature_is_valid(body, signature, "change-secret"));
    assert!(!signature_is_valid(body, signature, "another-secret"));
    let payload: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(payload["event"], json!("job.items_changed"));
    assert_eq!(payload["result_id"], json!(second.result_id));
    assert_eq!(payload["job_name"], json!("catalogue"));
    assert_eq!(
        payload["changes"],
        json!({"new": 2, "changed": 2, "removed": 1, "unchanged": 2})
    );
    let kinds: Vec<&str> = payload["first_changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["new", "new", "changed", "changed", "removed"]);
    assert_eq!(
        payload["first_changes"][4]["previous"]["link"],
        json!(format!("{base}/p/cup"))
    );

    pool.stop().await;
    shutdown.cancel();
    dispatcher.await.unwrap();
}

async fn a_run_that_misses_its_gates_fails_in_words_and_keeps_its_items(db: &TestDb) {
    let store = &db.store;
    // Seven products: pages 1–3, the third with one; every other price missing.
    let products: Vec<Product> = (0..7)
        .map(|i| {
            let price = (i % 2 == 0).then(|| format!("{i}"));
            product(&format!("P{i}"), &format!("p{i}"), price.as_deref())
        })
        .collect();
    let (_catalogue, base) = Catalogue::start(products).await;
    let user = owner(store).await;
    let pool = Pool::start(store.clone(), test_config("gates-w", 1));
    let job = create_job(
        store,
        &user,
        job(
            &base,
            json!({"expect": {"min_items": 20, "fields_filled": {"price": 0.9}, "max_failed_pages": 0.5}}),
        ),
    )
    .await;
    let run = run_once(store, &pool, &user, job).await;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(
        run.error_message.as_deref(),
        Some(
            "only 7 items, expected at least 20; \
             price was empty on 43% of items, expected it filled on at least 90%"
        )
    );
    assert_eq!(run.total_items, 7, "the items stay");
    assert_eq!(run.diff_base_id, None, "a failed run is not compared");
    let quality = run.quality.expect("a failed run records its quality too");
    assert_eq!(quality["items"], json!(7));
    assert_eq!(
        quality["pages"],
        json!([{"page": 1, "items": 3}, {"page": 2, "items": 3}, {"page": 3, "items": 1}])
    );
    pool.stop().await;
}

async fn a_run_that_meets_its_gates_completes_with_its_quality_report(db: &TestDb) {
    let store = &db.store;
    let (_catalogue, base) = Catalogue::start(monday()).await;
    let user = owner(store).await;
    let pool = Pool::start(store.clone(), test_config("gates-ok", 1));
    let job = create_job(
        store,
        &user,
        job(
            &base,
            json!({"item_key": ["name"], "expect": {"min_items": 5, "fields_filled": {"price": 1.0}, "max_failed_pages": 0}}),
        ),
    )
    .await;
    let run = run_once(store, &pool, &user, job).await;
    assert_eq!(run.status, RunStatus::Completed, "{run:#?}");
    let quality = run.quality.expect("quality");
    assert_eq!(
        quality["fields"],
        json!([
            {"field": "name", "filled": 5, "rate": 1.0},
            {"field": "link", "filled": 5, "rate": 1.0},
            {"field": "price", "filled": 5, "rate": 1.0},
        ])
    );
    assert_eq!(run.duplicate_keys, Some(0));
    pool.stop().await;
}
