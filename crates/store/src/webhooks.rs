//! `webhook`: endpoints that receive job events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::error::Result;
use crate::filter::{Arg, Filter};
use crate::types::{Page, Paging, Scope, Secret, WebhookEvent};
use crate::users::found;

/// A webhook as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Webhook {
    pub webhook_id: Uuid,
    /// Who created the webhook.
    pub owner_id: Uuid,
    /// The organization whose runs it announces.
    pub org_id: Uuid,
    pub name: String,
    pub url: String,
    pub enabled: bool,
    #[sqlx(json)]
    pub events: Vec<WebhookEvent>,
    /// Only this job's runs; `None` for every job of the owner.
    pub job_id: Option<Uuid>,
    /// HMAC key of `X-Webhook-Signature`.
    pub secret: Option<Secret>,
    #[sqlx(json)]
    pub headers: BTreeMap<String, String>,
    pub retry_on_failure: bool,
    pub max_retries: i32,
    /// Deliveries that failed for good in a row (reset by a success).
    pub consecutive_failures: i32,
    /// Set when the system disabled the webhook (e.g. too many failures).
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The writable part of a webhook (create and full update).
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookIn {
    pub name: String,
    pub url: String,
    pub enabled: bool,
    pub events: Vec<WebhookEvent>,
    pub job_id: Option<Uuid>,
    pub secret: Option<Secret>,
    pub headers: BTreeMap<String, String>,
    pub retry_on_failure: bool,
    pub max_retries: i32,
}

/// What identifies a stored version of a webhook for a compare-and-set: every write moves
/// `updated_at` except a delivery's, which moves only `consecutive_failures`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WebhookVersion {
    pub updated_at: DateTime<Utc>,
    pub consecutive_failures: i32,
}

impl From<&Webhook> for WebhookVersion {
    fn from(w: &Webhook) -> Self {
        WebhookVersion {
            updated_at: w.updated_at,
            consecutive_failures: w.consecutive_failures,
        }
    }
}

impl Store {
    /// Creates a webhook in `owner_id`'s personal organization.
    pub async fn create_webhook(&self, owner_id: Uuid, webhook: &WebhookIn) -> Result<Webhook> {
        self.create_webhook_in(owner_id, owner_id, webhook).await
    }

    /// Creates a webhook of organization `org_id`, made by `owner_id`. The caller has checked
    /// that the creator may, and that `webhook.job_id` is a job of the same organization.
    pub async fn create_webhook_in(
        &self,
        org_id: Uuid,
        owner_id: Uuid,
        webhook: &WebhookIn,
    ) -> Result<Webhook> {
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "insert into webhook (webhook_id, owner_id, name, url, enabled, events, job_id, \
                 secret, headers, retry_on_failure, max_retries, consecutive_failures, \
                 created_at, updated_at, org_id) \
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, $12, $12, $13) \
                 returning *",
            )
            .bind(Uuid::now_v7())
            .bind(owner_id)
            .bind(&webhook.name)
            .bind(&webhook.url)
            .bind(webhook.enabled)
            .bind(sqlx::types::Json(&webhook.events))
            .bind(webhook.job_id)
            .bind(webhook.secret.as_ref())
            .bind(sqlx::types::Json(&webhook.headers))
            .bind(webhook.retry_on_failure)
            .bind(webhook.max_retries)
            .bind(at)
            .bind(org_id)
            .fetch_one(pool)
            .await?
        }))
    }

    pub async fn get_webhook(&self, scope: Scope, webhook_id: Uuid) -> Result<Webhook> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "select * from webhook where webhook_id = $1 and ",
                in_scope!("$2", "$3")
            ))
            .bind(webhook_id)
            .bind(scope.member_of())
            .bind(scope.only_org())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Webhooks visible to `scope`, oldest first, optionally only enabled or disabled ones.
    pub async fn list_webhooks(
        &self,
        scope: Scope,
        enabled: Option<bool>,
        paging: Paging,
    ) -> Result<Page<Webhook>> {
        let mut f = Filter::new();
        f.and_scope(scope).and_opt("enabled =", enabled, Arg::Bool);
        self.fetch_page("webhook", "created_at, webhook_id", f, paging)
            .await
    }

    /// Replaces the writable columns. Enabling clears a system `disabled_reason` and the
    /// failure count, since the user has looked at the endpoint.
    pub async fn update_webhook(
        &self,
        scope: Scope,
        webhook_id: Uuid,
        webhook: &WebhookIn,
    ) -> Result<Webhook> {
        self.update_webhook_if(scope, webhook_id, webhook, None)
            .await?
            .ok_or(crate::error::StoreError::NotFound)
    }

    /// Replaces a webhook like [`Store::update_webhook`], only if it is still the version
    /// `unchanged` (when given), in one statement. `None`: no such webhook for `scope`, or it
    /// was written since.
    pub async fn update_webhook_if(
        &self,
        scope: Scope,
        webhook_id: Uuid,
        webhook: &WebhookIn,
        unchanged: Option<WebhookVersion>,
    ) -> Result<Option<Webhook>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(concat!(
                "update webhook set name = $3, url = $4, enabled = $5, events = $6, job_id = $7, \
                 secret = $8, headers = $9, retry_on_failure = $10, max_retries = $11, \
                 disabled_reason = case when $5 then null else disabled_reason end, \
                 consecutive_failures = case when $5 then 0 else consecutive_failures end, \
                 updated_at = $12 \
                 where webhook_id = $1 \
                 and ($13 is null or (updated_at = $13 and consecutive_failures = $14)) and ",
                in_scope!("$2", "$15"),
                " returning *"
            ))
            .bind(webhook_id)
            .bind(scope.member_of())
            .bind(&webhook.name)
            .bind(&webhook.url)
            .bind(webhook.enabled)
            .bind(sqlx::types::Json(&webhook.events))
            .bind(webhook.job_id)
            .bind(webhook.secret.as_ref())
            .bind(sqlx::types::Json(&webhook.headers))
            .bind(webhook.retry_on_failure)
            .bind(webhook.max_retries)
            .bind(now())
            .bind(unchanged.map(|v| v.updated_at))
            .bind(unchanged.map_or(0, |v| v.consecutive_failures))
            .bind(scope.only_org())
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Disables a webhook on the system's initiative, recording why.
    pub async fn disable_webhook(&self, webhook_id: Uuid, reason: &str) -> Result<Webhook> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "update webhook set enabled = $2, disabled_reason = $3, updated_at = $4 \
                 where webhook_id = $1 returning *",
            )
            .bind(webhook_id)
            .bind(false)
            .bind(reason)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Deletes a webhook and its delivery history.
    pub async fn delete_webhook(&self, scope: Scope, webhook_id: Uuid) -> Result<()> {
        found(self.delete_webhook_if(scope, webhook_id, None).await?)
    }

    /// Deletes a webhook like [`Store::delete_webhook`], only if it is still the version
    /// `unchanged` (when given), in one statement. Returns the rows deleted (0 or 1).
    pub async fn delete_webhook_if(
        &self,
        scope: Scope,
        webhook_id: Uuid,
        unchanged: Option<WebhookVersion>,
    ) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query(concat!(
                "delete from webhook where webhook_id = $1 \
                 and ($3 is null or (updated_at = $3 and consecutive_failures = $4)) and ",
                in_scope!("$2", "$5")
            ))
            .bind(webhook_id)
            .bind(scope.member_of())
            .bind(unchanged.map(|v| v.updated_at))
            .bind(unchanged.map_or(0, |v| v.consecutive_failures))
            .bind(scope.only_org())
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
