//! The web app's suite: pages, sessions, CSRF and roles against a real server on 127.0.0.1:0,
//! most of it through a real headless Chromium (`browser.rs`), the rest over HTTP.

mod app;
mod browser;
mod fixture;
mod support;

mod accessibility;
mod assets;
mod changes;
mod first_run;
mod forms;
mod job_edit;
mod job_page;
mod notifications;
mod roles;
mod schedules;
mod security;
mod sessions;
mod snapshot_inert;
mod teams;
mod wizard;
mod wizard_pages;
