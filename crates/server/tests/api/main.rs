//! The API suite: every store-backed story runs against a real server on 127.0.0.1:0, once on
//! SQLite and once on PostgreSQL (see `common::api_test!`).

#[macro_use]
extern crate grandma_testkit;
#[macro_use]
mod common;

mod auth;
mod bad_input;
mod browser;
mod caching;
mod changes;
mod control_characters;
mod detect;
mod docs;
mod health;
mod jobs;
mod live_access;
mod org_matrix;
mod orgs;
mod preview;
mod production;
mod quotas;
mod rate_limit_redis;
mod results;
mod roles;
mod schedules;
mod snapshots;
mod token_scopes;
mod versions;
mod webhooks;
mod websocket;
