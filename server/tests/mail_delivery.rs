//! Mail from real `latchkey serve` processes through a real SMTP server (aiosmtpd): a message queued while
//! the server is down arrives once it is back, a message queued just before a `kill -9` arrives after the
//! restart, each exactly once; and with two instances on one PostgreSQL database checking for expiring
//! keys every second, the reminder goes once. The transcript prints with `--no-capture`.

mod process;
#[path = "smtp_sink/mod.rs"]
mod smtp_sink;

use process::{Deployment, json_of, request, terminate, with_postgres_database};
use serde_json::json;
use smtp_sink::SmtpSink;
use std::process::Child;
use std::time::{Duration, Instant};

fn env_for(sink: &SmtpSink) -> Vec<(&'static str, String)> {
    vec![
        ("LATCHKEY_SMTP_URL", sink.url()),
        ("LATCHKEY_MAIL_FROM", "Latchkey <keys@example.com>".to_owned()),
        ("LATCHKEY_NOTICE_CHECK_INTERVAL", "1s".to_owned()),
    ]
}

fn start(deployment: &Deployment, log: &std::path::Path, sink: &SmtpSink) -> (Child, std::net::SocketAddr) {
    let env = env_for(sink);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (child, addr) = deployment.spawn(log, &env);
    process::wait_until_up(addr);
    (child, addr)
}

/// Waits up to `limit` for `count` messages with `subject` to `to`; answers how many there are then.
fn wait_for(sink: &SmtpSink, to: &str, subject: &str, count: usize, limit: Duration) -> usize {
    let deadline = Instant::now() + limit;
    loop {
        let found = sink.to(to).iter().filter(|m| m["subject"] == subject).count();
        if found >= count || Instant::now() > deadline {
            return found;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn create_key(addr: std::net::SocketAddr, token: &str, name: &str) -> String {
    let body = json!({"account": "customer@example.com", "name": name, "scopes": ["orders:read"]});
    json_of(request(addr, "POST", "/v1/keys", Some(token), Some(&body)), 201)["id"].as_str().expect("id").to_owned()
}

#[test]
fn a_message_waits_out_an_smtp_outage_and_a_kill_and_arrives_once() {
    let mut deployment = Deployment::new(String::new());
    deployment.database_url = format!("sqlite://{}?mode=rwc", deployment.dir.join("latchkey.db").display());
    let log = deployment.dir.join("server.log");
    deployment.run(&["migrate"]);
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.gateway_token();
    let mut sink = SmtpSink::start();
    sink.pause();
    let (server, addr) = start(&deployment, &log, &sink);

    create_key(addr, &token, "during the outage");
    let subject = "New API key \"during the outage\" in customer@example.com";
    std::thread::sleep(Duration::from_secs(4));
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("mail not sent; will retry"), "the outage is noticed and retried:\n{logged}");
    sink.resume();
    // The first retry comes 15 s after the failed attempt.
    assert_eq!(
        wait_for(&sink, "customer@example.com", subject, 1, Duration::from_secs(40)),
        1,
        "arrives when the server is back"
    );

    // Queued, then the process is killed before its sender's next round: the message is in the database.
    sink.pause();
    create_key(addr, &token, "before the kill");
    let mut server = server;
    server.kill().expect("kill -9");
    let _ = server.wait();
    sink.resume();
    let (restarted, _) = start(&deployment, &log, &sink);
    let subject_after = "New API key \"before the kill\" in customer@example.com";
    assert_eq!(
        wait_for(&sink, "customer@example.com", subject_after, 1, Duration::from_secs(150)),
        1,
        "sent after the restart"
    );
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(sink.to("customer@example.com").iter().filter(|m| m["subject"] == subject).count(), 1, "once");
    assert_eq!(sink.to("customer@example.com").iter().filter(|m| m["subject"] == subject_after).count(), 1, "once");
    let message = &sink.to("customer@example.com")[0];
    assert!(message["html"].as_str().is_some_and(|html| html.contains("<h1")), "an HTML part");
    assert!(message["text"].as_str().is_some_and(|text| text.contains("You receive this because")), "a reason");
    terminate(restarted);
}

// The transcript is the point of printing: it is what `--no-capture` shows.
#[allow(clippy::print_stderr)]
fn a_reminder_goes_once_from_two_instances(database_url: String) {
    let deployment = Deployment::new(database_url.clone());
    deployment.run(&["migrate"]);
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.gateway_token();
    let sink = SmtpSink::start();
    let (log_a, log_b) = (deployment.dir.join("a.log"), deployment.dir.join("b.log"));
    let (a, addr_a) = start(&deployment, &log_a, &sink);
    let (b, _) = start(&deployment, &log_b, &sink);
    let expires = (chrono::Utc::now() + chrono::Duration::days(6)).to_rfc3339();
    let body =
        json!({"account": "customer@example.com", "name": "nightly", "scopes": ["orders:read"], "expires_at": expires});
    let created = json_of(request(addr_a, "POST", "/v1/keys", Some(&token), Some(&body)), 201);
    let id = created["id"].as_str().expect("id");
    // The key has lived 30 days already: due its 7-day reminder (a key made to last 6 days gets none).
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        use sea_orm::ConnectionTrait;
        let db = app::domain::database::connect(&database_url, &app::domain::database::PoolSettings::default())
            .await
            .expect("db");
        db.execute_unprepared(&format!(
            "UPDATE api_keys SET created_at = created_at - INTERVAL '30 days' WHERE id = '{id}'"
        ))
        .await
        .expect("backdate");
    });
    let subject = "API key \"nightly\" expires in 7 days";
    assert_eq!(wait_for(&sink, "customer@example.com", subject, 1, Duration::from_secs(20)), 1);
    // Both instances look every second; give them several more rounds.
    std::thread::sleep(Duration::from_secs(5));
    let reminders: Vec<_> = sink.to("customer@example.com").into_iter().filter(|m| m["subject"] == subject).collect();
    assert_eq!(reminders.len(), 1, "one reminder from two instances");
    terminate(a);
    terminate(b);
    let queued_lines = |log: &std::path::Path| {
        std::fs::read_to_string(log)
            .expect("log")
            .lines()
            .filter(|l| l.contains("key expiry") || l.contains("mail sent"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let (lines_a, lines_b) = (queued_lines(&log_a), queued_lines(&log_b));
    let queued = |lines: &[String]| lines.iter().filter(|l| l.contains("queued")).count();
    assert_eq!(
        queued(&lines_a) + queued(&lines_b),
        1,
        "exactly one instance queued it:\nA {lines_a:#?}\nB {lines_b:#?}"
    );
    let summary = |lines: &[String]| {
        let checks = lines.iter().filter(|l| l.contains("nothing new")).count();
        let events: Vec<&str> = lines.iter().filter(|l| !l.contains("nothing new")).map(String::as_str).collect();
        format!(
            "{checks} checks that found nothing new; {}",
            if events.is_empty() { "nothing else".to_owned() } else { format!("and\n    {}", events.join("\n    ")) }
        )
    };
    eprintln!("instance A: {}\ninstance B: {}", summary(&lines_a), summary(&lines_b));
    eprintln!(
        "delivered to customer@example.com: {} x {:?} ({})",
        reminders.len(),
        reminders[0]["subject"],
        reminders[0]["message_id"]
    );
}

#[test]
fn a_reminder_goes_once_from_two_instances_on_postgres() {
    with_postgres_database(a_reminder_goes_once_from_two_instances);
}
