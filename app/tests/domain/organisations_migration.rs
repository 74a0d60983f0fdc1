//! Migration 11 on a database filled under the schema before it: every account gets an organisation holding
//! its keys, usage, activity and rollups, and every key keeps verifying with the same answer plus its owner.
//! Later migrations run over the same data (migration 17 fills the per-organisation usage from the per-key).

use app::domain::activity::{self, Log};
use app::domain::clock::ManualClock;
use app::domain::database::migrate;
use app::domain::keys::format::{self, KeyPrefix};
use app::domain::organisations::{self, Role};
use app::domain::storage::{
    api_keys, key_usage, key_usage_daily, memberships, organisation_usage, organisation_usage_daily,
};
use app::domain::usage::UsageCounter;
use app::domain::verification::{Code, KeyCache, Request, Verifier};
use app::on_both_databases;
use chrono::{DateTime, Duration, TimeZone, Utc};
use migrations::{Migrator, MigratorTrait};
use sea_orm::sea_query::{Alias, Query, SimpleExpr};
use sea_orm::{ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait};
use std::sync::Arc;

on_both_databases!(
    unmigrated:
    each_account_gets_an_organisation_with_its_keys_usage_and_log_and_keys_verify_as_before,
);

fn at() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 9, 0, 0).single().expect("valid")
}

/// Inserts one row under the old schema, by table and column names (the entities already describe the new one).
async fn insert(db: &DatabaseConnection, table: &str, row: &[(&str, SimpleExpr)]) {
    let mut insert = Query::insert();
    insert.into_table(Alias::new(table)).columns(row.iter().map(|(column, _)| Alias::new(*column)));
    insert.values_panic(row.iter().map(|(_, value)| value.clone()));
    db.execute(&insert).await.unwrap_or_else(|err| panic!("insert into {table}: {err}"));
}

async fn each_account_gets_an_organisation_with_its_keys_usage_and_log_and_keys_verify_as_before(
    db: DatabaseConnection,
) {
    Migrator::up(&db, Some(10)).await.expect("the schema before organisations");
    let prefix = KeyPrefix::default();
    let (ann, bob) = ("0190a000-0000-7000-8000-00000000a001", "0190a000-0000-7000-8000-00000000b001");
    for (id, email) in [(ann, "ann@example.com"), (bob, "bob@example.com")] {
        insert(
            &db,
            "accounts",
            &[
                ("id", id.into()),
                ("email", email.into()),
                ("password_hash", "!".into()),
                ("is_operator", false.into()),
                ("created_at", at().into()),
                ("password_changed_at", at().into()),
            ],
        )
        .await;
    }
    let live = format::generate(&prefix).expect("key");
    let revoked = format::generate(&prefix).expect("key");
    let keys = [("k-live", &live, None, ann), ("k-revoked", &revoked, Some(at()), ann)];
    for (id, key, revoked_at, account) in keys {
        insert(
            &db,
            "api_keys",
            &[
                ("id", id.into()),
                ("account_id", account.into()),
                ("key_hash", format::hash(key).to_hex().into()),
                ("hint", format::hint(key).into()),
                ("name", format!("{id} name").into()),
                ("scopes", r#"["orders:read"]"#.into()),
                ("created_at", at().into()),
                ("updated_at", at().into()),
                ("revoked_at", revoked_at.into()),
                ("meta", r#"{"plan":"pro"}"#.into()),
            ],
        )
        .await;
    }
    for hour in 0..3 {
        insert(
            &db,
            "key_usage",
            &[
                ("key_id", "k-live".into()),
                ("account_id", ann.into()),
                ("hour", (at() + Duration::hours(hour)).into()),
                ("code", "VALID".into()),
                ("count", (10 + hour).into()),
            ],
        )
        .await;
    }
    insert(
        &db,
        "key_usage_daily",
        &[
            ("key_id", "k-live".into()),
            ("account_id", ann.into()),
            ("day", (at() - Duration::days(3)).into()),
            ("code", "REVOKED".into()),
            ("count", 7_i64.into()),
        ],
    )
    .await;
    for (id, kind, key) in [("e1", "sign_in", None), ("e2", "key.created", Some("k-live"))] {
        insert(
            &db,
            "activity_events",
            &[
                ("id", id.into()),
                ("account_id", ann.into()),
                ("occurred_at", at().into()),
                ("kind", kind.into()),
                ("actor", "ann@example.com".into()),
                ("key_id", key.into()),
                ("key_name", key.map(|_| "k-live name").into()),
            ],
        )
        .await;
    }

    migrate(&db).await.expect("migration 11 on filled data");

    for (id, email) in [(ann, "ann@example.com"), (bob, "bob@example.com")] {
        let org = organisations::find(&db, id).await.expect("an organisation with the account's id");
        assert_eq!(org.name, email);
        assert!(!org.is_disabled());
        let mine = organisations::of_account(&db, id).await.expect("memberships");
        assert_eq!(mine.len(), 1);
        assert_eq!((mine[0].0.id.as_str(), mine[0].1), (id, Role::Owner));
    }
    assert_eq!(memberships::Entity::find().count(&db).await.expect("count"), 2);
    let stored = api_keys::Entity::find().all(&db).await.expect("keys");
    assert_eq!(stored.len(), 2);
    for key in &stored {
        assert_eq!(key.organisation_id, ann);
        assert_eq!(key.created_by, "ann@example.com");
        assert_eq!(key.created_by_account_id.as_deref(), Some(ann));
    }
    let hourly = key_usage::Entity::find().all(&db).await.expect("hourly");
    assert_eq!(hourly.iter().map(|row| row.count).sum::<i64>(), 33);
    assert!(hourly.iter().all(|row| row.organisation_id == ann));
    let daily = key_usage_daily::Entity::find().all(&db).await.expect("daily");
    assert_eq!((daily.len(), daily[0].count, daily[0].organisation_id.as_str()), (1, 7, ann));
    let organisation_hours = organisation_usage::Entity::find().all(&db).await.expect("organisation hours");
    assert_eq!(organisation_hours.len(), 3, "one row per hour and code");
    assert_eq!(organisation_hours.iter().map(|row| row.count).sum::<i64>(), 33);
    assert!(organisation_hours.iter().all(|row| row.organisation_id == ann));
    let organisation_days = organisation_usage_daily::Entity::find().all(&db).await.expect("organisation days");
    assert_eq!((organisation_days.len(), organisation_days[0].count), (1, 7));
    let log = activity::list(&db, Log::Organisation(ann), 1, 10).await.expect("log");
    assert_eq!(log.events.len(), 2, "the log moved with the keys");
    assert_eq!(activity::list(&db, Log::Account(ann), 1, 10).await.expect("own log").events.len(), 2);

    let clock = Arc::new(ManualClock::at(at() + Duration::hours(5)));
    let verifier = Verifier::new(prefix, clock, Arc::new(KeyCache::default()), Arc::new(UsageCounter::default()));
    let scopes = vec!["orders:read".to_owned()];
    let verdict =
        verifier.verify(&db, Request { key: live.expose(), scopes: &scopes, ip: None }).await.expect("verify");
    assert_eq!(verdict.code, Code::Valid);
    let record = verdict.key.expect("the key");
    assert_eq!((record.owner.id.as_str(), record.owner.name.as_str()), (ann, "ann@example.com"));
    assert_eq!(record.meta.as_ref().and_then(|meta| meta.get("plan")).and_then(|v| v.as_str()), Some("pro"));
    let verdict =
        verifier.verify(&db, Request { key: revoked.expose(), scopes: &scopes, ip: None }).await.expect("verify");
    assert_eq!(verdict.code, Code::Revoked);

    // Foreign keys follow the renamed tables: deleting a key still takes its usage along.
    api_keys::Entity::delete_by_id("k-live".to_owned()).exec(&db).await.expect("delete");
    assert_eq!(key_usage::Entity::find().count(&db).await.expect("count"), 0);
}
