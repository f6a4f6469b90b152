//! `grandma config check`: every problem of a deployment's settings at once, or a summary;
//! nothing started, nothing written.

use assert_cmd::Command;
use predicates::prelude::*;

fn grandma(dir: &std::path::Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GRANDMA_DATA_DIR", dir.join("data"))
        .current_dir(dir);
    cmd
}

#[test]
fn valid_settings_print_a_summary_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grandma.toml"),
        "[http]\nbind = \"0.0.0.0:9000\"\n[worker]\nconcurrency = 4\n",
    )
    .unwrap();
    grandma(dir.path())
        .args(["config", "check", "--config", "grandma.toml"])
        .env("DATABASE_URL", "postgres://app:hunter2@db/grandma")
        .assert()
        .success()
        .stdout(predicate::str::contains("http://0.0.0.0:9000"))
        .stdout(predicate::str::contains("concurrency 4"))
        .stdout(predicate::str::contains("hunter2").not());
    assert!(
        !dir.path().join("data").exists(),
        "config check wrote the data dir"
    );
}

#[test]
fn every_problem_is_listed_and_the_exit_code_is_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("grandma.toml"),
        "worker_concurrency = 4\n[http]\ngzip_level = 12\n",
    )
    .unwrap();
    grandma(dir.path())
        .args(["config", "check", "--config", "grandma.toml"])
        .env("GRANDMA_ENVIRONMENT", "production")
        .env("GRANDMA_LEASE_SECONDS", "soon")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("4 problems"))
        .stderr(predicate::str::contains("`concurrency` in `[worker]`"))
        .stderr(predicate::str::contains("http.gzip_level"))
        .stderr(predicate::str::contains("GRANDMA_LEASE_SECONDS"))
        .stderr(predicate::str::contains("auth.secret_key"));
    grandma(dir.path())
        .args(["config", "check", "--config", "missing.toml"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("cannot read the config file"));
}

#[test]
fn serve_refuses_to_start_on_bad_settings() {
    let dir = tempfile::tempdir().unwrap();
    grandma(dir.path())
        .args(["serve"])
        .env("GRANDMA_WORKER_CONCURRENCY", "0")
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("worker.concurrency"));
}
