//! The engine's [`SharedHosts`] over what the workers share: Redis when `[worker] redis_url`
//! is set, else PostgreSQL when the store is PostgreSQL; with SQLite there is one process,
//! whose runs keep their own state as before.
//!
//! Both keep one clock for every worker (Redis's `TIME`, PostgreSQL's `clock_timestamp()`),
//! so machines whose clocks drift still space their requests correctly.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use futures::future::BoxFuture;
use grandma_engine::{CachedRobots, SharedHosts, SharedHostsError};
use grandma_store::{Backend, Store};

/// Longest wait for Redis before a request is spaced by its run alone.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

/// The shared state the settings and the store call for, if any.
pub fn shared_hosts(
    redis_url: Option<&str>,
    redis_prefix: &str,
    store: &Store,
) -> Result<Option<Arc<dyn SharedHosts>>, redis::RedisError> {
    if let Some(url) = redis_url {
        return Ok(Some(Arc::new(RedisHosts::new(url, redis_prefix)?)));
    }
    Ok(match store.backend() {
        Backend::Postgres => Some(Arc::new(StoreHosts(store.clone()))),
        Backend::Sqlite => None,
    })
}

fn shared_error(error: impl std::error::Error + Send + Sync + 'static) -> SharedHostsError {
    SharedHostsError(Box::new(error))
}

/// Slots and robots.txt in the database (`host_slot`, `robots_cache`).
#[derive(Debug, Clone)]
pub struct StoreHosts(pub Store);

impl SharedHosts for StoreHosts {
    fn reserve<'a>(
        &'a self,
        host: &'a str,
        gap: Duration,
    ) -> BoxFuture<'a, Result<Duration, SharedHostsError>> {
        Box::pin(async move {
            self.0
                .reserve_host_slot(host, gap)
                .await
                .map_err(shared_error)
        })
    }

    fn robots<'a>(
        &'a self,
        origin: &'a str,
    ) -> BoxFuture<'a, Result<Option<CachedRobots>, SharedHostsError>> {
        Box::pin(async move {
            let cached = self.0.cached_robots(origin).await.map_err(shared_error)?;
            Ok(cached.map(|body| body.map_or(CachedRobots::AllowAll, CachedRobots::Body)))
        })
    }

    fn store_robots<'a>(
        &'a self,
        origin: &'a str,
        robots: &'a CachedRobots,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedHostsError>> {
        Box::pin(async move {
            let body = match robots {
                CachedRobots::Body(body) => Some(body.as_str()),
                CachedRobots::AllowAll => None,
            };
            self.0
                .store_robots(origin, body, ttl)
                .await
                .map_err(shared_error)
        })
    }
}

/// `KEYS[1]` holds the host's next free slot in Redis server milliseconds; `ARGV[1]` is the
/// gap. Moves it to `max(now, free) + gap` and answers the wait until `max(now, free)`. The
/// key outlives the slot by a minute, then a quiet host costs nothing.
const RESERVE_SCRIPT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local gap = tonumber(ARGV[1])
local free = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local slot = math.max(now, free)
redis.call('SET', KEYS[1], string.format('%d', slot + gap), 'PX', slot + gap - now + 60000)
return slot - now
"#;

/// Slots and robots.txt in Redis, under a prefix.
pub struct RedisHosts {
    client: redis::Client,
    /// Made on first use (it needs the runtime), then shared; it reconnects by itself.
    manager: OnceLock<redis::aio::ConnectionManager>,
    reserve: redis::Script,
    prefix: String,
}

impl std::fmt::Debug for RedisHosts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisHosts")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why a Redis call did not answer.
#[derive(Debug, thiserror::Error)]
enum RedisFailure {
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    #[error("Redis did not answer within {0:?}")]
    Timeout(Duration),
}

impl RedisHosts {
    pub fn new(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Ok(RedisHosts {
            client: redis::Client::open(url)?,
            manager: OnceLock::new(),
            reserve: redis::Script::new(RESERVE_SCRIPT),
            prefix: prefix.to_owned(),
        })
    }

    fn connection(&self) -> redis::RedisResult<redis::aio::ConnectionManager> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(REDIS_TIMEOUT))
            .set_response_timeout(Some(REDIS_TIMEOUT))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager =
            redis::aio::ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    async fn within<T>(
        &self,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, SharedHostsError> {
        match tokio::time::timeout(REDIS_TIMEOUT, call).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(shared_error(RedisFailure::Redis(e))),
            Err(_) => Err(shared_error(RedisFailure::Timeout(REDIS_TIMEOUT))),
        }
    }

    fn slot_key(&self, host: &str) -> String {
        format!("{}slot:{host}", self.prefix)
    }

    fn robots_key(&self, origin: &str) -> String {
        format!("{}robots:{origin}", self.prefix)
    }
}

/// A stored robots.txt: `A` for "no rules", `B` followed by the body.
fn encode_robots(robots: &CachedRobots) -> String {
    match robots {
        CachedRobots::AllowAll => "A".to_owned(),
        CachedRobots::Body(body) => format!("B{body}"),
    }
}

fn decode_robots(stored: &str) -> Option<CachedRobots> {
    match stored.split_at_checked(1)? {
        ("A", "") => Some(CachedRobots::AllowAll),
        ("B", body) => Some(CachedRobots::Body(body.to_owned())),
        // Written by something else under our prefix: fetched again rather than trusted.
        _ => None,
    }
}

impl SharedHosts for RedisHosts {
    fn reserve<'a>(
        &'a self,
        host: &'a str,
        gap: Duration,
    ) -> BoxFuture<'a, Result<Duration, SharedHostsError>> {
        Box::pin(async move {
            let mut connection = self.connection().map_err(shared_error)?;
            let mut invocation = self.reserve.prepare_invoke();
            invocation
                .key(self.slot_key(host))
                .arg(u64::try_from(gap.as_millis()).unwrap_or(u64::MAX / 4));
            let wait: i64 = self
                .within(invocation.invoke_async(&mut connection))
                .await?;
            Ok(Duration::from_millis(u64::try_from(wait).unwrap_or(0)))
        })
    }

    fn robots<'a>(
        &'a self,
        origin: &'a str,
    ) -> BoxFuture<'a, Result<Option<CachedRobots>, SharedHostsError>> {
        Box::pin(async move {
            let mut connection = self.connection().map_err(shared_error)?;
            let key = self.robots_key(origin);
            let stored: Option<String> = self
                .within(redis::cmd("GET").arg(&key).query_async(&mut connection))
                .await?;
            Ok(stored.as_deref().and_then(decode_robots))
        })
    }

    fn store_robots<'a>(
        &'a self,
        origin: &'a str,
        robots: &'a CachedRobots,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<(), SharedHostsError>> {
        Box::pin(async move {
            let mut connection = self.connection().map_err(shared_error)?;
            let ttl_ms = u64::try_from(ttl.as_millis())
                .unwrap_or(u64::MAX / 4)
                .max(1);
            let () = self
                .within(
                    redis::cmd("SET")
                        .arg(self.robots_key(origin))
                        .arg(encode_robots(robots))
                        .arg("PX")
                        .arg(ttl_ms)
                        .query_async(&mut connection),
                )
                .await?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_robots_round_trip_and_strangers_are_ignored() {
        for robots in [
            CachedRobots::AllowAll,
            CachedRobots::Body(String::new()),
            CachedRobots::Body("User-agent: *\nDisallow: /x\n".into()),
        ] {
            assert_eq!(decode_robots(&encode_robots(&robots)), Some(robots));
        }
        assert_eq!(decode_robots(""), None);
        assert_eq!(decode_robots("Ax"), None);
        assert_eq!(decode_robots("zzz"), None);
        assert_eq!(decode_robots("\u{1F600}"), None);
    }
}
