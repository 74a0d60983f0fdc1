//! The keys page's listing: search, status and scope filters, orders and pages, done by the database.

use crate::support::{clock, customer, svc};
use app::domain::activity::{Client, Origin};
use app::domain::clock::{Clock, ManualClock};
use app::domain::keys::listing::{FindError, KeyOrder, KeyQuery, QueryError, StatusFilter, find_keys};
use app::domain::keys::manage::{
    ApiKey, Grace, KeyPolicy, KeyServices, KeyStatus, NewKey, create_key, list_keys, revoke_key, roll_key,
};
use app::domain::scopes::ScopeCatalogue;
use app::domain::storage::api_keys;
use app::domain::verification::KeyCache;
use app::on_both_databases;
use chrono::{DateTime, Duration, Utc};
use sea_orm::{ActiveModelTrait, DatabaseConnection, Set};
use std::sync::Arc;

on_both_databases!(
    a_search_finds_keys_by_name_in_any_case_hint_id_or_the_whole_key,
    each_status_filter_shows_exactly_the_keys_in_that_state,
    the_scope_filter_shows_only_keys_holding_that_scope,
    every_order_pages_through_all_keys_once_in_that_order,
);

struct Fixture {
    clock: Arc<ManualClock>,
    policy: KeyPolicy,
    catalogue: ScopeCatalogue,
    cache: KeyCache,
}

impl Fixture {
    fn new() -> Self {
        let policy = KeyPolicy { max_keys_per_organisation: 1000, ..KeyPolicy::default() };
        Self { clock: clock(), policy, catalogue: ScopeCatalogue::example(), cache: KeyCache::default() }
    }

    fn services(&self) -> KeyServices<'_> {
        KeyServices { clock: self.clock.as_ref(), policy: &self.policy, catalogue: &self.catalogue, cache: &self.cache }
    }

    async fn key(
        &self,
        db: &DatabaseConnection,
        org: &str,
        name: &str,
        scopes: &[&str],
        expires_at: Option<DateTime<Utc>>,
    ) -> (ApiKey, String) {
        let origin = Origin { actor: "ann@example.com".into(), client: Client::default() };
        let new = NewKey {
            name: name.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            expires_at,
            ..NewKey::default()
        };
        let (key, plaintext) = create_key(db, self.services(), &origin, svc(org), &new).await.expect("key");
        self.clock.advance(Duration::seconds(1));
        (key, plaintext.expose().to_owned())
    }
}

async fn names(db: &DatabaseConnection, org: &str, query: KeyQuery, now: DateTime<Utc>) -> Vec<String> {
    let mut names: Vec<String> =
        find_keys(db, org, &query, now).await.expect("listing").keys.into_iter().map(|key| key.name).collect();
    names.sort();
    names
}

fn searching(text: &str) -> KeyQuery {
    KeyQuery { search: text.into(), ..KeyQuery::default() }
}

async fn a_search_finds_keys_by_name_in_any_case_hint_id_or_the_whole_key(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let bob = customer(&db, fx.clock.as_ref(), "bob@example.com").await;
    fx.key(&db, &ann, "Billing prod", &["orders:read"], None).await;
    fx.key(&db, &ann, "billing staging", &["orders:read"], None).await;
    fx.key(&db, &ann, "100% off", &["orders:read"], None).await;
    let (checkout, plaintext) = fx.key(&db, &ann, "Checkout", &["orders:read"], None).await;
    fx.key(&db, &bob, "Billing (Bob)", &["orders:read"], None).await;
    let now = fx.clock.now();

    assert_eq!(names(&db, &ann, searching("BILLING"), now).await, ["Billing prod", "billing staging"]);
    assert_eq!(names(&db, &ann, searching("  staging "), now).await, ["billing staging"], "spaces are trimmed");
    assert_eq!(names(&db, &ann, searching(&checkout.hint.replace('…', "")), now).await, ["Checkout"]);
    assert_eq!(names(&db, &ann, searching(&plaintext), now).await, ["Checkout"], "a pasted key finds its key");
    assert_eq!(names(&db, &ann, searching(&checkout.id), now).await, ["Checkout"]);
    assert_eq!(names(&db, &ann, searching("0% o"), now).await, ["100% off"]);
    assert!(names(&db, &ann, searching("%"), now).await == ["100% off"], "a wildcard is taken literally");
    assert!(names(&db, &ann, searching("Bob"), now).await.is_empty(), "another organisation's keys never show");
    assert_eq!(names(&db, &ann, searching(""), now).await.len(), 4);

    let long = searching(&"x".repeat(101));
    assert!(matches!(find_keys(&db, &ann, &long, now).await, Err(FindError::Query(QueryError::SearchTooLong))));
}

async fn each_status_filter_shows_exactly_the_keys_in_that_state(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let start = fx.clock.now();
    let origin = Origin { actor: "ann@example.com".into(), client: Client::default() };
    fx.key(&db, &ann, "active", &["orders:read"], None).await;
    fx.key(&db, &ann, "active until next month", &["orders:read"], Some(start + Duration::days(30))).await;
    fx.key(&db, &ann, "expiring", &["orders:read"], Some(start + Duration::days(3))).await;
    fx.key(&db, &ann, "expired", &["orders:read"], Some(start + Duration::minutes(30))).await;
    let (rolled, _) = fx.key(&db, &ann, "rolled", &["orders:read"], None).await;
    roll_key(&db, fx.services(), &origin, svc(&ann), &rolled.id, Grace::OneHour).await.expect("roll");
    let (retired, _) = fx.key(&db, &ann, "retired", &["orders:read"], None).await;
    roll_key(&db, fx.services(), &origin, svc(&ann), &retired.id, Grace::None).await.expect("roll");
    let (revoked, _) = fx.key(&db, &ann, "revoked", &["orders:read"], None).await;
    revoke_key(&db, fx.services(), &origin, svc(&ann), &revoked.id).await.expect("revoke");
    fx.clock.advance(Duration::minutes(45));
    let now = fx.clock.now();

    let with = |status| KeyQuery { status, ..KeyQuery::default() };
    assert_eq!(names(&db, &ann, with(StatusFilter::ExpiresSoon), now).await, ["expiring"]);
    assert_eq!(names(&db, &ann, with(StatusFilter::Expired), now).await, ["expired", "retired"]);
    assert_eq!(names(&db, &ann, with(StatusFilter::Rolled), now).await, ["rolled"]);
    assert_eq!(names(&db, &ann, with(StatusFilter::Revoked), now).await, ["revoked"]);
    assert_eq!(names(&db, &ann, with(StatusFilter::Any), now).await.len(), 9);
    // The database's idea of each state agrees with the key's own, for every key.
    let everything = list_keys(&db, &ann).await.expect("all");
    for filter in StatusFilter::ALL {
        let mut expected: Vec<String> = everything
            .iter()
            .filter(|key| match (filter, key.status(now)) {
                (StatusFilter::Any, _) => true,
                (StatusFilter::Working, status) => !matches!(status, KeyStatus::Expired | KeyStatus::Revoked),
                (StatusFilter::Active, KeyStatus::Active)
                | (StatusFilter::ExpiresSoon, KeyStatus::ExpiresSoon)
                | (StatusFilter::Rolled, KeyStatus::Rolled { .. })
                | (StatusFilter::Expired, KeyStatus::Expired)
                | (StatusFilter::Revoked, KeyStatus::Revoked) => true,
                _ => false,
            })
            .map(|key| key.name.clone())
            .collect();
        expected.sort();
        assert_eq!(names(&db, &ann, with(filter), now).await, expected, "{filter:?}");
    }
}

async fn the_scope_filter_shows_only_keys_holding_that_scope(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    fx.key(&db, &ann, "reader", &["orders:read"], None).await;
    fx.key(&db, &ann, "writer", &["orders:read", "orders:write"], None).await;
    fx.key(&db, &ann, "customers", &["customers:read"], None).await;
    let now = fx.clock.now();
    let holding = |scope: &str| KeyQuery { scope: Some(scope.into()), ..KeyQuery::default() };
    assert_eq!(names(&db, &ann, holding("orders:write"), now).await, ["writer"]);
    assert_eq!(names(&db, &ann, holding("orders:read"), now).await, ["reader", "writer"]);
    assert_eq!(names(&db, &ann, holding("orders"), now).await, Vec::<String>::new(), "whole scope names only");
    let both = KeyQuery { scope: Some("orders:read".into()), search: "WRI".into(), ..KeyQuery::default() };
    assert_eq!(names(&db, &ann, both, now).await, ["writer"]);
}

async fn every_order_pages_through_all_keys_once_in_that_order(db: DatabaseConnection) {
    let fx = Fixture::new();
    let ann = customer(&db, fx.clock.as_ref(), "ann@example.com").await;
    let mut keys = Vec::new();
    for i in 0..7 {
        keys.push(fx.key(&db, &ann, &format!("key {i}"), &["orders:read"], None).await.0);
    }
    // Keys 1, 4 and 6 were used, 4 most recently; the rest never.
    let start = fx.clock.now();
    for (i, minutes) in [(1, 10), (4, 30), (6, 20)] {
        let used = api_keys::ActiveModel {
            id: Set(keys[i].id.clone()),
            last_used_at: Set(Some(start + Duration::minutes(minutes))),
            ..Default::default()
        };
        used.update(&db).await.expect("use");
    }
    let now = start + Duration::hours(1);
    let expected: [(KeyOrder, [usize; 7]); 4] = [
        (KeyOrder::NewestFirst, [6, 5, 4, 3, 2, 1, 0]),
        (KeyOrder::OldestFirst, [0, 1, 2, 3, 4, 5, 6]),
        (KeyOrder::RecentlyUsed, [4, 6, 1, 5, 3, 2, 0]),
        (KeyOrder::LeastRecentlyUsed, [0, 2, 3, 5, 1, 6, 4]),
    ];
    for (order, indexes) in expected {
        let mut seen = Vec::new();
        for page in 1..=3 {
            let query = KeyQuery { order, page, per_page: 3, ..KeyQuery::default() };
            let found = find_keys(&db, &ann, &query, now).await.expect("page");
            assert_eq!((found.page, found.pages, found.total), (page, 3, 7));
            seen.extend(found.keys.into_iter().map(|key| key.id));
        }
        let wanted: Vec<String> = indexes.iter().map(|&i| keys[i].id.clone()).collect();
        assert_eq!(seen, wanted, "{order:?}");
    }
    let past = KeyQuery { page: 99, per_page: 3, ..KeyQuery::default() };
    assert_eq!(find_keys(&db, &ann, &past, now).await.expect("last").page, 3, "past the end means the last page");
}
