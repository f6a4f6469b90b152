//! The one-time setup code. While the server has no account, whoever opens it first would
//! become its admin; so the server prints a random code on its console at start-up and the
//! setup page asks for it. Only someone who can read the server's logs can take it over.

use std::sync::{Arc, Mutex};

use crate::auth::csrf::token_matches;

/// Shared by every clone of the state; empty once an account exists.
#[derive(Debug, Clone, Default)]
pub struct SetupCode(Arc<Mutex<Option<String>>>);

impl SetupCode {
    /// Makes a new code (replacing any earlier one) and returns it, to be logged.
    pub fn issue(&self) -> String {
        // 12 characters from an alphabet without look-alikes (no 0/O, 1/l/I), in groups of 4
        // so a person can copy it from a console.
        const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut bytes = [0u8; 12];
        rand_bytes(&mut bytes);
        let chars: String = bytes
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect();
        let code = format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..]);
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(code.clone());
        code
    }

    /// Whether a code is waiting to be used.
    pub fn is_pending(&self) -> bool {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Takes the code if `given` is it (case and spaces do not matter), so that of two people
    /// racing with the right code only one goes on; `restore` puts it back if that one fails.
    pub fn take(&self, given: &str) -> Option<String> {
        let given: String = given
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_uppercase();
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let matches = slot
            .as_deref()
            .is_some_and(|code| token_matches(code, &given));
        if matches { slot.take() } else { None }
    }

    /// Ends the setup: an account exists (made from the command line, say).
    pub fn clear(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// Puts a taken code back (the account could not be created).
    pub fn restore(&self, code: String) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(code);
    }
}

fn rand_bytes(buf: &mut [u8]) {
    let hex = grandma_shared::random::random_hex(buf.len());
    for (i, b) in buf.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_taken_once_and_only_when_right() {
        let setup = SetupCode::default();
        assert!(!setup.is_pending());
        assert_eq!(setup.take(""), None);
        let code = setup.issue();
        assert_eq!(code.len(), 14);
        assert_eq!(setup.take("WRONG-CODE-HERE"), None);
        assert!(setup.is_pending());
        let typed = format!(" {} ", code.to_lowercase());
        assert_eq!(setup.take(&typed), Some(code.clone()));
        assert_eq!(setup.take(&code), None, "used up");
        setup.restore(code.clone());
        assert!(setup.is_pending());
        setup.clear();
        assert!(!setup.is_pending());
    }
}
