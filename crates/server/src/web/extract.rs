//! Extractors of the web app's pages.
//!
//! - [`WebUser`]: the signed-in user; a signed-out visitor is redirected to `/login` (or to
//!   `/setup` while the server has no account).
//! - [`MaybeWebUser`]: the signed-in user if any (sign-in and setup pages).
//! - [`WebForm`]: a signed-in user's URL-encoded form post, refused unless it comes from our
//!   own origin with the session's CSRF token in its `csrf` field.
//! - [`PublicForm`]: a form of a signed-out visitor (sign-in, sign-up, setup): origin checked.
//!
//! Form bodies are capped at [`MAX_FORM_BYTES`], and a field with a control character is
//! refused, as in the API.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use grandma_store::{OrgRole, User, WebSession};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize, csrf, session};
use crate::extract::control_character;
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::layout::{Layout, Nav, Viewer};

/// The largest form a page accepts: forms hold a few short fields.
pub const MAX_FORM_BYTES: usize = 64 * 1024;

/// A signed-in user of the web app, with their organization memberships (read with the
/// session on every page, as the API reads them with every request).
#[derive(Debug, Clone)]
pub struct WebUser {
    pub user: User,
    pub session: WebSession,
    /// The organizations the user belongs to and their role in each, read with the session
    /// so a removal or a new role shows on the next page.
    pub memberships: Vec<(Uuid, OrgRole)>,
}

impl WebUser {
    /// The layout of a page of this user, with `nav` as the current navigation entry.
    pub fn layout(&self, nav: Nav) -> Layout {
        Layout::signed_in(Viewer::of(&self.user), self.session.csrf_token.clone(), nav)
    }

    /// The user as the API's authorization sees a web session: every scope, no token.
    pub fn caller(&self) -> Caller {
        Caller {
            user: self.user.clone(),
            memberships: self.memberships.clone(),
            token: None,
        }
    }

    /// The same scoping as the API: the rows of the user's organizations (an instance
    /// administrator's: every row).
    pub fn scope(&self) -> grandma_store::Scope {
        self.caller().scope()
    }

    /// The organizations the user may create jobs in, as (id, role).
    pub fn writable_orgs(&self) -> Vec<(Uuid, OrgRole)> {
        self.memberships
            .iter()
            .filter(|(org, _)| {
                self.authorize(Target::Org(*org), Action::ChangeJobs)
                    .is_ok()
            })
            .copied()
            .collect()
    }

    pub fn can_write(&self) -> bool {
        self.user.role != grandma_store::Role::Readonly
    }

    /// The API's one decision ([`crate::auth::authorize`]) for a page: refused, the page
    /// says why.
    pub fn authorize(&self, target: Target, action: Action) -> Result<(), WebError> {
        authorize(&self.caller(), target, action).map_err(WebError::from)
    }
}

async fn signed_in(parts: &Parts, state: &AppState) -> Result<Option<WebUser>, WebError> {
    let Some(signed_in) = session::of_headers(state, &parts.headers).await? else {
        return Ok(None);
    };
    let memberships = state.store.memberships(signed_in.user.user_id).await?;
    Ok(Some(WebUser {
        user: signed_in.user,
        session: signed_in.session,
        memberships,
    }))
}

/// Whether the server still waits for its first account: then every page leads to `/setup`.
pub async fn awaiting_setup(state: &AppState) -> Result<bool, WebError> {
    Ok(setup_open(state).await? && state.store.count_users().await? == 0)
}

/// Whether `/setup` may create an admin: a code was printed and there is still no active admin
/// (accounts opened through the API meanwhile do not close it; an admin made another way, from
/// the command line or by another server on the same database, does).
pub async fn setup_open(state: &AppState) -> Result<bool, WebError> {
    if !state.setup_code.is_pending() {
        return Ok(false);
    }
    if state.store.count_admins().await? > 0 {
        state.setup_code.clear();
        return Ok(false);
    }
    Ok(true)
}

/// Where a signed-out visitor goes: `/setup` before the first account exists.
async fn sign_in_first(parts: &Parts, state: &AppState) -> WebError {
    match awaiting_setup(state).await {
        Ok(true) => return WebError::Setup,
        Ok(false) => {}
        Err(error) => return error,
    }
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    WebError::SignIn { next }
}

impl FromRequestParts<AppState> for WebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        match signed_in(parts, state).await? {
            Some(user) => Ok(user),
            None => Err(sign_in_first(parts, state).await),
        }
    }
}

/// The signed-in user, if any.
#[derive(Debug, Clone)]
pub struct MaybeWebUser(pub Option<WebUser>);

impl FromRequestParts<AppState> for MaybeWebUser {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, WebError> {
        Ok(MaybeWebUser(signed_in(parts, state).await?))
    }
}

/// A signed-in user's form post, checked for origin and CSRF token.
#[derive(Debug)]
pub struct WebForm<T> {
    pub user: WebUser,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for WebForm<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let (parts, body) = request.into_parts();
        let Some(user) = signed_in(&parts, state).await? else {
            return Err(sign_in_first(&parts, state).await);
        };
        let bytes = read_form(
            &parts.headers,
            Request::from_parts(parts.clone(), body),
            state,
        )
        .await?;
        let given = url::form_urlencoded::parse(&bytes)
            .find(|(k, _)| k == csrf::FIELD)
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if !csrf::same_origin(&parts.headers)
            || !csrf::token_matches(&user.session.csrf_token, &given)
        {
            return Err(WebError::Forbidden(csrf::REFUSED));
        }
        Ok(WebForm {
            user,
            form: decode(&bytes)?,
        })
    }
}

/// A signed-out visitor's form post, checked for origin.
#[derive(Debug)]
pub struct PublicForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for PublicForm<T> {
    type Rejection = WebError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, WebError> {
        let headers = request.headers().clone();
        if !csrf::same_origin(&headers) {
            return Err(WebError::Forbidden(csrf::REFUSED));
        }
        let bytes = read_form(&headers, request, state).await?;
        Ok(PublicForm(decode(&bytes)?))
    }
}

/// The body of a URL-encoded form, at most [`MAX_FORM_BYTES`], without control characters.
async fn read_form(
    headers: &HeaderMap,
    request: Request,
    state: &AppState,
) -> Result<Bytes, WebError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(WebError::BadRequest(
            "this page only accepts its own form; reload it and try again".into(),
        ));
    }
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                WebError::TooLarge
            } else {
                WebError::BadRequest("the form could not be read; try again".into())
            }
        })?;
    if bytes.len() > MAX_FORM_BYTES {
        return Err(WebError::TooLarge);
    }
    for (key, value) in url::form_urlencoded::parse(&bytes) {
        if control_character(&key).is_some() || control_character(&value).is_some() {
            return Err(WebError::BadRequest(
                "the form held invisible control characters; type the text again without pasting it".into(),
            ));
        }
    }
    Ok(bytes)
}

/// The form's fields as `T`, whose fields are strings (`String`, `Option<String>`): every
/// form value is text, and pages parse numbers themselves to word their own errors. Of a
/// repeated field the last value counts; fields `T` does not name are ignored.
fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, WebError> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(bytes).into_owned().collect();
    let value = serde_json::Value::Object(
        pairs
            .into_iter()
            .map(|(k, v)| (k, serde_json::Value::String(v)))
            .collect(),
    );
    serde_json::from_value(value).map_err(|_| {
        WebError::BadRequest("the form was incomplete; reload the page and fill it in again".into())
    })
}
