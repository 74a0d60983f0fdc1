//! Reading usage back: dense series for charts, totals per key or per organisation for tables, recent
//! rejections for operators, sparse per-key series for exports. Daily reads take finished days from the
//! daily table and the rest from the hourly one, split at the rollup boundary (see [`super`]).

use super::rollup::rolled_until;
use super::{Granularity, MAX_RANGE, hour_of};
use crate::domain::storage::{api_keys, organisations};
use crate::domain::verification::Code;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Func, JoinType, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, DbErr, QueryResult};
use std::collections::{BTreeMap, HashMap};

/// Whose usage to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UsageOf<'a> {
    /// One key.
    Key(&'a str),
    /// Every key of one organisation.
    Organisation(&'a str),
    /// Every key of every organisation.
    Everyone,
}

/// Whole buckets from the one containing `since` to the one containing `until`, both included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// Bucket width.
    pub granularity: Granularity,
    /// The start of the first bucket.
    pub first: DateTime<Utc>,
    /// The start of the last bucket.
    pub last: DateTime<Utc>,
}

impl Period {
    /// The buckets covering `since..=until` (swapped if given the wrong way round).
    pub fn new(granularity: Granularity, since: DateTime<Utc>, until: DateTime<Utc>) -> Self {
        let (since, until) = if since <= until { (since, until) } else { (until, since) };
        Self { granularity, first: granularity.start_of(since), last: granularity.start_of(until) }
    }

    /// The 24 hours up to and including the current one.
    pub fn last_24_hours(now: DateTime<Utc>) -> Self {
        Self::new(Granularity::Hour, now - Duration::hours(23), now)
    }

    /// The 30 days up to and including today (UTC).
    pub fn last_30_days(now: DateTime<Utc>) -> Self {
        Self::new(Granularity::Day, now - Duration::days(29), now)
    }

    /// The end of the last bucket (exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.last + self.granularity.step()
    }

    /// How many buckets.
    pub fn len(&self) -> usize {
        usize::try_from((self.end() - self.first).num_seconds() / self.granularity.step().num_seconds()).unwrap_or(0)
    }

    /// The period cut into consecutive periods of at most `buckets` buckets each, oldest first, so a long
    /// read can be done a piece at a time.
    pub fn chunks(&self, buckets: usize) -> impl Iterator<Item = Period> + use<> {
        let (granularity, last) = (self.granularity, self.last);
        let span = granularity.step() * i32::try_from(buckets.max(1)).unwrap_or(i32::MAX);
        std::iter::successors(Some(self.first), move |start| Some(*start + span).filter(|next| *next <= last)).map(
            move |start| Period { granularity, first: start, last: Ord::min(start + span - granularity.step(), last) },
        )
    }

    /// Whether the period has no buckets (never, for a period made by [`Period::new`]).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The start of every bucket, oldest first.
    pub fn starts(&self) -> impl Iterator<Item = DateTime<Utc>> + use<> {
        let (first, step) = (self.first, self.granularity.step());
        (0..self.len()).map(move |i| first + step * i32::try_from(i).unwrap_or(i32::MAX))
    }
}

/// Verifications per outcome code; codes that did not occur are absent.
pub type Counts = BTreeMap<Code, u64>;

/// How many of `counts` accepted the key: valid verifications and issued tokens.
pub fn accepted(counts: &Counts) -> u64 {
    counts.iter().filter(|(code, _)| code.is_success()).map(|(_, n)| n).sum()
}

/// One bucket of verifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bucket {
    /// The start of the bucket.
    pub start: DateTime<Utc>,
    /// Verifications per outcome code; codes that did not occur are absent.
    pub counts: Counts,
}

/// Usage in `period`, one bucket per hour or day (empty ones included), oldest first.
pub async fn series(db: &impl ConnectionTrait, of: UsageOf<'_>, period: &Period) -> Result<Vec<Bucket>, DbErr> {
    let mut by_start: BTreeMap<DateTime<Utc>, Counts> = period.starts().map(|start| (start, Counts::new())).collect();
    for row in sums(db, of, Group::Time, period).await? {
        if let Some(counts) = row.time.and_then(|time| by_start.get_mut(&period.granularity.start_of(time))) {
            *counts.entry(row.code).or_default() += row.count;
        }
    }
    Ok(by_start.into_iter().map(|(start, counts)| Bucket { start, counts }).collect())
}

/// `key_id`'s verifications per hour from the hour containing `since` to the one containing `until`, capped
/// at [`MAX_RANGE`] before `until`.
pub async fn hourly(
    db: &impl ConnectionTrait,
    key_id: &str,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<Bucket>, DbErr> {
    let since = Ord::min(Ord::max(since, hour_of(until) - MAX_RANGE), until);
    series(db, UsageOf::Key(key_id), &Period::new(Granularity::Hour, since, until)).await
}

/// Totals in `period` per key (id), for keys with any use.
pub async fn totals_by_key(
    db: &impl ConnectionTrait,
    of: UsageOf<'_>,
    period: &Period,
) -> Result<HashMap<String, Counts>, DbErr> {
    Ok(totals(sums(db, of, Group::Key, period).await?))
}

/// Totals in `period` per organisation (id), for organisations with any use.
pub async fn totals_by_organisation(
    db: &impl ConnectionTrait,
    period: &Period,
) -> Result<HashMap<String, Counts>, DbErr> {
    Ok(totals(sums(db, UsageOf::Everyone, Group::Organisation, period).await?))
}

fn totals(rows: Vec<Row>) -> HashMap<String, Counts> {
    let mut by_id: HashMap<String, Counts> = HashMap::new();
    for row in rows {
        if let Some(id) = row.id {
            *by_id.entry(id).or_default().entry(row.code).or_default() += row.count;
        }
    }
    by_id
}

/// One key's use in one bucket, for exports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyBucket {
    /// The key.
    pub key_id: String,
    /// The start of the bucket.
    pub start: DateTime<Utc>,
    /// Verifications per code.
    pub counts: Counts,
}

/// Per key and bucket, only buckets with use, ordered by bucket then key id.
pub async fn per_key_series(
    db: &impl ConnectionTrait,
    of: UsageOf<'_>,
    period: &Period,
) -> Result<Vec<KeyBucket>, DbErr> {
    let mut by: BTreeMap<(DateTime<Utc>, String), Counts> = BTreeMap::new();
    for row in sums(db, of, Group::KeyAndTime, period).await? {
        if let (Some(time), Some(id)) = (row.time, row.id) {
            *by.entry((period.granularity.start_of(time), id)).or_default().entry(row.code).or_default() += row.count;
        }
    }
    Ok(by.into_iter().map(|((start, key_id), counts)| KeyBucket { key_id, start, counts }).collect())
}

/// One hour in which a key was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The start of the hour.
    pub hour: DateTime<Utc>,
    /// The key.
    pub key_id: String,
    /// Its name.
    pub key_name: String,
    /// Its hint.
    pub key_hint: String,
    /// Its organisation's name.
    pub organisation_name: String,
    /// Why it was refused.
    pub code: Code,
    /// How often.
    pub count: u64,
}

/// The newest refusals since `since`, newest hour first (the most frequent first within an hour).
pub async fn recent_rejections(
    db: &impl ConnectionTrait,
    since: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Rejection>, DbErr> {
    let (u, k, a) = (Alias::new("u"), Alias::new("k"), Alias::new("a"));
    let newest_first = |query: &mut SelectStatement, table: Option<&Alias>| {
        for (column, order) in [("hour", Order::Desc), ("count", Order::Desc), ("key_id", Order::Asc)] {
            match table {
                Some(table) => query.order_by((table.clone(), Alias::new(column)), order),
                None => query.order_by(Alias::new(column), order),
            };
        }
    };
    // The refusals are picked from the usage table alone, through its (code, hour) index, and only the few
    // picked are joined to their keys' and organisations' names.
    let mut refusals = Query::select();
    refusals
        .columns([Alias::new("hour"), Alias::new("key_id"), Alias::new("code"), Alias::new("count")])
        .from(Alias::new("key_usage"))
        .and_where(
            Expr::col(Alias::new("code"))
                .is_in(Code::ALL.into_iter().filter(|code| !code.is_success()).map(Code::as_str)),
        )
        .and_where(Expr::col(Alias::new("hour")).gte(since))
        .limit(limit);
    newest_first(&mut refusals, None);
    let mut query = Query::select();
    query
        .expr_as(Expr::col((u.clone(), Alias::new("hour"))), Alias::new("hour"))
        .expr_as(Expr::col((u.clone(), Alias::new("key_id"))), Alias::new("key_id"))
        .expr_as(Expr::col((k.clone(), api_keys::Column::Name)), Alias::new("key_name"))
        .expr_as(Expr::col((k.clone(), api_keys::Column::Hint)), Alias::new("key_hint"))
        .expr_as(Expr::col((a.clone(), organisations::Column::Name)), Alias::new("organisation_name"))
        .expr_as(Expr::col((u.clone(), Alias::new("code"))), Alias::new("code"))
        .expr_as(Expr::col((u.clone(), Alias::new("count"))), Alias::new("count"))
        .from_subquery(refusals, u.clone())
        .join_as(
            JoinType::InnerJoin,
            api_keys::Entity,
            k.clone(),
            Expr::col((k.clone(), api_keys::Column::Id)).equals((u.clone(), Alias::new("key_id"))),
        )
        .join_as(
            JoinType::InnerJoin,
            organisations::Entity,
            a.clone(),
            Expr::col((a.clone(), organisations::Column::Id)).equals((k.clone(), api_keys::Column::OrganisationId)),
        );
    newest_first(&mut query, Some(&u));
    let mut found = Vec::new();
    for row in db.query_all(&query).await? {
        let Some(code) = Code::parse(&row.try_get::<String>("", "code")?) else { continue };
        found.push(Rejection {
            hour: row.try_get("", "hour")?,
            key_id: row.try_get("", "key_id")?,
            key_name: row.try_get("", "key_name")?,
            key_hint: row.try_get("", "key_hint")?,
            organisation_name: row.try_get("", "organisation_name")?,
            code,
            count: u64::try_from(row.try_get::<i64>("", "count")?).unwrap_or(0),
        });
    }
    Ok(found)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Group {
    Time,
    Key,
    Organisation,
    KeyAndTime,
    /// Per key, with the key's organisation.
    KeyInOrganisation,
}

struct Row {
    time: Option<DateTime<Utc>>,
    id: Option<String>,
    organisation: Option<String>,
    code: Code,
    count: u64,
}

/// One key's verifications with one code in some period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct KeySum {
    pub key_id: String,
    pub organisation_id: String,
    pub code: Code,
    pub count: u64,
}

/// Every key's totals per code in `period`, with each key's organisation, for keys with any use; ordered by
/// key id, then code.
pub(super) async fn key_sums(
    db: &impl ConnectionTrait,
    of: UsageOf<'_>,
    period: &Period,
) -> Result<Vec<KeySum>, DbErr> {
    // A daily period reads two tables, so a key and code can come back twice.
    let mut by: BTreeMap<(String, Code), (String, u64)> = BTreeMap::new();
    for row in sums(db, of, Group::KeyInOrganisation, period).await? {
        if let (Some(key_id), Some(organisation_id)) = (row.id, row.organisation) {
            by.entry((key_id, row.code)).or_insert((organisation_id, 0)).1 += row.count;
        }
    }
    Ok(by
        .into_iter()
        .map(|((key_id, code), (organisation_id, count))| KeySum { key_id, organisation_id, code, count })
        .collect())
}

/// One stored table of buckets and the instants it answers for.
struct Part {
    table: &'static str,
    time: &'static str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

/// Sums per code and `group` over `period`, from the daily tables before the rollup boundary and the hourly
/// ones from it on. Hourly rows of a daily read come back per hour; callers bucket them. Sums that need no
/// key read the per-organisation tables: a few rows per bucket instead of one per key.
async fn sums(db: &impl ConnectionTrait, of: UsageOf<'_>, group: Group, period: &Period) -> Result<Vec<Row>, DbErr> {
    let (from, to) = (period.first, period.end());
    let per_organisation = matches!(group, Group::Time | Group::Organisation) && !matches!(of, UsageOf::Key(_));
    let (hourly, daily) = if per_organisation {
        ("organisation_usage", "organisation_usage_daily")
    } else {
        ("key_usage", "key_usage_daily")
    };
    let parts = match period.granularity {
        Granularity::Hour => vec![Part { table: hourly, time: "hour", from, to }],
        Granularity::Day => {
            let boundary = Ord::min(Ord::max(rolled_until(db, None).await?, from), to);
            vec![
                Part { table: daily, time: "day", from, to: boundary },
                Part { table: hourly, time: "hour", from: boundary, to },
            ]
        }
    };
    let mut rows = Vec::new();
    for part in parts.iter().filter(|part| part.from < part.to) {
        for row in db.query_all(&sum_query(part, of, group)).await? {
            if let Some(row) = read_row(&row, group)? {
                rows.push(row);
            }
        }
    }
    Ok(rows)
}

fn sum_query(part: &Part, of: UsageOf<'_>, group: Group) -> SelectStatement {
    let u = Alias::new("u");
    let time = (u.clone(), Alias::new(part.time));
    let key_id = (u.clone(), Alias::new("key_id"));
    let code = (u.clone(), Alias::new("code"));
    let mut query = Query::select();
    query
        .from_as(Alias::new(part.table), u.clone())
        .expr_as(Expr::col(code.clone()), Alias::new("code"))
        .expr_as(
            Func::cast_as(Func::sum(Expr::col((u.clone(), Alias::new("count")))), Alias::new("bigint")),
            Alias::new("total"),
        )
        .and_where(Expr::col(time.clone()).gte(part.from))
        .and_where(Expr::col(time.clone()).lt(part.to))
        .group_by_col(code);
    let organisation = (u.clone(), Alias::new("organisation_id"));
    match of {
        UsageOf::Key(id) => {
            query.and_where(Expr::col(key_id.clone()).eq(id));
        }
        UsageOf::Organisation(id) => {
            query.and_where(Expr::col(organisation.clone()).eq(id));
        }
        UsageOf::Everyone => {}
    }
    if matches!(group, Group::Time | Group::KeyAndTime) {
        query.expr_as(Expr::col(time.clone()), Alias::new("t")).group_by_col(time);
    }
    match group {
        Group::Key | Group::KeyAndTime => {
            query.expr_as(Expr::col(key_id.clone()), Alias::new("id")).group_by_col(key_id);
        }
        Group::KeyInOrganisation => {
            query
                .expr_as(Expr::col(key_id.clone()), Alias::new("id"))
                .expr_as(Expr::col(organisation.clone()), Alias::new("organisation"))
                .group_by_col(key_id)
                .group_by_col(organisation);
        }
        Group::Organisation => {
            query.expr_as(Expr::col(organisation.clone()), Alias::new("id")).group_by_col(organisation);
        }
        Group::Time => {}
    }
    query
}

fn read_row(row: &QueryResult, group: Group) -> Result<Option<Row>, DbErr> {
    let Some(code) = Code::parse(&row.try_get::<String>("", "code")?) else { return Ok(None) };
    let count = u64::try_from(row.try_get::<i64>("", "total")?).unwrap_or(0);
    let time = match group {
        Group::Time | Group::KeyAndTime => Some(row.try_get("", "t")?),
        Group::Key | Group::Organisation | Group::KeyInOrganisation => None,
    };
    let id = match group {
        Group::Key | Group::Organisation | Group::KeyAndTime | Group::KeyInOrganisation => Some(row.try_get("", "id")?),
        Group::Time => None,
    };
    let organisation = if group == Group::KeyInOrganisation { Some(row.try_get("", "organisation")?) } else { None };
    Ok(Some(Row { time, id, organisation, code, count }))
}

/// Name and number of keys of each organisation in `ids` (unknown ids are left out).
pub async fn organisation_summaries(
    db: &impl ConnectionTrait,
    ids: &[String],
) -> Result<HashMap<String, (String, u64)>, DbErr> {
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let names: Vec<(String, String)> = organisations::Entity::find()
        .select_only()
        .column(organisations::Column::Id)
        .column(organisations::Column::Name)
        .filter(organisations::Column::Id.is_in(ids.iter().cloned()))
        .into_tuple()
        .all(db)
        .await?;
    let keys: Vec<(String, i64)> = api_keys::Entity::find()
        .select_only()
        .column(api_keys::Column::OrganisationId)
        .column_as(
            Expr::from(Func::cast_as(Func::count(Expr::col(api_keys::Column::Id)), Alias::new("bigint"))),
            "keys",
        )
        .filter(api_keys::Column::OrganisationId.is_in(ids.iter().cloned()))
        .group_by(api_keys::Column::OrganisationId)
        .into_tuple()
        .all(db)
        .await?;
    let keys: HashMap<String, i64> = keys.into_iter().collect();
    Ok(names
        .into_iter()
        .map(|(id, name)| {
            let count = keys.get(&id).copied().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
            (id, (name, count))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn chunks_cover_a_period_once_in_order_with_no_chunk_too_long() {
        let start = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single().expect("date");
        for (granularity, length, size) in [
            (Granularity::Hour, 31 * 24, 6),
            (Granularity::Day, 400, 7),
            (Granularity::Day, 3, 7),
            (Granularity::Hour, 1, 6),
        ] {
            let period = Period::new(granularity, start, start + granularity.step() * (length - 1));
            let chunks: Vec<Period> = period.chunks(size).collect();
            let starts: Vec<DateTime<Utc>> = chunks.iter().flat_map(Period::starts).collect();
            assert_eq!(starts, period.starts().collect::<Vec<_>>(), "{granularity:?} × {length}");
            assert!(chunks.iter().all(|chunk| chunk.len() <= size && chunk.granularity == granularity));
            assert_eq!(chunks.len(), usize::try_from(length).expect("length").div_ceil(size));
        }
    }
}
