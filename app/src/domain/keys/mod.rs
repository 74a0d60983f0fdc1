//! API keys: their format, and what an account can do with its keys.

pub mod base62;
pub mod controls;
pub mod format;
pub mod leaks;
pub mod listing;
pub mod manage;
