//! Authentication and authorization: access tokens (JWT), personal API tokens, web sessions
//! (cookie + CSRF), the first-run setup code, the extractor that turns any of these into the
//! [`Caller`], and [`authorize`], the one decision of what a caller may do.

pub mod authorize;
pub mod csrf;
pub mod extract;
pub mod jwt;
pub mod session;
pub mod setup;
pub mod tokens;

pub use authorize::{Action, ApiScope, Target, authorize};
pub use extract::{Caller, TokenGrant};
