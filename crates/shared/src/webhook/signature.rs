//! What makes a webhook request verifiable: the header names, the signature and the secrets.
//!
//! `X-Webhook-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>` is computed over exactly
//! the bytes sent, so a receiver checks it before parsing the JSON. The other headers let a
//! receiver drop duplicates (`X-Webhook-Id`, the same on every retry) and stale replays
//! (`X-Webhook-Timestamp`, the Unix time of the attempt).

use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

pub const SIGNATURE_HEADER: &str = "x-webhook-signature";
pub const ID_HEADER: &str = "x-webhook-id";
pub const TIMESTAMP_HEADER: &str = "x-webhook-timestamp";
pub const EVENT_HEADER: &str = "x-webhook-event";
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The `User-Agent` of webhook requests.
pub const WEBHOOK_USER_AGENT: &str = concat!("GrandmaScraper-Webhook/", env!("CARGO_PKG_VERSION"));

fn mac(secret: &str, body: &[u8]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(body);
    mac
}

/// `sha256=<hex HMAC-SHA256(secret, body)>`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(mac(secret, body).finalize().into_bytes())
    )
}

/// The receiver's check: recompute the signature and compare in constant time.
pub fn verify(body: &[u8], signature: &str, secret: &str) -> bool {
    let Some(hex_part) = signature.strip_prefix("sha256=") else {
        return false;
    };
    let Ok(given) = hex::decode(hex_part) else {
        return false;
    };
    mac(secret, body).verify_slice(&given).is_ok()
}

/// A fresh random secret: `whsec_` and 32 random bytes in hex.
pub fn generate_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    format!("whsec_{}", hex::encode(bytes))
}

/// Whether a custom header may be sent: never one of ours, nor one that would change how the
/// request is framed or routed.
pub fn is_reserved_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.starts_with("x-webhook-")
        || matches!(
            name.as_str(),
            "host"
                | "x-request-id"
                | "content-length"
                | "content-type"
                | "transfer-encoding"
                | "connection"
                | "user-agent"
                | "te"
                | "upgrade"
                | "proxy-authorization"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2.
        let sig = sign("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert!(verify(b"what do ya want for nothing?", &sig, "Jefe"));
        assert!(!verify(b"what do ya want for nothing!", &sig, "Jefe"));
        assert!(!verify(b"what do ya want for nothing?", &sig[7..], "Jefe"));
    }

    #[test]
    fn reserved_headers_are_recognised() {
        for name in [
            "Host",
            "X-Webhook-Signature",
            "x-webhook-id",
            "Content-Length",
            "X-Request-ID",
        ] {
            assert!(is_reserved_header(name), "{name}");
        }
        assert!(!is_reserved_header("Authorization"));
        assert!(!is_reserved_header("X-Custom"));
    }
}
