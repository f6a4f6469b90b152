//! Live progress over WebSockets: `/ws/results/{result_id}` follows one run,
//! `/ws/user` every run of the organizations the caller belongs to.
//!
//! Browsers cannot set headers on a WebSocket, so the access token (or a personal API token)
//! comes in the `token` query parameter or as the first message `{"type":"auth","token":"…"}`;
//! the web app's pages instead send their session cookie, believed only from our own origin.
//! Following a run is reading results: [`crate::auth::authorize`] decides, as for
//! `GET /results/{id}`; a caller it refuses is closed with 1008 (policy violation).
//!
//! A connection subscribes to the process's [`grandma_store::PubSub`] first and then sends a
//! snapshot of the stored state, so a client that connects late is not blind and misses
//! nothing in between. Messages: `progress`, `completion`, and `pong` for a `ping`.
//!
//! A client message over 16 KiB closes the connection with 1009 (message too big).
//!
//! An open connection asks again every `[http] websocket_recheck_seconds` who its caller is
//! and what they may follow: a sign-out, a revoked or expired token, a deactivated account or
//! a removal from a team closes it with 1008, and a team joined since shows on `/ws/user`.
//!
//! Slow clients never slow a run: events reach a connection through its own bounded position
//! in the broadcast channel; a client that falls behind it, or whose socket accepts no write
//! for [`WRITE_TIMEOUT`], is closed (1013, try again later). Each connection has a send and a
//! receive task; when either ends, both end.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade, close_code};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use grandma_store::{Paging, ResultRow, RunEvent, RunFilter, RunStatus, Scope};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::extract::caller_of_credential;
use crate::auth::{Action, Caller, Target as On, authorize, session};
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

/// How long a client has to send its `auth` message when no `token` parameter was given.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(10);
/// A socket that accepts no message for this long belongs to a client too slow to follow.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Runs of a user in the `/ws/user` snapshot, at most.
const SNAPSHOT_RUNS: i64 = 100;
/// Client messages are tiny (`auth`, `ping`); a larger one closes the connection with 1009
/// (message too big).
pub const MAX_CLIENT_MESSAGE: usize = 16 * 1024;
/// What the socket reads at most for one message or frame. Above [`MAX_CLIENT_MESSAGE`], so a
/// message too big is read whole and answered with a clean 1009 close; one above this fails in
/// the library, and is answered with 1009 as well as the connection allows.
const READ_LIMIT: usize = 4 * MAX_CLIENT_MESSAGE;
/// Per-connection socket buffers. The library's default (128 KiB each way) would make an idle
/// client cost a quarter of a megabyte; events are a few hundred bytes.
const SOCKET_BUFFER: usize = 4 * 1024;

/// The upgrade with buffers and limits sized for small event messages.
fn sized(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(SOCKET_BUFFER)
        .write_buffer_size(0)
        .max_message_size(READ_LIMIT)
        .max_frame_size(READ_LIMIT)
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(ws_result))
        .routes(routes!(ws_user))
}

/// The optional `token` query parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WsQuery {
    /// An access token or a personal API token. Without it, the first message must be
    /// `{"type":"auth","token":"…"}`.
    pub token: Option<String>,
}

/// Follows one run: a snapshot on connect, then `progress` after every stored page and one
/// `completion` (`{"type":"completion", result_id, status, total_items, total_pages,
/// duration_seconds, error_message}`). Send `{"type":"ping"}` for `{"type":"pong"}`.
#[utoipa::path(get, path = "/ws/results/{result_id}", tag = "WebSocket",
    params(("result_id" = Uuid, Path, description = "Result (run) id"), WsQuery),
    responses(
        (status = 101, description = "WebSocket upgrade. Server messages: `{\"type\":\"progress\", \
            result_id, status, timestamp, items_scraped, pages_scraped, current_url, message}`, \
            `{\"type\":\"completion\", result_id, status, total_items, total_pages, \
            duration_seconds, error_message}`, `{\"type\":\"pong\"}`. A missing or invalid \
            token, or a run of another user, closes with code 1008, as does losing access \
            while connected (sign-out, a revoked or expired token, removal from the team), \
            checked every `[http] websocket_recheck_seconds`."),
    ))]
pub async fn ws_result(
    State(state): State<AppState>,
    ApiPath(result_id): ApiPath<Uuid>,
    ApiQuery(query): ApiQuery<WsQuery>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let signed_in = cookie_caller(&state, &headers).await;
    sized(upgrade).on_upgrade(move |socket| {
        session(
            state,
            socket,
            Target::Run(result_id),
            query.token,
            signed_in,
        )
    })
}

/// Follows every run of the organizations the caller belongs to (an API token: of its
/// organization): a snapshot of the pending and running ones on connect,
/// then their `progress` and `completion` messages as on `/ws/results/{result_id}`.
#[utoipa::path(get, path = "/ws/user", tag = "WebSocket",
    params(WsQuery),
    responses(
        (status = 101, description = "WebSocket upgrade; the same messages as \
            `/ws/results/{result_id}`, for every run of the organizations the authenticated \
            user belongs to; teams joined or left while connected count from the next check."),
    ))]
pub async fn ws_user(
    State(state): State<AppState>,
    ApiQuery(query): ApiQuery<WsQuery>,
    headers: axum::http::HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let signed_in = cookie_caller(&state, &headers).await;
    sized(upgrade)
        .on_upgrade(move |socket| session(state, socket, Target::User, query.token, signed_in))
}

/// The web app's signed-in user, when the upgrade request carries the session cookie and
/// comes from a page of this host: a WebSocket is not subject to the same-origin policy, so
/// without the `Origin` check any site could read a signed-in user's progress.
async fn cookie_caller(
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Option<(Caller, Credential)> {
    if !crate::auth::csrf::same_origin(headers) {
        return None;
    }
    session::cookie_token(headers)?;
    let credential = Credential::Session(
        headers
            .get_all(axum::http::header::COOKIE)
            .iter()
            .map(|value| (axum::http::header::COOKIE, value.clone()))
            .collect(),
    );
    match credential.caller(state).await {
        Ok(caller) => Some((caller, credential)),
        Err(ApiError::Unauthorized(_)) => None,
        Err(error) => {
            tracing::warn!(%error, "WebSocket session lookup failed");
            None
        }
    }
}

/// What a connection authenticated with, asked again while it stays open. It holds a secret,
/// so it has no `Debug` to print it with.
enum Credential {
    /// An access token or a personal API token.
    Bearer(String),
    /// The web app's session cookie: the upgrade request's `Cookie` headers, nothing else.
    Session(axum::http::HeaderMap),
}

impl Credential {
    /// Who the credential names now, with their current teams.
    async fn caller(&self, state: &AppState) -> Result<Caller, ApiError> {
        match self {
            Credential::Bearer(token) => caller_of_credential(state, token).await,
            Credential::Session(cookies) => match session::of_headers(state, cookies).await? {
                Some(found) => Caller::load(&state.store, found.user).await,
                None => Err(ApiError::Unauthorized("signed out")),
            },
        }
    }
}

/// What a connection asks to follow.
#[derive(Debug, Clone, Copy)]
enum Target {
    Run(Uuid),
    User,
}

/// What a connection follows once its snapshot was read: a run of a known organization, or
/// the runs of the caller's organizations.
#[derive(Debug, Clone, Copy)]
enum Following {
    Run { id: Uuid, org: Uuid },
    User,
}

impl Following {
    /// The organizations whose events reach the connection, as `caller` may see them now; an
    /// error when the caller may no longer follow it at all.
    fn orgs(self, caller: &Caller) -> Result<Vec<Uuid>, ApiError> {
        match self {
            Following::Run { org, .. } => {
                authorize(caller, On::Org(org), Action::ReadResults)?;
                Ok(vec![org])
            }
            Following::User => {
                authorize(caller, On::Account, Action::ReadResults)?;
                // An API token acts in one team: once its user has left it, the token can
                // follow nothing.
                if let Some(token) = &caller.token
                    && caller.role_in(token.org_id).is_none()
                {
                    return Err(ApiError::NotFound);
                }
                Ok(followed_orgs(caller))
            }
        }
    }

    /// Whether `event` goes to a connection that follows `orgs`.
    fn wants(self, orgs: &[Uuid], event: &RunEvent) -> bool {
        let run_matches = match self {
            Following::Run { id, .. } => event.result_id() == id,
            Following::User => true,
        };
        run_matches && orgs.contains(&event.org_id())
    }
}

/// Whether a failed re-check means the caller lost access (the connection closes), rather
/// than a passing failure of the database (the connection stays and asks again later).
fn access_ended(error: &ApiError) -> bool {
    matches!(
        error,
        ApiError::Unauthorized(_)
            | ApiError::Forbidden(_)
            | ApiError::Denied(_)
            | ApiError::Expired(_)
            | ApiError::NotFound
    )
}

/// The close reason of a connection whose caller lost access.
const ACCESS_ENDED: &str = "no longer allowed to follow this: signed out, token revoked or \
                            expired, or removed from the team";

/// A message of the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Auth { token: String },
    Ping,
}

/// What the receive task asks of the send task, which owns the socket's writing half.
#[derive(Debug, Clone, Copy)]
enum Control {
    Pong,
    /// The client sent a message over [`MAX_CLIENT_MESSAGE`]: close with 1009.
    TooBig,
}

const TOO_BIG: &str = "message too big: client messages are at most 16 KiB";

/// Whether a received message, or the error reading one, is a message over the limit.
fn too_big(message: &Result<Message, axum::Error>) -> bool {
    match message {
        Ok(Message::Text(text)) => text.len() > MAX_CLIENT_MESSAGE,
        Ok(Message::Binary(bytes)) => bytes.len() > MAX_CLIENT_MESSAGE,
        Ok(_) => false,
        // The library's capacity error, seen through axum's opaque error type.
        Err(e) => e.to_string().contains("Message too long"),
    }
}

async fn session(
    state: AppState,
    socket: WebSocket,
    target: Target,
    token: Option<String>,
    signed_in: Option<(Caller, Credential)>,
) {
    let (mut sink, mut stream) = socket.split();
    let authenticated = match (token, signed_in) {
        (None, Some(signed_in)) => Ok(signed_in),
        (token, _) => authenticate(&state, &mut stream, token).await,
    };
    let (caller, credential) = match authenticated {
        Ok(authenticated) => authenticated,
        Err((code, reason)) => return close(&mut sink, code, reason).await,
    };
    // Subscribe before reading the snapshot, so nothing falls between the two.
    let mut events = state.pubsub.subscribe();
    let snapshot = match snapshot(&state, &caller, target).await {
        Ok(rows) => rows,
        Err(ApiError::NotFound) => {
            return close(&mut sink, close_code::POLICY, "no such run of yours").await;
        }
        Err(ApiError::Denied(_)) => {
            return close(&mut sink, close_code::POLICY, "not allowed to read results").await;
        }
        Err(error) => {
            tracing::warn!(%error, "WebSocket snapshot failed");
            return close(&mut sink, close_code::ERROR, "internal error").await;
        }
    };
    let following = match (target, snapshot.first()) {
        (Target::Run(id), Some(run)) => Following::Run {
            id,
            org: run.org_id,
        },
        (Target::Run(_), None) => {
            return close(&mut sink, close_code::POLICY, "no such run of yours").await;
        }
        (Target::User, _) => Following::User,
    };
    let mut orgs = match following.orgs(&caller) {
        Ok(orgs) => orgs,
        Err(_) => return close(&mut sink, close_code::POLICY, ACCESS_ENDED).await,
    };
    let every = Duration::from_secs(u64::from(
        state.settings.http.websocket_recheck_seconds.max(1),
    ));
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);

    // The receive task asks the send task for pongs (and a 1009 close) through a small queue.
    let (pong_tx, mut pong_rx) = mpsc::channel::<Control>(8);
    let mut send_task = tokio::spawn(async move {
        for row in &snapshot {
            if send(&mut sink, client_text(&RunEvent::snapshot(row)))
                .await
                .is_err()
            {
                return;
            }
        }
        loop {
            let text = tokio::select! {
                event = events.recv() => match event {
                    Ok(event) if following.wants(&orgs, &event) => client_text(&event),
                    Ok(_) => continue,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::info!(missed, "dropping a WebSocket client that fell behind");
                        close(&mut sink, close_code::AGAIN, "too slow: reconnect to resync").await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => {
                        close(&mut sink, close_code::AWAY, "server shutting down").await;
                        return;
                    }
                },
                _ = recheck.tick() => {
                    match credential.caller(&state).await.and_then(|c| following.orgs(&c)) {
                        Ok(now) => orgs = now,
                        Err(error) if access_ended(&error) => {
                            close(&mut sink, close_code::POLICY, ACCESS_ENDED).await;
                            return;
                        }
                        Err(error) => {
                            tracing::warn!(%error, "cannot check a WebSocket's caller again");
                        }
                    }
                    continue;
                }
                pong = pong_rx.recv() => match pong {
                    Some(Control::Pong) => r#"{"type":"pong"}"#.to_owned(),
                    Some(Control::TooBig) => {
                        close(&mut sink, close_code::SIZE, TOO_BIG).await;
                        return;
                    }
                    None => return,
                },
            };
            if send(&mut sink, text).await.is_err() {
                return;
            }
        }
    });
    let mut recv_task = tokio::spawn(async move {
        while let Some(message) = stream.next().await {
            if too_big(&message) {
                // The send task closes with 1009 and ends the session.
                let _ = pong_tx.send(Control::TooBig).await;
                std::future::pending::<()>().await;
            }
            let Ok(message) = message else { return };
            match message {
                Message::Text(text) => {
                    if let Ok(ClientMessage::Ping) = serde_json::from_str(text.as_str())
                        && pong_tx.try_send(Control::Pong).is_err()
                    {
                        // A client flooding pings without reading the answers.
                        return;
                    }
                }
                Message::Close(_) => return,
                _ => {}
            }
        }
    });
    tokio::select! {
        _ = &mut send_task => recv_task.abort(),
        _ = &mut recv_task => send_task.abort(),
    }
}

/// The user of the `token` parameter, or of the first message when there is none; else the
/// close code and reason.
async fn authenticate(
    state: &AppState,
    stream: &mut futures::stream::SplitStream<WebSocket>,
    token: Option<String>,
) -> Result<(Caller, Credential), (u16, &'static str)> {
    let policy = |reason| (close_code::POLICY, reason);
    let token = match token {
        Some(token) => token,
        None => {
            let first = tokio::time::timeout(AUTH_TIMEOUT, stream.next())
                .await
                .map_err(|_| policy("authentication timed out"))?;
            if first.as_ref().is_some_and(too_big) {
                return Err((close_code::SIZE, TOO_BIG));
            }
            match first {
                Some(Ok(Message::Text(text))) => {
                    match serde_json::from_str::<ClientMessage>(text.as_str()) {
                        Ok(ClientMessage::Auth { token }) => token,
                        _ => {
                            return Err(policy(
                                "the first message must be {\"type\":\"auth\",\"token\":…}",
                            ));
                        }
                    }
                }
                _ => return Err(policy("authentication required")),
            }
        }
    };
    let credential = Credential::Bearer(token);
    match credential.caller(state).await {
        Ok(caller) => Ok((caller, credential)),
        Err(ApiError::Expired(_)) => Err(policy("this API token expired")),
        Err(_) => Err(policy("invalid or expired credentials")),
    }
}

/// The organizations `/ws/user` follows: those the caller is a member of (an instance
/// administrator's too, not every organization: the stream is about their own teams), and
/// only the token's for an API token.
fn followed_orgs(caller: &Caller) -> Vec<uuid::Uuid> {
    caller
        .memberships
        .iter()
        .map(|(org, _)| *org)
        .filter(|org| caller.token.as_ref().is_none_or(|t| t.org_id == *org))
        .collect()
}

/// The rows a new connection starts from: the run (if the caller may read its results), or
/// the pending and running runs of the followed organizations.
async fn snapshot(
    state: &AppState,
    caller: &Caller,
    target: Target,
) -> Result<Vec<ResultRow>, ApiError> {
    match target {
        Target::Run(id) => {
            let run = state.store.get_run(caller.scope(), id).await?;
            authorize(caller, On::Org(run.org_id), Action::ReadResults)?;
            Ok(vec![run])
        }
        Target::User => {
            authorize(caller, On::Account, Action::ReadResults)?;
            let mut scope = Scope::member(caller.user.user_id);
            if let Some(token) = &caller.token {
                scope = scope.in_org(token.org_id);
            }
            let mut rows = Vec::new();
            for status in [RunStatus::Running, RunStatus::Pending] {
                let page = state
                    .store
                    .list_runs(
                        scope,
                        &RunFilter {
                            job_id: None,
                            status: Some(status),
                        },
                        Paging::new(SNAPSHOT_RUNS, 0),
                    )
                    .await?;
                rows.extend(page.items);
            }
            Ok(rows)
        }
    }
}

/// An event as clients see it: the `type`-tagged JSON without the owner (the organization
/// stays: a client following several tells them apart by it).
fn client_text(event: &RunEvent) -> String {
    let mut value = serde_json::to_value(event).unwrap_or(Value::Null);
    if let Some(object) = value.as_object_mut() {
        object.remove("owner_id");
    }
    value.to_string()
}

type Sink = futures::stream::SplitSink<WebSocket, Message>;

/// Sends one text message, giving up on a client that does not take it in time.
async fn send(sink: &mut Sink, text: String) -> Result<(), ()> {
    match tokio::time::timeout(
        WRITE_TIMEOUT,
        sink.send(Message::Text(Utf8Bytes::from(text))),
    )
    .await
    {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            tracing::info!("dropping a WebSocket client that stopped reading");
            Err(())
        }
    }
}

async fn close(sink: &mut Sink, code: u16, reason: &'static str) {
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from_static(reason),
    }));
    let _ = tokio::time::timeout(WRITE_TIMEOUT, sink.send(frame)).await;
    let _ = sink.close().await;
}
