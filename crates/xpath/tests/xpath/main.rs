//! Behaviour through the public API, on HTML parsed by scraper.

mod axes;
mod common;
mod errors;
mod functions;
mod html;
mod operators;
mod relative;
