//! Sign-in and sign-up throttling, kept in the database so that every instance sees the same counts.
//!
//! Sign-in: every attempt is counted *before* its password is checked, in one conditional statement per
//! subject, so that parallel attempts cannot all slip past a check-then-record gap. Once an email (or a
//! client address) has used its allowance, each further attempt waits twice as long as the one before, up
//! to a ceiling; nothing is ever locked for good. Sign-up: a fixed hourly allowance per client address.

use crate::domain::clock::Clock;
use crate::domain::storage::sign_in_throttles::{self, Column, Entity};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{CaseStatement, Expr};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};
use std::net::IpAddr;

/// How hard failures are throttled.
#[derive(Debug, Clone)]
pub struct ThrottlePolicy {
    /// Attempts checked for one email address before waits begin.
    pub free_failures_per_email: u32,
    /// Attempts checked from one client address before waits begin; higher, since offices share addresses.
    pub free_failures_per_ip: u32,
    /// The first wait; each further failure doubles it.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
    /// A subject with no failure for this long starts again from zero.
    pub forget_after: Duration,
    /// Sign-ups allowed from one client address per hour.
    pub sign_ups_per_hour: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures_per_email: 5,
            free_failures_per_ip: 20,
            first_delay: Duration::seconds(2),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(24),
            sign_ups_per_hour: 10,
        }
    }
}

/// What an attempt is counted against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A normalised email address, whether or not an account has it.
    Email(String),
    /// The client's address.
    Ip(IpAddr),
    /// An account's second factor: codes are throttled like passwords.
    SecondFactor(String),
}

impl Subject {
    fn key(&self) -> String {
        match self {
            Self::Email(email) => format!("email:{email}"),
            Self::Ip(ip) => format!("ip:{ip}"),
            Self::SecondFactor(account_id) => format!("2fa:{account_id}"),
        }
    }

    fn free_failures(&self, policy: &ThrottlePolicy) -> u32 {
        match self {
            Self::Email(_) | Self::SecondFactor(_) => policy.free_failures_per_email,
            Self::Ip(_) => policy.free_failures_per_ip,
        }
    }
}

/// The wait imposed after the `attempts`-th unproven attempt, if any: none before the allowance is used,
/// then the first delay, doubling with each attempt, up to the ceiling.
pub fn delay_after(policy: &ThrottlePolicy, attempts: u32, free_failures: u32) -> Option<Duration> {
    let over = attempts.checked_sub(free_failures.max(1))?;
    let factor = 1_i32.checked_shl(over.min(30)).unwrap_or(i32::MAX);
    Some(policy.first_delay.checked_mul(factor).map_or(policy.max_delay, |d| d.min(policy.max_delay)))
}

/// Counts a sign-in attempt against each subject before it is checked. Answers the wait when a subject
/// is blocked (that attempt must not be checked), else `None`. The attempt that uses up an allowance
/// sets the block at once, so parallel attempts beyond the allowance are refused, not checked.
pub async fn admit(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    policy: &ThrottlePolicy,
    subjects: &[Subject],
) -> Result<Option<Duration>, DbErr> {
    let now = clock.now();
    for subject in subjects {
        let key = subject.key();
        forget_if_stale(db, &key, now - policy.forget_after).await?;
        ensure_row(db, &key, now).await?;
        if !count_unless_blocked(db, policy, subject, &key, now).await? {
            let until = Entity::find_by_id(key).one(db).await?.and_then(|row| row.blocked_until);
            return Ok(Some(until.map_or(policy.first_delay, |until| (until - now).max(Duration::seconds(1)))));
        }
    }
    Ok(None)
}

async fn ensure_row(db: &impl ConnectionTrait, key: &str, now: DateTime<Utc>) -> Result<(), DbErr> {
    let row = sign_in_throttles::ActiveModel {
        subject: Set(key.to_owned()),
        failures: Set(0),
        last_failure_at: Set(now),
        blocked_until: Set(None),
    };
    Entity::insert(row).on_conflict_do_nothing().exec(db).await?;
    Ok(())
}

/// One conditional update: when the subject is not blocked, count the attempt and, from the allowance on,
/// block the attempts after it for the wait that count earns. Row-atomic on both databases (SQLite's
/// writers take turns; PostgreSQL re-checks the condition on the row it waited for).
async fn count_unless_blocked(
    db: &impl ConnectionTrait,
    policy: &ThrottlePolicy,
    subject: &Subject,
    key: &str,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    // Scoped: `ExprTrait` is implemented for every type and would shadow `Ord::min` elsewhere.
    use sea_orm::sea_query::ExprTrait as _;
    let free = Ord::max(subject.free_failures(policy), 1);
    let counted = || Expr::col((Entity, Column::Failures)).add(1);
    // The schedule of waits, written into the statement: the n-th attempt past the allowance waits
    // first_delay × 2ⁿ, capped.
    let mut block = CaseStatement::new().case(counted().lt(i64::from(free)), Expr::col((Entity, Column::BlockedUntil)));
    let mut attempts = free;
    while let Some(delay) = delay_after(policy, attempts, free) {
        if delay >= policy.max_delay {
            break;
        }
        block = block.case(counted().eq(i64::from(attempts)), Expr::value(now + delay));
        attempts += 1;
    }
    let block = block.finally(Expr::value(now + policy.max_delay));
    let result = Entity::update_many()
        .col_expr(Column::Failures, counted())
        .col_expr(Column::LastFailureAt, Expr::value(now))
        .col_expr(Column::BlockedUntil, block.into())
        .filter(Column::Subject.eq(key))
        .filter(Column::BlockedUntil.is_null().or(Column::BlockedUntil.lte(now)))
        .exec(db)
        .await?;
    Ok(result.rows_affected == 1)
}

/// After a successful sign-in: the email starts again from zero, and the attempt counted against the
/// client address is given back (lifting its block when that brings it below the allowance).
pub async fn succeeded(db: &impl ConnectionTrait, policy: &ThrottlePolicy, subjects: &[Subject]) -> Result<(), DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    for subject in subjects {
        match subject {
            Subject::Email(_) | Subject::SecondFactor(_) => {
                Entity::delete_by_id(subject.key()).exec(db).await?;
            }
            Subject::Ip(_) => {
                let remaining = || Expr::col((Entity, Column::Failures)).sub(1);
                let block = CaseStatement::new()
                    .case(
                        remaining().lt(i64::from(subject.free_failures(policy))),
                        Expr::value(Option::<DateTime<Utc>>::None),
                    )
                    .finally(Expr::col((Entity, Column::BlockedUntil)));
                Entity::update_many()
                    .col_expr(Column::Failures, remaining())
                    .col_expr(Column::BlockedUntil, block.into())
                    .filter(Column::Subject.eq(subject.key()))
                    .filter(Column::Failures.gt(0))
                    .exec(db)
                    .await?;
            }
        }
    }
    Ok(())
}

/// Counts a sign-up from `ip` against its hourly allowance; answers the wait when it is used up.
pub async fn admit_sign_up(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    policy: &ThrottlePolicy,
    ip: IpAddr,
) -> Result<Option<Duration>, DbErr> {
    admit_hourly(db, clock, &format!("sign-up:{ip}"), policy.sign_ups_per_hour).await
}

/// Counts one request against `key`'s hourly allowance (e.g. `reset-email:ann@example.com`); answers the
/// wait when it is used up. The window starts with the first request after the last window ended.
pub async fn admit_hourly(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    key: &str,
    per_hour: u32,
) -> Result<Option<Duration>, DbErr> {
    use sea_orm::sea_query::ExprTrait as _;
    let now = clock.now();
    let window_start = now - Duration::hours(1);
    ensure_row(db, key, now).await?;
    // `last_failure_at` holds the window's start.
    let expired = || Expr::col((Entity, Column::LastFailureAt)).lte(window_start);
    let count =
        CaseStatement::new().case(expired(), Expr::value(1)).finally(Expr::col((Entity, Column::Failures)).add(1));
    let start =
        CaseStatement::new().case(expired(), Expr::value(now)).finally(Expr::col((Entity, Column::LastFailureAt)));
    let result = Entity::update_many()
        .col_expr(Column::Failures, count.into())
        .col_expr(Column::LastFailureAt, start.into())
        .filter(Column::Subject.eq(key))
        .filter(Column::LastFailureAt.lte(window_start).or(Column::Failures.lt(i64::from(per_hour))))
        .exec(db)
        .await?;
    if result.rows_affected == 1 {
        return Ok(None);
    }
    let started = Entity::find_by_id(key.to_owned()).one(db).await?.map_or(now, |row| row.last_failure_at);
    Ok(Some((started + Duration::hours(1) - now).max(Duration::seconds(1))))
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
    fn waits_start_when_the_allowance_is_used_and_double_up_to_the_ceiling() {
        let policy = ThrottlePolicy::default();
        assert_eq!(delay_after(&policy, 4, 5), None);
        assert_eq!(delay_after(&policy, 5, 5), Some(Duration::seconds(2)));
        assert_eq!(delay_after(&policy, 6, 5), Some(Duration::seconds(4)));
        assert_eq!(delay_after(&policy, 9, 5), Some(Duration::seconds(32)));
        assert_eq!(delay_after(&policy, 40, 5), Some(Duration::minutes(15)));
        assert_eq!(delay_after(&policy, u32::MAX, 5), Some(Duration::minutes(15)));
    }
}
