//! Cross-site request forgery: a request made with the session cookie that changes anything
//! (any method but GET, HEAD and OPTIONS) must come from our own pages. Two checks, both
//! required:
//!
//! - the origin: an `Origin` header naming another host, or `Sec-Fetch-Site: cross-site`, is
//!   refused (browsers send one or both on every such request);
//! - the token: the session's CSRF token, in the `X-CSRF-Token` header (the app's JavaScript,
//!   `api.js`) or the `csrf` field of an HTML form, compared in constant time.
//!
//! Bearer-token requests carry no ambient credential, so neither check applies to them.

use axum::http::{HeaderMap, Method, header};

use crate::error::ApiError;

/// The header the web app's JavaScript sends the token in.
pub const HEADER: &str = "x-csrf-token";

/// The form field HTML forms send the token in.
pub const FIELD: &str = "csrf";

/// The refusal, in words.
pub const REFUSED: &str =
    "this request did not come from this app's own pages; reload the page and try again";

/// Whether `method` never changes anything.
pub fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request's `Origin` (or `Sec-Fetch-Site`) says it came from a page of this host.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if fetch_site.is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return false;
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // "null" (sandboxed frames, some redirects) names no host: refused like a foreign one.
    origin
        .to_str()
        .ok()
        .and_then(|o| o.split_once("://"))
        .is_some_and(|(scheme, authority)| {
            matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host)
        })
}

/// Whether `given` is `expected`, in time that does not depend on where they differ.
pub fn token_matches(expected: &str, given: &str) -> bool {
    let (a, b) = (expected.as_bytes(), given.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Both checks for a state-changing request whose token came in the header.
pub fn check_header(headers: &HeaderMap, expected: &str) -> Result<(), ApiError> {
    let given = headers
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if same_origin(headers) && token_matches(expected, given) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(REFUSED))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn origins() {
        assert!(same_origin(&headers(&[("host", "a.test:8000")])));
        assert!(same_origin(&headers(&[
            ("host", "a.test:8000"),
            ("origin", "http://a.test:8000")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "https://A.test")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.test:8000"),
            ("origin", "http://evil.test")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.test:8000"),
            ("origin", "http://a.test:8001")
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "a.test"),
            ("origin", "null")
        ])));
        assert!(!same_origin(&headers(&[("origin", "http://a.test")])));
        assert!(!same_origin(&headers(&[
            ("host", "a.test"),
            ("sec-fetch-site", "cross-site")
        ])));
        assert!(same_origin(&headers(&[
            ("host", "a.test"),
            ("sec-fetch-site", "same-origin")
        ])));
    }

    #[test]
    fn tokens() {
        assert!(token_matches("abc", "abc"));
        assert!(!token_matches("abc", "abd"));
        assert!(!token_matches("abc", "ab"));
        assert!(!token_matches("", ""));
        let ok = headers(&[("host", "a"), ("x-csrf-token", "t0k")]);
        assert!(check_header(&ok, "t0k").is_ok());
        assert!(check_header(&headers(&[("host", "a")]), "t0k").is_err());
    }
}
