//! The state every handler shares.

use std::sync::Arc;

use grandma_store::{NewUser, Role, Store};
use tokio::sync::Notify;

use crate::auth::jwt::JwtKeys;
use crate::auth::password;
use crate::settings::Settings;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Woken after a run is queued so an in-process worker claims it at once instead of at
    /// its next poll.
    pub run_wakeup: Arc<Notify>,
    /// Live run events (WebSockets) and the cross-process wakeup of workers (PostgreSQL
    /// `LISTEN/NOTIFY`); shares `run_wakeup`.
    pub pubsub: grandma_store::PubSub,
    /// Token buckets per client IP and per user.
    pub rate_limiter: Arc<crate::middleware::RateLimiter>,
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
    Admin(String),
}

impl AppState {
    /// State over an already connected (and migrated) store.
    pub fn new(store: Store, settings: Settings) -> Self {
        let jwt = JwtKeys::new(settings.secret_key.expose().as_bytes());
        let run_wakeup = Arc::new(Notify::new());
        let pubsub = grandma_store::PubSub::start(&store, Arc::clone(&run_wakeup));
        let rate_limiter = Arc::new(crate::middleware::RateLimiter::new(
            settings.http.rate_limit.clone(),
        ));
        AppState {
            store,
            rate_limiter,
            settings: Arc::new(settings),
            run_wakeup,
            pubsub,
            jwt: Arc::new(jwt),
        }
    }

    /// Connects to the configured database, migrates it to head, creates the initial admin if
    /// configured, and returns the state. For SQLite the data directory is created first.
    pub async fn connect(settings: Settings) -> Result<Self, StartError> {
        if settings.database_url.starts_with("sqlite:")
            && let Err(e) = std::fs::create_dir_all(&settings.data_dir)
        {
            tracing::warn!(error = %e, dir = %settings.data_dir.display(), "cannot create the data directory");
        }
        let store = Store::connect(&settings.database_url).await?;
        store.migrate_to_head().await?;
        let state = AppState::new(store, settings);
        state.ensure_initial_admin().await?;
        Ok(state)
    }

    /// Creates `GRANDMA_ADMIN_EMAIL` as an admin when no active admin exists yet. An existing
    /// account with that address is promoted rather than duplicated.
    pub async fn ensure_initial_admin(&self) -> Result<(), StartError> {
        let (Some(email), Some(secret)) =
            (&self.settings.admin_email, &self.settings.admin_password)
        else {
            return Ok(());
        };
        if self.store.count_admins().await? > 0 {
            return Ok(());
        }
        if secret.expose().len() < password::MIN_PASSWORD_CHARS {
            return Err(StartError::Admin(format!(
                "GRANDMA_ADMIN_PASSWORD must have at least {} characters",
                password::MIN_PASSWORD_CHARS
            )));
        }
        let hash = password::hash(secret.clone())
            .await
            .map_err(|e| StartError::Admin(e.to_string()))?;
        match self.store.get_user_by_email(email).await {
            Ok(user) => {
                let patch = grandma_store::UserPatch {
                    role: Some(Role::Admin),
                    is_active: Some(true),
                    password_hash: Some(hash),
                    ..Default::default()
                };
                self.store.update_user(user.user_id, &patch).await?;
            }
            Err(grandma_store::StoreError::NotFound) => {
                self.store
                    .create_user(&NewUser {
                        email: email.clone(),
                        password_hash: hash,
                        role: Role::Admin,
                        is_active: true,
                    })
                    .await?;
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(email = %email, "created the initial admin");
        Ok(())
    }
}
