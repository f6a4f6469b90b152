//! `/orgs`: organizations, their members and invitations; `/invitations/accept`.
//!
//! Every account has a personal organization (its id is the account's id); shared ones are
//! made here, and their creator becomes their owner. Owners invite people by handing them a
//! link (no mail is sent): the invitation's secret is shown once, in the answer that creates
//! it, and works once, for the e-mail address it names, until it expires
//! (`[orgs] invitation_ttl_hours`). What each role may do is [`crate::auth::authorize`]'s.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use grandma_store::{
    Acceptance, Email, Invitation, MAX_ORG_NAME_CHARS, NewInvitation, Org, OrgMember, OrgRole,
};
use serde::{Deserialize, Serialize};
use tracing::instrument;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use uuid::Uuid;

use crate::auth::{Action, Caller, Target, authorize, tokens};
use crate::error::{ApiError, ApiResult, ErrorOut, ValidationErrorOut};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, rename_org, delete_org))
        .routes(routes!(list_members))
        .routes(routes!(change_member, remove_member))
        .routes(routes!(list_invitations, create_invitation))
        .routes(routes!(revoke_invitation))
        .routes(routes!(accept_invitation))
}

/// An organization as shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgOut {
    pub id: Uuid,
    pub name: String,
    /// Whether this is an account's personal organization (made with the account; it cannot
    /// be deleted or left).
    pub personal: bool,
    /// The caller's role in it (instance administrators act as owners everywhere).
    pub role: Option<OrgRole>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl OrgOut {
    fn of(org: Org, role: Option<OrgRole>) -> Self {
        OrgOut {
            id: org.org_id,
            personal: org.is_personal(),
            name: org.name,
            role,
            created_at: org.created_at,
            updated_at: org.updated_at,
        }
    }
}

/// A new organization, or a new name for one.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgIn {
    /// 1 to 100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
}

/// A member of an organization.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberOut {
    pub user_id: Uuid,
    pub email: String,
    pub username: Option<String>,
    pub role: OrgRole,
    /// When they joined.
    pub joined_at: DateTime<Utc>,
}

impl From<OrgMember> for MemberOut {
    fn from(m: OrgMember) -> Self {
        MemberOut {
            user_id: m.user_id,
            email: m.email,
            username: m.username,
            role: m.role,
            joined_at: m.created_at,
        }
    }
}

/// A member's new role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberIn {
    /// `owner`, `editor` or `viewer`.
    #[schema(value_type = OrgRole)]
    pub role: String,
}

/// An invitation to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InvitationIn {
    /// The address of the person invited: only an account with this address can accept.
    pub email: String,
    /// The role they get, `owner`, `editor` or `viewer` (default `viewer`).
    #[schema(value_type = Option<OrgRole>)]
    pub role: Option<String>,
}

/// An invitation as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationOut {
    pub id: Uuid,
    pub org_id: Uuid,
    pub email: String,
    pub role: OrgRole,
    pub invited_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    /// After this time it can no longer be accepted.
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub accepted_by: Option<Uuid>,
}

impl From<Invitation> for InvitationOut {
    fn from(i: Invitation) -> Self {
        InvitationOut {
            id: i.invitation_id,
            org_id: i.org_id,
            email: i.email,
            role: i.role,
            invited_by: i.invited_by,
            created_at: i.created_at,
            expires_at: i.expires_at,
            accepted_at: i.accepted_at,
            accepted_by: i.accepted_by,
        }
    }
}

/// An invitation just made: the only time its secret is shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvitationCreatedOut {
    #[serde(flatten)]
    pub invitation: InvitationOut,
    /// The secret; accept with `POST /invitations/accept`. Shown once; only its hash is kept.
    pub token: String,
    /// The web app's page that accepts it (`/invitations/{token}`), to pass on to the person
    /// invited: no mail is sent.
    pub link: String,
}

/// The secret of an invitation link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptIn {
    pub token: String,
}

/// The name of an organization, trimmed, or a 422 saying what is wrong with it.
fn org_name(name: &str) -> ApiResult<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 || chars > MAX_ORG_NAME_CHARS {
        return Err(ApiError::invalid(
            "name",
            format!("must have 1 to {MAX_ORG_NAME_CHARS} characters"),
        ));
    }
    Ok(name.to_owned())
}

/// A role named in a body, or a 422 listing the roles.
fn org_role(path: &str, text: &str) -> ApiResult<OrgRole> {
    text.trim()
        .parse()
        .map_err(|e: grandma_store::UnknownVariant| ApiError::invalid(path, e.to_string()))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrgListQuery {
    /// `true`: every organization of the installation, shared and personal, by name (instance
    /// administrators, to find a team whose quotas they change). Default `false`.
    #[serde(default)]
    pub all: bool,
}

/// The organizations of the caller, personal first, then by name (an API token: its own).
#[utoipa::path(get, path = "/orgs", tag = "Organizations", security(("bearer" = [])),
    params(OrgListQuery),
    responses(
        (status = 200, description = "The caller's organizations with their role in each", body = Vec<OrgOut>),
        (status = 403, description = "An API token without `org:read`; `all` asked by someone not an instance administrator", body = ErrorOut),
        (status = 422, description = "A malformed query", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn list_orgs(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<OrgListQuery>,
) -> ApiResult<Json<Vec<OrgOut>>> {
    authorize(&caller, Target::Account, Action::ReadOrg)?;
    if query.all {
        authorize(&caller, Target::Instance, Action::ListEveryOrg)?;
        let orgs = state.store.list_all_orgs().await?;
        return Ok(Json(
            orgs.into_iter()
                .map(|org| {
                    let role = caller.role_in(org.org_id);
                    OrgOut::of(org, role)
                })
                .collect(),
        ));
    }
    let orgs = state.store.list_orgs_of(caller.user.user_id).await?;
    Ok(Json(
        orgs.into_iter()
            .filter(|o| caller.sees_org(o.org.org_id))
            .map(|o| OrgOut::of(o.org, Some(o.role)))
            .collect(),
    ))
}

/// Creates a shared organization; the caller becomes its owner.
#[utoipa::path(post, path = "/orgs", tag = "Organizations", security(("bearer" = [])),
    request_body = OrgIn,
    responses(
        (status = 201, description = "Created", body = OrgOut),
        (status = 403, description = "Read-only account, or an API token without `org:write`", body = ErrorOut),
        (status = 422, description = "Invalid name", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<OrgIn>,
) -> ApiResult<(StatusCode, Json<OrgOut>)> {
    authorize(&caller, Target::Account, Action::CreateOrg)?;
    let name = org_name(&body.name)?;
    let org = state.store.create_org(&name, caller.user.user_id).await?;
    tracing::info!(org_id = %org.org_id, "organization created");
    Ok((
        StatusCode::CREATED,
        Json(OrgOut::of(org, Some(OrgRole::Owner))),
    ))
}

/// One organization.
#[utoipa::path(get, path = "/orgs/{id}", tag = "Organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "The organization", body = OrgOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn get_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<OrgOut>> {
    authorize(&caller, Target::Org(id), Action::ReadOrg)?;
    let org = state.store.get_org(id).await?;
    Ok(Json(OrgOut::of(org, caller.role_in(id))))
}

/// Renames an organization (owners).
#[utoipa::path(patch, path = "/orgs/{id}", tag = "Organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = OrgIn,
    responses(
        (status = 200, description = "Renamed", body = OrgOut),
        (status = 403, description = "Not an owner", body = ErrorOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
        (status = 422, description = "Invalid name", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn rename_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<OrgIn>,
) -> ApiResult<Json<OrgOut>> {
    authorize(&caller, Target::Org(id), Action::ChangeOrg)?;
    let name = org_name(&body.name)?;
    let org = state.store.rename_org(id, &name).await?;
    Ok(Json(OrgOut::of(org, caller.role_in(id))))
}

/// Deletes a shared organization with its jobs, runs, schedules, webhooks and API tokens
/// (owners). A personal organization goes only with its account: 409.
#[utoipa::path(delete, path = "/orgs/{id}", tag = "Organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an owner", body = ErrorOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
        (status = 409, description = "A personal organization", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn delete_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Target::Org(id), Action::ChangeOrg)?;
    state.store.delete_org(id).await?;
    tracing::info!("organization deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The members of an organization, owners first.
#[utoipa::path(get, path = "/orgs/{id}/members", tag = "Organizations", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "Members", body = Vec<MemberOut>),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<MemberOut>>> {
    authorize(&caller, Target::Org(id), Action::ReadOrg)?;
    let members = state.store.list_members(id).await?;
    Ok(Json(members.into_iter().map(Into::into).collect()))
}

/// Changes a member's role (owners). The last owner stays an owner: 409.
#[utoipa::path(patch, path = "/orgs/{id}/members/{user_id}", tag = "Organizations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("user_id" = Uuid, Path, description = "The member's user id"),
    ),
    request_body = MemberIn,
    responses(
        (status = 200, description = "The member with the new role", body = MemberOut),
        (status = 403, description = "Not an owner", body = ErrorOut),
        (status = 404, description = "No such organization of the caller, or no such member", body = ErrorOut),
        (status = 409, description = "The organization would have no owner left", body = ErrorOut),
        (status = 422, description = "Unknown role", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id, member_id = %member))]
pub async fn change_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, member)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<MemberIn>,
) -> ApiResult<Json<MemberOut>> {
    authorize(&caller, Target::Org(id), Action::ManageMembers)?;
    let role = org_role("role", &body.role)?;
    state.store.set_member_role(id, member, role).await?;
    let changed = state
        .store
        .list_members(id)
        .await?
        .into_iter()
        .find(|m| m.user_id == member)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(changed.into()))
}

/// Removes a member (owners), or leaves (any member, their own id).
///
/// The member's API tokens for the organization are revoked. The last owner cannot go, and
/// nobody leaves their personal organization: 409.
#[utoipa::path(delete, path = "/orgs/{id}/members/{user_id}", tag = "Organizations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("user_id" = Uuid, Path, description = "The member's user id (the caller's own: leave)"),
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an owner, removing someone else", body = ErrorOut),
        (status = 404, description = "No such organization of the caller, or no such member", body = ErrorOut),
        (status = 409, description = "The organization would have no owner left", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id, member_id = %member))]
pub async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, member)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    let action = if member == caller.user.user_id {
        Action::LeaveOrg
    } else {
        Action::ManageMembers
    };
    authorize(&caller, Target::Org(id), action)?;
    state.store.remove_member(id, member).await?;
    tracing::info!("member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// An organization's invitations, newest first, accepted and expired ones included (owners).
#[utoipa::path(get, path = "/orgs/{id}/invitations", tag = "Organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    responses(
        (status = 200, description = "Invitations", body = Vec<InvitationOut>),
        (status = 403, description = "Not an owner", body = ErrorOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn list_invitations(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Vec<InvitationOut>>> {
    authorize(&caller, Target::Org(id), Action::ManageMembers)?;
    let invitations = state.store.list_invitations(id).await?;
    Ok(Json(invitations.into_iter().map(Into::into).collect()))
}

/// Invites someone by e-mail address (owners). The answer holds the secret and the web
/// app's link, once: pass the link on to the person invited.
#[utoipa::path(post, path = "/orgs/{id}/invitations", tag = "Organizations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Organization id")),
    request_body = InvitationIn,
    responses(
        (status = 201, description = "Created, with its secret and link", body = InvitationCreatedOut),
        (status = 403, description = "Not an owner", body = ErrorOut),
        (status = 404, description = "No such organization of the caller", body = ErrorOut),
        (status = 422, description = "Invalid e-mail address or role", body = ValidationErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id))]
pub async fn create_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<InvitationIn>,
) -> ApiResult<(StatusCode, Json<InvitationCreatedOut>)> {
    authorize(&caller, Target::Org(id), Action::ManageMembers)?;
    let email = Email::parse(&body.email).map_err(|e| ApiError::invalid("email", e.to_string()))?;
    let role = match &body.role {
        Some(role) => org_role("role", role)?,
        None => OrgRole::Viewer,
    };
    let secret = tokens::generate_invitation();
    let hours = i64::from(state.settings.orgs.invitation_ttl_hours);
    let invitation = state
        .store
        .create_invitation(&NewInvitation {
            org_id: id,
            email,
            role,
            token_hash: tokens::hash(&secret),
            invited_by: caller.user.user_id,
            expires_at: Utc::now() + chrono::Duration::hours(hours),
        })
        .await?;
    tracing::info!(invitation_id = %invitation.invitation_id, "invitation created");
    Ok((
        StatusCode::CREATED,
        Json(InvitationCreatedOut {
            invitation: invitation.into(),
            link: format!("/invitations/{secret}"),
            token: secret,
        }),
    ))
}

/// Revokes an invitation not accepted yet (owners); its link stops working.
#[utoipa::path(delete, path = "/orgs/{id}/invitations/{invitation_id}", tag = "Organizations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Organization id"),
        ("invitation_id" = Uuid, Path, description = "Invitation id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "Not an owner", body = ErrorOut),
        (status = 404, description = "No such organization or pending invitation", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id, org_id = %id, invitation_id = %invitation))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((id, invitation)): ApiPath<(Uuid, Uuid)>,
) -> ApiResult<StatusCode> {
    authorize(&caller, Target::Org(id), Action::ManageMembers)?;
    state.store.revoke_invitation(id, invitation).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Accepts an invitation for the signed-in account, whose e-mail address must be the one
/// invited. An invitation works once and until it expires.
#[utoipa::path(post, path = "/invitations/accept", tag = "Organizations",
    security(("bearer" = [])),
    request_body = AcceptIn,
    responses(
        (status = 200, description = "Joined: the organization and the caller's role", body = OrgOut),
        (status = 403, description = "The invitation is for another e-mail address", body = ErrorOut),
        (status = 404, description = "No such invitation (never made, or revoked)", body = ErrorOut),
        (status = 409, description = "Expired, or accepted already", body = ErrorOut),
    ))]
#[instrument(skip_all, fields(user_id = %caller.user.user_id))]
pub async fn accept_invitation(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<AcceptIn>,
) -> ApiResult<Json<OrgOut>> {
    authorize(&caller, Target::Account, Action::JoinOrg)?;
    let acceptance = state
        .store
        .accept_invitation(
            &tokens::hash(body.token.trim()),
            caller.user.user_id,
            &caller.user.email,
        )
        .await?;
    match acceptance {
        Acceptance::Joined { org, role } => {
            tracing::info!(org_id = %org.org_id, %role, "invitation accepted");
            Ok(Json(OrgOut::of(org, Some(role))))
        }
        Acceptance::Unknown => Err(ApiError::NotFound),
        Acceptance::Expired { expired_at } => Err(ApiError::Conflict(format!(
            "this invitation expired on {}: ask an owner of the organization for a new one",
            expired_at.format("%Y-%m-%d %H:%M UTC")
        ))),
        Acceptance::AlreadyUsed => Err(ApiError::Conflict(
            "this invitation was accepted already: an invitation works once".into(),
        )),
        Acceptance::OtherEmail => Err(ApiError::Denied(
            "this invitation is for another e-mail address: sign in with the account it was \
             sent to, or ask an owner to invite this account's address"
                .into(),
        )),
    }
}
