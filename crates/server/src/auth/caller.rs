//! Who is asking: the [`Caller`] every handler gets from `auth::extract`, with the
//! organizations they belong to and what their API token, if any, limits them to.

use chrono::{DateTime, Utc};
use grandma_store::{OrgRole, Role, Scope, Store, User};
use uuid::Uuid;

use crate::auth::scopes::ApiScope;
use crate::error::ApiError;

/// The authenticated caller: the user, their organization memberships (loaded with the user
/// on every request, so a removal takes effect at once) and, for a personal API token, what
/// the token is limited to. Handlers pass it to [`crate::auth::authorize`] and read rows
/// through [`Caller::scope`].
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    /// The organizations the user belongs to, with their role in each.
    pub memberships: Vec<(Uuid, OrgRole)>,
    /// Set when the request came with an API token.
    pub token: Option<TokenGrant>,
}

/// What an API token allows: one organization, some scopes, maybe an expiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    pub token_id: Uuid,
    pub org_id: Uuid,
    pub scopes: Vec<ApiScope>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl Caller {
    /// A caller with every scope (a JWT or a web session), its memberships read from the store.
    pub async fn load(store: &Store, user: User) -> Result<Caller, ApiError> {
        let memberships = store.memberships(user.user_id).await?;
        Ok(Caller {
            user,
            memberships,
            token: None,
        })
    }

    /// The rows the caller sees: an instance admin every organization's, anyone else those of
    /// the organizations they belong to; an API token narrows either to its organization.
    pub fn scope(&self) -> Scope {
        let scope = match self.user.role {
            Role::Admin => Scope::all(),
            Role::User | Role::Readonly => Scope::member(self.user.user_id),
        };
        match &self.token {
            Some(token) => scope.in_org(token.org_id),
            None => scope,
        }
    }

    /// The caller's role in `org`: instance administrators act as owners everywhere.
    pub fn role_in(&self, org: Uuid) -> Option<OrgRole> {
        if self.user.role == Role::Admin {
            return Some(OrgRole::Owner);
        }
        self.memberships
            .iter()
            .find(|(id, _)| *id == org)
            .map(|(_, role)| *role)
    }

    /// Where something created without an explicit organization goes: the token's
    /// organization, else the caller's personal one (whose id is the user's).
    pub fn default_org(&self) -> Uuid {
        self.token
            .as_ref()
            .map_or(self.user.user_id, |token| token.org_id)
    }

    /// Whether the caller may see rows of `org` at all (for filtering live events).
    pub fn sees_org(&self, org: Uuid) -> bool {
        self.token.as_ref().is_none_or(|t| t.org_id == org) && self.role_in(org).is_some()
    }
}
