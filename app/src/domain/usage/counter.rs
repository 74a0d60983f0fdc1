//! Counting verifications in memory and writing them to the database in batches with
//! [`UsageCounter::flush`] (the server calls it every second and once more at shutdown). The flush also
//! records each key's last use and the last client address given.

use super::{day_of, hour_of, rollup};
use crate::domain::storage::{api_keys, key_usage};
use crate::domain::verification::Code;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, LockType, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, DbErr, EntityTrait, QueryFilter, QuerySelect, Set, TransactionSession, TransactionTrait,
};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

/// Rows per insert statement; keeps every statement far below SQLite's and PostgreSQL's parameter limits.
pub(super) const ROWS_PER_STATEMENT: usize = 200;

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
    // Key id → organisation id; keys deleted since they were counted are missing, and their counts are dropped.
    let mut existing: HashMap<String, String> = HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<(String, String)> = api_keys::Entity::find()
            .select_only()
            .column(api_keys::Column::Id)
            .column(api_keys::Column::OrganisationId)
            .filter(api_keys::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(&txn)
            .await?;
        existing.extend(found);
    }
    // Hours of days already rolled up (counts that arrive late: a retried flush, a slow instance) go into
    // the daily table too, or the daily totals would never see them. Reading the boundary with a shared
    // lock makes a concurrent rollup wait for this flush, or this flush wait for it.
    let rolled_until = rollup::rolled_until(&txn, Some(LockType::Share)).await?;
    let counted = || {
        batch.counts.iter().filter_map(|((key_id, hour, code), count)| {
            existing
                .get(key_id.as_ref())
                .map(|organisation| ((key_id.as_ref(), organisation.as_str(), *hour, *code), *count))
        })
    };
    let rows: Vec<key_usage::ActiveModel> = counted()
        .map(|((key_id, organisation_id, hour, code), count)| key_usage::ActiveModel {
            key_id: Set(key_id.to_owned()),
            organisation_id: Set(organisation_id.to_owned()),
            hour: Set(hour),
            code: Set(code.as_str().to_owned()),
            count: Set(i64::try_from(count).unwrap_or(i64::MAX)),
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
    let mut late: HashMap<(&str, &str, DateTime<Utc>, Code), u64> = HashMap::new();
    for ((key_id, organisation_id, hour, code), count) in counted().filter(|((_, _, hour, _), _)| *hour < rolled_until)
    {
        *late.entry((key_id, organisation_id, day_of(hour), code)).or_default() += count;
    }
    rollup::add_to_days(
        &txn,
        late.into_iter().map(|((key, organisation, day, code), count)| (key, organisation, day, code, count)),
    )
    .await?;
    for (key_id, used) in batch.last_used.iter().filter(|(key_id, _)| existing.contains_key(key_id.as_ref())) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

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
