//! Page snapshots: inert copies of pages (`sanitize`) and the page that shows one to its owner
//! (`view`). The API that makes them and picks on them is `routes::snapshots`.

pub mod sanitize;
pub mod view;
