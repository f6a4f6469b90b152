//! The one configuration of every process: [`Settings`], read from defaults, then a TOML file,
//! then `GRANDMA_*` environment variables (later sources win key by key), and checked as a
//! whole, every problem reported at once ([`Problems`]).
//!
//! The file has a table per part (`[auth]`, `[http]`, `[rate_limit]`, `[worker]`,
//! `[webhooks]`, `[scheduler]`, `[browser]`, `[snapshots]`) and a few top-level keys. Each key has an environment variable:
//! `GRANDMA_` + the table's prefix + the key, upper-cased (`[worker] concurrency` is
//! `GRANDMA_WORKER_CONCURRENCY`), unless the declaration names another. To add a setting,
//! declare it in `sections.rs` (one line and its doc comment) and add its README row (a test
//! compares the two); to add a table, declare its struct there, add it as a field of
//! [`Settings`] and to `SECTIONS`.
//!
//! Loading has no side effects: development's generated signing key is written by
//! [`Settings::ensure_secret_key`], which the processes call at start-up, never by
//! `grandma config check`. No `.env` file is read: deciding about one is the binary's job.

mod docs;
mod load;
mod problems;
mod secret;
mod section;
mod sections;
mod validate;
mod values;

use std::path::PathBuf;

use grandma_engine::guard::NetworkGuard;
use grandma_store::Secret;

use crate::random::random_hex;

pub use docs::settings_table;
pub use load::{Key, keys};
pub use problems::{Problem, Problems};
pub use secret::{MIN_SECRET_BYTES, is_weak_secret};
pub use section::{Field, Section};
pub use sections::{
    AuthSettings, BackupSettings, BrowserSettings, HttpSettings, RateLimitSettings,
    OrgSettings, SchedulerSettings, Settings, SnapshotSettings, WebSettings, WebhookSettings,
    WorkerSettings,
};
pub use values::{Environment, List, Quota};

impl Settings {
    /// Settings for tests and embedding: development, the given database and data directory,
    /// a random signing key, in-process workers off, everything else at its default. Nothing
    /// is read from the environment and nothing is written.
    pub fn for_database(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        let mut settings = Settings {
            data_dir: data_dir.into(),
            database_url: Some(Secret(database_url.into())),
            ..Settings::default()
        };
        settings.auth.secret_key = Some(Secret(random_hex(32)));
        settings.worker.enabled = false;
        settings
    }

    /// The configured database, or a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_owned(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("grandma.db").display()
            ),
        }
    }

    /// Whether the database is a SQLite file (a single node).
    pub fn is_sqlite(&self) -> bool {
        self.database_url().starts_with("sqlite:")
    }

    /// The signing key: the configured one, or in development one generated once into
    /// `data_dir/secret.key` (production without a strong key never passes the checks).
    pub fn ensure_secret_key(&mut self) -> Result<&Secret, Problem> {
        if self.auth.secret_key.is_none() {
            let key = secret::development_key(&self.data_dir).map_err(|e| {
                let path = self.data_dir.join("secret.key");
                Problem::new(
                    "auth.secret_key",
                    "default",
                    format!(
                        "cannot keep a generated signing key in {}: {e}; set SECRET_KEY or \
                         make the data directory writable",
                        path.display()
                    ),
                )
            })?;
            self.auth.secret_key = Some(key);
        }
        let key = self.auth.secret_key.as_ref().expect("set above");
        if is_weak_secret(key.expose()) {
            tracing::warn!("SECRET_KEY is weak; acceptable in development only");
        }
        Ok(key)
    }

    /// The network guard of every fetch a server or worker makes: strict, plus the
    /// operator's networks.
    pub fn network_guard(&self) -> NetworkGuard {
        NetworkGuard::strict().allow_networks(self.allow_networks.iter().copied())
    }

    /// Lines for the start-up banner and `grandma config check`; secrets and database
    /// passwords are hidden.
    pub fn summary(&self) -> Vec<String> {
        let networks = if self.allow_networks.is_empty() {
            "none (strict network guard)".to_owned()
        } else {
            let list: Vec<String> = self.allow_networks.iter().map(|n| n.to_string()).collect();
            list.join(", ")
        };
        let set = |secret: &Option<Secret>| {
            if secret.is_some() {
                "*** (set)"
            } else {
                "not set"
            }
        };
        let worker = &self.worker;
        vec![
            format!("environment:      {}", self.environment),
            format!("listening on:     http://{}", self.http.bind),
            format!("data directory:   {}", self.data_dir.display()),
            format!("database:         {}", redact_url(&self.database_url())),
            format!("signing key:      {}", set(&self.auth.secret_key)),
            format!(
                "access tokens:    {} minutes",
                self.auth.access_token_minutes
            ),
            format!("allowed networks: {networks}"),
            format!("max body:         {} bytes", self.http.max_body_bytes),
            format!(
                "workers:          {}",
                if worker.enabled {
                    format!(
                        "concurrency {}, lease {}s",
                        worker.concurrency, worker.lease_seconds
                    )
                } else {
                    "off".to_owned()
                }
            ),
            format!(
                "rate limits:      {}",
                if self.rate_limit.enabled {
                    format!("{} per IP", self.rate_limit.per_ip)
                } else {
                    "off".to_owned()
                }
            ),
            format!(
                "initial admin:    {}",
                self.auth.admin_email.as_deref().unwrap_or("not configured")
            ),
        ]
    }
}

/// The URL with any password replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

impl BrowserSettings {
    /// The browser pool's options: these settings over the engine's defaults.
    pub fn options(&self) -> grandma_engine::fetch::BrowserOptions {
        let defaults = grandma_engine::fetch::BrowserOptions::default();
        grandma_engine::fetch::BrowserOptions {
            chromium: self.chromium.clone(),
            tabs: self.tabs.unwrap_or(defaults.tabs),
            max_dom_nodes: self.max_dom_nodes,
            max_page_bytes: self.max_page_bytes,
            ..defaults
        }
    }
}
