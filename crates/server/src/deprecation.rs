//! Deprecated routes: they keep working, and say so in every answer and in the document.
//!
//! [`deprecate`] wraps a router so that each of its responses carries the standard headers
//! (`Deprecation`, RFC 9745: when it was deprecated, as `@<unix seconds>`; `Sunset`, RFC 8594:
//! after when it may stop answering, as an HTTP date; `Link` to what replaces it, relation
//! `successor-version` by default) and marks each of its operations `deprecated` in the
//! OpenAPI document, with the same facts in words, so Swagger UI and ReDoc strike them out.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use chrono::{DateTime, Utc};
use utoipa::openapi::Deprecated;
use utoipa_axum::router::OpenApiRouter;

/// The `Deprecation` response header (RFC 9745).
pub const DEPRECATION: HeaderName = HeaderName::from_static("deprecation");
/// The `Sunset` response header (RFC 8594).
pub const SUNSET: HeaderName = HeaderName::from_static("sunset");

/// What the clients of a deprecated route are told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deprecation {
    /// Since when the route is deprecated.
    pub since: DateTime<Utc>,
    /// After when it may stop answering; none: no date is promised yet.
    pub sunset: Option<DateTime<Utc>>,
    /// What to use instead: a path or URL.
    pub successor: String,
    /// The link relation of `successor`: `successor-version` for a newer version of the same
    /// resource, `alternate` for another spelling of it.
    pub relation: &'static str,
}

impl Deprecation {
    /// A route replaced by a newer version at `successor`.
    pub fn replaced_by(since: DateTime<Utc>, successor: impl Into<String>) -> Self {
        Deprecation {
            since,
            sunset: None,
            successor: successor.into(),
            relation: "successor-version",
        }
    }

    /// The same, with a date after which the route may be gone.
    pub fn until(mut self, sunset: DateTime<Utc>) -> Self {
        self.sunset = Some(sunset);
        self
    }

    /// The response headers: name and value, each valid for HTTP.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        let mut out = vec![(
            DEPRECATION,
            HeaderValue::from_str(&format!("@{}", self.since.timestamp()))
                .expect("digits are a valid header value"),
        )];
        if let Some(sunset) = self.sunset {
            let date = httpdate::fmt_http_date(sunset.into());
            out.push((
                SUNSET,
                HeaderValue::from_str(&date).expect("an HTTP date is a valid header value"),
            ));
        }
        // A successor that cannot be a header value (a control character) is left out rather
        // than failing every answer of the route.
        if let Ok(link) =
            HeaderValue::from_str(&format!("<{}>; rel=\"{}\"", self.successor, self.relation))
        {
            out.push((header::LINK, link));
        }
        out
    }

    /// The notice in words, for the operation's description.
    pub fn describe(&self) -> String {
        let mut text = format!("**Deprecated** since {}", self.since.format("%Y-%m-%d"));
        if let Some(sunset) = self.sunset {
            text.push_str(&format!(
                "; may stop answering after {}",
                sunset.format("%Y-%m-%d")
            ));
        }
        text.push_str(&format!("; use `{}` instead.", self.successor));
        text
    }
}

/// `router` with every response carrying `notice`'s headers and every operation marked
/// deprecated in its document.
pub fn deprecate<S>(mut router: OpenApiRouter<S>, notice: Deprecation) -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
{
    mark(router.get_openapi_mut(), &notice);
    let headers = std::sync::Arc::new(notice.headers());
    router.layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let headers = std::sync::Arc::clone(&headers);
            async move {
                let mut response = next.run(request).await;
                for (name, value) in headers.iter() {
                    // `Link` may already hold other relations: add, never replace.
                    response.headers_mut().append(name.clone(), value.clone());
                }
                response
            }
        },
    ))
}

/// Marks every operation of `openapi` deprecated and prepends the notice to its description.
pub fn mark(openapi: &mut utoipa::openapi::OpenApi, notice: &Deprecation) {
    for item in openapi.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for operation in operations.into_iter().flatten() {
            operation.deprecated = Some(Deprecated::True);
            let words = notice.describe();
            operation.description = Some(match operation.description.take() {
                Some(before) if !before.is_empty() => format!("{words}\n\n{before}"),
                _ => words,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Json;
    use chrono::TimeZone;
    use utoipa_axum::routes;

    use super::*;

    /// An operation that exists only to be deprecated in this test.
    #[utoipa::path(get, path = "/old-things", responses((status = 200, description = "ok")))]
    async fn old_things() -> Json<serde_json::Value> {
        Json(serde_json::json!({"things": []}))
    }

    /// Its replacement, not deprecated.
    #[utoipa::path(get, path = "/things", responses((status = 200, description = "ok")))]
    async fn things() -> Json<serde_json::Value> {
        Json(serde_json::json!({"things": []}))
    }

    fn notice() -> Deprecation {
        Deprecation::replaced_by(
            Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap(),
            "/api/v1/things",
        )
        .until(Utc.with_ymd_and_hms(2027, 6, 30, 23, 59, 59).unwrap())
    }

    #[test]
    fn headers_are_spelled_as_the_standards_say() {
        let headers = notice().headers();
        let get = |name: &HeaderName| {
            headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.to_str().unwrap().to_owned())
        };
        assert_eq!(get(&DEPRECATION).as_deref(), Some("@1793491200"));
        assert_eq!(
            get(&SUNSET).as_deref(),
            Some("Wed, 30 Jun 2027 23:59:59 GMT")
        );
        assert_eq!(
            get(&header::LINK).as_deref(),
            Some("</api/v1/things>; rel=\"successor-version\"")
        );
        let no_sunset = Deprecation {
            sunset: None,
            ..notice()
        };
        assert!(no_sunset.headers().iter().all(|(n, _)| *n != SUNSET));
        // A successor that is not a valid header value is left out, not a failure.
        let hostile = Deprecation {
            successor: "/x\r\nSet-Cookie: a=b".into(),
            ..notice()
        };
        assert!(hostile.headers().iter().all(|(n, _)| *n != header::LINK));
    }

    /// A real server on 127.0.0.1 with one deprecated and one current route.
    #[tokio::test]
    async fn a_deprecated_route_answers_with_the_headers_and_is_documented() {
        // reqwest needs a TLS provider even for plain HTTP.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let old: OpenApiRouter<()> = OpenApiRouter::new().routes(routes!(old_things));
        let current: OpenApiRouter<()> = OpenApiRouter::new().routes(routes!(things));
        let (app, openapi) = OpenApiRouter::new()
            .merge(deprecate(old, notice()))
            .merge(current)
            .split_for_parts();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let client = reqwest::Client::new();

        let answer = client
            .get(format!("http://{addr}/old-things"))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200, "a deprecated route still works");
        assert_eq!(answer.headers()["deprecation"], "@1793491200");
        assert_eq!(answer.headers()["sunset"], "Wed, 30 Jun 2027 23:59:59 GMT");
        assert_eq!(
            answer.headers()["link"],
            "</api/v1/things>; rel=\"successor-version\""
        );
        let current = client
            .get(format!("http://{addr}/things"))
            .send()
            .await
            .unwrap();
        assert_eq!(current.status(), 200);
        assert!(current.headers().get("deprecation").is_none());
        assert!(current.headers().get("sunset").is_none());
        server.abort();

        let doc = serde_json::to_value(&openapi).unwrap();
        let old = &doc["paths"]["/old-things"]["get"];
        assert_eq!(old["deprecated"], true);
        let description = old["description"].as_str().unwrap_or_default();
        assert!(
            description.contains("/api/v1/things") && description.contains("2027-06-30"),
            "{description}"
        );
        assert!(doc["paths"]["/things"]["get"].get("deprecated").is_none());
    }
}
