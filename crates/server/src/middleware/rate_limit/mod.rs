//! Rate limits (fourth layer): a token bucket per client IP, and one per authenticated user
//! sized by role (checked by the auth extractor, which knows the user).
//!
//! Buckets live in sharded maps with a cap on the keys: a bucket that has refilled completely is
//! the same as no bucket, so idle keys are swept; when a shard is still full, its least recently
//! seen tenth goes. Health probes, `/metrics` and CORS preflights are not limited.
//! `X-Forwarded-For` is believed only from a peer in the trusted proxy networks, and then read
//! from the right, skipping further trusted proxies.
//!
//! A 429 of this layer is made outside the CORS layer (the order of the stack: request ID, metrics, gzip, rate limits, CORS), so it gets the CORS
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

mod client_ip;
pub(crate) mod decision;
mod layer;
mod limiter;
mod local;
mod redis;

pub use client_ip::client_ip;
pub use decision::{Decision, X_RATELIMIT_LIMIT, X_RATELIMIT_REMAINING, too_many};
pub use layer::{LayerState, layer};
pub use limiter::RateLimiter;
pub use redis::REDIS_SCRIPT;
