//! Fetches ReDoc's standalone bundle from its npm package so `/api/redoc` renders offline with
//! JavaScript served by the binary itself (a registry package rather than a
//! committed copy: the docs must render on a machine without internet access).
//!
//! `GRANDMA_REDOC_JS=/path/to/redoc.standalone.js` uses a local copy instead (air-gapped
//! builds). When neither works the build still succeeds with an empty bundle and a warning;
//! `/api/redoc` then says so and points at Swagger UI.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The pinned ReDoc release.
const REDOC_PACKAGE: &str = "redoc@2.5.4";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=GRANDMA_REDOC_JS");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    let target = out_dir.join("redoc.standalone.js");
    if target.metadata().is_ok_and(|m| m.len() > 0) {
        return;
    }
    let bundle = match std::env::var_os("GRANDMA_REDOC_JS") {
        Some(path) => {
            std::fs::read(&path).map_err(|e| format!("{}: {e}", Path::new(&path).display()))
        }
        None => fetch_from_npm(&out_dir),
    };
    match bundle {
        Ok(bytes) => std::fs::write(&target, bytes).expect("write the ReDoc bundle"),
        Err(reason) => {
            println!(
                "cargo:warning=ReDoc bundle unavailable ({reason}); /api/redoc will point to /api/docs"
            );
            std::fs::write(&target, b"").expect("write an empty ReDoc bundle");
        }
    }
}

/// `npm pack` downloads the package tarball from the registry; `tar` takes the one file out.
fn fetch_from_npm(out_dir: &Path) -> Result<Vec<u8>, String> {
    let work = out_dir.join("redoc-npm");
    std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
    let status = Command::new("npm")
        .args(["pack", REDOC_PACKAGE, "--silent", "--pack-destination"])
        .arg(&work)
        .current_dir(&work)
        .status()
        .map_err(|e| format!("npm: {e}"))?;
    if !status.success() {
        return Err(format!("npm pack {REDOC_PACKAGE} failed"));
    }
    let tarball = std::fs::read_dir(&work)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "tgz"))
        .ok_or("npm pack produced no tarball")?;
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&work)
        .arg("package/bundles/redoc.standalone.js")
        .status()
        .map_err(|e| format!("tar: {e}"))?;
    if !status.success() {
        return Err("tar could not extract the bundle".into());
    }
    std::fs::read(work.join("package/bundles/redoc.standalone.js")).map_err(|e| e.to_string())
}
