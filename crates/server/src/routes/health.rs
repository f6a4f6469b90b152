//! Health probes for orchestrators such as Kubernetes: `/health` with components,
//! `/readiness` (migrations applied and the database answering), `/liveness` (the process
//! serves requests). Unauthenticated: orchestrators call them.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use tracing::instrument;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

/// Below this much free disk in the data directory the server reports itself degraded.
const LOW_DISK_BYTES: u64 = 256 * 1024 * 1024;
/// A database slower than this to answer `select 1` makes the server degraded.
const SLOW_DATABASE: Duration = Duration::from_secs(1);

/// The probes under `/api/v1`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(readiness))
        .routes(routes!(liveness))
}

/// The same probes at the root, where orchestrators look for them. Separate handlers so each
/// operation has its own OpenAPI `operationId`.
pub fn root_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(root_health))
        .routes(routes!(root_readiness))
        .routes(routes!(root_liveness))
}

/// Component health (root alias of `/api/v1/health`).
#[utoipa::path(get, path = "/health", tag = "Health",
    responses(
        (status = 200, description = "Healthy or degraded", body = HealthOut),
        (status = 503, description = "Unhealthy", body = HealthOut),
    ))]
pub async fn root_health(state: State<AppState>) -> (StatusCode, Json<HealthOut>) {
    health(state).await
}

/// Readiness (root alias of `/api/v1/readiness`).
#[utoipa::path(get, path = "/readiness", tag = "Health",
    responses(
        (status = 200, description = "Ready", body = ProbeOut),
        (status = 503, description = "Not ready", body = ProbeOut),
    ))]
pub async fn root_readiness(state: State<AppState>) -> (StatusCode, Json<ProbeOut>) {
    readiness(state).await
}

/// Liveness (root alias of `/api/v1/liveness`).
#[utoipa::path(get, path = "/liveness", tag = "Health",
    responses((status = 200, description = "Alive", body = ProbeOut)))]
pub async fn root_liveness() -> Json<ProbeOut> {
    liveness().await
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HealthOut {
    /// `healthy`, `degraded` or `unhealthy` (503).
    pub status: &'static str,
    pub components: ComponentsOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentsOut {
    pub database: DatabaseOut,
    pub workers: WorkersOut,
    pub queue: QueueOut,
    pub disk: DiskOut,
    pub browser: BrowserOut,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BrowserOut {
    /// `healthy` when Chromium was found, `degraded` when it was not (jobs that need it are
    /// refused; `auto` jobs run over plain HTTP).
    pub status: &'static str,
    /// Why there is no browser, in words.
    pub message: Option<String>,
    /// Whether the browser process is running now (it starts when a page first needs it).
    pub running: bool,
    /// Browser processes started so far; more than one means it was restarted.
    pub launches: u64,
    pub tabs: usize,
    pub tabs_in_use: usize,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DatabaseOut {
    /// `healthy`, `degraded` or `unhealthy`.
    pub status: &'static str,
    pub response_ms: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkersOut {
    /// Worker processes that sent a heartbeat within two lease periods.
    pub seen_recently: Option<usize>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueOut {
    /// Runs waiting for a worker.
    pub depth: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DiskOut {
    /// Free bytes in the data directory's file system (`None` if it cannot be read).
    pub free_bytes: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProbeOut {
    pub status: &'static str,
}

/// Component health. A failing database is `unhealthy` (503); slow answers, low disk, no
/// Chromium, or runs waiting with no worker alive are `degraded` (200, so a load balancer keeps the node).
#[utoipa::path(get, path = "/health", tag = "Health",
    responses(
        (status = 200, description = "Healthy or degraded", body = HealthOut),
        (status = 503, description = "Unhealthy", body = HealthOut),
    ))]
#[instrument(skip_all)]
pub async fn health(State(state): State<AppState>) -> (StatusCode, Json<HealthOut>) {
    let store = &state.store;
    let ping = store.ping().await;
    let database = match &ping {
        Ok(rtt) => DatabaseOut {
            status: if *rtt > SLOW_DATABASE {
                "degraded"
            } else {
                "healthy"
            },
            response_ms: Some(rtt.as_secs_f64() * 1000.0),
        },
        Err(e) => {
            tracing::warn!(error = %e, "health: database unreachable");
            DatabaseOut {
                status: "unhealthy",
                response_ms: None,
            }
        }
    };
    let (depth, workers) = if ping.is_ok() {
        let lease = chrono::Duration::seconds(
            i64::try_from(state.settings.worker.lease_seconds).unwrap_or(60) * 2,
        );
        let since = chrono::Utc::now() - lease;
        (
            store.queue_depth().await.ok(),
            store.workers_seen_since(since).await.ok().map(|w| w.len()),
        )
    } else {
        (None, None)
    };
    let free_bytes = free_disk_bytes(&state.settings.data_dir);
    let browser = browser_health(&state).await;

    let status = if ping.is_err() {
        "unhealthy"
    } else if database.status != "healthy"
        || free_bytes.is_some_and(|f| f < LOW_DISK_BYTES)
        || browser.status != "healthy"
        // Work is waiting and nobody will do it.
        || (depth.unwrap_or(0) > 0 && workers == Some(0))
    {
        "degraded"
    } else {
        "healthy"
    };
    let code = if status == "unhealthy" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    let body = HealthOut {
        status,
        components: ComponentsOut {
            database,
            workers: WorkersOut {
                seen_recently: workers,
            },
            queue: QueueOut { depth },
            disk: DiskOut { free_bytes },
            browser,
        },
    };
    (code, Json(body))
}

/// The browser component: found or not, and what the pool is doing. Looking starts nothing.
async fn browser_health(state: &AppState) -> BrowserOut {
    match &state.browser {
        Ok(pool) => {
            let status = pool.status().await;
            BrowserOut {
                status: "healthy",
                message: None,
                running: status.running,
                launches: status.launches,
                tabs: status.tabs,
                tabs_in_use: status.tabs_in_use,
            }
        }
        Err(missing) => BrowserOut {
            status: "degraded",
            message: Some(missing.to_string()),
            running: false,
            launches: 0,
            tabs: 0,
            tabs_in_use: 0,
        },
    }
}

/// Ready to serve: the database answers and every migration of this build is applied.
#[utoipa::path(get, path = "/readiness", tag = "Health",
    responses(
        (status = 200, description = "Ready", body = ProbeOut),
        (status = 503, description = "Not ready", body = ProbeOut),
    ))]
#[instrument(skip_all)]
pub async fn readiness(State(state): State<AppState>) -> (StatusCode, Json<ProbeOut>) {
    match state.store.schema_ready().await {
        Ok(true) => (StatusCode::OK, Json(ProbeOut { status: "ready" })),
        Ok(false) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(ProbeOut {
                status: "migrations pending",
            }),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: database unreachable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(ProbeOut {
                    status: "database unavailable",
                }),
            )
        }
    }
}

/// The process is alive (it answered).
#[utoipa::path(get, path = "/liveness", tag = "Health",
    responses((status = 200, description = "Alive", body = ProbeOut)))]
pub async fn liveness() -> Json<ProbeOut> {
    Json(ProbeOut { status: "alive" })
}

/// Free bytes for unprivileged users on the file system holding `dir` (or its nearest existing
/// ancestor, since the data directory may not exist yet).
fn free_disk_bytes(dir: &std::path::Path) -> Option<u64> {
    let existing = dir.ancestors().find(|p| p.exists())?;
    let existing = if existing.as_os_str().is_empty() {
        std::path::Path::new(".")
    } else {
        existing
    };
    let stat = rustix::fs::statvfs(existing).ok()?;
    Some(stat.f_bavail.saturating_mul(stat.f_frsize))
}
