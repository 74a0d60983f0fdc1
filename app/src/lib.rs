#![recursion_limit = "256"]

//! Latchkey's application crate: the portal's pages and components (`ui`), the server functions they
//! call (`api`) and, on the server only, everything Latchkey knows (`domain`).

pub mod api;
#[cfg(feature = "ssr")]
pub mod domain;
pub mod ui;

pub use ui::{App, shell};
