//! Open WebSockets follow the caller's access as it changes, not as it was when they
//! connected: a team joined since shows, a revoked API token closes its socket, and a member
//! removed from a team stops getting its runs (a socket following one of them closes).

use std::time::Duration;

use futures::{SinkExt, StreamExt};
use grandma_store::{Backend, Role};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::common::TestApp;

both_databases!(open_sockets_follow_access_as_it_changes);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Long enough for a socket re-checked every second to have been re-checked.
const AFTER_A_RECHECK: Duration = Duration::from_millis(2500);

fn id_of(body: &Value, field: &str) -> String {
    body[field].as_str().unwrap().to_owned()
}

async fn connect(app: &TestApp, path: &str, token: &str) -> Socket {
    let url = format!("ws://{}/api/v1/ws/{path}?token={token}", app.addr);
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    // Subscribed, and past its snapshot, once a ping is answered.
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("a pong within 5 s")
            .unwrap()
            .unwrap();
        if message.to_text().unwrap() == r#"{"type":"pong"}"# {
            return socket;
        }
    }
}

/// The run ids of the events on `socket` up to and including `id`'s.
async fn events_until(socket: &mut Socket, id: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .unwrap_or_else(|_| panic!("no event of {id} within 5 s; saw {seen:?}"))
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else {
            panic!("expected an event of {id}, got {message:?}");
        };
        let event: Value = serde_json::from_str(text.as_str()).unwrap();
        if let Some(run) = event["result_id"].as_str() {
            seen.push(run.to_owned());
            if run == id {
                return seen;
            }
        }
    }
}

/// The close code `socket` ends with, skipping the events before it.
async fn close_code(socket: &mut Socket) -> u16 {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(5), socket.next())
            .await
            .expect("closed within 5 s")
            .expect("a close frame before the end")
            .unwrap();
        if let Message::Close(frame) = message {
            return frame.map_or(0, |f| u16::from(f.code));
        }
    }
}

/// Queues a run of `job` and cancels it, which publishes its end; returns its id.
async fn run_and_cancel(app: &TestApp, job: &str, token: &str) -> String {
    let run = id_of(
        &app.post(&format!("/jobs/{job}/run"), token, json!({}), 202)
            .await,
        "result_id",
    );
    app.post(&format!("/results/{run}/cancel"), token, json!({}), 200)
        .await;
    run
}

async fn open_sockets_follow_access_as_it_changes(backend: Backend) {
    let app = TestApp::start_with(backend, |s| s.http.websocket_recheck_seconds = 1).await;
    let (_, owner) = app.user("owner@example.com", Role::User).await;
    let (bob, bob_jwt) = app.user("bob@example.com", Role::User).await;
    let (_, carol_jwt) = app.user("carol@example.com", Role::User).await;
    let org = id_of(
        &app.post("/orgs", &owner, json!({"name": "Desk"}), 201)
            .await,
        "id",
    );
    app.join_team(&owner, &org, "bob@example.com", "editor", &bob_jwt)
        .await;
    let team_job = app.team_job(&owner, &org, "Team").await.to_string();
    let bob_job = app.job(&bob_jwt, "Bob's own").await.to_string();
    let made = app
        .api_token(&bob_jwt, &org, "feed", &["results:read"])
        .await;
    let (bob_token, bob_token_id) = (id_of(&made, "token"), id_of(&made, "id"));
    let kept = app
        .api_token(&bob_jwt, &org, "kept", &["results:read"])
        .await;
    let pending = id_of(
        &app.post(&format!("/jobs/{team_job}/run"), &owner, json!({}), 202)
            .await,
        "result_id",
    );

    let mut bob_user = connect(&app, "user", &bob_jwt).await;
    let mut bob_run = connect(&app, &format!("results/{pending}"), &bob_jwt).await;
    let mut bob_feed = connect(&app, "user", &bob_token).await;
    let mut bob_kept = connect(&app, "user", &id_of(&kept, "token")).await;
    let mut carol_user = connect(&app, "user", &carol_jwt).await;

    // Carol joins after connecting: once her socket is re-checked, the team's runs reach it.
    app.join_team(&owner, &org, "carol@example.com", "editor", &carol_jwt)
        .await;
    tokio::time::sleep(AFTER_A_RECHECK).await;
    let seen_by_all = run_and_cancel(&app, &team_job, &owner).await;
    for socket in [&mut carol_user, &mut bob_user, &mut bob_feed] {
        assert_eq!(
            events_until(socket, &seen_by_all).await.last(),
            Some(&seen_by_all)
        );
    }

    // A revoked token's socket closes.
    app.delete(&format!("/auth/api-tokens/{bob_token_id}"), &bob_jwt, 204)
        .await;
    assert_eq!(close_code(&mut bob_feed).await, 1008);

    // Bob leaves the team: the sockets on its run and of his token for it close, and his own
    // socket stays open but gets his own runs only.
    app.delete(&format!("/orgs/{org}/members/{bob}"), &owner, 204)
        .await;
    assert_eq!(close_code(&mut bob_run).await, 1008);
    assert_eq!(close_code(&mut bob_kept).await, 1008);
    tokio::time::sleep(AFTER_A_RECHECK).await;
    let team_run = run_and_cancel(&app, &team_job, &owner).await;
    let own_run = run_and_cancel(&app, &bob_job, &bob_jwt).await;
    let seen = events_until(&mut bob_user, &own_run).await;
    assert!(!seen.contains(&team_run), "{seen:?}");
    // Carol, still a member, got the team's run.
    events_until(&mut carol_user, &team_run).await;

    app.finish().await;
}
