//! CSRF: state-changing requests made with the session cookie need our origin and the
//! session's token; bearer-token requests are unaffected.

use grandma_server::auth::tokens;
use grandma_store::{Backend, Paging, Role, RunFilter};
use reqwest::StatusCode;
use serde_json::json;

use crate::app::{Parts, WebApp, fixture_job, no_redirects};
use crate::browser::{Viewport, ui_test};
use crate::fixture;
use crate::support::{session_cookie, sign_in};

/// A page on another origin posts forms to the app with her cookie: the browser sends the
/// cookie (the two origins are the same site), and the app refuses both posts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_form_post_with_her_cookie_is_refused() {
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("ann@example.com", Role::User).await;
    let bearer = app.bearer("ann@example.com").await;
    let job = app
        .job(&bearer, fixture_job("Shop", "http://127.0.0.1:9/shop", 1))
        .await;
    let store = app.store.clone();
    let logout =
        fixture::hostile_page(app.url("/logout"), vec![("csrf".into(), "guess".into())]).await;
    let run = fixture::hostile_page(app.url(&format!("/api/v1/jobs/{job}/run")), vec![]).await;
    ui_test("csrf_cross_site", &app.url(""), Viewport::Desktop, |ui| async move {
        sign_in(&ui, "ann@example.com").await;
        let token = session_cookie(&ui).await.unwrap();
        for evil in [logout, run] {
            ui.page.goto(format!("http://{evil}/")).await.unwrap();
            ui.wait_until("location.port !== '' && document.readyState === 'complete' && document.body.innerText.length > 0")
                .await;
            let body: String = ui.eval("document.body.innerText").await;
            assert!(body.contains("did not come from this app"), "{body}");
        }
        store.web_session(&tokens::hash(&token)).await.expect("still signed in");
        let runs = store
            .list_runs(grandma_store::Scope::all(), &RunFilter::default(), Paging::new(10, 0))
            .await
            .unwrap();
        assert_eq!(runs.total, 0, "no run was queued");
    })
    .await;
    app.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_writes_with_the_cookie_need_the_token_and_bearer_needs_none() {
    let app = WebApp::start(Backend::Postgres).await;
    app.account("ann@example.com", Role::User).await;
    let (cookie, csrf) = app.sign_in("ann@example.com").await;
    let client = no_redirects();
    let config = fixture_job("Shop", "http://127.0.0.1:9/shop", 1);
    let post = |headers: Vec<(&'static str, String)>| {
        let mut request = client
            .post(app.url("/api/v1/jobs/"))
            .header("cookie", &cookie)
            .json(&json!({ "config": config }));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.send()
    };
    // Reading needs no token.
    let me = client
        .get(app.url("/api/v1/users/me"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let refused = [
        vec![],
        vec![("x-csrf-token", "0".repeat(64))],
        vec![
            ("x-csrf-token", csrf.clone()),
            ("origin", "http://evil.test".to_owned()),
        ],
        vec![
            ("x-csrf-token", csrf.clone()),
            ("sec-fetch-site", "cross-site".to_owned()),
        ],
        vec![
            ("x-csrf-token", csrf.clone()),
            ("origin", "null".to_owned()),
        ],
    ];
    for headers in refused {
        let response = post(headers.clone()).await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{headers:?}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(
            body["detail"]
                .as_str()
                .unwrap()
                .contains("did not come from")
        );
    }
    assert_eq!(
        app.store
            .list_jobs(
                grandma_store::Scope::all(),
                &Default::default(),
                Paging::new(10, 0)
            )
            .await
            .unwrap()
            .total,
        0
    );
    let accepted = post(vec![
        ("x-csrf-token", csrf.clone()),
        ("origin", app.url("")),
    ])
    .await
    .unwrap();
    assert_eq!(accepted.status(), StatusCode::CREATED);
    // Bearer tokens: no cookie, no CSRF token, as before.
    let bearer = app.bearer("ann@example.com").await;
    let scripted = client
        .post(app.url("/api/v1/jobs/"))
        .bearer_auth(&bearer)
        .header("origin", "http://anywhere.test")
        .json(&json!({ "config": fixture_job("Script", "http://127.0.0.1:9/x", 1) }))
        .send()
        .await
        .unwrap();
    assert_eq!(scripted.status(), StatusCode::CREATED);
    app.finish().await;
}

/// A live connection to `/ws/user` carrying `cookie`, from a page of `origin`.
async fn cookie_socket(app: &WebApp, cookie: &str, origin: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{}/api/v1/ws/user", app.addr)
        .into_client_request()
        .unwrap();
    request
        .headers_mut()
        .insert("cookie", cookie.parse().unwrap());
    request
        .headers_mut()
        .insert("origin", origin.parse().unwrap());
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Signing out ends the live connection the page opened with the cookie: it closes with 1008
/// once the connection asks again who its caller is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_closes_the_pages_live_connection() {
    use futures::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let app = WebApp::start_with(Backend::Sqlite, Parts::default(), |s| {
        s.http.websocket_recheck_seconds = 1
    })
    .await;
    app.account("ann@example.com", Role::User).await;
    let (cookie, csrf) = app.sign_in("ann@example.com").await;
    let mut socket = cookie_socket(&app, &cookie, &app.url("")).await;
    // Signed in: a ping is answered, and re-checks keep the connection open.
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    async fn next(
        socket: &mut Socket,
    ) -> Result<
        Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
        tokio::time::error::Elapsed,
    > {
        tokio::time::timeout(std::time::Duration::from_secs(5), socket.next()).await
    }
    let pong = next(&mut socket).await.unwrap().unwrap().unwrap();
    assert_eq!(pong.to_text().unwrap(), r#"{"type":"pong"}"#);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    socket
        .send(Message::text(r#"{"type":"ping"}"#))
        .await
        .unwrap();
    let pong = next(&mut socket).await.unwrap().unwrap().unwrap();
    assert_eq!(pong.to_text().unwrap(), r#"{"type":"pong"}"#);

    let signed_out = no_redirects()
        .post(app.url("/logout"))
        .header("cookie", &cookie)
        .header("origin", app.url(""))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    let message = next(&mut socket)
        .await
        .expect("closed within 5 s of signing out")
        .unwrap()
        .unwrap();
    let Message::Close(Some(frame)) = message else {
        panic!("expected a close, got {message:?}");
    };
    assert_eq!(u16::from(frame.code), 1008);
    app.finish().await;
}

/// The WebSocket takes the cookie only from our own origin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websocket_takes_the_cookie_from_our_origin_only() {
    use futures::StreamExt;
    let app = WebApp::start(Backend::Sqlite).await;
    app.account("ann@example.com", Role::User).await;
    let (cookie, _) = app.sign_in("ann@example.com").await;
    let mut ours = cookie_socket(&app, &cookie, &app.url("")).await;
    // Signed in: the snapshot (no runs) and then silence, not a policy close.
    let first = tokio::time::timeout(std::time::Duration::from_millis(1500), ours.next()).await;
    if let Ok(Some(Ok(message))) = &first {
        assert!(!message.is_close(), "{message:?}");
    }
    let mut theirs = cookie_socket(&app, &cookie, "http://evil.test").await;
    let message = tokio::time::timeout(std::time::Duration::from_secs(20), theirs.next())
        .await
        .expect("closed within the auth timeout")
        .unwrap()
        .unwrap();
    let tokio_tungstenite::tungstenite::Message::Close(Some(frame)) = message else {
        panic!("expected a close, got {message:?}");
    };
    assert_eq!(u16::from(frame.code), 1008);
    app.finish().await;
}
