//! Signing in and out, signing up, and the first-run setup of the first admin.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use axum::{Router, extract::Query};
use grandma_shared::accounts::{NewAccount, password};
use grandma_store::{Role, Secret, StoreError, User};
use serde::Deserialize;

use crate::auth::session;
use crate::error::ApiError;
use crate::state::AppState;
use crate::web::error::{WebError, see_other, sentence};
use crate::web::extract::{MaybeWebUser, PublicForm, WebForm, awaiting_setup, setup_open};
use crate::web::layout::{Layout, render_status};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/setup", get(setup_page).post(setup))
        .route("/login", get(login_page).post(login))
        .route("/signup", get(signup_page).post(signup))
        .route("/logout", axum::routing::post(logout))
}

#[derive(Template)]
#[template(path = "web/setup.html")]
struct SetupPage {
    layout: Layout,
    email: String,
    problem: String,
}

#[derive(Template)]
#[template(path = "web/login.html")]
struct LoginPage {
    layout: Layout,
    email: String,
    next: String,
    problem: String,
}

#[derive(Template)]
#[template(path = "web/signup.html")]
struct SignupPage {
    layout: Layout,
    email: String,
    /// Where to go once the account exists (an invitation's page, say).
    next: String,
    problem: String,
}

impl LoginPage {
    /// `next` for the link to the sign-up page, which carries it on.
    fn next_encoded(&self) -> String {
        encoded(&self.next)
    }
}

impl SignupPage {
    /// `next` for the link to the sign-in page, which carries it on.
    fn next_encoded(&self) -> String {
        encoded(&self.next)
    }
}

/// `text` as a query-string value.
fn encoded(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SetupForm {
    email: String,
    password: String,
    code: String,
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct SignupForm {
    email: String,
    password: String,
    next: Option<String>,
}

/// Signing out may name where the sign-in page should lead afterwards (an invitation's page,
/// for someone who must sign in with another address).
#[derive(Debug, Deserialize)]
struct LogoutForm {
    next: Option<String>,
}

/// `next` if it is a path of this site (never another host: an open redirect would let a
/// phishing link pass through our sign-in page), else the home page.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.starts_with("/logout") =>
        {
            path.to_owned()
        }
        _ => "/".to_owned(),
    }
}

async fn setup_page(
    State(state): State<AppState>,
    MaybeWebUser(user): MaybeWebUser,
) -> Result<Response, WebError> {
    if user.is_some() || !setup_open(&state).await? {
        return Ok(see_other("/"));
    }
    let page = SetupPage {
        layout: Layout::anonymous(),
        email: String::new(),
        problem: String::new(),
    };
    Ok(render_status(StatusCode::OK, &page))
}

async fn setup(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: RequestPeer,
    PublicForm(form): PublicForm<SetupForm>,
) -> Result<Response, WebError> {
    if !setup_open(&state).await? {
        return Ok(see_other("/login"));
    }
    let again = |problem: String, status: StatusCode| {
        let page = SetupPage {
            layout: Layout::anonymous(),
            email: form.email.clone(),
            problem,
        };
        render_status(status, &page)
    };
    let Some(code) = state.setup_code.take(&form.code) else {
        tracing::warn!("setup refused: wrong setup code");
        return Ok(again(
            "That setup code is not right. Copy it from the server's console (the line that says \"no administrator exists yet\").".into(),
            StatusCode::FORBIDDEN,
        ));
    };
    let account = NewAccount {
        email: &form.email,
        password: Secret(form.password.clone()),
        role: Role::Admin,
    };
    let user = match state.accounts.create(account).await {
        Ok(user) => user,
        Err(error) => {
            state.setup_code.restore(code);
            let error = ApiError::from(error);
            return Ok(again(words(&error), error.status()));
        }
    };
    tracing::info!(user_id = %user.user_id, "first admin created through the setup page");
    signed_in_response(&state, &headers, peer.0, &user, "/").await
}

async fn login_page(
    State(state): State<AppState>,
    MaybeWebUser(user): MaybeWebUser,
    Query(query): Query<NextQuery>,
) -> Result<Response, WebError> {
    if awaiting_setup(&state).await? {
        return Ok(see_other("/setup"));
    }
    if user.is_some() {
        return Ok(see_other(&local_path(query.next.as_deref())));
    }
    let page = LoginPage {
        layout: Layout::anonymous(),
        email: String::new(),
        next: local_path(query.next.as_deref()),
        problem: String::new(),
    };
    Ok(render_status(StatusCode::OK, &page))
}

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: RequestPeer,
    PublicForm(form): PublicForm<LoginForm>,
) -> Result<Response, WebError> {
    let next = local_path(form.next.as_deref());
    let refuse = |problem: &str| {
        let page = LoginPage {
            layout: Layout::anonymous(),
            email: form.email.clone(),
            next: next.clone(),
            problem: problem.to_owned(),
        };
        render_status(StatusCode::UNAUTHORIZED, &page)
    };
    const WRONG: &str =
        "That e-mail address and password do not match an account. Check both and try again.";
    let user = match state.store.get_user_by_email(&form.email).await {
        Ok(user) => user,
        Err(StoreError::NotFound) => {
            password::verify_dummy(Secret(form.password.clone()))
                .await
                .map_err(ApiError::from)?;
            return Ok(refuse(WRONG));
        }
        Err(e) => return Err(e.into()),
    };
    let right = password::verify(Secret(form.password.clone()), user.password_hash.clone())
        .await
        .map_err(ApiError::from)?;
    if !right {
        return Ok(refuse(WRONG));
    }
    if !user.is_active {
        return Ok(refuse(
            "This account is switched off. Ask an administrator of this server to switch it on.",
        ));
    }
    signed_in_response(&state, &headers, peer.0, &user, &next).await
}

async fn signup_page(
    State(state): State<AppState>,
    MaybeWebUser(user): MaybeWebUser,
    Query(query): Query<NextQuery>,
) -> Result<Response, WebError> {
    if awaiting_setup(&state).await? {
        return Ok(see_other("/setup"));
    }
    let next = local_path(query.next.as_deref());
    if user.is_some() {
        return Ok(see_other(&next));
    }
    let page = SignupPage {
        layout: Layout::anonymous(),
        email: String::new(),
        next,
        problem: String::new(),
    };
    Ok(render_status(StatusCode::OK, &page))
}

async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: RequestPeer,
    PublicForm(form): PublicForm<SignupForm>,
) -> Result<Response, WebError> {
    if awaiting_setup(&state).await? {
        return Ok(see_other("/setup"));
    }
    let next = local_path(form.next.as_deref());
    let account = NewAccount {
        email: &form.email,
        password: Secret(form.password.clone()),
        role: Role::User,
    };
    let user = match state.accounts.create(account).await {
        Ok(user) => user,
        Err(error) => {
            let error = ApiError::from(error);
            let page = SignupPage {
                layout: Layout::anonymous(),
                email: form.email.clone(),
                next,
                problem: words(&error),
            };
            return Ok(render_status(error.status(), &page));
        }
    };
    tracing::info!(user_id = %user.user_id, "registered through the web app");
    signed_in_response(&state, &headers, peer.0, &user, &next).await
}

/// Signing out ends the session on the server, not only in the browser.
async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    peer: RequestPeer,
    WebForm { form, .. }: WebForm<LogoutForm>,
) -> Result<Response, WebError> {
    session::end(&state, &headers).await?;
    let next = local_path(form.next.as_deref());
    let mut response = if next == "/" {
        see_other("/login")
    } else {
        see_other(&format!("/login?next={}", encoded(&next)))
    };
    let secure = session::secure(&state.settings, peer.0, &headers);
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session::clear_cookie(secure));
    Ok(response)
}

/// A new session for `user`: the cookie, and a redirect to `to`.
async fn signed_in_response(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<std::net::IpAddr>,
    user: &User,
    to: &str,
) -> Result<Response, WebError> {
    let (token, _) = session::start(state, user).await?;
    let secure = session::secure(&state.settings, peer, headers);
    let mut response = see_other(to);
    response.headers_mut().insert(
        header::SET_COOKIE,
        session::set_cookie(&token, &state.settings, secure),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// An account error in words for the form.
fn words(error: &ApiError) -> String {
    match error {
        ApiError::Validation(problems) => problems
            .iter()
            .map(|p| {
                let field = match p.path.as_str() {
                    "email" => "E-mail address",
                    "password" => "Password",
                    other => other,
                };
                sentence(&format!("{field}: {}", p.message))
            })
            .collect::<Vec<_>>()
            .join(" "),
        ApiError::Conflict(why) => sentence(why),
        ApiError::Unavailable { .. } => {
            "The server is busy checking other passwords. Try again in a few seconds.".into()
        }
        _ => "Something went wrong on our side. Try again in a moment.".into(),
    }
}

/// The peer address of the connection (for the `Secure` decision behind proxies).
struct RequestPeer(Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for RequestPeer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(RequestPeer(session::peer(parts)))
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(local_path(Some("/jobs/1")), "/jobs/1");
        assert_eq!(local_path(Some("//evil.test/x")), "/");
        assert_eq!(local_path(Some("https://evil.test")), "/");
        assert_eq!(local_path(Some("/\\evil.test")), "/");
        assert_eq!(local_path(None), "/");
    }
}
