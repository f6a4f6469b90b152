//! API documentation: the OpenAPI document at `/api/openapi.json`, Swagger UI at
//! `/api/docs` (assets vendored into the binary) and ReDoc at `/api/redoc` (its bundle embedded
//! at build time from the `redoc` npm package, see `build.rs`). Nothing is loaded from a CDN.

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::openapi::OpenApi as OpenApiDoc;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use crate::error::{ErrorOut, FieldProblem, ValidationErrorOut};

/// Where the JSON document is served.
pub const OPENAPI_PATH: &str = "/api/openapi.json";

const DESCRIPTION: &str = "\
Self-hosted web scraping for everyone: paste a URL, pick what matters, get a spreadsheet.

## Features
- **Jobs**: CSS and XPath 1.0 selectors, pagination (next button, URL pattern), limits, \
politeness delays, robots.txt, retries with backoff
- **Runs** executed by workers with leases: a crashed worker's run resumes from its last page
- **Results**: paged items, exports to CSV, JSON, JSON Lines and Excel (streamed)
- **Preview** a job on a live page or inline HTML before saving it
- **Roles**: admin, user and read-only; users see only their own data
- **Authentication**: OAuth2 password flow with JWT access tokens, personal API tokens
- **Safety**: a network guard refuses private and metadata addresses for every fetch
- **Operations**: health, readiness and liveness probes, Prometheus metrics, request IDs

Send `Authorization: Bearer <token>` with a token from `POST /api/v1/auth/token` or a personal \
API token (`gs_…`).";

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "GrandmaScraper API",
        description = DESCRIPTION,
        contact(name = "GrandmaScraper maintainers"),
        license(name = "MIT", identifier = "MIT"),
    ),
    tags(
        (name = "Authentication", description = "User authentication and JWT token management"),
        (name = "Jobs", description = "Scraping job management (CRUD operations)"),
        (name = "Results", description = "Access and export scraping results"),
        (name = "Users", description = "User profile management"),
        (name = "Health", description = "Kubernetes-ready health probes"),
        (name = "WebSocket", description = "Real-time progress updates"),
        (name = "Monitoring", description = "Prometheus metrics endpoint"),
        (name = "Schedules", description = "Cron schedules that run jobs automatically"),
        (name = "Webhooks", description = "Webhook subscriptions, signed deliveries and their history"),
        (name = "Detection", description = "Lists found on a page, and selectors from picked examples"),
        (name = "Snapshots", description = "Inert copies of pages, and the picker that works on them by node number"),
        (name = "Versions", description = "API versions and their deprecation status"),
    ),
    paths(crate::metrics::serve_metrics),
    components(schemas(ErrorOut, ValidationErrorOut, FieldProblem)),
    modifiers(&BearerSecurity),
)]
pub struct ApiDoc;

/// Completes the document of the whole router (its operations are only known once every
/// route is merged) with [`CommonErrors`].
pub fn complete(openapi: &mut OpenApiDoc) {
    CommonErrors.modify(openapi);
}

/// Documents the answers every operation can give whatever its handler says: 401 for an
/// operation that needs a token, 400 (malformed JSON), 413, 415 and 422 for one with a JSON
/// body, 422 for one with query parameters. Each 422 is the one `ValidationErrorOut` shape.
struct CommonErrors;

impl Modify for CommonErrors {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        use utoipa::openapi::path::ParameterIn;
        use utoipa::openapi::{Content, Ref, RefOr, ResponseBuilder};

        let response = |description: &str, schema: &str| {
            RefOr::T(
                ResponseBuilder::new()
                    .description(description)
                    .content(
                        "application/json",
                        Content::new(Some(Ref::from_schema_name(schema))),
                    )
                    .build(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            let operations = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for operation in operations.into_iter().flatten() {
                let secured = operation.security.as_ref().is_some_and(|s| !s.is_empty());
                let has_body = operation.request_body.is_some();
                let json_body = matches!(
                    &operation.request_body,
                    Some(RefOr::T(b)) if b.content.contains_key("application/json")
                );
                let has_query = operation.parameters.iter().flatten().any(
                    |p| matches!(p, RefOr::T(p) if matches!(p.parameter_in, ParameterIn::Query)),
                );
                let responses = &mut operation.responses.responses;
                let mut add = |status: &str, description: &str, schema: &str| {
                    // The handler's own, more precise description wins, with the one shape.
                    let entry = responses
                        .entry(status.to_owned())
                        .or_insert_with(|| response(description, schema));
                    if status == "422" {
                        *entry = response(description_of(entry, description), schema);
                    }
                };
                if secured {
                    add(
                        "401",
                        "Missing, invalid, expired or revoked token",
                        "ErrorOut",
                    );
                }
                if json_body {
                    add("400", "The body is not well-formed JSON", "ErrorOut");
                    add("415", "The body is not `application/json`", "ErrorOut");
                }
                if has_body {
                    add("413", "The body is larger than the limit", "ErrorOut");
                }
                if has_body || has_query {
                    add(
                        "422",
                        "Invalid values, wrong types, unknown fields or control characters, \
                         each located by its path",
                        "ValidationErrorOut",
                    );
                }
            }
        }
    }
}

/// The description of a documented response, or `fallback`.
fn description_of<'a>(
    response: &'a utoipa::openapi::RefOr<utoipa::openapi::Response>,
    fallback: &'a str,
) -> &'a str {
    match response {
        utoipa::openapi::RefOr::T(r) => &r.description,
        utoipa::openapi::RefOr::Ref(_) => fallback,
    }
}

/// Declares the `bearer` scheme the operations refer to.
struct BearerSecurity;

impl Modify for BearerSecurity {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT or gs_ API token")
                    .build(),
            ),
        );
    }
}

/// The ReDoc bundle, or empty when the build could not fetch it.
const REDOC_JS: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/redoc.standalone.js"));

const REDOC_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>GrandmaScraper API - ReDoc</title>
    <style>body { margin: 0; padding: 0; }</style>
  </head>
  <body>
    <redoc spec-url="/api/openapi.json"></redoc>
    <script src="/api/redoc/redoc.standalone.js"></script>
  </body>
</html>
"#;

const REDOC_MISSING_HTML: &str = r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>GrandmaScraper API</title></head>
<body><p>This build does not include ReDoc. The same documentation is at
<a href="/api/docs">/api/docs</a> (Swagger UI) and <a href="/api/openapi.json">/api/openapi.json</a>.</p></body></html>
"#;

/// Swagger UI, ReDoc and the JSON document for `openapi`.
pub fn router<S: Clone + Send + Sync + 'static>(openapi: OpenApiDoc) -> Router<S> {
    let swagger: Router<S> = SwaggerUi::new("/api/docs")
        .url(OPENAPI_PATH, openapi)
        .into();
    swagger
        .route("/api/redoc", get(redoc_page))
        .route("/api/redoc/redoc.standalone.js", get(redoc_js))
}

async fn redoc_page() -> Html<&'static str> {
    Html(if REDOC_JS.is_empty() {
        REDOC_MISSING_HTML
    } else {
        REDOC_HTML
    })
}

async fn redoc_js() -> impl IntoResponse {
    (
        [
            (
                header::CONTENT_TYPE,
                "application/javascript; charset=utf-8",
            ),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        REDOC_JS,
    )
}
