//! CORS (innermost layer): origins from settings, none by default (no CORS headers at all, so
//! browsers keep the same-origin policy). `*` allows any origin without credentials;
//! credentials are allowed only with an explicit list.
//!
//! [`CorsPolicy`] is the one place that decides whether an origin is allowed: the layer asks
//! it, and so does the rate limiter, which sits outside this layer (see the order in `middleware`) and adds
//! the same headers to its own 429s with [`CorsPolicy::decorate`], so that a browser app on an
//! allowed origin can read the refusal and its `Retry-After`.

use std::time::Duration;

use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::middleware::rate_limit::decision::{X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING};
use crate::middleware::request_id::X_REQUEST_ID;
use grandma_shared::config::HttpSettings;

/// Response headers a cross-origin script may read.
fn exposed_headers() -> [HeaderName; 5] {
    [
        X_REQUEST_ID.clone(),
        X_RATELIMIT_LIMIT.clone(),
        X_RATELIMIT_REMAINING.clone(),
        header::RETRY_AFTER,
        header::CONTENT_DISPOSITION,
    ]
}

/// Request headers every CORS answer varies on (tower-http's default list, made explicit so
/// that the rate limiter's 429s say the same).
const VARY: [HeaderName; 3] = [
    header::ORIGIN,
    header::ACCESS_CONTROL_REQUEST_METHOD,
    header::ACCESS_CONTROL_REQUEST_HEADERS,
];

/// Which origins may read the API's answers, and whether with credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CorsPolicy {
    /// `None`: any origin (`*`); else these exact origins.
    origins: Option<Vec<HeaderValue>>,
    /// Only ever true with explicit origins.
    credentials: bool,
}

impl CorsPolicy {
    /// The policy of the settings, or `None` when no origin is allowed (no CORS at all).
    pub fn from_settings(settings: &HttpSettings) -> Option<CorsPolicy> {
        if settings.cors_origins.is_empty() {
            return None;
        }
        let any = settings.cors_origins.iter().any(|o| o == "*");
        let origins = (!any).then(|| {
            settings
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
                .collect()
        });
        Some(CorsPolicy {
            origins,
            credentials: settings.cors_allow_credentials && !any,
        })
    }

    /// Whether a request from `origin` may read the answer: the one rule, used by the layer
    /// and by the rate limiter's 429s.
    pub fn allows(&self, origin: &HeaderValue) -> bool {
        match &self.origins {
            None => true,
            Some(list) => list.iter().any(|o| o == origin),
        }
    }

    /// `Access-Control-Allow-Origin` for a request with these headers, as the layer answers
    /// it: `*` for any origin (even none, like the layer), else the origin itself if allowed.
    fn allow_origin(&self, request: &HeaderMap) -> Option<HeaderValue> {
        if self.origins.is_none() {
            return Some(HeaderValue::from_static("*"));
        }
        let origin = request.get(header::ORIGIN)?;
        self.allows(origin).then(|| origin.clone())
    }

    /// The tower-http layer of this policy.
    pub fn layer(&self) -> CorsLayer {
        let origin = match self.origins {
            None => AllowOrigin::any(),
            Some(_) => {
                let policy = self.clone();
                AllowOrigin::predicate(move |origin, _| policy.allows(origin))
            }
        };
        CorsLayer::new()
            .allow_origin(origin)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::ACCEPT,
                X_REQUEST_ID.clone(),
                HeaderName::from_static("traceparent"),
            ])
            .expose_headers(exposed_headers())
            .vary(VARY)
            .max_age(Duration::from_secs(600))
            .allow_credentials(self.credentials)
    }

    /// Adds to `response` (an answer made outside the CORS layer, i.e. a 429 of the rate
    /// limiter) the headers the layer would have added to a simple request with `request`'s
    /// headers: `Vary` always; `Access-Control-Allow-Origin`, `-Allow-Credentials` (when
    /// configured) and `-Expose-Headers` only for an allowed origin.
    pub fn decorate(&self, request: &HeaderMap, response: &mut HeaderMap) {
        let vary = VARY.iter().map(HeaderName::as_str).collect::<Vec<_>>();
        response.append(
            header::VARY,
            HeaderValue::from_str(&vary.join(", ")).expect("header names are valid values"),
        );
        let Some(allow_origin) = self.allow_origin(request) else {
            return;
        };
        response.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, allow_origin);
        if self.credentials {
            response.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        let exposed = exposed_headers();
        let exposed = exposed.iter().map(HeaderName::as_str).collect::<Vec<_>>();
        response.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_str(&exposed.join(",")).expect("header names are valid values"),
        );
    }
}

/// The layer, or `None` when no origin is allowed.
pub fn layer(settings: &HttpSettings) -> Option<CorsLayer> {
    CorsPolicy::from_settings(settings).map(|p| p.layer())
}

#[cfg(test)]
mod tests {
    use grandma_shared::config::List;

    use super::*;

    fn policy(origins: &[&str], credentials: bool) -> Option<CorsPolicy> {
        CorsPolicy::from_settings(&HttpSettings {
            cors_origins: List(origins.iter().map(|o| (*o).to_owned()).collect()),
            cors_allow_credentials: credentials,
            ..Default::default()
        })
    }

    fn from(origin: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ORIGIN, HeaderValue::from_str(origin).unwrap());
        h
    }

    #[test]
    fn no_origins_no_policy() {
        assert_eq!(policy(&[], true), None);
    }

    #[test]
    fn listed_origins_only_with_credentials() {
        let p = policy(&["https://app.example/", "https://b.example"], true).unwrap();
        assert!(p.allows(&HeaderValue::from_static("https://app.example")));
        assert!(p.allows(&HeaderValue::from_static("https://b.example")));
        assert!(!p.allows(&HeaderValue::from_static("https://evil.example")));
        assert!(!p.allows(&HeaderValue::from_static("https://app.example.evil")));

        let mut r = HeaderMap::new();
        p.decorate(&from("https://app.example"), &mut r);
        assert_eq!(r["access-control-allow-origin"], "https://app.example");
        assert_eq!(r["access-control-allow-credentials"], "true");
        let exposed = r["access-control-expose-headers"].to_str().unwrap();
        for name in [
            "x-request-id",
            "x-ratelimit-limit",
            "x-ratelimit-remaining",
            "retry-after",
        ] {
            assert!(exposed.contains(name), "{exposed}");
        }
        assert!(r["vary"].to_str().unwrap().starts_with("origin"));

        for request in [from("https://evil.example"), HeaderMap::new()] {
            let mut r = HeaderMap::new();
            p.decorate(&request, &mut r);
            assert_eq!(r.len(), 1, "{r:?}");
            assert!(r.contains_key("vary"));
        }
    }

    #[test]
    fn any_origin_is_a_star_without_credentials() {
        let p = policy(&["*"], false).unwrap();
        assert!(p.allows(&HeaderValue::from_static("https://whoever.example")));
        let mut r = HeaderMap::new();
        p.decorate(&from("https://whoever.example"), &mut r);
        assert_eq!(r["access-control-allow-origin"], "*");
        assert!(!r.contains_key("access-control-allow-credentials"));
        assert!(r.contains_key("access-control-expose-headers"));
    }
}
