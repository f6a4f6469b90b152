//! `grandma db upgrade | downgrade | current | history | revision`: the migration workflow,
//! on SQLite or PostgreSQL.
//!
//! The database comes from `--database-url`, else `GRANDMA_DATABASE_URL` / `DATABASE_URL`,
//! else the settings (`--config`, default: the SQLite file in the data directory).

use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use clap::{Args, Subcommand};
use grandma_shared::Settings;
use grandma_store::{Backend, DowngradeTarget, Store, StoreError, UpgradeTarget};

use crate::Failure;

/// Where the database is; shared by `db` and `user`.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Database URL (`sqlite://path?mode=rwc` or `postgres://…`); default from
    /// `GRANDMA_DATABASE_URL`, `DATABASE_URL`, or the settings.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Settings file (TOML) to read the database from.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Apply migrations: `head` (default) or `+N` steps.
    Upgrade {
        #[arg(default_value = "head")]
        target: String,
    },
    /// Revert migrations: `-N` steps (default `-1`) or `base` (everything).
    Downgrade {
        #[arg(default_value = "-1", allow_hyphen_values = true)]
        target: String,
    },
    /// Show the newest applied migration.
    Current,
    /// List every migration and whether it is applied.
    History,
    /// Create an empty up/down migration pair for both SQLite and PostgreSQL.
    Revision {
        /// Lowercase name: a-z, 0-9 and _.
        name: String,
        /// The folder holding `sqlite/` and `postgres/`.
        #[arg(long, default_value = "crates/store/migrations", value_name = "DIR")]
        migrations_dir: PathBuf,
    },
}

pub fn run(args: DbArgs) -> Result<(), Failure> {
    if let DbCommand::Revision {
        name,
        migrations_dir,
    } = &args.command
    {
        return revision(migrations_dir, name);
    }
    let url = database_url(&args.database)?;
    runtime()?.block_on(async move {
        let store = connect(&url).await?;
        let outcome = match args.command {
            DbCommand::Upgrade { target } => upgrade(&store, &target).await,
            DbCommand::Downgrade { target } => downgrade(&store, &target).await,
            DbCommand::Current => current(&store).await,
            DbCommand::History => history(&store).await,
            DbCommand::Revision { .. } => Ok(()),
        };
        store.close().await;
        outcome
    })
}

fn parse_upgrade(target: &str) -> Result<UpgradeTarget, Failure> {
    match target {
        "head" => Ok(UpgradeTarget::Head),
        t => t
            .strip_prefix('+')
            .unwrap_or(t)
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(UpgradeTarget::Steps)
            .ok_or_else(|| bad(format!("upgrade target {t:?}: expected `head` or `+N`"))),
    }
}

fn parse_downgrade(target: &str) -> Result<DowngradeTarget, Failure> {
    match target {
        "base" => Ok(DowngradeTarget::Base),
        t => t
            .strip_prefix('-')
            .unwrap_or(t)
            .parse::<u32>()
            .ok()
            .filter(|n| *n > 0)
            .map(DowngradeTarget::Steps)
            .ok_or_else(|| bad(format!("downgrade target {t:?}: expected `-N` or `base`"))),
    }
}

async fn upgrade(store: &Store, target: &str) -> Result<(), Failure> {
    let target = parse_upgrade(target)?;
    let applied = store.upgrade(target).await.map_err(failed("upgrade"))?;
    if applied.is_empty() {
        println!("Already at head; nothing to apply.");
    }
    for version in &applied {
        println!("Applied {}", label(store, *version).await);
    }
    print_current(store).await
}

async fn downgrade(store: &Store, target: &str) -> Result<(), Failure> {
    let target = parse_downgrade(target)?;
    // Names first: once reverted, the versions are still known to this build.
    let reverted = store.downgrade(target).await.map_err(failed("downgrade"))?;
    if reverted.is_empty() {
        println!("Nothing to revert; the database is at base.");
    }
    for version in &reverted {
        println!("Reverted {}", label(store, *version).await);
    }
    print_current(store).await
}

async fn current(store: &Store) -> Result<(), Failure> {
    print_current(store).await
}

async fn print_current(store: &Store) -> Result<(), Failure> {
    let current = store
        .current()
        .await
        .map_err(failed("reading the schema version"))?;
    let history = store
        .history()
        .await
        .map_err(failed("reading the schema version"))?;
    let head = history.last().map(|r| r.version);
    match current {
        Some(rev) => println!(
            "Current: {:04} {}{}",
            rev.version,
            rev.name,
            if Some(rev.version) == head {
                " (head)"
            } else {
                ""
            }
        ),
        None => println!("Current: none (base; no migration applied)"),
    }
    Ok(())
}

async fn history(store: &Store) -> Result<(), Failure> {
    let history = store
        .history()
        .await
        .map_err(failed("reading the history"))?;
    for rev in history {
        let when = rev
            .applied_at
            .map(|t| format!("applied {}", t.format("%Y-%m-%d %H:%M:%S UTC")))
            .unwrap_or_else(|| "pending".to_owned());
        println!(
            "[{}] {:04} {:<30} {when}",
            if rev.applied { "x" } else { " " },
            rev.version,
            rev.name
        );
    }
    Ok(())
}

async fn label(store: &Store, version: i64) -> String {
    let name = store
        .history()
        .await
        .ok()
        .and_then(|h| h.into_iter().find(|r| r.version == version))
        .map(|r| r.name)
        .unwrap_or_default();
    format!("{version:04} {name}")
}

fn revision(root: &Path, name: &str) -> Result<(), Failure> {
    match grandma_store::new_revision(root, name) {
        Ok(paths) => {
            for path in paths {
                println!("Created {}", path.display());
            }
            println!("Fill in both dialects, then rebuild to embed them.");
            Ok(())
        }
        Err(e @ (StoreError::Invalid(_) | StoreError::Io { .. })) => {
            Err(Failure::BadInput(anyhow::Error::new(e)))
        }
        Err(e) => Err(Failure::RunFailed(anyhow::Error::new(e))),
    }
}

/// The database URL: the flag, the environment, then the settings.
pub fn database_url(args: &DatabaseArgs) -> Result<String, Failure> {
    if let Some(url) = &args.database_url {
        return Ok(url.clone());
    }
    // Only the database matters here: a problem with another setting must not stop a
    // migration.
    let (settings, problems) =
        Settings::load_lenient(args.config.as_deref(), |name| std::env::var(name).ok());
    let relevant: Vec<_> = problems
        .iter()
        .filter(|p| p.key.is_empty() || p.key == "database_url" || p.key == "data_dir")
        .cloned()
        .collect();
    if !relevant.is_empty() {
        let problems = grandma_shared::config::Problems(relevant);
        return Err(Failure::BadInput(anyhow::Error::new(problems)));
    }
    Ok(settings.database_url())
}

/// Connects; for SQLite, creates the file's folder first.
pub async fn connect(url: &str) -> Result<Store, Failure> {
    let backend = Store::backend_of(url).map_err(|e| Failure::BadInput(e.into()))?;
    if backend == Backend::Sqlite
        && let Some(dir) = sqlite_dir(url)
    {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))
            .map_err(Failure::RunFailed)?;
    }
    Store::connect(url)
        .await
        .map_err(|e| Failure::RunFailed(anyhow::Error::new(e).context("cannot open the database")))
}

/// The folder of a SQLite file URL (`sqlite://dir/file.db?…`, `sqlite:dir/file.db`).
fn sqlite_dir(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Path::new(path)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
}

pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
        .map_err(Failure::RunFailed)
}

fn bad(message: String) -> Failure {
    Failure::BadInput(anyhow!(message))
}

fn failed(what: &'static str) -> impl Fn(StoreError) -> Failure {
    move |e| Failure::RunFailed(anyhow::Error::new(e).context(what))
}

/// "postgres://u:secret@h/db" → "PostgreSQL (postgres://u:***@h/db)": for banners.
pub fn describe_database(url: &str) -> String {
    let kind = match Store::backend_of(url) {
        Ok(Backend::Sqlite) => "SQLite",
        Ok(Backend::Postgres) => "PostgreSQL",
        Err(_) => "unknown",
    };
    format!("{kind} ({})", grandma_shared::config::redact_url(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert!(matches!(parse_upgrade("head"), Ok(UpgradeTarget::Head)));
        assert!(matches!(parse_upgrade("+2"), Ok(UpgradeTarget::Steps(2))));
        assert!(parse_upgrade("-1").is_err());
        assert!(matches!(
            parse_downgrade("-1"),
            Ok(DowngradeTarget::Steps(1))
        ));
        assert!(matches!(parse_downgrade("base"), Ok(DowngradeTarget::Base)));
        assert!(parse_downgrade("head").is_err());
    }

    #[test]
    fn sqlite_folders_and_redaction() {
        assert_eq!(
            sqlite_dir("sqlite://data/g.db?mode=rwc"),
            Some(PathBuf::from("data"))
        );
        assert_eq!(sqlite_dir("sqlite::memory:"), None);
        assert_eq!(
            describe_database("postgres://app:hunter2@db/grandma"),
            "PostgreSQL (postgres://app:***@db/grandma)"
        );
    }
}
