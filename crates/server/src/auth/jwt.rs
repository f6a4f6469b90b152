//! Access tokens: HS256 JWTs carrying the user's id and token version.
//!
//! The version is the store's `token_version`, bumped by a password change or a deactivation,
//! so every token issued before either stops working without a revocation list.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

impl std::fmt::Debug for JwtKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("JwtKeys(***)")
    }
}

/// What an access token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// The user id.
    pub sub: Uuid,
    pub exp: u64,
    pub iat: u64,
    /// Unique per token, for log correlation.
    pub jti: Uuid,
    /// The user's `token_version` when the token was issued.
    pub ver: i32,
}

/// The signing and verification keys, derived once from the secret.
pub struct JwtKeys {
    // No `Debug` derive: the keys are secret.
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    /// Keys for `secret`. An empty secret (only possible when `Settings` were built by hand)
    /// is replaced by a random one for this process, so nothing is ever signed with "".
    pub fn new(secret: &[u8]) -> Self {
        let ephemeral;
        let secret = if secret.is_empty() {
            tracing::warn!("empty signing key; using a random key for this process");
            ephemeral = grandma_shared::random::random_hex(32);
            ephemeral.as_bytes()
        } else {
            secret
        };
        let mut validation = Validation::new(Algorithm::HS256);
        // Expiry is exact: the lifetime is the operator's setting, not setting + a minute.
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub", "iat"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(secret).expect("the secret is not empty"),
            decoding: DecodingKey::from_secret(secret).expect("the secret is not empty"),
            validation,
        }
    }

    /// Issues a token for `user_id` at `version`, valid for `lifetime_secs`.
    pub fn issue(
        &self,
        user_id: Uuid,
        version: i32,
        lifetime_secs: u64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = unix_now();
        let claims = Claims {
            sub: user_id,
            iat: now,
            exp: now + lifetime_secs,
            jti: Uuid::now_v7(),
            ver: version,
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// The claims of a valid, unexpired token signed with our key.
    pub fn verify(&self, token: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation).map(|d| d.claims)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_keys_fail() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let id = Uuid::now_v7();
        let token = keys.issue(id, 3, 60).unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!((claims.sub, claims.ver), (id, 3));
        let other = JwtKeys::new(b"another key another key another!!");
        assert!(other.verify(&token).is_err());
        assert!(keys.verify("not.a.token").is_err());
    }

    #[test]
    fn expired_tokens_fail() {
        let keys = JwtKeys::new(b"0123456789abcdef0123456789abcdef");
        let now = unix_now();
        let claims = Claims {
            sub: Uuid::now_v7(),
            iat: now - 100,
            exp: now - 1,
            jti: Uuid::now_v7(),
            ver: 0,
        };
        let token = jsonwebtoken::encode(&Header::default(), &claims, &keys.encoding).unwrap();
        assert!(keys.verify(&token).is_err());
    }
}
