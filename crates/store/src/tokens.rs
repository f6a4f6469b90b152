//! `api_token`: long-lived API tokens. Only a hash of the secret is stored; the caller hashes
//! (SHA-256) and shows the secret once.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::error::Result;
use crate::users::found;

/// A token as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiToken {
    pub token_id: Uuid,
    pub user_id: Uuid,
    pub name: String,
    /// Hex SHA-256 of the secret.
    pub token_hash: String,
    /// The first characters of the secret, so users can tell tokens apart in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The one organization the token acts in.
    pub org_id: Uuid,
    /// The names of the scopes it grants (`jobs:read`, ...); the server knows what they mean.
    #[sqlx(json)]
    pub scopes: Vec<String>,
    /// Refused from this time on; `None` never expires.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub user_id: Uuid,
    pub name: String,
    pub token_hash: String,
    pub prefix: String,
    pub org_id: Uuid,
    pub scopes: Vec<String>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Store {
    pub async fn create_api_token(&self, token: &NewApiToken) -> Result<ApiToken> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "insert into api_token (token_id, user_id, name, token_hash, prefix, created_at, \
                 org_id, scopes, expires_at) values ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 returning *",
            )
            .bind(Uuid::now_v7())
            .bind(token.user_id)
            .bind(&token.name)
            .bind(&token.token_hash)
            .bind(&token.prefix)
            .bind(now())
            .bind(token.org_id)
            .bind(sqlx::types::Json(&token.scopes))
            .bind(token.expires_at)
            .fetch_one(pool)
            .await?
        }))
    }

    /// A user's tokens, newest first, revoked ones included (the UI shows them greyed out).
    pub async fn list_api_tokens(&self, user_id: Uuid) -> Result<Vec<ApiToken>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as("select * from api_token where user_id = $1 order by created_at desc")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Authenticates: the unrevoked token with this hash, stamping `last_used_at`. The caller
    /// still checks that the owner is active, that it has not expired (so that it can say so)
    /// and that its owner is still a member of its organization.
    pub async fn use_api_token(&self, token_hash: &str) -> Result<ApiToken> {
        // `last_used_at` is kept to the minute: writing it on every request would put every
        // script's GET behind SQLite's single write lock, next to the workers' page saves.
        let at = now();
        let fresh = at - chrono::Duration::seconds(60);
        Ok(dispatch!(self, |pool, dialect| {
            let token: ApiToken = sqlx::query_as(
                "select * from api_token where token_hash = $1 and revoked_at is null",
            )
            .bind(token_hash)
            .fetch_one(pool)
            .await?;
            if token.last_used_at.is_some_and(|used| used > fresh) {
                token
            } else {
                sqlx::query_as(
                    "update api_token set last_used_at = $2 \
                     where token_id = $1 and revoked_at is null returning *",
                )
                .bind(token.token_id)
                .bind(at)
                .fetch_one(pool)
                .await?
            }
        }))
    }

    /// Revokes one of `user_id`'s tokens (idempotent: the first revocation time is kept).
    pub async fn revoke_api_token(&self, user_id: Uuid, token_id: Uuid) -> Result<()> {
        let updated = dispatch!(self, |pool, dialect| {
            sqlx::query(
                "update api_token set revoked_at = coalesce(revoked_at, $3) \
                 where token_id = $1 and user_id = $2",
            )
            .bind(token_id)
            .bind(user_id)
            .bind(now())
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(updated)
    }
}
