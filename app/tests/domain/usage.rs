//! Usage storage on a real database: hourly buckets, the rollup into days, retention, and the totals the
//! portal reads. The rollup must never count an hour twice, whatever order things happen in.

use crate::support::{clock, hasher, svc};
use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::activity::{Client, Origin};
use app::domain::clock::Clock;
use app::domain::keys::manage::{ApiKey, KeyPolicy, KeyServices, NewKey, create_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::storage::{
    key_usage, key_usage_daily, key_usage_windows, organisation_usage, organisation_usage_daily,
};
use app::domain::usage::report::{Counts, recent_rejections, totals_by_key, totals_by_organisation};
use app::domain::usage::rollup::rolled_until;
use app::domain::usage::windows::{self, totals_by_key_since};
use app::domain::usage::{Granularity, Period, Retention, UsageCounter, UsageOf, day_of, roll_up, series};
use app::domain::verification::{Code, KeyCache};
use app::on_both_databases;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter};
use std::collections::BTreeMap;
use std::sync::Arc;

on_both_databases!(
    daily_series_read_the_same_before_and_after_the_rollup,
    rolling_up_again_or_concurrently_never_counts_twice,
    counts_arriving_after_their_day_was_rolled_up_are_counted_once,
    retention_drops_old_hours_and_days_but_keeps_the_daily_totals,
    totals_per_key_and_per_account_cover_only_their_own_keys,
    organisation_buckets_always_equal_the_sum_of_their_keys_buckets,
    the_ranking_windows_agree_with_summing_buckets_as_time_passes,
    counts_flushed_while_the_windows_slide_are_counted_once,
);

async fn account(db: &DatabaseConnection, email: &str) -> String {
    let clock = clock();
    create_account(db, hasher(), clock.as_ref(), email, &Password::new("correct horse battery"), false)
        .await
        .expect("account")
        .id
}

async fn key(db: &DatabaseConnection, account: &str, name: &str) -> ApiKey {
    let clock = clock();
    let cache = KeyCache::default();
    let services = KeyServices {
        clock: clock.as_ref(),
        policy: &KeyPolicy::default(),
        catalogue: &ScopeCatalogue::example(),
        cache: &cache,
    };
    let origin = Origin { actor: "test".into(), client: Client::default() };
    let new = NewKey { name: name.into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    create_key(db, services, &origin, svc(account), &new).await.expect("key").0
}

/// Counts `n` verifications of `key` with `code` at `at`.
fn record(counter: &UsageCounter, key: &ApiKey, at: DateTime<Utc>, code: Code, n: u64) {
    let id: Arc<str> = Arc::from(key.id.as_str());
    for _ in 0..n {
        counter.record(&id, at, code, None);
    }
}

fn total(buckets: &[app::domain::usage::Bucket]) -> u64 {
    buckets.iter().flat_map(|b| b.counts.values()).sum()
}

fn counts(pairs: &[(Code, u64)]) -> Counts {
    pairs.iter().copied().collect()
}

async fn stored_days(db: &DatabaseConnection) -> u64 {
    key_usage_daily::Entity::find().count(db).await.expect("count")
}

async fn daily_series_read_the_same_before_and_after_the_rollup(db: DatabaseConnection) {
    let now = clock().now(); // 2026-11-22 12:00 UTC
    let ann = account(&db, "ann@example.com").await;
    let key = key(&db, &ann, "checkout").await;
    let counter = UsageCounter::default();
    record(&counter, &key, now - Duration::days(2) - Duration::hours(11), Code::Valid, 10); // 20th, 01:00
    record(&counter, &key, now - Duration::days(2) + Duration::hours(11), Code::Revoked, 2); // 20th, 23:00
    record(&counter, &key, now - Duration::days(1), Code::Valid, 5); // 21st, 12:00
    record(&counter, &key, now - Duration::hours(4), Code::Valid, 3); // today, 08:00
    counter.flush(&db).await.expect("flush");

    let month = Period::last_30_days(now);
    let day = Period::last_24_hours(now);
    let before = series(&db, UsageOf::Organisation(&ann), &month).await.expect("series");
    let hours_before = series(&db, UsageOf::Key(&key.id), &day).await.expect("series");
    assert_eq!(before.len(), 30);
    assert_eq!(before[27].counts, counts(&[(Code::Valid, 10), (Code::Revoked, 2)]), "the 20th");
    assert_eq!(before[28].counts, counts(&[(Code::Valid, 5)]), "the 21st");
    assert_eq!(before[29].counts, counts(&[(Code::Valid, 3)]), "today");

    let report = roll_up(&db, now, Retention::default()).await.expect("roll up");
    assert_eq!(report.days_rolled, 2, "the 20th and the 21st; today is not finished");
    assert_eq!(rolled_until(&db, None).await.expect("boundary"), day_of(now));
    assert_eq!(stored_days(&db).await, 3, "(20th, VALID), (20th, REVOKED), (21st, VALID)");

    let after = series(&db, UsageOf::Organisation(&ann), &month).await.expect("series");
    assert_eq!(after, before, "the rollup changes where days are read from, not what they say");
    assert_eq!(series(&db, UsageOf::Key(&key.id), &day).await.expect("series"), hours_before);
    assert_eq!(total(&after), 20);
}

async fn rolling_up_again_or_concurrently_never_counts_twice(db: DatabaseConnection) {
    let now = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let key = key(&db, &ann, "checkout").await;
    let counter = UsageCounter::default();
    for days_ago in 1..=5 {
        record(&counter, &key, now - Duration::days(days_ago), Code::Valid, 7);
    }
    counter.flush(&db).await.expect("flush");
    let month = Period::last_30_days(now);

    let (first, second) =
        tokio::join!(roll_up(&db, now, Retention::default()), roll_up(&db, now, Retention::default()),);
    let rolled = first.expect("first").days_rolled + second.expect("second").days_rolled;
    assert_eq!(rolled, 5, "each day rolled by exactly one of the two");
    assert_eq!(roll_up(&db, now, Retention::default()).await.expect("again").days_rolled, 0);
    assert_eq!(total(&series(&db, UsageOf::Key(&key.id), &month).await.expect("series")), 35);
    let stored: i64 = key_usage_daily::Entity::find().all(&db).await.expect("rows").iter().map(|r| r.count).sum();
    assert_eq!(stored, 35, "the daily table holds each verification once");

    // A day later the same hours are still not rolled twice; only the day that just ended is added.
    record(&counter, &key, now, Code::Valid, 1);
    counter.flush(&db).await.expect("flush");
    assert_eq!(roll_up(&db, now + Duration::days(1), Retention::default()).await.expect("next day").days_rolled, 1);
    let next_month = Period::last_30_days(now + Duration::days(1));
    assert_eq!(total(&series(&db, UsageOf::Key(&key.id), &next_month).await.expect("series")), 36);
}

async fn counts_arriving_after_their_day_was_rolled_up_are_counted_once(db: DatabaseConnection) {
    let now = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let key = key(&db, &ann, "checkout").await;
    let counter = UsageCounter::default();
    let yesterday_evening = day_of(now) - Duration::minutes(1);
    record(&counter, &key, yesterday_evening, Code::Valid, 4);
    counter.flush(&db).await.expect("flush");
    assert_eq!(roll_up(&db, now, Retention::default()).await.expect("roll up").days_rolled, 1);

    // A flush that was retried, or a slow instance, delivers more of yesterday after it was rolled up.
    record(&counter, &key, yesterday_evening, Code::RateLimited, 2);
    counter.flush(&db).await.expect("late flush");
    roll_up(&db, now, Retention::default()).await.expect("roll up again");

    let month = series(&db, UsageOf::Key(&key.id), &Period::last_30_days(now)).await.expect("series");
    assert_eq!(month[28].counts, counts(&[(Code::Valid, 4), (Code::RateLimited, 2)]), "yesterday, once each");
    let day = series(&db, UsageOf::Key(&key.id), &Period::last_24_hours(now)).await.expect("series");
    assert_eq!(total(&day), 6, "the hourly chart has them too");
}

async fn retention_drops_old_hours_and_days_but_keeps_the_daily_totals(db: DatabaseConnection) {
    let now = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let key = key(&db, &ann, "checkout").await;
    let counter = UsageCounter::default();
    record(&counter, &key, now - Duration::days(500), Code::Valid, 1);
    record(&counter, &key, now - Duration::days(20), Code::Valid, 2);
    record(&counter, &key, now - Duration::days(3), Code::Valid, 3);
    counter.flush(&db).await.expect("flush");

    let report = roll_up(&db, now, Retention::default()).await.expect("roll up");
    assert_eq!(report.days_rolled, 3);
    assert_eq!(report.hourly_deleted, 2, "hours older than 14 days");
    assert_eq!(report.daily_deleted, 1, "the day older than 400 days");
    let hours: Vec<_> = key_usage::Entity::find().all(&db).await.expect("rows");
    assert_eq!(hours.len(), 1);
    assert_eq!(hours[0].count, 3);
    let month = series(&db, UsageOf::Key(&key.id), &Period::last_30_days(now)).await.expect("series");
    assert_eq!(month[9].counts, counts(&[(Code::Valid, 2)]), "20 days ago, from the daily table");
    assert_eq!(total(&month), 5);

    let short = Retention::new(Duration::days(2), Duration::days(31)).expect("valid");
    let report = roll_up(&db, now, short).await.expect("shorter retention");
    assert_eq!((report.hourly_deleted, report.daily_deleted), (1, 0), "3 days ago is past 2 days of hours");
    assert!(Retention::new(Duration::hours(12), Duration::days(400)).is_err(), "the 24-hour chart needs hours");
}

async fn totals_per_key_and_per_account_cover_only_their_own_keys(db: DatabaseConnection) {
    let now = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let bob = account(&db, "bob@example.com").await;
    let checkout = key(&db, &ann, "checkout").await;
    let reports = key(&db, &ann, "reports").await;
    let bobs = key(&db, &bob, "bob's").await;
    let counter = UsageCounter::default();
    record(&counter, &checkout, now - Duration::days(3), Code::Valid, 5);
    record(&counter, &checkout, now - Duration::hours(2), Code::InsufficientScopes, 4);
    record(&counter, &reports, now - Duration::hours(1), Code::Expired, 1);
    record(&counter, &bobs, now, Code::Valid, 9);
    counter.flush(&db).await.expect("flush");
    roll_up(&db, now, Retention::default()).await.expect("roll up");

    let month = Period::last_30_days(now);
    let anns = totals_by_key(&db, UsageOf::Organisation(&ann), &month).await.expect("totals");
    assert_eq!(anns.len(), 2, "bob's key is not ann's business");
    assert_eq!(anns[&checkout.id], counts(&[(Code::Valid, 5), (Code::InsufficientScopes, 4)]));
    assert_eq!(anns[&reports.id], counts(&[(Code::Expired, 1)]));
    let today = totals_by_key(&db, UsageOf::Organisation(&ann), &Period::last_24_hours(now)).await.expect("totals");
    assert_eq!(today[&checkout.id], counts(&[(Code::InsufficientScopes, 4)]));

    let everyone = totals_by_organisation(&db, &month).await.expect("totals");
    assert_eq!(everyone[&ann].values().sum::<u64>(), 10);
    assert_eq!(everyone[&bob], counts(&[(Code::Valid, 9)]));

    let refused = recent_rejections(&db, now - Duration::hours(23), 10).await.expect("rejections");
    let seen: Vec<(&str, Code, u64)> = refused.iter().map(|r| (r.key_name.as_str(), r.code, r.count)).collect();
    assert_eq!(seen, [("reports", Code::Expired, 1), ("checkout", Code::InsufficientScopes, 4)], "newest first");
    assert_eq!(refused[0].organisation_name, "ann@example.com");
}

type Buckets = BTreeMap<(String, DateTime<Utc>, String), i64>;

/// The per-key buckets of both tables added up per organisation.
async fn summed_key_buckets(db: &DatabaseConnection) -> (Buckets, Buckets) {
    let (mut hours, mut days) = (Buckets::new(), Buckets::new());
    for row in key_usage::Entity::find().all(db).await.expect("hours") {
        *hours.entry((row.organisation_id, row.hour, row.code)).or_default() += row.count;
    }
    for row in key_usage_daily::Entity::find().all(db).await.expect("days") {
        *days.entry((row.organisation_id, row.day, row.code)).or_default() += row.count;
    }
    (hours, days)
}

async fn organisation_buckets(db: &DatabaseConnection) -> (Buckets, Buckets) {
    let hours = organisation_usage::Entity::find().all(db).await.expect("hours");
    let days = organisation_usage_daily::Entity::find().all(db).await.expect("days");
    (
        hours.into_iter().map(|row| ((row.organisation_id, row.hour, row.code), row.count)).collect(),
        days.into_iter().map(|row| ((row.organisation_id, row.day, row.code), row.count)).collect(),
    )
}

async fn organisation_buckets_always_equal_the_sum_of_their_keys_buckets(db: DatabaseConnection) {
    let now = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let bob = account(&db, "bob@example.com").await;
    let keys = [key(&db, &ann, "checkout").await, key(&db, &ann, "reports").await, key(&db, &bob, "bob's").await];
    let counter = UsageCounter::default();
    for (i, key) in keys.iter().enumerate() {
        let n = u64::try_from(i).expect("small") + 1;
        record(&counter, key, now - Duration::days(20), Code::Valid, n);
        record(&counter, key, now - Duration::days(3) + Duration::hours(2), Code::Valid, 2 * n);
        record(&counter, key, now - Duration::hours(5), Code::Expired, n);
        record(&counter, key, now, Code::Valid, 3);
    }
    counter.flush(&db).await.expect("flush");
    assert_eq!(organisation_buckets(&db).await, summed_key_buckets(&db).await, "after a flush");
    roll_up(&db, now, Retention::default()).await.expect("roll up");
    assert_eq!(organisation_buckets(&db).await, summed_key_buckets(&db).await, "after the rollup");

    // Late counts for a rolled-up day, then retention of both tables.
    record(&counter, &keys[0], now - Duration::days(3), Code::RateLimited, 7);
    record(&counter, &keys[2], now - Duration::days(20), Code::Valid, 1);
    counter.flush(&db).await.expect("late flush");
    assert_eq!(organisation_buckets(&db).await, summed_key_buckets(&db).await, "after late counts");
    let short = Retention::new(Duration::days(2), Duration::days(31)).expect("valid");
    roll_up(&db, now + Duration::days(12), short).await.expect("retention");
    let (hours, days) = organisation_buckets(&db).await;
    assert_eq!((hours.clone(), days.clone()), summed_key_buckets(&db).await, "after retention");
    assert!(days.keys().all(|(_, day, _)| *day >= day_of(now + Duration::days(12) - Duration::days(31))));

    let month = Period::last_30_days(now + Duration::days(12));
    for organisation in [&ann, &bob] {
        let chart = total(&series(&db, UsageOf::Organisation(organisation), &month).await.expect("series"));
        let by_key = totals_by_key(&db, UsageOf::Organisation(organisation), &month).await.expect("totals");
        assert!(chart > 0);
        assert_eq!(chart, by_key.values().flat_map(|counts| counts.values()).sum::<u64>(), "the chart adds up");
    }
}

/// The ranking read from the windows equals the ranking summed from every bucket, for both organisations
/// and both periods.
async fn assert_windows_agree(db: &DatabaseConnection, organisations: &[&str], now: DateTime<Utc>, when: &str) {
    for organisation in organisations {
        for (granularity, period) in
            [(Granularity::Hour, Period::last_24_hours(now)), (Granularity::Day, Period::last_30_days(now))]
        {
            let fast = totals_by_key_since(db, organisation, granularity, period.first, now).await.expect("window");
            let summed = totals_by_key(db, UsageOf::Organisation(organisation), &period).await.expect("sums");
            assert_eq!(fast, summed, "{granularity:?} window {when}");
        }
    }
}

async fn the_ranking_windows_agree_with_summing_buckets_as_time_passes(db: DatabaseConnection) {
    let start = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let bob = account(&db, "bob@example.com").await;
    let keys = [key(&db, &ann, "checkout").await, key(&db, &ann, "reports").await, key(&db, &bob, "bob's").await];
    let counter = UsageCounter::default();
    for (i, key) in keys.iter().enumerate() {
        for hours_ago in [0, 1, 5, 23, 24, 25, 47, 24 * 29, 24 * 30, 24 * 35] {
            let code = if hours_ago % 2 == 0 { Code::Valid } else { Code::InsufficientScopes };
            record(&counter, key, start - Duration::hours(hours_ago), code, u64::try_from(i).expect("small") + 1);
        }
    }
    counter.flush(&db).await.expect("flush");
    let organisations = [ann.as_str(), bob.as_str()];
    assert_windows_agree(&db, &organisations, start, "before any window exists").await;
    let report = roll_up(&db, start, Retention::default()).await.expect("roll up");
    assert_eq!(report.windows_rebuilt, 2, "the first run builds both windows");
    assert_windows_agree(&db, &organisations, start, "once built").await;

    let mut now = start;
    for (step, rebuilt) in [
        (Duration::minutes(30), 0),
        (Duration::hours(1), 0),
        (Duration::hours(5), 0),
        (Duration::days(1), 1),
        (Duration::hours(23), 0),
        (Duration::days(3), 1),
        (Duration::days(40), 2),
    ] {
        now += step;
        // Only the first key keeps being used; the others fall out of the windows as they slide.
        record(&counter, &keys[0], now, Code::Valid, 2);
        record(&counter, &keys[0], now - Duration::hours(20), Code::RateLimited, 1);
        counter.flush(&db).await.expect("flush");
        assert_windows_agree(&db, &organisations, now, &format!("{step} later, not yet slid")).await;
        let report = roll_up(&db, now, Retention::default()).await.expect("roll up");
        assert_eq!(report.windows_rebuilt, rebuilt, "{step} later: a window further behind than its length is rebuilt");
        assert_windows_agree(&db, &organisations, now, &format!("{step} later, slid")).await;
    }
    let left: Vec<String> = key_usage_windows::Entity::find()
        .filter(key_usage_windows::Column::KeyId.ne(keys[0].id.as_str()))
        .all(&db)
        .await
        .expect("rows")
        .into_iter()
        .map(|row| row.key_id)
        .collect();
    assert!(left.is_empty(), "keys unused for 40 days have no rows left in the windows: {left:?}");
}

async fn counts_flushed_while_the_windows_slide_are_counted_once(db: DatabaseConnection) {
    let start = clock().now();
    let ann = account(&db, "ann@example.com").await;
    let key = key(&db, &ann, "checkout").await;
    roll_up(&db, start, Retention::default()).await.expect("build the windows");
    for round in 1..=6 {
        let now = start + Duration::hours(round);
        let counter = UsageCounter::default();
        // Counts on both edges of the 24-hour window as it moves one hour on.
        record(&counter, &key, now - Duration::hours(24), Code::Valid, 3);
        record(&counter, &key, now - Duration::hours(23), Code::Valid, 5);
        record(&counter, &key, now, Code::Expired, 1);
        let (flushed, slid) = tokio::join!(counter.flush(&db), windows::slide(&db, now));
        assert_eq!(flushed.expect("flush"), 9);
        slid.expect("slide");
        assert_windows_agree(&db, &[ann.as_str()], now, &format!("round {round}")).await;
    }
}
