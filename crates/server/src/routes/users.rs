//! `/users`: the caller's profile, and account administration for admins.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use grandma_shared::accounts::{check_password, check_username, password};
use grandma_store::{Email, Role, Secret, User, UserPatch};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize};
use crate::conditional::{self, ETag};
use crate::error::{ApiError, ApiResult, ErrorOut, FieldProblem, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::routes::page::{PageQuery, page_type};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_me, update_me))
        .routes(routes!(list_users))
        .routes(routes!(get_user, patch_user, delete_user))
}

/// An account as shown: never the password hash.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    pub id: Uuid,
    pub email: String,
    /// The optional display name (1 to 100 characters); logging in uses the e-mail address.
    pub username: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        UserOut {
            id: u.user_id,
            email: u.email,
            username: u.username,
            role: u.role,
            is_active: u.is_active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

page_type!(UserPage, UserOut);

/// The version of an account as answered: any change to what the client sees changes it
/// (and every write of an account, a new password too, moves `updated_at`).
fn user_tag(user: &UserOut) -> ApiResult<ETag> {
    conditional::of_json("user", user)
}

/// With `If-Match`: the stored version the client must have read, checked against `user`;
/// none without the header.
fn required_version(headers: &HeaderMap, user: &User) -> ApiResult<Option<DateTime<Utc>>> {
    if !headers.contains_key(header::IF_MATCH) {
        return Ok(None);
    }
    let tag = user_tag(&user.clone().into())?;
    conditional::required_version(headers, &tag, "account", user.updated_at)
}

/// The account as written, with its new tag; `None` from a conditional write is a 412.
fn written(user: Option<User>, version: Option<DateTime<Utc>>) -> ApiResult<Response> {
    match user {
        Some(user) => {
            let user = UserOut::from(user);
            let tag = user_tag(&user)?;
            Ok(conditional::tagged(Json(user), &tag))
        }
        // Written or deleted by someone else between the read and this write.
        None if version.is_some() => Err(conditional::stale("account")),
        None => Err(ApiError::NotFound),
    }
}

/// Changes to the caller's own account. A new password needs the current one and signs out
/// every existing access token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeUpdateIn {
    pub email: Option<String>,
    /// A new display name, 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub username: Option<String>,
    #[schema(format = Password, min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    #[schema(format = Password)]
    pub current_password: Option<String>,
}

/// Role and activation changes by an admin.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatchIn {
    pub role: Option<Role>,
    pub is_active: Option<bool>,
}

/// The caller's account, with its `ETag` (for `If-None-Match` and `If-Match`).
#[utoipa::path(get, path = "/users/me", tag = "Users", security(("bearer" = [])),
    params(
        ("If-None-Match" = Option<String>, Header, description = "The account's `ETag` from an earlier read: 304 while unchanged"),
    ),
    responses(
        (status = 200, description = "The caller", body = UserOut,
            headers(("ETag" = String, description = "The account's current version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 401, description = "Not authenticated", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn get_me(caller: Caller, headers: HeaderMap) -> ApiResult<Response> {
    authorize(&caller, Target::Account, Action::ManageAccount)?;
    let user = UserOut::from(caller.user);
    let tag = user_tag(&user)?;
    Ok(conditional::changing_read(&headers, &tag, Json(user)))
}

/// Changes the caller's e-mail address, display name or password; with `If-Match`, only if
/// the account is still the version read. Allowed for read-only users too: it is their own
/// account, not the data they may only read.
#[utoipa::path(put, path = "/users/me", tag = "Users", security(("bearer" = [])),
    params(
        ("If-Match" = Option<String>, Header, description = "The account's `ETag` when it was read: 412 if it changed since"),
    ),
    request_body = MeUpdateIn,
    responses(
        (status = 200, description = "Updated", body = UserOut,
            headers(("ETag" = String, description = "The account's new version"))),
        (status = 412, description = "The account changed since the `If-Match` version", body = ErrorOut),
        (status = 409, description = "E-mail already registered", body = ErrorOut),
        (status = 422, description = "Invalid values or wrong current password", body = ValidationErrorOut),
        (status = 503, description = "Every core is hashing passwords; retry after `Retry-After` seconds", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn update_me(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    ApiJson(body): ApiJson<MeUpdateIn>,
) -> ApiResult<Response> {
    authorize(&caller, Target::Account, Action::ManageAccount)?;
    // What can be judged from the body alone comes first: a malformed request is a 422
    // whatever the account's version.
    let mut problems = Vec::new();
    let email = body.email.as_deref().map(Email::parse).transpose();
    let mut patch = UserPatch {
        email: email.unwrap_or_else(|e| {
            problems.push(FieldProblem::new("email", e.to_string()));
            None
        }),
        ..Default::default()
    };
    if let Some(name) = body.username {
        match check_username(&name) {
            Ok(name) => patch.username = Some(Some(name)),
            Err(problem) => problems.push(FieldProblem::new("username", problem)),
        }
    }
    const CURRENT_REQUIRED: &str = "the current password is required and must be correct";
    if let Some(new_password) = &body.password {
        if let Err(problem) = check_password(new_password) {
            problems.push(FieldProblem::new("password", problem));
        }
        if body.current_password.is_none() {
            problems.push(FieldProblem::new("current_password", CURRENT_REQUIRED));
        }
    }
    if !problems.is_empty() {
        return Err(ApiError::Validation(problems));
    }
    // Then the precondition, against the account as authentication read it, before any
    // password is verified or hashed.
    let version = required_version(&headers, &caller.user)?;
    if let (Some(new_password), Some(given)) = (body.password, body.current_password) {
        if !password::verify(Secret(given), caller.user.password_hash.clone()).await? {
            return Err(ApiError::Validation(vec![FieldProblem::new(
                "current_password",
                CURRENT_REQUIRED,
            )]));
        }
        patch.password_hash = Some(password::hash(Secret(new_password)).await?);
    }
    let user = state
        .store
        .update_user_if(caller.user.user_id, &patch, version)
        .await?;
    written(user, version)
}

/// Every account, oldest first (admins).
#[utoipa::path(get, path = "/users/", tag = "Users", security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "Accounts", body = UserPage),
        (status = 403, description = "Not an admin", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn list_users(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<Json<UserPage>> {
    authorize(&caller, Target::Instance, Action::ManageUsers)?;
    let paging = query.paging()?;
    let page = state.store.list_users(paging).await?;
    let page = grandma_store::Page {
        items: page.items.into_iter().map(Into::into).collect(),
        total: page.total,
    };
    Ok(Json(UserPage::new(page, paging)))
}

/// One account (admins), with its `ETag` (for `If-None-Match` and `If-Match`).
#[utoipa::path(get, path = "/users/{id}", tag = "Users", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-None-Match" = Option<String>, Header, description = "The account's `ETag` from an earlier read: 304 while unchanged"),
    ),
    responses(
        (status = 200, description = "The account", body = UserOut,
            headers(("ETag" = String, description = "The account's current version"))),
        (status = 304, description = "Unchanged since the `If-None-Match` version"),
        (status = 403, description = "Not an admin", body = ErrorOut),
        (status = 404, description = "No such user", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, target_id = %id))]
pub async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    authorize(&caller, Target::Instance, Action::ManageUsers)?;
    let user = UserOut::from(state.store.get_user(id).await?);
    let tag = user_tag(&user)?;
    Ok(conditional::changing_read(&headers, &tag, Json(user)))
}

/// Changes an account's role or activation (admins); with `If-Match`, only if the account is
/// still the version read. The last active admin cannot be demoted or deactivated;
/// deactivation signs the account out everywhere.
#[utoipa::path(patch, path = "/users/{id}", tag = "Users", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The account's `ETag` when it was read: 412 if it changed since"),
    ),
    request_body = UserPatchIn,
    responses(
        (status = 200, description = "Updated", body = UserOut,
            headers(("ETag" = String, description = "The account's new version"))),
        (status = 403, description = "Not an admin", body = ErrorOut),
        (status = 404, description = "No such user", body = ErrorOut),
        (status = 409, description = "Would leave no active admin", body = ErrorOut),
        (status = 412, description = "The account changed since the `If-Match` version", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, target_id = %id))]
pub async fn patch_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<UserPatchIn>,
) -> ApiResult<Response> {
    authorize(&caller, Target::Instance, Action::ManageUsers)?;
    let target = state.store.get_user(id).await?;
    let version = required_version(&headers, &target)?;
    let loses_admin = body.role.is_some_and(|r| r != Role::Admin) || body.is_active == Some(false);
    if loses_admin {
        ensure_not_last_admin(&state, &target).await?;
    }
    let patch = UserPatch {
        role: body.role,
        is_active: body.is_active,
        ..Default::default()
    };
    let user = state.store.update_user_if(id, &patch, version).await?;
    written(user, version)
}

/// Deletes an account and everything it owns (admins); with `If-Match`, only if the account
/// is still the version read. The last active admin cannot be deleted.
#[utoipa::path(delete, path = "/users/{id}", tag = "Users", security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "User id"),
        ("If-Match" = Option<String>, Header, description = "The account's `ETag` when it was read: 412 if it changed since"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = ErrorOut),
        (status = 404, description = "No such user", body = ErrorOut),
        (status = 409, description = "The last active admin", body = ErrorOut),
        (status = 412, description = "The account changed since the `If-Match` version", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, target_id = %id))]
pub async fn delete_user(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    headers: HeaderMap,
) -> ApiResult<StatusCode> {
    authorize(&caller, Target::Instance, Action::ManageUsers)?;
    let target = state.store.get_user(id).await?;
    let version = required_version(&headers, &target)?;
    ensure_not_last_admin(&state, &target).await?;
    match state.store.delete_user_if(id, version).await? {
        0 if version.is_some() => Err(conditional::stale("account")),
        0 => Err(ApiError::NotFound),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// Refuses a change that would leave no active admin. Two admins demoting each other at the
/// same instant could both pass this check; the window is tiny and an operator can always
/// create an admin with the CLI.
async fn ensure_not_last_admin(state: &AppState, target: &User) -> ApiResult<()> {
    if target.role == Role::Admin && target.is_active && state.store.count_admins().await? <= 1 {
        return Err(ApiError::Conflict(
            "this is the last active admin; make another admin first".into(),
        ));
    }
    Ok(())
}
