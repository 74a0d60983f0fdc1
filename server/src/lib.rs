//! The `latchkey` process: command line, settings, HTTP router and middleware, start-up and shutdown.
//! Handlers here stay thin; what Latchkey knows lives in `app::domain`.

pub mod assets;
pub mod brand;
pub mod cli;
pub mod commands;
pub mod config;
pub mod export;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod router;
pub mod run;
pub mod sign_in;
pub mod v1;
