//! Request extractors whose rejections go through [`ApiError`], so malformed JSON is a 400,
//! wrong types a 422, an oversized body a 413 and a bad id a 404, all in the API's error shape.
//!
//! Every string a client sends through them (JSON strings and object keys at any depth, query
//! parameters, form fields) is checked once here for control characters: anything in Unicode's
//! `Cc` category except tab, line feed and carriage return is a 422 naming the field. Text
//! with such characters is never what a person meant, and PostgreSQL refuses NUL outright.
//!
//! JSON bodies are parsed in two steps: first into a JSON value (a syntax error is a 400
//! whatever came before it), then into the handler's type (wrong types, missing or unknown
//! fields are a 422). A body that is not a JSON object is refused: every body of the API is one.

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{ApiError, FieldProblem};

/// A JSON body: a JSON object whose strings hold no control characters.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let axum::Json(value) = axum::Json::<Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::invalid("body", "must be a JSON object"));
        }
        let mut problems = Vec::new();
        json_control_characters(&value, &mut String::new(), &mut problems);
        if !problems.is_empty() {
            return Err(ApiError::Validation(problems));
        }
        serde_path_to_error::deserialize(value)
            .map(ApiJson)
            .map_err(|e| {
                let path = e.path().to_string();
                let part = if path == "." {
                    "body".to_owned()
                } else {
                    format!("body.{path}")
                };
                crate::error::unprocessable(&part, &e.inner().to_string())
            })
    }
}

/// Query parameters without control characters.
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        pairs_without_control_characters(query.as_bytes())?;
        let axum::extract::Query(value) = axum::extract::Query::<T>::try_from_uri(&parts.uri)?;
        Ok(ApiQuery(value))
    }
}

/// Path parameters.
#[derive(Debug, FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// A URL-encoded form (the OAuth2 password flow) without control characters.
#[derive(Debug)]
pub struct ApiForm<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiForm<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = request.headers().get(CONTENT_TYPE).cloned();
        let method = request.method().clone();
        let bytes =
            Bytes::from_request(request, state)
                .await
                .map_err(|rejection| match rejection.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
                    _ => ApiError::BadRequest("the request body could not be read".into()),
                })?;
        pairs_without_control_characters(&bytes)?;
        // The checked bytes, decoded by axum's form extractor as they came.
        let mut checked = Request::new(Body::from(bytes));
        *checked.method_mut() = if method == Method::GET {
            Method::POST
        } else {
            method
        };
        if let Some(content_type) = content_type {
            checked.headers_mut().insert(CONTENT_TYPE, content_type);
        }
        let axum::Form(value) = axum::Form::<T>::from_request(checked, state).await?;
        Ok(ApiForm(value))
    }
}

/// The control character in `text` that a client may not send, if any.
pub fn control_character(text: &str) -> Option<char> {
    text.chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn problem(path: &str, c: char) -> FieldProblem {
    let path = if path.is_empty() { "body" } else { path };
    FieldProblem::new(
        path,
        format!(
            "must not contain control characters (found U+{:04X})",
            u32::from(c)
        ),
    )
}

/// Every string and object key of `value` with a control character, located by its path
/// (`config.fields[0].selector`).
fn json_control_characters(value: &Value, path: &mut String, problems: &mut Vec<FieldProblem>) {
    match value {
        Value::String(s) => {
            if let Some(c) = control_character(s) {
                problems.push(problem(path, c));
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                json_control_characters(item, path, problems);
                path.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                match control_character(key) {
                    // The key itself is the problem; a readable path cannot contain it.
                    Some(c) => {
                        path.push_str(&key.escape_default().to_string());
                        problems.push(problem(path, c));
                    }
                    None => {
                        path.push_str(key);
                        json_control_characters(item, path, problems);
                    }
                }
                path.truncate(len);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A 422 for the first URL-encoded pair (`a=b&c=d`, decoded) with a control character.
fn pairs_without_control_characters(encoded: &[u8]) -> Result<(), ApiError> {
    let mut problems = Vec::new();
    for (key, value) in url::form_urlencoded::parse(encoded) {
        if let Some(c) = control_character(&key) {
            problems.push(problem(&key.escape_default().to_string(), c));
        } else if let Some(c) = control_character(&value) {
            problems.push(problem(&key, c));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(problems))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_but_tab_and_line_breaks_are_found() {
        assert_eq!(control_character("a\tb\r\nc"), None);
        for c in ['\0', '\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
            assert_eq!(control_character(&format!("a{c}b")), Some(c));
        }
        assert_eq!(control_character("Zoë, 東京 🦀"), None);
    }

    #[test]
    fn json_problems_are_located_by_path() {
        let value = serde_json::json!({
            "name": "ok",
            "config": {"fields": [{"selector": "h2"}, {"selector": "a\u{0}"}]},
            "bad\u{1}key": 1,
        });
        let mut problems = Vec::new();
        json_control_characters(&value, &mut String::new(), &mut problems);
        let paths: Vec<_> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(paths, ["config.fields[1].selector", "bad\\u{1}key"]);
        assert!(problems[0].message.contains("U+0000"));
    }

    #[test]
    fn encoded_pairs_are_checked_after_decoding() {
        assert!(pairs_without_control_characters(b"name=a%20b&limit=5").is_ok());
        let Err(ApiError::Validation(problems)) =
            pairs_without_control_characters(b"limit=5&name=a%00b")
        else {
            panic!("a NUL in a query value is refused");
        };
        assert_eq!(problems[0].path, "name");
    }
}
