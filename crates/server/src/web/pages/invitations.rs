//! An invitation's page, `/invitations/{token}`: the link an owner passes on. Signed in, it
//! names the team and the role and offers to join (`team.js` accepts through the API, which
//! checks the invitation again); signed out, it asks to sign in or create an account and come
//! back. An invitation that expired, was used, was withdrawn or is meant for another address
//! gets a sentence saying what happened and what to do.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use chrono::Utc;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::MaybeWebUser;
use crate::web::layout::{Layout, Nav, render_status};
use crate::web::pages::teams::RoleView;
use crate::web::pages::view::When;

pub fn router() -> Router<AppState> {
    Router::new().route("/invitations/{token}", get(invitation_page))
}

/// What the page offers after its sentences.
#[derive(Debug)]
pub enum InvitationAction {
    /// Join, with the secret the API needs.
    Accept {
        token: String,
        org_id: Uuid,
        org_name: String,
    },
    /// Sign in or sign up, then come back to `next` (already URL-encoded).
    SignIn {
        next: String,
    },
    /// The visitor is a member already.
    OpenTeam {
        org_id: Uuid,
    },
    /// Signed in with another address than the invited one: sign out, then sign in and
    /// come back to `next` (a path).
    SignOut {
        next: String,
    },
    Home,
}

#[derive(Template)]
#[template(path = "web/invitation.html")]
struct InvitationPage {
    layout: Layout,
    heading: String,
    /// For an expired invitation: the team, and when the link stopped working (shown in the
    /// reader's time zone, before `lines`).
    expired: Option<(String, When)>,
    lines: Vec<String>,
    action: InvitationAction,
}

/// The stored form of an invitation's secret: hex SHA-256, as the API stores it.
fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn invitation_page(
    State(state): State<AppState>,
    MaybeWebUser(user): MaybeWebUser,
    Path(token): Path<String>,
) -> Result<Response, WebError> {
    let layout = match &user {
        Some(user) => user.layout(Nav::None),
        None => Layout::anonymous(),
    };
    let page = |status: StatusCode, heading: &str, lines: Vec<String>, action| {
        render_status(
            status,
            &InvitationPage {
                layout: layout.clone(),
                heading: heading.to_owned(),
                expired: None,
                lines,
                action,
            },
        )
    };
    let not_valid = || {
        page(
            StatusCode::NOT_FOUND,
            "This invitation link does not work",
            vec![
                "It may have been withdrawn, or only part of the link was copied.".into(),
                "Ask the person who invited you to send the link again.".into(),
            ],
            InvitationAction::Home,
        )
    };
    // A token is the 64 characters the API made; anything else cannot be one.
    if token.len() > 200
        || !token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Ok(not_valid());
    }
    let invitation = match state
        .store
        .get_invitation_by_hash(&token_hash(&token))
        .await
    {
        Ok(invitation) => invitation,
        Err(grandma_store::StoreError::NotFound) => return Ok(not_valid()),
        Err(error) => return Err(error.into()),
    };
    let org = match state.store.get_org(invitation.org_id).await {
        Ok(org) => org,
        Err(grandma_store::StoreError::NotFound) => return Ok(not_valid()),
        Err(error) => return Err(error.into()),
    };
    let role = RoleView(invitation.role);
    let team = org.name.clone();
    let next: String =
        url::form_urlencoded::byte_serialize(format!("/invitations/{token}").as_bytes()).collect();
    // A member whose role already includes the invited one has nothing to accept; one with
    // a lesser role may accept to get the invited role.
    let member = user.as_ref().is_some_and(|user| {
        user.memberships
            .iter()
            .any(|(id, role)| *id == invitation.org_id && role.includes(invitation.role))
    });
    if member {
        return Ok(page(
            StatusCode::OK,
            &format!("You are already in {team}"),
            vec![format!(
                "You are a member of the team {team}, so there is nothing to accept."
            )],
            InvitationAction::OpenTeam {
                org_id: invitation.org_id,
            },
        ));
    }
    if invitation.accepted_at.is_some() {
        return Ok(page(
            StatusCode::GONE,
            "This invitation was already used",
            vec![
                "Each invitation link works only once, and someone has joined with this one."
                    .into(),
                format!(
                    "If you still want to join {team}, ask one of its owners for a new invitation."
                ),
            ],
            InvitationAction::Home,
        ));
    }
    if invitation.expires_at <= Utc::now() {
        return Ok(render_status(
            StatusCode::GONE,
            &InvitationPage {
                layout,
                heading: "This invitation has expired".to_owned(),
                expired: Some((team, When::of(invitation.expires_at))),
                lines: vec![
                    "Ask one of the team's owners to invite you again: they get a new link to send you."
                        .to_owned(),
                ],
                action: InvitationAction::Home,
            },
        ));
    }
    let Some(user) = user else {
        return Ok(page(
            StatusCode::OK,
            &format!("Join {team}"),
            vec![
                format!(
                    "You are invited to join the team {team} as {}: you will {}.",
                    role.with_article(),
                    role.powers()
                ),
                format!(
                    "Sign in first, or create an account with the address {}. You come back here afterwards.",
                    invitation.email
                ),
            ],
            InvitationAction::SignIn { next },
        ));
    };
    if !invitation.email.eq_ignore_ascii_case(&user.user.email) {
        return Ok(page(
            StatusCode::FORBIDDEN,
            "This invitation is for someone else",
            vec![
                format!(
                    "It was sent to {}, but you are signed in as {}.",
                    invitation.email, user.user.email
                ),
                "Sign out and sign in with the invited address, or ask an owner of the team to invite the address you use here.".into(),
            ],
            InvitationAction::SignOut {
                next: format!("/invitations/{token}"),
            },
        ));
    }
    Ok(page(
        StatusCode::OK,
        &format!("Join {team}"),
        vec![format!(
            "You are invited to join the team {team} as {}: you will {}.",
            role.with_article(),
            role.powers()
        )],
        InvitationAction::Accept {
            token,
            org_id: invitation.org_id,
            org_name: team,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::token_hash;

    #[test]
    fn the_hash_is_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
