//! The authenticated caller, extracted from `Authorization: Bearer …` or, without that header,
//! from the web app's session cookie.
//!
//! A bearer credential is either a JWT from `/auth/token` or a personal API token (`gs_…`).
//! Either way the user is loaded fresh from the store, so a deactivation takes effect at once;
//! a JWT must also carry the user's current token version. A request made with the cookie that
//! changes anything must pass the CSRF checks (`auth::csrf`).

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use grandma_store::{Role, Scope, StoreError, User};

use crate::auth::{csrf, session, tokens};
use crate::error::ApiError;
use crate::state::AppState;

const INVALID: &str = "invalid or expired credentials";

/// The caller. Handlers ask it for a scope and for permission to write.
#[derive(Debug, Clone)]
pub struct CurrentUser {
    pub user: User,
}

impl CurrentUser {
    /// Which rows the caller sees: admins all, everyone else their own.
    pub fn scope(&self) -> Scope {
        match self.user.role {
            Role::Admin => Scope::all(),
            Role::User | Role::Readonly => Scope::member(self.user.user_id),
        }
    }

    /// Readonly users never change jobs, runs, schedules or webhooks.
    pub fn require_writer(&self) -> Result<(), ApiError> {
        match self.user.role {
            Role::Admin | Role::User => Ok(()),
            Role::Readonly => Err(ApiError::Forbidden("read-only users cannot make changes")),
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        match self.user.role {
            Role::Admin => Ok(()),
            Role::User | Role::Readonly => Err(ApiError::Forbidden("administrators only")),
        }
    }
}

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Some(header) = parts.headers.get(AUTHORIZATION) else {
            let signed_in = session::of_headers(state, &parts.headers)
                .await?
                .ok_or(ApiError::Unauthorized("not authenticated"))?;
            if !csrf::is_safe(&parts.method) {
                csrf::check_header(&parts.headers, &signed_in.session.csrf_token)?;
            }
            return admit(state, signed_in.user).await;
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
        let user = if tokens::looks_like_api_token(credential) {
            user_of_api_token(state, credential).await?
        } else {
            user_of_jwt(state, credential).await?
        };
        if !user.is_active {
            return Err(ApiError::Unauthorized(INVALID));
        }
        admit(state, user).await
    }
}

/// The last steps for an authenticated user, whatever the credential: the request is
/// attributed to them and counted against their rate limit.
async fn admit(state: &AppState, user: User) -> Result<CurrentUser, ApiError> {
    crate::middleware::request_id::record_user(user.user_id);
    if state.rate_limiter.enabled() {
        let decision = state.rate_limiter.check_user(user.user_id, user.role).await;
        if !decision.allowed {
            return Err(crate::middleware::rate_limit::too_many(decision, "user"));
        }
    }
    Ok(CurrentUser { user })
}

async fn user_of_api_token(state: &AppState, secret: &str) -> Result<User, ApiError> {
    let token = match state.store.use_api_token(&tokens::hash(secret)).await {
        Ok(token) => token,
        Err(StoreError::NotFound) => return Err(ApiError::Unauthorized(INVALID)),
        Err(e) => return Err(e.into()),
    };
    load_user(state, token.user_id).await
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

async fn load_user(state: &AppState, user_id: uuid::Uuid) -> Result<User, ApiError> {
    match state.store.get_user(user_id).await {
        Ok(user) => Ok(user),
        Err(StoreError::NotFound) => Err(ApiError::Unauthorized(INVALID)),
        Err(e) => Err(e.into()),
    }
}

/// The active user a bearer credential (access token or personal API token) belongs to, for
/// callers that cannot send an `Authorization` header (WebSocket clients in browsers).
pub(crate) async fn user_of_credential(
    state: &AppState,
    credential: &str,
) -> Result<User, ApiError> {
    let credential = credential.trim();
    if credential.is_empty() {
        return Err(ApiError::Unauthorized("not authenticated"));
    }
    let user = if tokens::looks_like_api_token(credential) {
        user_of_api_token(state, credential).await?
    } else {
        user_of_jwt(state, credential).await?
    };
    if !user.is_active {
        return Err(ApiError::Unauthorized(INVALID));
    }
    Ok(user)
}
