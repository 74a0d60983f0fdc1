//! Counting verifications in memory and writing them to the database in two steps:
//!
//! 1. [`UsageCounter::stage`] writes everything counted so far as plain rows into `usage_staged`: inserts
//!    that wait for no lock, so they take milliseconds however busy the usage tables are. The server calls
//!    it every second and once more at shutdown; a process that dies loses only what it counted since.
//! 2. [`fold`] moves staged rows (of any instance, which matters when one died) into the usage tables, the
//!    daily buckets of days already rolled up, the usage windows and each key's last use and address, in one
//!    transaction that also deletes them: every count is folded exactly once. Folding can be slow (two
//!    instances update the same rows; the rollup waits for it or it for the rollup) without putting
//!    anything at risk.
//!
//! [`UsageCounter::flush`] does both, for callers that want the counts readable at once.

use super::{Granularity, day_of, hour_of, rollup, windows};
use crate::domain::storage::{api_keys, key_usage, organisation_usage, usage_staged};
use crate::domain::verification::Code;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{CaseStatement, Expr, LockType};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    TransactionSession, TransactionTrait,
};
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Rows per insert statement; keeps every statement far below SQLite's and PostgreSQL's parameter limits.
pub(super) const ROWS_PER_STATEMENT: usize = 200;

#[derive(Debug, Clone, Copy)]
struct LastUse {
    at: DateTime<Utc>,
    ip: Option<IpAddr>,
}

impl LastUse {
    /// Takes `used` in: the newest time wins, and an address is kept unless a newer one was given.
    fn update(&mut self, used: LastUse) {
        if used.at >= self.at {
            *self = LastUse { at: used.at, ip: used.ip.or(self.ip) };
        } else if self.ip.is_none() {
            self.ip = used.ip;
        }
    }
}

/// One key's verifications since the last flush: counts by hour and outcome (nearly always one or two
/// entries, so a list beats a map) and its last use.
#[derive(Debug)]
struct Tally {
    counts: Vec<(DateTime<Utc>, Code, u64)>,
    last: LastUse,
}

impl Tally {
    fn add(&mut self, hour: DateTime<Utc>, code: Code, count: u64) {
        match self.counts.iter_mut().find(|(h, c, _)| *h == hour && *c == code) {
            Some((_, _, total)) => *total += count,
            None => self.counts.push((hour, code, count)),
        }
    }
}

// Key ids are made by Latchkey, never by callers, so a fast hash without flood resistance is safe here.
type ByKey = HashMap<Arc<str>, Tally, foldhash::fast::RandomState>;

#[derive(Debug, Default)]
struct Pending {
    keys: ByKey,
}

impl Pending {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn total(&self) -> u64 {
        self.keys.values().flat_map(|tally| &tally.counts).map(|(_, _, count)| count).sum()
    }

    fn add(&mut self, key_id: &Arc<str>, hour: DateTime<Utc>, code: Code, count: u64, used: LastUse) {
        // One lookup, and no clone of the id unless the key is new since the last flush.
        if let Some(tally) = self.keys.get_mut(key_id) {
            tally.add(hour, code, count);
            tally.last.update(used);
        } else {
            self.keys.insert(key_id.clone(), Tally { counts: vec![(hour, code, count)], last: used });
        }
    }

    fn merge(&mut self, other: Pending) {
        for (key_id, tally) in other.keys {
            match self.keys.get_mut(&key_id) {
                Some(mine) => {
                    for (hour, code, count) in tally.counts {
                        mine.add(hour, code, count);
                    }
                    mine.last.update(tally.last);
                }
                None => {
                    self.keys.insert(key_id, tally);
                }
            }
        }
    }

    /// Empties this, keeping its room: the next second sees about as many keys as this one.
    fn take(&mut self) -> Pending {
        let room = self.keys.len();
        std::mem::replace(self, Pending { keys: ByKey::with_capacity_and_hasher(room, Default::default()) })
    }
}

/// One shard, on a cache line of its own so that two threads counting into neighbouring shards do not
/// slow each other down.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Shard(Mutex<Pending>);

impl Shard {
    fn lock(&self) -> MutexGuard<'_, Pending> {
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Counts verifications in memory until the next flush.
///
/// Every verification, refusals included, is counted here, so one lock for the whole process would make
/// the threads serving verifications queue behind each other. Each thread counts into a shard of its own
/// (threads beyond the number of shards share), and a flush gathers all shards.
#[derive(Debug)]
pub struct UsageCounter {
    shards: Box<[Shard]>,
}

impl Default for UsageCounter {
    fn default() -> Self {
        let threads = std::thread::available_parallelism().map_or(4, std::num::NonZeroUsize::get);
        Self::with_shards(threads * 2)
    }
}

static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static SHARD: usize = NEXT_SHARD.fetch_add(1, Ordering::Relaxed);
}

impl UsageCounter {
    /// A counter with `shards` shards (at least one).
    pub fn with_shards(shards: usize) -> Self {
        Self { shards: (0..shards.clamp(1, 256)).map(|_| Shard::default()).collect() }
    }

    fn this_threads_shard(&self) -> &Shard {
        let index = SHARD.with(|index| *index) % self.shards.len();
        &self.shards[index]
    }

    /// Counts one verification of `key_id` with outcome `code` at `at`, from client `ip` if given.
    pub fn record(&self, key_id: &Arc<str>, at: DateTime<Utc>, code: Code, ip: Option<IpAddr>) {
        self.this_threads_shard().lock().add(key_id, hour_of(at), code, 1, LastUse { at, ip });
    }

    /// How many verifications are counted but not yet written.
    pub fn unwritten(&self) -> u64 {
        self.shards.iter().map(|shard| shard.lock().total()).sum()
    }

    /// Everything counted so far, leaving the shards empty.
    fn take_all(&self) -> Pending {
        let mut batch = Pending::default();
        for shard in &self.shards {
            let taken = shard.lock().take();
            batch.merge(taken);
        }
        batch
    }

    /// Writes everything counted so far into `usage_staged` and answers how many verifications that was.
    /// On failure nothing is lost: the counts go back and the next call tries again.
    pub async fn stage(&self, db: &impl TransactionTrait) -> Result<u64, DbErr> {
        let batch = self.take_all();
        if batch.is_empty() {
            return Ok(0);
        }
        match stage_batch(db, &batch).await {
            Ok(()) => Ok(batch.total()),
            Err(err) => {
                self.shards[0].lock().merge(batch);
                Err(err)
            }
        }
    }

    /// Stages everything counted so far and folds every staged count into the usage tables, so that reads
    /// see it; answers how many verifications this counter staged. Counts for deleted keys are dropped.
    pub async fn flush(&self, db: &(impl ConnectionTrait + TransactionTrait)) -> Result<u64, DbErr> {
        let staged = self.stage(db).await?;
        while fold(db).await? == FOLD_BATCH {}
        Ok(staged)
    }
}

/// Most staged rows one [`fold`] takes: a long backlog (after an outage) is folded in several transactions
/// rather than one that holds its locks for long.
pub const FOLD_BATCH: usize = 5_000;

async fn stage_batch(db: &impl TransactionTrait, batch: &Pending) -> Result<(), DbErr> {
    let rows: Vec<usage_staged::ActiveModel> = batch
        .keys
        .iter()
        .flat_map(|(key_id, tally)| {
            tally.counts.iter().map(move |(hour, code, count)| usage_staged::ActiveModel {
                id: Set(uuid::Uuid::now_v7().to_string()),
                key_id: Set(key_id.as_ref().to_owned()),
                hour: Set(*hour),
                code: Set(code.as_str().to_owned()),
                count: Set(saturating(*count)),
                last_used_at: Set(tally.last.at),
                last_used_ip: Set(tally.last.ip.map(|ip| ip.to_string())),
            })
        })
        .collect();
    // One transaction: a batch is staged whole or not at all, so a retry never stages part of it twice.
    let txn = db.begin().await?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        usage_staged::Entity::insert_many(chunk.to_vec()).exec_without_returning(&txn).await?;
    }
    txn.commit().await
}

/// Folds up to [`FOLD_BATCH`] staged rows, oldest first, into the usage tables and deletes them, in one
/// transaction; answers how many rows it folded ([`FOLD_BATCH`] when more may wait). Several instances may
/// fold at once: on PostgreSQL each takes rows the others have not locked, and SQLite has one writer.
pub async fn fold(db: &(impl ConnectionTrait + TransactionTrait)) -> Result<usize, DbErr> {
    use sea_orm::sea_query::LockBehavior;
    // Most seconds on a quiet deployment stage nothing: a read then spares SQLite's write lock.
    if usage_staged::Entity::find().one(db).await?.is_none() {
        return Ok(0);
    }
    let txn = crate::domain::database::begin_write(db).await?;
    let mut staged = usage_staged::Entity::find().order_by_asc(usage_staged::Column::Id).limit(FOLD_BATCH as u64);
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        staged = staged.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let rows = staged.all(&txn).await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let mut batch = Pending::default();
    let mut keys: HashMap<String, Arc<str>> = HashMap::new();
    for row in &rows {
        // A code this version does not know (staged by a newer one) stays staged for that version.
        let Some(code) = Code::parse(&row.code) else { continue };
        let key_id = keys.entry(row.key_id.clone()).or_insert_with(|| Arc::from(row.key_id.as_str())).clone();
        let used = LastUse { at: row.last_used_at, ip: row.last_used_ip.as_deref().and_then(|ip| ip.parse().ok()) };
        batch.add(&key_id, row.hour, code, u64::try_from(row.count).unwrap_or(0), used);
    }
    if !batch.is_empty() {
        write(&txn, &batch).await?;
    }
    let folded: Vec<&str> =
        rows.iter().filter(|row| Code::parse(&row.code).is_some()).map(|row| row.id.as_str()).collect();
    for chunk in folded.chunks(ROWS_PER_STATEMENT) {
        usage_staged::Entity::delete_many()
            .filter(usage_staged::Column::Id.is_in(chunk.iter().copied()))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(folded.len())
}

/// A count as stored: counts beyond `i64::MAX` (never reached) stay at the maximum.
fn saturating(count: u64) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX)
}

/// Adds `batch` to the usage tables inside `txn`.
async fn write(txn: &impl ConnectionTrait, batch: &Pending) -> Result<(), DbErr> {
    let ids: Vec<&str> = batch.keys.keys().map(|id| id.as_ref()).collect();
    // Key id → organisation id; keys deleted since they were counted are missing, and their counts are dropped.
    let mut existing: HashMap<String, String> = HashMap::new();
    for chunk in ids.chunks(ROWS_PER_STATEMENT) {
        let found: Vec<(String, String)> = api_keys::Entity::find()
            .select_only()
            .column(api_keys::Column::Id)
            .column(api_keys::Column::OrganisationId)
            .filter(api_keys::Column::Id.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(txn)
            .await?;
        existing.extend(found);
    }
    // Hours of days already rolled up (counts that arrive late: a retried flush, a slow instance) go into
    // the daily tables too, or the daily totals would never see them; counts inside a usage window go into
    // it. Reading the boundaries with a shared lock makes a concurrent rollup wait for this flush, or this
    // flush wait for it.
    let at = rollup::boundaries(txn, Some(LockType::Share)).await?;
    let counted = || {
        batch.keys.iter().filter_map(|(key_id, tally)| Some((key_id, existing.get(key_id.as_ref())?, tally))).flat_map(
            |(key_id, organisation, tally)| {
                tally
                    .counts
                    .iter()
                    .map(move |(hour, code, count)| ((key_id.as_ref(), organisation.as_str(), *hour, *code), *count))
            },
        )
    };
    // Rows and keys are written in one order, whatever the map's, table after table: two instances flushing
    // at once then take their row locks in the same order and wait for each other instead of deadlocking
    // (which PostgreSQL breaks by failing one flush, leaving its counts in memory for longer).
    let mut sorted: Vec<_> = counted().collect();
    sorted.sort_unstable_by_key(|(row, _)| *row);
    let rows: Vec<key_usage::ActiveModel> = sorted
        .iter()
        .map(|((key_id, organisation_id, hour, code), count)| key_usage::ActiveModel {
            key_id: Set((*key_id).to_owned()),
            organisation_id: Set((*organisation_id).to_owned()),
            hour: Set(*hour),
            code: Set(code.as_str().to_owned()),
            count: Set(saturating(*count)),
        })
        .collect();
    {
        use key_usage::Column;
        rollup::add_counts(txn, rows, [Column::KeyId, Column::Hour, Column::Code], Column::Count).await?;
    }
    let mut organisation_hours: BTreeMap<(&str, DateTime<Utc>, Code), u64> = BTreeMap::new();
    let mut late_days: BTreeMap<(&str, &str, DateTime<Utc>, Code), u64> = BTreeMap::new();
    let mut late_organisation_days: BTreeMap<(&str, DateTime<Utc>, Code), u64> = BTreeMap::new();
    let mut in_windows: BTreeMap<(&str, Granularity, Code), (&str, u64)> = BTreeMap::new();
    for ((key_id, organisation_id, hour, code), count) in &sorted {
        *organisation_hours.entry((organisation_id, *hour, *code)).or_default() += count;
        if *hour < at.rolled_until {
            *late_days.entry((key_id, organisation_id, day_of(*hour), *code)).or_default() += count;
            *late_organisation_days.entry((organisation_id, day_of(*hour), *code)).or_default() += count;
        }
        for granularity in [Granularity::Hour, Granularity::Day] {
            if at.window_from(granularity).is_some_and(|from| granularity.start_of(*hour) >= from) {
                in_windows.entry((key_id, granularity, *code)).or_insert((organisation_id, 0)).1 += count;
            }
        }
    }
    let rows: Vec<organisation_usage::ActiveModel> = organisation_hours
        .into_iter()
        .map(|((organisation_id, hour, code), count)| organisation_usage::ActiveModel {
            organisation_id: Set(organisation_id.to_owned()),
            hour: Set(hour),
            code: Set(code.as_str().to_owned()),
            count: Set(saturating(count)),
        })
        .collect();
    {
        use organisation_usage::Column;
        rollup::add_counts(txn, rows, [Column::OrganisationId, Column::Hour, Column::Code], Column::Count).await?;
    }
    rollup::add_to_days(
        txn,
        late_days.into_iter().map(|((key, organisation, day, code), count)| (key, organisation, day, code, count)),
    )
    .await?;
    rollup::add_to_organisation_days(
        txn,
        late_organisation_days.into_iter().map(|((organisation, day, code), count)| (organisation, day, code, count)),
    )
    .await?;
    windows::add(
        txn,
        in_windows.into_iter().map(|((key, granularity, code), (organisation, count))| windows::Count {
            key_id: key,
            organisation_id: organisation,
            granularity,
            code,
            count: saturating(count),
        }),
    )
    .await?;
    let mut last_used: Vec<_> = batch
        .keys
        .iter()
        .filter(|(key_id, _)| existing.contains_key(key_id.as_ref()))
        .map(|(key_id, tally)| (key_id.as_ref(), tally.last))
        .collect();
    last_used.sort_unstable_by_key(|(key_id, _)| *key_id);
    for chunk in last_used.chunks(ROWS_PER_STATEMENT) {
        record_last_use(txn, chunk).await?;
    }
    Ok(())
}

/// Moves the last use of each key in `uses` forward (never back: another instance may have written a later
/// one), in one statement: a statement per key made a flush of a few hundred keys take hundreds of round
/// trips, and a slow flush is counts at risk when the process dies.
async fn record_last_use(db: &impl ConnectionTrait, uses: &[(&str, LastUse)]) -> Result<(), DbErr> {
    use api_keys::Column;
    let ids = || uses.iter().map(|(key_id, _)| *key_id);
    if db.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        // An UPDATE locks rows in whatever order its plan reads them; two folds (or a fold and a key change)
        // taking the same keys in different orders deadlock. Locked first in key order, they wait instead.
        api_keys::Entity::find()
            .select_only()
            .column(Column::Id)
            .filter(Column::Id.is_in(ids()))
            .order_by_asc(Column::Id)
            .lock(LockType::NoKeyUpdate)
            .into_tuple::<String>()
            .all(db)
            .await?;
    }
    let newer = |key_id: &str, at: DateTime<Utc>| {
        Condition::all()
            .add(Column::Id.eq(key_id))
            .add(Condition::any().add(Column::LastUsedAt.is_null()).add(Column::LastUsedAt.lte(at)))
    };
    let mut at = CaseStatement::new();
    let mut ip = CaseStatement::new();
    let mut any_ip = false;
    for (key_id, used) in uses {
        at = at.case(newer(key_id, used.at), Expr::value(used.at));
        if let Some(address) = used.ip {
            ip = ip.case(newer(key_id, used.at), Expr::value(address.to_string()));
            any_ip = true;
        }
    }
    let mut update =
        api_keys::Entity::update_many().col_expr(Column::LastUsedAt, at.finally(Expr::col(Column::LastUsedAt)).into());
    if any_ip {
        update = update.col_expr(Column::LastUsedIp, ip.finally(Expr::col(Column::LastUsedIp)).into());
    }
    update.filter(Column::Id.is_in(ids())).exec(db).await?;
    Ok(())
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
        let pending = counter.take_all();
        let tally = pending.keys.get(&key).expect("used");
        assert_eq!(tally.counts, vec![(at, Code::Valid, 2), (at, Code::RateLimited, 1)]);
        assert_eq!((tally.last.at, tally.last.ip), (at + Duration::seconds(2), Some(ip)));
        assert_eq!(counter.unwritten(), 0);
    }

    #[test]
    fn counts_from_many_threads_all_reach_the_flush() {
        let counter = Arc::new(UsageCounter::with_shards(3));
        let key: Arc<str> = Arc::from("k");
        let at = DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z").expect("valid").to_utc();
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (counter, key) = (counter.clone(), key.clone());
                std::thread::spawn(move || {
                    for _ in 0..1_000 {
                        counter.record(&key, at, Code::Valid, None);
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("thread");
        }
        assert_eq!(counter.unwritten(), 8_000);
        let pending = counter.take_all();
        assert_eq!(pending.keys.get(&key).expect("used").counts, vec![(at, Code::Valid, 8_000)]);
    }
}
