//! `webhook_delivery` and `webhook_attempt`: the webhook outbox and its audit trail.
//!
//! A delivery is written in the same transaction as the event it announces (see
//! [`Store::finish_run`]), then claimed by a dispatcher with a lease like a run. While leased,
//! `next_retry` is pushed to the lease's end, so the due query stays the plain
//! `status in (pending, retrying) and next_retry <= now` that `idx_delivery_status_next_retry`
//! serves, and a dead dispatcher's deliveries come due again by themselves.

use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, after, now};
use crate::error::{Result, StoreError};
use crate::filter::{Arg, Filter};
use crate::types::{DeliveryStatus, Page, Paging, Scope, WebhookEvent};

/// Stored response bodies are cut to this many bytes (enough to debug, bounded in size).
pub const MAX_RESPONSE_BODY: usize = 4096;

/// One delivery of one event to one webhook.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Delivery {
    pub delivery_id: Uuid,
    pub webhook_id: Uuid,
    /// The run; `None` once the run was deleted.
    pub result_id: Option<Uuid>,
    pub event_type: WebhookEvent,
    pub status: DeliveryStatus,
    #[sqlx(json)]
    pub payload: serde_json::Value,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub attempts: i32,
    pub next_retry: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The request ID of the run it is about (sent as `X-Request-ID`), copied when queued.
    pub request_id: Option<String>,
}

/// One HTTP attempt of a delivery.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct DeliveryAttempt {
    pub attempt_id: Uuid,
    pub delivery_id: Uuid,
    pub attempted_at: DateTime<Utc>,
    pub response_status: Option<i32>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Which of a webhook's deliveries to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryFilter {
    pub status: Option<DeliveryStatus>,
    pub event: Option<WebhookEvent>,
    /// Only the deliveries about this run.
    pub result_id: Option<Uuid>,
}

/// A delivery to queue directly (tests, manual sends).
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub webhook_id: Uuid,
    pub result_id: Option<Uuid>,
    pub event_type: WebhookEvent,
    pub payload: serde_json::Value,
}

/// What the dispatcher decided after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A 2xx response.
    Delivered,
    /// Failed; try again at this time.
    RetryAt(DateTime<Utc>),
    /// Failed for good (retries exhausted or disabled).
    GiveUp,
}

/// The result of one HTTP attempt.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub verdict: Verdict,
    pub response_status: Option<i32>,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// Enabled webhooks of an organization (`$1`) that subscribe to an event (`$3`) and match
/// the job (`$2`).
pub(crate) const SQL_MATCHING_WEBHOOKS_SQLITE: &str = "select webhook_id from webhook \
     where org_id = $1 and enabled = 1 and (job_id is null or job_id = $2) \
     and exists (select 1 from json_each(webhook.events) as e where e.value = $3) \
     order by webhook_id";
pub(crate) const SQL_MATCHING_WEBHOOKS_POSTGRES: &str = "select webhook_id from webhook \
     where org_id = $1 and enabled and (job_id is null or job_id = $2) and events ? $3 \
     order by webhook_id";

/// The run's request ID is copied here, so a delivery keeps it after the run is deleted.
pub(crate) const SQL_INSERT_DELIVERY: &str = "insert into webhook_delivery (delivery_id, \
     webhook_id, result_id, event_type, status, payload, attempts, next_retry, created_at, \
     request_id) values ($1, $2, $3, $4, 'pending', $5, 0, $6, $6, \
     (select request_id from result where result_id = $3)) returning *";

/// Deliveries that are due; `idx_delivery_status_next_retry` serves it.
pub(crate) const SQL_DUE_DELIVERIES: &str = "select * from webhook_delivery \
     where status in ('pending', 'retrying') and next_retry <= $1 order by next_retry limit $2";

/// A webhook's deliveries in one status; `idx_delivery_webhook_status` serves it.
pub(crate) const SQL_DELIVERIES_BY_STATUS: &str = "select * from webhook_delivery \
     where webhook_id = $1 and status = $2 order by created_at desc limit $3 offset $4";

/// Inserts one pending delivery per matching webhook on `$conn` (a pool or a transaction) and
/// evaluates to the number inserted. A macro rather than a function so that it expands inside
/// each [`dispatch!`] arm with the concrete connection type.
macro_rules! insert_event_deliveries {
    ($conn:expr, $dialect:expr, org = $org:expr, job = $job:expr, result = $result:expr,
     event = $event:expr, payload = $payload:expr, at = $at:expr) => {{
        let webhooks: Vec<uuid::Uuid> = sqlx::query_scalar($dialect.pick(
            $crate::deliveries::SQL_MATCHING_WEBHOOKS_SQLITE,
            $crate::deliveries::SQL_MATCHING_WEBHOOKS_POSTGRES,
        ))
        .bind($org)
        .bind($job)
        .bind($event)
        .fetch_all(&mut *$conn)
        .await?;
        for webhook_id in &webhooks {
            sqlx::query($crate::deliveries::SQL_INSERT_DELIVERY)
                .bind(uuid::Uuid::now_v7())
                .bind(*webhook_id)
                .bind($result)
                .bind($event)
                .bind(sqlx::types::Json($payload))
                .bind($at)
                .execute(&mut *$conn)
                .await?;
        }
        webhooks.len()
    }};
}

fn truncate_body(body: Option<&str>) -> Option<&str> {
    body.map(|b| {
        if b.len() <= MAX_RESPONSE_BODY {
            return b;
        }
        let mut end = MAX_RESPONSE_BODY;
        while !b.is_char_boundary(end) {
            end -= 1;
        }
        &b[..end]
    })
}

impl Store {
    /// Queues one delivery.
    pub async fn create_delivery(&self, delivery: &NewDelivery) -> Result<Delivery> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_INSERT_DELIVERY)
                .bind(Uuid::now_v7())
                .bind(delivery.webhook_id)
                .bind(delivery.result_id)
                .bind(delivery.event_type)
                .bind(sqlx::types::Json(&delivery.payload))
                .bind(now())
                .fetch_one(pool)
                .await?
        }))
    }

    /// Queues `event` for every enabled webhook of organization `org_id` that subscribes to it and matches
    /// `job_id` (used for `job.started`; final events are queued by [`Store::finish_run`]).
    /// Returns how many deliveries were queued.
    pub async fn enqueue_event_deliveries(
        &self,
        org_id: Uuid,
        job_id: Uuid,
        result_id: Option<Uuid>,
        event: WebhookEvent,
        payload: &serde_json::Value,
    ) -> Result<usize> {
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let n = insert_event_deliveries!(
                tx,
                dialect,
                org = org_id,
                job = job_id,
                result = result_id,
                event = event,
                payload = payload,
                at = at
            );
            tx.commit().await?;
            n
        }))
    }

    /// A delivery whose webhook `scope` may see.
    pub async fn get_delivery(&self, scope: Scope, delivery_id: Uuid) -> Result<Delivery> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "select d.* from webhook_delivery d join webhook w on w.webhook_id = d.webhook_id \
                     where d.delivery_id = $1 and ",
                in_scope!("w.", "$2", "$3")
            ))
            .bind(delivery_id)
            .bind(scope.member_of())
            .bind(scope.only_org())
            .fetch_one(pool)
            .await?
        }))
    }

    /// A webhook's deliveries, newest first, optionally in one status.
    pub async fn list_deliveries(
        &self,
        scope: Scope,
        webhook_id: Uuid,
        status: Option<DeliveryStatus>,
        paging: Paging,
    ) -> Result<Page<Delivery>> {
        let filter = DeliveryFilter {
            status,
            ..DeliveryFilter::default()
        };
        self.search_deliveries(scope, webhook_id, &filter, paging)
            .await
    }

    /// A webhook's deliveries, newest first, filtered by status, event and run.
    pub async fn search_deliveries(
        &self,
        scope: Scope,
        webhook_id: Uuid,
        filter: &DeliveryFilter,
        paging: Paging,
    ) -> Result<Page<Delivery>> {
        // Scoping is checked on the webhook, so the listing itself stays on the index.
        self.get_webhook(scope, webhook_id).await?;
        let mut f = Filter::new();
        f.and("webhook_id =", Arg::Uuid(webhook_id))
            .and_opt("status =", filter.status, |s| {
                Arg::Text(s.as_str().to_owned())
            })
            .and_opt("event_type =", filter.event, |e| {
                Arg::Text(e.as_str().to_owned())
            })
            .and_opt("result_id =", filter.result_id, Arg::Uuid);
        self.fetch_page(
            "webhook_delivery",
            "created_at desc, delivery_id desc",
            f,
            paging,
        )
        .await
    }

    /// Deliveries due now, without claiming them (monitoring).
    pub async fn due_deliveries(&self, limit: i64) -> Result<Vec<Delivery>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_DUE_DELIVERIES)
                .bind(now())
                .bind(limit)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Claims up to `limit` due deliveries for `worker_id` for `lease`: on PostgreSQL with
    /// `FOR UPDATE SKIP LOCKED`, on SQLite inside a write transaction, so no two dispatchers
    /// get the same delivery.
    pub async fn claim_deliveries(
        &self,
        worker_id: &str,
        lease: Duration,
        limit: i64,
    ) -> Result<Vec<Delivery>> {
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let at = lease_clock!(&mut *tx, dialect);
            let until = after(at, lease);
            let claimed: Vec<Delivery> = sqlx::query_as(dialect.pick(
                "update webhook_delivery set lease_owner = $1, lease_expires_at = $2, \
                 next_retry = $2 where delivery_id in (select delivery_id from webhook_delivery \
                 where status in ('pending', 'retrying') and next_retry <= $3 \
                 order by next_retry limit $4) returning *",
                // A CTE is evaluated once, so the locked set is exactly the updated set.
                "with picked as (select delivery_id from webhook_delivery \
                 where status in ('pending', 'retrying') and next_retry <= $3 \
                 order by next_retry limit $4 for update skip locked) \
                 update webhook_delivery d set lease_owner = $1, lease_expires_at = $2, \
                 next_retry = $2 from picked where d.delivery_id = picked.delivery_id \
                 returning d.*",
            ))
            .bind(worker_id)
            .bind(until)
            .bind(at)
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
            tx.commit().await?;
            claimed
        }))
    }

    /// Records one attempt of a delivery the worker holds, updates the delivery and the
    /// webhook's consecutive-failure count, all in one transaction.
    pub async fn record_attempt(
        &self,
        delivery_id: Uuid,
        worker_id: &str,
        outcome: &AttemptOutcome,
    ) -> Result<Delivery> {
        let at = now();
        let (status, next_retry, delivered_at) = match outcome.verdict {
            Verdict::Delivered => (DeliveryStatus::Delivered, None, Some(at)),
            Verdict::RetryAt(when) => (
                DeliveryStatus::Retrying,
                Some(crate::db::stored_time(when)),
                None,
            ),
            Verdict::GiveUp => (DeliveryStatus::Failed, None, None),
        };
        let body = truncate_body(outcome.response_body.as_deref());
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let delivery: Option<Delivery> = sqlx::query_as(
                "update webhook_delivery set status = $3, attempts = attempts + 1, \
                 response_status = $4, response_body = $5, next_retry = $6, \
                 delivered_at = $7, lease_owner = null, lease_expires_at = null \
                 where delivery_id = $1 and lease_owner = $2 returning *",
            )
            .bind(delivery_id)
            .bind(worker_id)
            .bind(status)
            .bind(outcome.response_status)
            .bind(body)
            .bind(next_retry)
            .bind(delivered_at)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(delivery) = delivery else {
                return Err(StoreError::LeaseLost);
            };
            sqlx::query(
                "insert into webhook_attempt (attempt_id, delivery_id, attempted_at, \
                 response_status, error, duration_ms) values ($1, $2, $3, $4, $5, $6)",
            )
            .bind(Uuid::now_v7())
            .bind(delivery_id)
            .bind(at)
            .bind(outcome.response_status)
            .bind(outcome.error.as_deref())
            .bind(outcome.duration_ms)
            .execute(&mut *tx)
            .await?;
            let failures = match outcome.verdict {
                Verdict::Delivered => Some(
                    "update webhook set consecutive_failures = 0 \
                                            where webhook_id = $1",
                ),
                Verdict::GiveUp => Some(
                    "update webhook set consecutive_failures = \
                                         consecutive_failures + 1 where webhook_id = $1",
                ),
                Verdict::RetryAt(_) => None,
            };
            if let Some(sql) = failures {
                sqlx::query(sql)
                    .bind(delivery.webhook_id)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await?;
            delivery
        }))
    }

    /// The attempts of a delivery `scope` may see, oldest first.
    pub async fn list_attempts(
        &self,
        scope: Scope,
        delivery_id: Uuid,
    ) -> Result<Vec<DeliveryAttempt>> {
        self.get_delivery(scope, delivery_id).await?;
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select * from webhook_attempt where delivery_id = $1 \
                 order by attempted_at, attempt_id",
            )
            .bind(delivery_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Sends a delivery again (the API's redelivery): back to pending, due now, unleased.
    pub async fn redeliver(&self, scope: Scope, delivery_id: Uuid) -> Result<Delivery> {
        self.get_delivery(scope, delivery_id).await?;
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "update webhook_delivery set status = 'pending', next_retry = $2, \
                 lease_owner = null, lease_expires_at = null where delivery_id = $1 returning *",
            )
            .bind(delivery_id)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_cut_on_a_char_boundary() {
        let long = "é".repeat(MAX_RESPONSE_BODY);
        let cut = truncate_body(Some(&long)).unwrap();
        assert!(cut.len() <= MAX_RESPONSE_BODY && cut.chars().all(|c| c == 'é'));
        assert_eq!(truncate_body(Some("ok")), Some("ok"));
    }
}
