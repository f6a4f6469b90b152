//! `GET /api`: the API versions this server answers, and whether each is current or
//! deprecated, so a client can find out before it is told by a `Deprecation` header.

use axum::Json;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::deprecation::Deprecation;
use crate::routes::docs::OPENAPI_PATH;

/// One version the server answers: its name, where it lives, and its deprecation if any.
#[derive(Debug)]
pub struct ApiVersion {
    pub name: &'static str,
    pub prefix: &'static str,
    pub deprecation: Option<Deprecation>,
}

/// Every version the server answers, oldest first. A version that gets deprecated keeps its
/// entry with its [`Deprecation`] (the same notice its routes then send in headers).
pub fn versions() -> Vec<ApiVersion> {
    vec![ApiVersion {
        name: "v1",
        prefix: grandma_shared::webhook::API_PREFIX,
        deprecation: None,
    }]
}

/// The root router: the listing at `/api`, outside any version.
pub fn root_router<S: Clone + Send + Sync + 'static>() -> OpenApiRouter<S> {
    OpenApiRouter::new().routes(routes!(list_versions))
}

/// Whether clients should use a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VersionStatus {
    /// Supported; new clients should use it.
    Current,
    /// Still answering, with `Deprecation` headers; move to `successor`.
    Deprecated,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionOut {
    /// `v1`, …
    pub version: &'static str,
    pub status: VersionStatus,
    /// Where its routes live, e.g. `/api/v1`.
    pub prefix: &'static str,
    /// Its OpenAPI document.
    pub openapi: &'static str,
    /// Since when it is deprecated.
    pub deprecated_at: Option<DateTime<Utc>>,
    /// After when it may stop answering.
    pub sunset_at: Option<DateTime<Utc>>,
    /// What replaces it.
    pub successor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VersionsOut {
    pub versions: Vec<VersionOut>,
}

impl From<ApiVersion> for VersionOut {
    fn from(v: ApiVersion) -> Self {
        let d = v.deprecation;
        VersionOut {
            version: v.name,
            status: if d.is_some() {
                VersionStatus::Deprecated
            } else {
                VersionStatus::Current
            },
            prefix: v.prefix,
            openapi: OPENAPI_PATH,
            deprecated_at: d.as_ref().map(|d| d.since),
            sunset_at: d.as_ref().and_then(|d| d.sunset),
            successor: d.map(|d| d.successor),
        }
    }
}

/// The API versions and their status. Unauthenticated, like the documentation.
#[utoipa::path(get, path = "/api", tag = "Versions",
    responses((status = 200, description = "Every version and its status", body = VersionsOut)))]
pub async fn list_versions() -> Json<VersionsOut> {
    Json(VersionsOut {
        versions: versions().into_iter().map(Into::into).collect(),
    })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_deprecated_version_is_listed_with_its_dates() {
        let since = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        let sunset = Utc.with_ymd_and_hms(2027, 7, 1, 0, 0, 0).unwrap();
        let out = VersionOut::from(ApiVersion {
            name: "v0",
            prefix: "/api/v0",
            deprecation: Some(Deprecation::replaced_by(since, "/api/v1").until(sunset)),
        });
        assert_eq!(out.status, VersionStatus::Deprecated);
        assert_eq!(out.deprecated_at, Some(since));
        assert_eq!(out.sunset_at, Some(sunset));
        assert_eq!(out.successor.as_deref(), Some("/api/v1"));
    }
}
