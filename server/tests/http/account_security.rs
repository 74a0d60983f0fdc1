//! Mail and account security through the router, with a real SMTP server: the reset link from the
//! delivered message, address verification, two-factor sign-in, the sessions list and new-browser notices.

use crate::support::{ORIGIN, PASSWORD, Reply, SmtpSink, TestApp, link_in, mailer};
use app::domain::accounts::security::AccountSecurity;
use app::domain::clock::Clock;
use app::domain::mail::sender::deliver_due;
use axum::http::StatusCode;
use chrono::Duration;

async fn deliver(app: &TestApp, sink: &SmtpSink) {
    let round = deliver_due(&app.db, app.clock.now(), &mailer(sink)).await.expect("outbox");
    assert_eq!(round.retrying + round.failed, 0, "{round:?}");
}

fn subjects(sink: &SmtpSink, to: &str) -> Vec<String> {
    sink.to(to).iter().map(|m| m["subject"].as_str().unwrap_or_default().to_owned()).collect()
}

fn answer(reply: &Reply) -> String {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    serde_json::from_str(&reply.body).expect("a JSON string")
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_delivered_mail_once() {
    let app = TestApp::new().await;
    let sink = SmtpSink::start();
    let old_session = app.signed_up("ann@example.com").await;

    let known = app.post_form("/api/password_reset/request", &[("email", "Ann@Example.com")], None).await;
    let unknown = app.post_form("/api/password_reset/request", &[("email", "nobody@example.com")], None).await;
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body), "the same answer either way");
    deliver(&app, &sink).await;
    assert!(sink.to("nobody@example.com").is_empty());
    let reset = sink
        .to("ann@example.com")
        .into_iter()
        .find(|m| m["subject"] == "Reset your Latchkey password")
        .expect("reset mail");
    assert!(reset["html"].as_str().is_some_and(|html| html.contains("Choose a new password")), "HTML part");
    let link = link_in(reset["text"].as_str().expect("text"), &format!("{ORIGIN}/reset-password/"));
    let path = link.trim_start_matches(ORIGIN);
    let page = app.get(path, None).await;
    assert!(page.status == StatusCode::OK && page.body.contains("Set new password"), "{}", page.body);

    let secret = path.trim_start_matches("/reset-password/");
    let fields = [("secret", secret), ("new_password", "a fresh passphrase for ann")];
    assert_eq!(app.post_form("/api/password_reset/complete", &fields, None).await.status, StatusCode::OK);
    assert!(app.whoami(&old_session).await.is_null(), "resetting signs out every session");
    let again = app
        .post_form(
            "/api/password_reset/complete",
            &[("secret", secret), ("new_password", "yet another passphrase")],
            None,
        )
        .await;
    assert_eq!(again.status, StatusCode::CONFLICT, "a reset link works once: {}", again.body);
    assert!(app.get(path, None).await.body.contains("expired or has already been used"));
    assert_eq!(app.sign_in("ann@example.com", PASSWORD, None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.sign_in("ann@example.com", "a fresh passphrase for ann", None).await.status, StatusCode::OK);

    deliver(&app, &sink).await;
    assert!(subjects(&sink, "ann@example.com").contains(&"Your Latchkey password was reset".to_owned()));
}

#[tokio::test]
async fn unverified_addresses_may_be_kept_from_creating_keys_until_the_mailed_link_is_opened() {
    let app = TestApp::new()
        .await
        .with_security(AccountSecurity { unverified_may_create_keys: false, ..AccountSecurity::default() });
    let sink = SmtpSink::start();
    let cookie = app.signed_up("ann@example.com").await;
    let me = app.whoami(&cookie).await;
    assert_eq!((me["email_verified"].as_bool(), me["has_password"].as_bool()), (Some(false), Some(true)));
    let page = app.get("/settings", Some(&cookie)).await;
    assert!(page.body.contains("Verify your email address"), "the banner says so");
    let org = app.org(&cookie).await;
    let create = [("org", org.as_str()), ("name", "ci"), ("expiry", "never"), ("scopes[0]", "orders:read")];
    let refused = app.post_form("/api/keys/create", &create, Some(&cookie)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("Verify your email address"));

    // "Send again" in the banner is a plain form: it comes back to the page it was on, which says so.
    let back = [("back", "/o/x/keys?q=ci")];
    let sent = app.post_plain_form("/api/email/resend", &back, &cookie, "/o/x/keys?q=ci").await;
    assert_eq!(sent.header("location"), Some("/o/x/keys?q=ci&verification=sent"), "{}", sent.body);
    let page = app.get("/settings?done=notices&verification=sent", Some(&cookie)).await;
    assert!(page.body.contains("Sent: check your inbox."), "{}", page.body);
    assert!(page.body.contains(r#"name="back" value="/settings""#), "back without what posts added: {}", page.body);
    let elsewhere = [("back", "https://evil.example/")];
    let sent = app.post_plain_form("/api/email/resend", &elsewhere, &cookie, "/settings").await;
    assert_eq!(sent.header("location"), Some("/?verification=sent"), "only paths of this site: {}", sent.body);
    deliver(&app, &sink).await;
    let mails = sink.to("ann@example.com");
    assert_eq!(mails.len(), 3, "the sign-up's message and the two sent again");
    let link = link_in(mails[0]["text"].as_str().expect("text"), &format!("{ORIGIN}/verify-email/"));
    // A mail scanner or chat preview fetches the link: that spends nothing, the page offers a button.
    let path = link.trim_start_matches(ORIGIN);
    for _ in 0..2 {
        let page = app.get(path, None).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("Verify my address"), "{}", page.body);
    }
    assert_eq!(app.whoami(&cookie).await["email_verified"], false, "a GET verifies nothing");
    let secret = path.trim_start_matches("/verify-email/");
    let verified = app.post_plain_form("/api/email/verify", &[("secret", secret)], &cookie, path).await;
    let back = verified.header("location").expect("back to the page").to_owned();
    assert_eq!(back, "/verify-email/used?done=verified#verify-title");
    let page = app.get(back.split('#').next().expect("path"), None).await;
    assert!(page.body.contains("your email address is verified"), "{}", page.body);
    assert_eq!(app.whoami(&cookie).await["email_verified"], true);
    let spent = app.get(path, None).await;
    assert!(spent.body.contains("expired or has already been used"), "once only: {}", spent.body);
    assert_eq!(app.post_form("/api/keys/create", &create, Some(&cookie)).await.status, StatusCode::OK);
}

fn code(secret: &str, at: chrono::DateTime<chrono::Utc>) -> String {
    let bytes = totp_rs::Secret::try_from_base32(secret).expect("base32");
    let totp = totp_rs::Builder::new().with_secret(bytes.as_ref().to_vec()).build().expect("totp");
    totp.generate(u64::try_from(at.timestamp()).expect("time")).to_string()
}

/// Turns two-factor sign-in on for the cookie's account; answers the secret and the recovery codes.
async fn enrol(app: &TestApp, cookie: &str) -> (String, Vec<String>) {
    let began = app.post_form("/api/security/two_factor/begin", &[], Some(cookie)).await;
    assert_eq!(began.status, StatusCode::OK, "{}", began.body);
    assert_eq!(began.header("cache-control"), Some("no-store"));
    let secret = began.json()["secret"].as_str().expect("secret").to_owned();
    assert!(began.json()["qr_svg"].as_str().is_some_and(|svg| svg.contains("<svg")));
    let confirmed = app
        .post_form("/api/security/two_factor/confirm", &[("code", &code(&secret, app.clock.now()))], Some(cookie))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes =
        confirmed.json().as_array().expect("codes").iter().map(|c| c.as_str().expect("code").to_owned()).collect();
    (secret, codes)
}

#[tokio::test]
async fn two_factor_sign_in_asks_for_a_code_after_the_password_and_takes_each_code_once() {
    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    let (secret, recovery) = enrol(&app, &cookie).await;
    assert_eq!(recovery.len(), 10);

    let first = app.sign_in("ann@example.com", PASSWORD, None).await;
    assert_eq!(answer(&first), "/sign-in/two-factor?next=/");
    let pending = first.session_cookie().expect("a session awaiting the code");
    assert!(app.whoami(&pending).await.is_null(), "not signed in on the password alone");
    let wrong = app.post_form("/api/sign_in/second_factor", &[("code", "000001"), ("next", "/")], Some(&pending)).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    app.clock.advance(Duration::seconds(30));
    let right = code(&secret, app.clock.now());
    let done = app.post_form("/api/sign_in/second_factor", &[("code", &right), ("next", "/")], Some(&pending)).await;
    assert_eq!(answer(&done), "/");
    let signed_in = done.session_cookie().expect("a new session id");
    assert_eq!(app.whoami(&signed_in).await["email"], "ann@example.com");

    // The same code again, on another sign-in: refused. A recovery code works, once.
    let second = app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("pending");
    let replay = app.post_form("/api/sign_in/second_factor", &[("code", &right), ("next", "/")], Some(&second)).await;
    assert_eq!(replay.status, StatusCode::UNPROCESSABLE_ENTITY, "no replay: {}", replay.body);
    let with_recovery =
        app.post_form("/api/sign_in/second_factor", &[("code", &recovery[0]), ("next", "/")], Some(&second)).await;
    assert_eq!(with_recovery.status, StatusCode::OK, "{}", with_recovery.body);
    let third = app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("pending");
    let reused =
        app.post_form("/api/sign_in/second_factor", &[("code", &recovery[0]), ("next", "/")], Some(&third)).await;
    assert_eq!(reused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.get_json("/api/security/two_factor", &signed_in).await.json()["recovery_codes_left"], 9);
}

#[tokio::test]
async fn required_two_factor_keeps_password_accounts_in_settings_until_it_is_on() {
    let app =
        TestApp::new().await.with_security(AccountSecurity { require_two_factor: true, ..AccountSecurity::default() });
    let cookie = app.signed_up("ann@example.com").await;
    assert_eq!(app.whoami(&cookie).await["must_enrol_two_factor"], true);
    let org = app.org(&cookie).await;
    let list = app.get_json(&format!("/api/keys/list?org={org}"), &cookie).await;
    assert_eq!(list.status, StatusCode::FORBIDDEN, "{}", list.body);
    assert_eq!(answer(&app.sign_in("ann@example.com", PASSWORD, None).await), "/settings#two-factor");
    enrol(&app, &cookie).await;
    assert_eq!(app.get_json(&format!("/api/keys/list?org={org}"), &cookie).await.status, StatusCode::OK);
    let off = app
        .post_form("/api/security/two_factor/disable", &[("password", PASSWORD), ("code", "123456")], Some(&cookie))
        .await;
    assert_eq!(off.status, StatusCode::FORBIDDEN, "required means it stays on");
}

#[tokio::test]
async fn a_person_sees_their_sessions_and_signs_out_another_one() {
    let app = TestApp::new().await;
    let laptop = app.signed_up("ann@example.com").await;
    let phone = app.sign_in("ann@example.com", PASSWORD, None).await.session_cookie().expect("second session");
    let list = app.get_json("/api/security/sessions", &laptop).await.json();
    let sessions = list.as_array().expect("list");
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions[0]["current"], true, "this session first");
    assert_eq!(sessions[1]["ip"], "203.0.113.7");
    let other = sessions[1]["reference"].as_str().expect("reference");
    let own = sessions[0]["reference"].as_str().expect("reference");
    assert_eq!(
        app.post_form("/api/security/sessions/end", &[("reference", own)], Some(&laptop)).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post_form("/api/security/sessions/end", &[("reference", other)], Some(&laptop)).await.status,
        StatusCode::OK
    );
    assert!(app.whoami(&phone).await.is_null(), "the other browser is signed out");
    assert_eq!(app.whoami(&laptop).await["email"], "ann@example.com");
    let unknown = app.post_form("/api/security/sessions/end", &[("reference", other)], Some(&laptop)).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_sign_in_from_a_new_browser_is_told_about_and_one_from_a_known_browser_is_not() {
    let app = TestApp::new().await;
    let sink = SmtpSink::start();
    let signed_up = app.sign_up("ann@example.com", PASSWORD).await;
    let browser = signed_up.cookie_named("latchkey_browser").expect("browser cookie");
    assert!(browser.contains("HttpOnly") && browser.contains("SameSite=Lax"), "{browser}");
    let browser = browser.split(';').next().expect("pair").to_owned();
    assert_eq!(app.sign_in("ann@example.com", PASSWORD, Some(&browser)).await.status, StatusCode::OK);
    deliver(&app, &sink).await;
    assert!(!subjects(&sink, "ann@example.com").iter().any(|s| s.starts_with("New sign-in")), "known browser");
    assert_eq!(app.sign_in("ann@example.com", PASSWORD, None).await.status, StatusCode::OK);
    deliver(&app, &sink).await;
    let notice =
        sink.to("ann@example.com").into_iter().find(|m| m["subject"] == "New sign-in to Latchkey").expect("notice");
    assert!(notice["text"].as_str().is_some_and(|t| t.contains("203.0.113.7") && t.contains("cannot be turned off")));
}
