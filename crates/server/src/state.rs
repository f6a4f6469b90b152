//! The state every handler shares.

use std::sync::Arc;

use grandma_engine::fetch::browser::{BrowserPool, ChromiumMissing};
use grandma_shared::Settings;
use grandma_shared::accounts::{AccountError, Accounts, FirstAdmin};
use grandma_store::Store;
use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::auth::setup::SetupCode;
use crate::middleware::RateLimiter;
use crate::slots::UserSlots;

/// Previews and detections one user may have running at once; more are refused with 429.
pub const PAGE_REQUESTS_PER_USER: usize = 2;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Creates accounts with the same rules everywhere.
    pub accounts: Accounts,
    /// Woken after a run is queued so an in-process worker claims it at once instead of at
    /// its next poll.
    pub run_wakeup: Arc<Notify>,
    /// Live run events (WebSockets) and the cross-process wakeup of workers (PostgreSQL
    /// `LISTEN/NOTIFY`); shares `run_wakeup`.
    pub pubsub: grandma_store::PubSub,
    /// Token buckets per client IP and per user.
    pub rate_limiter: Arc<RateLimiter>,
    /// The process's headless Chromium (previews of browser jobs, `/health`), shared with its
    /// workers; the error says why there is none.
    pub browser: Result<BrowserPool, ChromiumMissing>,
    /// Previews and detections running per user (each parses a page, maybe in the browser).
    pub page_slots: UserSlots,
    /// The first-run setup code; pending only while the server has no account.
    pub setup_code: SetupCode,
    pub(crate) jwt: Arc<JwtKeys>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("backend", &self.store.backend())
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why the server could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("database: {0}")]
    Store(#[from] grandma_store::StoreError),
    #[error("initial admin: {0}")]
    Admin(#[from] AccountError),
}

impl AppState {
    /// State over an already connected (and migrated) store, sharing `pubsub` (whose wakeup
    /// is `run_wakeup`) with the workers of the same process.
    pub fn with_pubsub(
        store: Store,
        settings: Settings,
        pubsub: grandma_store::PubSub,
        run_wakeup: Arc<Notify>,
    ) -> Self {
        let secret = settings.auth.secret_key.as_ref().map(|k| k.expose());
        let jwt = JwtKeys::new(secret.unwrap_or_default().as_bytes());
        let rate_limiter = Arc::new(RateLimiter::new(
            settings.rate_limit.clone(),
            settings.http.trusted_proxies.to_vec(),
        ));
        AppState {
            browser: BrowserPool::new(settings.browser.options()),
            page_slots: UserSlots::new(PAGE_REQUESTS_PER_USER),
            setup_code: SetupCode::default(),
            accounts: Accounts::new(store.clone()),
            store,
            rate_limiter,
            settings: Arc::new(settings),
            run_wakeup,
            pubsub,
            jwt: Arc::new(jwt),
        }
    }

    /// State over an already connected (and migrated) store, with its own pub/sub.
    pub fn new(store: Store, settings: Settings) -> Self {
        let run_wakeup = Arc::new(Notify::new());
        let pubsub = grandma_store::PubSub::start(&store, Arc::clone(&run_wakeup));
        AppState::with_pubsub(store, settings, pubsub, run_wakeup)
    }

    /// Connects to the configured database, migrates it to head, creates the initial admin if
    /// configured, and returns the state. For SQLite the data directory is created first.
    pub async fn connect(settings: Settings) -> Result<Self, StartError> {
        let store = connect_store(&settings, true).await?;
        let state = AppState::new(store, settings);
        state.ensure_initial_admin().await?;
        Ok(state)
    }

    /// Creates the settings' first admin (`GRANDMA_ADMIN_EMAIL`) when no active admin exists.
    pub async fn ensure_initial_admin(&self) -> Result<(), StartError> {
        let auth = &self.settings.auth;
        let (Some(email), Some(password)) = (&auth.admin_email, &auth.admin_password) else {
            return Ok(());
        };
        match self
            .accounts
            .ensure_first_admin(email, password.clone())
            .await?
        {
            FirstAdmin::Exists => {}
            FirstAdmin::Created(user) | FirstAdmin::Promoted(user) => {
                tracing::info!(email = %user.email, "created the initial admin");
            }
        }
        Ok(())
    }

    /// When the server has no (active) admin yet, makes a setup code and prints it on the
    /// console: the web app's `/setup` page asks for it before creating the first admin.
    pub async fn offer_setup(&self) -> Result<(), StartError> {
        if self.store.count_admins().await? == 0 {
            let code = self.setup_code.issue();
            let bind = self.settings.http.bind;
            tracing::warn!(
                setup_code = %code,
                "no administrator exists yet: open http://{bind}/setup in a browser and enter the setup code {code} to create the first admin"
            );
        }
        Ok(())
    }
}

/// Connects to the settings' database; with `migrate`, brings the schema to head first (the
/// single-node start-up). SQLite's data directory is created if missing.
pub async fn connect_store(
    settings: &Settings,
    migrate: bool,
) -> Result<Store, grandma_store::StoreError> {
    if settings.is_sqlite()
        && let Err(e) = std::fs::create_dir_all(&settings.data_dir)
    {
        tracing::warn!(error = %e, dir = %settings.data_dir.display(), "cannot create the data directory");
    }
    let store = Store::connect(&settings.database_url()).await?;
    if migrate {
        store.migrate_to_head().await?;
    }
    Ok(store)
}
