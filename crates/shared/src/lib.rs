//! What GrandmaScraper's API (`grandma-server`) and workers (`grandma-worker`) both use, so
//! that neither depends on the other: the one configuration, the account service, the
//! webhook wire format and sender, cron schedules and the names of every metric.

pub mod accounts;
pub mod config;
pub mod cron;
pub mod metrics;
pub mod random;
pub mod webhook;

pub use config::Settings;
