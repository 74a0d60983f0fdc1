//! The outbox: messages queued with their events, sent once however many senders run, retried while the
//! mail server is away, recorded when refused; and the key notices that go through it.

use crate::support::{clock, customer, svc};
use app::domain::activity::{Client, Origin};
use app::domain::clock::Clock;
use app::domain::keys::manage::{KeyPolicy, KeyServices, NewKey, create_key, revoke_key};
use app::domain::mail::outbox::{self, GIVE_UP_AFTER};
use app::domain::mail::render::MailBrand;
use app::domain::mail::sender::{Mailer, Round, deliver_due};
use app::domain::mail::transport::{SmtpServer, Transport};
use app::domain::mail::{Mail, messages::NoticeKind};
use app::domain::notices;
use app::domain::scopes::ScopeCatalogue;
use app::domain::storage::mail_outbox;
use app::domain::verification::KeyCache;
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{DatabaseConnection, EntityTrait};
use std::path::Path;

on_both_databases!(
    a_queued_message_is_written_once_even_with_two_senders_at_work,
    a_refused_message_is_recorded_with_the_answer_and_not_retried,
    messages_wait_while_the_mail_server_is_away_and_give_up_after_a_day,
    expiry_reminders_go_once_however_often_and_wherever_the_check_runs,
    key_notices_reach_owners_and_creators_but_not_who_acted_or_who_muted_them
);

fn brand() -> MailBrand {
    MailBrand {
        product_name: "Latchkey".into(),
        base_url: "http://127.0.0.1:3000".into(),
        accent: "#1f4fd1".into(),
        logo_url: None,
        support_url: None,
    }
}

fn mailer(transport: Transport) -> Mailer {
    Mailer { transport, from: "Latchkey <noreply@example.com>".parse().expect("from"), brand: brand() }
}

fn files_in(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| name.ends_with(".eml"))
                .collect()
        })
        .unwrap_or_default()
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("lk-mail-{name}-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

async fn a_queued_message_is_written_once_even_with_two_senders_at_work(db: DatabaseConnection) {
    let clock = clock();
    let now = clock.now();
    for i in 0..30 {
        let mail = Mail::NewSignIn { at: "now".into(), from: format!("browser {i}") };
        outbox::queue(&db, now, &format!("p{i}@example.com"), None, &mail).await.expect("queued");
    }
    let dir = temp_dir("once");
    let mailer = mailer(Transport::Directory(dir.clone()));
    // Two instances' senders at the same moment, each going round until nothing is left.
    let run = || async {
        let mut total = Round::default();
        loop {
            let round = deliver_due(&db, now, &mailer).await.expect("round");
            if round == Round::default() {
                return total;
            }
            total.sent += round.sent;
        }
    };
    let (a, b) = tokio::join!(run(), run());
    assert_eq!(a.sent + b.sent, 30, "each message sent by exactly one sender ({} + {})", a.sent, b.sent);
    assert_eq!(files_in(&dir).len(), 30);
    let rows = mail_outbox::Entity::find().all(&db).await.expect("rows");
    assert!(rows.iter().all(|row| row.sent_at.is_some() && row.attempts == 1), "one attempt each");
    let written = std::fs::read_to_string(dir.join(format!("{}.eml", rows[0].id))).expect("eml");
    assert!(
        written.contains("multipart/alternative") && written.contains("text/html") && written.contains("text/plain")
    );
    let _ = std::fs::remove_dir_all(dir);
}

async fn a_refused_message_is_recorded_with_the_answer_and_not_retried(db: DatabaseConnection) {
    let clock = clock();
    let mail = Mail::NewSignIn { at: "now".into(), from: "x".into() };
    outbox::queue(&db, clock.now(), "not an address", None, &mail).await.expect("queued");
    let dir = temp_dir("refused");
    let round = deliver_due(&db, clock.now(), &mailer(Transport::Directory(dir.clone()))).await.expect("round");
    assert_eq!(round, Round { sent: 0, retrying: 0, failed: 1 });
    let row = &mail_outbox::Entity::find().all(&db).await.expect("rows")[0];
    assert!(row.failed_at.is_some() && row.sent_at.is_none());
    assert!(row.last_error.as_deref().is_some_and(|answer| answer.contains("bad recipient address")), "{row:?}");
    clock.advance(Duration::hours(2));
    assert_eq!(
        deliver_due(&db, clock.now(), &mailer(Transport::Directory(dir.clone()))).await.expect("round"),
        Round::default()
    );
    let _ = std::fs::remove_dir_all(dir);
}

async fn messages_wait_while_the_mail_server_is_away_and_give_up_after_a_day(db: DatabaseConnection) {
    let clock = clock();
    let mail = Mail::NewSignIn { at: "now".into(), from: "x".into() };
    outbox::queue(&db, clock.now(), "ann@example.com", None, &mail).await.expect("queued");
    // Nothing listens on port 9 of loopback: the connection is refused, a temporary failure.
    let away = SmtpServer::parse("smtp://127.0.0.1:9")
        .expect("url")
        .transport(std::time::Duration::from_secs(5))
        .expect("transport");
    let away = mailer(away);
    assert_eq!(deliver_due(&db, clock.now(), &away).await.expect("round").retrying, 1);
    // Not tried again before its backoff...
    assert_eq!(deliver_due(&db, clock.now(), &away).await.expect("round"), Round::default());
    clock.advance(Duration::seconds(16));
    assert_eq!(deliver_due(&db, clock.now(), &away).await.expect("round").retrying, 1);
    // ...and when the server is back, it goes.
    let dir = temp_dir("back");
    clock.advance(Duration::minutes(1));
    assert_eq!(deliver_due(&db, clock.now(), &mailer(Transport::Directory(dir.clone()))).await.expect("round").sent, 1);
    assert_eq!(files_in(&dir).len(), 1);

    outbox::queue(&db, clock.now(), "bob@example.com", None, &mail).await.expect("queued");
    clock.advance(GIVE_UP_AFTER);
    assert_eq!(deliver_due(&db, clock.now(), &away).await.expect("round").failed, 1, "given up after a day");
    let rows = outbox::to_recipient(&db, "bob@example.com").await.expect("rows");
    assert!(rows[0].failed_at.is_some() && rows[0].last_error.as_deref().is_some_and(|e| e.starts_with("gave up")));
    let _ = std::fs::remove_dir_all(dir);
}

fn key_services<'a>(
    clock: &'a dyn app::domain::clock::Clock,
    policy: &'a KeyPolicy,
    catalogue: &'a ScopeCatalogue,
    cache: &'a KeyCache,
) -> KeyServices<'a> {
    KeyServices { clock, policy, catalogue, cache }
}

async fn expiry_reminders_go_once_however_often_and_wherever_the_check_runs(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let (policy, catalogue, cache) = (KeyPolicy::default(), ScopeCatalogue::example(), KeyCache::default());
    let services = key_services(clock.as_ref(), &policy, &catalogue, &cache);
    let origin = Origin { actor: "ann@example.com".into(), client: Client::default() };
    let new = NewKey {
        name: "ci".into(),
        scopes: vec!["orders:read".into()],
        expires_at: Some(clock.now() + Duration::days(30)),
        ..NewKey::default()
    };
    create_key(&db, services, &origin, svc(&ann), &new).await.expect("key");
    let short = NewKey { name: "short".into(), expires_at: Some(clock.now() + Duration::days(3)), ..new.clone() };
    create_key(&db, services, &origin, svc(&ann), &short).await.expect("key");
    let reminders = || async {
        outbox::to_recipient(&db, "ann@example.com")
            .await
            .expect("rows")
            .into_iter()
            .filter(|m| m.kind == "key_expiring" || m.kind == "key_expired")
            .collect::<Vec<_>>()
    };

    clock.advance(Duration::days(24));
    // Two instances at once, then again: one reminder.
    let (a, b) =
        tokio::join!(notices::queue_expiry_notices(&db, clock.now()), notices::queue_expiry_notices(&db, clock.now()));
    let queued = a.expect("a") + b.expect("b");
    assert_eq!(queued, 1, "the 7-day reminder, once; none for the key made to last 3 days");
    assert_eq!(notices::queue_expiry_notices(&db, clock.now()).await.expect("again"), 0);
    let sent = reminders().await;
    assert_eq!(sent.len(), 1);
    assert!(sent[0].params.contains("\"within\":\"7 days\"") && sent[0].params.contains("\"key_name\":\"ci\""));

    clock.advance(Duration::days(5) + Duration::hours(1));
    assert_eq!(notices::queue_expiry_notices(&db, clock.now()).await.expect("1 day"), 1);
    assert_eq!(notices::queue_expiry_notices(&db, clock.now()).await.expect("1 day again"), 0);
    clock.advance(Duration::days(1));
    assert_eq!(notices::queue_expiry_notices(&db, clock.now()).await.expect("expired"), 1);
    assert_eq!(notices::queue_expiry_notices(&db, clock.now()).await.expect("expired again"), 0);
    let kinds: Vec<String> = reminders().await.into_iter().map(|m| m.kind).collect();
    assert_eq!(kinds, ["key_expiring", "key_expiring", "key_expired"]);
}

async fn key_notices_reach_owners_and_creators_but_not_who_acted_or_who_muted_them(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let (policy, catalogue, cache) = (KeyPolicy::default(), ScopeCatalogue::example(), KeyCache::default());
    let services = key_services(clock.as_ref(), &policy, &catalogue, &cache);
    let by_service = Origin { actor: "service token \"ci\"".into(), client: Client::default() };
    let new = NewKey { name: "deploy".into(), scopes: vec!["orders:read".into()], ..NewKey::default() };
    let key = create_key(&db, services, &by_service, svc(&ann), &new).await.expect("key").0;
    let kinds = || async {
        outbox::to_recipient(&db, "ann@example.com")
            .await
            .expect("rows")
            .into_iter()
            .map(|m| m.kind)
            .collect::<Vec<_>>()
    };
    assert!(kinds().await.contains(&"key_created".to_owned()), "the owner hears of a new key");

    let by_ann = Origin { actor: "ann@example.com".into(), client: Client::default() };
    revoke_key(&db, services, &by_ann, svc(&ann), &key.id).await.expect("revoked");
    assert!(!kinds().await.contains(&"key_revoked".to_owned()), "no notice of what one did oneself");

    notices::set_muted(&db, &ann, &[NoticeKind::KeyCreated, NoticeKind::KeyRevoked]).await.expect("muted");
    assert_eq!(notices::muted_for(&db, &ann).await.expect("read"), [NoticeKind::KeyCreated, NoticeKind::KeyRevoked]);
    let before = kinds().await.len();
    let key = create_key(&db, services, &by_service, svc(&ann), &new).await.expect("key").0;
    revoke_key(&db, services, &by_service, svc(&ann), &key.id).await.expect("revoked");
    assert_eq!(kinds().await.len(), before, "muted kinds are not sent");
}
