//! The buckets in Redis, shared by every API node: one Lua script per check, timed by the
//! Redis server's clock.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use grandma_shared::config::Quota;

use super::decision::Decision;
use super::local::full_refill_ms;

/// The token bucket in Redis: `KEYS[1]` is the bucket (a hash of `tokens` and `ms`, the
/// server time in milliseconds of the last update); `ARGV` are the rate per minute, the burst
/// and the key's TTL in milliseconds. Answers `{allowed (1 or 0), whole tokens left,
/// milliseconds until the next token}`. The same arithmetic as the local buckets.
pub const REDIS_SCRIPT: &str = r#"
if redis.replicate_commands then redis.replicate_commands() end
local per_ms = tonumber(ARGV[1]) / 60000
local burst = tonumber(ARGV[2])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ms')
local tokens = tonumber(state[1])
local last = tonumber(state[2])
if tokens == nil or last == nil then
  tokens = burst
  last = now
end
tokens = math.min(burst, tokens + math.max(0, now - last) * per_ms)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ms', tostring(now))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {allowed, math.floor(tokens), wait}
"#;

/// After a failed Redis call, how long the local buckets answer before Redis is asked again.
pub(super) const REDIS_PAUSE_MS: u64 = 1_000;
/// At most one warning about Redis per this many milliseconds.
pub(super) const REDIS_WARN_EVERY_MS: u64 = 30_000;

/// The bucket key in Redis of an IP or a user.
pub(super) fn redis_key(prefix: &str, kind: &str, id: impl std::fmt::Display) -> String {
    format!("{prefix}{kind}:{id}")
}

/// A key's TTL: once a bucket has refilled it is the same as no bucket.
fn redis_ttl_ms(quota: Quota) -> u64 {
    full_refill_ms(quota) + 1_000
}

/// The script's answer as a [`Decision`].
fn decision_from_reply(quota: Quota, (allowed, tokens, wait_ms): (i64, i64, i64)) -> Decision {
    if allowed == 1 {
        Decision {
            allowed: true,
            limit: quota.per_minute,
            remaining: tokens.clamp(0, i64::from(quota.burst)) as u32,
            retry_after_secs: 0,
        }
    } else {
        Decision {
            allowed: false,
            limit: quota.per_minute,
            remaining: 0,
            retry_after_secs: (wait_ms.max(0) as u64).div_ceil(1_000).max(1),
        }
    }
}

/// Whether to log now: true at most once per `every_ms`. `last` holds the time of the last
/// warning plus one (0: never warned).
pub(super) fn warning_due(last: &AtomicU64, now_ms: u64, every_ms: u64) -> bool {
    let previous = last.load(Ordering::Relaxed);
    if previous != 0 && now_ms.saturating_add(1).saturating_sub(previous) < every_ms {
        return false;
    }
    last.compare_exchange(
        previous,
        now_ms.saturating_add(1),
        Ordering::Relaxed,
        Ordering::Relaxed,
    )
    .is_ok()
}

/// Why a Redis call did not answer.
#[derive(Debug, thiserror::Error)]
pub(super) enum BackendError {
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// The buckets in Redis.
pub(super) struct RedisBuckets {
    client: redis::Client,
    /// Made on first use (it needs the runtime), then shared; it reconnects by itself.
    manager: OnceLock<redis::aio::ConnectionManager>,
    script: redis::Script,
    pub(super) prefix: String,
    timeout: Duration,
    /// Limiter time (ms) before which Redis is not asked, after a failure.
    pub(super) paused_until_ms: AtomicU64,
    /// Limiter time (ms) of the last warning, plus one; 0 before the first.
    pub(super) last_warning_ms: AtomicU64,
}

impl std::fmt::Debug for RedisBuckets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBuckets")
            .field("prefix", &self.prefix)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl RedisBuckets {
    pub(super) fn new(url: &str, prefix: String, timeout: Duration) -> redis::RedisResult<Self> {
        Ok(RedisBuckets {
            client: redis::Client::open(url)?,
            manager: OnceLock::new(),
            script: redis::Script::new(REDIS_SCRIPT),
            prefix,
            timeout,
            paused_until_ms: AtomicU64::new(0),
            last_warning_ms: AtomicU64::new(0),
        })
    }

    fn connection(&self) -> redis::RedisResult<redis::aio::ConnectionManager> {
        if let Some(manager) = self.manager.get() {
            return Ok(manager.clone());
        }
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let manager =
            redis::aio::ConnectionManager::new_lazy_with_config(self.client.clone(), config)?;
        Ok(self.manager.get_or_init(|| manager).clone())
    }

    /// Takes a token from the bucket `key`, within the timeout.
    pub(super) async fn take(&self, key: &str, quota: Quota) -> Result<Decision, BackendError> {
        let mut connection = self.connection()?;
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(key)
            .arg(quota.per_minute)
            .arg(quota.burst)
            .arg(redis_ttl_ms(quota));
        let reply: (i64, i64, i64) =
            tokio::time::timeout(self.timeout, invocation.invoke_async(&mut connection))
                .await
                .map_err(|_| BackendError::Timeout(self.timeout))??;
        Ok(decision_from_reply(quota, reply))
    }
}
#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn redis_replies_become_decisions_like_local_ones() {
        let q = Quota::new(60, 3);
        assert_eq!(
            decision_from_reply(q, (1, 2, 0)),
            Decision {
                allowed: true,
                limit: 60,
                remaining: 2,
                retry_after_secs: 0
            }
        );
        // Never more than the burst, never negative.
        assert_eq!(decision_from_reply(q, (1, 7, 0)).remaining, 3);
        assert_eq!(decision_from_reply(q, (1, -1, 0)).remaining, 0);
        let refused = decision_from_reply(q, (0, 0, 999));
        assert!(!refused.allowed);
        assert_eq!((refused.remaining, refused.retry_after_secs), (0, 1));
        assert_eq!(decision_from_reply(q, (0, 0, 1_001)).retry_after_secs, 2);
        // A zero wait still says "retry in a second", as the local buckets do.
        assert_eq!(decision_from_reply(q, (0, 0, 0)).retry_after_secs, 1);
    }

    #[test]
    fn redis_keys_and_ttls() {
        assert_eq!(
            redis_key("grandma:rl:", "ip", IpAddr::from([10, 0, 0, 1])),
            "grandma:rl:ip:10.0.0.1"
        );
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(redis_key("p:", "ip", v6), "p:ip:2001:db8::1");
        // 60/min, burst 10: full again after 10 s, kept one second more.
        assert_eq!(redis_ttl_ms(Quota::new(60, 10)), 11_000);
        assert_eq!(redis_ttl_ms(Quota::new(600, 100)), 11_000);
        assert_eq!(redis_ttl_ms(Quota::new(7, 1)), 8_572 + 1_000);
    }

    #[test]
    fn warnings_at_most_once_per_period() {
        let last = AtomicU64::new(0);
        assert!(warning_due(&last, 0, 30_000), "the first one is logged");
        assert!(!warning_due(&last, 1, 30_000));
        assert!(!warning_due(&last, 29_999, 30_000));
        assert!(warning_due(&last, 30_000, 30_000));
        assert!(!warning_due(&last, 45_000, 30_000));
        assert!(warning_due(&last, 90_000, 30_000));
    }
}
