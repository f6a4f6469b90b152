//! `organization`, `org_member`, `org_invitation`: who shares which jobs, with which role.
//!
//! Every account has a personal organization whose id is the account's own id, made with the
//! account. Shared organizations are made by a member, who becomes their owner. An
//! organization always keeps at least one owner.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::db::{Store, now};
use crate::email::Email;
use crate::error::{Result, StoreError};
use crate::types::OrgRole;
use crate::users::found;

/// The longest organization name.
pub const MAX_ORG_NAME_CHARS: usize = 100;

/// An organization as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Org {
    pub org_id: Uuid,
    pub name: String,
    /// The account whose personal organization this is; `None` for shared ones.
    pub personal_of: Option<Uuid>,
    /// Quota overrides set by an instance admin; `None` means the instance default.
    #[sqlx(flatten)]
    pub quotas: OrgQuotas,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Org {
    pub fn is_personal(&self) -> bool {
        self.personal_of.is_some()
    }
}

/// An organization's own limits; `None` leaves the instance default in force.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct OrgQuotas {
    pub max_jobs: Option<i32>,
    pub max_runs_per_day: Option<i32>,
    pub max_concurrent_runs: Option<i32>,
    pub max_stored_items: Option<i64>,
    pub max_schedules: Option<i32>,
}

/// An organization with the caller's role in it.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgOfMember {
    pub org: Org,
    pub role: OrgRole,
}

/// A member as listed: the membership and who it is.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OrgMember {
    pub org_id: Uuid,
    pub user_id: Uuid,
    pub role: OrgRole,
    /// When they joined.
    pub created_at: DateTime<Utc>,
    pub email: String,
    pub username: Option<String>,
}

/// An invitation as stored (its secret is not: only its hash).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Invitation {
    pub invitation_id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: OrgRole,
    pub invited_by: Option<Uuid>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// An invitation to store.
#[derive(Debug, Clone)]
pub struct NewInvitation {
    pub org_id: Uuid,
    pub email: Email,
    pub role: OrgRole,
    /// Hex SHA-256 of the link's secret.
    pub token_hash: String,
    pub invited_by: Uuid,
    pub expires_at: DateTime<Utc>,
}

/// What became of an attempt to accept an invitation.
#[derive(Debug, Clone, PartialEq)]
pub enum Acceptance {
    /// The account is now a member with the invitation's role (or kept a higher role it
    /// already had).
    Joined { org: Org, role: OrgRole },
    /// No invitation has this secret (never issued, or revoked).
    Unknown,
    /// It expired at this time.
    Expired { expired_at: DateTime<Utc> },
    /// It was accepted already; an invitation works once.
    AlreadyUsed,
    /// It was sent to another e-mail address than the account's.
    OtherEmail,
}

/// Inside a write transaction: refuses (returns `Refused`) when `user_id` is the only owner
/// of `org_id`, or `org_id` is `user_id`'s personal organization, so that every organization
/// keeps an owner.
macro_rules! keep_an_owner {
    ($tx:ident, $org_id:expr, $user_id:expr) => {{
        let personal: Option<Uuid> =
            sqlx::query_scalar("select personal_of from organization where org_id = $1")
                .bind($org_id)
                .fetch_one(&mut *$tx)
                .await?;
        if personal == Some($user_id) {
            return Err(StoreError::Refused(
                "nobody leaves or stops owning their personal organization",
            ));
        }
        let other_owners: i64 = sqlx::query_scalar(
            "select count(*) from org_member where org_id = $1 and role = 'owner' \
             and user_id <> $2",
        )
        .bind($org_id)
        .bind($user_id)
        .fetch_one(&mut *$tx)
        .await?;
        if other_owners == 0 {
            return Err(StoreError::Refused(
                "an organization needs an owner: make another member an owner first",
            ));
        }
    }};
}

/// An organization's name made from an account's e-mail address or display name, cut to the
/// longest allowed name.
pub(crate) fn personal_name(name: &str) -> String {
    name.chars().take(MAX_ORG_NAME_CHARS).collect()
}

/// An invitation's organization, address, role, expiry and acceptance, as read to accept it.
type InvitationState = (Uuid, String, OrgRole, DateTime<Utc>, Option<DateTime<Utc>>);

impl Store {
    /// Makes a shared organization with `creator` as its owner.
    pub async fn create_org(&self, name: &str, creator: Uuid) -> Result<Org> {
        let at = now();
        let org_id = Uuid::now_v7();
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let org: Org = sqlx::query_as(
                "insert into organization (org_id, name, personal_of, created_at, updated_at) \
                 values ($1, $2, null, $3, $3) returning *",
            )
            .bind(org_id)
            .bind(name)
            .bind(at)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "insert into org_member (org_id, user_id, role, created_at) values ($1, $2, $3, $4)",
            )
            .bind(org_id)
            .bind(creator)
            .bind(OrgRole::Owner)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            org
        }))
    }

    pub async fn get_org(&self, org_id: Uuid) -> Result<Org> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as("select * from organization where org_id = $1")
                .bind(org_id)
                .fetch_one(pool)
                .await?
        }))
    }

    /// Every organization, by name (instance administration).
    pub async fn list_all_orgs(&self) -> Result<Vec<Org>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as("select * from organization order by name, org_id")
                .fetch_all(pool)
                .await?
        }))
    }

    /// The organizations `user_id` belongs to with their role, personal first, then by name.
    pub async fn list_orgs_of(&self, user_id: Uuid) -> Result<Vec<OrgOfMember>> {
        let rows: Vec<(OrgRole, Org)> = dispatch!(self, |pool, dialect| {
            let rows = sqlx::query(
                "select m.role, o.* from org_member m \
                 join organization o on o.org_id = m.org_id where m.user_id = $1 \
                 order by case when o.personal_of is null then 1 else 0 end, o.name, o.org_id",
            )
            .bind(user_id)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    use sqlx::{FromRow, Row};
                    Ok((row.try_get("role")?, Org::from_row(row)?))
                })
                .collect::<std::result::Result<Vec<_>, sqlx::Error>>()?
        });
        Ok(rows
            .into_iter()
            .map(|(role, org)| OrgOfMember { org, role })
            .collect())
    }

    /// `user_id`'s role in each of their organizations: what every request is authorized by.
    pub async fn memberships(&self, user_id: Uuid) -> Result<Vec<(Uuid, OrgRole)>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as("select org_id, role from org_member where user_id = $1")
                .bind(user_id)
                .fetch_all(pool)
                .await?
        }))
    }

    pub async fn rename_org(&self, org_id: Uuid, name: &str) -> Result<Org> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "update organization set name = $2, updated_at = $3 where org_id = $1 returning *",
            )
            .bind(org_id)
            .bind(name)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Sets an organization's quota overrides (`None`: back to the instance default).
    pub async fn set_org_quotas(&self, org_id: Uuid, quotas: &OrgQuotas) -> Result<Org> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "update organization set max_jobs = $2, max_runs_per_day = $3, \
                 max_concurrent_runs = $4, max_stored_items = $5, max_schedules = $6, \
                 updated_at = $7 where org_id = $1 returning *",
            )
            .bind(org_id)
            .bind(quotas.max_jobs)
            .bind(quotas.max_runs_per_day)
            .bind(quotas.max_concurrent_runs)
            .bind(quotas.max_stored_items)
            .bind(quotas.max_schedules)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }

    /// Deletes a shared organization with everything it owns. A personal organization goes
    /// only with its account: `Refused`.
    pub async fn delete_org(&self, org_id: Uuid) -> Result<()> {
        let org = self.get_org(org_id).await?;
        if org.is_personal() {
            return Err(StoreError::Refused(
                "a personal organization is deleted only with its account",
            ));
        }
        let deleted = dispatch!(self, |pool, dialect| {
            sqlx::query("delete from organization where org_id = $1 and personal_of is null")
                .bind(org_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        found(deleted)
    }

    /// The members of an organization, owners first, then by e-mail.
    pub async fn list_members(&self, org_id: Uuid) -> Result<Vec<OrgMember>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select m.org_id, m.user_id, m.role, m.created_at, u.email, u.username \
                 from org_member m join app_user u on u.user_id = m.user_id \
                 where m.org_id = $1 \
                 order by case m.role when 'owner' then 0 when 'editor' then 1 else 2 end, \
                 u.email",
            )
            .bind(org_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Changes a member's role. The last owner cannot become less than an owner: `Refused`;
    /// the owner of a personal organization neither.
    pub async fn set_member_role(&self, org_id: Uuid, user_id: Uuid, role: OrgRole) -> Result<()> {
        dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let current: OrgRole = sqlx::query_scalar(
                "select role from org_member where org_id = $1 and user_id = $2",
            )
            .bind(org_id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if current == OrgRole::Owner && role != OrgRole::Owner {
                keep_an_owner!(tx, org_id, user_id);
            }
            sqlx::query("update org_member set role = $3 where org_id = $1 and user_id = $2")
                .bind(org_id)
                .bind(user_id)
                .bind(role)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Removes a member (or a member leaves). The last owner cannot leave, and nobody leaves
    /// their personal organization: `Refused`. Jobs, schedules and webhooks they created stay
    /// with the organization; their API tokens for it are revoked, so that a later invitation
    /// back does not bring old tokens, perhaps long forgotten, back to life.
    pub async fn remove_member(&self, org_id: Uuid, user_id: Uuid) -> Result<()> {
        dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let role: OrgRole = sqlx::query_scalar(
                "select role from org_member where org_id = $1 and user_id = $2",
            )
            .bind(org_id)
            .bind(user_id)
            .fetch_one(&mut *tx)
            .await?;
            if role == OrgRole::Owner {
                keep_an_owner!(tx, org_id, user_id);
            }
            sqlx::query("delete from org_member where org_id = $1 and user_id = $2")
                .bind(org_id)
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "update api_token set revoked_at = $3 \
                 where org_id = $1 and user_id = $2 and revoked_at is null",
            )
            .bind(org_id)
            .bind(user_id)
            .bind(now())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn create_invitation(&self, invitation: &NewInvitation) -> Result<Invitation> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "insert into org_invitation (invitation_id, org_id, email, role, token_hash, \
                 invited_by, expires_at, created_at) values ($1, $2, $3, $4, $5, $6, $7, $8) \
                 returning invitation_id, org_id, email, role, invited_by, expires_at, \
                 accepted_at, accepted_by, created_at",
            )
            .bind(Uuid::now_v7())
            .bind(invitation.org_id)
            .bind(invitation.email.as_str())
            .bind(invitation.role)
            .bind(&invitation.token_hash)
            .bind(invitation.invited_by)
            .bind(invitation.expires_at)
            .bind(now())
            .fetch_one(pool)
            .await?
        }))
    }

    /// An organization's invitations, newest first, accepted and expired ones included.
    pub async fn list_invitations(&self, org_id: Uuid) -> Result<Vec<Invitation>> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select invitation_id, org_id, email, role, invited_by, expires_at, \
                 accepted_at, accepted_by, created_at from org_invitation where org_id = $1 \
                 order by created_at desc, invitation_id desc",
            )
            .bind(org_id)
            .fetch_all(pool)
            .await?
        }))
    }

    /// The invitation with this secret's hash, whatever its state (the page that shows it).
    pub async fn get_invitation_by_hash(&self, token_hash: &str) -> Result<Invitation> {
        Ok(dispatch!(self, |pool, dialect| {
            sqlx::query_as(
                "select invitation_id, org_id, email, role, invited_by, expires_at, \
                 accepted_at, accepted_by, created_at from org_invitation where token_hash = $1",
            )
            .bind(token_hash)
            .fetch_one(pool)
            .await?
        }))
    }

    /// Revokes (deletes) an invitation of `org_id` that was not accepted yet.
    pub async fn revoke_invitation(&self, org_id: Uuid, invitation_id: Uuid) -> Result<()> {
        let deleted = dispatch!(self, |pool, dialect| {
            sqlx::query(
                "delete from org_invitation where invitation_id = $1 and org_id = $2 \
                 and accepted_at is null",
            )
            .bind(invitation_id)
            .bind(org_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(deleted)
    }

    /// Accepts the invitation with this secret's hash for `user_id` whose address is `email`.
    /// Checking and using it are one transaction, so of two acceptances of the same link only
    /// one joins. A member already in the organization keeps the higher of the two roles.
    pub async fn accept_invitation(
        &self,
        token_hash: &str,
        user_id: Uuid,
        email: &str,
    ) -> Result<Acceptance> {
        let at = now();
        let email = email.trim().to_lowercase();
        Ok(dispatch!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin_write()).await?;
            let found: Option<InvitationState> = sqlx::query_as(dialect.pick(
                "select org_id, email, role, expires_at, accepted_at from org_invitation \
                     where token_hash = $1",
                "select org_id, email, role, expires_at, accepted_at from org_invitation \
                     where token_hash = $1 for update",
            ))
            .bind(token_hash)
            .fetch_optional(&mut *tx)
            .await?;
            let acceptance = match found {
                None => Acceptance::Unknown,
                Some((_, _, _, _, Some(_))) => Acceptance::AlreadyUsed,
                Some((_, _, _, expires_at, None)) if expires_at <= at => Acceptance::Expired {
                    expired_at: expires_at,
                },
                Some((_, invited, _, _, None)) if invited != email => Acceptance::OtherEmail,
                Some((org_id, _, invited_role, _, None)) => {
                    let existing: Option<OrgRole> = sqlx::query_scalar(
                        "select role from org_member where org_id = $1 and user_id = $2",
                    )
                    .bind(org_id)
                    .bind(user_id)
                    .fetch_optional(&mut *tx)
                    .await?;
                    let role = match existing {
                        Some(current) if current.includes(invited_role) => current,
                        Some(_) => {
                            sqlx::query(
                                "update org_member set role = $3 \
                                 where org_id = $1 and user_id = $2",
                            )
                            .bind(org_id)
                            .bind(user_id)
                            .bind(invited_role)
                            .execute(&mut *tx)
                            .await?;
                            invited_role
                        }
                        None => {
                            sqlx::query(
                                "insert into org_member (org_id, user_id, role, created_at) \
                                 values ($1, $2, $3, $4)",
                            )
                            .bind(org_id)
                            .bind(user_id)
                            .bind(invited_role)
                            .bind(at)
                            .execute(&mut *tx)
                            .await?;
                            invited_role
                        }
                    };
                    sqlx::query(
                        "update org_invitation set accepted_at = $2, accepted_by = $3 \
                         where token_hash = $1",
                    )
                    .bind(token_hash)
                    .bind(at)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                    let org: Org = sqlx::query_as("select * from organization where org_id = $1")
                        .bind(org_id)
                        .fetch_one(&mut *tx)
                        .await?;
                    Acceptance::Joined { org, role }
                }
            };
            tx.commit().await?;
            acceptance
        }))
    }
}
