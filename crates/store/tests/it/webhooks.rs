use std::collections::HashSet;
use std::time::Duration;

use chrono::{Duration as TimeDelta, Utc};
use grandma_store::{
    AttemptOutcome, DeliveryStatus, MAX_RESPONSE_BODY, NewDelivery, Paging, Role, RunOutcome,
    RunStatus, Scope, StoreError, Verdict, WebhookEvent, WebhookIn, WebhookVersion,
};

use crate::common::{TestDb, job_in, user};

store_test!(
    webhooks_crud,
    deliveries_outbox_claims_and_attempts,
    webhooks_written_only_if_unchanged
);

fn webhook_in(name: &str, events: Vec<WebhookEvent>) -> WebhookIn {
    WebhookIn {
        name: name.into(),
        url: format!("https://hooks.example.com/{name}"),
        enabled: true,
        events,
        job_id: None,
        secret: Some("s3cret".into()),
        headers: [("X-Team".to_owned(), "data".to_owned())].into(),
        retry_on_failure: true,
        max_retries: 5,
    }
}

fn attempt(verdict: Verdict, status: Option<i32>) -> AttemptOutcome {
    AttemptOutcome {
        verdict,
        response_status: status,
        response_body: Some("x".repeat(MAX_RESPONSE_BODY + 100)),
        error: status.filter(|s| *s >= 300).map(|s| format!("HTTP {s}")),
        duration_ms: 42,
    }
}

async fn webhooks_crud(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "w@example.com", Role::User).await;
    let bob = user(store, "x@example.com", Role::User).await;
    let (a, b) = (Scope::member(alice.user_id), Scope::member(bob.user_id));
    let hook = store
        .create_webhook(
            alice.user_id,
            &webhook_in(
                "one",
                vec![WebhookEvent::JobCompleted, WebhookEvent::JobFailed],
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        hook.events,
        vec![WebhookEvent::JobCompleted, WebhookEvent::JobFailed]
    );
    assert_eq!(hook.headers.get("X-Team").map(String::as_str), Some("data"));
    assert_eq!(hook.secret.as_ref().map(|s| s.expose()), Some("s3cret"));
    assert!(
        !format!("{hook:?}").contains("s3cret"),
        "secrets stay out of logs"
    );
    assert_eq!(store.get_webhook(a, hook.webhook_id).await.unwrap(), hook);
    assert!(matches!(
        store.get_webhook(b, hook.webhook_id).await,
        Err(StoreError::NotFound)
    ));

    let mut off = webhook_in("two", vec![WebhookEvent::JobStarted]);
    off.enabled = false;
    store.create_webhook(alice.user_id, &off).await.unwrap();
    assert_eq!(
        store
            .list_webhooks(a, None, Paging::default())
            .await
            .unwrap()
            .total,
        2
    );
    let enabled = store
        .list_webhooks(a, Some(true), Paging::default())
        .await
        .unwrap();
    assert_eq!(enabled.items, vec![hook.clone()]);
    assert_eq!(
        store
            .list_webhooks(b, None, Paging::default())
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .list_webhooks(Scope::all(), None, Paging::default())
            .await
            .unwrap()
            .total,
        2
    );

    // The system disables a failing endpoint; the user re-enabling it clears the reason.
    let disabled = store
        .disable_webhook(hook.webhook_id, "10 failures in a row")
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(
        disabled.disabled_reason.as_deref(),
        Some("10 failures in a row")
    );
    let mut again = webhook_in("one-renamed", vec![WebhookEvent::JobCancelled]);
    again.secret = None;
    assert!(matches!(
        store.update_webhook(b, hook.webhook_id, &again).await,
        Err(StoreError::NotFound)
    ));
    let updated = store
        .update_webhook(a, hook.webhook_id, &again)
        .await
        .unwrap();
    assert!(updated.enabled && updated.disabled_reason.is_none());
    assert_eq!(
        (updated.name.as_str(), updated.secret.clone()),
        ("one-renamed", None)
    );
    assert_eq!(updated.events, vec![WebhookEvent::JobCancelled]);

    assert!(matches!(
        store.delete_webhook(b, hook.webhook_id).await,
        Err(StoreError::NotFound)
    ));
    store.delete_webhook(a, hook.webhook_id).await.unwrap();
    assert!(matches!(
        store.get_webhook(Scope::all(), hook.webhook_id).await,
        Err(StoreError::NotFound)
    ));
}

async fn deliveries_outbox_claims_and_attempts(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "y@example.com", Role::User).await;
    let bob = user(store, "z@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let job = store
        .create_job(alice.user_id, &job_in("j", &["a"]))
        .await
        .unwrap();
    let other_job = store
        .create_job(alice.user_id, &job_in("k", &["a"]))
        .await
        .unwrap();

    // Who gets job.completed for `job`: the all-jobs hook and the hook filtered on `job`, not
    // the disabled one, the failed-only one, the other job's, or another user's.
    let all_jobs = store
        .create_webhook(
            alice.user_id,
            &webhook_in("all", vec![WebhookEvent::JobCompleted]),
        )
        .await
        .unwrap();
    let this_job = store
        .create_webhook(
            alice.user_id,
            &WebhookIn {
                job_id: Some(job.job_id),
                ..webhook_in("this", vec![WebhookEvent::JobCompleted])
            },
        )
        .await
        .unwrap();
    store
        .create_webhook(
            alice.user_id,
            &WebhookIn {
                job_id: Some(other_job.job_id),
                ..webhook_in("other", vec![WebhookEvent::JobCompleted])
            },
        )
        .await
        .unwrap();
    store
        .create_webhook(
            alice.user_id,
            &WebhookIn {
                enabled: false,
                ..webhook_in("off", vec![WebhookEvent::JobCompleted])
            },
        )
        .await
        .unwrap();
    store
        .create_webhook(
            alice.user_id,
            &webhook_in("failures", vec![WebhookEvent::JobFailed]),
        )
        .await
        .unwrap();
    store
        .create_webhook(
            bob.user_id,
            &webhook_in("bob", vec![WebhookEvent::JobCompleted]),
        )
        .await
        .unwrap();

    let run = store
        .enqueue_run(a, job.job_id, &grandma_store::NewRun::default())
        .await
        .unwrap();
    let started = store
        .enqueue_event_deliveries(
            alice.user_id,
            job.job_id,
            Some(run.result_id),
            WebhookEvent::JobStarted,
            &serde_json::json!({"event": "job.started"}),
        )
        .await
        .unwrap();
    assert_eq!(started, 0, "nobody subscribed to job.started");
    store
        .claim_next("w", Duration::from_secs(60))
        .await
        .unwrap()
        .unwrap();
    let payload = serde_json::json!({
        "event": "job.completed",
        "result_id": run.result_id.to_string(),
        "items_count": 0,
    });
    store
        .finish_run(
            run.result_id,
            "w",
            &RunOutcome {
                status: RunStatus::Completed,
                error_message: None,
                error_details: None,
                warnings: vec![],
                duration_seconds: 0.5,
                webhook_payload: Some(payload.clone()),
                quality: None,
                changes_payload: None,
                keep_runs: None,
            },
        )
        .await
        .unwrap();
    let due = store.due_deliveries(100).await.unwrap();
    let targets: HashSet<_> = due.iter().map(|d| d.webhook_id).collect();
    assert_eq!(
        targets,
        HashSet::from([all_jobs.webhook_id, this_job.webhook_id])
    );
    assert!(
        due.iter()
            .all(|d| d.payload == payload && d.status == DeliveryStatus::Pending)
    );

    // More work for the dispatchers, then two of them claim concurrently: disjoint sets.
    for _ in 0..8 {
        store
            .create_delivery(&NewDelivery {
                webhook_id: all_jobs.webhook_id,
                result_id: None,
                event_type: WebhookEvent::JobCompleted,
                payload: serde_json::json!({"n": 1}),
            })
            .await
            .unwrap();
    }
    let (s1, s2) = (store.clone(), db.another_store().await);
    let (first, second) = tokio::join!(
        s1.claim_deliveries("d1", Duration::from_secs(30), 6),
        s2.claim_deliveries("d2", Duration::from_secs(30), 6),
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    assert_eq!(first.len() + second.len(), 10);
    let ids: HashSet<_> = first.iter().chain(&second).map(|d| d.delivery_id).collect();
    assert_eq!(ids.len(), 10, "no delivery claimed twice");
    assert!(first.iter().all(|d| d.lease_owner.as_deref() == Some("d1")));
    assert!(
        store
            .claim_deliveries("d3", Duration::from_secs(30), 6)
            .await
            .unwrap()
            .is_empty(),
        "leased ones are not due"
    );
    s2.close().await;

    // A retry, then giving up, then a success, as seen by the webhook's failure counter.
    let d = &first[0];
    assert!(matches!(
        store
            .record_attempt(d.delivery_id, "d2", &attempt(Verdict::Delivered, Some(200)))
            .await,
        Err(StoreError::LeaseLost)
    ));
    let retry_at = Utc::now() - TimeDelta::seconds(1);
    let retried = store
        .record_attempt(
            d.delivery_id,
            "d1",
            &attempt(Verdict::RetryAt(retry_at), Some(503)),
        )
        .await
        .unwrap();
    assert_eq!(
        (retried.status, retried.attempts),
        (DeliveryStatus::Retrying, 1)
    );
    assert_eq!(retried.response_status, Some(503));
    assert_eq!(
        retried.response_body.as_ref().map(String::len),
        Some(MAX_RESPONSE_BODY)
    );
    assert_eq!(retried.lease_owner, None);
    assert!(
        matches!(
            store
                .record_attempt(d.delivery_id, "d1", &attempt(Verdict::GiveUp, Some(503)))
                .await,
            Err(StoreError::LeaseLost),
        ),
        "an attempt needs a fresh claim"
    );
    let again = store
        .claim_deliveries("d1", Duration::from_secs(30), 100)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|x| x.delivery_id).collect::<Vec<_>>(),
        vec![d.delivery_id],
        "due again"
    );
    let failed = store
        .record_attempt(d.delivery_id, "d1", &attempt(Verdict::GiveUp, None))
        .await
        .unwrap();
    assert_eq!(
        (failed.status, failed.attempts, failed.next_retry),
        (DeliveryStatus::Failed, 2, None)
    );
    let hook = store.get_webhook(a, d.webhook_id).await.unwrap();
    assert_eq!(hook.consecutive_failures, 1);

    let e = second.first().unwrap_or(&first[1]);
    let worker = e.lease_owner.clone().unwrap();
    let delivered = store
        .record_attempt(
            e.delivery_id,
            &worker,
            &attempt(Verdict::Delivered, Some(204)),
        )
        .await
        .unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert!(delivered.delivered_at.is_some());
    assert_eq!(
        store
            .get_webhook(a, e.webhook_id)
            .await
            .unwrap()
            .consecutive_failures,
        0
    );

    let attempts = store.list_attempts(a, d.delivery_id).await.unwrap();
    assert_eq!(
        attempts
            .iter()
            .map(|x| x.response_status)
            .collect::<Vec<_>>(),
        vec![Some(503), None]
    );
    assert_eq!(attempts[0].error.as_deref(), Some("HTTP 503"));
    assert!(matches!(
        store
            .list_attempts(Scope::member(bob.user_id), d.delivery_id)
            .await,
        Err(StoreError::NotFound)
    ));

    let failed_list = store
        .list_deliveries(
            a,
            d.webhook_id,
            Some(DeliveryStatus::Failed),
            Paging::default(),
        )
        .await
        .unwrap();
    assert_eq!(
        failed_list
            .items
            .iter()
            .map(|x| x.delivery_id)
            .collect::<Vec<_>>(),
        vec![d.delivery_id]
    );
    assert!(matches!(
        store
            .list_deliveries(
                Scope::member(bob.user_id),
                d.webhook_id,
                None,
                Paging::default()
            )
            .await,
        Err(StoreError::NotFound)
    ));

    // Redelivery puts it back in the queue.
    let redo = store.redeliver(a, d.delivery_id).await.unwrap();
    assert_eq!(redo.status, DeliveryStatus::Pending);
    assert!(
        store
            .due_deliveries(100)
            .await
            .unwrap()
            .iter()
            .any(|x| x.delivery_id == d.delivery_id)
    );

    // Deleting the webhook deletes its deliveries and their attempts.
    store.delete_webhook(a, d.webhook_id).await.unwrap();
    assert!(matches!(
        store.get_delivery(Scope::all(), d.delivery_id).await,
        Err(StoreError::NotFound)
    ));
}

/// A conditional write or delete lands only on the version it names. A delivery given up
/// moves only the failure count, not `updated_at`, and still makes an older read stale: an
/// update that re-enables the webhook would otherwise reset a count it never saw.
async fn webhooks_written_only_if_unchanged(db: &TestDb) {
    let store = &db.store;
    let alice = user(store, "hooks@example.com", Role::User).await;
    let bob = user(store, "bob@example.com", Role::User).await;
    let a = Scope::member(alice.user_id);
    let read = store
        .create_webhook(
            alice.user_id,
            &webhook_in("a", vec![WebhookEvent::JobCompleted]),
        )
        .await
        .unwrap();
    assert_eq!(store.get_webhook(a, read.webhook_id).await.unwrap(), read);
    tokio::time::sleep(Duration::from_millis(2)).await;

    let delivery = store
        .create_delivery(&NewDelivery {
            webhook_id: read.webhook_id,
            result_id: None,
            event_type: WebhookEvent::JobCompleted,
            payload: serde_json::json!({"n": 1}),
        })
        .await
        .unwrap();
    let claimed = store
        .claim_deliveries("d1", Duration::from_secs(30), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    store
        .record_attempt(
            delivery.delivery_id,
            "d1",
            &attempt(Verdict::GiveUp, Some(500)),
        )
        .await
        .unwrap();
    let failed = store.get_webhook(a, read.webhook_id).await.unwrap();
    assert_eq!(failed.consecutive_failures, 1);
    assert_eq!(failed.updated_at, read.updated_at);

    let mut renamed = webhook_in("renamed", vec![WebhookEvent::JobCompleted]);
    assert!(
        store
            .update_webhook_if(
                a,
                read.webhook_id,
                &renamed,
                Some(WebhookVersion::from(&read))
            )
            .await
            .unwrap()
            .is_none(),
        "a stale version writes nothing"
    );
    assert_eq!(store.get_webhook(a, read.webhook_id).await.unwrap(), failed);
    assert_eq!(
        store
            .delete_webhook_if(a, read.webhook_id, Some(WebhookVersion::from(&read)))
            .await
            .unwrap(),
        0,
        "a stale delete deletes nothing"
    );
    let written = store
        .update_webhook_if(
            a,
            read.webhook_id,
            &renamed,
            Some(WebhookVersion::from(&failed)),
        )
        .await
        .unwrap()
        .expect("the version read is current");
    assert_eq!(written.name, "renamed");
    assert_eq!(written.consecutive_failures, 0, "enabling resets the count");
    // Another user's webhook is not found whatever the version.
    assert!(
        store
            .update_webhook_if(
                Scope::member(bob.user_id),
                read.webhook_id,
                &renamed,
                Some(WebhookVersion::from(&written))
            )
            .await
            .unwrap()
            .is_none()
    );
    // Without a version the write is unconditional, as before.
    tokio::time::sleep(Duration::from_millis(2)).await;
    renamed.name = "plain".into();
    let plain = store
        .update_webhook_if(a, read.webhook_id, &renamed, None)
        .await
        .unwrap()
        .expect("unconditional");
    assert_eq!(
        store
            .delete_webhook_if(a, read.webhook_id, Some(WebhookVersion::from(&written)))
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        store
            .delete_webhook_if(a, read.webhook_id, Some(WebhookVersion::from(&plain)))
            .await
            .unwrap(),
        1
    );
    assert!(matches!(
        store.get_webhook(a, read.webhook_id).await,
        Err(StoreError::NotFound)
    ));
}
