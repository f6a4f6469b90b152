//! GrandmaScraper's data layer: one [`Store`] over SQLite (the embedded default) or PostgreSQL,
//! chosen by the database URL.
//!
//! - Schema: versioned, reversible migrations per dialect ([`Store::upgrade`],
//!   [`Store::downgrade`], [`new_revision`]); every named index on both databases.
//! - The run queue is the `result` table: [`Store::claim_with`] leases runs to workers,
//!   organizations taking turns, [`Store::save_page`] writes each page's items and checkpoint in one transaction.
//! - Webhook deliveries are an outbox written with the run's final status
//!   ([`Store::finish_run`]) and leased to dispatchers like runs.
//!
//! Every method is written once: the internal `dispatch!` macro expands each query body for both
//! pools so each is type-checked against its driver, and SQL differs only where the dialects do.
//! Row types (`User`, `Job`, `ResultRow`, …) are kept apart from input types (`NewUser`,
//! `JobIn`, …). Scoped methods take a [`Scope`]: rows of other owners answer
//! [`StoreError::NotFound`].

#[macro_use]
mod types;
#[macro_use]
mod db;
#[macro_use]
mod inserts;
#[macro_use]
mod usage;
#[macro_use]
mod deliveries;
pub mod backup;
#[macro_use]
mod changes;
#[macro_use]
mod retention;
mod email;
mod error;
mod explain;
mod filter;
mod hosts;
mod items;
mod jobs;
mod leadership;
mod migrate;
mod orgs;
mod pages;
mod pubsub;
mod quality;
mod queue;
mod results;
mod schedules;
mod sessions;
mod snapshots;
mod text;
mod tokens;
mod users;
mod webhooks;
mod workers;

pub use changes::{CHANGES_IN_WEBHOOK, ChangeCounts, FieldChange, ItemChange, changed_fields};
pub use db::{Backend, Store, StoreOptions, now, stored_time};
pub use deliveries::{
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryFilter, MAX_RESPONSE_BODY, NewDelivery,
    Verdict,
};
pub use email::{Email, InvalidEmail, MAX_EMAIL_CHARS};
pub use error::{Constraint, Result, StoreError};
pub use explain::QueryPlan;
pub use items::ItemRow;
pub use jobs::{Job, JobFilter, JobIn, JobOrder};
pub use leadership::Leadership;
pub use migrate::{DowngradeTarget, Revision, RevisionStatus, UpgradeTarget, new_revision};
pub use orgs::{
    Acceptance, Invitation, MAX_ORG_NAME_CHARS, NewInvitation, Org, OrgMember, OrgOfMember,
    OrgQuotas,
};
pub use pages::{CopiedItems, ReusablePages, RunPage};
pub use pubsub::{PubSub, RunCompletion, RunEvent, RunProgress};
pub use quality::{FieldFill, PageCount, RunQuality};
pub use queue::{Claim, ClaimLimits, CrawledPage, PageSaved, RunCounters, RunOutcome};
pub use results::{CancelOutcome, NewRun, ResultRow, RunFilter};
pub use schedules::{FireOutcome, Schedule, ScheduleIn};
pub use sessions::{NewWebSession, WebSession};
pub use snapshots::{NewSnapshot, Snapshot, SnapshotBounds, SnapshotUsage};
pub use text::{NUL_REPLACEMENT, nul_free};
pub use tokens::{ApiToken, NewApiToken};
pub use types::{
    ChangeKind, DeliveryStatus, OrgRole, OverlapPolicy, Page, Paging, Role, RunStatus, Scope,
    Secret, UnknownVariant, WebhookEvent,
};
pub use usage::{OrgUsage, QuotaExceeded, QuotaKind, QuotaLimits, RUNS_WINDOW, grouped};
pub use users::{NewUser, User, UserPatch};
pub use webhooks::{Webhook, WebhookIn, WebhookVersion};
pub use workers::Worker;

/// Re-exported so callers can name item types without depending on the engine directly.
pub use grandma_engine::{FieldValue, Item};
pub use uuid::Uuid;
