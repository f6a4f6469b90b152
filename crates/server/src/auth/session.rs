//! Web sessions: a random token in an HttpOnly, SameSite=Lax cookie; the server keeps only its
//! SHA-256 (`web_session`), with the session's CSRF token and expiry. The web app's pages and
//! its JavaScript authenticate with the cookie; scripts keep using bearer tokens.
//!
//! `Secure` is set when `[web] secure_cookies` is `true`, never when it is `false`, and
//! otherwise when the request came over HTTPS. This server speaks plain HTTP itself, so HTTPS
//! means a TLS proxy in front of it that says `X-Forwarded-Proto: https` and whose address is
//! in `[http] trusted_proxies` (the header is believed from nobody else).

use std::net::IpAddr;

use axum::http::header::{COOKIE, HeaderValue};
use axum::http::{HeaderMap, request::Parts};
use chrono::Utc;
use grandma_shared::Settings;
use grandma_store::{NewWebSession, StoreError, User, WebSession};

use crate::auth::tokens;
use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const COOKIE_NAME: &str = "grandma_session";

/// Random bytes in a session token and in a CSRF token (hex-encoded, so twice as many chars).
const TOKEN_BYTES: usize = 32;

/// A signed-in browser: its session row and its (active) user.
#[derive(Debug, Clone)]
pub struct SessionUser {
    pub session: WebSession,
    pub user: User,
}

/// The session token in the request's `Cookie` headers, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim_matches('"'))
        // Tokens are hex of a fixed length; anything else cannot match a row.
        .filter(|value| {
            value.len() == TOKEN_BYTES * 2 && value.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// The session of the request's cookie: `None` without a cookie, or when the session ended,
/// expired or belongs to a deactivated user.
pub async fn of_headers(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<SessionUser>, ApiError> {
    let Some(token) = cookie_token(headers) else {
        return Ok(None);
    };
    match state.store.web_session(&tokens::hash(token)).await {
        Ok((session, user)) if user.is_active => Ok(Some(SessionUser { session, user })),
        Ok(_) | Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Starts a session for `user`; returns the cookie's token (shown to nobody but the browser)
/// and the stored row.
pub async fn start(state: &AppState, user: &User) -> Result<(String, WebSession), ApiError> {
    let token = grandma_shared::random::random_hex(TOKEN_BYTES);
    let hours = i64::from(state.settings.web.session_hours);
    let session = state
        .store
        .create_web_session(&NewWebSession {
            user_id: user.user_id,
            token_hash: tokens::hash(&token),
            csrf_token: grandma_shared::random::random_hex(TOKEN_BYTES),
            expires_at: Utc::now() + chrono::Duration::hours(hours),
        })
        .await?;
    Ok((token, session))
}

/// Ends the session of the request's cookie, if there is one.
pub async fn end(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(token) = cookie_token(headers) {
        match state.store.delete_web_session(&tokens::hash(token)).await {
            Ok(()) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(token: &str, settings: &Settings, secure: bool) -> HeaderValue {
    let max_age = u64::from(settings.web.session_hours) * 3600;
    cookie(token, max_age, secure)
}

/// `Set-Cookie` that makes the browser forget the session.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    cookie("", 0, secure)
}

fn cookie(value: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text =
        format!("{COOKIE_NAME}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}");
    HeaderValue::from_str(&text).expect("a cookie of hex and fixed words is a valid header")
}

/// Whether cookies set in answer to this request are marked `Secure` (see the module's notes).
pub fn secure(settings: &Settings, peer: Option<IpAddr>, headers: &HeaderMap) -> bool {
    if let Some(fixed) = settings.web.secure_cookies {
        return fixed;
    }
    let Some(peer) = peer else { return false };
    let trusted = settings
        .http
        .trusted_proxies
        .iter()
        .any(|n| n.contains(&peer));
    trusted
        && headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|proto| proto.trim().eq_ignore_ascii_case("https"))
}

/// The peer's address, when the server was started with connection info (always, by `launch`).
pub fn peer(parts: &Parts) -> Option<IpAddr> {
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|c| c.0.ip())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_found_among_others_and_malformed_ones_are_ignored() {
        let token = "ab".repeat(TOKEN_BYTES);
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("a=1; {COOKIE_NAME}={token}; b=2")).unwrap(),
        );
        assert_eq!(cookie_token(&headers), Some(token.as_str()));
        for bad in ["zz", "", "<script>", &"ab".repeat(TOKEN_BYTES + 1)] {
            let mut headers = HeaderMap::new();
            headers.insert(
                COOKIE,
                HeaderValue::from_str(&format!("{COOKIE_NAME}={bad}")).unwrap(),
            );
            assert_eq!(cookie_token(&headers), None, "{bad}");
        }
    }

    #[test]
    fn cookie_flags() {
        let value = cookie("abc", 60, false);
        let text = value.to_str().unwrap();
        assert!(
            text.contains("HttpOnly") && text.contains("SameSite=Lax") && text.contains("Path=/")
        );
        assert!(!text.contains("Secure"));
        assert!(
            cookie("abc", 60, true)
                .to_str()
                .unwrap()
                .ends_with("; Secure")
        );
        assert!(clear_cookie(false).to_str().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn secure_follows_the_setting_or_a_trusted_proxy() {
        let mut settings = Settings::default();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        let proxy = IpAddr::from([10, 0, 0, 1]);
        assert!(
            !secure(&settings, Some(proxy), &headers),
            "an untrusted proxy is not believed"
        );
        settings.http.trusted_proxies =
            grandma_shared::config::List(vec!["10.0.0.0/8".parse().unwrap()]);
        assert!(secure(&settings, Some(proxy), &headers));
        assert!(!secure(&settings, Some(proxy), &HeaderMap::new()));
        settings.web.secure_cookies = Some(false);
        assert!(!secure(&settings, Some(proxy), &headers));
        settings.web.secure_cookies = Some(true);
        assert!(secure(&settings, None, &HeaderMap::new()));
    }
}
