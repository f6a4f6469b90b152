//! The web app's errors: every failure is a page that says in words what happened and what to
//! do, never a stack trace or raw JSON. Signed-out visitors are sent to sign in (or, on a server
//! without any account, to the first-run setup).

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use grandma_store::StoreError;

use crate::error::ApiError;
use crate::web::layout::{Layout, render_status};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Not signed in: go to the sign-in page, then back to `next`.
    #[error("sign in first")]
    SignIn { next: String },
    /// No account exists yet: go to the setup page.
    #[error("set up the first account first")]
    Setup,
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Forbidden(&'static str),
    /// Refused by `auth::authorize`, naming the role needed.
    #[error("{0}")]
    Denied(String),
    /// The request was wrong in a way the message explains.
    #[error("{0}")]
    BadRequest(String),
    #[error("the form is too large")]
    TooLarge,
    /// Try again later; the message says why.
    #[error("{0}")]
    Unavailable(String),
    /// Logged with its cause; the page only apologises.
    #[error("internal error")]
    Internal(#[source] ApiError),
}

#[derive(Template)]
#[template(path = "web/error.html")]
struct ErrorPage<'a> {
    layout: Layout,
    title: &'a str,
    message: &'a str,
}

/// A `303 See Other` to `to` (after a form post, the browser then GETs it).
pub fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(value) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let (status, title, message): (StatusCode, &str, String) = match &self {
            WebError::SignIn { next } => {
                let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                return see_other(&format!("/login?next={next}"));
            }
            WebError::Setup => return see_other("/setup"),
            WebError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here. The link may be old, or the scrape was deleted.".into(),
            ),
            WebError::Forbidden(why) => (StatusCode::FORBIDDEN, "Not allowed", sentence(why)),
            WebError::Denied(why) => (StatusCode::FORBIDDEN, "Not allowed", sentence(why)),
            WebError::BadRequest(why) => {
                (StatusCode::BAD_REQUEST, "That did not work", sentence(why))
            }
            WebError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Too much text",
                "The form held more text than this server accepts. Shorten it and try again."
                    .into(),
            ),
            WebError::Unavailable(why) => (StatusCode::SERVICE_UNAVAILABLE, "Busy", sentence(why)),
            WebError::Internal(error) => {
                tracing::error!(%error, cause = ?std::error::Error::source(error), "web page failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    "Something went wrong on our side. Try again in a moment; if it keeps happening, tell the person who runs this server.".into(),
                )
            }
        };
        let page = ErrorPage {
            layout: Layout::anonymous(),
            title,
            message: &message,
        };
        render_status(status, &page)
    }
}

/// `why` as a sentence: capitalised, with a full stop.
pub fn sentence(why: &str) -> String {
    let mut chars = why.trim().chars();
    let mut out: String = match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => return String::new(),
    };
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

impl From<ApiError> for WebError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::NotFound => WebError::NotFound,
            ApiError::Forbidden(why) => WebError::Forbidden(why),
            ApiError::Denied(why) => WebError::Denied(why),
            ApiError::Unauthorized(_) | ApiError::Expired(_) => {
                WebError::SignIn { next: "/".into() }
            }
            ApiError::PayloadTooLarge => WebError::TooLarge,
            ApiError::Conflict(why) | ApiError::BadRequest(why) => WebError::BadRequest(why),
            ApiError::Validation(problems) => WebError::BadRequest(
                problems
                    .iter()
                    .map(|p| sentence(&format!("{}: {}", p.path, p.message)))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            ApiError::Busy(why) | ApiError::Unavailable { detail: why, .. } => {
                WebError::Unavailable(why)
            }
            ApiError::TooManyRequests { .. } => {
                WebError::Unavailable("too many requests; wait a minute and try again".into())
            }
            other => WebError::Internal(other),
        }
    }
}

impl From<StoreError> for WebError {
    #[track_caller]
    fn from(error: StoreError) -> Self {
        ApiError::from(error).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentences() {
        assert_eq!(sentence("not found"), "Not found.");
        assert_eq!(sentence("Done!"), "Done!");
        assert_eq!(sentence(""), "");
    }
}
