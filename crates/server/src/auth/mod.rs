//! Authentication: access tokens (JWT), personal API tokens, and the extractor that turns a bearer credential into the [`CurrentUser`].

pub mod extract;
pub mod jwt;
pub mod tokens;

pub use extract::CurrentUser;
