//! Each key's totals over the sliding last 24 hours and last 30 days, which the usage overview ranks an
//! organisation's keys by. Summed at read time they cost an organisation of ten thousand keys a quarter of
//! a million rows per page view; kept up to date here, the ranking reads one row per key and code.
//!
//! The window of a granularity holds exactly the counts of the buckets from its start on, the start being
//! stored in `usage_rollups` (`hour_window_from`, `day_window_from`):
//! - the usage flush adds counts of buckets at or after the start, holding a shared lock on that row;
//! - [`slide`] moves the start forward and subtracts the buckets it passes, holding an exclusive lock.
//!
//! So each count is added once and taken away once. Readers ([`totals_by_key_since`]) correct for a start
//! that lags or leads the period they want, and fall back to summing buckets when there is no window yet.

use super::report::{self, Counts, KeySum, UsageOf};
use super::rollup;
use super::{Granularity, Period};
use crate::domain::storage::{key_usage_windows, usage_rollups};
use crate::domain::verification::Code;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Expr, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set, TransactionSession,
    TransactionTrait,
};
use std::collections::HashMap;

/// How many buckets a window spans: the usage overview's 24 hours and 30 days.
pub fn length(granularity: Granularity) -> i32 {
    match granularity {
        Granularity::Hour => 24,
        Granularity::Day => 30,
    }
}

/// The first bucket of the window of `granularity` at `now`: the start of the usage overview's period.
pub fn start_at(granularity: Granularity, now: DateTime<Utc>) -> DateTime<Utc> {
    match granularity {
        Granularity::Hour => Period::last_24_hours(now).first,
        Granularity::Day => Period::last_30_days(now).first,
    }
}

fn span(granularity: Granularity) -> Duration {
    granularity.step() * length(granularity)
}

/// One key's count with one code to add to one window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count<'a> {
    /// The key.
    pub key_id: &'a str,
    /// Its organisation.
    pub organisation_id: &'a str,
    /// Which window.
    pub granularity: Granularity,
    /// The outcome.
    pub code: Code,
    /// How many (negative to take away).
    pub count: i64,
}

/// Adds `counts` to the windows. The caller holds the lock on the boundaries it decided them by and passes
/// them sorted by key, granularity and code (the order instances lock rows in).
pub(super) async fn add<'a>(db: &impl ConnectionTrait, counts: impl Iterator<Item = Count<'a>>) -> Result<(), DbErr> {
    let rows: Vec<key_usage_windows::ActiveModel> = counts
        .map(|count| key_usage_windows::ActiveModel {
            key_id: Set(count.key_id.to_owned()),
            granularity: Set(count.granularity.as_str().to_owned()),
            code: Set(count.code.as_str().to_owned()),
            organisation_id: Set(count.organisation_id.to_owned()),
            count: Set(count.count),
        })
        .collect();
    use key_usage_windows::Column;
    rollup::add_counts(db, rows, [Column::KeyId, Column::Granularity, Column::Code], Column::Count).await
}

/// Moves both windows' starts up to `now`, subtracting the buckets they leave behind; a window that does not
/// exist yet, or whose start is a whole window or more behind (the job was stopped), is built afresh from the
/// buckets. Answers how many windows were built afresh. Safe to run from several instances at once.
pub async fn slide(db: &impl TransactionTrait, now: DateTime<Utc>) -> Result<u32, DbErr> {
    let mut rebuilt = 0;
    for granularity in [Granularity::Hour, Granularity::Day] {
        let target = start_at(granularity, now);
        let txn = crate::domain::database::begin_write(db).await?;
        let from = rollup::boundaries(&txn, Some(LockType::Update)).await?.window_from(granularity);
        match from {
            // Up to date, or moved on by an instance whose clock is a little ahead: readers correct for it.
            Some(from) if from >= target => {
                txn.rollback().await?;
                continue;
            }
            Some(from) if target - from < span(granularity) => {
                let left = Period { granularity, first: from, last: target - granularity.step() };
                let sums = report::key_sums(&txn, UsageOf::Everyone, &left).await?;
                add(&txn, sums.iter().map(|sum| count_of(sum, granularity, -1))).await?;
                // Keys with nothing left in the window drop out of it.
                for chunk in sums.chunks(super::counter::ROWS_PER_STATEMENT) {
                    key_usage_windows::Entity::delete_many()
                        .filter(key_usage_windows::Column::Granularity.eq(granularity.as_str()))
                        .filter(key_usage_windows::Column::KeyId.is_in(chunk.iter().map(|sum| sum.key_id.as_str())))
                        .filter(key_usage_windows::Column::Count.lte(0))
                        .exec(&txn)
                        .await?;
                }
            }
            _ => {
                key_usage_windows::Entity::delete_many()
                    .filter(key_usage_windows::Column::Granularity.eq(granularity.as_str()))
                    .exec(&txn)
                    .await?;
                // Everything from the start on, including a bucket ahead for instances whose clocks run fast.
                let since = Period { granularity, first: target, last: granularity.start_of(now) + granularity.step() };
                let sums = report::key_sums(&txn, UsageOf::Everyone, &since).await?;
                add(&txn, sums.iter().map(|sum| count_of(sum, granularity, 1))).await?;
                rebuilt += 1;
            }
        }
        let column = match granularity {
            Granularity::Hour => usage_rollups::Column::HourWindowFrom,
            Granularity::Day => usage_rollups::Column::DayWindowFrom,
        };
        usage_rollups::Entity::update_many()
            .col_expr(column, Expr::value(Some(target)))
            .filter(usage_rollups::Column::Id.eq(1))
            .exec(&txn)
            .await?;
        txn.commit().await?;
    }
    Ok(rebuilt)
}

fn count_of(sum: &KeySum, granularity: Granularity, sign: i64) -> Count<'_> {
    Count {
        key_id: &sum.key_id,
        organisation_id: &sum.organisation_id,
        granularity,
        code: sum.code,
        count: sign.saturating_mul(i64::try_from(sum.count).unwrap_or(i64::MAX)),
    }
}

/// How many times a read retries when the window slides under it before it sums buckets instead.
const READ_ATTEMPTS: usize = 3;

/// Each of `organisation`'s keys' totals from the bucket of `granularity` starting at `since` up to now, for
/// keys with any use: the usage overview's ranking. Reads the window and corrects it by the buckets between
/// its start and `since`; sums every bucket when the window is missing or too far off.
pub async fn totals_by_key_since(
    db: &impl ConnectionTrait,
    organisation: &str,
    granularity: Granularity,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<HashMap<String, Counts>, DbErr> {
    let since = granularity.start_of(since);
    for _ in 0..READ_ATTEMPTS {
        let before = rollup::boundaries(db, None).await?;
        let Some(from) = before.window_from(granularity) else { break };
        if (from - since).abs() >= span(granularity) {
            break;
        }
        let mut totals = window(db, organisation, granularity).await?;
        let of = UsageOf::Organisation(organisation);
        if from < since {
            let before_since = Period { granularity, first: from, last: since - granularity.step() };
            for sum in report::key_sums(db, of, &before_since).await? {
                take(&mut totals, &sum);
            }
        } else if since < from {
            let missing = Period { granularity, first: since, last: from - granularity.step() };
            for sum in report::key_sums(db, of, &missing).await? {
                *totals.entry(sum.key_id).or_default().entry(sum.code).or_default() += sum.count;
            }
        }
        // The window and its start change together, in one transaction; reading the start again tells
        // whether both reads saw the same window.
        if rollup::boundaries(db, None).await? == before {
            totals.retain(|_, counts| {
                counts.retain(|_, count| *count > 0);
                !counts.is_empty()
            });
            return Ok(totals);
        }
    }
    let period = Period::new(granularity, since, now);
    report::totals_by_key(db, UsageOf::Organisation(organisation), &period).await
}

fn take(totals: &mut HashMap<String, Counts>, sum: &KeySum) {
    if let Some(count) = totals.get_mut(&sum.key_id).and_then(|counts| counts.get_mut(&sum.code)) {
        *count = count.saturating_sub(sum.count);
    }
}

async fn window(
    db: &impl ConnectionTrait,
    organisation: &str,
    granularity: Granularity,
) -> Result<HashMap<String, Counts>, DbErr> {
    let rows: Vec<(String, String, i64)> = key_usage_windows::Entity::find()
        .select_only()
        .column(key_usage_windows::Column::KeyId)
        .column(key_usage_windows::Column::Code)
        .column(key_usage_windows::Column::Count)
        .filter(key_usage_windows::Column::OrganisationId.eq(organisation))
        .filter(key_usage_windows::Column::Granularity.eq(granularity.as_str()))
        .into_tuple()
        .all(db)
        .await?;
    let mut totals: HashMap<String, Counts> = HashMap::new();
    for (key_id, code, count) in rows {
        if let (Some(code), Ok(count)) = (Code::parse(&code), u64::try_from(count)) {
            *totals.entry(key_id).or_default().entry(code).or_default() += count;
        }
    }
    Ok(totals)
}
