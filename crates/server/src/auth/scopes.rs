//! The scopes an API token may be limited to (`jobs:read`, `runs:write`, ...), by name.

use std::fmt;
use std::str::FromStr;

/// What an API token may be limited to. JWTs and web sessions hold every scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiScope {
    JobsRead,
    JobsWrite,
    RunsWrite,
    ResultsRead,
    SchedulesRead,
    SchedulesWrite,
    WebhooksRead,
    WebhooksWrite,
    OrgRead,
    OrgWrite,
    Admin,
}

impl ApiScope {
    /// Every scope, in the order listings show them.
    pub const ALL: [ApiScope; 11] = [
        ApiScope::JobsRead,
        ApiScope::JobsWrite,
        ApiScope::RunsWrite,
        ApiScope::ResultsRead,
        ApiScope::SchedulesRead,
        ApiScope::SchedulesWrite,
        ApiScope::WebhooksRead,
        ApiScope::WebhooksWrite,
        ApiScope::OrgRead,
        ApiScope::OrgWrite,
        ApiScope::Admin,
    ];

    /// The name as written in requests and stored with the token (`runs:write`).
    pub fn as_str(self) -> &'static str {
        match self {
            ApiScope::JobsRead => "jobs:read",
            ApiScope::JobsWrite => "jobs:write",
            ApiScope::RunsWrite => "runs:write",
            ApiScope::ResultsRead => "results:read",
            ApiScope::SchedulesRead => "schedules:read",
            ApiScope::SchedulesWrite => "schedules:write",
            ApiScope::WebhooksRead => "webhooks:read",
            ApiScope::WebhooksWrite => "webhooks:write",
            ApiScope::OrgRead => "org:read",
            ApiScope::OrgWrite => "org:write",
            ApiScope::Admin => "admin",
        }
    }

    /// What the scope lets a program do, in words, for the page that makes tokens.
    pub fn words(self) -> &'static str {
        match self {
            ApiScope::JobsRead => "See the scrapes",
            ApiScope::JobsWrite => "Make, change and delete scrapes",
            ApiScope::RunsWrite => "Start and cancel runs",
            ApiScope::ResultsRead => "Read runs and download their rows",
            ApiScope::SchedulesRead => "See the schedules",
            ApiScope::SchedulesWrite => "Make, change and delete schedules",
            ApiScope::WebhooksRead => "See the notifications",
            ApiScope::WebhooksWrite => "Make, change and delete notifications",
            ApiScope::OrgRead => "See the team and its members",
            ApiScope::OrgWrite => "Manage the team's members and invitations",
            ApiScope::Admin => "Administer the whole site (administrators only)",
        }
    }

    /// Every scope's name, for messages listing the valid ones.
    pub fn names() -> String {
        ApiScope::ALL
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ApiScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ApiScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        ApiScope::ALL
            .into_iter()
            .find(|scope| scope.as_str() == s)
            .ok_or_else(|| format!("unknown scope `{s}`: the scopes are {}", ApiScope::names()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_names_round_trip() {
        for scope in ApiScope::ALL {
            assert_eq!(scope.as_str().parse::<ApiScope>(), Ok(scope));
        }
        let unknown = "jobs:delete".parse::<ApiScope>().unwrap_err();
        assert!(unknown.contains("jobs:delete") && unknown.contains("runs:write"));
    }
}
