//! The one decision of who may do what: [`authorize`].
//!
//! Every handler, WebSocket and web page that touches an organization's rows calls it with the
//! [`Caller`], the [`Target`] (an organization, the caller's own account, or the instance) and
//! the [`Action`]; no handler looks at roles itself. The rules, checked in this order:
//!
//! 1. An API token acts only within its scopes (403 naming the missing scope) and only on its
//!    own organization (any other organization's rows are 404, as if they did not exist).
//! 2. Instance actions (accounts, quotas) are for instance administrators only.
//! 3. Instance `readonly` accounts never write, whatever their organization role.
//! 4. In an organization, a non-member gets 404 (ids of other teams do not leak) and a member
//!    whose role is below the action's gets 403 naming the role needed. Instance
//!    administrators act as owners of every organization.

use grandma_store::{OrgRole, Role, Scope};
use uuid::Uuid;

use crate::auth::caller::Caller;
use crate::auth::scopes::ApiScope;
use crate::error::ApiError;

/// What an action is done on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A row of this organization, or the organization itself.
    Org(Uuid),
    /// The caller's own account and what spans all of their organizations (listings over
    /// every organization of theirs, their API tokens, previews).
    Account,
    /// The whole instance (accounts of other users, quotas).
    Instance,
}

/// One kind of operation. Each has a minimum organization role, the token scope it needs,
/// and whether instance `readonly` accounts may do it (see [`Action::rule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    ReadJobs,
    ChangeJobs,
    /// Queue, cancel and delete runs.
    ChangeRuns,
    /// Runs, their items, exports, changes and live progress.
    ReadResults,
    ReadSchedules,
    ChangeSchedules,
    /// Webhooks and their deliveries.
    ReadWebhooks,
    ChangeWebhooks,
    /// The organization, its members, invitations and usage.
    ReadOrg,
    /// Rename or delete the organization.
    ChangeOrg,
    /// Change roles, remove members, invite and revoke invitations.
    ManageMembers,
    /// Leave an organization one belongs to.
    LeaveOrg,
    /// Create a new organization.
    CreateOrg,
    /// Accept an invitation.
    JoinOrg,
    /// Previews, detection and page snapshots: the caller's own drafting tools.
    UseTools,
    /// The caller's own profile and API tokens.
    ManageAccount,
    /// Other users' accounts.
    ManageUsers,
    /// Quota overrides of organizations.
    ManageQuotas,
    /// List every organization of the installation, not only one's own.
    ListEveryOrg,
}

/// What an action requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The lowest organization role allowed, for actions on an organization.
    pub role: OrgRole,
    /// The scope an API token needs; `None`: any token may.
    pub scope: Option<ApiScope>,
    /// Whether instance `readonly` accounts may do it.
    pub readonly_may: bool,
    /// Only instance administrators may do it.
    pub instance_admin: bool,
    /// The action in words, after "cannot" ("change jobs").
    pub what: &'static str,
}

impl Action {
    pub fn rule(self) -> Rule {
        use ApiScope as S;
        use OrgRole::{Editor, Owner, Viewer};
        let (role, scope, readonly_may, instance_admin, what) = match self {
            Action::ReadJobs => (Viewer, Some(S::JobsRead), true, false, "read jobs"),
            Action::ChangeJobs => (Editor, Some(S::JobsWrite), false, false, "change jobs"),
            Action::ChangeRuns => (
                Editor,
                Some(S::RunsWrite),
                false,
                false,
                "start, cancel or delete runs",
            ),
            Action::ReadResults => (Viewer, Some(S::ResultsRead), true, false, "read results"),
            Action::ReadSchedules => (
                Viewer,
                Some(S::SchedulesRead),
                true,
                false,
                "read schedules",
            ),
            Action::ChangeSchedules => (
                Editor,
                Some(S::SchedulesWrite),
                false,
                false,
                "change schedules",
            ),
            Action::ReadWebhooks => (Viewer, Some(S::WebhooksRead), true, false, "read webhooks"),
            Action::ChangeWebhooks => (
                Editor,
                Some(S::WebhooksWrite),
                false,
                false,
                "change webhooks",
            ),
            Action::ReadOrg => (
                Viewer,
                Some(S::OrgRead),
                true,
                false,
                "see this organization",
            ),
            Action::ChangeOrg => (
                Owner,
                Some(S::OrgWrite),
                false,
                false,
                "rename or delete the organization",
            ),
            Action::ManageMembers => (
                Owner,
                Some(S::OrgWrite),
                false,
                false,
                "manage members and invitations",
            ),
            // Leaving and joining change only the caller's own membership, so read-only
            // accounts may: they still cannot write anything inside the organization.
            Action::LeaveOrg => (
                Viewer,
                Some(S::OrgWrite),
                true,
                false,
                "leave the organization",
            ),
            Action::CreateOrg => (
                Viewer,
                Some(S::OrgWrite),
                false,
                false,
                "create organizations",
            ),
            Action::JoinOrg => (Viewer, Some(S::OrgWrite), true, false, "accept invitations"),
            Action::UseTools => (
                Viewer,
                Some(S::JobsWrite),
                true,
                false,
                "preview or detect pages",
            ),
            Action::ManageAccount => (Viewer, None, true, false, "manage this account"),
            Action::ManageUsers => (Viewer, Some(S::Admin), false, true, "manage users"),
            Action::ManageQuotas => (Viewer, Some(S::Admin), false, true, "change quotas"),
            Action::ListEveryOrg => (
                Viewer,
                Some(S::Admin),
                false,
                true,
                "list every organization",
            ),
        };
        Rule {
            role,
            scope,
            readonly_may,
            instance_admin,
            what,
        }
    }

    /// Whether the action writes: instance `readonly` accounts are refused it.
    pub fn writes(self) -> bool {
        !self.rule().readonly_may
    }
}

impl Caller {
    /// [`Caller::scope`] narrowed to `org` when a listing asks for one (`?org_id=`), after
    /// checking the caller may read it: an organization the caller is not in is a 404.
    pub fn scope_in(&self, org: Option<Uuid>, action: Action) -> Result<Scope, ApiError> {
        match org {
            Some(org) => {
                authorize(self, Target::Org(org), action)?;
                Ok(self.scope().in_org(org))
            }
            None => {
                authorize(self, Target::Account, action)?;
                Ok(self.scope())
            }
        }
    }
}

/// Whether `caller` may do `action` on `target`: `Ok`, 404 for an organization the caller
/// cannot see, or 403 naming the missing role or scope.
pub fn authorize(caller: &Caller, target: Target, action: Action) -> Result<(), ApiError> {
    let rule = action.rule();
    if let Some(token) = &caller.token {
        if let Some(needed) = rule.scope
            && !token.scopes.contains(&needed)
        {
            return Err(ApiError::Denied(format!(
                "this API token lacks the scope {needed}"
            )));
        }
        if let Target::Org(org) = target
            && org != token.org_id
        {
            return Err(ApiError::NotFound);
        }
    }
    let admin = caller.user.role == Role::Admin;
    if rule.instance_admin && !admin {
        return Err(ApiError::Denied(format!(
            "only instance administrators can {}",
            rule.what
        )));
    }
    if caller.user.role == Role::Readonly && !rule.readonly_may {
        return Err(ApiError::Denied(format!(
            "read-only accounts cannot {}",
            rule.what
        )));
    }
    let Target::Org(org) = target else {
        return Ok(());
    };
    let role = caller.role_in(org).ok_or(ApiError::NotFound)?;
    if !role.includes(rule.role) {
        return Err(ApiError::Denied(format!(
            "{} of this organization cannot {}: ask an owner for the {} role",
            plural(role),
            rule.what,
            rule.role.as_str()
        )));
    }
    Ok(())
}

fn plural(role: OrgRole) -> &'static str {
    match role {
        OrgRole::Owner => "owners",
        OrgRole::Editor => "editors",
        OrgRole::Viewer => "viewers",
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use grandma_store::{Secret, User};

    use super::*;
    use crate::auth::caller::TokenGrant;

    fn caller(role: Role, memberships: &[(Uuid, OrgRole)]) -> Caller {
        let now = Utc::now();
        Caller {
            user: User {
                user_id: Uuid::now_v7(),
                email: "someone@example.com".into(),
                password_hash: Secret("x".into()),
                role,
                is_active: true,
                token_version: 0,
                created_at: now,
                updated_at: now,
                username: None,
            },
            memberships: memberships.to_vec(),
            token: None,
        }
    }

    fn refusal(result: Result<(), ApiError>) -> String {
        match result {
            Err(ApiError::Denied(why)) => why,
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[test]
    fn roles_rank_viewer_editor_owner() {
        let org = Uuid::now_v7();
        for (role, reads, edits, owns) in [
            (OrgRole::Viewer, true, false, false),
            (OrgRole::Editor, true, true, false),
            (OrgRole::Owner, true, true, true),
        ] {
            let who = caller(Role::User, &[(org, role)]);
            let target = Target::Org(org);
            assert_eq!(authorize(&who, target, Action::ReadJobs).is_ok(), reads);
            assert_eq!(authorize(&who, target, Action::ChangeRuns).is_ok(), edits);
            assert_eq!(authorize(&who, target, Action::ManageMembers).is_ok(), owns);
        }
        let viewer = caller(Role::User, &[(org, OrgRole::Viewer)]);
        assert_eq!(
            refusal(authorize(
                &viewer,
                Target::Org(org),
                Action::ChangeSchedules
            )),
            "viewers of this organization cannot change schedules: ask an owner for the editor role"
        );
    }

    #[test]
    fn other_orgs_do_not_exist_for_members_but_do_for_admins() {
        let (mine, theirs) = (Uuid::now_v7(), Uuid::now_v7());
        let member = caller(Role::User, &[(mine, OrgRole::Owner)]);
        assert!(matches!(
            authorize(&member, Target::Org(theirs), Action::ReadJobs),
            Err(ApiError::NotFound)
        ));
        let admin = caller(Role::Admin, &[]);
        assert!(authorize(&admin, Target::Org(theirs), Action::ChangeOrg).is_ok());
        assert!(authorize(&admin, Target::Instance, Action::ManageUsers).is_ok());
        assert_eq!(
            refusal(authorize(&member, Target::Instance, Action::ManageQuotas)),
            "only instance administrators can change quotas"
        );
    }

    #[test]
    fn read_only_accounts_never_write() {
        let org = Uuid::now_v7();
        let reader = caller(Role::Readonly, &[(org, OrgRole::Owner)]);
        assert!(authorize(&reader, Target::Org(org), Action::ReadResults).is_ok());
        assert!(authorize(&reader, Target::Org(org), Action::LeaveOrg).is_ok());
        assert_eq!(
            refusal(authorize(&reader, Target::Org(org), Action::ChangeJobs)),
            "read-only accounts cannot change jobs"
        );
        assert!(authorize(&reader, Target::Account, Action::CreateOrg).is_err());
    }

    #[test]
    fn tokens_act_in_their_org_within_their_scopes() {
        let (org, other) = (Uuid::now_v7(), Uuid::now_v7());
        let mut admin = caller(Role::Admin, &[]);
        admin.token = Some(TokenGrant {
            token_id: Uuid::now_v7(),
            org_id: org,
            scopes: vec![ApiScope::JobsRead],
            expires_at: None,
        });
        assert!(authorize(&admin, Target::Org(org), Action::ReadJobs).is_ok());
        assert!(matches!(
            authorize(&admin, Target::Org(other), Action::ReadJobs),
            Err(ApiError::NotFound)
        ));
        assert_eq!(
            refusal(authorize(&admin, Target::Org(org), Action::ChangeRuns)),
            "this API token lacks the scope runs:write"
        );
        assert_eq!(
            refusal(authorize(&admin, Target::Instance, Action::ManageUsers)),
            "this API token lacks the scope admin"
        );
        assert_eq!(admin.scope(), grandma_store::Scope::all().in_org(org));
    }
}
