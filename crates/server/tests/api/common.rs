//! A test server: a fresh database (a temp SQLite file, or a uniquely named PostgreSQL
//! database dropped afterwards), the real router served by `launch` on 127.0.0.1:0, and a
//! client whose helpers state the status they expect. A missing PostgreSQL fails the tests.

use std::net::SocketAddr;
use std::sync::Once;

use grandma_server::{AppState, Settings};
use grandma_store::{Backend, Role, Store, UserPatch, Uuid};
use grandma_testkit::PgDb;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const PASSWORD: &str = "correct horse battery";

/// A running server on its own database.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
    pub state: AppState,
    pub store: Store,
    /// The database's URL, for tests that must reach it behind the server's back.
    pub database_url: String,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    _dir: tempfile::TempDir,
    /// Dropped with the value if a test panics before `finish`.
    pg: Option<PgDb>,
}

impl TestApp {
    pub async fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, |_| {}).await
    }

    /// A server whose settings `adjust` changes first.
    pub async fn start_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
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
                let pg = PgDb::new("gs_api").await;
                (pg.url.clone(), Some(pg))
            }
        };
        let database_url = url.clone();
        let mut settings = Settings::for_database(url, dir.path().join("data"));
        // The suite sends bursts from one address; the rate-limit tests turn limits back on.
        settings.rate_limit.enabled = false;
        adjust(&mut settings);
        let state = AppState::connect(settings)
            .await
            .expect("connect and migrate");
        let store = state.store.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(grandma_server::launch(
            listener,
            state.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        TestApp {
            addr,
            client: reqwest::Client::builder().build().unwrap(),
            state,
            store,
            database_url,
            shutdown: Some(tx),
            server: Some(server),
            _dir: dir,
            pg,
        }
    }

    /// Stops the server and drops the database.
    pub async fn finish(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        self.store.close().await;
        if let Some(pg) = self.pg.take() {
            pg.finish().await;
        }
    }

    /// An absolute URL for a path at the root (`/health`, `/api/docs`).
    pub fn root(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// An absolute URL under `/api/v1`.
    pub fn api(&self, path: &str) -> String {
        format!("http://{}/api/v1{path}", self.addr)
    }

    /// Sends a request and checks the status; returns the body as JSON (`Null` if empty).
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let mut request = self.client.request(method.clone(), self.api(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(
            status,
            StatusCode::from_u16(expect).unwrap(),
            "{method} {path}: {text}"
        );
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
    }

    pub async fn get(&self, path: &str, token: &str, expect: u16) -> Value {
        self.call(Method::GET, path, Some(token), None, expect)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value, expect: u16) -> Value {
        self.call(Method::POST, path, Some(token), Some(body), expect)
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value, expect: u16) -> Value {
        self.call(Method::PUT, path, Some(token), Some(body), expect)
            .await
    }

    pub async fn delete(&self, path: &str, token: &str, expect: u16) -> Value {
        self.call(Method::DELETE, path, Some(token), None, expect)
            .await
    }

    /// `member` (signed in as `email`) joins `org` with `role` through an invitation of
    /// `owner`, by the link the invitation answers with.
    pub async fn join_team(
        &self,
        owner: &str,
        org: impl std::fmt::Display,
        email: &str,
        role: &str,
        member: &str,
    ) {
        let invitation = self
            .post(
                &format!("/orgs/{org}/invitations"),
                owner,
                serde_json::json!({"email": email, "role": role}),
                201,
            )
            .await;
        let token = invitation["token"].as_str().unwrap();
        assert_eq!(
            invitation["link"].as_str().unwrap(),
            format!("/invitations/{token}")
        );
        let joined = self
            .post(
                "/invitations/accept",
                member,
                serde_json::json!({"token": token}),
                200,
            )
            .await;
        assert_eq!(
            (joined["id"].as_str(), joined["role"].as_str()),
            (Some(org.to_string().as_str()), Some(role))
        );
    }

    /// The served OpenAPI document.
    pub async fn openapi_document(&self) -> Value {
        self.client
            .get(self.root("/api/openapi.json"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// Registers an account through the API; returns its id.
    pub async fn register(&self, email: &str) -> Uuid {
        let body = self
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": email, "password": PASSWORD})),
                201,
            )
            .await;
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// Logs in with the form flow and returns the status and body.
    pub async fn login_raw(&self, email: &str, password: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.api("/auth/token"))
            .form(&[("username", email), ("password", password)])
            .send()
            .await
            .unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn login(&self, email: &str) -> String {
        let (status, body) = self.login_raw(email, PASSWORD).await;
        assert_eq!(status, StatusCode::OK, "login {email}: {body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// A registered account with `role`, and a token for it.
    pub async fn user(&self, email: &str, role: Role) -> (Uuid, String) {
        let id = self.register(email).await;
        if role != Role::User {
            let patch = UserPatch {
                role: Some(role),
                ..Default::default()
            };
            self.store.update_user(id, &patch).await.unwrap();
        }
        (id, self.login(email).await)
    }

    /// Creates a job through the API and returns its id.
    pub async fn job(&self, token: &str, name: &str) -> Uuid {
        let body = self
            .post("/jobs/", token, json!({"config": job_config(name)}), 201)
            .await;
        body["id"].as_str().unwrap().parse().unwrap()
    }

    /// An API token named `name` for `org` with `scopes` and no expiry, made by the caller of
    /// `token`; the answer holds the secret (`token`) and the token's `id`.
    pub async fn api_token(
        &self,
        token: &str,
        org: impl std::fmt::Display,
        name: &str,
        scopes: &[&str],
    ) -> Value {
        let body = json!({"name": name, "org_id": org.to_string(), "scopes": scopes});
        self.post("/auth/api-tokens", token, body, 201).await
    }

    /// A job named `name` saved into the organization `org`.
    pub async fn team_job(&self, token: &str, org: impl std::fmt::Display, name: &str) -> Uuid {
        let body = json!({"config": job_config(name), "org_id": org.to_string()});
        let job = self.post("/jobs/", token, body, 201).await;
        assert_eq!(job["org_id"], org.to_string());
        job["id"].as_str().unwrap().parse().unwrap()
    }
}

/// A valid job document with fields `title`, `price`, `link`.
pub fn job_config(name: &str) -> Value {
    json!({
        "name": name,
        "description": format!("{name} description"),
        "start_url": "https://example.com/products",
        "item_selector": ".product",
        "fields": [
            {"name": "title", "selector": "h2"},
            {"name": "price", "selector": ".price"},
            {"name": "link", "selector": "a", "attribute": "href"},
        ],
    })
}

/// Runs `async fn name(app: &TestApp)` on a fresh server over SQLite and over PostgreSQL, as the
/// tests `name::sqlite` and `name::postgres`.
macro_rules! api_test {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::common::TestApp::start(grandma_store::Backend::Sqlite).await;
                super::$name(&app).await;
                app.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::common::TestApp::start(grandma_store::Backend::Postgres).await;
                super::$name(&app).await;
                app.finish().await;
            }
        }
    )+};
}
