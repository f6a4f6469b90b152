//! The rules values must follow beyond their type: ranges, and settings that only make sense
//! together. Each rule adds a problem and moves on, so one pass reports all of them.

use std::ops::RangeInclusive;

use super::problems::{Problem, Problems};
use super::secret::is_weak_secret;
use super::sections::Settings;
use super::values::Environment;

/// Collects the problems of one settings value.
struct Checker<'a, F> {
    problems: &'a mut Problems,
    origin: &'a F,
}

impl<F: Fn(&str) -> String> Checker<'_, F> {
    fn fail(&mut self, key: &str, message: impl Into<String>) {
        self.problems
            .push(Problem::new(key, &(self.origin)(key), message));
    }

    fn range<T: PartialOrd + std::fmt::Display>(
        &mut self,
        key: &str,
        value: T,
        range: RangeInclusive<T>,
    ) {
        if !range.contains(&value) {
            let message = format!(
                "must be between {} and {}, not {value}",
                range.start(),
                range.end()
            );
            self.fail(key, message);
        }
    }

    fn at_least<T: PartialOrd + std::fmt::Display>(&mut self, key: &str, value: T, min: T) {
        if value < min {
            self.fail(key, format!("must be at least {min}, not {value}"));
        }
    }
}

impl Settings {
    /// Adds every rule broken by these settings to `problems`; `origin` names where a key's
    /// value came from.
    pub(crate) fn check(&self, problems: &mut Problems, origin: &impl Fn(&str) -> String) {
        let mut c = Checker { problems, origin };
        if let Some(url) = &self.database_url {
            let url = url.expose();
            if !(url.starts_with("sqlite:")
                || url.starts_with("postgres://")
                || url.starts_with("postgresql://"))
            {
                c.fail(
                    "database_url",
                    "expected sqlite://PATH or postgres://USER@HOST/DATABASE",
                );
            }
        }
        self.check_auth(&mut c);
        let http = &self.http;
        c.at_least("http.max_body_bytes", http.max_body_bytes, 1024);
        c.range("http.gzip_level", http.gzip_level, 1..=9);
        c.range(
            "http.websocket_recheck_seconds",
            http.websocket_recheck_seconds,
            1..=3600,
        );
        for origin in http.cors_origins.iter() {
            let printable = origin
                .bytes()
                .all(|b| b == b'\t' || (0x20..0x7f).contains(&b));
            if origin != "*" && (!printable || !origin.contains("://")) {
                c.fail(
                    "http.cors_origins",
                    format!("{origin:?} is not an origin (expected https://app.example)"),
                );
            }
        }
        if http.cors_allow_credentials && http.cors_origins.iter().any(|o| o == "*") {
            c.fail(
                "http.cors_allow_credentials",
                "credentials need explicit origins in cors_origins, not `*`",
            );
        }
        let rl = &self.rate_limit;
        c.at_least("rate_limit.max_keys", rl.max_keys, 16);
        c.range(
            "rate_limit.redis_timeout_ms",
            rl.redis_timeout_ms,
            1..=10_000,
        );
        if let Some(url) = &rl.redis_url
            && let Err(message) = check_redis_url(url.expose())
        {
            c.fail("rate_limit.redis_url", message);
        }
        let worker = &self.worker;
        c.range("worker.concurrency", worker.concurrency, 1..=64);
        c.range("worker.lease_seconds", worker.lease_seconds, 5..=3600);
        c.range("worker.max_attempts", worker.max_attempts, 1..=1000);
        if let Some(url) = &worker.redis_url
            && let Err(message) = check_redis_url(url.expose())
        {
            c.fail("worker.redis_url", message);
        }
        if let Some(keep) = worker.keep_runs {
            c.range("worker.keep_runs", keep, 1..=100_000);
        }
        if let Some(limit) = worker.run_time_limit_seconds {
            c.range("worker.run_time_limit_seconds", limit, 1..=604_800);
        }
        c.range(
            "worker.poll_interval_ms",
            worker.poll_interval_ms,
            50..=60_000,
        );
        let hooks = &self.webhooks;
        c.range(
            "webhooks.poll_interval_ms",
            hooks.poll_interval_ms,
            10..=60_000,
        );
        c.range("webhooks.timeout_seconds", hooks.timeout_seconds, 1..=120);
        c.at_least("webhooks.disable_after", hooks.disable_after, 1);
        c.range(
            "scheduler.poll_interval_seconds",
            self.scheduler.poll_interval_seconds,
            1..=3600,
        );
        c.range(
            "backup.interval_minutes",
            self.backup.interval_minutes,
            1..=525_600,
        );
        c.at_least("backup.keep", self.backup.keep, 1);
        let snapshots = &self.snapshots;
        c.range("snapshots.ttl_minutes", snapshots.ttl_minutes, 1..=10_080);
        c.range(
            "snapshots.max_bytes",
            snapshots.max_bytes,
            65_536..=64 * 1024 * 1024,
        );
        c.range("snapshots.per_user", snapshots.per_user, 1..=1000);
        c.at_least(
            "snapshots.user_bytes",
            snapshots.user_bytes,
            snapshots.max_bytes,
        );
        let quotas = &self.quotas;
        c.at_least("quotas.max_jobs", quotas.max_jobs, 1);
        c.at_least("quotas.max_runs_per_day", quotas.max_runs_per_day, 1);
        c.at_least("quotas.max_concurrent_runs", quotas.max_concurrent_runs, 1);
        c.at_least("quotas.max_stored_items", quotas.max_stored_items, 1);
        c.at_least("quotas.max_schedules", quotas.max_schedules, 1);
        let browser = &self.browser;
        if let Some(tabs) = browser.tabs {
            c.range("browser.tabs", tabs, 1..=64);
        }
        c.at_least("browser.max_dom_nodes", browser.max_dom_nodes, 1000);
        c.at_least("browser.max_page_bytes", browser.max_page_bytes, 65_536);
        // A browser named explicitly must be one; a missing default browser is not a
        // settings problem (only jobs that need it fail, and `/health` says so).
        if let Some(path) = &browser.chromium
            && let Err(missing) = grandma_engine::fetch::browser::locate_chromium(Some(path))
        {
            c.fail("browser.chromium", missing.to_string());
        }
    }

    fn check_auth(&self, c: &mut Checker<'_, impl Fn(&str) -> String>) {
        let auth = &self.auth;
        c.range(
            "auth.access_token_minutes",
            auth.access_token_minutes,
            1..=43_200,
        );
        c.range("web.session_hours", self.web.session_hours, 1..=8_760);
        c.range(
            "orgs.invitation_ttl_hours",
            self.orgs.invitation_ttl_hours,
            1..=8_760,
        );
        let key = auth.secret_key.as_ref().map(|k| k.expose());
        if self.environment == Environment::Production && key.is_none_or(is_weak_secret) {
            c.fail(
                "auth.secret_key",
                format!(
                    "missing or weak: production needs at least {} bytes with some variety that \
                     are not a well-known default (generate one with `openssl rand -hex 32`)",
                    super::secret::MIN_SECRET_BYTES
                ),
            );
        }
        let email = auth.admin_email.as_deref().filter(|e| !e.trim().is_empty());
        let password = auth
            .admin_password
            .as_ref()
            .filter(|p| !p.expose().is_empty());
        match (email, password) {
            (Some(email), Some(password)) => {
                if let Err(e) = grandma_store::Email::parse(email) {
                    c.fail("auth.admin_email", e.to_string());
                }
                if let Err(problem) = crate::accounts::check_password(password.expose()) {
                    c.fail("auth.admin_password", problem);
                }
            }
            (None, None) => {}
            (Some(_), None) => c.fail(
                "auth.admin_password",
                "the first admin needs a password too (GRANDMA_ADMIN_PASSWORD)",
            ),
            (None, Some(_)) => c.fail(
                "auth.admin_email",
                "the first admin needs an e-mail address too (GRANDMA_ADMIN_EMAIL)",
            ),
        }
    }
}

/// `redis://[user:password@]host[:port][/db]` or `redis+unix:///path`. The message never
/// repeats the URL: it may hold a password. TLS (`rediss://`) is not built in.
fn check_redis_url(text: &str) -> Result<(), String> {
    const EXPECTED: &str = "expected redis://[user:password@]host[:port][/db] (TLS, rediss://, \
                            is not supported: keep Redis on the nodes' private network)";
    let url = url::Url::parse(text).map_err(|_| EXPECTED.to_owned())?;
    match url.scheme() {
        "redis" if url.host_str().is_some_and(|h| !h.is_empty()) => {}
        "redis+unix" if !url.path().is_empty() => {}
        _ => return Err(EXPECTED.to_owned()),
    }
    let db = url.path().trim_start_matches('/');
    if url.scheme() == "redis" && !db.is_empty() && db.parse::<u32>().is_err() {
        return Err(format!(
            "the database after the host must be a number; {EXPECTED}"
        ));
    }
    Ok(())
}
