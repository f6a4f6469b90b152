//! The web app's static files, embedded in the binary and served at content-hashed names
//! (`/assets/app.3f2a9c1b.css`) with a year-long immutable cache: a new build that changes a
//! file changes its name, so browsers never keep a stale copy and never ask twice.
//!
//! Adding a file: put it in `crates/server/assets/` and add a line to [`FILES`]. Templates
//! name it with [`url`]; JavaScript modules import each other by bare names (`import { api }
//! from "api"`), resolved by the page's import map ([`import_map`]) to the hashed URLs.

use std::sync::LazyLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::state::AppState;

/// One embedded file.
#[derive(Debug)]
pub struct File {
    /// Its name in `assets/` (`app.css`).
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
}

macro_rules! file {
    ($name:literal, $content_type:literal) => {
        File {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/", $name)),
        }
    };
}

const JS: &str = "text/javascript; charset=utf-8";

/// Every file of the web app.
pub static FILES: &[File] = &[
    file!("app.css", "text/css; charset=utf-8"),
    file!("icon.svg", "image/svg+xml"),
    file!("api.js", "text/javascript; charset=utf-8"),
    file!("app.js", "text/javascript; charset=utf-8"),
    file!("words.js", "text/javascript; charset=utf-8"),
    file!("job.js", "text/javascript; charset=utf-8"),
    file!("schedules.js", "text/javascript; charset=utf-8"),
    file!("notifications.js", "text/javascript; charset=utf-8"),
    file!("users.js", "text/javascript; charset=utf-8"),
    file!("team.js", "text/javascript; charset=utf-8"),
    file!("wizard.js", "text/javascript; charset=utf-8"),
    file!("wizard.css", "text/css; charset=utf-8"),
];

/// A file with its hashed URL.
struct Served {
    url: String,
    file: &'static File,
}

/// Hashed once, on first use.
static SERVED: LazyLock<Vec<Served>> = LazyLock::new(|| {
    FILES
        .iter()
        .map(|file| {
            let digest = hex::encode(Sha256::digest(file.body));
            let (stem, ext) = file.name.rsplit_once('.').unwrap_or((file.name, ""));
            Served {
                url: format!("/assets/{stem}.{}.{ext}", &digest[..8]),
                file,
            }
        })
        .collect()
});

/// The import map of the JavaScript modules: each module by its name without `.js`.
static IMPORT_MAP: LazyLock<String> = LazyLock::new(|| {
    let imports: serde_json::Map<String, serde_json::Value> = SERVED
        .iter()
        .filter(|s| s.file.content_type == JS)
        .map(|s| {
            let stem = s.file.name.trim_end_matches(".js").to_owned();
            (stem, serde_json::Value::String(s.url.clone()))
        })
        .collect();
    serde_json::json!({ "imports": imports }).to_string()
});

/// The CSP source that allows exactly the inline import map.
static IMPORT_MAP_SOURCE: LazyLock<String> = LazyLock::new(|| {
    let digest = Sha256::digest(IMPORT_MAP.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
});

/// The hashed URL of the file named `name` in `assets/`. An unknown name gives a URL that
/// answers 404 (a test checks every name the templates use).
pub fn url(name: &str) -> &'static str {
    SERVED
        .iter()
        .find(|s| s.file.name == name)
        .map(|s| s.url.as_str())
        .unwrap_or("/assets/unknown")
}

/// The page's `<script type="importmap">` content.
pub fn import_map() -> &'static str {
    IMPORT_MAP.as_str()
}

/// `'sha256-…'` of [`import_map`], for the pages' Content-Security-Policy.
pub fn import_map_csp_source() -> &'static str {
    IMPORT_MAP_SOURCE.as_str()
}

/// Bytes of every JavaScript and CSS file (the budget the tests hold them to).
pub fn script_and_style_bytes() -> usize {
    FILES
        .iter()
        .filter(|f| f.name.ends_with(".js") || f.name.ends_with(".css"))
        .map(|f| f.body.len())
        .sum()
}

pub fn router() -> Router<AppState> {
    Router::new().route("/assets/{file}", get(serve))
}

/// A file by its hashed name; anything else is a 404 (an old name after an upgrade too: the
/// page that asked for it is stale and a reload fixes it).
async fn serve(Path(file): Path<String>) -> Response {
    let wanted = format!("/assets/{file}");
    let Some(served) = SERVED.iter().find(|s| s.url == wanted) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut response = served.file.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(served.file.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_hashed_and_stable() {
        let css = url("app.css");
        assert!(
            css.starts_with("/assets/app.") && css.ends_with(".css"),
            "{css}"
        );
        assert_eq!(css.len(), "/assets/app.12345678.css".len());
        assert_eq!(url("app.css"), css);
        assert_eq!(url("nope.js"), "/assets/unknown");
    }

    #[test]
    fn the_import_map_names_every_module() {
        let map: serde_json::Value = serde_json::from_str(import_map()).unwrap();
        assert_eq!(map["imports"]["api"], url("api.js"));
        assert!(map["imports"].get("app.css").is_none());
        assert!(import_map_csp_source().starts_with("'sha256-"));
    }

    #[test]
    fn the_templates_name_only_files_that_exist() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/web");
        let mut named = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            for part in text.split("asset(\"").skip(1) {
                let name = part.split('"').next().unwrap();
                assert!(FILES.iter().any(|f| f.name == name), "unknown asset {name}");
                named += 1;
            }
        }
        assert!(named >= 3);
    }

    #[test]
    fn script_and_style_stay_small() {
        assert!(
            script_and_style_bytes() < 150 * 1024,
            "{}",
            script_and_style_bytes()
        );
    }
}
