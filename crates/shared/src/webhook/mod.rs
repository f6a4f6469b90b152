//! Webhooks on the wire: the body ([`WebhookPayload`]), its signature and headers, and the
//! guarded HTTP client that sends one attempt. The dispatcher (worker) and the API's test
//! ping both send through [`WebhookClient`], so a ping is exactly what a delivery would be.

mod client;
mod payload;
mod signature;

pub use client::{Outgoing, SendResult, WebhookClient};
pub use payload::{API_PREFIX, PING_EVENT, RunEnd, WebhookPayload, result_path};
pub use signature::{
    EVENT_HEADER, ID_HEADER, REQUEST_ID_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    WEBHOOK_USER_AGENT, generate_secret, is_reserved_header, sign, verify,
};
