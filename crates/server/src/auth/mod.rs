//! Authentication: access tokens (JWT), personal API tokens, web sessions (cookie + CSRF), the
//! first-run setup code, and the extractor that turns any of these into the [`CurrentUser`].

pub mod csrf;
pub mod extract;
pub mod jwt;
pub mod session;
pub mod setup;
pub mod tokens;

pub use extract::CurrentUser;
