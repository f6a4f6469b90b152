//! Rate limits (fourth layer): a token bucket per client IP, and one per authenticated user
//! sized by role (checked by the auth extractor, which knows the user).
//!
//! Buckets live in sharded maps with a cap on the keys: a bucket that has refilled completely is
//! the same as no bucket, so idle keys are swept; when a shard is still full, its least recently
//! seen tenth goes. Health probes, `/metrics` and CORS preflights are not limited.
//! `X-Forwarded-For` is believed only from a peer in the trusted proxy networks, and then read
//! from the right, skipping further trusted proxies.
//!
//! A 429 of this layer is made outside the CORS layer (the seed's order), so it gets the CORS
//! headers from the same [`CorsPolicy`] here: an allowed origin can read it, others cannot.
//!
//! # Shared through Redis (optional)
//!
//! With `rate_limit_redis_url` (`GRANDMA_RATE_LIMIT_REDIS_URL`) set, every API node takes its
//! tokens from the same buckets in Redis, so a client's burst and rate hold for the whole
//! deployment instead of once per node. Without it nothing changes and no Redis is needed.
//! The URL is `redis://[user:password@]host[:port][/db]` (or `redis+unix://`); TLS
//! (`rediss://`) is not built in, so Redis belongs on the nodes' private network.
//!
//! - **Same semantics.** The same quotas (per IP, per user by role), the same continuous
//!   token bucket and the same headers; only where the bucket lives differs.
//! - **Atomic, on one clock.** One Lua script ([`REDIS_SCRIPT`], sent with `EVALSHA`, and with
//!   `EVAL` when the server does not know it yet) reads, refills and takes from the bucket in
//!   one step, timed by the Redis server's `TIME`, so the nodes' clocks never matter and two
//!   nodes never spend the same token.
//! - **Bounded memory.** A bucket is a hash `{prefix}ip:{address}` or `{prefix}user:{uuid}`
//!   (prefix `grandma:rl:` by default, `rate_limit_redis_prefix`) whose TTL is its full refill
//!   time plus a second: an idle key is a full bucket, and expires.
//! - **Redis is a help, not a dependency.** The connection is made on first use and re-made by
//!   the redis crate's connection manager. Each call waits at most `rate_limit_redis_timeout_ms`
//!   (100 ms). On an error or a timeout the request is counted in this node's own buckets, as
//!   without Redis; the failed call adds one to `http_rate_limit_backend_errors_total`, a
//!   warning is logged at most every 30 s, and for the next second the local buckets answer
//!   without asking Redis. An outage thus loosens the limits to per node for its duration; it
//!   never fails or stalls a request.
//! - Why not a fixed window (`INCR` + `EXPIRE`): simpler, but it lets twice the rate through
//!   around a window's edge and would answer differently from the local mode.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use grandma_store::Role;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::middleware::cors::CorsPolicy;
use grandma_shared::config::{Quota, RateLimitSettings};
use grandma_shared::metrics::{RATE_LIMIT_BACKEND_ERRORS_TOTAL, RATE_LIMIT_REJECTIONS_TOTAL};

pub static X_RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("x-ratelimit-limit");
pub static X_RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("x-ratelimit-remaining");

/// Paths never limited: the probes (root and `/api/v1`) and the metrics.
const EXEMPT: &[&str] = &[
    "/health",
    "/readiness",
    "/liveness",
    "/api/v1/health",
    "/api/v1/readiness",
    "/api/v1/liveness",
    "/metrics",
];

const SHARDS: usize = 16;

/// One bucket: 16 bytes.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f32,
    /// Milliseconds since the limiter's epoch at the last refill.
    last_ms: u64,
}

#[derive(Debug, Default)]
struct Shard<K> {
    map: HashMap<K, Bucket>,
    inserts_since_sweep: usize,
}

/// Sharded buckets of one kind of key.
#[derive(Debug)]
struct Buckets<K> {
    shards: Box<[Mutex<Shard<K>>]>,
    hasher: std::collections::hash_map::RandomState,
    cap_per_shard: usize,
    /// After this long untouched, any bucket is full again and can be forgotten.
    idle_ms: u64,
}

/// The outcome of one check, for the headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// Requests per minute of the bucket.
    pub limit: u32,
    /// Whole tokens left after this request.
    pub remaining: u32,
    /// Seconds until a token is available (when refused).
    pub retry_after_secs: u64,
}

fn full_refill_ms(q: Quota) -> u64 {
    (u64::from(q.burst) * 60_000).div_ceil(u64::from(q.per_minute.max(1)))
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    fn new(max_keys: usize, idle_ms: u64) -> Self {
        Buckets {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::new(),
                        inserts_since_sweep: 0,
                    })
                })
                .collect(),
            hasher: Default::default(),
            cap_per_shard: (max_keys / SHARDS).max(1),
            idle_ms,
        }
    }

    fn check(&self, key: K, quota: Quota, now_ms: u64) -> Decision {
        let index = (self.hasher.hash_one(key) as usize) % SHARDS;
        let mut shard = self.shards[index].lock().unwrap_or_else(|p| p.into_inner());
        if !shard.map.contains_key(&key) {
            shard.inserts_since_sweep += 1;
            if shard.map.len() >= self.cap_per_shard
                || shard.inserts_since_sweep > self.cap_per_shard / 4
            {
                self.evict(&mut shard, now_ms);
            }
        }
        let burst = quota.burst as f32;
        let per_ms = quota.per_minute as f32 / 60_000.0;
        let bucket = shard.map.entry(key).or_insert(Bucket {
            tokens: burst,
            last_ms: now_ms,
        });
        let elapsed = now_ms.saturating_sub(bucket.last_ms) as f32;
        bucket.tokens = (bucket.tokens + elapsed * per_ms).min(burst);
        bucket.last_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Decision {
                allowed: true,
                limit: quota.per_minute,
                remaining: (bucket.tokens.floor() as u32).min(quota.burst),
                retry_after_secs: 0,
            }
        } else {
            let wait_ms = (1.0 - bucket.tokens) / per_ms;
            Decision {
                allowed: false,
                limit: quota.per_minute,
                remaining: 0,
                retry_after_secs: ((wait_ms / 1000.0).ceil() as u64).max(1),
            }
        }
    }

    /// Forgets full buckets; if the shard is still at its cap, its least recently seen tenth.
    fn evict(&self, shard: &mut Shard<K>, now_ms: u64) {
        shard.inserts_since_sweep = 0;
        let idle = self.idle_ms;
        shard
            .map
            .retain(|_, b| now_ms.saturating_sub(b.last_ms) < idle);
        if shard.map.len() >= self.cap_per_shard {
            let mut seen: Vec<u64> = shard.map.values().map(|b| b.last_ms).collect();
            let keep = self.cap_per_shard - self.cap_per_shard.div_ceil(10);
            let cut = seen.len().saturating_sub(keep).min(seen.len() - 1);
            let (_, threshold, _) = seen.select_nth_unstable(cut);
            let threshold = *threshold;
            shard.map.retain(|_, b| b.last_ms > threshold);
        }
    }

    fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }
}

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
const REDIS_PAUSE_MS: u64 = 1_000;
/// At most one warning about Redis per this many milliseconds.
const REDIS_WARN_EVERY_MS: u64 = 30_000;

/// The bucket key in Redis of an IP or a user.
fn redis_key(prefix: &str, kind: &str, id: impl std::fmt::Display) -> String {
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
fn warning_due(last: &AtomicU64, now_ms: u64, every_ms: u64) -> bool {
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
enum BackendError {
    #[error("{0}")]
    Redis(#[from] redis::RedisError),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

/// The buckets in Redis.
struct RedisBuckets {
    client: redis::Client,
    /// Made on first use (it needs the runtime), then shared; it reconnects by itself.
    manager: OnceLock<redis::aio::ConnectionManager>,
    script: redis::Script,
    prefix: String,
    timeout: Duration,
    /// Limiter time (ms) before which Redis is not asked, after a failure.
    paused_until_ms: AtomicU64,
    /// Limiter time (ms) of the last warning, plus one; 0 before the first.
    last_warning_ms: AtomicU64,
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
    fn new(url: &str, prefix: String, timeout: Duration) -> redis::RedisResult<Self> {
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
    async fn take(&self, key: &str, quota: Quota) -> Result<Decision, BackendError> {
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

/// The limiter shared by the middleware and the auth extractor.
#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    /// Peers whose `X-Forwarded-For` is believed.
    trusted_proxies: Vec<IpNet>,
    epoch: Instant,
    ips: Buckets<IpAddr>,
    users: Buckets<uuid::Uuid>,
    /// The shared buckets, when Redis is configured; the local ones stand in when it fails.
    redis: Option<RedisBuckets>,
}

impl RateLimiter {
    /// The limiter; with `settings.redis_url`, backed by Redis (connected on first use).
    pub fn new(settings: RateLimitSettings, trusted_proxies: Vec<IpNet>) -> Self {
        let ip_idle = full_refill_ms(settings.per_ip);
        let user_idle = [settings.admin, settings.user, settings.readonly]
            .into_iter()
            .map(full_refill_ms)
            .max()
            .unwrap_or(60_000);
        let redis = settings.redis_url.as_ref().and_then(|url| {
            match RedisBuckets::new(
                url.expose(),
                settings.redis_prefix.clone(),
                Duration::from_millis(settings.redis_timeout_ms),
            ) {
                Ok(redis) => {
                    tracing::info!(prefix = %settings.redis_prefix, "rate limits shared through Redis");
                    Some(redis)
                }
                Err(e) => {
                    tracing::error!(error = %e, "rate_limit_redis_url is not usable; rate limits stay per process");
                    None
                }
            }
        });
        RateLimiter {
            ips: Buckets::new(settings.max_keys, ip_idle),
            users: Buckets::new((settings.max_keys / 4).max(SHARDS), user_idle),
            epoch: Instant::now(),
            redis,
            settings,
            trusted_proxies,
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    /// Whether the buckets are shared through Redis (else they are this process's own).
    pub fn shared(&self) -> bool {
        self.redis.is_some()
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Takes a token from the client IP's bucket (in Redis when configured and reachable).
    pub async fn check_ip(&self, ip: IpAddr) -> Decision {
        let quota = self.settings.per_ip;
        self.check_shared(
            "ip",
            |prefix| redis_key(prefix, "ip", ip),
            quota,
            || self.check_ip_at(ip, self.now_ms()),
        )
        .await
    }

    /// [`RateLimiter::check_ip`] in this process's buckets at a given time (milliseconds
    /// since the limiter started).
    pub fn check_ip_at(&self, ip: IpAddr, now_ms: u64) -> Decision {
        self.ips.check(ip, self.settings.per_ip, now_ms)
    }

    /// Takes a token from the user's bucket, sized by their role (in Redis when configured
    /// and reachable).
    pub async fn check_user(&self, user_id: uuid::Uuid, role: Role) -> Decision {
        let quota = match role {
            Role::Admin => self.settings.admin,
            Role::User => self.settings.user,
            Role::Readonly => self.settings.readonly,
        };
        self.check_shared(
            "user",
            |prefix| redis_key(prefix, "user", user_id),
            quota,
            || self.users.check(user_id, quota, self.now_ms()),
        )
        .await
    }

    /// Redis when configured, not paused after a failure, and answering in time; else `local`.
    async fn check_shared(
        &self,
        scope: &'static str,
        key: impl FnOnce(&str) -> String,
        quota: Quota,
        local: impl FnOnce() -> Decision,
    ) -> Decision {
        let Some(redis) = &self.redis else {
            return local();
        };
        if self.now_ms() < redis.paused_until_ms.load(Ordering::Relaxed) {
            return local();
        }
        match redis.take(&key(&redis.prefix), quota).await {
            Ok(decision) => decision,
            Err(e) => {
                let now = self.now_ms();
                redis
                    .paused_until_ms
                    .store(now + REDIS_PAUSE_MS, Ordering::Relaxed);
                metrics::counter!(RATE_LIMIT_BACKEND_ERRORS_TOTAL, "scope" => scope).increment(1);
                if warning_due(&redis.last_warning_ms, now, REDIS_WARN_EVERY_MS) {
                    tracing::warn!(
                        error = %e,
                        "rate-limit Redis unavailable: this node counts on its own buckets for now"
                    );
                }
                local()
            }
        }
    }

    /// Keys remembered now (IPs, users).
    pub fn tracked_keys(&self) -> (usize, usize) {
        (self.ips.len(), self.users.len())
    }

    /// The client's address: the peer, or when the peer is a trusted proxy, the right-most
    /// `X-Forwarded-For` entry that is not a trusted proxy itself.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        client_ip(peer, headers, &self.trusted_proxies)
    }
}

fn trusted(ip: IpAddr, proxies: &[IpNet]) -> bool {
    proxies.iter().any(|n| n.contains(&ip))
}

/// See [`RateLimiter::client_ip`]; an unknown peer counts as `0.0.0.0`.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, proxies: &[IpNet]) -> IpAddr {
    let unspecified = IpAddr::from([0, 0, 0, 0]);
    let Some(peer) = peer else { return unspecified };
    if !trusted(peer, proxies) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !trusted(ip, proxies) {
                    break;
                }
            }
            // An unparsable entry ends what can be believed.
            Err(_) => break,
        }
    }
    client
}

/// The 429 answer (also used by the auth extractor for user quotas).
pub fn too_many(decision: Decision, scope: &'static str) -> ApiError {
    metrics::counter!(RATE_LIMIT_REJECTIONS_TOTAL, "scope" => scope).increment(1);
    ApiError::TooManyRequests {
        limit: decision.limit,
        retry_after_secs: decision.retry_after_secs,
    }
}

fn exempt(request: &Request) -> bool {
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    preflight || EXEMPT.contains(&request.uri().path())
}

/// What the middleware needs: the limiter, and the CORS policy that its 429s follow.
#[derive(Debug, Clone)]
pub struct LayerState {
    pub limiter: Arc<RateLimiter>,
    /// `None` when CORS is off (no origin allowed).
    pub cors: Option<Arc<CorsPolicy>>,
}

/// The middleware.
pub async fn layer(State(state): State<LayerState>, request: Request, next: Next) -> Response {
    let limiter = &state.limiter;
    if !limiter.enabled() || exempt(&request) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = limiter.client_ip(peer, request.headers());
    let decision = limiter.check_ip(ip).await;
    if !decision.allowed {
        tracing::info!(client_ip = %ip, "rate limited");
        let mut response = too_many(decision, "ip").into_response();
        // Made outside the CORS layer: the same headers it would add, from the same policy.
        if let Some(cors) = &state.cors {
            cors.decorate(request.headers(), response.headers_mut());
        }
        return response;
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if !headers.contains_key(&X_RATELIMIT_LIMIT) {
        headers.insert(X_RATELIMIT_LIMIT.clone(), HeaderValue::from(decision.limit));
        headers.insert(
            X_RATELIMIT_REMAINING.clone(),
            HeaderValue::from(decision.remaining),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32, max_keys: usize) -> RateLimiter {
        RateLimiter::new(
            RateLimitSettings {
                per_ip: Quota::new(per_minute, burst),
                max_keys,
                ..Default::default()
            },
            Vec::new(),
        )
    }

    #[test]
    fn burst_then_refill() {
        let l = limiter(60, 3, 1000);
        let ip = IpAddr::from([10, 0, 0, 1]);
        let remaining: Vec<_> = (0..3).map(|_| l.check_ip_at(ip, 0).remaining).collect();
        assert_eq!(remaining, [2, 1, 0]);
        let refused = l.check_ip_at(ip, 0);
        assert!(!refused.allowed);
        assert_eq!(refused.retry_after_secs, 1);
        assert!(!l.check_ip_at(ip, 999).allowed);
        assert!(l.check_ip_at(ip, 2_000).allowed);
    }

    #[test]
    fn memory_is_bounded_and_idle_keys_go() {
        let l = limiter(60, 10, 1_600);
        for i in 0..50_000u32 {
            l.check_ip_at(IpAddr::from(i.to_be_bytes()), u64::from(i));
        }
        assert!(l.tracked_keys().0 <= 1_600, "{:?}", l.tracked_keys());
        // Ten seconds refill a bucket of 10 at 1/s: everything older than that is swept.
        let later = 50_000 + 10_000;
        for i in 0..2_000u32 {
            l.check_ip_at(IpAddr::from((i + 1_000_000).to_be_bytes()), later);
        }
        assert!(l.tracked_keys().0 <= 1_600);
    }

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

    #[tokio::test]
    async fn without_redis_checks_are_local() {
        let l = limiter(60, 2, 1000);
        assert!(!l.shared());
        let ip = IpAddr::from([10, 0, 0, 9]);
        assert!(l.check_ip(ip).await.allowed);
        assert!(l.check_ip(ip).await.allowed);
        assert!(!l.check_ip(ip).await.allowed);
        assert_eq!(l.tracked_keys().0, 1);
    }

    #[tokio::test]
    async fn an_unreachable_redis_falls_back_at_once() {
        // Port 1 on loopback: nothing listens there.
        let l = RateLimiter::new(
            RateLimitSettings {
                per_ip: Quota::new(60, 2),
                redis_url: Some("redis://127.0.0.1:1/".into()),
                ..Default::default()
            },
            Vec::new(),
        );
        assert!(l.shared());
        let ip = IpAddr::from([10, 0, 0, 8]);
        let started = Instant::now();
        let mut allowed = Vec::new();
        for _ in 0..3 {
            allowed.push(l.check_ip(ip).await.allowed);
        }
        assert_eq!(allowed, [true, true, false], "the local bucket counted");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert!(
            l.redis
                .as_ref()
                .unwrap()
                .paused_until_ms
                .load(Ordering::Relaxed)
                > 0,
            "Redis is left alone for a while"
        );
    }

    #[tokio::test]
    async fn a_silent_redis_is_timed_out() {
        // Accepts connections and never answers: every call must end at the timeout.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let held = tokio::spawn(async move {
            let mut sockets = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                sockets.push(socket);
            }
        });
        let l = RateLimiter::new(
            RateLimitSettings {
                per_ip: Quota::new(60, 2),
                redis_url: Some(format!("redis://127.0.0.1:{port}/").into()),
                redis_timeout_ms: 50,
                ..Default::default()
            },
            Vec::new(),
        );
        let ip = IpAddr::from([10, 0, 0, 7]);
        let started = Instant::now();
        assert!(l.check_ip(ip).await.allowed);
        assert!(
            started.elapsed() < Duration::from_millis(1_000),
            "{:?}",
            started.elapsed()
        );
        // Paused now: the next ones do not even wait.
        let started = Instant::now();
        assert!(l.check_ip(ip).await.allowed);
        assert!(!l.check_ip(ip).await.allowed);
        assert!(started.elapsed() < Duration::from_millis(50));
        held.abort();
    }

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxies: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("1.2.3.4, 10.0.0.7"),
        );
        let peer = IpAddr::from([10, 0, 0, 1]);
        assert_eq!(
            client_ip(Some(peer), &h, &proxies),
            IpAddr::from([1, 2, 3, 4])
        );
        let stranger = IpAddr::from([8, 8, 8, 8]);
        assert_eq!(client_ip(Some(stranger), &h, &proxies), stranger);
        assert_eq!(client_ip(Some(peer), &h, &[]), peer);
    }
}
