//! The JWT signing key: what counts as weak, and development's key kept in the data directory.

use std::path::Path;

use grandma_store::Secret;

use crate::random::random_hex;

/// Keys that are well-known defaults or placeholders; a production server must not sign with
/// them.
const KNOWN_WEAK_KEYS: &[&str] = &[
    "changeme",
    "change-me",
    "change_me",
    "secret",
    "secret-key",
    "secret_key",
    "your-secret-key",
    "your-secret-key-here",
    "dev",
    "development",
    "password",
    "test",
];

/// The minimum length of a signing key outside development (HS256 wants at least 256 bits).
pub const MIN_SECRET_BYTES: usize = 32;

/// Too short, too uniform, or a placeholder someone forgot to change.
pub fn is_weak_secret(key: &str) -> bool {
    let lowered = key.trim().to_ascii_lowercase();
    // Thirty-two bytes of "a" or "1234…" are long but guessable: ask for some variety too.
    let distinct = key
        .bytes()
        .collect::<std::collections::BTreeSet<u8>>()
        .len();
    key.len() < MIN_SECRET_BYTES
        || distinct < 10
        || KNOWN_WEAK_KEYS.contains(&lowered.as_str())
        || KNOWN_WEAK_KEYS.iter().any(|weak| {
            // "changemechangemechangeme…" repeats a placeholder to reach the length.
            !lowered.is_empty() && lowered.replace(weak, "").is_empty()
        })
}

/// Development's zero-configuration key: read from `data_dir/secret.key`, or generated once
/// and kept there (readable by its owner only) so tokens survive restarts.
pub(crate) fn development_key(data_dir: &Path) -> std::io::Result<Secret> {
    let path = data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(Secret(text.trim().to_owned())),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::create_dir_all(data_dir)?;
    let key = random_hex(32);
    write_private(&path, &key)?;
    Ok(Secret(key))
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weak_keys() {
        for weak in [
            "changeme",
            "short",
            "changemechangemechangemechangemechangeme",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "12121212121212121212121212121212",
        ] {
            assert!(is_weak_secret(weak), "{weak}");
        }
        assert!(!is_weak_secret("0123456789abcdef0123456789abcdef-strong"));
    }

    #[test]
    fn the_development_key_is_generated_once() {
        let dir = tempfile::tempdir().unwrap();
        let first = development_key(dir.path()).unwrap();
        assert_eq!(development_key(dir.path()).unwrap(), first);
        assert!(!is_weak_secret(first.expose()));
    }
}
