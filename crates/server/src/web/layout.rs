//! What every page's base template (`templates/web/base.html`) needs, and the one way pages
//! are turned into responses ([`render`]) with the headers every page carries.

use askama::Template;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use grandma_store::{Role, User};

use crate::web::assets;

/// The signed-in person as the layout shows them.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Display name, or the e-mail address when there is none.
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    /// False for read-only users: pages leave out every control that changes something.
    pub can_write: bool,
}

impl Viewer {
    pub fn of(user: &User) -> Viewer {
        Viewer {
            name: user.username.clone().unwrap_or_else(|| user.email.clone()),
            email: user.email.clone(),
            is_admin: user.role == Role::Admin,
            can_write: user.role != Role::Readonly,
        }
    }
}

/// Which entry of the navigation is the current page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Home,
    Templates,
    Users,
    Teams,
    /// Pages outside the navigation (a job, sign-in).
    None,
}

/// The layout's part of every page: put it in a page's template struct as `layout`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub viewer: Option<Viewer>,
    /// The session's CSRF token (empty when signed out): `<meta name="csrf-token">` for
    /// `api.js`, and the `csrf` hidden field of forms.
    pub csrf: String,
    pub nav: Nav,
    /// Whether this page shows controls that change something: the viewer's instance role,
    /// narrowed on a page of one organization's things by the viewer's role there
    /// ([`Layout::writes_if`]).
    writes: bool,
}

impl Layout {
    /// A page for someone not signed in (sign-in, setup, errors).
    pub fn anonymous() -> Layout {
        Layout {
            viewer: None,
            csrf: String::new(),
            nav: Nav::None,
            writes: false,
        }
    }

    /// The layout of a signed-in viewer's page.
    pub fn signed_in(viewer: Viewer, csrf: String, nav: Nav) -> Layout {
        Layout {
            writes: viewer.can_write,
            viewer: Some(viewer),
            csrf,
            nav,
        }
    }

    /// This layout with write controls only if `allowed` too: a page of an organization's
    /// job shows none to someone whose role there only lets them look.
    pub fn writes_if(mut self, allowed: bool) -> Layout {
        self.writes &= allowed;
        self
    }

    /// Whether the navigation entry named `name` (`home`, `templates`, `teams`, `users`) is current.
    pub fn is(&self, name: &str) -> bool {
        let current = match self.nav {
            Nav::Home => "home",
            Nav::Templates => "templates",
            Nav::Users => "users",
            Nav::Teams => "teams",
            Nav::None => "",
        };
        current == name
    }

    /// Whether write controls are shown.
    pub fn can_write(&self) -> bool {
        self.writes
    }

    pub fn asset(&self, name: &str) -> &'static str {
        assets::url(name)
    }

    pub fn import_map(&self) -> &'static str {
        assets::import_map()
    }
}

/// Renders a page with status 200.
pub fn render<T: Template>(page: &T) -> Response {
    render_status(StatusCode::OK, page)
}

/// Renders a page with the headers every page carries: no caching (pages show private data),
/// a Content-Security-Policy that allows only our own files (and the inline import map by its
/// hash), and no framing by other sites.
pub fn render_status<T: Template>(status: StatusCode, page: &T) -> Response {
    match page.render() {
        Ok(html) => {
            let mut response = (status, html).into_response();
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&content_security_policy()).expect("the policy is ASCII"),
            );
            headers.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            headers.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            response
        }
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong on our side while showing this page.",
            )
                .into_response()
        }
    }
}

/// The pages' policy. `connect-src 'self'` covers the WebSocket of the same host.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'self'; script-src 'self' {}; style-src 'self'; img-src 'self' data:; \
         connect-src 'self'; frame-src 'self'; frame-ancestors 'self'; form-action 'self'; \
         base-uri 'none'; object-src 'none'",
        assets::import_map_csp_source()
    )
}
