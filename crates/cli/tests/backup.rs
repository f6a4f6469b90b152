//! `grandma backup` as an operator runs it: an archive taken while the server serves, restored
//! into PostgreSQL, serves the same answers; a `create` killed with SIGKILL leaves no archive
//! that looks whole; scheduled backups write archives, prune old ones and set their gauge.

#[allow(dead_code)]
mod serve_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use grandma_store::{FieldValue, Item, RunCounters, RunOutcome, RunStatus, Store};
use grandma_testkit::PgDb;
use serde_json::{Value, json};
use serve_support::store::{create_user, migrated_store, queue};
use serve_support::{Proc, Serve, call, client, free_port, poll};

const SECRET: &str = "test-signing-key-0123456789abcdef";

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("grandma.db").display())
}

/// `grandma backup ARGS` with a clean environment.
fn backup(data_dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
    cmd.arg("backup")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GRANDMA_DATA_DIR", data_dir)
        .stdin(Stdio::null());
    cmd
}

/// Finished archives in `dir` (hidden temporary files excluded).
fn archives(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|e| e.unwrap().path())
                .filter(|p| {
                    let name = p.file_name().unwrap().to_str().unwrap();
                    name.starts_with("grandma-backup-") && name.ends_with(".tar")
                })
                .collect()
        })
        .unwrap_or_default();
    found.sort();
    found
}

/// Where `serve` keeps what a server in `data_dir` logged, so a failure can show it.
fn serve_log_path(data_dir: &Path) -> PathBuf {
    data_dir.join("serve.log")
}

/// What the servers in `data_dir` have logged so far.
fn serve_log(data_dir: &Path) -> String {
    std::fs::read_to_string(serve_log_path(data_dir))
        .unwrap_or_else(|e| format!("(no server log: {e})"))
}

/// A `grandma serve` on `database_url` without in-process workers (the test plays the worker).
/// Its log (at `info`, so the backups it writes are named) goes to `serve_log_path(data_dir)`.
async fn serve(database_url: &str, data_dir: &Path, extra: &[(&str, &str)]) -> Serve {
    // A file rather than a pipe: a chatty server can never block on it.
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(serve_log_path(data_dir))
        .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_grandma"));
    cmd.arg("serve")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GRANDMA_DATABASE_URL", database_url)
        .env("GRANDMA_DATA_DIR", data_dir)
        .env("GRANDMA_SECRET_KEY", SECRET)
        .env("GRANDMA_BIND", format!("127.0.0.1:{}", free_port()))
        .env("GRANDMA_WORKERS_ENABLED", "false")
        .env("GRANDMA_RATE_LIMIT_ENABLED", "false")
        .env("GRANDMA_LOG", "info")
        .stdin(Stdio::null())
        .stderr(log);
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let server = Serve::start(cmd, || serve_log(data_dir)).await;
    server.ready().await;
    server
}

/// What a client reads back: the same token must get the same answers from any copy.
async fn reads(base: &str, bearer: &str, job_id: &str, run_id: &str) -> Vec<Value> {
    let api = format!("{base}/api/v1");
    let c = client();
    let mut answers = Vec::new();
    for path in [
        "/jobs/".to_owned(),
        format!("/jobs/{job_id}"),
        format!("/jobs/{job_id}/schedules"),
        "/results/".to_owned(),
        format!("/results/{run_id}"),
        format!("/results/{run_id}/items?limit=100"),
        "/webhooks".to_owned(),
    ] {
        answers.push(
            call(
                c.get(format!("{api}{path}"))
                    .header("authorization", bearer),
                200,
            )
            .await,
        );
    }
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_into_postgres_with_the_same_answers() {
    let source_dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(source_dir.path());
    let server = serve(&url, source_dir.path(), &[]).await;
    let api = format!("{}/api/v1", server.base);
    let c = client();
    call(
        c.post(format!("{api}/auth/register"))
            .header("content-type", "application/json")
            .body(
                json!({"email": "grandma@example.com", "password": "knitting-needles"}).to_string(),
            ),
        201,
    )
    .await;
    let token = call(
        c.post(format!("{api}/auth/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body("username=grandma%40example.com&password=knitting-needles"),
        200,
    )
    .await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let bearer = format!("Bearer {token}");
    let job = call(
        c.post(format!("{api}/jobs/"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(
                json!({"config": {
                    "name": "books",
                    "start_url": "https://example.com/",
                    "item_selector": ".book",
                    "fields": [{"name": "title", "selector": "h2"}, {"name": "tags", "selector": ".tag"}]
                }})
                .to_string(),
            ),
        201,
    )
    .await;
    let job_id = job["id"].as_str().unwrap().to_owned();
    call(
        c.post(format!("{api}/jobs/{job_id}/schedules"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(json!({"cron_expression": "0 6 * * 1", "timezone": "Europe/Paris"}).to_string()),
        201,
    )
    .await;
    call(
        c.post(format!("{api}/webhooks"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(json!({"name": "done", "url": "https://hooks.example.com/x", "events": ["job.completed"]}).to_string()),
        201,
    )
    .await;
    let run = call(
        c.post(format!("{api}/jobs/{job_id}/run"))
            .header("authorization", &bearer),
        202,
    )
    .await;
    let run_id = run["id"]
        .as_str()
        .or(run["result_id"].as_str())
        .unwrap()
        .to_owned();
    // The test is the worker: it stores a page of items and ends the run.
    let store = Store::connect(&url).await.unwrap();
    let claimed = store
        .claim_run("test-worker", Duration::from_secs(60), 3)
        .await
        .unwrap()
        .expect("the queued run");
    let items: Vec<Item> = (0..40)
        .map(|i| {
            Item::new(vec![
                FieldValue::Text(format!("Book {i} – «ü»")),
                FieldValue::List(vec!["x".into()]),
            ])
        })
        .collect();
    let counters = RunCounters {
        pages_scraped: 1,
        items_dropped: 0,
    };
    store
        .save_page(
            claimed.run.result_id,
            "test-worker",
            1,
            &items,
            counters,
            None,
        )
        .await
        .unwrap();
    let outcome = RunOutcome {
        status: RunStatus::Completed,
        error_message: None,
        error_details: None,
        warnings: vec![],
        duration_seconds: 2.5,
        webhook_payload: Some(json!({"event": "job.completed"})),
        quality: None,
        changes_payload: None,
        keep_runs: None,
    };
    store
        .finish_run(claimed.run.result_id, "test-worker", &outcome)
        .await
        .unwrap();
    store.close().await;
    let before = reads(&server.base, &bearer, &job_id, &run_id).await;
    assert_eq!(
        before[5]["items"].as_array().map(Vec::len),
        Some(40),
        "{}",
        before[5]
    );

    // Taken while the server is up.
    let out = tempfile::tempdir().unwrap();
    let made = backup(
        source_dir.path(),
        &[
            "create",
            "--to",
            out.path().to_str().unwrap(),
            "--database-url",
            &url,
        ],
    )
    .output()
    .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let stdout = String::from_utf8_lossy(&made.stdout);
    assert!(
        stdout.contains("item") && stdout.contains("40 rows"),
        "{stdout}"
    );
    let archive = archives(out.path()).pop().expect("an archive");
    drop(server);

    let verified = backup(source_dir.path(), &["verify", archive.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).contains("is a whole backup"));

    let pg = PgDb::new("gs_backup_cli").await;
    let restored = backup(
        source_dir.path(),
        &["restore", archive.to_str().unwrap(), "--database", &pg.url],
    )
    .output()
    .unwrap();
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );
    assert!(String::from_utf8_lossy(&restored.stdout).contains("migrated it to head"));

    // A second restore into the same (now full) database is refused, naming the reason.
    let again = backup(
        source_dir.path(),
        &["restore", archive.to_str().unwrap(), "--database", &pg.url],
    )
    .output()
    .unwrap();
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("not empty"));

    let pg_dir = tempfile::tempdir().unwrap();
    let copy = serve(&pg.url, pg_dir.path(), &[]).await;
    // The same token (same key, same user id and token version) reads the same answers.
    let after = reads(&copy.base, &bearer, &job_id, &run_id).await;
    assert_eq!(after, before);
    drop(copy);
    pg.finish().await;
}

/// A SQLite database big enough that `create` takes a while: 200,000 items of random text.
async fn big_database(dir: &Path) -> String {
    let url = sqlite_url(dir);
    let store = migrated_store(&url).await;
    let owner = create_user(&store, "big@example.com").await;
    let run = queue(&store, owner, json!({"name": "big", "start_url": "https://example.com/", "item_selector": ".i", "fields": [{"name": "t", "selector": "h2"}]})).await;
    store.close().await;
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "with recursive n(i) as (select 0 union all select i + 1 from n where i < 199999) \
         insert into item (result_id, seq, page, data) \
         select $1, i, i / 50, json_array('item ' || i || ' ' || hex(randomblob(24))) from n",
    )
    .bind(run)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_killed_with_sigkill_leaves_no_archive_that_looks_whole() {
    let data = tempfile::tempdir().unwrap();
    let url = big_database(data.path()).await;
    let out = data.path().join("backups");
    let out_arg = out.to_str().unwrap().to_owned();
    // Killed while rows stream into the staging folder, then while the archive is packed.
    type Seen = fn(&str) -> bool;
    let phases: [(&str, Seen); 2] = [
        ("streaming", |name| {
            name.starts_with(".grandma-backup-") && !name.ends_with(".partial")
        }),
        ("packing", |name| name.ends_with(".partial")),
    ];
    for (phase, seen) in phases {
        let mut proc = Proc(
            backup(
                data.path(),
                &["create", "--to", &out_arg, "--database-url", &url],
            )
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
        );
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let names: Vec<String> = std::fs::read_dir(&out)
                .map(|d| {
                    d.map(|e| e.unwrap().file_name().into_string().unwrap())
                        .collect()
                })
                .unwrap_or_default();
            if names.iter().any(|n| seen(n)) {
                break;
            }
            assert!(
                proc.0.try_wait().unwrap().is_none(),
                "create ended before the {phase} phase was seen"
            );
            assert!(Instant::now() < deadline, "no {phase} phase seen");
            std::thread::sleep(Duration::from_millis(2));
        }
        assert!(
            proc.0.try_wait().unwrap().is_none(),
            "still running when killed ({phase})"
        );
        proc.kill9();
        assert_eq!(
            archives(&out),
            Vec::<PathBuf>::new(),
            "killed while {phase}"
        );
    }
    // Leftovers are hidden, and a later run writes one whole archive beside them.
    let made = backup(
        data.path(),
        &["create", "--to", &out_arg, "--database-url", &url],
    )
    .output()
    .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let done = archives(&out);
    assert_eq!(done.len(), 1);
    let verified = backup(data.path(), &["verify", done[0].to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    assert!(String::from_utf8_lossy(&verified.stdout).contains("200000 rows"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_and_restore_refuse_bad_archives_with_exit_code_2() {
    let data = tempfile::tempdir().unwrap();
    let junk = data.path().join("junk.tar");
    std::fs::write(&junk, b"definitely not a tar archive".repeat(30)).unwrap();
    let verified = backup(data.path(), &["verify", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(verified.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&verified.stderr).contains("not a usable backup archive"));
    let target = sqlite_url(&data.path().join("target"));
    let restored = backup(
        data.path(),
        &["restore", junk.to_str().unwrap(), "--database", &target],
    )
    .output()
    .unwrap();
    assert_eq!(restored.status.code(), Some(2));
    // Nothing was created in the target: not even the schema.
    let store = Store::connect(&target).await.unwrap();
    assert_eq!(store.current().await.unwrap(), None);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_backups_write_prune_and_report_their_time() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("nightly");
    std::fs::create_dir_all(&dir).unwrap();
    // Two old archives: a backup is due at start, and with `keep = 2` the oldest goes.
    for name in [
        "grandma-backup-20000101T000000.000000Z.tar",
        "grandma-backup-20000102T000000.000000Z.tar",
    ] {
        std::fs::write(dir.join(name), b"old").unwrap();
        let status = Command::new("touch")
            .args(["-d", "2000-01-02", dir.join(name).to_str().unwrap()])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let url = sqlite_url(data.path());
    let server = serve(
        &url,
        data.path(),
        &[
            ("GRANDMA_WORKERS_ENABLED", "true"),
            ("GRANDMA_BACKUP_ENABLED", "true"),
            ("GRANDMA_BACKUP_DIRECTORY", dir.to_str().unwrap()),
            ("GRANDMA_BACKUP_KEEP", "2"),
        ],
    )
    .await;
    let c = client();
    let metrics = poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(200),
        async || {
            let text = c
                .get(format!("{}/metrics", server.base))
                .send()
                .await
                .map_err(|e| e.to_string())?
                .text()
                .await
                .map_err(|e| e.to_string())?;
            let value = text
                .lines()
                .find_map(|l| l.strip_prefix("backup_last_success_timestamp_seconds "))
                .and_then(|v| v.trim().parse::<f64>().ok());
            match value {
                Some(v) => Ok(v),
                None => Err(format!(
                    "no backup gauge yet:\n{text}\nthe server logged:\n{}",
                    serve_log(data.path())
                )),
            }
        },
    )
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - metrics).abs() < 120.0, "gauge {metrics}, now {now}");
    // Old archives are pruned right after the new one is written.
    let kept = poll(
        Instant::now() + Duration::from_secs(30),
        Duration::from_millis(100),
        async || {
            let kept = archives(&dir);
            match kept.len() {
                2 => Ok(kept),
                n => Err(format!(
                    "{n} archives kept; the server logged:\n{}",
                    serve_log(data.path())
                )),
            }
        },
    )
    .await;
    let names: Vec<String> = kept
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_owned())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert_eq!(names[0], "grandma-backup-20000102T000000.000000Z.tar");
    let verified = backup(data.path(), &["verify", kept[1].to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    drop(server);
}

/// Two scheduler processes on one PostgreSQL database, each with a backup folder of its own:
/// only one of them writes the scheduled backup. When that one is killed with SIGKILL, the
/// other takes over (its folder is empty, so it writes at once), and still only one writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_postgres_write_each_scheduled_backup_once() {
    let pg = PgDb::new("gs_backup_leader").await;
    migrated_store(&pg.url).await.close().await;
    let data = tempfile::tempdir().unwrap();
    let mut dirs = Vec::new();
    let mut servers = Vec::new();
    for name in ["first", "second"] {
        let home = data.path().join(name);
        let dir = home.join("backups");
        std::fs::create_dir_all(&dir).unwrap();
        servers.push(Some(
            serve(
                &pg.url,
                &home,
                &[
                    ("GRANDMA_WORKERS_ENABLED", "true"),
                    ("GRANDMA_BACKUP_ENABLED", "true"),
                    ("GRANDMA_BACKUP_DIRECTORY", dir.to_str().unwrap()),
                    ("GRANDMA_BACKUP_INTERVAL_MINUTES", "60"),
                ],
            )
            .await,
        ));
        dirs.push(dir);
    }
    let counts = |dirs: &[PathBuf]| dirs.iter().map(|d| archives(d).len()).collect::<Vec<_>>();
    poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        async || match counts(&dirs).iter().sum::<usize>() {
            0 => Err("no scheduled backup yet".to_owned()),
            _ => Ok(()),
        },
    )
    .await;
    // Longer than a follower's retry: a second writer would have written by now.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let first_round = counts(&dirs);
    let writer = match first_round.as_slice() {
        [1, 0] => 0,
        [0, 1] => 1,
        other => panic!("one backup from one process, not {other:?}"),
    };

    servers[writer].take().unwrap().proc.kill9();
    let other = 1 - writer;
    poll(
        Instant::now() + Duration::from_secs(60),
        Duration::from_millis(100),
        async || match archives(&dirs[other]).len() {
            0 => Err("the other scheduler has not taken over".to_owned()),
            _ => Ok(()),
        },
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut expected = vec![0, 0];
    expected[writer] = 1;
    expected[other] = 1;
    assert_eq!(counts(&dirs), expected);
    let verified = backup(
        data.path(),
        &["verify", archives(&dirs[other])[0].to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(
        verified.status.success(),
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
    drop(servers);
    pg.finish().await;
}
