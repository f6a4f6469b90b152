//! `/auth`: registration, the OAuth2 password flow and personal API tokens.

use axum::Json;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use grandma_shared::accounts::{NewAccount, check_username, password};
use grandma_store::{ApiToken, NewApiToken, Role, Secret, StoreError, UserPatch};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, ApiScope, Caller, Target, authorize, tokens};
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiForm, ApiJson, ApiPath};
use crate::routes::users::UserOut;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(issue_token))
        .routes(routes!(create_api_token, list_api_tokens))
        .routes(routes!(revoke_api_token))
}

/// A new account.
#[derive(Debug, Deserialize, ToSchema)]
pub struct RegisterIn {
    pub email: String,
    /// An optional display name, 1 to 100 characters (the earlier API's `username`).
    #[schema(min_length = 1, max_length = 100)]
    pub username: Option<String>,
    /// At least 8 characters.
    #[schema(format = Password, min_length = 8, max_length = 1024)]
    pub password: String,
}

/// OAuth2 password grant (`application/x-www-form-urlencoded`).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenIn {
    /// The account's e-mail address.
    pub username: String,
    #[schema(format = Password)]
    pub password: String,
    /// Ignored; accepted because OAuth2 clients send it.
    pub grant_type: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ApiTokenIn {
    /// A label to recognise the token by, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// The one organization the token acts in (default: the caller's personal organization,
    /// or, when created with an API token, that token's organization).
    pub org_id: Option<Uuid>,
    /// What the token may do (default: every scope): `jobs:read`, `jobs:write`, `runs:write`,
    /// `results:read`, `schedules:read`, `schedules:write`, `webhooks:read`,
    /// `webhooks:write`, `org:read`, `org:write`, `admin`.
    pub scopes: Option<Vec<String>>,
    /// Days until the token stops working, 1 to 3650 (default: it never expires). A token
    /// created with an API token stops working no later than that token.
    #[schema(minimum = 1, maximum = 3650)]
    pub expires_in_days: Option<i64>,
    /// When the token stops working, instead of `expires_in_days`; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

/// The longest lifetime a token may be given in days (ten years).
const MAX_TOKEN_DAYS: i64 = 3650;

/// A token as listed: never the secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenOut {
    pub id: Uuid,
    pub name: String,
    /// The secret's first characters.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    /// The organization the token acts in.
    pub org_id: Uuid,
    /// What the token may do.
    pub scopes: Vec<String>,
    /// When the token stops working; `null`: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenOut {
    fn from(t: ApiToken) -> Self {
        ApiTokenOut {
            id: t.token_id,
            name: t.name,
            prefix: t.prefix,
            created_at: t.created_at,
            last_used_at: t.last_used_at,
            revoked_at: t.revoked_at,
            org_id: t.org_id,
            scopes: t.scopes,
            expires_at: t.expires_at,
        }
    }
}

/// A token just created: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenCreatedOut {
    #[serde(flatten)]
    pub info: ApiTokenOut,
    /// Send as `Authorization: Bearer <token>`. Shown once; only its hash is kept.
    pub token: String,
}

/// Registers a user account (role `user`).
#[utoipa::path(post, path = "/auth/register", tag = "Authentication",
    request_body = RegisterIn,
    responses(
        (status = 201, description = "Account created", body = UserOut),
        (status = 409, description = "E-mail already registered", body = ErrorOut),
        (status = 422, description = "Invalid e-mail or password", body = ValidationErrorOut),
        (status = 503, description = "Every core is hashing passwords; retry after `Retry-After` seconds", body = ErrorOut),
    ))]
#[instrument(skip_all)]
pub async fn register(
    state: axum::extract::State<AppState>,
    ApiJson(body): ApiJson<RegisterIn>,
) -> ApiResult<(StatusCode, Json<UserOut>)> {
    let username = body
        .username
        .as_deref()
        .map(check_username)
        .transpose()
        .map_err(|problem| ApiError::invalid("username", problem))?;
    let account = NewAccount {
        email: &body.email,
        password: Secret(body.password),
        role: Role::User,
    };
    let mut user = state.accounts.create(account).await?;
    if let Some(name) = username {
        let patch = UserPatch {
            username: Some(Some(name)),
            ..Default::default()
        };
        user = state.store.update_user(user.user_id, &patch).await?;
    }
    tracing::info!(user_id = %user.user_id, "registered");
    Ok((StatusCode::CREATED, Json(user.into())))
}

/// Exchanges e-mail and password for an access token (OAuth2 password flow).
#[utoipa::path(post, path = "/auth/token", tag = "Authentication",
    request_body(content = TokenIn, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "Access token", body = TokenOut),
        (status = 401, description = "Wrong e-mail or password, or inactive account", body = ErrorOut),
        (status = 415, description = "The body is not `application/x-www-form-urlencoded`", body = ErrorOut),
        (status = 503, description = "Every core is checking passwords; retry after `Retry-After` seconds", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id))]
pub async fn issue_token(
    state: axum::extract::State<AppState>,
    ApiForm(form): ApiForm<TokenIn>,
) -> ApiResult<Json<TokenOut>> {
    const WRONG: &str = "incorrect e-mail or password";
    let user = match state.store.get_user_by_email(&form.username).await {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            password::verify_dummy(Secret(form.password)).await?;
            return Err(ApiError::Unauthorized(WRONG));
        }
        Err(e) => return Err(e.into()),
    };
    tracing::Span::current().record("user_id", tracing::field::display(user.user_id));
    if !password::verify(Secret(form.password), user.password_hash.clone()).await? {
        return Err(ApiError::Unauthorized(WRONG));
    }
    // Checked after the password so an inactive account is only revealed to its owner.
    if !user.is_active {
        return Err(ApiError::Unauthorized("this account is deactivated"));
    }
    let lifetime = u64::from(state.settings.auth.access_token_minutes) * 60;
    let access_token = state
        .jwt
        .issue(user.user_id, user.token_version, lifetime)
        .map_err(ApiError::internal)?;
    Ok(Json(TokenOut {
        access_token,
        token_type: "bearer",
        expires_in: lifetime,
    }))
}

/// Creates a personal API token; the secret is in this response only.
#[utoipa::path(post, path = "/auth/api-tokens", tag = "Authentication",
    request_body = ApiTokenIn,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "Token created", body = ApiTokenCreatedOut),
        (status = 401, description = "Not authenticated", body = ErrorOut),
        (status = 403, description = "Scopes beyond those of the API token making the request", body = ErrorOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
        (status = 422, description = "Invalid name, scope or expiry", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn create_api_token(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<ApiTokenIn>,
) -> ApiResult<(StatusCode, Json<ApiTokenCreatedOut>)> {
    let org = body.org_id.unwrap_or_else(|| caller.default_org());
    authorize(&caller, Target::Org(org), Action::ManageAccount)?;
    let grant = token_grant(&caller, &body)?;
    let secret = tokens::generate();
    let token = state
        .store
        .create_api_token(&NewApiToken {
            user_id: caller.user.user_id,
            name: grant.name,
            token_hash: tokens::hash(&secret),
            prefix: tokens::display_prefix(&secret),
            org_id: org,
            scopes: grant.scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            expires_at: grant.expires_at,
        })
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiTokenCreatedOut {
            token: secret,
            info: token.into(),
        }),
    ))
}

/// The caller's API tokens, newest first, revoked ones included.
#[utoipa::path(get, path = "/auth/api-tokens", tag = "Authentication",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Tokens", body = Vec<ApiTokenOut>),
        (status = 401, description = "Not authenticated", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn list_api_tokens(
    state: axum::extract::State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<ApiTokenOut>>> {
    authorize(&caller, Target::Account, Action::ManageAccount)?;
    let tokens = state.store.list_api_tokens(caller.user.user_id).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

/// Revokes one of the caller's API tokens.
#[utoipa::path(delete, path = "/auth/api-tokens/{id}", tag = "Authentication",
    params(("id" = Uuid, Path, description = "Token id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such token of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, token_id = %id))]
pub async fn revoke_api_token(
    state: axum::extract::State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Target::Account, Action::ManageAccount)?;
    state
        .store
        .revoke_api_token(caller.user.user_id, id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// What a new API token holds, checked.
#[derive(Debug)]
struct Grant {
    name: String,
    scopes: Vec<ApiScope>,
    expires_at: Option<DateTime<Utc>>,
}

/// The name, scopes and expiry of a new token, every problem of the body listed. A token made
/// with an API token gets at most that token's scopes, so a limited token cannot mint a
/// broader one.
fn token_grant(caller: &Caller, body: &ApiTokenIn) -> ApiResult<Grant> {
    let mut problems = Vec::new();
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        problems.push(FieldProblem::new("name", "must have 1 to 100 characters"));
    }
    let scopes = match &body.scopes {
        None => match &caller.token {
            Some(token) => token.scopes.clone(),
            None => ApiScope::ALL.to_vec(),
        },
        Some(names) if names.is_empty() => {
            problems.push(FieldProblem::new(
                "scopes",
                format!(
                    "a token needs at least one scope (leave `scopes` out for all of them): {}",
                    ApiScope::names()
                ),
            ));
            Vec::new()
        }
        Some(names) => {
            let mut scopes = Vec::new();
            for (i, name) in names.iter().enumerate() {
                match name.trim().parse::<ApiScope>() {
                    Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
                    Ok(_) => {}
                    Err(message) => {
                        problems.push(FieldProblem::new(format!("scopes[{i}]"), message))
                    }
                }
            }
            scopes.sort();
            scopes
        }
    };
    let now = Utc::now();
    let expires_at = match (body.expires_in_days, body.expires_at) {
        (Some(_), Some(_)) => {
            problems.push(FieldProblem::new(
                "expires_at",
                "give either expires_in_days or expires_at, not both",
            ));
            None
        }
        (Some(days), None) if !(1..=MAX_TOKEN_DAYS).contains(&days) => {
            problems.push(FieldProblem::new(
                "expires_in_days",
                format!("must be between 1 and {MAX_TOKEN_DAYS} days"),
            ));
            None
        }
        (Some(days), None) => Some(now + chrono::Duration::days(days)),
        (None, Some(at)) if at <= now => {
            problems.push(FieldProblem::new(
                "expires_at",
                "must be in the future: a token that has already expired would never work",
            ));
            None
        }
        (None, Some(at)) if at > now + chrono::Duration::days(MAX_TOKEN_DAYS) => {
            problems.push(FieldProblem::new(
                "expires_at",
                format!("must be within {MAX_TOKEN_DAYS} days from now"),
            ));
            None
        }
        (None, at) => at,
    };
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    // A token made with a token never outlives it: no expiry, or a later one, becomes the
    // expiry of the token making it.
    let expires_at = match caller.token.as_ref().and_then(|t| t.expires_at) {
        Some(parent) => Some(expires_at.map_or(parent, |at| at.min(parent))),
        None => expires_at,
    };
    if let Some(token) = &caller.token
        && let Some(extra) = scopes.iter().find(|s| !token.scopes.contains(s))
    {
        return Err(ApiError::Denied(format!(
            "this API token lacks the scope {extra}, so it cannot give it to a new token"
        )));
    }
    Ok(Grant {
        name: name.to_owned(),
        scopes,
        expires_at,
    })
}
