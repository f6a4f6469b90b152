//! Small value types shared by the store files: text enums, scoping, paging, redacted secrets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The SQL condition keeping the rows a [`Scope`] may see, bound as `.bind(scope.member_of())`
/// and `.bind(scope.only_org())` to the two placeholders given. An optional first argument
/// names the table alias whose `org_id` is meant.
macro_rules! in_scope {
    ($member:literal, $org:literal) => {
        in_scope!("", $member, $org)
    };
    ($alias:literal, $member:literal, $org:literal) => {
        concat!(
            "(",
            $member,
            " is null or ",
            $alias,
            "org_id in (select org_id from org_member where user_id = ",
            $member,
            ")) and (",
            $org,
            " is null or ",
            $alias,
            "org_id = ",
            $org,
            ")"
        )
    };
}

/// Who is asking: scoped reads answer [`crate::StoreError::NotFound`] for rows of other
/// organizations. Rows belong to an organization (`org_id`); a scope is the organizations a
/// member belongs to, narrowed to one organization or not, or every row for instance admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    member: Option<Uuid>,
    org: Option<Uuid>,
}

impl Scope {
    /// Every row: instance administrators.
    pub const fn all() -> Self {
        Scope {
            member: None,
            org: None,
        }
    }

    /// Rows of every organization `user_id` is a member of.
    pub const fn member(user_id: Uuid) -> Self {
        Scope {
            member: Some(user_id),
            org: None,
        }
    }

    /// Only rows of `org_id` within this scope: a member's rows of one of their organizations,
    /// or an administrator's rows of any one organization.
    pub const fn in_org(self, org_id: Uuid) -> Self {
        Scope {
            member: self.member,
            org: Some(org_id),
        }
    }

    /// The member whose organizations bound the rows, `None` for administrators.
    pub const fn member_of(self) -> Option<Uuid> {
        self.member
    }

    /// The one organization the rows are narrowed to, if any.
    pub const fn only_org(self) -> Option<Uuid> {
        self.org
    }
}

/// One page of a listing plus the total number of matching rows (for the UI's pager).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
}

/// Limit and offset of a listing. Limits are clamped to 1..=1000 so no request reads a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    pub limit: i64,
    pub offset: i64,
}

impl Paging {
    pub const MAX_LIMIT: i64 = 1000;

    pub fn new(limit: i64, offset: i64) -> Self {
        Paging {
            limit: limit.clamp(1, Self::MAX_LIMIT),
            offset: offset.max(0),
        }
    }
}

impl Default for Paging {
    fn default() -> Self {
        Paging::new(50, 0)
    }
}

/// A value that must not appear in logs (`Debug` prints `***`), stored as text.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Self {
        Secret(s)
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

/// The error of parsing an unknown enum spelling read from the database or a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?} (expected {expected})")]
pub struct UnknownVariant {
    pub kind: &'static str,
    pub value: String,
    /// The accepted spellings.
    pub expected: String,
}

/// Declares a text-stored enum: `as_str`, `FromStr`, `Display`, serde as the same spelling, and
/// sqlx `Type`/`Encode`/`Decode` for any database whose `str` is text — so one definition serves
/// both backends and the spelling lives in one place.
macro_rules! text_enum {
    (
        #[doc = $doc:literal]
        $(#[$meta:meta])*
        $name:ident ($kind:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        #[doc = $doc]
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        // Written by hand: the derive does not see a `serde(rename)` whose text comes from a
        // macro argument, and would document the Rust variant names instead of the spellings.
        #[cfg(feature = "schema")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .enum_values(Some([$($text),+]))
                    .description(Some($doc.trim()))
                    .into()
            }
        }

        #[cfg(feature = "schema")]
        impl utoipa::ToSchema for $name {}

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// Every spelling, for messages: `` `a`, `b` or `c` ``.
            pub fn spellings() -> String {
                let all: Vec<String> = Self::ALL.iter().map(|v| format!("`{}`", v.as_str())).collect();
                match all.split_last() {
                    Some((last, [])) => last.clone(),
                    Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
                    None => String::new(),
                }
            }

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = UnknownVariant;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownVariant {
                        kind: $kind,
                        value: s.to_owned(),
                        expected: Self::spellings(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB: sqlx::Database> sqlx::Type<DB> for $name where str: sqlx::Type<DB> {
            fn type_info() -> DB::TypeInfo {
                <str as sqlx::Type<DB>>::type_info()
            }
            fn compatible(ty: &DB::TypeInfo) -> bool {
                <str as sqlx::Type<DB>>::compatible(ty)
            }
        }

        impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for $name
        where
            &'q str: sqlx::Encode<'q, DB>,
        {
            fn encode_by_ref(
                &self,
                buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&'q str as sqlx::Encode<'q, DB>>::encode(self.as_str(), buf)
            }
        }

        impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for $name
        where
            &'r str: sqlx::Decode<'r, DB>,
        {
            fn decode(
                value: <DB as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&'r str as sqlx::Decode<'r, DB>>::decode(value)?;
                Ok(text.parse::<$name>()?)
            }
        }
    };
}

text_enum! {
    /// A user's role: admins manage everything, users their own rows, readonly users only read.
    Role ("role") { Admin = "admin", User = "user", Readonly = "readonly" }
}

text_enum! {
    /// A member's role in an organization: viewers read and download; editors also change
    /// jobs, runs, schedules and webhooks; owners also manage members and the organization.
    OrgRole ("organization role") { Owner = "owner", Editor = "editor", Viewer = "viewer" }
}

impl OrgRole {
    /// Whether this role includes everything `needed` may do.
    pub fn includes(self, needed: OrgRole) -> bool {
        self.rank() >= needed.rank()
    }

    fn rank(self) -> u8 {
        match self {
            OrgRole::Viewer => 0,
            OrgRole::Editor => 1,
            OrgRole::Owner => 2,
        }
    }
}

text_enum! {
    /// The life of a run: pending → running → completed | failed | cancelled.
    RunStatus ("run status") {
        Pending = "pending",
        Running = "running",
        Completed = "completed",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

impl RunStatus {
    /// Completed, failed and cancelled runs never change again.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            RunStatus::Completed | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

text_enum! {
    /// What a schedule does when its previous run is still pending or running.
    OverlapPolicy ("overlap policy") { Skip = "skip", Queue = "queue" }
}

text_enum! {
    /// The state of one webhook delivery.
    DeliveryStatus ("delivery status") {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
        Retrying = "retrying",
    }
}

text_enum! {
    /// What happened to an item between a run and the previous completed run of its job.
    ChangeKind ("change kind") {
        /// Its key was not in the previous run.
        New = "new",
        /// Its key was there with other values.
        Changed = "changed",
        /// The previous run had its key; this one does not.
        Removed = "removed",
    }
}

text_enum! {
    /// The events a webhook can subscribe to.
    WebhookEvent ("webhook event") {
        JobStarted = "job.started",
        JobCompleted = "job.completed",
        JobFailed = "job.failed",
        JobCancelled = "job.cancelled",
        /// A completed run's items differ from the previous completed run's.
        JobItemsChanged = "job.items_changed",
    }
}

impl WebhookEvent {
    /// The event announcing that a run ended with `status`, if it is terminal.
    pub fn for_final_status(status: RunStatus) -> Option<Self> {
        match status {
            RunStatus::Completed => Some(WebhookEvent::JobCompleted),
            RunStatus::Failed => Some(WebhookEvent::JobFailed),
            RunStatus::Cancelled => Some(WebhookEvent::JobCancelled),
            RunStatus::Pending | RunStatus::Running => None,
        }
    }
}

impl<DB: sqlx::Database> sqlx::Type<DB> for Secret
where
    String: sqlx::Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <String as sqlx::Type<DB>>::type_info()
    }
    fn compatible(ty: &DB::TypeInfo) -> bool {
        <String as sqlx::Type<DB>>::compatible(ty)
    }
}

impl<'q, DB: sqlx::Database> sqlx::Encode<'q, DB> for Secret
where
    String: sqlx::Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as sqlx::Database>::ArgumentBuffer,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        <String as sqlx::Encode<'q, DB>>::encode_by_ref(&self.0, buf)
    }
}

impl<'r, DB: sqlx::Database> sqlx::Decode<'r, DB> for Secret
where
    String: sqlx::Decode<'r, DB>,
{
    fn decode(
        value: <DB as sqlx::Database>::ValueRef<'r>,
    ) -> Result<Self, sqlx::error::BoxDynError> {
        Ok(Secret(<String as sqlx::Decode<'r, DB>>::decode(value)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_spelling() {
        for s in RunStatus::ALL {
            assert_eq!(s.as_str().parse::<RunStatus>().unwrap(), *s);
        }
        assert_eq!(WebhookEvent::JobCompleted.as_str(), "job.completed");
        assert!("boss".parse::<Role>().is_err());
        assert_eq!(
            serde_json::to_string(&DeliveryStatus::Retrying).unwrap(),
            "\"retrying\""
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug() {
        assert_eq!(format!("{:?}", Secret::from("hunter2")), "***");
    }

    #[test]
    fn paging_is_clamped() {
        assert_eq!(
            Paging::new(0, -5),
            Paging {
                limit: 1,
                offset: 0
            }
        );
        assert_eq!(Paging::new(10_000, 3).limit, Paging::MAX_LIMIT);
    }
}
