//! The rollup: hours of finished days are added into daily buckets, and old buckets are deleted.
//!
//! Never counting twice rests on one row, `usage_rollups.rolled_until`: each day is rolled up in a
//! transaction that first moves the boundary past it (only if no one else has) and then writes its totals,
//! so a day is rolled exactly once, by one instance, and readers use daily rows only before the boundary.

use super::counter::ROWS_PER_STATEMENT;
use super::day_of;
use crate::domain::storage::{key_usage, key_usage_daily, usage_rollups};
use crate::domain::verification::Code;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LockType, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QuerySelect, Set, TransactionSession,
    TransactionTrait,
};

/// How long usage buckets are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Hourly buckets (default 14 days). Hours not yet rolled up are kept whatever this says.
    pub hourly: Duration,
    /// Daily buckets (default 400 days).
    pub daily: Duration,
}

/// Shortest hourly retention: the 24-hour charts read hourly buckets.
pub const MIN_HOURLY_RETENTION: Duration = Duration::days(2);
/// Shortest daily retention: the 30-day charts read daily buckets.
pub const MIN_DAILY_RETENTION: Duration = Duration::days(31);

impl Default for Retention {
    fn default() -> Self {
        Self { hourly: Duration::days(14), daily: Duration::days(400) }
    }
}

impl Retention {
    /// Checks both periods against the charts' needs; the message says what is wrong.
    pub fn new(hourly: Duration, daily: Duration) -> Result<Self, String> {
        if hourly < MIN_HOURLY_RETENTION {
            return Err("hourly usage must be kept at least 2 days (2d): the 24-hour charts read it".into());
        }
        if daily < MIN_DAILY_RETENTION {
            return Err("daily usage must be kept at least 31 days (31d): the 30-day charts read it".into());
        }
        if daily < hourly {
            return Err("daily usage must be kept at least as long as hourly usage".into());
        }
        Ok(Self { hourly, daily })
    }
}

/// What one run of [`roll_up`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollupReport {
    /// Days whose hours were added into daily buckets.
    pub days_rolled: u32,
    /// Hourly buckets deleted by retention.
    pub hourly_deleted: u64,
    /// Daily buckets deleted by retention.
    pub daily_deleted: u64,
}

/// Most days one run rolls up; a long-stopped deployment catches up over a few runs.
const MAX_DAYS_PER_RUN: u32 = 400;

/// Rolls every finished day (before today, UTC, at `now`) into daily buckets, then deletes buckets older than
/// `retention`. Safe to run from several instances at once.
pub async fn roll_up(
    db: &impl TransactionTrait,
    now: DateTime<Utc>,
    retention: Retention,
) -> Result<RollupReport, DbErr> {
    let today = day_of(now);
    let mut report = RollupReport::default();
    while report.days_rolled < MAX_DAYS_PER_RUN {
        let txn = crate::domain::database::begin_write(db).await?;
        let from = rolled_until(&txn, Some(LockType::Update)).await?;
        if from >= today {
            txn.rollback().await?;
            break;
        }
        // Skip the empty days in one step: a new deployment starts at the epoch.
        let first_hour: Option<DateTime<Utc>> = key_usage::Entity::find()
            .select_only()
            .column_as(Expr::from(Func::min(Expr::col(key_usage::Column::Hour))), "first")
            .filter(key_usage::Column::Hour.gte(from))
            .filter(key_usage::Column::Hour.lt(today))
            .into_tuple()
            .one(&txn)
            .await?
            .flatten();
        let until = first_hour.map_or(today, |hour| day_of(hour) + Duration::days(1));
        let moved = usage_rollups::Entity::update_many()
            .col_expr(usage_rollups::Column::RolledUntil, Expr::value(until))
            .filter(usage_rollups::Column::Id.eq(1))
            .filter(usage_rollups::Column::RolledUntil.eq(from))
            .exec(&txn)
            .await?;
        if moved.rows_affected == 0 {
            // Another instance rolled these days in the meantime.
            txn.rollback().await?;
            continue;
        }
        if first_hour.is_some() {
            let sums: Vec<(String, String, String, i64)> = key_usage::Entity::find()
                .select_only()
                .column(key_usage::Column::KeyId)
                .column(key_usage::Column::OrganisationId)
                .column(key_usage::Column::Code)
                .column_as(
                    Expr::from(Func::cast_as(Func::sum(Expr::col(key_usage::Column::Count)), Alias::new("bigint"))),
                    "total",
                )
                .filter(key_usage::Column::Hour.gte(from))
                .filter(key_usage::Column::Hour.lt(until))
                .group_by(key_usage::Column::KeyId)
                .group_by(key_usage::Column::OrganisationId)
                .group_by(key_usage::Column::Code)
                .into_tuple()
                .all(&txn)
                .await?;
            let day = until - Duration::days(1);
            let rows = sums.iter().filter_map(|(key_id, organisation_id, code, total)| {
                Some((key_id.as_str(), organisation_id.as_str(), day, Code::parse(code)?, u64::try_from(*total).ok()?))
            });
            add_to_days(&txn, rows).await?;
            report.days_rolled += 1;
        }
        txn.commit().await?;
    }
    let (hourly_deleted, daily_deleted) = apply_retention(db, now, retention).await?;
    report.hourly_deleted = hourly_deleted;
    report.daily_deleted = daily_deleted;
    Ok(report)
}

/// Deletes hourly buckets older than the retention (only those already rolled up) and daily buckets older
/// than theirs.
async fn apply_retention(
    db: &impl TransactionTrait,
    now: DateTime<Utc>,
    retention: Retention,
) -> Result<(u64, u64), DbErr> {
    let txn = crate::domain::database::begin_write(db).await?;
    let rolled = rolled_until(&txn, None).await?;
    let hourly_cutoff = Ord::min(day_of(now - retention.hourly), rolled);
    let hourly = key_usage::Entity::delete_many().filter(key_usage::Column::Hour.lt(hourly_cutoff)).exec(&txn).await?;
    let daily = key_usage_daily::Entity::delete_many()
        .filter(key_usage_daily::Column::Day.lt(day_of(now - retention.daily)))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok((hourly.rows_affected, daily.rows_affected))
}

/// The first day whose hours are not yet in the daily table. `lock` locks the row until commit (PostgreSQL;
/// on SQLite the write transaction already excludes everyone else): the usage flush takes a shared lock, the
/// rollup an exclusive one, so each waits for the other and neither deadlocks with itself.
pub async fn rolled_until(db: &impl ConnectionTrait, lock: Option<LockType>) -> Result<DateTime<Utc>, DbErr> {
    let mut query = usage_rollups::Entity::find_by_id(1);
    if let Some(lock) = lock {
        query = query.lock(lock);
    }
    Ok(query.one(db).await?.map_or(DateTime::<Utc>::UNIX_EPOCH, |row| row.rolled_until))
}

/// Adds counts into daily buckets: `(key id, organisation id, day, code, count)`.
pub(super) async fn add_to_days<'a>(
    db: &impl ConnectionTrait,
    counts: impl Iterator<Item = (&'a str, &'a str, DateTime<Utc>, Code, u64)>,
) -> Result<(), DbErr> {
    let rows: Vec<key_usage_daily::ActiveModel> = counts
        .map(|(key_id, organisation_id, day, code, count)| key_usage_daily::ActiveModel {
            key_id: Set(key_id.to_owned()),
            organisation_id: Set(organisation_id.to_owned()),
            day: Set(day),
            code: Set(code.as_str().to_owned()),
            count: Set(i64::try_from(count).unwrap_or(i64::MAX)),
        })
        .collect();
    let add = OnConflict::columns([
        key_usage_daily::Column::KeyId,
        key_usage_daily::Column::Day,
        key_usage_daily::Column::Code,
    ])
    .value(
        key_usage_daily::Column::Count,
        Expr::col((key_usage_daily::Entity, key_usage_daily::Column::Count))
            .add(Expr::col((Alias::new("excluded"), key_usage_daily::Column::Count))),
    )
    .to_owned();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        key_usage_daily::Entity::insert_many(chunk.to_vec()).on_conflict(add.clone()).exec(db).await?;
    }
    Ok(())
}
