//! The store suite: every story runs on SQLite and on PostgreSQL (see `common::store_test!`).

#[macro_use]
mod common;

mod catalog;
mod changes;
mod drift;
mod indexes;
mod items;
mod jobs;
mod migrations;
mod pubsub;
mod queue;
mod schedules;
mod users;
mod webhooks;
mod workers;
