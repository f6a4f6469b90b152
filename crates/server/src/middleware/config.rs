//! Settings of the production layer (`[http]` in the TOML file, `GRANDMA_*` variables): gzip,
//! rate limits (optionally shared through Redis), trusted proxies, CORS and access to
//! `/metrics`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use grandma_store::Secret;
use ipnet::IpNet;
use serde::Deserialize;

use crate::settings::SettingsError;

/// A token bucket: `per_minute` tokens refill continuously up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub per_minute: u32,
    pub burst: u32,
}

impl Quota {
    pub const fn new(per_minute: u32, burst: u32) -> Self {
        Quota { per_minute, burst }
    }
}

impl std::str::FromStr for Quota {
    type Err = String;
    /// `60/10` (per minute / burst), or `60` with a burst of a sixth of the rate (at least 1).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (rate, burst) = match s.trim().split_once('/') {
            Some((r, b)) => (r.trim(), Some(b.trim())),
            None => (s.trim(), None),
        };
        let per_minute: u32 = rate
            .parse()
            .map_err(|_| format!("{s:?}: expected PER_MINUTE[/BURST]"))?;
        let burst: u32 = match burst {
            Some(b) => b
                .parse()
                .map_err(|_| format!("{s:?}: expected PER_MINUTE[/BURST]"))?,
            None => (per_minute / 6).max(1),
        };
        if per_minute == 0 || burst == 0 {
            return Err(format!("{s:?}: rate and burst must be positive"));
        }
        Ok(Quota { per_minute, burst })
    }
}

/// Rate limiting: a bucket per client IP and one per authenticated user, sized by role.
#[derive(Debug, Clone)]
pub struct RateLimitSettings {
    /// Off in embedded/test servers that do not want it (default on).
    pub enabled: bool,
    /// Per client IP (default 60/min, burst 10).
    pub per_ip: Quota,
    /// Per authenticated user, by role (defaults: admin 600/100, user 120/20, readonly 60/10).
    pub admin: Quota,
    pub user: Quota,
    pub readonly: Quota,
    /// Most keys (IPs plus users) remembered at once (default 100 000); idle keys are evicted
    /// first, then the least recently seen.
    pub max_keys: usize,
    /// Peers whose `X-Forwarded-For` is believed (default none).
    pub trusted_proxies: Vec<IpNet>,
    /// A Redis shared by the API nodes (`redis://[user:password@]host[:port][/db]`), so that
    /// all of them take from the same buckets (default none: each process has its own).
    pub redis_url: Option<Secret>,
    /// Prefix of the bucket keys in Redis (default `grandma:rl:`).
    pub redis_prefix: String,
    /// Longest wait for one Redis call before this process's own buckets answer instead
    /// (default 100 ms).
    pub redis_timeout: Duration,
}

/// The default prefix of the rate-limit keys in Redis.
pub const DEFAULT_REDIS_PREFIX: &str = "grandma:rl:";

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            enabled: true,
            per_ip: Quota::new(60, 10),
            admin: Quota::new(600, 100),
            user: Quota::new(120, 20),
            readonly: Quota::new(60, 10),
            max_keys: 100_000,
            trusted_proxies: Vec::new(),
            redis_url: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_owned(),
            redis_timeout: Duration::from_millis(100),
        }
    }
}

/// Everything the middleware stack reads.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// gzip level 1–9 (default 6).
    pub gzip_level: u32,
    /// Smallest body compressed, in bytes (default 500).
    pub gzip_min_bytes: u16,
    pub rate_limit: RateLimitSettings,
    /// Origins allowed by CORS (default none: no CORS headers). `*` allows any origin, without
    /// credentials.
    pub cors_origins: Vec<String>,
    /// Whether credentialed CORS requests are allowed; only with explicit origins.
    pub cors_allow_credentials: bool,
    /// When set, `/metrics` wants `Authorization: Bearer <token>`.
    pub metrics_token: Option<Secret>,
    /// Where a `grandma worker` process serves its own `/metrics` (default none).
    pub worker_metrics_bind: Option<SocketAddr>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            gzip_level: 6,
            gzip_min_bytes: 500,
            rate_limit: RateLimitSettings::default(),
            cors_origins: Vec::new(),
            cors_allow_credentials: false,
            metrics_token: None,
            worker_metrics_bind: None,
        }
    }
}

/// The `[http]` table of the TOML file.
#[derive(Debug, Default, Deserialize)]
struct HttpFile {
    gzip_level: Option<u32>,
    gzip_min_bytes: Option<u16>,
    rate_limit_enabled: Option<bool>,
    rate_limit_per_ip: Option<String>,
    rate_limit_admin: Option<String>,
    rate_limit_user: Option<String>,
    rate_limit_readonly: Option<String>,
    rate_limit_max_keys: Option<usize>,
    rate_limit_redis_url: Option<String>,
    rate_limit_redis_prefix: Option<String>,
    rate_limit_redis_timeout_ms: Option<u64>,
    trusted_proxies: Option<Vec<String>>,
    cors_origins: Option<Vec<String>>,
    cors_allow_credentials: Option<bool>,
    metrics_token: Option<String>,
    worker_metrics_bind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct FileWithHttp {
    #[serde(default)]
    http: HttpFile,
}

fn invalid(key: &'static str, message: impl Into<String>) -> SettingsError {
    SettingsError::Invalid {
        key,
        message: message.into(),
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

fn boolean(key: &'static str, v: &str) -> Result<bool, SettingsError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, format!("expected true or false, got {v:?}"))),
    }
}

fn number<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T, SettingsError> {
    v.trim()
        .parse()
        .map_err(|_| invalid(key, format!("{v:?} is not a valid number")))
}

impl HttpSettings {
    /// Defaults < the `[http]` table of `config_path` < `GRANDMA_*` variables, validated.
    pub fn load(
        config_path: Option<&Path>,
        env: &impl Fn(&str) -> Option<String>,
    ) -> Result<HttpSettings, SettingsError> {
        let mut file = HttpFile::default();
        if let Some(path) = config_path {
            let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
                path: path.to_owned(),
                source,
            })?;
            let parsed: FileWithHttp =
                toml::from_str(&text).map_err(|source| SettingsError::Parse {
                    path: path.to_owned(),
                    source: Box::new(source),
                })?;
            file = parsed.http;
        }
        let get = |key: &str| env(key).filter(|v| !v.trim().is_empty());
        macro_rules! pick {
            ($var:literal, $field:ident, $conv:expr) => {
                match get($var) {
                    Some(v) => Some($conv(&v)?),
                    None => file.$field.take(),
                }
            };
        }
        let mut s = HttpSettings::default();
        if let Some(v) = pick!("GRANDMA_GZIP_LEVEL", gzip_level, |v: &str| number(
            "gzip_level",
            v
        )) {
            s.gzip_level = v;
        }
        if !(1..=9).contains(&s.gzip_level) {
            return Err(invalid("gzip_level", "must be between 1 and 9"));
        }
        if let Some(v) = pick!("GRANDMA_GZIP_MIN_BYTES", gzip_min_bytes, |v: &str| number(
            "gzip_min_bytes",
            v
        )) {
            s.gzip_min_bytes = v;
        }
        let rl = &mut s.rate_limit;
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_ENABLED",
            rate_limit_enabled,
            |v: &str| { boolean("rate_limit_enabled", v) }
        ) {
            rl.enabled = v;
        }
        let quota = |key: &'static str, v: &str| v.parse::<Quota>().map_err(|m| invalid(key, m));
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_PER_IP",
            rate_limit_per_ip,
            |v: &str| Ok::<_, SettingsError>(v.to_owned())
        ) {
            rl.per_ip = quota("rate_limit_per_ip", &v)?;
        }
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_ADMIN",
            rate_limit_admin,
            |v: &str| Ok::<_, SettingsError>(v.to_owned())
        ) {
            rl.admin = quota("rate_limit_admin", &v)?;
        }
        if let Some(v) = pick!("GRANDMA_RATE_LIMIT_USER", rate_limit_user, |v: &str| Ok::<
            _,
            SettingsError,
        >(
            v.to_owned()
        )) {
            rl.user = quota("rate_limit_user", &v)?;
        }
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_READONLY",
            rate_limit_readonly,
            |v: &str| Ok::<_, SettingsError>(v.to_owned())
        ) {
            rl.readonly = quota("rate_limit_readonly", &v)?;
        }
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_MAX_KEYS",
            rate_limit_max_keys,
            |v: &str| { number("rate_limit_max_keys", v) }
        ) {
            rl.max_keys = v;
        }
        if rl.max_keys < 16 {
            return Err(invalid("rate_limit_max_keys", "must be at least 16"));
        }
        rl.redis_url = pick!(
            "GRANDMA_RATE_LIMIT_REDIS_URL",
            rate_limit_redis_url,
            |v: &str| Ok::<_, SettingsError>(v.trim().to_owned())
        )
        .filter(|u| !u.is_empty())
        .map(Secret);
        if let Some(url) = &rl.redis_url {
            // Parsed now so that a typo stops the start rather than every request; the
            // message leaves the URL out (it may hold a password).
            redis::Client::open(url.expose()).map_err(|e| {
                invalid(
                    "rate_limit_redis_url",
                    format!("expected redis://[user:password@]host[:port][/db]: {e}"),
                )
            })?;
        }
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_REDIS_PREFIX",
            rate_limit_redis_prefix,
            |v: &str| Ok::<_, SettingsError>(v.to_owned())
        ) {
            rl.redis_prefix = v;
        }
        if let Some(v) = pick!(
            "GRANDMA_RATE_LIMIT_REDIS_TIMEOUT_MS",
            rate_limit_redis_timeout_ms,
            |v: &str| { number("rate_limit_redis_timeout_ms", v) }
        ) {
            if !(1..=10_000).contains(&v) {
                return Err(invalid(
                    "rate_limit_redis_timeout_ms",
                    "must be between 1 and 10000",
                ));
            }
            rl.redis_timeout = Duration::from_millis(v);
        }
        if let Some(v) = pick!("GRANDMA_TRUSTED_PROXIES", trusted_proxies, |v: &str| Ok::<
            _,
            SettingsError,
        >(
            list(v)
        )) {
            rl.trusted_proxies = v
                .iter()
                .map(|n| {
                    n.parse::<IpNet>()
                        .or_else(|_| n.parse::<std::net::IpAddr>().map(IpNet::from))
                        .map_err(|_| invalid("trusted_proxies", format!("{n:?} is not a network")))
                })
                .collect::<Result<_, _>>()?;
        }
        if let Some(v) = pick!("GRANDMA_CORS_ORIGINS", cors_origins, |v: &str| Ok::<
            _,
            SettingsError,
        >(
            list(v)
        )) {
            s.cors_origins = v;
        }
        for origin in &s.cors_origins {
            if origin != "*" && axum::http::HeaderValue::from_str(origin).is_err() {
                return Err(invalid(
                    "cors_origins",
                    format!("{origin:?} is not an origin"),
                ));
            }
        }
        if let Some(v) = pick!(
            "GRANDMA_CORS_ALLOW_CREDENTIALS",
            cors_allow_credentials,
            |v: &str| boolean("cors_allow_credentials", v)
        ) {
            s.cors_allow_credentials = v;
        }
        if s.cors_allow_credentials && s.cors_origins.iter().any(|o| o == "*") {
            return Err(invalid(
                "cors_allow_credentials",
                "credentials need explicit origins, not `*`",
            ));
        }
        s.metrics_token = pick!("GRANDMA_METRICS_TOKEN", metrics_token, |v: &str| Ok::<
            _,
            SettingsError,
        >(
            v.to_owned()
        ))
        .filter(|t| !t.is_empty())
        .map(Secret);
        if let Some(v) = pick!(
            "GRANDMA_WORKER_METRICS_BIND",
            worker_metrics_bind,
            |v: &str| Ok::<_, SettingsError>(v.to_owned())
        ) {
            s.worker_metrics_bind =
                Some(v.parse().map_err(|_| {
                    invalid("worker_metrics_bind", format!("{v:?} is not host:port"))
                })?);
        }
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_env() {
        let none = |_: &str| None;
        let d = HttpSettings::load(None, &none).unwrap();
        assert_eq!(d.gzip_level, 6);
        assert_eq!(d.gzip_min_bytes, 500);
        assert_eq!(d.rate_limit.per_ip, Quota::new(60, 10));
        assert!(d.cors_origins.is_empty());

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "bind = \"0.0.0.0:1\"\n[http]\ngzip_level = 9\nrate_limit_user = \"30/5\"\n\
             cors_origins = [\"https://a.example\"]\n",
        )
        .unwrap();
        let env = |k: &str| (k == "GRANDMA_GZIP_LEVEL").then(|| "3".to_owned());
        let s = HttpSettings::load(Some(&path), &env).unwrap();
        assert_eq!(s.gzip_level, 3);
        assert_eq!(s.rate_limit.user, Quota::new(30, 5));
        assert_eq!(s.cors_origins, ["https://a.example"]);
    }

    #[test]
    fn redis_is_off_by_default_and_read_from_file_and_env() {
        let none = |_: &str| None;
        let d = HttpSettings::load(None, &none).unwrap();
        assert!(d.rate_limit.redis_url.is_none());
        assert_eq!(d.rate_limit.redis_prefix, "grandma:rl:");
        assert_eq!(d.rate_limit.redis_timeout, Duration::from_millis(100));

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("g.toml");
        std::fs::write(
            &path,
            "[http]\nrate_limit_redis_url = \"redis://:pw@cache:6380/2\"\n\
             rate_limit_redis_prefix = \"app1:\"\nrate_limit_redis_timeout_ms = 250\n",
        )
        .unwrap();
        let s = HttpSettings::load(Some(&path), &none).unwrap();
        assert_eq!(
            s.rate_limit.redis_url.as_ref().map(Secret::expose),
            Some("redis://:pw@cache:6380/2")
        );
        assert_eq!(s.rate_limit.redis_prefix, "app1:");
        assert_eq!(s.rate_limit.redis_timeout, Duration::from_millis(250));
        // The password never shows in the settings' debug output.
        assert!(!format!("{s:?}").contains("pw@"));

        let env = |k: &str| match k {
            "GRANDMA_RATE_LIMIT_REDIS_URL" => Some("redis://127.0.0.1/".to_owned()),
            "GRANDMA_RATE_LIMIT_REDIS_PREFIX" => Some("x:".to_owned()),
            _ => None,
        };
        let s = HttpSettings::load(Some(&path), &env).unwrap();
        assert_eq!(
            s.rate_limit.redis_url.as_ref().map(Secret::expose),
            Some("redis://127.0.0.1/")
        );
        assert_eq!(s.rate_limit.redis_prefix, "x:");
    }

    #[test]
    fn bad_values_are_refused() {
        for (k, v) in [
            ("GRANDMA_GZIP_LEVEL", "0"),
            ("GRANDMA_GZIP_LEVEL", "10"),
            ("GRANDMA_RATE_LIMIT_PER_IP", "0/1"),
            ("GRANDMA_TRUSTED_PROXIES", "nope"),
            ("GRANDMA_RATE_LIMIT_REDIS_URL", "http://cache:6379"),
            ("GRANDMA_RATE_LIMIT_REDIS_URL", "cache:6379"),
            // TLS to Redis is not built in (the redis crate's TLS features are off).
            ("GRANDMA_RATE_LIMIT_REDIS_URL", "rediss://cache:6380"),
            ("GRANDMA_RATE_LIMIT_REDIS_TIMEOUT_MS", "0"),
            ("GRANDMA_RATE_LIMIT_REDIS_TIMEOUT_MS", "soon"),
        ] {
            let env = |key: &str| (key == k).then(|| v.to_owned());
            assert!(HttpSettings::load(None, &env).is_err(), "{k}={v}");
        }
        let env = |key: &str| match key {
            "GRANDMA_CORS_ORIGINS" => Some("*".to_owned()),
            "GRANDMA_CORS_ALLOW_CREDENTIALS" => Some("true".to_owned()),
            _ => None,
        };
        assert!(HttpSettings::load(None, &env).is_err());
    }
}
