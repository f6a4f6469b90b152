//! The app under test: a fresh database (a temp SQLite file, or a uniquely named PostgreSQL
//! database dropped afterwards), the real router served by `launch` on 127.0.0.1:0, and, when
//! asked, in-process workers and the webhook dispatcher, as `grandma serve` runs them.

use std::net::SocketAddr;
use std::sync::{Arc, Once};
use std::time::Duration;

use grandma_server::{AppState, Settings};
use grandma_store::{Backend, Role, Store, UserPatch};
use grandma_testkit::PgDb;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

pub const PASSWORD: &str = "correct horse battery";

/// A running server on its own database.
pub struct WebApp {
    pub addr: SocketAddr,
    pub state: AppState,
    pub store: Store,
    stop: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
    pg: Option<PgDb>,
}

/// What runs beside the API.
#[derive(Debug, Clone, Copy, Default)]
pub struct Parts {
    /// Workers that crawl queued runs (and may fetch from 127.0.0.1).
    pub workers: bool,
}

impl WebApp {
    pub async fn start(backend: Backend) -> WebApp {
        WebApp::start_with(backend, Parts::default(), |_| {}).await
    }

    pub async fn start_with(
        backend: Backend,
        parts: Parts,
        adjust: impl FnOnce(&mut Settings),
    ) -> WebApp {
        static PROVIDER: Once = Once::new();
        PROVIDER.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let (url, pg) = match backend {
            Backend::Sqlite => (
                format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display()),
                None,
            ),
            Backend::Postgres => {
                let pg = PgDb::new("gs_web").await;
                (pg.url.clone(), Some(pg))
            }
        };
        let mut settings = Settings::for_database(url, dir.path().join("data"));
        settings.rate_limit.enabled = false;
        // The fixture sites of the tests listen on 127.0.0.1.
        settings.allow_networks =
            grandma_shared::config::List(vec!["127.0.0.1/32".parse().unwrap()]);
        adjust(&mut settings);
        let state = AppState::connect(settings.clone())
            .await
            .expect("connect and migrate");
        let store = state.store.clone();
        let stop = CancellationToken::new();
        let mut tasks = Vec::new();
        if parts.workers {
            let config = grandma_worker::WorkerConfig {
                events: Some(state.pubsub.clone()),
                poll_interval: Duration::from_millis(100),
                ..grandma_worker::WorkerConfig::from_settings(&settings)
            };
            let workers = grandma_worker::run_workers(
                store.clone(),
                config,
                Arc::clone(&state.run_wakeup),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                workers.await.expect("workers");
            }));
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stopped = stop.clone().cancelled_owned();
        let server = grandma_server::launch(listener, state.clone(), stopped);
        tasks.push(tokio::spawn(async move {
            server.await.expect("server");
        }));
        // `launch` prepares (first admin, setup code) before it serves: the first answer means
        // it is ready.
        let probe = format!("http://{addr}/liveness");
        let client = reqwest::Client::new();
        for _ in 0..100 {
            if client.get(&probe).send().await.is_ok() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        WebApp {
            addr,
            state,
            store,
            stop,
            tasks,
            _dir: dir,
            pg,
        }
    }

    /// Stops everything and drops the database.
    pub async fn finish(mut self) {
        self.stop.cancel();
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        self.store.close().await;
        if let Some(pg) = self.pg.take() {
            pg.finish().await;
        }
    }

    /// An absolute URL of a path of the app.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An account made through the store's account rules, with `role`.
    pub async fn account(&self, email: &str, role: Role) {
        let user = self
            .state
            .accounts
            .create(grandma_shared::accounts::NewAccount {
                email,
                password: grandma_store::Secret(PASSWORD.into()),
                role: Role::User,
            })
            .await
            .expect("create account");
        if role != Role::User {
            let patch = UserPatch {
                role: Some(role),
                ..Default::default()
            };
            self.store.update_user(user.user_id, &patch).await.unwrap();
        }
        // The first account ends the first-run setup, as the setup page would.
        self.state.setup_code.clear();
    }

    /// A bearer access token of an account (the scripts' way in).
    pub async fn bearer(&self, email: &str) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/auth/token"))
            .form(&[("username", email), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// Creates a job through the API with a bearer token; returns its id.
    pub async fn job(&self, token: &str, config: Value) -> String {
        let response = reqwest::Client::new()
            .post(self.url("/api/v1/jobs/"))
            .bearer_auth(token)
            .json(&json!({ "config": config }))
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body: Value = response.json().await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Signs in through the sign-in form; returns the session cookie (`name=value`, for a
    /// `Cookie` header) and the session's CSRF token read from the home page.
    pub async fn sign_in(&self, email: &str) -> (String, String) {
        let client = no_redirects();
        let response = client
            .post(self.url("/login"))
            .header("origin", self.url(""))
            .form(&[("email", email), ("password", PASSWORD), ("next", "/")])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set_cookie = response
            .headers()
            .get("set-cookie")
            .expect("a session cookie")
            .to_str()
            .unwrap()
            .to_owned();
        let cookie = set_cookie.split(';').next().unwrap().to_owned();
        let home = client
            .get(self.url("/"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = home
            .split("name=\"csrf-token\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("the page carries the CSRF token")
            .to_owned();
        (cookie, csrf)
    }
}

/// A client that shows redirects instead of following them.
pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// A job document over a fixture site: one `.row` per item, fields `name` and `price`.
pub fn fixture_job(name: &str, start_url: &str, pages: u32) -> Value {
    json!({
        "name": name,
        "start_url": start_url,
        "item_selector": ".row",
        "fields": [
            {"name": "name", "selector": ".name"},
            {"name": "price", "selector": ".price"},
        ],
        "pagination": {"type": "url_pattern", "url_pattern": format!("{start_url}?page={{page}}")},
        "max_pages": pages,
        "min_delay_ms": 0,
        "max_delay_ms": 0,
        "respect_robots_txt": false,
    })
}

pub(crate) use grandma_testkit::both_databases;
