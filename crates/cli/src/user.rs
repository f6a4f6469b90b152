//! `grandma user create | list`: accounts from the command line (the first admin of a fresh
//! install, or a locked-out operator).
//!
//! Accounts are made by the same service as the API's registration (`grandma_shared::accounts`),
//! so the same addresses and passwords are accepted, and hashed the same way.

use std::io::{BufRead, IsTerminal, Write};

use anyhow::anyhow;
use clap::{Args, Subcommand};
use grandma_shared::accounts::{AccountError, Accounts, NewAccount};
use grandma_store::{Paging, Role, Secret, Store};

use crate::Failure;
use crate::db::{DatabaseArgs, connect, database_url, runtime};

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(flatten)]
    database: DatabaseArgs,
    #[command(subcommand)]
    command: UserCommand,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Create an account; the password is read from stdin or prompted for.
    Create {
        email: String,
        /// Make the account an admin (same as `--role admin`).
        #[arg(long, conflicts_with = "role")]
        admin: bool,
        /// `admin`, `user` (default) or `readonly`.
        #[arg(long, value_name = "ROLE")]
        role: Option<String>,
        /// Read the password from the first line of stdin instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
}

pub fn run(args: UserArgs) -> Result<(), Failure> {
    let url = database_url(&args.database)?;
    match args.command {
        UserCommand::Create {
            email,
            admin,
            role,
            password_stdin,
        } => {
            let role = match (admin, role) {
                (true, _) => Role::Admin,
                (false, Some(r)) => r.parse::<Role>().map_err(|e| Failure::BadInput(e.into()))?,
                (false, None) => Role::User,
            };
            let secret = read_password(password_stdin)?;
            // Refused before touching the database, with every problem at once.
            Accounts::check(&email, &secret).map_err(|e| Failure::BadInput(e.into()))?;
            runtime()?.block_on(async move {
                let store = ready_store(&url).await?;
                let outcome = create(&store, email, role, Secret(secret)).await;
                store.close().await;
                outcome
            })
        }
        UserCommand::List => runtime()?.block_on(async move {
            let store = ready_store(&url).await?;
            let outcome = list(&store).await;
            store.close().await;
            outcome
        }),
    }
}

async fn ready_store(url: &str) -> Result<Store, Failure> {
    let store = connect(url).await?;
    let ready = store
        .schema_ready()
        .await
        .map_err(|e| Failure::RunFailed(anyhow::Error::new(e).context("reading the schema")))?;
    if !ready {
        store.close().await;
        return Err(Failure::RunFailed(anyhow!(
            "the database schema is not up to date; run `grandma db upgrade head` first"
        )));
    }
    Ok(store)
}

async fn create(store: &Store, email: String, role: Role, secret: Secret) -> Result<(), Failure> {
    let account = NewAccount {
        email: &email,
        password: secret,
        role,
    };
    match Accounts::new(store.clone()).create(account).await {
        Ok(created) => {
            println!(
                "Created {} ({}) with id {}",
                created.email, created.role, created.user_id
            );
            Ok(())
        }
        Err(e @ (AccountError::Invalid(_) | AccountError::EmailTaken(_))) => {
            Err(Failure::RunFailed(e.into()))
        }
        Err(e) => Err(Failure::RunFailed(
            anyhow::Error::new(e).context("creating the user"),
        )),
    }
}

async fn list(store: &Store) -> Result<(), Failure> {
    let mut offset = 0;
    let mut rows = Vec::new();
    loop {
        let page = store
            .list_users(Paging::new(Paging::MAX_LIMIT, offset))
            .await
            .map_err(|e| Failure::RunFailed(anyhow::Error::new(e).context("listing users")))?;
        let n = page.items.len() as i64;
        rows.extend(page.items);
        offset += n;
        if n == 0 || offset >= page.total {
            break;
        }
    }
    let width = rows.iter().map(|u| u.email.len()).max().unwrap_or(5).max(5);
    println!(
        "{:<width$}  {:<8}  {:<6}  CREATED",
        "EMAIL", "ROLE", "ACTIVE"
    );
    for u in &rows {
        println!(
            "{:<width$}  {:<8}  {:<6}  {}",
            u.email,
            u.role.as_str(),
            if u.is_active { "yes" } else { "no" },
            u.created_at.format("%Y-%m-%d %H:%M")
        );
    }
    println!("{} user(s)", rows.len());
    Ok(())
}

/// The password from stdin's first line, or prompted for (twice, without echo) on a terminal.
fn read_password(from_stdin: bool) -> Result<String, Failure> {
    let stdin = std::io::stdin();
    if from_stdin || !stdin.is_terminal() {
        let mut line = String::new();
        stdin
            .lock()
            .read_line(&mut line)
            .map_err(|e| Failure::BadInput(anyhow::Error::new(e).context("reading stdin")))?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let first = prompt("Password: ")?;
    let second = prompt("Repeat password: ")?;
    if first != second {
        return Err(Failure::BadInput(anyhow!("the passwords do not match")));
    }
    Ok(first)
}

/// Reads a line from the terminal with echo turned off, restoring it afterwards.
fn prompt(label: &str) -> Result<String, Failure> {
    let io = |e: std::io::Error| {
        Failure::BadInput(anyhow::Error::new(e).context("reading the password"))
    };
    eprint!("{label}");
    std::io::stderr().flush().map_err(io)?;
    let stdin = std::io::stdin();
    let saved = rustix::termios::tcgetattr(&stdin).ok();
    if let Some(saved) = &saved {
        let mut quiet = saved.clone();
        quiet.local_modes.remove(rustix::termios::LocalModes::ECHO);
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &quiet);
    }
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(saved) = &saved {
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, saved);
    }
    eprintln!();
    read.map_err(io)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}
