//! The real `latchkey` process: usage counted in memory survives SIGTERM, and neither a key nor a service
//! token ever reaches its log. On SQLite and PostgreSQL.

mod process;

use process::{Deployment, json_of, request, terminate, with_postgres_database, with_sqlite_database};
use serde_json::json;

fn usage_survives_sigterm_and_secrets_stay_out_of_the_log(database_url: String) {
    let deployment = Deployment::new(database_url);
    let log = deployment.dir.join("server.log");
    deployment.run(&["migrate"]);
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.gateway_token();

    let (server, addr) = deployment.serve(&log);
    let created = json_of(
        request(
            addr,
            "POST",
            "/v1/keys",
            Some(&token),
            Some(&json!({"account": "customer@example.com", "name": "ci", "scopes": ["orders:read"]})),
        ),
        201,
    );
    let key = created["key"].as_str().expect("key").to_owned();
    let id = created["id"].as_str().expect("id").to_owned();
    const N: u64 = 137;
    for n in 0..N {
        let scopes = if n % 10 == 0 { json!(["orders:write"]) } else { json!(["orders:read"]) };
        let answer = json_of(
            request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": key, "scopes": scopes}))),
            200,
        );
        assert!(answer["code"] == "VALID" || answer["code"] == "INSUFFICIENT_SCOPES", "{answer}");
    }
    // Well within a flush interval of the last verification: the count must come from the shutdown flush.
    terminate(server);

    let (server, addr) = deployment.serve(&log);
    let usage = json_of(request(addr, "GET", &format!("/v1/keys/{id}/usage"), Some(&token), None), 200);
    let counted: u64 = usage["buckets"]
        .as_array()
        .expect("buckets")
        .iter()
        .flat_map(|bucket| bucket["counts"].as_object().cloned().unwrap_or_default().into_values())
        .filter_map(|count| count.as_u64())
        .sum();
    assert_eq!(counted, N, "every verification before SIGTERM is counted: {usage}");
    terminate(server);

    let logged = std::fs::read_to_string(&log).expect("log");
    assert!(logged.contains("usage counts written at shutdown"), "{logged}");
    assert!(!logged.contains(&key), "the key is in the server log");
    assert!(!logged.contains(&key[3..20]), "part of the key is in the server log");
    assert!(!logged.contains(&token), "the service token is in the server log");
}

#[test]
fn usage_survives_sigterm_and_secrets_stay_out_of_the_log_on_sqlite() {
    with_sqlite_database(usage_survives_sigterm_and_secrets_stay_out_of_the_log);
}

#[test]
fn usage_survives_sigterm_and_secrets_stay_out_of_the_log_on_postgres() {
    with_postgres_database(usage_survives_sigterm_and_secrets_stay_out_of_the_log);
}
