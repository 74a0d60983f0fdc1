//! HTTP tests: real requests through the whole router (middleware, pages, server functions), no socket.

mod account_security;
mod account_settings;
mod accounts;
mod commands;
mod hardening;
mod health;
mod keys;
mod leaks;
mod no_panics;
mod operator;
mod organisations;
mod pages;
mod portal_sessions;
mod sessions;
#[path = "../smtp_sink/mod.rs"]
mod smtp_sink;
mod support;
mod token_status;
mod tokens;
mod usage;
mod v1;
mod webhooks;
