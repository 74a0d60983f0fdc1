//! Leak reports: strings found in public that may be our keys. GitHub's secret scanning partner program
//! posts them signed with ECDSA ([`github`]); the provider's own scanners post them with a service token.
//! What happens to a key found is [`crate::domain::keys::leaks`]'s business.

pub mod github;

pub use crate::domain::keys::leaks::{Finding, LeakPolicy, LeakReport, report, scanner_pattern};
