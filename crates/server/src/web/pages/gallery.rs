//! The templates gallery: one card per kind of page (`web::gallery`), each leading to the
//! wizard with that template.

use askama::Template;
use axum::Router;
use axum::response::Response;
use axum::routing::get;

use crate::state::AppState;
use crate::web::error::WebError;
use crate::web::extract::WebUser;
use crate::web::gallery::{self, Template as Kind};
use crate::web::layout::{Layout, Nav, render};

pub fn router() -> Router<AppState> {
    Router::new().route("/templates", get(gallery_page))
}

#[derive(Template)]
#[template(path = "web/gallery.html")]
struct GalleryPage {
    layout: Layout,
    templates: &'static [Kind],
}

async fn gallery_page(user: WebUser) -> Result<Response, WebError> {
    Ok(render(&GalleryPage {
        layout: user.layout(Nav::Templates),
        templates: gallery::TEMPLATES,
    }))
}
