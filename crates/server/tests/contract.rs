//! The v1 contract: the OpenAPI document of `/api/v1` committed in `docs/api/v1.openapi.json`
//! is what clients were promised. The server's document may add to it (paths, operations,
//! optional parameters, fields, enum values) but never take from it; `compare` says what a
//! change breaks.
//!
//! To record a deliberate change (additions worth committing, or a break that ships as a new
//! API version), rewrite the snapshot:
//! `GRANDMA_UPDATE_API_SNAPSHOT=1 cargo test -p grandma-server --test contract`.

#[path = "contract/compare.rs"]
mod compare;

use std::path::PathBuf;

use serde_json::Value;

const PREFIX: &str = "/api/v1";
const UPDATE_VAR: &str = "GRANDMA_UPDATE_API_SNAPSHOT";

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/api/v1.openapi.json")
}

/// The server's document with only the `/api/v1` paths: the probes at the root and the
/// documentation pages are not part of the versioned contract.
fn current() -> Value {
    let mut doc = serde_json::to_value(grandma_server::openapi()).expect("document as JSON");
    if let Some(paths) = doc["paths"].as_object_mut() {
        paths.retain(|path, _| path.starts_with(PREFIX));
    }
    doc
}

#[test]
fn the_v1_contract_has_no_breaking_change() {
    let path = snapshot_path();
    let current = current();
    if std::env::var_os(UPDATE_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
        let mut text = serde_json::to_string_pretty(&current).expect("pretty JSON");
        text.push('\n');
        std::fs::create_dir_all(path.parent().expect("docs/api")).expect("create docs/api");
        std::fs::write(&path, text).expect("write the snapshot");
        eprintln!("rewrote {}", path.display());
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read the v1 snapshot {}: {e}; create it with {UPDATE_VAR}=1 \
             cargo test -p grandma-server --test contract",
            path.display()
        )
    });
    let snapshot: Value = serde_json::from_str(&text).expect("the snapshot is JSON");
    let breaks = compare::breaking_changes(&snapshot, &current, PREFIX);
    assert!(
        breaks.is_empty(),
        "the /api/v1 document breaks existing clients:\n  {}\n\n\
         Put the change back, or add a new version alongside v1. If the break is deliberate \
         and agreed, record it with:\n  {UPDATE_VAR}=1 cargo test -p grandma-server --test \
         contract\nand commit docs/api/v1.openapi.json.",
        breaks
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("\n  ")
    );
    let added = compare::additions(&snapshot, &current, PREFIX);
    if !added.is_empty() {
        eprintln!(
            "{} operation(s) not in the snapshot yet (compatible; record them with \
             {UPDATE_VAR}=1): {}",
            added.len(),
            added.join(", ")
        );
    }
}

/// The snapshot must itself hold the contract: every operation the server has had since v1
/// was frozen. A snapshot emptied by mistake would otherwise let everything pass.
#[test]
fn the_snapshot_holds_the_v1_operations() {
    let text = std::fs::read_to_string(snapshot_path()).expect("the snapshot exists");
    let snapshot: Value = serde_json::from_str(&text).expect("the snapshot is JSON");
    let paths = snapshot["paths"].as_object().expect("paths");
    for path in [
        "/api/v1/auth/token",
        "/api/v1/jobs/",
        "/api/v1/jobs/{id}",
        "/api/v1/jobs/{id}/run",
        "/api/v1/results/",
        "/api/v1/results/{id}",
        "/api/v1/results/{id}/items",
        "/api/v1/results/{id}/export/{format}",
        "/api/v1/users/me",
    ] {
        assert!(paths.contains_key(path), "{path} missing from the snapshot");
    }
    assert!(paths.keys().all(|p| p.starts_with(PREFIX)));
}
