//! Personal API tokens limited to one organization, some scopes and a lifetime; and the live
//! events of `/ws/user`, which follow the caller's organizations only.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use grandma_server::auth::tokens;
use grandma_store::{Backend, NewApiToken, Role, Uuid};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;

use crate::common::{TestApp, job_config};

both_databases!(
    tokens_act_in_one_org_within_their_scopes,
    expired_tokens_are_refused_saying_when,
    user_events_follow_the_callers_orgs,
    leaving_a_team_ends_ones_tokens_for_it,
);

fn id_of(body: &Value) -> Uuid {
    body["id"].as_str().unwrap().parse().unwrap()
}

async fn tokens_act_in_one_org_within_their_scopes(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (me, jwt) = app.user("scripts@example.com", Role::User).await;
    let org = id_of(&app.post("/orgs", &jwt, json!({"name": "Bots"}), 201).await);
    let personal_job = app.job(&jwt, "Personal").await;
    let team_job = app.team_job(&jwt, org, "Team").await;

    // A token for the team that only reads jobs and results.
    let made = app
        .post(
            "/auth/api-tokens",
            &jwt,
            json!({"name": "reader", "org_id": org, "scopes": ["results:read", "jobs:read"],
                   "expires_in_days": 30}),
            201,
        )
        .await;
    assert_eq!(made["org_id"], org.to_string());
    assert_eq!(made["scopes"], json!(["jobs:read", "results:read"]));
    let expires: DateTime<Utc> = made["expires_at"].as_str().unwrap().parse().unwrap();
    let lifetime = expires - Utc::now();
    assert!(
        lifetime > Duration::days(29) && lifetime <= Duration::days(30),
        "{lifetime}"
    );
    let reader = made["token"].as_str().unwrap().to_owned();

    assert_eq!(app.get("/jobs/", &reader, 200).await["total"], 1);
    app.get(&format!("/jobs/{team_job}"), &reader, 200).await;
    app.get(&format!("/jobs/{personal_job}"), &reader, 404)
        .await;
    app.get(&format!("/jobs/?org_id={me}"), &reader, 404).await;
    for (method, path, body, scope) in [
        (
            reqwest::Method::POST,
            format!("/jobs/{team_job}/run"),
            Some(json!({})),
            "runs:write",
        ),
        (
            reqwest::Method::PUT,
            format!("/jobs/{team_job}"),
            Some(json!({"config": job_config("No")})),
            "jobs:write",
        ),
        (reqwest::Method::GET, "/orgs".into(), None, "org:read"),
        (
            reqwest::Method::GET,
            format!("/jobs/{team_job}/schedules"),
            None,
            "schedules:read",
        ),
        (
            reqwest::Method::GET,
            "/webhooks".into(),
            None,
            "webhooks:read",
        ),
    ] {
        let refused = app.call(method, &path, Some(&reader), body, 403).await;
        assert_eq!(
            refused["detail"],
            format!("this API token lacks the scope {scope}"),
            "{path}"
        );
    }

    // A token cannot mint a broader one; what it mints stays in its organization.
    let refused = app
        .post(
            "/auth/api-tokens",
            &reader,
            json!({"name": "more", "scopes": ["jobs:write"]}),
            403,
        )
        .await;
    assert!(
        refused["detail"].as_str().unwrap().contains("jobs:write"),
        "{refused}"
    );
    app.post(
        "/auth/api-tokens",
        &reader,
        json!({"name": "elsewhere", "org_id": me}),
        404,
    )
    .await;
    let same = app
        .post("/auth/api-tokens", &reader, json!({"name": "same"}), 201)
        .await;
    assert_eq!(
        (same["org_id"].clone(), same["scopes"].clone()),
        (json!(org), made["scopes"].clone())
    );
    // Nor one that outlives it: no expiry or a later one becomes its own, a sooner one stays.
    let expiry =
        |token: &Value| -> DateTime<Utc> { token["expires_at"].as_str().unwrap().parse().unwrap() };
    let longer = app
        .post(
            "/auth/api-tokens",
            &reader,
            json!({"name": "longer", "expires_in_days": 90}),
            201,
        )
        .await;
    for minted in [&same, &longer] {
        let gap = (expiry(minted) - expires).num_milliseconds().abs();
        assert!(gap < 1000, "{minted} against {expires}");
    }
    let shorter = app
        .post(
            "/auth/api-tokens",
            &reader,
            json!({"name": "shorter", "expires_in_days": 2}),
            201,
        )
        .await;
    let lifetime = expiry(&shorter) - Utc::now();
    assert!(
        lifetime > Duration::days(1) && lifetime <= Duration::days(2),
        "{lifetime}"
    );

    // By default: the personal organization, every scope, no expiry.
    let full = app
        .post("/auth/api-tokens", &jwt, json!({"name": "full"}), 201)
        .await;
    assert_eq!(full["org_id"], me.to_string());
    assert_eq!(full["scopes"].as_array().unwrap().len(), 11);
    assert!(full["expires_at"].is_null());
    let full = full["token"].as_str().unwrap();
    let job = app
        .post(
            "/jobs/",
            full,
            json!({"config": job_config("By token")}),
            201,
        )
        .await;
    assert_eq!(job["org_id"], me.to_string());
    app.post(
        &format!("/jobs/{}/run", job["id"].as_str().unwrap()),
        full,
        json!({}),
        202,
    )
    .await;

    // Bad requests name the field.
    for (body, path) in [
        (
            json!({"name": "x", "scopes": ["jobs:read", "jobs:delete"]}),
            "scopes[1]",
        ),
        (json!({"name": "x", "scopes": []}), "scopes"),
        (
            json!({"name": "x", "expires_in_days": 0}),
            "expires_in_days",
        ),
        (
            json!({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}),
            "expires_at",
        ),
        (
            json!({"name": "x", "expires_in_days": 5, "expires_at": "2999-01-01T00:00:00Z"}),
            "expires_at",
        ),
    ] {
        let bad = app.post("/auth/api-tokens", &jwt, body.clone(), 422).await;
        assert_eq!(bad["detail"][0]["path"], path, "{body}: {bad}");
    }
    app.post(
        "/auth/api-tokens",
        &jwt,
        json!({"name": "x", "org_id": Uuid::now_v7()}),
        404,
    )
    .await;

    // The listing shows what each token may do.
    let listed = app.get("/auth/api-tokens", &jwt, 200).await;
    let reader_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "reader")
        .unwrap();
    assert_eq!(reader_row["org_id"], org.to_string());
    assert_eq!(reader_row["scopes"], json!(["jobs:read", "results:read"]));
    assert_eq!(reader_row["expires_at"], made["expires_at"]);

    // Instance administration needs the `admin` scope too.
    let (_, admin) = app.user("root@example.com", Role::Admin).await;
    let narrow = app
        .post(
            "/auth/api-tokens",
            &admin,
            json!({"name": "n", "scopes": ["jobs:read"]}),
            201,
        )
        .await;
    let refused = app
        .get("/users/", narrow["token"].as_str().unwrap(), 403)
        .await;
    assert_eq!(refused["detail"], "this API token lacks the scope admin");
    let wide = app
        .post(
            "/auth/api-tokens",
            &admin,
            json!({"name": "w", "scopes": ["admin"]}),
            201,
        )
        .await;
    app.get("/users/", wide["token"].as_str().unwrap(), 200)
        .await;
    app.finish().await;
}

async fn leaving_a_team_ends_ones_tokens_for_it(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, owner) = app.user("owner@example.com", Role::User).await;
    let (member_id, member) = app.user("member@example.com", Role::User).await;
    let org = id_of(
        &app.post("/orgs", &owner, json!({"name": "Shop"}), 201)
            .await,
    );
    let job = app.team_job(&owner, org, "Prices").await;
    app.join_team(&owner, org, "member@example.com", "editor", &member)
        .await;
    let make = async |org: Uuid| {
        let made = app.api_token(&member, org, "script", &["jobs:read"]).await;
        made["token"].as_str().unwrap().to_owned()
    };
    let for_team = make(org).await;
    let for_self = make(member_id).await;
    app.get(&format!("/jobs/{job}"), &for_team, 200).await;

    // Removed by the owner: the team's token is revoked, the member's own one is not.
    app.delete(&format!("/orgs/{org}/members/{member_id}"), &owner, 204)
        .await;
    app.get(&format!("/jobs/{job}"), &for_team, 401).await;
    app.get("/jobs/", &for_self, 200).await;
    let listed = app.get("/auth/api-tokens", &member, 200).await;
    let revoked: Vec<_> = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["org_id"] == org.to_string())
        .map(|t| t["revoked_at"].is_string())
        .collect();
    assert_eq!(revoked, [true], "{listed}");

    // Invited back, the old token stays dead; a new one works; leaving ends it too.
    app.join_team(&owner, org, "member@example.com", "editor", &member)
        .await;
    app.get(&format!("/jobs/{job}"), &for_team, 401).await;
    let again = make(org).await;
    app.get(&format!("/jobs/{job}"), &again, 200).await;
    app.delete(&format!("/orgs/{org}/members/{member_id}"), &member, 204)
        .await;
    app.get(&format!("/jobs/{job}"), &again, 401).await;
    app.finish().await;
}

async fn expired_tokens_are_refused_saying_when(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (me, _) = app.user("late@example.com", Role::User).await;
    let secret = tokens::generate();
    app.store
        .create_api_token(&NewApiToken {
            user_id: me,
            name: "old".into(),
            token_hash: tokens::hash(&secret),
            prefix: tokens::display_prefix(&secret),
            org_id: me,
            scopes: vec!["jobs:read".into()],
            expires_at: Some(Utc::now() - Duration::minutes(1)),
        })
        .await
        .unwrap();
    let refused = app.get("/jobs/", &secret, 401).await;
    assert!(
        refused["detail"]
            .as_str()
            .unwrap()
            .starts_with("this API token expired on "),
        "{refused}"
    );

    let fresh = tokens::generate();
    app.store
        .create_api_token(&NewApiToken {
            user_id: me,
            name: "fresh".into(),
            token_hash: tokens::hash(&fresh),
            prefix: tokens::display_prefix(&fresh),
            org_id: me,
            scopes: vec!["jobs:read".into()],
            expires_at: Some(Utc::now() + Duration::minutes(5)),
        })
        .await
        .unwrap();
    app.get("/jobs/", &fresh, 200).await;
    app.finish().await;
}

/// The `result_id` of the next run event on `socket`, if one comes within a few seconds.
async fn next_event<S>(socket: &mut S) -> Option<String>
where
    S: futures::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>> + Unpin,
{
    let wait = tokio::time::timeout(StdDuration::from_secs(5), async {
        while let Some(Ok(message)) = socket.next().await {
            if let Message::Text(text) = message {
                let event: Value = serde_json::from_str(text.as_str()).unwrap();
                if event["result_id"].is_string() {
                    return Some(event["result_id"].as_str().unwrap().to_owned());
                }
            }
        }
        None
    });
    wait.await.ok().flatten()
}

async fn user_events_follow_the_callers_orgs(backend: Backend) {
    let app = TestApp::start(backend).await;
    let (_, owner) = app.user("lead@example.com", Role::User).await;
    let (_, member) = app.user("member@example.com", Role::User).await;
    let (_, outsider) = app.user("outsider@example.com", Role::User).await;
    let org = id_of(
        &app.post("/orgs", &owner, json!({"name": "Live"}), 201)
            .await,
    );
    app.join_team(&owner, org, "member@example.com", "editor", &member)
        .await;
    let team_job = app.team_job(&owner, org, "Team").await;
    let own_job = app.job(&outsider, "Own").await;

    let url = |token: &str| format!("ws://{}/api/v1/ws/user?token={token}", app.addr);
    let (mut member_socket, _) = tokio_tungstenite::connect_async(url(&member))
        .await
        .unwrap();
    let (mut outsider_socket, _) = tokio_tungstenite::connect_async(url(&outsider))
        .await
        .unwrap();
    // Connected and subscribed once a ping is answered.
    for socket in [&mut member_socket, &mut outsider_socket] {
        futures::SinkExt::send(socket, Message::text(r#"{"type":"ping"}"#))
            .await
            .unwrap();
        let pong = tokio::time::timeout(StdDuration::from_secs(5), socket.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(pong.into_text().unwrap().as_str(), r#"{"type":"pong"}"#);
    }

    // Cancelling a pending run publishes its end: the team's reaches the member only.
    let team_run = app
        .post(&format!("/jobs/{team_job}/run"), &owner, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/results/{team_run}/cancel"),
        &owner,
        json!({}),
        200,
    )
    .await;
    let own_run = app
        .post(&format!("/jobs/{own_job}/run"), &outsider, json!({}), 202)
        .await["result_id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/results/{own_run}/cancel"),
        &outsider,
        json!({}),
        200,
    )
    .await;
    assert_eq!(next_event(&mut member_socket).await, Some(team_run));
    assert_eq!(next_event(&mut outsider_socket).await, Some(own_run));
    app.finish().await;
}
