//! Finding the Chromium binary. Nothing is ever downloaded: the browser is the system's
//! (Debian's `chromium` package), or the one an operator names.

use std::path::{Path, PathBuf};

/// The environment variable naming the Chromium binary to use.
pub const CHROMIUM_ENV: &str = "GRANDMA_CHROMIUM";

/// Where the system's Chromium usually is, in the order tried after [`CHROMIUM_ENV`].
const WELL_KNOWN: [&str; 2] = ["/usr/bin/chromium", "/usr/bin/chromium-browser"];

/// Names looked up on `PATH` when none of the well-known paths exists.
const ON_PATH: [&str; 4] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
];

/// Why no browser can be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChromiumMissing {
    #[error(
        "this job needs Chromium: install the `chromium` package or set {CHROMIUM_ENV} to the \
         browser's path (none was found in /usr/bin or on PATH)"
    )]
    NotFound,
    /// A path was configured explicitly and is not a program; we do not fall back silently.
    #[error(
        "this job needs Chromium: {path} (from {origin}) is not an executable file; install the \
         `chromium` package or set {CHROMIUM_ENV} to the browser's path"
    )]
    NotExecutable { path: String, origin: &'static str },
}

/// The Chromium to start: `configured` (from settings) when given, else [`CHROMIUM_ENV`], else
/// the system's. A configured path that is not an executable file is an error, never skipped.
///
/// This is the check `grandma validate`, job validation and health reports call: cheap (a few
/// `stat`s), and it starts nothing.
pub fn locate_chromium(configured: Option<&Path>) -> Result<PathBuf, ChromiumMissing> {
    if let Some(path) = configured {
        return explicit(path, "the settings");
    }
    if let Some(value) = std::env::var_os(CHROMIUM_ENV).filter(|v| !v.is_empty()) {
        return explicit(Path::new(&value), CHROMIUM_ENV);
    }
    WELL_KNOWN
        .iter()
        .map(PathBuf::from)
        .find(|p| is_executable(p))
        .or_else(|| ON_PATH.iter().find_map(|name| on_path(name)))
        .ok_or(ChromiumMissing::NotFound)
}

fn explicit(path: &Path, origin: &'static str) -> Result<PathBuf, ChromiumMissing> {
    // A bare name ("chromium") is looked up on PATH, as a shell would.
    let found = if path.components().count() == 1 && !path.is_absolute() {
        path.to_str().and_then(on_path)
    } else {
        Some(path.to_path_buf()).filter(|p| is_executable(p))
    };
    found.ok_or_else(|| ChromiumMissing::NotExecutable {
        path: path.display().to_string(),
        origin,
    })
}

fn on_path(name: &str) -> Option<PathBuf> {
    let dirs = std::env::var_os("PATH")?;
    std::env::split_paths(&dirs)
        .map(|dir| dir.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        meta.is_file() && meta.permissions().mode() & 0o111 != 0
    }
    #[cfg(not(unix))]
    {
        meta.is_file()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_path_that_is_not_a_program_is_an_error_in_words() {
        let dir = tempfile::tempdir().expect("temp dir");
        let plain = dir.path().join("not-a-browser");
        std::fs::write(&plain, "text").expect("write");
        let err = locate_chromium(Some(&plain)).expect_err("a text file is no browser");
        let message = err.to_string();
        assert!(
            message.starts_with("this job needs Chromium: "),
            "{message}"
        );
        assert!(message.contains("not-a-browser"), "{message}");
        assert!(message.contains(CHROMIUM_ENV), "{message}");

        let missing = dir.path().join("nowhere");
        assert!(matches!(
            locate_chromium(Some(&missing)),
            Err(ChromiumMissing::NotExecutable { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_configured_executable_is_used_as_is() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let program = dir.path().join("my-chromium");
        std::fs::write(&program, "#!/bin/sh\n").expect("write");
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        assert_eq!(locate_chromium(Some(&program)), Ok(program));
    }

    #[test]
    fn the_missing_browser_message_names_the_package_and_the_variable() {
        assert_eq!(
            ChromiumMissing::NotFound.to_string(),
            "this job needs Chromium: install the `chromium` package or set GRANDMA_CHROMIUM to \
             the browser's path (none was found in /usr/bin or on PATH)"
        );
    }
}
