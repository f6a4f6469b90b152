//! The one configuration through its public interface: layering, every documented variable,
//! every problem at once, and secrets that never show.

use std::collections::HashMap;
use std::path::Path;

use grandma_shared::Settings;
use grandma_shared::config::{Environment, Problems, Quota, keys, settings_table};
use serde_json::{Value, json};

fn load(dir: &Path, vars: &[(&str, &str)], file: Option<&str>) -> Result<Settings, Problems> {
    let env: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let config = file.map(|text| {
        let path = dir.join("grandma.toml");
        std::fs::write(&path, text).unwrap();
        path
    });
    Settings::load_with_env(config.as_deref(), |k| env.get(k).cloned())
}

fn keys_of(problems: &Problems) -> Vec<&str> {
    problems.iter().map(|p| p.key.as_str()).collect()
}

#[test]
fn zero_configuration_is_development_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(dir.path(), &[], None).unwrap();
    assert_eq!(s.environment, Environment::Development);
    assert_eq!(s.http.bind.to_string(), "127.0.0.1:8000");
    assert_eq!(s.auth.access_token_minutes, 30);
    assert!(s.database_url().starts_with("sqlite://"));
    assert_eq!(s.rate_limit.per_ip, Quota::new(60, 10));
    // Loading wrote nothing: the development key is made at start-up only.
    assert!(
        std::fs::read_dir(dir.path())
            .unwrap()
            .all(|e| { e.unwrap().file_name() == "grandma.toml" })
    );
}

#[test]
fn the_development_key_is_generated_once_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let vars = [("GRANDMA_DATA_DIR", data.to_str().unwrap())];
    let mut first = load(dir.path(), &vars, None).unwrap();
    let key = first.ensure_secret_key().unwrap().clone();
    let mut again = load(dir.path(), &vars, None).unwrap();
    assert_eq!(again.ensure_secret_key().unwrap(), &key);
    assert!(data.join("secret.key").exists());
}

#[test]
fn environment_beats_file_beats_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(
        dir.path(),
        &[
            ("GRANDMA_ACCESS_TOKEN_MINUTES", "5"),
            ("GRANDMA_ALLOW_NETWORKS", "127.0.0.1/32, 10.0.0.1"),
            ("GRANDMA_GZIP_LEVEL", "3"),
            ("GRANDMA_WORKER_CONCURRENCY", " "),
        ],
        Some(
            "data_dir = \"/srv/grandma\"\n\
             [auth]\naccess_token_minutes = 10\n\
             [http]\nbind = \"0.0.0.0:9000\"\ngzip_level = 9\n\
             [rate_limit]\nuser = \"30/5\"\n\
             [worker]\nconcurrency = 7\n",
        ),
    )
    .unwrap();
    assert_eq!(s.auth.access_token_minutes, 5);
    assert_eq!(s.http.bind.to_string(), "0.0.0.0:9000");
    assert_eq!(s.http.gzip_level, 3);
    assert_eq!(s.rate_limit.user, Quota::new(30, 5));
    assert_eq!(s.allow_networks.len(), 2);
    // A blank variable counts as unset.
    assert_eq!(s.worker.concurrency, 7);
    assert_eq!(s.data_dir, Path::new("/srv/grandma"));
}

/// Every environment variable the README has documented keeps setting what it set.
#[test]
fn every_documented_environment_variable_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str, &str, Value)] = &[
        (
            "GRANDMA_ENVIRONMENT",
            "production",
            "/environment",
            json!("production"),
        ),
        ("GRANDMA_DATA_DIR", "/srv/g", "/data_dir", json!("/srv/g")),
        (
            "DATABASE_URL",
            "postgres://u@db/g",
            "/database_url",
            json!("postgres://u@db/g"),
        ),
        (
            "GRANDMA_DATABASE_URL",
            "postgres://u@db/h",
            "/database_url",
            json!("postgres://u@db/h"),
        ),
        (
            "SECRET_KEY",
            "0123456789abcdef0123456789abcdef-x",
            "/auth/secret_key",
            json!("0123456789abcdef0123456789abcdef-x"),
        ),
        (
            "GRANDMA_SECRET_KEY",
            "0123456789abcdef0123456789abcdef-y",
            "/auth/secret_key",
            json!("0123456789abcdef0123456789abcdef-y"),
        ),
        (
            "GRANDMA_ACCESS_TOKEN_MINUTES",
            "45",
            "/auth/access_token_minutes",
            json!(45),
        ),
        (
            "GRANDMA_BIND",
            "0.0.0.0:8123",
            "/http/bind",
            json!("0.0.0.0:8123"),
        ),
        (
            "GRANDMA_MAX_BODY_BYTES",
            "4096",
            "/http/max_body_bytes",
            json!(4096),
        ),
        (
            "GRANDMA_ALLOW_NETWORKS",
            "10.0.0.0/8",
            "/allow_networks",
            json!(["10.0.0.0/8"]),
        ),
        (
            "GRANDMA_WORKERS_ENABLED",
            "false",
            "/worker/enabled",
            json!(false),
        ),
        (
            "GRANDMA_WORKER_CONCURRENCY",
            "4",
            "/worker/concurrency",
            json!(4),
        ),
        (
            "GRANDMA_LEASE_SECONDS",
            "30",
            "/worker/lease_seconds",
            json!(30),
        ),
        (
            "GRANDMA_MAX_ATTEMPTS",
            "5",
            "/worker/max_attempts",
            json!(5),
        ),
        (
            "GRANDMA_RUN_TIME_LIMIT_SECONDS",
            "600",
            "/worker/run_time_limit_seconds",
            json!(600),
        ),
        (
            "GRANDMA_WORKER_METRICS_BIND",
            "0.0.0.0:9100",
            "/worker/metrics_bind",
            json!("0.0.0.0:9100"),
        ),
        (
            "GRANDMA_RATE_LIMIT_ENABLED",
            "off",
            "/rate_limit/enabled",
            json!(false),
        ),
        (
            "GRANDMA_RATE_LIMIT_PER_IP",
            "30/3",
            "/rate_limit/per_ip",
            json!("30/3"),
        ),
        (
            "GRANDMA_RATE_LIMIT_USER",
            "90/9",
            "/rate_limit/user",
            json!("90/9"),
        ),
        (
            "GRANDMA_RATE_LIMIT_READONLY",
            "12/2",
            "/rate_limit/readonly",
            json!("12/2"),
        ),
        (
            "GRANDMA_RATE_LIMIT_ADMIN",
            "900",
            "/rate_limit/admin",
            json!("900/150"),
        ),
        (
            "GRANDMA_RATE_LIMIT_MAX_KEYS",
            "64",
            "/rate_limit/max_keys",
            json!(64),
        ),
        (
            "GRANDMA_RATE_LIMIT_REDIS_URL",
            "redis://cache:6380/2",
            "/rate_limit/redis_url",
            json!("redis://cache:6380/2"),
        ),
        (
            "GRANDMA_RATE_LIMIT_REDIS_PREFIX",
            "app1:",
            "/rate_limit/redis_prefix",
            json!("app1:"),
        ),
        (
            "GRANDMA_RATE_LIMIT_REDIS_TIMEOUT_MS",
            "250",
            "/rate_limit/redis_timeout_ms",
            json!(250),
        ),
        (
            "GRANDMA_TRUSTED_PROXIES",
            "10.1.0.0/16",
            "/http/trusted_proxies",
            json!(["10.1.0.0/16"]),
        ),
        (
            "GRANDMA_CORS_ORIGINS",
            "https://a.example",
            "/http/cors_origins",
            json!(["https://a.example"]),
        ),
        (
            "GRANDMA_CORS_ALLOW_CREDENTIALS",
            "yes",
            "/http/cors_allow_credentials",
            json!(true),
        ),
        (
            "GRANDMA_METRICS_TOKEN",
            "scrape-me",
            "/http/metrics_token",
            json!("scrape-me"),
        ),
        ("GRANDMA_GZIP_LEVEL", "2", "/http/gzip_level", json!(2)),
        (
            "GRANDMA_GZIP_MIN_BYTES",
            "100",
            "/http/gzip_min_bytes",
            json!(100),
        ),
    ];
    for (name, value, pointer, expected) in cases {
        let mut vars = vec![(*name, *value)];
        if *name == "GRANDMA_ENVIRONMENT" {
            vars.push(("SECRET_KEY", "0123456789abcdef0123456789abcdef-z"));
        }
        let s = load(dir.path(), &vars, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let got = serde_json::to_value(&s).unwrap();
        assert_eq!(got.pointer(pointer), Some(expected), "{name}={value}");
    }
    // The admin pair goes together.
    let s = load(
        dir.path(),
        &[
            ("GRANDMA_ADMIN_EMAIL", "boss@example.com"),
            ("GRANDMA_ADMIN_PASSWORD", "12345678"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(s.auth.admin_email.as_deref(), Some("boss@example.com"));
    // A password of digits stays text.
    assert_eq!(s.auth.admin_password.unwrap().expose(), "12345678");
    // The prefixed name wins over the conventional one.
    let s = load(
        dir.path(),
        &[
            ("DATABASE_URL", "postgres://u@old/g"),
            ("GRANDMA_DATABASE_URL", "postgres://u@new/g"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(s.database_url(), "postgres://u@new/g");
}

/// Every key of the README's table is read from a TOML file: each one written with its
/// default value loads without a problem.
#[test]
fn every_documented_toml_key_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    for key in keys() {
        let pointer = format!("/{}", key.path.replace('.', "/"));
        let value = match defaults.pointer(&pointer).unwrap() {
            Value::Null => continue,
            Value::String(text) => format!("{text:?}"),
            other => other.to_string(),
        };
        let text = if key.section.is_empty() {
            format!("{} = {value}\n", key.name)
        } else {
            format!("[{}]\n{} = {value}\n", key.section, key.name)
        };
        let loaded = load(dir.path(), &[], Some(&text))
            .unwrap_or_else(|e| panic!("{}: {e}\n{text}", key.path));
        let got = serde_json::to_value(&loaded).unwrap();
        assert_eq!(got.pointer(&pointer), defaults.pointer(&pointer), "{text}");
    }
}

/// A table added to `Settings` but not to its list of sections would pass for one setting
/// whose value is a whole table: every setting is a plain value.
#[test]
fn every_table_is_a_section() {
    let defaults = serde_json::to_value(Settings::default()).unwrap();
    for key in keys() {
        let pointer = format!("/{}", key.path.replace('.', "/"));
        assert!(
            !defaults.pointer(&pointer).unwrap().is_object(),
            "{} is a table: add it to SECTIONS",
            key.path
        );
    }
}

#[test]
fn every_setting_has_its_own_environment_variable() {
    let mut seen = std::collections::BTreeSet::new();
    for key in keys() {
        assert!(!key.env.is_empty(), "{}", key.path);
        assert!(!key.doc.is_empty(), "{} has no doc comment", key.path);
        for name in &key.env {
            assert!(seen.insert(name.clone()), "{name} sets two settings");
        }
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let problems = load(
        dir.path(),
        &[
            ("GRANDMA_ENVIRONMENT", "production"),
            ("GRANDMA_LEASE_SECONDS", "soon"),
            ("GRANDMA_GZIP_LEVEL", "10"),
            ("GRANDMA_WORKER_CONCURRENCY", "0"),
            ("GRANDMA_RATE_LIMIT_PER_IP", "0/1"),
            ("GRANDMA_ADMIN_EMAIL", "not-an-address"),
        ],
        Some("[worker]\nmax_attempts = \"many\"\n[http]\nbind = 8000\n"),
    )
    .unwrap_err();
    let keys = keys_of(&problems);
    for expected in [
        "worker.lease_seconds",
        "http.gzip_level",
        "worker.concurrency",
        "rate_limit.per_ip",
        "worker.max_attempts",
        "http.bind",
        "auth.secret_key",
        "auth.admin_password",
    ] {
        assert!(
            keys.contains(&expected),
            "{expected} missing from {problems}"
        );
    }
    let text = problems.to_string();
    assert!(text.contains("GRANDMA_LEASE_SECONDS"), "{text}");
    assert!(text.contains("grandma.toml"), "{text}");
    assert!(
        text.starts_with(&format!("{} problems", problems.0.len())),
        "{text}"
    );
}

#[test]
fn unknown_keys_name_the_setting_meant() {
    let dir = tempfile::tempdir().unwrap();
    let problems = load(
        dir.path(),
        &[],
        Some(
            "worker_concurrency = 4\nbind = \"0.0.0.0:1\"\n[http]\nrate_limit_per_ip = \"5/1\"\n\
             gzip_levle = 3\n[nonsense]\nx = 1\n",
        ),
    )
    .unwrap_err();
    let text = problems.to_string();
    assert_eq!(problems.0.len(), 5, "{text}");
    assert!(
        text.contains("worker_concurrency") && text.contains("`concurrency` in `[worker]`"),
        "{text}"
    );
    assert!(text.contains("`bind` in `[http]`"), "{text}");
    assert!(text.contains("`per_ip` in `[rate_limit]`"), "{text}");
    assert!(text.contains("`gzip_level` in `[http]`"), "{text}");
    assert!(text.contains("nonsense"), "{text}");
}

#[test]
fn hostile_files_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    for text in [
        "[http\nbind = ",
        "\u{0}\u{1}",
        "worker = 5",
        "[auth]\nsecret_key = [1, 2]",
    ] {
        let problems = load(dir.path(), &[], Some(text)).unwrap_err();
        assert!(!problems.is_empty(), "{text:?}");
    }
    let missing = Settings::load_with_env(Some(&dir.path().join("nope.toml")), |_| None);
    assert!(missing.unwrap_err().to_string().contains("cannot read"));
    let huge = "x".repeat(3 * 1024 * 1024);
    let problems = load(dir.path(), &[("GRANDMA_BIND", &huge)], None).unwrap_err();
    assert_eq!(keys_of(&problems), ["http.bind"]);
    assert!(
        problems.to_string().len() < 4096,
        "the value is not echoed whole"
    );
}

#[test]
fn production_refuses_weak_or_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let prod = ("GRANDMA_ENVIRONMENT", "production");
    let err = load(dir.path(), &[prod], None).unwrap_err();
    assert_eq!(keys_of(&err), ["auth.secret_key"]);
    for weak in ["changeme", "short", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"] {
        let err = load(dir.path(), &[prod, ("SECRET_KEY", weak)], None).unwrap_err();
        assert_eq!(keys_of(&err), ["auth.secret_key"], "{weak}");
        assert!(!err.to_string().contains(weak), "the key is never echoed");
    }
    let strong = "0123456789abcdef0123456789abcdef-strong";
    let s = load(dir.path(), &[prod, ("SECRET_KEY", strong)], None).unwrap();
    assert_eq!(s.auth.secret_key.unwrap().expose(), strong);
}

#[test]
fn redis_and_cors_rules() {
    let dir = tempfile::tempdir().unwrap();
    for (k, v) in [
        ("GRANDMA_RATE_LIMIT_REDIS_URL", "http://cache:6379"),
        ("GRANDMA_RATE_LIMIT_REDIS_URL", "cache:6379"),
        ("GRANDMA_RATE_LIMIT_REDIS_URL", "rediss://cache:6380"),
        (
            "GRANDMA_RATE_LIMIT_REDIS_URL",
            "redis://:pw@cache/notanumber",
        ),
        ("GRANDMA_RATE_LIMIT_REDIS_TIMEOUT_MS", "0"),
        ("GRANDMA_TRUSTED_PROXIES", "nope"),
        ("GRANDMA_CORS_ORIGINS", "not an origin"),
    ] {
        let err = load(dir.path(), &[(k, v)], None).unwrap_err();
        assert!(!err.to_string().contains("pw@"), "{err}");
    }
    let err = load(
        dir.path(),
        &[
            ("GRANDMA_CORS_ORIGINS", "*"),
            ("GRANDMA_CORS_ALLOW_CREDENTIALS", "true"),
        ],
        None,
    )
    .unwrap_err();
    assert_eq!(keys_of(&err), ["http.cors_allow_credentials"]);
}

#[test]
fn debug_and_summary_hide_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let s = load(
        dir.path(),
        &[
            ("SECRET_KEY", "super-secret-signing-key-0123456789"),
            ("DATABASE_URL", "postgres://app:hunter2@db/grandma"),
            ("GRANDMA_ADMIN_EMAIL", "a@example.com"),
            ("GRANDMA_ADMIN_PASSWORD", "admin-password-1"),
            ("GRANDMA_RATE_LIMIT_REDIS_URL", "redis://:redis-pw@cache/0"),
            ("GRANDMA_METRICS_TOKEN", "metrics-token-1"),
        ],
        None,
    )
    .unwrap();
    let text = format!("{s:?}\n{}", s.summary().join("\n"));
    for secret in [
        "super-secret-signing-key",
        "hunter2",
        "admin-password-1",
        "redis-pw",
        "metrics-token-1",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
}

/// The README's settings table is the declarations' own: a setting added without its row,
/// or a row left for a setting that is gone, fails here.
#[test]
fn the_readme_documents_every_setting() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("README.md at the repository root");
    let table = settings_table();
    assert!(
        readme.contains(&table),
        "the README's settings table differs from the settings; replace it with:\n\n{table}"
    );
    // And no other row in the README names a `GRANDMA_` variable that no setting reads.
    let known: Vec<String> = keys().into_iter().flat_map(|k| k.env).collect();
    for line in readme.lines().filter(|l| l.starts_with("| `")) {
        for name in line
            .split('`')
            .filter(|w| w.starts_with("GRANDMA_") && !w.contains(' '))
        {
            let allowed = known.iter().any(|k| k == name)
                || ["GRANDMA_LOG", "GRANDMA_LOG_FORMAT"].contains(&name);
            assert!(
                allowed,
                "the README documents {name}, which no setting reads"
            );
        }
    }
}

/// A quota of zero would refuse every job or run of every organization: each limit is at
/// least one, and a file can raise them.
#[test]
fn quotas_are_positive() {
    let dir = tempfile::tempdir().unwrap();
    let problems = load(
        dir.path(),
        &[("GRANDMA_QUOTAS_MAX_JOBS", "0")],
        Some("[quotas]\nmax_runs_per_day = 0\nmax_concurrent_runs = 0\nmax_stored_items = 0\nmax_schedules = 0\n"),
    )
    .unwrap_err();
    let mut keys = keys_of(&problems);
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "quotas.max_concurrent_runs",
            "quotas.max_jobs",
            "quotas.max_runs_per_day",
            "quotas.max_schedules",
            "quotas.max_stored_items",
        ],
        "{problems}"
    );
    assert!(
        problems.to_string().contains("must be at least 1, not 0"),
        "{problems}"
    );
    let s = load(
        dir.path(),
        &[("GRANDMA_QUOTAS_MAX_CONCURRENT_RUNS", "3")],
        Some("[quotas]\nmax_stored_items = 20000000000\n"),
    )
    .unwrap();
    assert_eq!(s.quotas.max_concurrent_runs, 3);
    assert_eq!(s.quotas.max_stored_items, 20_000_000_000);
    assert_eq!(s.quotas.max_jobs, 1000);
}
