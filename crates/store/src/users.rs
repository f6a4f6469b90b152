//! `app_user`: accounts, roles and the token version that invalidates old JWTs.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::email::Email;
use crate::error::Result;
use crate::types::{Page, Paging, Role, Secret};

/// An account as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct User {
    pub user_id: Uuid,
    pub email: String,
    pub password_hash: Secret,
    pub role: Role,
    pub is_active: bool,
    /// Copied into issued JWTs; a token with an older version is refused.
    pub token_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// An optional display name, 1 to 100 characters; never used to log in.
    pub username: Option<String>,
}

/// A new account.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub password_hash: Secret,
    pub role: Role,
    pub is_active: bool,
}

/// A partial update; `None` leaves the column as it is.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub email: Option<Email>,
    /// A new password hash; bumps `token_version`.
    pub password_hash: Option<Secret>,
    pub role: Option<Role>,
    /// `Some(false)` deactivates and bumps `token_version`.
    pub is_active: Option<bool>,
    /// `Some(name)` sets the display name, `Some(None)` removes it.
    pub username: Option<Option<String>>,
}

/// Lookups compare as [`Email`] stores: trimmed and lower-cased.
fn normalise_email(email: &str) -> String {
    email.trim().to_lowercase()
}

impl Store {
    /// Creates an account with its personal organization (whose id is the account's, and
    /// whose owner it is), in one transaction; a taken e-mail address is a `Conflict` on
    /// [`crate::Constraint::UserEmail`].
    pub async fn create_user(&self, user: &NewUser) -> Result<User> {
        let at = now();
        let user_id = Uuid::now_v7();
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let created: User = sqlx::query_as(
                "insert into app_user (user_id, email, password_hash, role, is_active, \
                 token_version, created_at, updated_at) \
                 values ($1, $2, $3, $4, $5, 0, $6, $6) returning *",
            )
            .bind(user_id)
            .bind(user.email.as_str())
            .bind(&user.password_hash)
            .bind(user.role)
            .bind(user.is_active)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "insert into organization (org_id, name, personal_of, created_at, updated_at) \
                 values ($1, $2, $1, $3, $3)",
            )
            .bind(user_id)
            .bind(crate::orgs::personal_name(user.email.as_str()))
            .bind(at)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "insert into org_member (org_id, user_id, role, created_at) \
                 values ($1, $1, 'owner', $2)",
            )
            .bind(user_id)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            created
        }))
    }

    pub async fn get_user(&self, user_id: Uuid) -> Result<User> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as("select * from app_user where user_id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Looks an account up by e-mail, case-insensitively, active or not (the caller decides
    /// what an inactive account may do).
    pub async fn get_user_by_email(&self, email: &str) -> Result<User> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as("select * from app_user where email = $1")
                .bind(normalise_email(email))
                .fetch_one(pool)
                .await?
        }))
    }

    /// The active account with this e-mail (login); inactive accounts are `NotFound`.
    pub async fn get_active_user_by_email(&self, email: &str) -> Result<User> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(SQL_ACTIVE_USER_BY_EMAIL)
                .bind(normalise_email(email))
                .bind(true)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Accounts, oldest first.
    pub async fn list_users(&self, paging: Paging) -> Result<Page<User>> {
        let (items, total) = dispatch!(self, |pool, dialect| {
            let items: Vec<User> = sqlx::query_as(
                "select * from app_user order by created_at, user_id limit $1 offset $2",
            )
            .bind(paging.limit)
            .bind(paging.offset)
            .fetch_all(pool)
            .await?;
            let total: i64 = sqlx::query_scalar("select count(*) from app_user")
                .fetch_one(pool)
                .await?;
            (items, total)
        });
        Ok(Page { items, total })
    }

    /// Applies `patch`. A new password or a deactivation bumps `token_version`, so every JWT
    /// issued before stops working.
    pub async fn update_user(&self, user_id: Uuid, patch: &UserPatch) -> Result<User> {
        self.update_user_if(user_id, patch, None)
            .await?
            .ok_or(crate::error::StoreError::NotFound)
    }

    /// Applies `patch` like [`Store::update_user`], only if the account's `updated_at` is
    /// still `unchanged_since` (when given): the compare and the write are one statement.
    /// `None`: no such account, or it was written since (and nothing, tokens included,
    /// changed).
    pub async fn update_user_if(
        &self,
        user_id: Uuid,
        patch: &UserPatch,
        unchanged_since: Option<DateTime<Utc>>,
    ) -> Result<Option<User>> {
        let bump = i32::from(patch.password_hash.is_some() || patch.is_active == Some(false));
        let at = now();
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let user: Option<User> = sqlx::query_as(
                "update app_user set \
                 email = coalesce($2, email), \
                 password_hash = coalesce($3, password_hash), \
                 role = coalesce($4, role), \
                 is_active = coalesce($5, is_active), \
                 token_version = token_version + $6, \
                 updated_at = $7, \
                 username = case when $8 then $9 else username end \
                 where user_id = $1 and ($10 is null or updated_at = $10) returning *",
            )
            .bind(user_id)
            .bind(patch.email.as_ref().map(Email::as_str))
            .bind(patch.password_hash.as_ref())
            .bind(patch.role)
            .bind(patch.is_active)
            .bind(bump)
            .bind(at)
            .bind(patch.username.is_some())
            .bind(patch.username.clone().flatten())
            .bind(unchanged_since)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(user) = user else {
                return Ok(None);
            };
            // What ends a user's sessions (a new password, deactivation) must end their API
            // tokens too: a token minted in a stolen session would otherwise outlive the
            // password change, and a reactivated account would get its old tokens back.
            if bump == 1 {
                sqlx::query(
                    "update api_token set revoked_at = $2 \
                     where user_id = $1 and revoked_at is null",
                )
                .bind(user_id)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Some(user)
        }))
    }

    /// Deletes the account with its personal organization and everything in it. What it
    /// created in shared organizations stays there, handed to another owner; a shared
    /// organization it was the only member of goes with it. `Refused` while it is the last
    /// owner of an organization with other members.
    pub async fn delete_user(&self, user_id: Uuid) -> Result<()> {
        found(self.delete_user_if(user_id, None).await?)
    }

    /// Deletes the account like [`Store::delete_user`], only if its `updated_at` is still
    /// `unchanged_since` (when given), in one statement. Returns the rows deleted (0 or 1).
    pub async fn delete_user_if(
        &self,
        user_id: Uuid,
        unchanged_since: Option<DateTime<Utc>>,
    ) -> Result<u64> {
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let orphaned: i64 = sqlx::query_scalar(SQL_ORGS_LEFT_WITHOUT_OWNER)
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
            if orphaned > 0 {
                return Err(crate::error::StoreError::Refused(
                    "this account is the last owner of an organization with other members: \
                     make another member an owner first",
                ));
            }
            sqlx::query(
                "delete from organization where personal_of is null and org_id in \
                 (select org_id from org_member where user_id = $1) and not exists \
                 (select 1 from org_member m where m.org_id = organization.org_id \
                 and m.user_id <> $1)",
            )
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
            for table in ["job", "result", "schedule", "webhook"] {
                // The table names come from the list above, never from input.
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "update {table} set owner_id = (select m.user_id from org_member m \
                     where m.org_id = {table}.org_id and m.role = 'owner' and m.user_id <> $1 \
                     order by m.created_at, m.user_id limit 1) \
                     where owner_id = $1 and org_id <> $1"
                )))
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            }
            let deleted = sqlx::query(
                "delete from app_user where user_id = $1 and ($2 is null or updated_at = $2)",
            )
            .bind(user_id)
            .bind(unchanged_since)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            deleted
        }))
    }

    /// Active admins (the last one must not be demoted or deleted).
    pub async fn count_admins(&self) -> Result<i64> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_scalar("select count(*) from app_user where role = $1 and is_active = $2")
                .bind(Role::Admin)
                .bind(true)
                .fetch_one(pool)
                .await?
        }))
    }
}

/// How many organizations `$1` is the only owner of while others are members.
const SQL_ORGS_LEFT_WITHOUT_OWNER: &str = "select count(*) from org_member mine \
     where mine.user_id = $1 and mine.role = 'owner' \
     and not exists (select 1 from org_member o where o.org_id = mine.org_id \
     and o.role = 'owner' and o.user_id <> $1) \
     and exists (select 1 from org_member o where o.org_id = mine.org_id and o.user_id <> $1)";

/// Login lookup; `idx_user_email_active` serves it.
pub(crate) const SQL_ACTIVE_USER_BY_EMAIL: &str =
    "select * from app_user where email = $1 and is_active = $2";

/// `NotFound` when a write by id touched no row.
pub(crate) fn found(rows_affected: u64) -> Result<()> {
    if rows_affected == 0 {
        Err(crate::error::StoreError::NotFound)
    } else {
        Ok(())
    }
}
