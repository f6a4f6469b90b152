//! Server configuration: one [`Settings`] built from defaults, then an optional TOML file, then
//! environment variables (`GRANDMA_*`, plus the conventional `DATABASE_URL` and `SECRET_KEY`).
//!
//! Later sources win field by field. Loading validates ranges and the signing key: development
//! works with zero configuration (SQLite in the data dir, a signing key generated once and kept
//! in `data_dir/secret.key`), production refuses a missing or weak key (FEATURES §5).
//!
//! No `.env` file is read here: unknown keys in one must never stop the server (FEATURES §6), and
//! the simplest way to guarantee that is for the binary, not the library, to decide about it.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use grandma_store::Secret;
use ipnet::IpNet;
use serde::Deserialize;

/// Keys that are well known defaults or placeholders; a production server must not sign with them.
const KNOWN_WEAK_KEYS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "secret-key",
    "secret_key",
    "your-secret-key",
    "your-secret-key-here",
    "dev",
    "development",
    "password",
    "test",
];

/// The minimum length of a signing key outside development (HS256 wants ≥ 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Where the server runs; production is strict about secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Environment {
    Development,
    Production,
}

impl FromStr for Environment {
    type Err = SettingsError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Environment::Development),
            "production" | "prod" => Ok(Environment::Production),
            _ => Err(SettingsError::Invalid {
                key: "environment",
                message: format!("expected development or production, got {s:?}"),
            }),
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Environment::Development => "development",
            Environment::Production => "production",
        })
    }
}

/// Everything the server needs to start. Fields are public so tests and the CLI can adjust a
/// loaded value; [`Settings::load`] is the validated way in.
#[derive(Clone)]
pub struct Settings {
    /// `development` (default) or `production`.
    pub environment: Environment,
    /// Where `grandma serve` listens (default `127.0.0.1:8000`).
    pub bind: SocketAddr,
    /// Holds the SQLite database and the generated signing key (default `./grandma-data`).
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; default a SQLite file in `data_dir`. May hold a password,
    /// so `Debug` and [`Settings::summary`] redact it.
    pub database_url: String,
    /// HS256 key for access tokens.
    pub secret_key: Secret,
    /// Lifetime of an access token (default 30).
    pub access_token_minutes: u32,
    /// Networks the server may fetch from although the strict guard would refuse them
    /// (`GRANDMA_ALLOW_NETWORKS=127.0.0.1/32,10.0.0.0/8`).
    pub allow_networks: Vec<IpNet>,
    /// Largest accepted request body (default 1 MiB).
    pub max_body_bytes: usize,
    /// An admin created on first start when no admin exists.
    pub admin_email: Option<String>,
    pub admin_password: Option<Secret>,
    /// Whether `grandma serve` runs workers in-process (default true).
    pub workers_enabled: bool,
    /// Runs a worker process executes at once (default 2).
    pub worker_concurrency: usize,
    /// How long a worker's claim on a run lasts without a heartbeat (default 60).
    pub lease_seconds: u64,
    /// A run whose worker died this many times is failed instead of retried (default 3).
    pub max_attempts: u32,
    /// The time limit of runs whose job document sets no `time_limit_seconds` (none by default).
    pub run_time_limit_seconds: Option<u64>,
    /// The middleware stack: gzip, rate limits, CORS, `/metrics` access (`[http]` table).
    pub http: crate::middleware::HttpSettings,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("environment", &self.environment)
            .field("bind", &self.bind)
            .field("data_dir", &self.data_dir)
            .field("database_url", &redact_url(&self.database_url))
            .field("secret_key", &self.secret_key)
            .field("access_token_minutes", &self.access_token_minutes)
            .field("allow_networks", &self.allow_networks)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("admin_email", &self.admin_email)
            .field("admin_password", &self.admin_password)
            .field("workers_enabled", &self.workers_enabled)
            .field("worker_concurrency", &self.worker_concurrency)
            .field("lease_seconds", &self.lease_seconds)
            .field("max_attempts", &self.max_attempts)
            .field("run_time_limit_seconds", &self.run_time_limit_seconds)
            .field("http", &self.http)
            .finish()
    }
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid config file {path}: {source}")]
    Parse {
        path: PathBuf,
        #[source]
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {key}: {message}")]
    Invalid { key: &'static str, message: String },
    #[error(
        "SECRET_KEY is missing or weak: production needs at least {MIN_SECRET_BYTES} bytes that \
         are not a well-known default"
    )]
    WeakSecret,
    #[error("cannot keep the generated signing key in {path}: {source}")]
    SecretFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Values gathered from all sources before defaults and validation: the TOML file (every key
/// optional, same names as the fields), then the environment over it. No `Debug`: it holds the
/// secret key and the admin password in clear.
#[derive(Default, Deserialize)]
struct Raw {
    environment: Option<Environment>,
    bind: Option<String>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    secret_key: Option<String>,
    access_token_minutes: Option<u32>,
    allow_networks: Option<Vec<String>>,
    max_body_bytes: Option<usize>,
    admin_email: Option<String>,
    admin_password: Option<String>,
    workers_enabled: Option<bool>,
    worker_concurrency: Option<usize>,
    lease_seconds: Option<u64>,
    max_attempts: Option<u32>,
    run_time_limit_seconds: Option<u64>,
}

impl Settings {
    /// Defaults < `config_path` (TOML) < environment variables, validated.
    pub fn load(config_path: Option<&Path>) -> Result<Settings, SettingsError> {
        Self::load_with_env(config_path, |key| std::env::var(key).ok())
    }

    /// [`Settings::load`] with the environment supplied by the caller (tests).
    pub fn load_with_env(
        config_path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings, SettingsError> {
        let mut raw = Raw::default();
        if let Some(path) = config_path {
            let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                path: path.to_owned(),
                source,
            })?;
            raw = toml::from_str(&text).map_err(|source| SettingsError::Parse {
                path: path.to_owned(),
                source: Box::new(source),
            })?;
        }
        apply_env(&mut raw, &env)?;
        let http = crate::middleware::HttpSettings::load(config_path, &env)?;
        Self::from_raw(raw).map(|settings| Settings { http, ..settings })
    }

    fn from_raw(raw: Raw) -> Result<Settings, SettingsError> {
        let environment = raw.environment.unwrap_or(Environment::Development);
        let bind_text = raw.bind.unwrap_or_else(|| "127.0.0.1:8000".to_owned());
        let bind = bind_text
            .parse::<SocketAddr>()
            .map_err(|e| invalid("bind", format!("{bind_text:?}: {e}")))?;
        let data_dir = raw
            .data_dir
            .unwrap_or_else(|| PathBuf::from("./grandma-data"));
        let database_url = raw.database_url.unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                data_dir.join("grandma.db").display()
            )
        });
        let access_token_minutes = raw.access_token_minutes.unwrap_or(30);
        if !(1..=60 * 24 * 30).contains(&access_token_minutes) {
            return Err(invalid(
                "access_token_minutes",
                "must be between 1 and 43200".into(),
            ));
        }
        let allow_networks = raw
            .allow_networks
            .unwrap_or_default()
            .iter()
            .map(|s| parse_network(s))
            .collect::<Result<Vec<_>, _>>()?;
        let max_body_bytes = raw.max_body_bytes.unwrap_or(1024 * 1024);
        if max_body_bytes < 1024 {
            return Err(invalid("max_body_bytes", "must be at least 1024".into()));
        }
        let worker_concurrency = raw.worker_concurrency.unwrap_or(2);
        if !(1..=64).contains(&worker_concurrency) {
            return Err(invalid(
                "worker_concurrency",
                "must be between 1 and 64".into(),
            ));
        }
        let lease_seconds = raw.lease_seconds.unwrap_or(60);
        if !(5..=3600).contains(&lease_seconds) {
            return Err(invalid(
                "lease_seconds",
                "must be between 5 and 3600".into(),
            ));
        }
        let max_attempts = raw.max_attempts.unwrap_or(3);
        if !(1..=1000).contains(&max_attempts) {
            return Err(invalid("max_attempts", "must be between 1 and 1000".into()));
        }
        if raw
            .run_time_limit_seconds
            .is_some_and(|t| !(1..=604_800).contains(&t))
        {
            return Err(invalid(
                "run_time_limit_seconds",
                "must be between 1 and 604800 (a week)".into(),
            ));
        }
        let admin_email = raw.admin_email.filter(|e| !e.trim().is_empty());
        let admin_password = raw.admin_password.filter(|p| !p.is_empty()).map(Secret);
        if admin_email.is_some() != admin_password.is_some() {
            return Err(invalid(
                "admin_email",
                "GRANDMA_ADMIN_EMAIL and GRANDMA_ADMIN_PASSWORD go together".into(),
            ));
        }
        let secret_key = match (environment, raw.secret_key.filter(|k| !k.is_empty())) {
            (Environment::Production, Some(key)) if !is_weak_secret(&key) => Secret(key),
            (Environment::Production, _) => return Err(SettingsError::WeakSecret),
            (Environment::Development, Some(key)) => {
                if is_weak_secret(&key) {
                    tracing::warn!("SECRET_KEY is weak; acceptable in development only");
                }
                Secret(key)
            }
            (Environment::Development, None) => development_secret(&data_dir)?,
        };
        Ok(Settings {
            environment,
            bind,
            data_dir,
            database_url,
            secret_key,
            access_token_minutes,
            allow_networks,
            max_body_bytes,
            admin_email,
            admin_password,
            workers_enabled: raw.workers_enabled.unwrap_or(true),
            worker_concurrency,
            lease_seconds,
            max_attempts,
            run_time_limit_seconds: raw.run_time_limit_seconds,
            http: Default::default(),
        })
    }

    /// Settings for tests and embedding: development, the given database and data directory, a
    /// random signing key, in-process workers off, every other field at its default. Nothing is
    /// read from the environment and nothing is written.
    pub fn for_database(database_url: impl Into<String>, data_dir: impl Into<PathBuf>) -> Self {
        Settings {
            environment: Environment::Development,
            bind: SocketAddr::from(([127, 0, 0, 1], 8000)),
            data_dir: data_dir.into(),
            database_url: database_url.into(),
            secret_key: Secret(random_hex(32)),
            access_token_minutes: 30,
            allow_networks: Vec::new(),
            max_body_bytes: 1024 * 1024,
            admin_email: None,
            admin_password: None,
            workers_enabled: false,
            worker_concurrency: 2,
            lease_seconds: 60,
            max_attempts: 3,
            run_time_limit_seconds: None,
            http: Default::default(),
        }
    }

    /// Lines for the start-up banner; secrets and database passwords are redacted.
    pub fn summary(&self) -> Vec<String> {
        let networks = if self.allow_networks.is_empty() {
            "none (strict network guard)".to_owned()
        } else {
            self.allow_networks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        vec![
            format!("environment:      {}", self.environment),
            format!("listening on:     http://{}", self.bind),
            format!("data directory:   {}", self.data_dir.display()),
            format!("database:         {}", redact_url(&self.database_url)),
            "signing key:      *** (set)".to_owned(),
            format!("access tokens:    {} minutes", self.access_token_minutes),
            format!("allowed networks: {networks}"),
            format!("max body:         {} bytes", self.max_body_bytes),
            format!(
                "workers:          {}",
                if self.workers_enabled {
                    format!(
                        "in-process, concurrency {}, lease {}s",
                        self.worker_concurrency, self.lease_seconds
                    )
                } else {
                    "off".to_owned()
                }
            ),
            format!(
                "initial admin:    {}",
                self.admin_email.as_deref().unwrap_or("not configured")
            ),
        ]
    }

    /// The network guard for every fetch the server makes: strict plus the operator's networks.
    pub fn network_guard(&self) -> grandma_engine::guard::NetworkGuard {
        grandma_engine::guard::NetworkGuard::strict().allow_networks(self.allow_networks.clone())
    }
}

fn apply_env(raw: &mut Raw, env: &impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
    let get = |key: &str| env(key).filter(|v| !v.trim().is_empty());
    if let Some(v) = get("GRANDMA_ENVIRONMENT") {
        raw.environment = Some(v.parse()?);
    }
    if let Some(v) = get("GRANDMA_BIND") {
        raw.bind = Some(v);
    }
    if let Some(v) = get("GRANDMA_DATA_DIR") {
        raw.data_dir = Some(PathBuf::from(v));
    }
    // The prefixed name wins over the conventional one when both are set.
    if let Some(v) = get("GRANDMA_DATABASE_URL").or_else(|| get("DATABASE_URL")) {
        raw.database_url = Some(v);
    }
    if let Some(v) = get("GRANDMA_SECRET_KEY").or_else(|| get("SECRET_KEY")) {
        raw.secret_key = Some(v);
    }
    if let Some(v) = get("GRANDMA_ACCESS_TOKEN_MINUTES") {
        raw.access_token_minutes = Some(parse_number("access_token_minutes", &v)?);
    }
    if let Some(v) = get("GRANDMA_ALLOW_NETWORKS") {
        raw.allow_networks = Some(
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        );
    }
    if let Some(v) = get("GRANDMA_MAX_BODY_BYTES") {
        raw.max_body_bytes = Some(parse_number("max_body_bytes", &v)?);
    }
    if let Some(v) = get("GRANDMA_ADMIN_EMAIL") {
        raw.admin_email = Some(v);
    }
    if let Some(v) = get("GRANDMA_ADMIN_PASSWORD") {
        raw.admin_password = Some(v);
    }
    if let Some(v) = get("GRANDMA_WORKERS_ENABLED") {
        raw.workers_enabled = Some(parse_bool("workers_enabled", &v)?);
    }
    if let Some(v) = get("GRANDMA_WORKER_CONCURRENCY") {
        raw.worker_concurrency = Some(parse_number("worker_concurrency", &v)?);
    }
    if let Some(v) = get("GRANDMA_LEASE_SECONDS") {
        raw.lease_seconds = Some(parse_number("lease_seconds", &v)?);
    }
    if let Some(v) = get("GRANDMA_MAX_ATTEMPTS") {
        raw.max_attempts = Some(parse_number("max_attempts", &v)?);
    }
    if let Some(v) = get("GRANDMA_RUN_TIME_LIMIT_SECONDS") {
        raw.run_time_limit_seconds = Some(parse_number("run_time_limit_seconds", &v)?);
    }
    Ok(())
}

fn invalid(key: &'static str, message: String) -> SettingsError {
    SettingsError::Invalid { key, message }
}

fn parse_number<T: FromStr>(key: &'static str, value: &str) -> Result<T, SettingsError>
where
    T::Err: fmt::Display,
{
    value
        .trim()
        .parse()
        .map_err(|e| invalid(key, format!("{value:?}: {e}")))
}

fn parse_bool(key: &'static str, value: &str) -> Result<bool, SettingsError> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(
            key,
            format!("expected true or false, got {value:?}"),
        )),
    }
}

/// A CIDR network, or a bare address as its one-host network.
fn parse_network(text: &str) -> Result<IpNet, SettingsError> {
    let text = text.trim();
    text.parse::<IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| invalid("allow_networks", format!("{text:?} is not a network")))
}

/// Too short, or a placeholder someone forgot to change.
pub fn is_weak_secret(key: &str) -> bool {
    let lowered = key.trim().to_ascii_lowercase();
    // Thirty-two bytes of "a" or "1234…" are long but guessable: ask for some variety too.
    let distinct = key
        .bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len();
    key.len() < MIN_SECRET_BYTES
        || distinct < 10
        || KNOWN_WEAK_KEYS.contains(&lowered.as_str())
        || KNOWN_WEAK_KEYS.iter().any(|weak| {
            // "changemechangemechangeme…" repeats a placeholder to reach the length.
            !lowered.is_empty() && lowered.replace(weak, "").is_empty()
        })
}

/// Development's zero-configuration key: read from `data_dir/secret.key`, or generated once
/// and kept there so tokens survive restarts.
fn development_secret(data_dir: &Path) -> Result<Secret, SettingsError> {
    let path = data_dir.join("secret.key");
    let io = |source| SettingsError::SecretFile {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(Secret(text.trim().to_owned())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let key = random_hex(32);
    write_private(&path, &key).map_err(io)?;
    Ok(Secret(key))
}

/// Writes a file only its owner can read where the platform allows it.
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

/// `bytes` random bytes as hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    use rand::RngCore;
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The URL with any password replaced by `***`.
fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn load(
        dir: &Path,
        vars: &[(&str, &str)],
        file: Option<&str>,
    ) -> Result<Settings, SettingsError> {
        let env: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut env = env;
        env.entry("GRANDMA_DATA_DIR".into())
            .or_insert_with(|| dir.display().to_string());
        let config = file.map(|text| {
            let path = dir.join("grandma.toml");
            std::fs::write(&path, text).unwrap();
            path
        });
        Settings::load_with_env(config.as_deref(), |k| env.get(k).cloned())
    }

    #[test]
    fn development_defaults_generate_and_keep_a_key() {
        let dir = tempfile::tempdir().unwrap();
        let first = load(dir.path(), &[], None).unwrap();
        assert_eq!(first.bind.to_string(), "127.0.0.1:8000");
        assert_eq!(first.access_token_minutes, 30);
        assert!(first.database_url.starts_with("sqlite://"));
        let again = load(dir.path(), &[], None).unwrap();
        assert_eq!(first.secret_key, again.secret_key);
        assert!(dir.path().join("secret.key").exists());
    }

    #[test]
    fn env_beats_file_beats_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(
            dir.path(),
            &[
                ("GRANDMA_ACCESS_TOKEN_MINUTES", "5"),
                ("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32, 10.0.0.1"),
            ],
            Some("access_token_minutes = 10\nbind = \"0.0.0.0:9000\"\nunknown_key = 1\n"),
        )
        .unwrap();
        assert_eq!(s.access_token_minutes, 5);
        assert_eq!(s.bind.to_string(), "0.0.0.0:9000");
        assert_eq!(s.allow_networks.len(), 2);
    }

    #[test]
    fn production_refuses_weak_or_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        let prod = [("GRANDMA_ENVIRONMENT", "production")];
        assert!(matches!(
            load(dir.path(), &prod, None),
            Err(SettingsError::WeakSecret)
        ));
        for weak in [
            "changeme",
            "short",
            "changemechangemechangemechangemechangeme",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "12121212121212121212121212121212",
        ] {
            let vars = [prod[0], ("SECRET_KEY", weak)];
            assert!(
                matches!(
                    load(dir.path(), &vars, None),
                    Err(SettingsError::WeakSecret)
                ),
                "{weak}"
            );
        }
        let strong = "0123456789abcdef0123456789abcdef-strong";
        let s = load(dir.path(), &[prod[0], ("SECRET_KEY", strong)], None).unwrap();
        assert_eq!(s.secret_key.expose(), strong);
    }

    #[test]
    fn debug_and_summary_redact_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let s = load(
            dir.path(),
            &[
                ("SECRET_KEY", "super-secret-signing-key-0123456789"),
                ("DATABASE_URL", "postgres://app:hunter2@db/grandma"),
                ("GRANDMA_ADMIN_EMAIL", "a@example.com"),
                ("GRANDMA_ADMIN_PASSWORD", "admin-password-1"),
            ],
            None,
        )
        .unwrap();
        let text = format!("{s:?}\n{}", s.summary().join("\n"));
        for secret in ["super-secret-signing-key", "hunter2", "admin-password-1"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = load(dir.path(), &[("GRANDMA_LEASE_SECONDS", "soon")], None).unwrap_err();
        assert!(err.to_string().contains("lease_seconds"), "{err}");
    }
}
