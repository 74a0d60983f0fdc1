use crate::support::{clock, hasher};
use app::domain::accounts::create_account;
use app::domain::accounts::password::Password;
use app::domain::activity::Client;
use app::domain::clock::{Clock, ManualClock};
use app::domain::sign_in::{SignInError, SignInServices, sign_in};
use app::domain::throttle::ThrottlePolicy;
use app::on_both_databases;
use chrono::Duration;
use sea_orm::DatabaseConnection;
use std::net::IpAddr;

on_both_databases!(
    the_right_password_signs_in_whatever_the_email_case,
    unknown_email_and_wrong_password_fail_alike_and_cost_alike,
    failures_for_one_email_bring_growing_waits,
    no_wait_lasts_longer_than_the_ceiling,
    one_client_failing_across_many_emails_is_throttled,
    a_successful_sign_in_clears_the_email_counter,
    sign_ups_from_one_address_are_limited_per_hour,
);

on_both_databases!(
    multi_thread:
    parallel_guesses_check_at_most_the_allowance,
);

const PASSWORD: &str = "correct horse battery staple";

async fn attempt(
    db: &DatabaseConnection,
    clock: &ManualClock,
    email: &str,
    password: &str,
    ip: &str,
) -> Result<String, SignInError> {
    let policy = ThrottlePolicy::default();
    let services = SignInServices { hasher: hasher(), clock, policy: &policy };
    let ip: IpAddr = ip.parse().expect("ip");
    let client = Client { ip: Some(ip), user_agent: Some("tests".into()) };
    sign_in(db, services, email, &Password::new(password), &client).await.map(|account| account.id)
}

async fn seed(db: &DatabaseConnection, clock: &dyn Clock, email: &str) -> String {
    create_account(db, hasher(), clock, email, &Password::new(PASSWORD), false).await.expect("seed").id
}

fn throttled_for(result: Result<String, SignInError>) -> Duration {
    match result {
        Err(SignInError::Throttled { retry_after }) => retry_after,
        other => panic!("expected a throttle, got {other:?}"),
    }
}

async fn the_right_password_signs_in_whatever_the_email_case(db: DatabaseConnection) {
    let clock = clock();
    let id = seed(&db, clock.as_ref(), "ann@example.com").await;
    let signed_in = attempt(&db, &clock, " ANN@example.com", PASSWORD, "203.0.113.7").await.expect("signed in");
    assert_eq!(signed_in, id);
}

async fn unknown_email_and_wrong_password_fail_alike_and_cost_alike(db: DatabaseConnection) {
    let clock = clock();
    seed(&db, clock.as_ref(), "ann@example.com").await;

    let before = hasher().verifications();
    let wrong = attempt(&db, &clock, "ann@example.com", "wrong password!", "203.0.113.7").await;
    let after_wrong = hasher().verifications();
    let unknown = attempt(&db, &clock, "nobody@example.com", "wrong password!", "203.0.113.7").await;
    let after_unknown = hasher().verifications();

    assert!(matches!(wrong, Err(SignInError::InvalidCredentials)), "{wrong:?}");
    assert!(matches!(unknown, Err(SignInError::InvalidCredentials)), "{unknown:?}");
    assert_eq!(wrong.err().map(|e| e.to_string()), unknown.err().map(|e| e.to_string()));
    // Tests run in parallel and share the hasher, so count at least one verification each.
    assert!(after_wrong > before && after_unknown > after_wrong, "both paths verify a hash");
}

async fn failures_for_one_email_bring_growing_waits(db: DatabaseConnection) {
    let clock = clock();
    seed(&db, clock.as_ref(), "ann@example.com").await;
    for n in 1..=5 {
        let result = attempt(&db, &clock, "ann@example.com", "wrong", &format!("198.51.100.{n}")).await;
        assert!(matches!(result, Err(SignInError::InvalidCredentials)), "checked attempt {n}: {result:?}");
    }
    // The allowance is used: during the wait even the right password is not checked.
    assert_eq!(
        throttled_for(attempt(&db, &clock, "ann@example.com", PASSWORD, "198.51.100.6").await),
        Duration::seconds(2)
    );

    clock.advance(Duration::seconds(2));
    let _ = attempt(&db, &clock, "ann@example.com", "wrong", "198.51.100.8").await;
    assert_eq!(
        throttled_for(attempt(&db, &clock, "ann@example.com", PASSWORD, "198.51.100.9").await),
        Duration::seconds(4)
    );

    clock.advance(Duration::seconds(4));
    attempt(&db, &clock, "ann@example.com", PASSWORD, "198.51.100.10").await.expect("the wait is over");
}

async fn parallel_guesses_check_at_most_the_allowance(db: DatabaseConnection) {
    let clock = clock();
    seed(&db, clock.as_ref(), "ann@example.com").await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(40));
    let guesses: Vec<_> = (0..40)
        .map(|n| {
            let (db, clock, barrier) = (db.clone(), clock.clone(), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                attempt(&db, &clock, "ann@example.com", "wrong", &format!("198.51.100.{n}")).await
            })
        })
        .collect();
    let (mut checked, mut throttled) = (0, 0);
    for guess in guesses {
        match guess.await.expect("task") {
            Err(SignInError::InvalidCredentials) => checked += 1,
            Err(SignInError::Throttled { .. }) => throttled += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    let allowance = ThrottlePolicy::default().free_failures_per_email;
    assert_eq!((checked, throttled), (allowance, 40 - allowance), "40 parallel guesses, {allowance} checked");
}

async fn sign_ups_from_one_address_are_limited_per_hour(db: DatabaseConnection) {
    use app::domain::throttle::admit_sign_up;
    let clock = clock();
    let policy = ThrottlePolicy { sign_ups_per_hour: 3, ..ThrottlePolicy::default() };
    let ip: IpAddr = "203.0.113.7".parse().expect("ip");
    for n in 0..3 {
        assert_eq!(admit_sign_up(&db, clock.as_ref(), &policy, ip).await.expect("admit"), None, "sign-up {n}");
    }
    clock.advance(Duration::minutes(20));
    let wait = admit_sign_up(&db, clock.as_ref(), &policy, ip).await.expect("admit");
    assert_eq!(wait, Some(Duration::minutes(40)), "the hour started with the first sign-up");
    let other: IpAddr = "203.0.113.8".parse().expect("ip");
    assert_eq!(admit_sign_up(&db, clock.as_ref(), &policy, other).await.expect("admit"), None, "another address");
    clock.advance(Duration::minutes(40));
    assert_eq!(admit_sign_up(&db, clock.as_ref(), &policy, ip).await.expect("admit"), None, "a new hour");
}

async fn no_wait_lasts_longer_than_the_ceiling(db: DatabaseConnection) {
    let clock = clock();
    seed(&db, clock.as_ref(), "ann@example.com").await;
    let policy = ThrottlePolicy::default();
    // Thirty failures, each after the previous wait ran out, so every one of them was checked.
    for n in 0..30 {
        clock.advance(policy.max_delay);
        let result = attempt(&db, &clock, "ann@example.com", "wrong", &format!("192.0.2.{n}")).await;
        assert!(matches!(result, Err(SignInError::InvalidCredentials)), "failure {n}: {result:?}");
    }
    let wait = throttled_for(attempt(&db, &clock, "ann@example.com", PASSWORD, "192.0.2.200").await);
    assert_eq!(wait, policy.max_delay);
    clock.advance(policy.max_delay);
    attempt(&db, &clock, "ann@example.com", PASSWORD, "192.0.2.201").await.expect("never locked for good");
}

async fn one_client_failing_across_many_emails_is_throttled(db: DatabaseConnection) {
    let clock = clock();
    seed(&db, clock.as_ref(), "ann@example.com").await;
    let policy = ThrottlePolicy::default();
    for n in 0..=policy.free_failures_per_ip {
        let _ = attempt(&db, &clock, &format!("guess{n}@example.com"), "wrong", "203.0.113.99").await;
    }
    let wait = throttled_for(attempt(&db, &clock, "ann@example.com", PASSWORD, "203.0.113.99").await);
    assert!(wait > Duration::zero());
    // Another client is unaffected.
    attempt(&db, &clock, "ann@example.com", PASSWORD, "203.0.113.100").await.expect("other client signs in");
}

async fn a_successful_sign_in_clears_the_email_counter(db: DatabaseConnection) {
    let clock = clock();
    seed(&db, clock.as_ref(), "ann@example.com").await;
    for n in 0..4 {
        let _ = attempt(&db, &clock, "ann@example.com", "wrong", &format!("198.51.100.{n}")).await;
    }
    attempt(&db, &clock, "ann@example.com", PASSWORD, "198.51.100.50").await.expect("signed in");
    for n in 0..5 {
        let result = attempt(&db, &clock, "ann@example.com", "wrong", &format!("198.51.100.{}", 60 + n)).await;
        assert!(matches!(result, Err(SignInError::InvalidCredentials)), "counter restarted: {result:?}");
    }
}
