//! The store suite: every story runs on SQLite and on PostgreSQL (see `common::store_test!`).

#[macro_use]
mod common;

mod backup;
mod catalog;
mod changes;
mod drift;
mod hosts;
mod indexes;
mod items;
mod jobs;
mod leadership;
mod migrations;
mod org_migration;
mod orgs;
mod pages;
mod pubsub;
mod queue;
mod schedules;
mod sessions;
mod snapshots;
mod users;
mod webhooks;
mod workers;
