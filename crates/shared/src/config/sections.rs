//! The settings tables. Adding a setting is one line and its doc comment here (and a row in
//! the README's table, which a test compares with these declarations); checks of its range go
//! in `validate.rs`.

use std::net::SocketAddr;
use std::path::PathBuf;

use grandma_store::Secret;
use ipnet::IpNet;

use super::section::settings_section;
use super::values::{Environment, List, Quota};

settings_section! {
    /// Every setting of every process: a few top-level keys, then one table per part.
    pub struct Settings {
        /// `development` or `production`; production refuses a missing or weak signing key
        pub environment: Environment = Environment::Development,
        /// Holds the SQLite database and, in development, the generated signing key
        pub data_dir: PathBuf = PathBuf::from("./grandma-data"),
        /// `postgres://…` for several workers or servers; none: SQLite in `data_dir`
        #[env("GRANDMA_DATABASE_URL", "DATABASE_URL")]
        pub database_url: Option<Secret> = None,
        /// Private networks the server may fetch from (`10.0.0.0/8,127.0.0.1/32`); none: it
        /// never fetches private addresses
        pub allow_networks: List<IpNet> = List::default(),
        /// Access tokens and the first admin
        pub auth: AuthSettings = AuthSettings::default(),
        /// The API's listener and middleware
        pub http: HttpSettings = HttpSettings::default(),
        /// Token buckets per client IP and per user role
        pub rate_limit: RateLimitSettings = RateLimitSettings::default(),
        /// The run workers
        pub worker: WorkerSettings = WorkerSettings::default(),
        /// The webhook dispatcher
        pub webhooks: WebhookSettings = WebhookSettings::default(),
        /// The cron scheduler
        pub scheduler: SchedulerSettings = SchedulerSettings::default(),
        /// Headless Chromium, for jobs whose pages are built by JavaScript
        pub browser: BrowserSettings = BrowserSettings::default(),
        /// Scheduled backups of the whole database
        pub backup: BackupSettings = BackupSettings::default(),
        /// The web app's sessions
        pub web: WebSettings = WebSettings::default(),
        /// Sanitized copies of pages that the web app's picker shows
        pub snapshots: SnapshotSettings = SnapshotSettings::default(),
        /// What one organization may hold and run; an instance admin overrides them per
        /// organization
        pub quotas: QuotaSettings = QuotaSettings::default(),
        /// Organizations and their invitations
        pub orgs: OrgSettings = OrgSettings::default(),
    }
}

settings_section! {
    /// `[auth]`: access tokens and the first admin.
    pub struct AuthSettings {
        /// JWT signing key, at least 32 varied bytes; none: generated into `data_dir`
        /// (development only)
        #[env("GRANDMA_SECRET_KEY", "SECRET_KEY")]
        pub secret_key: Option<Secret> = None,
        /// Lifetime of an access token, 1–43200
        pub access_token_minutes: u32 = 30,
        /// The first admin, created at start if there is no admin (with `admin_password`)
        pub admin_email: Option<String> = None,
        /// The first admin's password, at least 8 characters
        pub admin_password: Option<Secret> = None,
    }
}

settings_section! {
    /// `[http]`: where the API listens and what its middleware does.
    pub struct HttpSettings {
        /// Where the API listens
        pub bind: SocketAddr = SocketAddr::from(([127, 0, 0, 1], 8000)),
        /// Largest accepted request body, at least 1024
        pub max_body_bytes: usize = 1024 * 1024,
        /// gzip level, 1–9
        pub gzip_level: u32 = 6,
        /// Smallest response body compressed
        pub gzip_min_bytes: u16 = 500,
        /// Browser origins allowed by CORS; `*` for any (without credentials)
        pub cors_origins: List<String> = List::default(),
        /// Whether CORS requests may carry credentials (explicit origins only)
        pub cors_allow_credentials: bool = false,
        /// Networks whose `X-Forwarded-For` is believed
        pub trusted_proxies: List<IpNet> = List::default(),
        /// Bearer token required on `/metrics`
        pub metrics_token: Option<Secret> = None,
        /// How often an open WebSocket checks that its caller may still follow it, in
        /// seconds, 1–3600
        pub websocket_recheck_seconds: u32 = 15,
    }
}

settings_section! {
    /// `[rate_limit]`: token buckets written `PER_MINUTE/BURST`.
    pub struct RateLimitSettings {
        /// `false` turns the rate limits off
        pub enabled: bool = true,
        /// Bucket of each client IP
        pub per_ip: Quota = Quota::new(60, 10),
        /// Bucket of each admin
        pub admin: Quota = Quota::new(600, 100),
        /// Bucket of each user
        pub user: Quota = Quota::new(120, 20),
        /// Bucket of each read-only user
        pub readonly: Quota = Quota::new(60, 10),
        /// Most IPs and users remembered at once, at least 16; idle ones are forgotten first
        pub max_keys: usize = 100_000,
        /// `redis://…`: API nodes share their buckets (local buckets answer while Redis fails)
        pub redis_url: Option<Secret> = None,
        /// Prefix of the bucket keys in Redis
        pub redis_prefix: String = "grandma:rl:".to_owned(),
        /// Longest wait for Redis before the local buckets answer, 1–10000
        pub redis_timeout_ms: u64 = 100,
    }
}

settings_section! {
    /// `[worker]`: the processes that run jobs.
    pub struct WorkerSettings {
        /// Whether `grandma serve` runs workers in its own process (`--no-worker` turns them
        /// off)
        #[env("GRANDMA_WORKERS_ENABLED")]
        pub enabled: bool = true,
        /// Runs a process crawls at once, 1–64
        pub concurrency: usize = 2,
        /// How long a worker's claim on a run lasts without a heartbeat, 5–3600
        #[env("GRANDMA_LEASE_SECONDS")]
        pub lease_seconds: u64 = 15,
        /// Claims of a run whose worker died before the run is failed, 1–1000
        #[env("GRANDMA_MAX_ATTEMPTS")]
        pub max_attempts: u32 = 3,
        /// Time limit of runs whose job sets no `time_limit_seconds`, 1–604800
        #[env("GRANDMA_RUN_TIME_LIMIT_SECONDS")]
        pub run_time_limit_seconds: Option<u64> = None,
        /// How often an idle worker looks for runs queued by other processes, 50–60000
        pub poll_interval_ms: u64 = 1000,
        /// Where a `grandma worker` process serves its own `/metrics`
        pub metrics_bind: Option<SocketAddr> = None,
        /// `redis://…`: workers share each site's request slots and robots.txt through Redis;
        /// none: through PostgreSQL when the database is, else each process keeps its own
        pub redis_url: Option<Secret> = None,
        /// Prefix of the politeness keys in Redis
        pub redis_prefix: String = "grandma:polite:".to_owned(),
        /// Completed runs per job whose items are kept, 1–100000 (older runs keep their counts); none: all
        #[env("GRANDMA_KEEP_RUNS")]
        pub keep_runs: Option<u32> = None,
        /// Repeat runs send the last run's `ETag`/`Last-Modified` (plain HTTP) and reuse a page's stored items when the site answers 304
        pub conditional_requests: bool = true,
    }
}

settings_section! {
    /// `[webhooks]`: the dispatcher that delivers queued webhooks.
    pub struct WebhookSettings {
        /// Whether processes with workers also deliver webhooks
        pub enabled: bool = true,
        /// How often the outbox is read when no run event woke the dispatcher, 10–60000
        pub poll_interval_ms: u64 = 250,
        /// Time limit of one delivery attempt, 1–120
        pub timeout_seconds: u64 = 10,
        /// Deliveries failed for good in a row after which a webhook is disabled, at least 1
        pub disable_after: i32 = 20,
    }
}

settings_section! {
    /// `[scheduler]`: cron schedules turned into runs.
    pub struct SchedulerSettings {
        /// Whether processes with workers also fire schedules
        pub enabled: bool = true,
        /// How often due schedules are read, 1–3600
        pub poll_interval_seconds: u64 = 5,
    }
}

settings_section! {
    /// `[browser]`: the headless Chromium that renders pages built by JavaScript. One browser
    /// process serves every run of a process; it starts when a page first needs it.
    pub struct BrowserSettings {
        /// The Chromium binary; none: /usr/bin/chromium, /usr/bin/chromium-browser, then the `PATH`
        #[env("GRANDMA_CHROMIUM")]
        pub chromium: Option<PathBuf> = None,
        /// Tabs open at once across every run of the process, 1–64; none: two per core, as
        /// many as memory allows at 256 MiB each, at most 16
        pub tabs: Option<usize> = None,
        /// Elements a rendered page may have before it fails as too large, at least 1000
        pub max_dom_nodes: u64 = 500_000,
        /// Bytes a page may load, itself and everything it pulls in, at least 65536
        pub max_page_bytes: u64 = 50 * 1024 * 1024,
    }
}

settings_section! {
    /// `[backup]`: archives of the whole database written on a timer (the same archives as
    /// `grandma backup create`) by the processes that run the scheduler.
    pub struct BackupSettings {
        /// Whether processes with the scheduler write scheduled backups
        pub enabled: bool = false,
        /// Minutes between two backups, 1–525600; the first is written at start when the
        /// newest archive in `directory` is older than this
        pub interval_minutes: u64 = 1440,
        /// Where archives are written; none: `backups` in `data_dir`
        pub directory: Option<PathBuf> = None,
        /// Archives kept in `directory` (older ones are deleted after each backup), at least 1
        pub keep: usize = 7,
    }
}

impl BackupSettings {
    /// The folder archives go to.
    pub fn directory_in(&self, data_dir: &std::path::Path) -> PathBuf {
        match &self.directory {
            Some(dir) => dir.clone(),
            None => data_dir.join("backups"),
        }
    }
}

settings_section! {
    /// `[web]`: the web app's sign-in sessions.
    pub struct WebSettings {
        /// How long a web sign-in lasts, in hours, 1–8760
        pub session_hours: u32 = 336,
        /// `true`: session cookies are marked `Secure`; `false`: never; none: when the request
        /// came over HTTPS (`X-Forwarded-Proto: https` from a trusted proxy)
        pub secure_cookies: Option<bool> = None,
    }
}

settings_section! {
    /// `[snapshots]`: the sanitized copies of pages a person picks items on. Each belongs to
    /// the user who asked for it and is deleted when it expires or when newer ones need room.
    pub struct SnapshotSettings {
        /// Minutes a snapshot is kept, 1–10080
        pub ttl_minutes: u32 = 240,
        /// Bytes one sanitized snapshot may have, 65536–67108864
        pub max_bytes: u64 = 8 * 1024 * 1024,
        /// Snapshots one user keeps at once (the oldest go first), 1–1000
        pub per_user: u32 = 20,
        /// Bytes of snapshots one user keeps at once (the oldest go first), at least `max_bytes`
        pub user_bytes: u64 = 64 * 1024 * 1024,
    }
}

settings_section! {
    /// `[quotas]`: the limits of every organization whose own limit an instance admin has not
    /// set. They are checked when a job, run or schedule is created, so lowering one never
    /// deletes anything: an organization over a limit only stops growing.
    pub struct QuotaSettings {
        /// Jobs one organization may have, at least 1
        pub max_jobs: u32 = 1000,
        /// Runs one organization may queue in any 24 hours (by hand, by API or by schedule),
        /// at least 1
        pub max_runs_per_day: u32 = 5000,
        /// Runs of one organization that workers crawl at once (more wait in the queue), at
        /// least 1
        pub max_concurrent_runs: u32 = 10,
        /// Items one organization's runs may hold in the database (no new run is queued
        /// beyond), at least 1
        pub max_stored_items: u64 = 10_000_000,
        /// Schedules one organization may have, at least 1
        pub max_schedules: u32 = 200,
    }
}

impl QuotaSettings {
    /// The limits of an organization that overrides none of them.
    pub fn limits(&self) -> grandma_store::QuotaLimits {
        let wide = |n: u32| i64::from(n);
        grandma_store::QuotaLimits {
            max_jobs: wide(self.max_jobs),
            max_runs_per_day: wide(self.max_runs_per_day),
            max_concurrent_runs: wide(self.max_concurrent_runs),
            // Beyond i64 is beyond any database: the same as no limit.
            max_stored_items: i64::try_from(self.max_stored_items).unwrap_or(i64::MAX),
            max_schedules: wide(self.max_schedules),
        }
    }
}

settings_section! {
    /// `[orgs]`: organizations and the invitations that let people join them.
    pub struct OrgSettings {
        /// Hours an invitation can be accepted after it is made, 1–8760
        pub invitation_ttl_hours: u32 = 168,
    }
}

/// The tables of [`Settings`] (the top level first, as `""`) and the prefix of their
/// environment variables: `GRANDMA_` + prefix + key, upper-cased, unless a field names its
/// own. The API's tables keep the short names operators already use (`GRANDMA_BIND`).
pub(crate) const SECTIONS: &[(&str, &str, &[super::section::Field])] = {
    use super::section::Section;
    &[
        ("", "", Settings::FIELDS),
        ("auth", "", AuthSettings::FIELDS),
        ("http", "", HttpSettings::FIELDS),
        ("rate_limit", "RATE_LIMIT_", RateLimitSettings::FIELDS),
        ("worker", "WORKER_", WorkerSettings::FIELDS),
        ("webhooks", "WEBHOOKS_", WebhookSettings::FIELDS),
        ("scheduler", "SCHEDULER_", SchedulerSettings::FIELDS),
        ("browser", "BROWSER_", BrowserSettings::FIELDS),
        ("backup", "BACKUP_", BackupSettings::FIELDS),
        ("web", "WEB_", WebSettings::FIELDS),
        ("snapshots", "SNAPSHOTS_", SnapshotSettings::FIELDS),
        ("quotas", "QUOTAS_", QuotaSettings::FIELDS),
        ("orgs", "ORGS_", OrgSettings::FIELDS),
    ]
};
