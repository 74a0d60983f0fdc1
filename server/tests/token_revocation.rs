//! Access tokens die with their key, across instances, as a provider's service sees it through OAuth and JWT
//! libraries not written here: PyJWT verifies a token against the JWKS, Authlib introspects it (RFC 7662,
//! checked by Authlib's own resource-server validator) and revokes it (RFC 7009). On PostgreSQL with two
//! `latchkey serve` processes, B polling the change feed without notifications: a key revoked through A makes
//! its tokens inactive on B within two seconds, and B's revocation list names them; on SQLite with one. `--no-capture` prints the transcript.

mod process;

use process::{
    Deployment, exchange, json_of, python, request, support_script, terminate, wait_until_up, with_postgres_database,
};
use serde_json::{Value, json};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// The promise: a revocation reaches every instance within this long.
const PROMISE: Duration = Duration::from_secs(2);

/// Runs `end2end/support/oauth_client.py` with `args` and answers its JSON.
fn oauth_client(args: &[&str]) -> Value {
    let output = std::process::Command::new(python())
        .arg(support_script("oauth_client.py"))
        .args(args)
        .output()
        .expect("run oauth_client.py");
    assert!(output.status.success(), "oauth_client.py {:?}: {}", args.first(), String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("json")
}

/// A form-encoded POST with a bearer credential, as OAuth libraries send it.
fn form(addr: SocketAddr, path: &str, bearer: &str, body: &str) -> (u16, String) {
    let headers = format!("Authorization: Bearer {bearer}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    let reply = exchange(addr, "POST", path, &headers, body).expect("answered");
    (reply.status, reply.body)
}

fn introspected(addr: SocketAddr, service: &str, token: &str) -> Value {
    let (status, body) = form(addr, "/v1/tokens/introspect", service, &format!("token={token}"));
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("json")
}

/// Authlib's introspection of `token` at `addr`, validated by its `IntrospectTokenValidator`.
fn authlib_introspects(addr: SocketAddr, service: &str, token: &str) -> Value {
    let url = format!("http://{addr}/v1/tokens/introspect");
    oauth_client(&["introspect", "--url", &url, "--service-token", service, "--token", token, "--scope", "orders:read"])
}

#[allow(clippy::print_stderr)]
fn say(line: &str) {
    eprintln!("{line}");
}

fn revoked_list(addr: SocketAddr, service: &str, etag: Option<&str>) -> process::Reply {
    let mut headers = format!("Authorization: Bearer {service}\r\n");
    if let Some(etag) = etag {
        headers.push_str(&format!("If-None-Match: {etag}\r\n"));
    }
    exchange(addr, "GET", "/v1/tokens/revoked", &headers, "").expect("answered")
}

fn etag_of(reply: &process::Reply) -> String {
    reply
        .head
        .lines()
        .find_map(|line| line.strip_prefix("etag: ").or_else(|| line.strip_prefix("ETag: ")))
        .expect("an ETag")
        .trim()
        .to_owned()
}

/// The whole story, with A and B the instances (the same one on SQLite).
fn tokens_die_with_their_key(deployment: &Deployment, a: SocketAddr, b: SocketAddr) {
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let service = deployment.gateway_token();
    let body = json!({"account": "customer@example.com", "name": "checkout", "scopes": ["orders:read"]});
    let created = json_of(request(a, "POST", "/v1/keys", Some(&service), Some(&body)), 201);
    let (id, key) = (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned());
    let buy = || {
        let issued = json_of(request(a, "POST", "/v1/tokens", Some(&key), None), 200);
        issued["access_token"].as_str().expect("token").to_owned()
    };
    let (token, spare, doomed) = (buy(), buy(), buy());
    let jti = |token: &str| introspected(b, &service, token)["jti"].as_str().expect("jti").to_owned();
    let jtis = [jti(&token), jti(&spare), jti(&doomed)];
    say(&format!("$ POST {a}/v1/tokens (Bearer <key>) -> an access token of {} characters", token.len()));

    let first = authlib_introspects(b, &service, &token);
    say(&format!("$ authlib introspect on {b} -> {}", first["answer"]));
    assert_eq!((first["status"].as_i64(), first["accepted"].as_bool()), (Some(200), Some(true)), "{first}");
    let issuer = first["answer"]["iss"].as_str().expect("iss").to_owned();
    let jwks = format!("http://{b}/.well-known/jwks.json");
    let verified = oauth_client(&["verify", "--jwks", &jwks, "--issuer", &issuer, "--token", &token]);
    assert_eq!(verified["verified"], true, "{verified}");
    assert_eq!(verified["claims"]["jti"], first["answer"]["jti"], "PyJWT reads the claims introspection reports");

    // RFC 7009: the key revokes one of its tokens through A; B stops accepting that one, and only that one.
    let url = format!("http://{a}/v1/tokens/revoke");
    let revoked = oauth_client(&["revoke", "--url", &url, "--key", &key, "--token", &doomed]);
    assert_eq!(revoked["status"], 200, "{revoked}");
    let started = Instant::now();
    while introspected(b, &service, &doomed)["active"] == true {
        assert!(started.elapsed() < PROMISE, "the token's revocation did not reach B");
        std::thread::sleep(Duration::from_millis(5));
    }
    say(&format!("$ authlib revoke one token on {a} -> 200; inactive on {b} after {:?}", started.elapsed()));
    assert_eq!(introspected(b, &service, &spare)["active"], true, "the key's other tokens still work");

    // The key is revoked through A: B's introspection answers inactive within the promise.
    json_of(request(a, "POST", &format!("/v1/keys/{id}/revoke"), Some(&service), None), 200);
    let started = Instant::now();
    loop {
        let answer = introspected(b, &service, &token);
        if answer == json!({"active": false}) {
            break;
        }
        assert_eq!(answer["active"], true, "{answer}");
        assert!(started.elapsed() < PROMISE, "the key's revocation did not reach B's introspection");
        std::thread::sleep(Duration::from_millis(5));
    }
    let took = started.elapsed();
    say(&format!("$ POST {a}/v1/keys/{id}/revoke -> 200; introspection on {b} inactive after {took:?}"));
    let after = authlib_introspects(b, &service, &token);
    say(&format!("$ authlib introspect on {b} -> {} (validator: {})", after["answer"], after["refused_because"]));
    assert_eq!(after["answer"], json!({"active": false}));
    assert_eq!((after["accepted"].as_bool(), after["refused_because"].as_str()), (Some(false), Some("invalid_token")));
    assert_eq!(introspected(b, &service, &spare), json!({"active": false}), "every token of the key");
    let still = oauth_client(&["verify", "--jwks", &jwks, "--issuer", &issuer, "--token", &token]);
    assert_eq!(still["verified"], true, "a service on the JWKS alone accepts it until exp: hence the list");

    // The revocation list on B names all three; polling with the ETag costs a 304.
    let listed = revoked_list(b, &service, None);
    assert_eq!(listed.status, 200, "{}", listed.body);
    let body: Value = serde_json::from_str(&listed.body).expect("json");
    let listed_jtis: Vec<&str> =
        body["revoked"].as_array().expect("list").iter().filter_map(|entry| entry["jti"].as_str()).collect();
    for jti in &jtis {
        assert!(listed_jtis.contains(&jti.as_str()), "{jti} listed in {listed_jtis:?}");
    }
    let etag = etag_of(&listed);
    say(&format!("$ GET {b}/v1/tokens/revoked -> 200, ETag {etag}, {}", listed.body));
    let unchanged = revoked_list(b, &service, Some(&etag));
    say(&format!(
        "$ GET {b}/v1/tokens/revoked (If-None-Match: {etag}) -> {} with {} bytes",
        unchanged.status,
        unchanged.body.len()
    ));
    assert_eq!((unchanged.status, unchanged.body.as_str()), (304, ""));
}

#[test]
fn a_revoked_keys_tokens_are_inactive_on_every_instance_within_two_seconds() {
    with_postgres_database(|database_url| {
        let deployment = Deployment::new(database_url);
        let (a_log, b_log) = (deployment.dir.join("a.log"), deployment.dir.join("b.log"));
        // One deployment, one issuer: instances behind one address share LATCHKEY_PUBLIC_URL.
        let public = [("LATCHKEY_PUBLIC_URL", "https://keys.example.com")];
        let (a, a_addr) = deployment.spawn(&a_log, &public);
        // B does not listen for notifications (as behind a pooler that drops them): the 1 s poll alone.
        let (b, b_addr) = deployment.spawn(&b_log, &[public[0], ("LATCHKEY_DATABASE_LISTEN", "false")]);
        wait_until_up(a_addr);
        wait_until_up(b_addr);
        tokens_die_with_their_key(&deployment, a_addr, b_addr);
        terminate(a);
        terminate(b);
    });
}

#[test]
fn tokens_die_with_their_key_on_sqlite() {
    let mut deployment = Deployment::new(String::new());
    deployment.database_url = format!("sqlite://{}?mode=rwc", deployment.dir.join("latchkey.db").display());
    let (server, addr) = deployment.serve(&deployment.dir.join("serve.log"));
    tokens_die_with_their_key(&deployment, addr, addr);
    terminate(server);
}
