//! Webhooks and leak reports without HTTP in front: events queued with their changes for the endpoints that
//! asked, the retry schedule as measured with a controllable clock against a real (failing) receiver, the
//! endpoint paused after days of failure, customers kept off private addresses, and a leak report that
//! revokes a key once.

use crate::support::{clock, customer, svc};
use app::domain::activity::{Client, Origin};
use app::domain::clock::Clock;
use app::domain::keys::manage::{KeyPolicy, KeyServices, NewKey, create_key, find_any_key, revoke_key};
use app::domain::leaks::{self, Finding, LeakPolicy, LeakReport};
use app::domain::mail::outbox;
use app::domain::scopes::ScopeCatalogue;
use app::domain::sealing::Sealer;
use app::domain::storage::{webhook_deliveries, webhook_events};
use app::domain::verification::KeyCache;
use app::domain::webhooks::deliveries::{SCHEDULE, retry_delay};
use app::domain::webhooks::endpoints::{self, Owner};
use app::domain::webhooks::{EndpointError, NewEndpoint, TargetPolicy, WebhookSender};
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use std::sync::{Arc, Mutex};

on_both_databases!(
    key_events_reach_the_endpoints_that_asked_for_them_and_no_other_organisation,
    failed_deliveries_follow_the_schedule_for_three_days_then_their_endpoint_is_paused,
    customers_may_not_register_private_or_plain_http_addresses,
    a_leak_report_revokes_the_key_once_and_tells_webhooks_and_owners
);

fn origin(actor: &str) -> Origin {
    Origin { actor: actor.into(), client: Client::default() }
}

fn endpoint(url: &str, events: &[&str]) -> NewEndpoint {
    NewEndpoint {
        url: url.into(),
        description: String::new(),
        event_types: events.iter().map(|name| (*name).to_owned()).collect(),
    }
}

async fn deliveries_to(db: &DatabaseConnection, endpoint_id: &str) -> Vec<String> {
    let rows = webhook_deliveries::Entity::find()
        .filter(webhook_deliveries::Column::EndpointId.eq(endpoint_id))
        .all(db)
        .await
        .expect("deliveries");
    let mut types = Vec::new();
    for row in rows {
        let event = webhook_events::Entity::find_by_id(row.event_id).one(db).await.expect("event").expect("row");
        types.push(event.event_type);
    }
    types.sort();
    types
}

async fn key_events_reach_the_endpoints_that_asked_for_them_and_no_other_organisation(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let bob = customer(&db, clock.as_ref(), "bob@example.com").await;
    let sealer = Sealer::without_key();
    let open = TargetPolicy { allow_private: true };
    let create = |owner, url: &'static str, events: &'static [&'static str]| {
        let (db, clock, sealer) = (db.clone(), clock.clone(), sealer.clone());
        async move {
            endpoints::create(&db, clock.as_ref(), &sealer, open, &origin("op"), owner, &endpoint(url, events))
                .await
                .expect("endpoint")
                .0
        }
    };
    let operator = create(Owner::Operator, "http://127.0.0.1:9/all", &[]).await;
    let anns = create(Owner::Organisation(&ann), "http://127.0.0.1:9/ann", &["key.revoked"]).await;
    let bobs = create(Owner::Organisation(&bob), "http://127.0.0.1:9/bob", &[]).await;

    let (policy, catalogue, cache) = (KeyPolicy::default(), ScopeCatalogue::example(), KeyCache::default());
    let services = KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue, cache: &cache };
    let new = NewKey { name: "ci".into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    let (key, plaintext) = create_key(&db, services, &origin("ann@example.com"), svc(&ann), &new).await.expect("key");
    revoke_key(&db, services, &origin("ann@example.com"), svc(&ann), &key.id).await.expect("revoke");

    assert_eq!(deliveries_to(&db, &operator.id).await, ["key.created", "key.revoked"]);
    assert_eq!(deliveries_to(&db, &anns.id).await, ["key.revoked"]);
    assert!(deliveries_to(&db, &bobs.id).await.is_empty(), "bob's endpoint hears nothing of ann's keys");

    let events = webhook_events::Entity::find().all(&db).await.expect("events");
    let revoked = events.iter().find(|event| event.event_type == "key.revoked").expect("revoked event");
    let payload: serde_json::Value = serde_json::from_str(&revoked.payload).expect("json");
    assert_eq!(payload["type"], "key.revoked");
    assert_eq!(payload["data"]["key"]["id"], key.id.as_str());
    assert_eq!(payload["data"]["key"]["hint"], key.hint.as_str());
    assert_eq!(payload["data"]["organisation"]["id"], ann.as_str());
    assert_eq!(payload["data"]["actor"], "ann@example.com");
    assert!(!revoked.payload.contains(plaintext.expose()), "the key itself never goes out");
    assert!(revoked.id.starts_with("msg_"));
}

/// A receiver that answers every request with 500 and remembers each `webhook-id`.
async fn failing_receiver() -> (String, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: axum::http::HeaderMap| {
            let record = record.clone();
            async move {
                let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
                record.lock().expect("lock").push(id);
                (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, seen)
}

#[allow(clippy::print_stderr)]
async fn failed_deliveries_follow_the_schedule_for_three_days_then_their_endpoint_is_paused(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let (url, seen) = failing_receiver().await;
    let open = TargetPolicy { allow_private: true };
    let sealer = Arc::new(Sealer::with_key(&[7; 32]));
    let new = NewEndpoint { url: url.clone(), description: "billing".into(), event_types: vec![] };
    let (hook, _) = endpoints::create(
        &db,
        clock.as_ref(),
        &sealer,
        open,
        &origin("ann@example.com"),
        Owner::Organisation(&ann),
        &new,
    )
    .await
    .expect("endpoint");
    let sender = WebhookSender::new(sealer, open).expect("sender");
    app::domain::webhooks::deliveries::send_test(&db, clock.now(), &hook, "ann@example.com").await.expect("test");

    let started = clock.now();
    let mut waits = Vec::new();
    for attempt in 1..=10 {
        let round = sender.deliver_due(&db, clock.as_ref()).await.expect("round");
        assert_eq!(round.delivered, 0);
        assert_eq!(round.retrying + round.gave_up, 1, "attempt {attempt} was made");
        let row = webhook_deliveries::Entity::find().one(&db).await.expect("row").expect("delivery");
        if attempt == 10 {
            assert!(row.failed_at.is_some(), "given up after the tenth attempt");
            break;
        }
        let wait = row.next_attempt_at - clock.now();
        // Nothing goes out before its time.
        clock.advance(wait - Duration::milliseconds(100));
        assert_eq!(sender.deliver_due(&db, clock.as_ref()).await.expect("early").retrying, 0);
        clock.advance(Duration::milliseconds(100));
        waits.push(wait);
    }
    let measured: Vec<String> =
        waits.iter().map(|wait| format!("{:.1}s", wait.num_milliseconds() as f64 / 1000.0)).collect();
    eprintln!(
        "measured retry waits: {}; last attempt {:.1} h after the first",
        measured.join(", "),
        (clock.now() - started).num_minutes() as f64 / 60.0
    );
    for (index, (wait, planned)) in waits.iter().zip(SCHEDULE).enumerate() {
        let (low, high) =
            (retry_delay(index as i32 + 1, -1.0).expect("low"), retry_delay(index as i32 + 1, 1.0).expect("high"));
        assert!(*wait >= low && *wait <= high, "wait {index} was {wait}, planned {planned} ±10%");
    }
    let ids = seen.lock().expect("lock").clone();
    assert_eq!(ids.len(), 10, "ten attempts reached the receiver");
    assert!(ids.iter().all(|id| *id == ids[0]), "every retry carries the same webhook-id");

    let paused = endpoints::get(&db, Owner::Organisation(&ann), &hook.id).await.expect("endpoint");
    assert!(paused.disabled_at.is_some(), "failing through the whole schedule pauses the endpoint");
    let told = outbox::to_recipient(&db, "ann@example.com").await.expect("mail");
    assert!(told.iter().any(|mail| mail.kind == "webhook_disabled"), "the owner is told");
    // A paused endpoint's new events wait rather than go.
    app::domain::webhooks::deliveries::send_test(&db, clock.now(), &hook, "ann@example.com").await.expect("test");
    assert_eq!(sender.deliver_due(&db, clock.as_ref()).await.expect("paused").retrying, 0);
}

async fn customers_may_not_register_private_or_plain_http_addresses(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let sealer = Sealer::without_key();
    let strict = TargetPolicy::default();
    for url in
        ["https://127.0.0.1/hook", "https://169.254.169.254/latest", "https://localhost/x", "http://example.com/"]
    {
        let refused = endpoints::create(
            &db,
            clock.as_ref(),
            &sealer,
            strict,
            &origin("ann"),
            Owner::Organisation(&ann),
            &endpoint(url, &[]),
        )
        .await;
        assert!(matches!(refused, Err(EndpointError::Invalid { field: "url", .. })), "{url} was accepted");
    }
    let unknown = endpoints::create(
        &db,
        clock.as_ref(),
        &sealer,
        strict,
        &origin("ann"),
        Owner::Organisation(&ann),
        &endpoint("https://93.184.215.14/hook", &["key.exploded"]),
    )
    .await;
    assert!(matches!(unknown, Err(EndpointError::Invalid { field: "event_types", .. })));
    // The operator's own services may sit on a private network.
    let operator = endpoints::create(
        &db,
        clock.as_ref(),
        &sealer,
        strict,
        &origin("op"),
        Owner::Operator,
        &endpoint("http://10.0.0.5/hook", &[]),
    )
    .await;
    assert!(operator.is_ok());
    assert!(endpoints::list(&db, Owner::Organisation(&ann)).await.expect("list").is_empty());
}

async fn a_leak_report_revokes_the_key_once_and_tells_webhooks_and_owners(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let (policy, catalogue, cache) = (KeyPolicy::default(), ScopeCatalogue::example(), KeyCache::default());
    let services = KeyServices { clock: clock.as_ref(), policy: &policy, catalogue: &catalogue, cache: &cache };
    let new = NewKey { name: "ci".into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    let (key, plaintext) = create_key(&db, services, &origin("ann@example.com"), svc(&ann), &new).await.expect("key");
    let (other, other_plaintext) =
        create_key(&db, services, &origin("ann@example.com"), svc(&ann), &new).await.expect("key");
    let github = origin("GitHub secret scanning");
    let report =
        |token: &str| LeakReport { token: token.into(), url: "https://github.com/acme/app/blob/main/.env".into() };

    let found = leaks::report(&db, services, LeakPolicy::Revoke, &github, "GitHub", &report(plaintext.expose()))
        .await
        .expect("report");
    assert!(matches!(found, Finding::Ours { first: true, revoked: true, .. }));
    let stored = find_any_key(&db, &key.id).await.expect("key");
    assert!(stored.revoked_at.is_some());
    let leak = stored.leak.expect("leak recorded");
    assert_eq!(leak.url, "https://github.com/acme/app/blob/main/.env");
    let again = leaks::report(&db, services, LeakPolicy::Revoke, &github, "GitHub", &report(plaintext.expose()))
        .await
        .expect("again");
    assert!(matches!(again, Finding::Ours { first: false, revoked: false, .. }));

    let garbage = leaks::report(&db, services, LeakPolicy::Revoke, &github, "GitHub", &report("lk_notakeyatall"))
        .await
        .expect("garbage");
    assert_eq!(garbage, Finding::NotOurs);
    let notify = leaks::report(&db, services, LeakPolicy::Notify, &github, "GitHub", &report(other_plaintext.expose()))
        .await
        .expect("notify");
    assert!(matches!(notify, Finding::Ours { first: true, revoked: false, .. }));
    assert!(find_any_key(&db, &other.id).await.expect("key").revoked_at.is_none(), "notify leaves the key working");

    let leaked = webhook_events::Entity::find()
        .filter(webhook_events::Column::EventType.eq("key.leaked"))
        .all(&db)
        .await
        .expect("events");
    assert_eq!(leaked.len(), 2, "one key.leaked per key, however often reported");
    let mail = outbox::to_recipient(&db, "ann@example.com").await.expect("mail");
    assert_eq!(mail.iter().filter(|m| m.kind == "key_leaked").count(), 2);
    assert!(!mail.iter().any(|m| m.kind == "key_revoked"), "the leak notice says it was revoked; no second mail");
}
