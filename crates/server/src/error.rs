//! The API's one error type and its one mapping to HTTP.
//!
//! Bodies are `{"detail": "…"}`, and every 422 is `{"detail": [{"path", "message"}, …]}`
//! (wrong types and missing fields too, located as well as serde can), as the earlier
//! version's clients expect. Internal causes are logged with the place
//! they were created; the client only ever sees a generic message, so nothing a user sent (a
//! password, say) is echoed back from a failure deep inside.

use std::panic::Location;

use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use grandma_engine::spec::SpecErrors;
use grandma_shared::accounts::AccountError;
use grandma_store::{Constraint, StoreError};
use serde::Serialize;
use utoipa::ToSchema;

/// Result alias of the handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// One problem with the request, located by a path into the body (`config.fields[0].selector`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldProblem {
    pub path: String,
    pub message: String,
}

impl FieldProblem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        FieldProblem {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// Error body with a message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorOut {
    /// What went wrong, for people.
    pub detail: String,
    /// The request's `X-Request-ID`, to quote when reporting the problem.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Error body of a 422 with every problem found.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorOut {
    pub detail: Vec<FieldProblem>,
    /// The request's `X-Request-ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// Everything a handler can fail with, named after the outcome.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No credentials, or they are invalid, expired or revoked.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Authenticated but the role does not allow it.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Refused by [`crate::auth::authorize`]: the message names the missing organization
    /// role, instance role or API-token scope.
    #[error("{0}")]
    Denied(String),
    /// An API token past its expiry; the message says since when.
    #[error("{0}")]
    Expired(String),
    /// Unknown id, or a row of another user (never "forbidden": ids must not leak).
    #[error("not found")]
    NotFound,
    /// The request conflicts with the current state (a taken e-mail, the last admin).
    #[error("{0}")]
    Conflict(String),
    /// The body parsed but its content is invalid; every problem is listed.
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    /// Malformed syntax (JSON that does not parse).
    #[error("{0}")]
    BadRequest(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    /// An `If-Match` condition failed: the resource changed since the client read it.
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("the request body is larger than the limit")]
    PayloadTooLarge,
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A page the server was asked to fetch could not be fetched.
    #[error("{0}")]
    BadGateway(String),
    /// A rate limit refused the request; `limit` is the bucket's requests per minute.
    #[error("too many requests, retry later")]
    TooManyRequests { limit: u32, retry_after_secs: u64 },
    /// The user already has as many expensive requests (previews, detection) running as
    /// allowed; the message says so in words. Answered with 429 and `Retry-After: 1`.
    #[error("{0}")]
    Busy(String),
    /// A bounded resource (password hashing) is saturated; `Retry-After` says when to retry.
    #[error("{detail}")]
    Unavailable {
        detail: String,
        retry_after_secs: u64,
    },
    /// Anything else: logged with its cause, answered with a generic 500.
    #[error("internal error")]
    Internal {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
        location: &'static Location<'static>,
    },
}

impl ApiError {
    /// An internal error, remembering where it was created for the log.
    #[track_caller]
    pub fn internal(source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        ApiError::Internal {
            source: source.into(),
            location: Location::caller(),
        }
    }

    /// A 422 with one problem.
    pub fn invalid(path: impl Into<String>, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldProblem::new(path, message)])
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) | ApiError::Expired(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::Denied(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Internal { .. } => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::TooManyRequests { .. } | ApiError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let request_id = crate::middleware::request_id::current();
        let rate_limit = match &self {
            ApiError::TooManyRequests {
                limit,
                retry_after_secs,
            } => Some((*limit, *retry_after_secs)),
            _ => None,
        };
        let retry_after = match &self {
            ApiError::Unavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            ApiError::Busy(_) => Some(1),
            _ => None,
        };
        let mut response = match self {
            ApiError::Validation(problems) => {
                let body = ValidationErrorOut {
                    detail: problems,
                    request_id,
                };
                (status, Json(body)).into_response()
            }
            ApiError::Internal { source, location } => {
                tracing::error!(error = %source, cause = ?source.source(), %location, "internal error");
                let body = ErrorOut {
                    detail: "internal server error".into(),
                    request_id,
                };
                (status, Json(body)).into_response()
            }
            other => {
                let body = ErrorOut {
                    detail: other.to_string(),
                    request_id,
                };
                (status, Json(body)).into_response()
            }
        };
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some((limit, retry_after)) = rate_limit {
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
            headers.insert("x-ratelimit-remaining", HeaderValue::from(0u32));
            headers.insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        if let Some(retry_after) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        response
    }
}

/// The answer to a registration or an e-mail change with an address already in use.
const EMAIL_TAKEN: &str = "this e-mail address is already registered";

impl From<StoreError> for ApiError {
    #[track_caller]
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Conflict { constraint } => ApiError::Conflict(
                match constraint {
                    Constraint::UserEmail => EMAIL_TAKEN,
                    _ => "conflict with an existing resource",
                }
                .to_owned(),
            ),
            StoreError::Refused(why) => ApiError::Conflict(why.to_owned()),
            StoreError::MissingReference { .. } => {
                ApiError::invalid("body", "a referenced resource does not exist")
            }
            other => ApiError::internal(other),
        }
    }
}

impl From<AccountError> for ApiError {
    #[track_caller]
    fn from(error: AccountError) -> Self {
        match error {
            AccountError::Invalid(problems) => ApiError::Validation(
                problems
                    .into_iter()
                    .map(|p| FieldProblem::new(p.field, p.message))
                    .collect(),
            ),
            AccountError::EmailTaken(_) => ApiError::Conflict(EMAIL_TAKEN.into()),
            AccountError::Store(e) => e.into(),
            busy @ AccountError::Busy { retry_after_secs } => ApiError::Unavailable {
                detail: busy.to_string(),
                retry_after_secs,
            },
            other @ AccountError::Hashing(_) => ApiError::internal(other),
        }
    }
}

impl From<SpecErrors> for ApiError {
    /// Job document problems, located under the request's `config`.
    fn from(errors: SpecErrors) -> Self {
        ApiError::Validation(
            errors
                .iter()
                .map(|e| {
                    let path = if e.path.is_empty() {
                        "config".to_owned()
                    } else if e.path.starts_with('[') {
                        format!("config{}", e.path)
                    } else {
                        format!("config.{}", e.path)
                    };
                    FieldProblem::new(path, e.message.clone())
                })
                .collect(),
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::UnsupportedMediaType("expected Content-Type: application/json".into())
            }
            StatusCode::UNPROCESSABLE_ENTITY => unprocessable("body", &rejection.body_text()),
            StatusCode::BAD_REQUEST => ApiError::BadRequest(rejection.body_text()),
            _ => ApiError::BadRequest("the request body could not be read".into()),
        }
    }
}

/// A 422 for a serde error about the `part` of the request (`body`, `query`): located at the
/// field serde names (`config.enabled`, or the missing field) when it names one.
pub(crate) fn unprocessable(part: &str, serde_message: &str) -> ApiError {
    let part = part.trim_end_matches('.');
    let message = without_values(serde_message);
    let message = message
        .strip_prefix("Failed to deserialize query string: ")
        .unwrap_or(&message);
    // Located by the path already: the message need not name the body again.
    let message = message
        .strip_prefix("the body: ")
        .filter(|_| part != "body")
        .unwrap_or(message)
        .to_owned();
    let quoted = |marker: &str| {
        message
            .split_once(marker)
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name.to_owned())
    };
    let path = match message.split_once(": wrong type or value") {
        Some((subject, _)) if subject != "the body" => format!("{part}.{subject}"),
        _ => match quoted("missing field `").or_else(|| quoted("unknown field `")) {
            Some(field) => format!("{part}.{field}"),
            None => part.to_owned(),
        },
    };
    ApiError::Validation(vec![FieldProblem::new(path, message)])
}

/// serde's type errors quote the value they refused (``invalid type: integer `12345678` ``),
/// and that value may be a password: keep the field's path and what was expected, drop the
/// value.
pub(crate) fn without_values(text: &str) -> String {
    let body = text
        .strip_prefix("Failed to deserialize the JSON body into the target type: ")
        .unwrap_or(text);
    let Some(at) = ["invalid type: ", "invalid value: "]
        .iter()
        .find_map(|marker| body.find(marker))
    else {
        return body.to_owned();
    };
    let path = body[..at].trim_end_matches(": ");
    let expected = body[at..]
        .split_once(", expected ")
        .map(|(_, e)| e.split(" at line ").next().unwrap_or(e));
    let subject = if path.is_empty() { "the body" } else { path };
    match expected {
        Some(e) => format!("{subject}: wrong type or value, expected {e}"),
        None => format!("{subject}: wrong type or value"),
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        unprocessable("query", &rejection.body_text())
    }
}

impl From<FormRejection> for ApiError {
    fn from(rejection: FormRejection) -> Self {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType(
                "expected Content-Type: application/x-www-form-urlencoded".into(),
            ),
            // The form's own text may contain the password: say only what was wrong in general.
            _ => ApiError::invalid("form", "the form must have `username` and `password`"),
        }
    }
}

impl From<PathRejection> for ApiError {
    /// A path segment that is not an id cannot name an existing resource.
    fn from(_: PathRejection) -> Self {
        ApiError::NotFound
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn type_errors_do_not_echo_the_value() {
        let text = "Failed to deserialize the JSON body into the target type: password: invalid \
                    type: integer `12345678`, expected a string at line 1 column 40";
        assert_eq!(
            super::without_values(text),
            "password: wrong type or value, expected a string"
        );
        let text =
            "invalid value: string \"hunter22\", expected one of `a`, `b` at line 1 column 9";
        assert_eq!(
            super::without_values(text),
            "the body: wrong type or value, expected one of `a`, `b`"
        );
        assert_eq!(
            super::without_values("missing field `email`"),
            "missing field `email`"
        );
    }
}
