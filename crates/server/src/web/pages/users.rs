//! The administrators' users page: every account with its role and whether it may sign in;
//! changes go through the users API (`users.js`), which keeps the last admin from being
//! demoted or switched off.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use grandma_store::{Paging, Role};
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{Action, Target};
use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::layout::{Layout, Nav, render};
use crate::web::pages::view::When;

const PER_PAGE: i64 = 100;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin/users", get(users_page))
}

struct UserView {
    id: Uuid,
    email: String,
    name: String,
    role: &'static str,
    active: bool,
    created: When,
    is_me: bool,
}

#[derive(Template)]
#[template(path = "web/users.html")]
struct UsersPage {
    layout: Layout,
    users: Vec<UserView>,
    page: i64,
    pages: i64,
    total: i64,
}

#[derive(Debug, Deserialize)]
struct UsersQuery {
    page: Option<String>,
}

async fn users_page(
    State(state): State<AppState>,
    user: WebUser,
    Query(query): Query<UsersQuery>,
) -> Result<Response, WebError> {
    user.authorize(Target::Instance, Action::ManageUsers)?;
    let page = query
        .page
        .as_deref()
        .and_then(|p| p.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, i64::MAX / PER_PAGE);
    let listed = state
        .store
        .list_users(Paging::new(PER_PAGE, (page - 1) * PER_PAGE))
        .await?;
    let users = listed
        .items
        .iter()
        .map(|u| UserView {
            id: u.user_id,
            email: u.email.clone(),
            name: u.username.clone().unwrap_or_default(),
            role: match u.role {
                Role::Admin => "admin",
                Role::User => "user",
                Role::Readonly => "readonly",
            },
            active: u.is_active,
            created: When::of(u.created_at),
            is_me: u.user_id == user.user.user_id,
        })
        .collect();
    Ok(render(&UsersPage {
        layout: user.layout(Nav::Users),
        users,
        page,
        pages: ((listed.total + PER_PAGE - 1) / PER_PAGE).max(1),
        total: listed.total,
    }))
}
