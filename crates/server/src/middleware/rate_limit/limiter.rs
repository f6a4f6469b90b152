//! The limiter shared by the middleware (per client IP) and the auth extractor (per user).

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::http::HeaderMap;
use grandma_shared::config::{Quota, RateLimitSettings};
use grandma_shared::metrics::RATE_LIMIT_BACKEND_ERRORS_TOTAL;
use grandma_store::Role;
use ipnet::IpNet;

use super::client_ip::client_ip;
use super::decision::Decision;
use super::local::{Buckets, SHARDS, full_refill_ms};
use super::redis::{REDIS_PAUSE_MS, REDIS_WARN_EVERY_MS, RedisBuckets, redis_key, warning_due};

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
}
