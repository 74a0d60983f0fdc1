//! Webhooks from real `latchkey serve` processes to a real receiver (`end2end/support/webhook_receiver.py`),
//! every delivery checked with the Standard Webhooks reference library (PyPI `standardwebhooks`), not ours:
//! a GitHub-format leak report signed with a P-256 key made here revokes a key, and its `key.leaked` and
//! `key.revoked` events arrive signed, the first attempt refused and the retry carrying the same
//! `webhook-id`; and an event queued while the receiver is down, with the server killed (`kill -9`) before
//! it could deliver, arrives after the restart. The transcript prints with `--no-capture`.

mod process;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{EncodePublicKey, LineEnding};
use process::{Deployment, exchange, json_of, python, request, terminate};
use serde_json::{Value, json};
use std::process::Child;
use std::time::{Duration, Instant};

/// The webhook receiver, on a loopback port; stopped when dropped.
struct Receiver {
    port: u16,
    dir: std::path::PathBuf,
    child: Option<Child>,
}

fn script() -> std::path::PathBuf {
    process::support_script("webhook_receiver.py")
}

impl Receiver {
    fn new() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port").port();
        let dir = std::env::temp_dir().join(format!("lk-hooks-{}", uuid::Uuid::now_v7().simple()));
        Self { port, dir, child: None }
    }

    fn start(&mut self) {
        use std::io::BufRead;
        let mut child = std::process::Command::new(python())
            .arg(script())
            .args(["serve", "--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the receiver");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready");
        assert_eq!(line.trim(), "ready");
        self.child = Some(child);
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Every delivery so far, checked with `standardwebhooks` and `secret`.
    fn verified(&self, secret: &str) -> Vec<Value> {
        if !self.dir.exists() {
            return Vec::new();
        }
        let output = std::process::Command::new(python())
            .arg(script())
            .args(["verify", "--secret", secret, "--dir"])
            .arg(&self.dir)
            .output()
            .expect("verify");
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).lines().map(|line| serde_json::from_str(line).expect("json")).collect()
    }

    fn wait_for(&self, secret: &str, done: impl Fn(&[Value]) -> bool, limit: Duration) -> Vec<Value> {
        let deadline = Instant::now() + limit;
        loop {
            let seen = self.verified(secret);
            if done(&seen) || Instant::now() > deadline {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Registers the operator's endpoint with the CLI; answers (id, secret).
fn add_endpoint(deployment: &Deployment, url: &str, events: &[&str]) -> (String, String) {
    let mut args = vec!["webhook", "add", "--url", url];
    for event in events {
        args.extend(["--event", event]);
    }
    let printed = deployment.run(&args);
    let mut lines = printed.lines();
    (lines.next().expect("id").to_owned(), lines.next().expect("secret").to_owned())
}

fn sqlite(deployment: &mut Deployment) {
    deployment.database_url = format!("sqlite://{}?mode=rwc", deployment.dir.join("latchkey.db").display());
}

#[allow(clippy::print_stderr)]
#[test]
fn a_signed_github_report_revokes_a_key_and_its_events_arrive_signed_and_retried_under_one_id() {
    let mut deployment = Deployment::new(String::new());
    sqlite(&mut deployment);
    deployment.run(&["migrate"]);
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.gateway_token();
    let mut receiver = Receiver::new();
    receiver.start();
    // The receiver refuses each event's first attempt (503), then takes it.
    let (_, secret) = add_endpoint(&deployment, &receiver.url("/hooks/fail-1"), &["key.leaked", "key.revoked"]);

    // GitHub's key, as the operator configures it: the public half of a P-256 key drawn here.
    let seed = app::domain::random::secret_bytes::<32>().expect("random");
    let github = SigningKey::from_slice(&seed).expect("key");
    let pem = github.verifying_key().to_public_key_pem(LineEnding::LF).expect("pem");
    let keys_file = deployment.dir.join("github-keys.json");
    let list = json!({ "public_keys": [{ "key_identifier": "e2e-key", "key": pem, "is_current": true }] });
    std::fs::write(&keys_file, list.to_string()).expect("write keys");
    let keys_path = keys_file.display().to_string();
    let env = [("LATCHKEY_GITHUB_KEYS_FILE", keys_path.as_str()), ("LATCHKEY_GITHUB_KEYS_FETCH", "false")];
    let log = deployment.dir.join("server.log");
    let (server, addr) = deployment.spawn(&log, &env);
    process::wait_until_up(addr);

    let body = json!({"account": "customer@example.com", "name": "deploy", "scopes": ["orders:read"]});
    let created = json_of(request(addr, "POST", "/v1/keys", Some(&token), Some(&body)), 201);
    let (id, key) = (created["id"].as_str().expect("id"), created["key"].as_str().expect("key"));

    let report = json!([{ "token": key, "type": "latchkey_api_key", "url": "https://github.com/acme/shop/blob/main/.env", "source": "content" }]).to_string();
    let signature: Signature = github.sign(report.as_bytes());
    let headers = format!(
        "Content-Type: application/json\r\nGithub-Public-Key-Identifier: e2e-key\r\nGithub-Public-Key-Signature: {}\r\n",
        STANDARD.encode(signature.to_der().as_bytes())
    );
    let answer = exchange(addr, "POST", "/v1/leaks/github", &headers, &report).expect("answered");
    eprintln!("POST /v1/leaks/github (signed with key e2e-key) -> {} {}", answer.status, answer.body);
    assert_eq!(answer.status, 200, "{}", answer.body);
    let labels: Value = serde_json::from_str(&answer.body).expect("json");
    assert_eq!(labels[0]["label"], "true_positive");

    let verified = json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": key}))), 200);
    eprintln!("POST /v1/keys/verify -> {}", verified);
    assert_eq!(verified["code"], "REVOKED");

    // Each event: refused once, delivered on the retry 5 s later, under the same webhook-id.
    let seen = receiver.wait_for(
        &secret,
        |seen| seen.iter().filter(|d| d["status"] == 200).count() >= 2,
        Duration::from_secs(60),
    );
    for delivery in &seen {
        eprintln!("receiver: {delivery}");
        assert_eq!(delivery["verified"], true, "standardwebhooks verifies every delivery: {delivery}");
    }
    let delivered: Vec<&Value> = seen.iter().filter(|d| d["status"] == 200).collect();
    let types: Vec<&str> = delivered.iter().filter_map(|d| d["type"].as_str()).collect();
    assert!(types.contains(&"key.leaked") && types.contains(&"key.revoked"), "{types:?}");
    for success in &delivered {
        let attempts: Vec<&Value> = seen.iter().filter(|d| d["id"] == success["id"]).collect();
        assert_eq!(attempts.len(), 2, "refused once, then taken: {attempts:?}");
        assert_eq!(attempts[0]["status"], 503);
    }
    let payload = std::fs::read_dir(&receiver.dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|entry| std::fs::read_to_string(entry.path()).expect("read"))
        .find(|text| text.contains("key.leaked"))
        .expect("a key.leaked delivery");
    let stored: Value = serde_json::from_str(&payload).expect("json");
    let event: Value = serde_json::from_str(stored["body"].as_str().expect("body")).expect("event");
    eprintln!("key.leaked body: {event}");
    assert_eq!(event["data"]["key"]["id"], id);
    assert_eq!(event["data"]["leak"]["url"], "https://github.com/acme/shop/blob/main/.env");
    assert_eq!(event["data"]["leak"]["revoked"], true);
    assert!(!payload.contains(key), "the key itself never goes out");
    terminate(server);
}

#[allow(clippy::print_stderr)]
#[test]
fn an_event_queued_while_the_receiver_is_down_arrives_after_a_kill_and_restart() {
    let mut deployment = Deployment::new(String::new());
    sqlite(&mut deployment);
    deployment.run(&["migrate"]);
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.gateway_token();
    let mut receiver = Receiver::new();
    let (_, secret) = add_endpoint(&deployment, &receiver.url("/hooks"), &[]);
    let log = deployment.dir.join("server.log");
    let (server, addr) = deployment.spawn(&log, &[]);
    process::wait_until_up(addr);

    let body = json!({"account": "customer@example.com", "name": "queued", "scopes": ["orders:read"]});
    json_of(request(addr, "POST", "/v1/keys", Some(&token), Some(&body)), 201);
    // The receiver is down: the first attempt fails, and the process dies before the retry.
    std::thread::sleep(Duration::from_millis(2500));
    let mut server = server;
    server.kill().expect("kill -9");
    let _ = server.wait();
    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("webhook not delivered; will retry"), "the failed attempt is recorded:\n{logged}");

    receiver.start();
    let (restarted, _) = deployment.spawn(&log, &[]);
    let seen =
        receiver.wait_for(&secret, |seen| seen.iter().any(|d| d["type"] == "key.created"), Duration::from_secs(60));
    eprintln!("after the restart the receiver got: {seen:?}");
    let created: Vec<&Value> = seen.iter().filter(|d| d["type"] == "key.created").collect();
    assert_eq!(created.len(), 1, "delivered once");
    assert_eq!(created[0]["verified"], true);
    terminate(restarted);
}
