//! The rollup: hours of finished days are added into daily buckets, and old buckets are deleted.
//!
//! Never counting twice rests on one row, `usage_rollups.rolled_until`: each day is rolled up in a
//! transaction that first moves the boundary past it (only if no one else has) and then writes its totals,
//! so a day is rolled exactly once, by one instance, and readers use daily rows only before the boundary.

use super::counter::ROWS_PER_STATEMENT;
use super::{Granularity, day_of, windows};
use crate::domain::storage::{key_usage, key_usage_daily, organisation_usage, organisation_usage_daily, usage_rollups};
use crate::domain::verification::Code;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, LockType, OnConflict};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, QueryFilter, QuerySelect, Set,
    TransactionSession, TransactionTrait,
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
    /// Usage windows built from scratch (on the first run, or after the job was stopped for longer than a
    /// window) rather than slid forward.
    pub windows_rebuilt: u32,
}

/// Most days one run rolls up; a long-stopped deployment catches up over a few runs.
const MAX_DAYS_PER_RUN: u32 = 400;

/// Rolls every finished day (before today, UTC, at `now`) into daily buckets, slides the per-key usage
/// windows up to `now` ([`windows::slide`]), then deletes buckets older than `retention`. Safe to run from
/// several instances at once.
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
            let organisation_sums: Vec<(String, String, i64)> = organisation_usage::Entity::find()
                .select_only()
                .column(organisation_usage::Column::OrganisationId)
                .column(organisation_usage::Column::Code)
                .column_as(
                    Expr::from(Func::cast_as(
                        Func::sum(Expr::col(organisation_usage::Column::Count)),
                        Alias::new("bigint"),
                    )),
                    "total",
                )
                .filter(organisation_usage::Column::Hour.gte(from))
                .filter(organisation_usage::Column::Hour.lt(until))
                .group_by(organisation_usage::Column::OrganisationId)
                .group_by(organisation_usage::Column::Code)
                .into_tuple()
                .all(&txn)
                .await?;
            let rows = organisation_sums.iter().filter_map(|(organisation_id, code, total)| {
                Some((organisation_id.as_str(), day, Code::parse(code)?, u64::try_from(*total).ok()?))
            });
            add_to_organisation_days(&txn, rows).await?;
            report.days_rolled += 1;
        }
        txn.commit().await?;
    }
    report.windows_rebuilt = windows::slide(db, now).await?;
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
    let at = boundaries(&txn, None).await?;
    // Buckets a window still counts stay until the window has slid past them: sliding subtracts them.
    let still_counted = |granularity| at.window_from(granularity).unwrap_or(DateTime::<Utc>::MAX_UTC);
    let hourly_cutoff =
        Ord::min(Ord::min(day_of(now - retention.hourly), at.rolled_until), still_counted(Granularity::Hour));
    let daily_cutoff = Ord::min(day_of(now - retention.daily), still_counted(Granularity::Day));
    let hourly = key_usage::Entity::delete_many().filter(key_usage::Column::Hour.lt(hourly_cutoff)).exec(&txn).await?;
    let daily =
        key_usage_daily::Entity::delete_many().filter(key_usage_daily::Column::Day.lt(daily_cutoff)).exec(&txn).await?;
    organisation_usage::Entity::delete_many()
        .filter(organisation_usage::Column::Hour.lt(hourly_cutoff))
        .exec(&txn)
        .await?;
    organisation_usage_daily::Entity::delete_many()
        .filter(organisation_usage_daily::Column::Day.lt(daily_cutoff))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    Ok((hourly.rows_affected, daily.rows_affected))
}

/// The first day whose hours are not yet in the daily table. `lock` locks the row until commit (PostgreSQL;
/// on SQLite the write transaction already excludes everyone else): the usage flush takes a shared lock, the
/// rollup an exclusive one, so each waits for the other and neither deadlocks with itself.
pub async fn rolled_until(db: &impl ConnectionTrait, lock: Option<LockType>) -> Result<DateTime<Utc>, DbErr> {
    Ok(boundaries(db, lock).await?.rolled_until)
}

/// Where the stored usage's parts meet: see [`rolled_until`] (and its locking) and [`windows`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Boundaries {
    /// The first day whose hours are not yet in the daily tables.
    pub rolled_until: DateTime<Utc>,
    /// The first hour counted in the 24-hour window, once built.
    pub hour_window_from: Option<DateTime<Utc>>,
    /// The first day counted in the 30-day window, once built.
    pub day_window_from: Option<DateTime<Utc>>,
}

impl Boundaries {
    /// The first bucket the window of `granularity` counts, once built.
    pub fn window_from(&self, granularity: Granularity) -> Option<DateTime<Utc>> {
        match granularity {
            Granularity::Hour => self.hour_window_from,
            Granularity::Day => self.day_window_from,
        }
    }
}

/// Reads every boundary at once, locking the row like [`rolled_until`] when `lock` is given.
pub async fn boundaries(db: &impl ConnectionTrait, lock: Option<LockType>) -> Result<Boundaries, DbErr> {
    let mut query = usage_rollups::Entity::find_by_id(1);
    if let Some(lock) = lock {
        query = query.lock(lock);
    }
    Ok(query.one(db).await?.map_or(
        Boundaries { rolled_until: DateTime::<Utc>::UNIX_EPOCH, hour_window_from: None, day_window_from: None },
        |row| Boundaries {
            rolled_until: row.rolled_until,
            hour_window_from: row.hour_window_from,
            day_window_from: row.day_window_from,
        },
    ))
}

/// Inserts `rows`, adding `count` to the stored count of any row that already exists (its primary key is
/// `conflict`). Callers sort the rows: two instances writing the same rows then lock them in one order.
pub(super) async fn add_counts<E, M>(
    db: &impl ConnectionTrait,
    rows: Vec<M>,
    conflict: impl IntoIterator<Item = E::Column>,
    count: E::Column,
) -> Result<(), DbErr>
where
    E: EntityTrait,
    M: ActiveModelTrait<Entity = E> + IntoActiveModel<M> + Clone + Send,
{
    let add = OnConflict::columns(conflict)
        .value(count, Expr::col((E::default(), count)).add(Expr::col((Alias::new("excluded"), count))))
        .to_owned();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        E::insert_many(chunk.to_vec()).on_conflict(add.clone()).exec(db).await?;
    }
    Ok(())
}

/// Adds counts into organisations' daily buckets: `(organisation id, day, code, count)`.
pub(super) async fn add_to_organisation_days<'a>(
    db: &impl ConnectionTrait,
    counts: impl Iterator<Item = (&'a str, DateTime<Utc>, Code, u64)>,
) -> Result<(), DbErr> {
    let rows: Vec<organisation_usage_daily::ActiveModel> = counts
        .map(|(organisation_id, day, code, count)| organisation_usage_daily::ActiveModel {
            organisation_id: Set(organisation_id.to_owned()),
            day: Set(day),
            code: Set(code.as_str().to_owned()),
            count: Set(i64::try_from(count).unwrap_or(i64::MAX)),
        })
        .collect();
    use organisation_usage_daily::Column;
    add_counts(db, rows, [Column::OrganisationId, Column::Day, Column::Code], Column::Count).await
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
    use key_usage_daily::Column;
    add_counts(db, rows, [Column::KeyId, Column::Day, Column::Code], Column::Count).await
}
