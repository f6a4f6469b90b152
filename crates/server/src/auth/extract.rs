//! The authenticated [`Caller`], extracted from `Authorization: Bearer …` or, without that header,
//! from the web app's session cookie.
//!
//! A bearer credential is either a JWT from `/auth/token` or a personal API token (`gs_…`).
//! Either way the user is loaded fresh from the store, so a deactivation takes effect at once;
//! a JWT must also carry the user's current token version. A request made with the cookie that
//! changes anything must pass the CSRF checks (`auth::csrf`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use grandma_store::{OrgRole, Role, Scope, Store, StoreError, User};
use uuid::Uuid;

use crate::auth::authorize::{Action, ApiScope, Target, authorize};
use crate::auth::{csrf, session, tokens};
use crate::error::ApiError;
use crate::state::AppState;

const INVALID: &str = "invalid or expired credentials";

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

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            let signed_in = session::of_headers(state, &parts.headers)
                .await?
                .ok_or(ApiError::Unauthorized("not authenticated"))?;
            if !csrf::is_safe(&parts.method) {
                csrf::check_header(&parts.headers, &signed_in.session.csrf_token)?;
            }
            let caller = Caller::load(&state.store, signed_in.user).await?;
            return admit(state, caller).await;
        };
        let credential = header
            .to_str()
            .ok()
            .and_then(|h| {
                let (scheme, rest) = h.split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
            })
            .filter(|c| !c.is_empty())
            .ok_or(ApiError::Unauthorized("expected a bearer token"))?;
        let caller = caller_of_bearer(state, credential).await?;
        admit(state, caller).await
    }
}

/// The last steps for an authenticated caller, whatever the credential: the request is
/// attributed to them and counted against their rate limit.
async fn admit(state: &AppState, caller: Caller) -> Result<Caller, ApiError> {
    crate::middleware::request_id::record_user(caller.user.user_id);
    if state.rate_limiter.enabled() {
        let decision = state
            .rate_limiter
            .check_user(caller.user.user_id, caller.user.role)
            .await;
        if !decision.allowed {
            return Err(crate::middleware::rate_limit::too_many(decision, "user"));
        }
    }
    Ok(caller)
}

/// The active caller of a bearer credential: an access token (JWT) or a personal API token.
async fn caller_of_bearer(state: &AppState, credential: &str) -> Result<Caller, ApiError> {
    let caller = if tokens::looks_like_api_token(credential) {
        caller_of_api_token(state, credential).await?
    } else {
        let user = user_of_jwt(state, credential).await?;
        Caller::load(&state.store, user).await?
    };
    if !caller.user.is_active {
        return Err(ApiError::Unauthorized(INVALID));
    }
    Ok(caller)
}

async fn caller_of_api_token(state: &AppState, secret: &str) -> Result<Caller, ApiError> {
    let token = match state.store.use_api_token(&tokens::hash(secret)).await {
        Ok(token) => token,
        Err(StoreError::NotFound) => return Err(ApiError::Unauthorized(INVALID)),
        Err(e) => return Err(e.into()),
    };
    if let Some(expired) = token.expires_at.filter(|at| *at <= Utc::now()) {
        return Err(ApiError::Expired(format!(
            "this API token expired on {}",
            expired.format("%Y-%m-%d %H:%M UTC")
        )));
    }
    let user = load_user(state, token.user_id).await?;
    let mut caller = Caller::load(&state.store, user).await?;
    caller.token = Some(TokenGrant {
        token_id: token.token_id,
        org_id: token.org_id,
        // A scope this server no longer knows grants nothing.
        scopes: token.scopes.iter().filter_map(|s| s.parse().ok()).collect(),
        expires_at: token.expires_at,
    });
    Ok(caller)
}

async fn user_of_jwt(state: &AppState, token: &str) -> Result<User, ApiError> {
    let claims = state
        .jwt
        .verify(token)
        .map_err(|_| ApiError::Unauthorized(INVALID))?;
    let user = load_user(state, claims.sub).await?;
    if user.token_version != claims.ver {
        return Err(ApiError::Unauthorized(INVALID));
    }
    Ok(user)
}

async fn load_user(state: &AppState, user_id: Uuid) -> Result<User, ApiError> {
    match state.store.get_user(user_id).await {
        Ok(user) => Ok(user),
        Err(StoreError::NotFound) => Err(ApiError::Unauthorized(INVALID)),
        Err(e) => Err(e.into()),
    }
}

/// The active caller of a bearer credential (access token or personal API token), for
/// callers that cannot send an `Authorization` header (WebSocket clients in browsers).
pub(crate) async fn caller_of_credential(
    state: &AppState,
    credential: &str,
) -> Result<Caller, ApiError> {
    let credential = credential.trim();
    if credential.is_empty() {
        return Err(ApiError::Unauthorized("not authenticated"));
    }
    caller_of_bearer(state, credential).await
}
