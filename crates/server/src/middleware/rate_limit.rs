//! Rate limits (fourth layer): a token bucket per client IP, and one per authenticated user
//! sized by role (checked by the auth extractor, which knows the user).
//!
//! Buckets live in sharded maps with a cap on the keys: a bucket that has refilled completely is
//! the same as no bucket, so idle keys are swept; when a shard is still full, its least recently
//! seen tenth goes. Health probes, `/metrics` and CORS preflights are not limited.
//! `X-Forwarded-For` is believed only from a peer in the trusted proxy networks, and then read
//! from the right, skipping further trusted proxies.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use grandma_store::Role;
use ipnet::IpNet;

use crate::error::ApiError;
use crate::metrics::RATE_LIMIT_REJECTIONS_TOTAL;
use crate::middleware::config::{Quota, RateLimitSettings};

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

/// The limiter shared by the middleware and the auth extractor.
#[derive(Debug)]
pub struct RateLimiter {
    settings: RateLimitSettings,
    epoch: Instant,
    ips: Buckets<IpAddr>,
    users: Buckets<uuid::Uuid>,
}

impl RateLimiter {
    pub fn new(settings: RateLimitSettings) -> Self {
        let ip_idle = full_refill_ms(settings.per_ip);
        let user_idle = [settings.admin, settings.user, settings.readonly]
            .into_iter()
            .map(full_refill_ms)
            .max()
            .unwrap_or(60_000);
        RateLimiter {
            ips: Buckets::new(settings.max_keys, ip_idle),
            users: Buckets::new((settings.max_keys / 4).max(SHARDS), user_idle),
            epoch: Instant::now(),
            settings,
        }
    }

    pub fn enabled(&self) -> bool {
        self.settings.enabled
    }

    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    /// Takes a token from the client IP's bucket.
    pub fn check_ip(&self, ip: IpAddr) -> Decision {
        self.check_ip_at(ip, self.now_ms())
    }

    /// [`RateLimiter::check_ip`] at a given time (milliseconds since the limiter started).
    pub fn check_ip_at(&self, ip: IpAddr, now_ms: u64) -> Decision {
        self.ips.check(ip, self.settings.per_ip, now_ms)
    }

    /// Takes a token from the user's bucket, sized by their role.
    pub fn check_user(&self, user_id: uuid::Uuid, role: Role) -> Decision {
        let quota = match role {
            Role::Admin => self.settings.admin,
            Role::User => self.settings.user,
            Role::Readonly => self.settings.readonly,
        };
        self.users.check(user_id, quota, self.now_ms())
    }

    /// Keys remembered now (IPs, users).
    pub fn tracked_keys(&self) -> (usize, usize) {
        (self.ips.len(), self.users.len())
    }

    /// The client's address: the peer, or when the peer is a trusted proxy, the right-most
    /// `X-Forwarded-For` entry that is not a trusted proxy itself.
    pub fn client_ip(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> IpAddr {
        client_ip(peer, headers, &self.settings.trusted_proxies)
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

/// The middleware.
pub async fn layer(
    State(limiter): State<std::sync::Arc<RateLimiter>>,
    request: Request,
    next: Next,
) -> Response {
    if !limiter.enabled() || exempt(&request) {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let ip = limiter.client_ip(peer, request.headers());
    let decision = limiter.check_ip(ip);
    if !decision.allowed {
        tracing::info!(client_ip = %ip, "rate limited");
        return too_many(decision, "ip").into_response();
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
        RateLimiter::new(RateLimitSettings {
            per_ip: Quota::new(per_minute, burst),
            max_keys,
            ..Default::default()
        })
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
