//! Address verification, password reset links and two-factor sign-in, without HTTP.

use crate::support::{clock, customer, hasher};
use app::domain::accounts::password::Password;
use app::domain::accounts::reset::{self, RequestError, ResetError};
use app::domain::accounts::{email::Email, find_account, verification};
use app::domain::activity::Client;
use app::domain::clock::Clock;
use app::domain::mail::{links, outbox};
use app::domain::sealing::Sealer;
use app::domain::storage::sessions;
use app::domain::throttle::ThrottlePolicy;
use app::domain::two_factor::{self, CodeServices, Proven, TwoFactorError};
use app::on_both_databases;
use chrono::Duration;
use sea_orm::{DatabaseConnection, EntityTrait, PaginatorTrait, Set};

on_both_databases!(
    a_sign_up_is_asked_to_verify_its_address_and_the_link_works_once,
    a_reset_link_sets_the_password_once_signs_out_everywhere_and_tells_the_person,
    reset_requests_answer_alike_for_unknown_addresses_and_are_throttled,
    a_totp_code_signs_in_once_and_a_recovery_code_once,
    wrong_codes_are_throttled_and_turning_off_takes_password_and_code
);

/// The secret of the newest link of the message to `email` of `kind`, minted as the sender would.
async fn mint_link(db: &DatabaseConnection, email: &str, kind: &str, now: chrono::DateTime<chrono::Utc>) -> String {
    let messages = outbox::to_recipient(db, email).await.expect("outbox");
    let message = messages.iter().rev().find(|m| m.kind == kind).unwrap_or_else(|| panic!("no {kind} to {email}"));
    let mail: app::domain::mail::Mail = serde_json::from_str(&message.params).expect("params");
    let url = links::mint(db, mail.link().expect("link"), "", now).await.expect("mint").expect("usable");
    url.rsplit('/').next().expect("secret").to_owned()
}

async fn a_sign_up_is_asked_to_verify_its_address_and_the_link_works_once(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    assert!(!find_account(&db, &ann).await.expect("read").expect("ann").email_verified);
    let secret = mint_link(&db, "ann@example.com", "verify_email", clock.now()).await;
    assert_eq!(verification::verify(&db, clock.as_ref(), &secret).await.expect("verified"), ann);
    assert!(find_account(&db, &ann).await.expect("read").expect("ann").email_verified);
    assert!(verification::verify(&db, clock.as_ref(), &secret).await.is_err(), "a link works once");
    assert!(matches!(
        verification::resend(&db, clock.as_ref(), &ann).await,
        Err(verification::ResendError::AlreadyVerified)
    ));

    let bob = customer(&db, clock.as_ref(), "bob@example.com").await;
    for _ in 1..verification::RESENDS_PER_HOUR {
        verification::resend(&db, clock.as_ref(), &bob).await.expect("resent");
    }
    assert!(matches!(verification::resend(&db, clock.as_ref(), &bob).await, Err(verification::ResendError::Throttled)));
    let secret = mint_link(&db, "bob@example.com", "verify_email", clock.now()).await;
    clock.advance(Duration::hours(25));
    assert!(verification::verify(&db, clock.as_ref(), &secret).await.is_err(), "links last 24 hours");
}

async fn a_reset_link_sets_the_password_once_signs_out_everywhere_and_tells_the_person(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    sessions::Entity::insert(sessions::ActiveModel {
        id_hash: Set("a".repeat(64)),
        account_id: Set(Some(ann.clone())),
        data: Set("{}".into()),
        expires_at: Set(clock.now() + Duration::hours(1)),
    })
    .exec_without_returning(&db)
    .await
    .expect("session");
    let email = Email::parse("Ann@Example.com").expect("email");
    reset::request(&db, clock.as_ref(), &email, &Client::default()).await.expect("requested");
    let secret = mint_link(&db, "ann@example.com", "password_reset", clock.now()).await;
    let new = Password::new("a brand new passphrase");
    reset::reset(&db, hasher(), clock.as_ref(), &secret, &new, &Client::default()).await.expect("reset");
    assert_eq!(sessions::Entity::find().count(&db).await.expect("count"), 0, "every session ended");
    let again =
        reset::reset(&db, hasher(), clock.as_ref(), &secret, &Password::new("another passphrase"), &Client::default())
            .await;
    assert!(matches!(again, Err(ResetError::Link(_))), "a reset link works once: {again:?}");
    let kinds: Vec<String> =
        outbox::to_recipient(&db, "ann@example.com").await.expect("rows").into_iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&"password_changed".to_owned()), "{kinds:?}");
    assert!(find_account(&db, &ann).await.expect("read").expect("ann").email_verified, "the link proved the address");

    reset::request(&db, clock.as_ref(), &email, &Client::default()).await.expect("requested");
    let late = mint_link(&db, "ann@example.com", "password_reset", clock.now()).await;
    clock.advance(Duration::minutes(61));
    assert!(!reset::link_works(&db, clock.as_ref(), &late).await.expect("check"), "reset links last an hour");
}

async fn reset_requests_answer_alike_for_unknown_addresses_and_are_throttled(db: DatabaseConnection) {
    let clock = clock();
    let nobody = Email::parse("nobody@example.com").expect("email");
    let client = Client { ip: Some("203.0.113.9".parse().expect("ip")), user_agent: None };
    for _ in 0..reset::REQUESTS_PER_EMAIL_PER_HOUR {
        reset::request(&db, clock.as_ref(), &nobody, &client).await.expect("same answer");
    }
    assert!(outbox::to_recipient(&db, "nobody@example.com").await.expect("rows").is_empty(), "nothing is sent");
    assert!(matches!(reset::request(&db, clock.as_ref(), &nobody, &client).await, Err(RequestError::Throttled { .. })));
    // Per client address too: one client cycling through addresses is stopped.
    let mut refused = false;
    for i in 0..reset::REQUESTS_PER_CLIENT_PER_HOUR {
        let email = Email::parse(&format!("p{i}@example.com")).expect("email");
        refused |= reset::request(&db, clock.as_ref(), &email, &client).await.is_err();
    }
    assert!(refused, "the client's hourly allowance ran out");
    clock.advance(Duration::minutes(61));
    reset::request(&db, clock.as_ref(), &nobody, &client).await.expect("a new hour");
}

fn code_at(secret: &str, now: chrono::DateTime<chrono::Utc>, offset_steps: i64) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("base32");
    let totp = totp_rs::Builder::new().with_secret(bytes.as_ref().to_vec()).build().expect("totp");
    totp.generate(u64::try_from(now.timestamp() + offset_steps * 30).expect("time")).to_string()
}

async fn a_totp_code_signs_in_once_and_a_recovery_code_once(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let sealer = Sealer::with_key(&[9; 32]);
    let policy = ThrottlePolicy::default();
    let services = CodeServices { clock: clock.as_ref(), sealer: &sealer, policy: &policy };
    let enrolment = two_factor::begin(&db, &sealer, &ann, "Acme: Keys").await.expect("begin");
    assert!(enrolment.url.starts_with("otpauth://totp/") && enrolment.qr_svg.contains("<svg"));
    let stored =
        app::domain::storage::accounts::Entity::find_by_id(ann.clone()).one(&db).await.expect("read").expect("row");
    assert!(!stored.totp_secret.expect("sealed").0.contains(&enrolment.secret), "sealed at rest");

    let wrong = two_factor::confirm(&db, services, &ann, "000000", &Client::default()).await;
    assert!(matches!(wrong, Err(TwoFactorError::WrongCode)) || code_at(&enrolment.secret, clock.now(), 0) == "000000");
    let codes =
        two_factor::confirm(&db, services, &ann, &code_at(&enrolment.secret, clock.now(), 0), &Client::default())
            .await
            .expect("confirmed");
    assert_eq!(codes.len(), 10);
    assert!(find_account(&db, &ann).await.expect("read").expect("ann").two_factor);

    // The code that confirmed enrolment is spent; the next step's code works once.
    let same =
        two_factor::check(&db, services, &ann, &code_at(&enrolment.secret, clock.now(), 0), &Client::default()).await;
    assert!(matches!(same, Err(TwoFactorError::WrongCode)), "no replay: {same:?}");
    clock.advance(Duration::seconds(30));
    let next = code_at(&enrolment.secret, clock.now(), 0);
    assert_eq!(two_factor::check(&db, services, &ann, &next, &Client::default()).await.expect("code"), Proven::Code);
    assert!(two_factor::check(&db, services, &ann, &next, &Client::default()).await.is_err(), "a code works once");

    let recovery = codes[3].expose().to_uppercase();
    let proven = two_factor::check(&db, services, &ann, &recovery, &Client::default()).await.expect("recovery code");
    assert_eq!(proven, Proven::RecoveryCode { remaining: 9 });
    assert!(two_factor::check(&db, services, &ann, &recovery, &Client::default()).await.is_err(), "once");
}

async fn wrong_codes_are_throttled_and_turning_off_takes_password_and_code(db: DatabaseConnection) {
    let clock = clock();
    let ann = customer(&db, clock.as_ref(), "ann@example.com").await;
    let sealer = Sealer::without_key();
    let policy = ThrottlePolicy::default();
    let services = CodeServices { clock: clock.as_ref(), sealer: &sealer, policy: &policy };
    let enrolment = two_factor::begin(&db, &sealer, &ann, "Latchkey").await.expect("begin");
    two_factor::confirm(&db, services, &ann, &code_at(&enrolment.secret, clock.now(), 0), &Client::default())
        .await
        .expect("on");
    let mut throttled = false;
    for _ in 0..8 {
        throttled |= matches!(
            two_factor::check(&db, services, &ann, "12345678901a", &Client::default()).await,
            Err(TwoFactorError::Throttled { .. })
        );
    }
    assert!(throttled, "wrong codes wait like wrong passwords");
    clock.advance(Duration::hours(1));
    let right = code_at(&enrolment.secret, clock.now(), 0);
    let wrong_password =
        two_factor::disable(&db, hasher(), services, &ann, &Password::new("guess"), &right, &Client::default()).await;
    assert!(matches!(wrong_password, Err(TwoFactorError::WrongPassword)));
    two_factor::disable(
        &db,
        hasher(),
        services,
        &ann,
        &Password::new("correct horse battery"),
        &right,
        &Client::default(),
    )
    .await
    .expect("off");
    assert!(!find_account(&db, &ann).await.expect("read").expect("ann").two_factor);
    let kinds: Vec<String> =
        outbox::to_recipient(&db, "ann@example.com").await.expect("rows").into_iter().map(|m| m.kind).collect();
    assert!(kinds.contains(&"two_factor_enabled".to_owned()) && kinds.contains(&"two_factor_disabled".to_owned()));
}
