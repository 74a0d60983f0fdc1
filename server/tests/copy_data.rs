//! Moving a SQLite deployment to PostgreSQL with `latchkey copy-data`: afterwards the same keys verify
//! with the same service token, usage and activity are all there, the JWKS publishes the same signing keys,
//! and a second copy is refused.

mod process;

use process::{Deployment, json_of, request, terminate, with_postgres_database};
use serde_json::{Value, json};

fn a_sqlite_deployment_moves_to_postgres(postgres_url: String) {
    let mut sqlite = Deployment::new(String::new());
    sqlite.database_url = format!("sqlite://{}?mode=rwc", sqlite.dir.join("latchkey.db").display());
    let log = sqlite.dir.join("server.log");
    sqlite.run(&["migrate"]);
    sqlite.run(&["account", "create", "--email", "customer@example.com"]);
    let token = sqlite.gateway_token();
    let (server, addr) = sqlite.serve(&log);
    let body = json!({"account": "customer@example.com", "name": "checkout", "scopes": ["orders:read"]});
    let created = json_of(request(addr, "POST", "/v1/keys", Some(&token), Some(&body)), 201);
    sqlite.run(&["organisation", "create", "--name", "Acme Ltd", "--external-id", "cus_4711"]);
    let acme = json!({"organisation": "cus_4711", "name": "acme backend", "scopes": ["orders:read"]});
    let acme_key = json_of(request(addr, "POST", "/v1/keys", Some(&token), Some(&acme)), 201)["key"]
        .as_str()
        .expect("key")
        .to_owned();
    let (id, key) = (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned());
    for _ in 0..9 {
        let answer = json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": key}))), 200);
        assert_eq!(answer["code"], "VALID");
    }
    let jwks_before = json_of(request(addr, "GET", "/.well-known/jwks.json", None, None), 200);
    terminate(server);

    let copied = sqlite.run(&["copy-data", "--from", &sqlite.database_url, "--to", &postgres_url]);
    assert!(copied.contains("accounts         1"), "{copied}");
    assert!(copied.contains("organisations    2"), "{copied}");
    assert!(copied.contains("memberships      1"), "{copied}");
    assert!(copied.contains("operator_events  1"), "the CLI's creation is in the audit log: {copied}");
    assert!(copied.contains("api_keys         2"), "{copied}");
    assert!(copied.contains("service_tokens   1"), "{copied}");
    assert!(copied.contains("signing_keys     2"), "the current and next signing keys: {copied}");

    let postgres = Deployment::new(postgres_url.clone());
    let (server, addr) = postgres.serve(&postgres.dir.join("server.log"));
    let usage = json_of(request(addr, "GET", &format!("/v1/keys/{id}/usage"), Some(&token), None), 200);
    let answer = json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": key}))), 200);
    assert_eq!(answer["code"], "VALID", "the same key, checked with the same token, on PostgreSQL");
    let acme_answer =
        json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": acme_key}))), 200);
    assert_eq!(acme_answer["organisation"]["external_id"], "cus_4711", "{acme_answer}");

    // Disabling from the command line reaches the running server through the change feed.
    postgres.run(&["organisation", "disable", "cus_4711"]);
    let started = std::time::Instant::now();
    let code = loop {
        let answer =
            json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": acme_key}))), 200);
        if answer["code"] == "DISABLED" || started.elapsed() > std::time::Duration::from_secs(10) {
            break answer["code"].clone();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert_eq!(code, "DISABLED", "the running server saw the disable");
    let jwks_after = json_of(request(addr, "GET", "/.well-known/jwks.json", None, None), 200);
    assert_eq!(jwks_after, jwks_before, "tokens signed before the move verify against the new JWKS");
    terminate(server);
    let counted: u64 = usage["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .flat_map(|bucket| bucket["counts"].as_object().cloned().unwrap_or_default().into_values())
        .filter_map(|count| Value::as_u64(&count))
        .sum();
    assert_eq!(counted, 9, "the usage counted on SQLite came along: {usage}");

    let again =
        sqlite.command(&["copy-data", "--from", &sqlite.database_url, "--to", &postgres_url]).output().expect("run");
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("already holds 1 accounts and 2 keys"), "{said}");

    let bad = sqlite.command(&["copy-data", "--from", "mysql://nope"]).output().expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a sqlite: nor a postgres:// URL"));
}

#[test]
fn a_sqlite_deployment_moves_to_postgres_with_copy_data() {
    with_postgres_database(a_sqlite_deployment_moves_to_postgres);
}
