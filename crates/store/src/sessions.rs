//! `web_session`: the web app's server-side sessions. Callers hash the cookie's token
//! (SHA-256) before it reaches the store; the token itself is never stored.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now, stored_time};
use crate::error::Result;
use crate::users::{User, found};

/// A session as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct WebSession {
    pub session_id: Uuid,
    pub user_id: Uuid,
    /// Hex SHA-256 of the cookie's token.
    pub token_hash: String,
    /// What state-changing requests made with the cookie must send back.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewWebSession {
    pub user_id: Uuid,
    pub token_hash: String,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Stores a new session and, in passing, deletes the user's expired ones.
    pub async fn create_web_session(&self, session: &NewWebSession) -> Result<WebSession> {
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query("delete from web_session where user_id = $1 and expires_at <= $2")
                .bind(session.user_id)
                .bind(at)
                .execute(pool)
                .await?;
            sqlx::query_as(
                "insert into web_session \
                 (session_id, user_id, token_hash, csrf_token, created_at, expires_at) \
                 values ($1, $2, $3, $4, $5, $6) returning *",
            )
            .bind(Uuid::now_v7())
            .bind(session.user_id)
            .bind(&session.token_hash)
            .bind(&session.csrf_token)
            .bind(at)
            .bind(stored_time(session.expires_at))
            .fetch_one(pool)
            .await?
        }))
    }

    /// The unexpired session with this token hash and its user (active or not: the caller
    /// decides); `NotFound` otherwise.
    pub async fn web_session(&self, token_hash: &str) -> Result<(WebSession, User)> {
        let at = now();
        let session: WebSession = dispatch!(self, |pool, dialect| {
            sqlx::query_as("select * from web_session where token_hash = $1 and expires_at > $2")
                .bind(token_hash)
                .bind(at)
                .fetch_one(pool)
                .await?
        });
        let user = self.get_user(session.user_id).await?;
        Ok((session, user))
    }

    /// Ends the session with this token hash (signing out); `NotFound` if there was none.
    pub async fn delete_web_session(&self, token_hash: &str) -> Result<()> {
        let deleted = dispatch!(self, |pool, dialect| {
            sqlx::query("delete from web_session where token_hash = $1")
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(deleted)
    }

    /// Ends every session of a user (deactivation, password change); returns how many.
    pub async fn delete_web_sessions_of(&self, user_id: Uuid) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query("delete from web_session where user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?
                .rows_affected()
        }))
    }

    /// Every account, active or not (none: the server is still waiting for its first admin).
    pub async fn count_users(&self) -> Result<i64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_scalar("select count(*) from app_user")
                .fetch_one(pool)
                .await?
        }))
    }
}
