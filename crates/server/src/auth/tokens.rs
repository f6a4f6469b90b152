//! Personal API tokens: `gs_` plus 40 random hex characters. Only the SHA-256 of the secret is
//! stored, so a database leak does not leak usable tokens; the secret is shown once.

use sha2::{Digest, Sha256};

/// Every API token starts with this, which tells them apart from JWTs at a glance.
pub const PREFIX: &str = "gs_";

/// A new secret.
pub fn generate() -> String {
    format!("{PREFIX}{}", grandma_shared::random::random_hex(20))
}

/// Invitation secrets start with this: they are never credentials, and told apart from API
/// tokens if pasted in the wrong place.
pub const INVITATION_PREFIX: &str = "gi_";

/// A new invitation secret; stored, like API tokens, only as its [`hash`].
pub fn generate_invitation() -> String {
    format!("{INVITATION_PREFIX}{}", grandma_shared::random::random_hex(20))
}

/// Whether a bearer credential is an API token rather than a JWT.
pub fn looks_like_api_token(credential: &str) -> bool {
    credential.starts_with(PREFIX)
}

/// Hex SHA-256 of the secret, as stored.
pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The first characters shown in listings so users can tell tokens apart.
pub fn display_prefix(secret: &str) -> String {
    secret.chars().take(PREFIX.len() + 6).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_unique_and_hashed() {
        let a = generate();
        let b = generate();
        assert!(looks_like_api_token(&a) && a != b);
        assert_eq!(hash(&a).len(), 64);
        assert_eq!(hash(&a), hash(&a));
        assert_eq!(display_prefix(&a).len(), 9);
        let invitation = generate_invitation();
        assert!(invitation.starts_with(INVITATION_PREFIX) && !looks_like_api_token(&invitation));
    }
}
