//! Usage: every verification of a stored key is counted in memory per key, per hour, per outcome code, and
//! written to the database in batches by [`UsageCounter::flush`] (the server calls it every second and once
//! more at shutdown). The flush also records each key's last use and the last client address given.

use crate::domain::storage::{api_keys, key_usage};
use crate::domain::verification::Code;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Rows per insert statement; keeps every statement far below SQLite's and PostgreSQL's parameter limits.
const ROWS_PER_STATEMENT: usize = 200;
/// Longest range one usage read covers.
pub const MAX_RANGE: Duration = Duration::days(31);

/// The start of the hour `at` falls in.
pub fn hour_of(at: DateTime<Utc>) -> DateTime<Utc> {
    let seconds = at.timestamp();
    DateTime::from_timestamp(seconds - seconds.rem_euclid(3600), 0).unwrap_or(at)
}

#[derive(Debug, Clone, Copy)]
struct LastUse {
    at: DateTime<Utc>,
    ip: Option<IpAddr>,
}

#[derive(Debug, Default)]
struct Pending {
    counts: HashMap<(Arc<str>, DateTime<Utc>, Code), u64>,
    last_used: HashMap<Arc<str>, LastUse>,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.counts.is_empty() && self.last_used.is_empty()
    }

    fn add(&mut self, key_id: &Arc<str>, hour: DateTime<Utc>, code: Code, count: u64, used: LastUse) {
        *self.counts.entry((key_id.clone(), hour, code)).or_default() += count;
        let last = self.last_used.entry(key_id.clone()).or_insert(used);
        if used.at >= last.at {
            last.at = used.at;
            last.ip = used.ip.or(last.ip);
        } else if last.ip.is_none() {
            last.ip = used.ip;
        }
    }

    fn merge(&mut self, other: Pending) {
        for ((key_id, hour, code), count) in other.counts {
            *self.counts.entry((key_id, hour, code)).or_default() += count;
        }
        for (key_id, used) in other.last_used {
            let last = self.last_used.entry(key_id).or_insert(used);
            if used.at >= last.at {
                *last = LastUse { at: used.at, ip: used.ip.or(last.ip) };
            }
        }
    }
}

/// Counts verifications in memory until the next flush.
#[derive(Debug, Default)]
pub struct UsageCounter {
    pending: Mutex<Pending>,
}

impl UsageCounter {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one verification of `key_id` with outcome `code` at `at`, from client `ip` if given.
    pub fn record(&self, key_id: &Arc<str>, at: DateTime<Utc>, code: Code, ip: Option<IpAddr>) {
        self.lock().add(key_id, hour_of(at), code, 1, LastUse { at, ip });
    }

    /// How many verifications are counted but not yet written.
    pub fn unwritten(&self) -> u64 {
        self.lock().counts.values().sum()
    }

    /// Writes everything counted so far in one transaction and returns how many verifications that was.
    /// On failure nothing is lost: the counts go back and the next flush tries again. Counts for keys
    /// deleted in the meantime are dropped.
    pub async fn flush(&self, db: &impl TransactionTrait) -> Result<u64, DbErr> {
        let batch = {
            let mut pending = self.lock();
            // The next second sees about as many keys as this one: keep the room instead of regrowing.
            let room = (pending.counts.len(), pending.last_used.len());
            std::mem::replace(
                &mut *pending,
                Pending { counts: HashMap::with_capacity(room.0), last_used: HashMap::with_capacity(room.1) },
            )
        };
        if batch.is_empty() {
            return Ok(0);
        }
        match write(db, &batch).await {
            Ok(()) => Ok(batch.counts.values().sum()),
            Err(err) => {
                self.lock().merge(batch);
                Err(err)
            }
        }
    }
}

async fn write(db: &impl TransactionTrait, batch: &Pending) -> Result<(), DbErr> {
    let txn = crate::domain::database::begin_write(db).await?;
    let ids: Vec<&str> = batch.last_used.keys().map(|id| id.as_ref()).collect();
    let mut existing = HashSet::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<String> = api_keys::Entity::find()
            .select_only()
            .column(api_keys::Column::Id)
            .filter(api_keys::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&txn)
            .await?;
        existing.extend(found);
    }
    let rows: Vec<key_usage::ActiveModel> = batch
        .counts
        .iter()
        .filter(|((key_id, _, _), _)| existing.contains(key_id.as_ref()))
        .map(|((key_id, hour, code), count)| key_usage::ActiveModel {
            key_id: Set(key_id.to_string()),
            hour: Set(*hour),
            code: Set(code.as_str().to_owned()),
            count: Set(i64::try_from(*count).unwrap_or(i64::MAX)),
        })
        .collect();
    let add_counts = OnConflict::columns([key_usage::Column::KeyId, key_usage::Column::Hour, key_usage::Column::Code])
        .value(
            key_usage::Column::Count,
            Expr::col((key_usage::Entity, key_usage::Column::Count))
                .add(Expr::col((Alias::new("excluded"), key_usage::Column::Count))),
        )
        .to_owned();
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        key_usage::Entity::insert_many(chunk.to_vec()).on_conflict(add_counts.clone()).exec(&txn).await?;
    }
    for (key_id, used) in batch.last_used.iter().filter(|(key_id, _)| existing.contains(key_id.as_ref())) {
        let mut update = api_keys::Entity::update_many().col_expr(api_keys::Column::LastUsedAt, Expr::value(used.at));
        if let Some(ip) = used.ip {
            update = update.col_expr(api_keys::Column::LastUsedIp, Expr::value(ip.to_string()));
        }
        update
            .filter(api_keys::Column::Id.eq(key_id.as_ref()))
            .filter(
                Condition::any()
                    .add(api_keys::Column::LastUsedAt.is_null())
                    .add(api_keys::Column::LastUsedAt.lte(used.at)),
            )
            .exec(&txn)
            .await?;
    }
    txn.commit().await
}

/// One hour of a key's verifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HourBucket {
    /// The start of the hour.
    pub start: DateTime<Utc>,
    /// Verifications per outcome code; codes that did not occur are absent.
    pub counts: BTreeMap<Code, u64>,
}

/// `key_id`'s verifications per hour from the hour containing `since` up to the one containing `until`,
/// one bucket per hour (empty hours included), oldest first. The range is capped at [`MAX_RANGE`].
pub async fn hourly(
    db: &impl ConnectionTrait,
    key_id: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<HourBucket>, DbErr> {
    let until = hour_of(until);
    let since = Ord::min(hour_of(Ord::max(since, until - MAX_RANGE)), until);
    let rows = key_usage::Entity::find()
        .filter(key_usage::Column::KeyId.eq(key_id))
        .filter(key_usage::Column::Hour.gte(since))
        .filter(key_usage::Column::Hour.lte(until))
        .order_by_asc(key_usage::Column::Hour)
        .all(db)
        .await?;
    let mut by_hour: BTreeMap<DateTime<Utc>, BTreeMap<Code, u64>> = BTreeMap::new();
    let mut hour = since;
    while hour <= until {
        by_hour.insert(hour, BTreeMap::new());
        hour += Duration::hours(1);
    }
    for row in rows {
        if let (Some(counts), Some(code)) = (by_hour.get_mut(&row.hour), Code::parse(&row.code)) {
            *counts.entry(code).or_default() += u64::try_from(row.count).unwrap_or(0);
        }
    }
    Ok(by_hour.into_iter().map(|(start, counts)| HourBucket { start, counts }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_start_on_the_hour() {
        let at = DateTime::parse_from_rfc3339("2026-11-22T12:34:56Z").expect("valid").to_utc();
        assert_eq!(hour_of(at).to_rfc3339(), "2026-11-22T12:00:00+00:00");
    }

    #[test]
    fn counts_add_up_and_the_newest_address_wins() {
        let counter = UsageCounter::default();
        let key: Arc<str> = Arc::from("k");
        let at = DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").expect("valid").to_utc();
        let ip: IpAddr = "203.0.113.7".parse().expect("ip");
        counter.record(&key, at, Code::Valid, Some(ip));
        counter.record(&key, at + Duration::seconds(1), Code::Valid, None);
        counter.record(&key, at + Duration::seconds(2), Code::RateLimited, None);
        assert_eq!(counter.unwritten(), 3);
        let pending = counter.lock();
        assert_eq!(pending.counts.get(&(key.clone(), at, Code::Valid)), Some(&2));
        let last = pending.last_used.get(&key).expect("used");
        assert_eq!((last.at, last.ip), (at + Duration::seconds(2), Some(ip)));
    }
}
