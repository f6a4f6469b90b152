//! Teams (organizations): the list of the user's teams with the form that starts a new one
//! (`/orgs`), and a team's page (`/orgs/{id}`): its members and their roles, the invitations
//! not answered yet, and renaming, deleting or leaving it.
//! Pages read through the store after [`crate::auth::authorize`] allowed it, as the API does; every change
//! is made by `team.js` through the organizations API, which authorizes it the same way.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use grandma_store::{JobFilter, OrgRole, Paging, Role};
use uuid::Uuid;

use crate::auth::{Action, ApiScope, Target};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::view::{When, plural};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/orgs", get(teams_page))
        .route("/orgs/{id}", get(team_page))
}

/// A role as the pages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleView(pub OrgRole);

impl RoleView {
    /// Every role, most powerful first, as the role pickers list them.
    pub const ALL: [RoleView; 3] = [
        RoleView(OrgRole::Owner),
        RoleView(OrgRole::Editor),
        RoleView(OrgRole::Viewer),
    ];

    /// The API's name (`editor`).
    pub fn name(&self) -> &'static str {
        match self.0 {
            OrgRole::Owner => "owner",
            OrgRole::Editor => "editor",
            OrgRole::Viewer => "viewer",
        }
    }

    /// The name in a sentence's start or a list (`Editor`).
    pub fn title(&self) -> &'static str {
        match self.0 {
            OrgRole::Owner => "Owner",
            OrgRole::Editor => "Editor",
            OrgRole::Viewer => "Viewer",
        }
    }

    /// What the role lets a person do, to follow "as an editor, you ".
    pub fn powers(&self) -> &'static str {
        match self.0 {
            OrgRole::Owner => "manage the team, its members and its scrapes",
            OrgRole::Editor => "make, change and run the team's scrapes",
            OrgRole::Viewer => "see the team's scrapes and download their rows",
        }
    }

    /// "an owner", "an editor", "a viewer".
    pub fn with_article(&self) -> &'static str {
        match self.0 {
            OrgRole::Owner => "an owner",
            OrgRole::Editor => "an editor",
            OrgRole::Viewer => "a viewer",
        }
    }
}

/// The name a team goes by for `viewer`: "Personal" for the one made with their account.
pub fn team_name(org: &grandma_store::Org, viewer: Uuid) -> String {
    if org.personal_of == Some(viewer) {
        "Personal".to_owned()
    } else {
        org.name.clone()
    }
}

/// One of the user's teams, as the pickers of the home page and the wizard list them.
#[derive(Debug, Clone)]
pub struct TeamChoice {
    pub id: Uuid,
    pub name: String,
    pub role: RoleView,
}

/// The user's teams, "Personal" first and the others by name.
pub async fn team_choices(state: &AppState, user: &WebUser) -> Result<Vec<TeamChoice>, WebError> {
    let me = user.user.user_id;
    let mut teams: Vec<(bool, TeamChoice)> = state
        .store
        .list_orgs_of(me)
        .await?
        .into_iter()
        .map(|m| {
            (
                m.org.personal_of != Some(me),
                TeamChoice {
                    id: m.org.org_id,
                    name: team_name(&m.org, me),
                    role: RoleView(m.role),
                },
            )
        })
        .collect();
    teams.sort_by_key(|(shared, team)| (*shared, team.name.to_lowercase()));
    Ok(teams.into_iter().map(|(_, t)| t).collect())
}

#[derive(Template)]
#[template(path = "web/teams.html")]
struct TeamsPage {
    layout: Layout,
    teams: Vec<TeamChoice>,
    /// For an instance administrator, every shared team of the site (personal ones open from
    /// the users page), so that any team's usage and limits are in reach; else empty.
    every_team: Vec<(Uuid, String)>,
}

async fn teams_page(State(state): State<AppState>, user: WebUser) -> Result<Response, WebError> {
    let teams = team_choices(&state, &user).await?;
    let may_create = user.authorize(Target::Account, Action::CreateOrg).is_ok();
    let every_team = if user
        .authorize(Target::Instance, Action::ListEveryOrg)
        .is_ok()
    {
        state
            .store
            .list_all_orgs()
            .await?
            .into_iter()
            .filter(|org| org.personal_of.is_none())
            .map(|org| (org.org_id, org.name))
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&TeamsPage {
        layout: user.layout(Nav::Teams).writes_if(may_create),
        teams,
        every_team,
    }))
}

struct MemberView {
    id: Uuid,
    email: String,
    name: String,
    role: RoleView,
    since: When,
    is_me: bool,
}

struct InvitationView {
    id: Uuid,
    email: String,
    role: RoleView,
    expires: When,
    expired: bool,
}

#[derive(Template)]
#[template(path = "web/team.html")]
struct TeamPage {
    layout: Layout,
    id: Uuid,
    name: String,
    personal: bool,
    my_id: Uuid,
    my_role: RoleView,
    is_owner: bool,
    /// Whether the viewer is a member (an instance administrator may look without being one).
    is_member: bool,
    members: Vec<MemberView>,
    invitations: Vec<InvitationView>,
    roles: [RoleView; 3],
    /// "7 days": how long an invitation's link works.
    invitation_days: String,
    /// "3 scrapes", for the deletion's warning.
    jobs_words: String,
    /// What the team uses of each of its limits.
    usage: Vec<UsageView>,
    /// Whether the viewer may give the team limits of its own (an instance administrator).
    sets_limits: bool,
    /// Whether the viewer may make API tokens that act in this team.
    makes_tokens: bool,
    /// The viewer's unrevoked API tokens for this team, newest first.
    tokens: Vec<TokenView>,
    /// The scopes a new token may be given, in the order they are offered (`admin` only to
    /// an instance administrator).
    scopes: Vec<ApiScope>,
}

/// One of the viewer's API tokens for the team.
struct TokenView {
    id: Uuid,
    name: String,
    prefix: String,
    /// What it may do, in words.
    can: String,
    expires: Option<When>,
    expired: bool,
    last_used: Option<When>,
}

impl TeamPage {
    /// Whether a new token gets `scope` ticked: reading the scrapes and their rows.
    fn ticked(&self, scope: &ApiScope) -> bool {
        matches!(scope, ApiScope::JobsRead | ApiScope::ResultsRead)
    }
}

/// One limit of a team as shown: what it counts, how much is used, the limit.
struct UsageView {
    what: &'static str,
    used: String,
    limit: String,
    /// At or over the limit: the next one is refused.
    full: bool,
    /// The limit's name in the quotas API: `max_jobs`, `max_runs_per_day`, ...
    field: String,
    /// The team's own limit as a plain number; empty when it has the site's default.
    own: String,
    /// The site's default limit, in words.
    default: String,
}

impl UsageView {
    fn of(standing: crate::quota::Standing, defaults: &grandma_store::QuotaLimits) -> UsageView {
        use grandma_store::QuotaKind;
        UsageView {
            field: format!("max_{}", standing.kind.as_str()),
            own: if standing.own_limit {
                standing.limit.to_string()
            } else {
                String::new()
            },
            default: grandma_store::grouped(defaults.of(standing.kind)),
            what: match standing.kind {
                QuotaKind::Jobs => "Scrapes",
                QuotaKind::RunsPerDay => "Runs started in the last 24 hours",
                QuotaKind::ConcurrentRuns => "Runs at the same time",
                QuotaKind::StoredItems => "Rows kept from runs",
                QuotaKind::Schedules => "Schedules",
            },
            used: grandma_store::grouped(standing.used),
            limit: grandma_store::grouped(standing.limit),
            full: standing.used >= standing.limit,
        }
    }
}

async fn team_page(
    State(state): State<AppState>,
    user: WebUser,
    Path(id): Path<String>,
) -> Result<Response, WebError> {
    let org_id: Uuid = id.parse().map_err(|_| WebError::NotFound)?;
    user.authorize(Target::Org(org_id), Action::ReadOrg)?;
    let org = state.store.get_org(org_id).await?;
    // A personal team is its user's alone: nobody is invited into it, and its one owner stays.
    let manages = org.personal_of.is_none()
        && user
            .authorize(Target::Org(org_id), Action::ManageMembers)
            .is_ok();
    let my_role = user
        .caller()
        .role_in(org_id)
        .map(RoleView)
        .ok_or(WebError::NotFound)?;
    let me = user.user.user_id;
    let members = state
        .store
        .list_members(org_id)
        .await?
        .into_iter()
        .map(|m| MemberView {
            id: m.user_id,
            is_me: m.user_id == me,
            email: m.email,
            name: m.username.unwrap_or_default(),
            role: RoleView(m.role),
            since: When::of(m.created_at),
        })
        .collect::<Vec<_>>();
    let is_member = members.iter().any(|m| m.is_me);
    let now = Utc::now();
    let invitations = if manages {
        state
            .store
            .list_invitations(org_id)
            .await?
            .into_iter()
            .filter(|i| i.accepted_at.is_none())
            .map(|i| InvitationView {
                id: i.invitation_id,
                email: i.email,
                role: RoleView(i.role),
                expires: When::of(i.expires_at),
                expired: i.expires_at <= now,
            })
            .collect()
    } else {
        Vec::new()
    };
    let jobs = state
        .store
        .list_jobs(
            user.scope().in_org(org_id),
            &JobFilter::default(),
            Paging::new(1, 0),
        )
        .await?
        .total;
    let hours = i64::from(state.settings.orgs.invitation_ttl_hours);
    let defaults = crate::quota::defaults(&state);
    let usage = crate::quota::standing(&state, org_id)
        .await?
        .into_iter()
        .map(|standing| UsageView::of(standing, &defaults))
        .collect();
    let sets_limits = user
        .authorize(Target::Instance, Action::ManageQuotas)
        .is_ok();
    let makes_tokens = is_member
        && user
            .authorize(Target::Org(org_id), Action::ManageAccount)
            .is_ok();
    let tokens = if makes_tokens {
        state
            .store
            .list_api_tokens(me)
            .await?
            .into_iter()
            .filter(|t| t.org_id == org_id && t.revoked_at.is_none())
            .map(|t| TokenView {
                id: t.token_id,
                can: t
                    .scopes
                    .iter()
                    .filter_map(|s| s.parse::<ApiScope>().ok())
                    .map(|s| s.words())
                    .collect::<Vec<_>>()
                    .join("; "),
                name: t.name,
                prefix: t.prefix,
                expires: t.expires_at.map(When::of),
                expired: t.expires_at.is_some_and(|at| at <= now),
                last_used: t.last_used_at.map(When::of),
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(render(&TeamPage {
        layout: user.layout(Nav::Teams),
        id: org_id,
        name: team_name(&org, me),
        personal: org.personal_of.is_some(),
        my_id: me,
        my_role,
        is_owner: manages,
        is_member,
        members,
        invitations,
        roles: RoleView::ALL,
        invitation_days: lifetime_words(hours),
        jobs_words: plural(jobs, "scrape", "scrapes"),
        usage,
        sets_limits,
        makes_tokens,
        tokens,
        scopes: ApiScope::ALL
            .into_iter()
            .filter(|scope| *scope != ApiScope::Admin || user.user.role == Role::Admin)
            .collect(),
    }))
}

/// How long an invitation works, in words: "7 days", "1 day", "12 hours".
fn lifetime_words(hours: i64) -> String {
    if hours >= 24 && hours % 24 == 0 {
        plural(hours / 24, "day", "days")
    } else {
        plural(hours, "hour", "hours")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_in_words() {
        assert_eq!(lifetime_words(168), "7 days");
        assert_eq!(lifetime_words(24), "1 day");
        assert_eq!(lifetime_words(36), "36 hours");
    }
}
