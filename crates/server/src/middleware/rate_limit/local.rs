//! This process's own buckets: sharded maps with a cap on the keys.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Mutex;

use grandma_shared::config::Quota;

use super::decision::Decision;

pub(super) const SHARDS: usize = 16;

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
pub(super) struct Buckets<K> {
    shards: Box<[Mutex<Shard<K>>]>,
    hasher: std::collections::hash_map::RandomState,
    cap_per_shard: usize,
    /// After this long untouched, any bucket is full again and can be forgotten.
    idle_ms: u64,
}

pub(super) fn full_refill_ms(q: Quota) -> u64 {
    (u64::from(q.burst) * 60_000).div_ceil(u64::from(q.per_minute.max(1)))
}

impl<K: Hash + Eq + Copy> Buckets<K> {
    pub(super) fn new(max_keys: usize, idle_ms: u64) -> Self {
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

    pub(super) fn check(&self, key: K, quota: Quota, now_ms: u64) -> Decision {
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

    pub(super) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).map.len())
            .sum()
    }
}
