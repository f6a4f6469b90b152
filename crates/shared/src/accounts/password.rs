//! Password hashing with Argon2id (memory-hard, so a stolen database is slow to crack), off
//! the async executor: one hash takes tens of milliseconds of CPU and would otherwise stall
//! every request on that thread.

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use grandma_store::Secret;

use super::AccountError;

/// The shortest password accepted for any account.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Longer inputs are refused: hashing cost grows with the input and nobody types 1 KiB.
pub const MAX_PASSWORD_CHARS: usize = 1024;

/// The problem with a new password, if any.
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Err(format!(
            "must have at least {MIN_PASSWORD_CHARS} characters"
        ))
    } else if chars > MAX_PASSWORD_CHARS {
        Err(format!("must have at most {MAX_PASSWORD_CHARS} characters"))
    } else {
        Ok(())
    }
}

/// A PHC-formatted Argon2id hash of `password`.
pub async fn hash(password: Secret) -> Result<Secret, AccountError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.expose().as_bytes())
            .map(|h| Secret(h.to_string()))
            .map_err(|e| AccountError::Hashing(e.to_string()))
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))?
}

/// Whether `password` matches `hash`. A malformed stored hash is a mismatch, logged.
pub async fn verify(password: Secret, hash: Secret) -> Result<bool, AccountError> {
    tokio::task::spawn_blocking(move || {
        match Argon2::default().verify_password(password.expose().as_bytes(), hash.expose()) {
            Ok(()) => true,
            Err(argon2::password_hash::Error::PasswordInvalid) => false,
            Err(e) => {
                tracing::warn!(error = %e, "stored password hash cannot be verified");
                false
            }
        }
    })
    .await
    .map_err(|e| AccountError::Hashing(e.to_string()))
}

/// Spends about the time of a real verification, so that a login for an unknown e-mail takes
/// as long as one with a wrong password and does not reveal which accounts exist.
pub async fn verify_dummy(password: Secret) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let hash = DUMMY
        .get_or_init(|| {
            Argon2::default()
                .hash_password(b"dummy password for timing")
                .map(|h| h.to_string())
                .unwrap_or_default()
        })
        .clone();
    let _ = verify(password, Secret(hash)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_mismatches_do_not() {
        let h = hash(Secret::from("correct horse")).await.unwrap();
        assert!(h.expose().starts_with("$argon2id$"));
        assert!(
            verify(Secret::from("correct horse"), h.clone())
                .await
                .unwrap()
        );
        assert!(!verify(Secret::from("wrong horse"), h).await.unwrap());
        assert!(
            !verify(Secret::from("x"), Secret::from("not a hash"))
                .await
                .unwrap()
        );
    }

    #[test]
    fn short_and_huge_passwords_are_refused() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(MAX_PASSWORD_CHARS + 1)).is_err());
    }
}
