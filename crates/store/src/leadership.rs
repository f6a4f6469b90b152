//! One process at a time for a task that must not run in several: a PostgreSQL session-level
//! advisory lock held on a connection of its own for as long as the process leads. The lock
//! goes with the session, so a leader that dies (even by SIGKILL) or loses its connection
//! hands over at once, with no lease to expire. A SQLite file has one process, which always
//! leads.

use sqlx::Connection;

use crate::db::{Pools, Store};
use crate::error::Result;

/// Held while this process leads `name`; dropping it closes the connection and lets another
/// process take over.
#[derive(Debug)]
pub struct Leadership {
    name: String,
    /// `None` on SQLite.
    connection: Option<sqlx::PgConnection>,
}

/// The lock key of a task name: FNV-1a, stable across builds and machines, so every process
/// of any version asks for the same key.
fn lock_key(name: &str) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in format!("grandma:{name}").bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

impl Store {
    /// Makes this process the leader of `name` if no other process is; `None` while another
    /// one leads. Never waits for the lock.
    pub async fn try_lead(&self, name: &str) -> Result<Option<Leadership>> {
        let pool = match &self.pools {
            Pools::Sqlite(_) => {
                return Ok(Some(Leadership {
                    name: name.to_owned(),
                    connection: None,
                }));
            }
            Pools::Postgres(pool) => pool,
        };
        // A connection of its own, out of the pool: a pooled one would go back holding the
        // lock, or be closed by the pool's idle reaping and give it up unnoticed.
        let mut connection = pool.acquire().await?.detach();
        let won: bool = sqlx::query_scalar("select pg_try_advisory_lock($1)")
            .bind(lock_key(name))
            .fetch_one(&mut connection)
            .await?;
        if !won {
            // Closing the session is enough; nothing is held.
            let _ = connection.close().await;
            return Ok(None);
        }
        Ok(Some(Leadership {
            name: name.to_owned(),
            connection: Some(connection),
        }))
    }
}

impl Leadership {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether this process still leads: its session (and so its lock) is alive. A database
    /// restart or a dropped connection ends the session on the server, and with it the lock.
    pub async fn still_held(&mut self) -> bool {
        let Some(connection) = self.connection.as_mut() else {
            return true;
        };
        let held: std::result::Result<bool, sqlx::Error> = sqlx::query_scalar(
            "select exists (select 1 from pg_locks where locktype = 'advisory' \
             and pid = pg_backend_pid() and granted \
             and ((classid::bigint << 32) | objid::bigint) = $1)",
        )
        .bind(lock_key(&self.name))
        .fetch_one(connection)
        .await;
        held.unwrap_or(false)
    }

    /// Gives the lead up now rather than when dropped.
    pub async fn release(mut self) {
        if let Some(connection) = self.connection.take() {
            let _ = connection.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lock_key;

    #[test]
    fn keys_are_stable_and_distinct() {
        assert_eq!(lock_key("scheduled-backup"), lock_key("scheduled-backup"));
        assert_ne!(lock_key("scheduled-backup"), lock_key("scheduled-backups"));
    }
}
