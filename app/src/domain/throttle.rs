//! Sign-in throttling: after a few failures, each further failure doubles the wait before the next
//! attempt is even checked, up to a ceiling. Nothing is ever locked for good, and counts are kept in the
//! database so that every instance sees the same ones.

use crate::domain::clock::Clock;
use crate::domain::storage::sign_in_throttles::{self, Column, Entity};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use std::net::IpAddr;

/// How hard failures are throttled.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Failures for one email address before waits begin.
    pub free_failures_per_email: u32,
    /// Failures from one client address before waits begin; higher, since offices share addresses.
    pub free_failures_per_ip: u32,
    /// The first wait; each further failure doubles it.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// A subject with no failure for this long starts again from zero.
    pub forget_after: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures_per_email: 5,
            free_failures_per_ip: 20,
            first_delay: Duration::seconds(2),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(24),
        }
    }
}

/// What a failure is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A normalised email address, whether or not an account has it.
    Email(String),
    /// The client's address.
    Ip(IpAddr),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Self::Email(email) => format!("email:{email}"),
            Self::Ip(ip) => format!("ip:{ip}"),
        }
    }

    fn free_failures(&self, policy: &ThrottlePolicy) -> u32 {
        match self {
            Self::Email(_) => policy.free_failures_per_email,
            Self::Ip(_) => policy.free_failures_per_ip,
        }
    }
}

/// The wait imposed after `failures` failures, if any.
pub fn delay_after(policy: &ThrottlePolicy, failures: u32, free_failures: u32) -> Option<Duration> {
    let over = failures.checked_sub(free_failures)?.checked_sub(1)?;
    let factor = 1_i32.checked_shl(over.min(30)).unwrap_or(i32::MAX);
    Some(policy.first_delay.checked_mul(factor).map_or(policy.max_delay, |d| d.min(policy.max_delay)))
}

/// How long the longest block among `subjects` still lasts, if any is blocked.
pub async fn blocked_for(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    subjects: &[Subject],
) -> Result<Option<Duration>, DbErr> {
    let now = clock.now();
    let keys: Vec<String> = subjects.iter().map(Subject::key).collect();
    let rows = Entity::find().filter(Column::Subject.is_in(keys)).all(db).await?;
    Ok(rows.into_iter().filter_map(|row| row.blocked_until).filter(|until| *until > now).map(|until| until - now).max())
}

/// Counts one failure against `subject` and sets its block.
pub async fn record_failure(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    policy: &ThrottlePolicy,
    subject: &Subject,
) -> Result<(), DbErr> {
    // Scoped: `ExprTrait` is implemented for every type and would shadow `Ord::min` elsewhere.
    use sea_orm::sea_query::ExprTrait as _;
    let now = clock.now();
    let key = subject.key();
    forget_if_stale(db, &key, now - policy.forget_after).await?;
    // An atomic increment, so concurrent failures on several instances all count.
    let row = sign_in_throttles::ActiveModel {
        subject: Set(key.clone()),
        failures: Set(1),
        last_failure_at: Set(now),
        blocked_until: Set(None),
    };
    Entity::insert(row)
        .on_conflict(
            OnConflict::column(Column::Subject)
                .value(Column::Failures, Expr::col((Entity, Column::Failures)).add(1))
                .value(Column::LastFailureAt, now)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await?;
    let failures =
        Entity::find_by_id(key.clone()).one(db).await?.map_or(1, |row| u32::try_from(row.failures).unwrap_or(u32::MAX));
    if let Some(delay) = delay_after(policy, failures, subject.free_failures(policy)) {
        Entity::update_many()
            .col_expr(Column::BlockedUntil, Expr::value(now + delay))
            .filter(Column::Subject.eq(key))
            .exec(db)
            .await?;
    }
    Ok(())
}

/// Forgets the failures of `subject`, after a successful sign-in.
pub async fn clear(db: &impl ConnectionTrait, subject: &Subject) -> Result<(), DbErr> {
    Entity::delete_by_id(subject.key()).exec(db).await?;
    Ok(())
}

async fn forget_if_stale(db: &impl ConnectionTrait, key: &str, stale_before: DateTime<Utc>) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::Subject.eq(key))
        .filter(Column::LastFailureAt.lt(stale_before))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_start_after_the_free_failures_and_double_up_to_the_ceiling() {
        let policy = ThrottlePolicy::default();
        assert_eq!(delay_after(&policy, 5, 5), None);
        assert_eq!(delay_after(&policy, 6, 5), Some(Duration::seconds(2)));
        assert_eq!(delay_after(&policy, 7, 5), Some(Duration::seconds(4)));
        assert_eq!(delay_after(&policy, 10, 5), Some(Duration::seconds(32)));
        assert_eq!(delay_after(&policy, 40, 5), Some(Duration::minutes(15)));
        assert_eq!(delay_after(&policy, u32::MAX, 5), Some(Duration::minutes(15)));
    }
}
