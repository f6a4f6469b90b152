//! Every named index, with its name and columns, on both databases, and used by the queries
//! it exists for.

use grandma_store::Backend;

use grandma_store::{NewDelivery, Role, Scope, WebhookEvent, WebhookIn};

use crate::catalog::{Index, RawConn, read_schema};
use crate::common::{TestDb, job_in, user};

/// The named indexes: (name, table, columns).
pub const NAMED_INDEXES: &[(&str, &str, &[&str])] = &[
    ("idx_user_email_active", "app_user", &["email", "is_active"]),
    ("idx_user_role", "app_user", &["role"]),
    ("idx_user_active", "app_user", &["is_active"]),
    ("idx_job_owner_enabled", "job", &["owner_id", "enabled"]),
    ("idx_job_enabled", "job", &["enabled"]),
    ("idx_job_created", "job", &["created_at"]),
    ("idx_job_org_enabled", "job", &["org_id", "enabled"]),
    (
        "idx_result_org_created",
        "result",
        &["org_id", "created_at"],
    ),
    ("idx_schedule_org", "schedule", &["org_id"]),
    ("idx_webhook_org_enabled", "webhook", &["org_id", "enabled"]),
    ("idx_api_token_org", "api_token", &["org_id"]),
    ("idx_org_member_user", "org_member", &["user_id", "org_id"]),
    (
        "idx_org_invitation_org",
        "org_invitation",
        &["org_id", "created_at"],
    ),
    ("idx_result_job_status", "result", &["job_id", "status"]),
    ("idx_result_run_id", "result", &["run_id"]),
    ("idx_result_created", "result", &["created_at"]),
    (
        "idx_result_status_created",
        "result",
        &["status", "created_at"],
    ),
    (
        "idx_schedule_enabled_next_run",
        "schedule",
        &["enabled", "next_run"],
    ),
    ("idx_schedule_next_run", "schedule", &["next_run"]),
    (
        "idx_webhook_owner_enabled",
        "webhook",
        &["owner_id", "enabled"],
    ),
    (
        "idx_delivery_webhook_status",
        "webhook_delivery",
        &["webhook_id", "status"],
    ),
    (
        "idx_delivery_status_next_retry",
        "webhook_delivery",
        &["status", "next_retry"],
    ),
    (
        "idx_snapshot_owner_created",
        "page_snapshot",
        &["owner_id", "created_at"],
    ),
    ("idx_snapshot_expires", "page_snapshot", &["expires_at"]),
];

async fn named_indexes_exist_and_serve_their_queries(backend: Backend) {
    let db = TestDb::new(backend).await;
    let schema = read_schema(backend, db.url()).await;
    for (name, table, columns) in NAMED_INDEXES {
        let index = schema
            .indexes
            .get(*name)
            .unwrap_or_else(|| panic!("{backend:?}: index {name} is missing"));
        assert_eq!(
            (&index.table, &index.columns),
            (
                &table.to_string(),
                &columns.iter().map(|c| c.to_string()).collect::<Vec<_>>()
            ),
            "{backend:?}: {name}"
        );
    }
    // The run id is unique through its named index.
    assert!(matches!(
        schema.indexes.get("idx_result_run_id"),
        Some(Index { unique: true, .. })
    ));

    // Realistic statistics for `result`: on an empty table the planners cannot tell that
    // (job_id, status) is far more selective than status alone, and prefer the index that also
    // gives the listing's order. 20 jobs × 10 runs, all completed, then ANALYZE of that table
    // only (statistics of the other, near-empty tables would say "one row: scan it"); a new
    // store so that SQLite connections load the statistics when they open.
    let owner = user(&db.store, "plans@example.com", Role::User).await;
    for j in 0..20 {
        let job = db
            .store
            .create_job(owner.user_id, &job_in(&format!("job {j}"), &["a"]))
            .await
            .unwrap();
        for _ in 0..10 {
            db.store
                .enqueue_run(Scope::all(), job.job_id, &grandma_store::NewRun::default())
                .await
                .unwrap();
        }
    }
    // Jobs of 30 other accounts, so that one member's jobs are a small part of the table.
    for other in 0..30 {
        let other = crate::common::user(
            &db.store,
            &format!("other{other}@example.com"),
            grandma_store::Role::User,
        )
        .await;
        for j in 0..10 {
            db.store
                .create_job(other.user_id, &job_in(&format!("other job {j}"), &["a"]))
                .await
                .unwrap();
        }
    }
    // Likewise 5 webhooks × 20 deliveries, half delivered and half failed.
    for w in 0..5 {
        let hook = db
            .store
            .create_webhook(
                owner.user_id,
                &WebhookIn {
                    name: format!("hook {w}"),
                    url: "https://hooks.example.com/".into(),
                    enabled: true,
                    events: vec![WebhookEvent::JobCompleted],
                    job_id: None,
                    secret: None,
                    headers: Default::default(),
                    retry_on_failure: true,
                    max_retries: 3,
                },
            )
            .await
            .unwrap();
        for _ in 0..20 {
            db.store
                .create_delivery(&NewDelivery {
                    webhook_id: hook.webhook_id,
                    result_id: None,
                    event_type: WebhookEvent::JobCompleted,
                    payload: serde_json::json!({}),
                })
                .await
                .unwrap();
        }
    }
    let mut raw = RawConn::open(backend, db.url()).await;
    raw.execute("update result set status = 'completed'").await;
    raw.execute("update webhook_delivery set status = 'delivered', next_retry = null")
        .await;
    raw.execute(
        "update webhook_delivery set status = 'failed' where delivery_id in \
         (select delivery_id from webhook_delivery order by delivery_id limit 50)",
    )
    .await;
    raw.execute("analyze job").await;
    raw.execute("analyze org_member").await;
    raw.execute("analyze result").await;
    raw.execute("analyze webhook_delivery").await;
    raw.close().await;
    let store = db.another_store().await;
    let plans = store.explain_indexed_queries().await.unwrap();
    store.close().await;
    assert_eq!(plans.len(), 7);
    for plan in &plans {
        assert!(
            plan.uses_expected_index(),
            "{backend:?}: {} should use {}:\n{}",
            plan.query,
            plan.expected_index,
            plan.plan
        );
    }
    db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_indexes_sqlite() {
    named_indexes_exist_and_serve_their_queries(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_indexes_postgres() {
    named_indexes_exist_and_serve_their_queries(Backend::Postgres).await;
}
