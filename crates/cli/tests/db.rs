//! `grandma db`, `grandma user` and `grandma serve` as a user runs them: the real binary on a
//! temp SQLite file or a uniquely named PostgreSQL database (a missing PostgreSQL fails).

#[allow(dead_code)]
mod serve_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use predicates::prelude::*;

use grandma_testkit::PgDb;
use serve_support::{Proc, free_port};

/// `grandma` with a clean environment (no settings leak in from the developer's shell).
fn grandma(data_dir: &Path) -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("grandma").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GRANDMA_DATA_DIR", data_dir)
        .current_dir(data_dir);
    cmd
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("db/grandma.db").display())
}

/// The newest migration's number and the one before it, as the store's migration folder has
/// them (`0008`, `0007`), so this test follows new migrations.
fn head_and_previous() -> (String, String) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations/sqlite");
    let mut versions: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy()[..4].to_owned())
        .collect();
    versions.sort_unstable();
    versions.dedup();
    let head = versions.pop().unwrap();
    (head, versions.pop().unwrap())
}

fn migration_round_trip(dir: &Path, url: &str) {
    let (head, previous) = head_and_previous();
    grandma(dir)
        .args(["db", "current", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::contains("none"));
    grandma(dir)
        .args(["db", "upgrade", "head", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::contains("Applied 0001").and(predicate::str::contains("(head)")));
    grandma(dir)
        .args(["db", "downgrade", "-1", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("Reverted {head}")))
        .stdout(predicate::str::contains(format!("Current: {previous}")));
    grandma(dir)
        .args(["db", "history", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::is_match(format!(r"\[x\] {previous} .*applied")).unwrap())
        .stdout(predicate::str::is_match(format!(r"\[ \] {head} .*pending")).unwrap());
    grandma(dir)
        .args(["db", "upgrade", "head", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::contains(format!("Applied {head}")));
    grandma(dir)
        .args(["db", "upgrade", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::contains("Already at head"));
    grandma(dir)
        .args(["db", "current", "--database-url", url])
        .assert()
        .success()
        .stdout(predicate::str::is_match(format!(r"Current: {head} .*\(head\)")).unwrap());
}

#[test]
fn db_migrations_round_trip_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    migration_round_trip(dir.path(), &sqlite_url(dir.path()));
}

#[test]
fn db_migrations_round_trip_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let db = PgDb::new_blocking("gcli_test");
    migration_round_trip(dir.path(), &db.url);
}

#[test]
fn db_bad_targets_and_urls_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    grandma(dir.path())
        .args(["db", "upgrade", "sideways", "--database-url", &url])
        .assert()
        .code(2);
    grandma(dir.path())
        .args(["db", "current", "--database-url", "mysql://root@h/db"])
        .assert()
        .code(2);
}

#[test]
fn db_revision_creates_files_in_both_dialect_folders() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("migrations");
    for dialect in ["sqlite", "postgres"] {
        std::fs::create_dir_all(root.join(dialect)).unwrap();
        std::fs::write(root.join(dialect).join("0001_core.up.sql"), "").unwrap();
        std::fs::write(root.join(dialect).join("0001_core.down.sql"), "").unwrap();
    }
    grandma(dir.path())
        .args(["db", "revision", "add_custom_index", "--migrations-dir"])
        .arg(&root)
        .assert()
        .success();
    for dialect in ["sqlite", "postgres"] {
        for kind in ["up", "down"] {
            let file = root
                .join(dialect)
                .join(format!("0002_add_custom_index.{kind}.sql"));
            assert!(file.exists(), "{} missing", file.display());
        }
    }
    grandma(dir.path())
        .args(["db", "revision", "Bad Name", "--migrations-dir"])
        .arg(&root)
        .assert()
        .code(2);
}

#[test]
fn db_user_create_and_list() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    // Before migrating, the command says what to do.
    grandma(dir.path())
        .args(["user", "list", "--database-url", &url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("grandma db upgrade"));
    grandma(dir.path())
        .args(["db", "upgrade", "--database-url", &url])
        .assert()
        .success();
    grandma(dir.path())
        .args([
            "user",
            "create",
            "ada@example.com",
            "--admin",
            "--password-stdin",
        ])
        .args(["--database-url", &url])
        .write_stdin("correct horse battery\n")
        .assert()
        .success()
        .stdout(predicate::str::contains("ada@example.com (admin)"));
    grandma(dir.path())
        .args([
            "user",
            "create",
            "ada@example.com",
            "--password-stdin",
            "--database-url",
            &url,
        ])
        .write_stdin("another password\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("already exists"));
    grandma(dir.path())
        .args([
            "user",
            "create",
            "bob@example.com",
            "--password-stdin",
            "--database-url",
            &url,
        ])
        .write_stdin("short\n")
        .assert()
        .code(2);
    grandma(dir.path())
        .args([
            "user",
            "create",
            "bob@example.com",
            "--role",
            "wizard",
            "--password-stdin",
        ])
        .args(["--database-url", &url])
        .write_stdin("long enough password\n")
        .assert()
        .code(2);
    grandma(dir.path())
        .args(["user", "list", "--database-url", &url])
        .assert()
        .success()
        .stdout(predicate::str::is_match(r"ada@example.com\s+admin\s+yes").unwrap())
        .stdout(predicate::str::contains("1 user(s)"));
}

/// A plain HTTP/1.1 GET; `None` while nothing listens.
fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, response))
}

#[test]
fn serve_answers_health_and_the_api() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::cargo_bin("grandma").unwrap();
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GRANDMA_DATA_DIR", dir.path().join("data"))
        .env("GRANDMA_ADMIN_EMAIL", "root@example.com")
        .env("GRANDMA_ADMIN_PASSWORD", "admin-password-1")
        .current_dir(dir.path())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let server = Proc(cmd.spawn().unwrap());

    let started = Instant::now();
    let health = loop {
        if let Some(answer) = http_get(port, "/health") {
            break answer;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "grandma serve never answered"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(health.0, 200, "{}", health.1);
    assert!(health.1.contains("healthy"), "{}", health.1);

    // The API is mounted: an unauthenticated listing is refused, not missing.
    let (status, body) = http_get(port, "/api/v1/jobs").expect("api answers");
    assert_eq!(status, 401, "{body}");
    let (status, _) = http_get(port, "/api/docs").expect("docs answer");
    assert!(
        status == 200 || status == 303 || status == 301,
        "docs status {status}"
    );

    // SIGTERM is a graceful shutdown: exit status 0, promptly.
    let mut server = server;
    server.sigterm();
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "serve did not stop on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status:?}");
    drop(server);

    // The data dir holds the SQLite database, migrated, with the initial admin.
    grandma(dir.path())
        .env("GRANDMA_DATA_DIR", dir.path().join("data"))
        .args(["user", "list"])
        .assert()
        .success()
        .stdout(predicate::str::contains("root@example.com"));
}

#[test]
fn schedule_list_shows_each_schedule_in_words() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    grandma(dir.path())
        .args(["schedule", "list", "--database-url", &url])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("grandma db upgrade head"));
    grandma(dir.path())
        .args(["db", "upgrade", "head", "--database-url", &url])
        .assert()
        .success();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let next_run = chrono::DateTime::parse_from_rfc3339("2030-01-07T06:30:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    runtime.block_on(async {
        let store = grandma_store::Store::connect(&url).await.unwrap();
        let user = store
            .create_user(&grandma_store::NewUser {
                email: grandma_store::Email::parse("sched@example.com").unwrap(),
                password_hash: "x".into(),
                role: grandma_store::Role::User,
                is_active: true,
            })
            .await
            .unwrap();
        let job = store
            .create_job(
                user.user_id,
                &grandma_store::JobIn {
                    name: "Morning prices".into(),
                    description: None,
                    config: serde_json::json!({"name": "Morning prices"}),
                    enabled: true,
                },
            )
            .await
            .unwrap();
        store
            .create_schedule(
                grandma_store::Scope::all(),
                job.job_id,
                &grandma_store::ScheduleIn {
                    cron_expression: "30 7 * * 1-5".into(),
                    timezone: "Europe/Berlin".into(),
                    enabled: true,
                    next_run: Some(next_run),
                    overlap_policy: grandma_store::OverlapPolicy::Skip,
                },
            )
            .await
            .unwrap();
        store.close().await;
    });
    let listed = grandma(dir.path())
        .args(["schedule", "list", "--database-url", &url])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let listed = String::from_utf8(listed).unwrap();
    let row = listed
        .lines()
        .find(|l| l.contains("Morning prices"))
        .unwrap_or_else(|| panic!("no row for the job:\n{listed}"));
    for want in [
        "30 7 * * 1-5",
        "Europe/Berlin",
        "yes",
        "2030-01-07 06:30 UTC",
        &grandma_shared::cron::describe("30 7 * * 1-5"),
    ] {
        assert!(row.contains(want), "{want:?} missing from {row:?}");
    }
    assert!(listed.contains("1 schedule(s)"), "{listed}");
}
