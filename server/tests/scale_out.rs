//! Several `latchkey serve` processes behind one PostgreSQL database act as one deployment: they start
//! at the same moment without tripping over the migrations, a revocation through one reaches the other
//! within two seconds (with the listener, after its connection was killed, and with polling alone),
//! usage from both adds up exactly, sessions and sign-in throttling are shared, and with Redis so are rate
//! limits. Both publish one set of JWT signing keys and follow a rotation. The propagation times are printed (`--no-capture` shows them).

mod process;

use process::{Deployment, exchange, json_of, request, terminate, wait_until_up, with_postgres_database};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};
use std::io::Write;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The promise: a revocation reaches every instance within this long.
const PROMISE: Duration = Duration::from_secs(2);
const REVOCATIONS: usize = 20;
const PASSWORD: &str = "correct horse battery staple";

struct Api<'a> {
    token: &'a str,
}

impl Api<'_> {
    fn create_key(&self, addr: SocketAddr, name: &str, extra: Value) -> (String, String) {
        let mut body = json!({"account": "customer@example.com", "name": name, "scopes": ["orders:read"]});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let created = json_of(request(addr, "POST", "/v1/keys", Some(self.token), Some(&body)), 201);
        (created["id"].as_str().expect("id").to_owned(), created["key"].as_str().expect("key").to_owned())
    }

    fn verify(&self, addr: SocketAddr, key: &str) -> String {
        let answer =
            json_of(request(addr, "POST", "/v1/keys/verify", Some(self.token), Some(&json!({"key": key}))), 200);
        answer["code"].as_str().expect("code").to_owned()
    }

    fn revoke(&self, addr: SocketAddr, id: &str) {
        json_of(request(addr, "POST", &format!("/v1/keys/{id}/revoke"), Some(self.token), None), 200);
    }

    /// Creates a key through `from`, has `to` cache it, revokes it through `from` after `delay`, and
    /// answers how long `to` went on answering VALID after the revocation returned.
    fn propagation(&self, from: SocketAddr, to: SocketAddr, n: usize, delay: Duration) -> Duration {
        let (id, key) = self.create_key(from, &format!("propagation {n}"), json!({}));
        assert_eq!(self.verify(to, &key), "VALID");
        assert_eq!(self.verify(to, &key), "VALID", "answered from the cache");
        std::thread::sleep(delay);
        self.revoke(from, &id);
        let revoked = Instant::now();
        loop {
            let code = self.verify(to, &key);
            if code == "REVOKED" {
                return revoked.elapsed();
            }
            assert_eq!(code, "VALID");
            assert!(revoked.elapsed() < Duration::from_secs(10), "the revocation never arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Measures `count` propagations. With `spread`, each revocation waits a different fraction of a
    /// second first, so that revocations do not fall at the same point of a poll interval every time.
    fn measure(&self, from: SocketAddr, to: SocketAddr, what: &str, count: usize, spread: bool) -> Vec<Duration> {
        let delay = |n: usize| if spread { Duration::from_millis((n as u64 * 379) % 1000) } else { Duration::ZERO };
        let mut times: Vec<Duration> = (0..count).map(|n| self.propagation(from, to, n, delay(n))).collect();
        times.sort();
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        #[allow(clippy::print_stderr)]
        {
            eprintln!(
                "propagation {what}: n={count} median {:.1} ms, worst {:.1} ms, best {:.1} ms",
                ms(times[count / 2]),
                ms(times[count - 1]),
                ms(times[0])
            );
        }
        times
    }
}

fn sql(url: &str, query: &str) -> Vec<sea_orm::QueryResult> {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let db = sea_orm::Database::connect(url).await.expect("connect");
        let rows = db.query_all_raw(Statement::from_string(db.get_database_backend(), query)).await.expect("query");
        let _ = db.close().await;
        rows
    })
}

fn kill_listener(url: &str, pid: u32) -> usize {
    let query = format!(
        "SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity WHERE application_name = 'latchkey listener {pid}'"
    );
    sql(url, &query).len()
}

fn listener_is_back(url: &str, pid: u32) -> bool {
    let query = format!("SELECT pid FROM pg_stat_activity WHERE application_name = 'latchkey listener {pid}'");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if !sql(url, &query).is_empty() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn sign_in(addr: SocketAddr, password: &str) -> process::Reply {
    let body = format!("email=customer%40example.com&password={}&next=", password.replace(' ', "+"));
    let headers = format!(
        "Origin: http://{addr}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
    );
    exchange(addr, "POST", "/api/sign_in", &headers, &body).expect("answered")
}

fn session_cookie(reply: &process::Reply) -> String {
    reply
        .head
        .lines()
        .filter_map(|line| line.strip_prefix("set-cookie: ").or_else(|| line.strip_prefix("Set-Cookie: ")))
        .map(|cookie| cookie.split(';').next().unwrap_or_default().to_owned())
        .find(|cookie| cookie.contains("session"))
        .unwrap_or_else(|| panic!("no session cookie in {}", reply.head))
}

fn current_account(addr: SocketAddr, cookie: &str) -> String {
    let headers = format!("Accept: application/json\r\nCookie: {cookie}\r\n");
    let reply = exchange(addr, "GET", "/api/current_account", &headers, "").expect("answered");
    assert_eq!(reply.status, 200, "{}", reply.body);
    reply.body
}

fn create_customer(deployment: &Deployment) {
    let mut child = deployment
        .command(&["account", "create", "--email", "customer@example.com", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("account create");
    child.stdin.take().expect("stdin").write_all(format!("{PASSWORD}\n").as_bytes()).expect("password");
    let output = child.wait_with_output().expect("account create");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn two_instances_on_one_postgres_database_act_as_one(database_url: String) {
    let deployment = Deployment::new(database_url.clone());
    let redis = std::env::var("LATCHKEY_TEST_REDIS_URL").ok();
    let shared_limits: Vec<(&str, &str)> =
        redis.as_deref().map(|url| vec![("LATCHKEY_REDIS_URL", url)]).unwrap_or_default();
    // A rolling deploy: both start on an empty database at the same moment and both migrate.
    let (a_log, b_log) = (deployment.dir.join("a.log"), deployment.dir.join("b.log"));
    let (a, a_addr) = deployment.spawn(&a_log, &shared_limits);
    let (b, b_addr) = deployment.spawn(&b_log, &shared_limits);
    wait_until_up(a_addr);
    wait_until_up(b_addr);
    let applied = sql(&database_url, "SELECT version FROM seaql_migrations").len();
    assert_eq!(
        applied,
        <migrations::Migrator as migrations::MigratorTrait>::migrations().len(),
        "each migration applied once"
    );

    create_customer(&deployment);
    let token = deployment.gateway_token();
    let api = Api { token: &token };

    // A key created through A verifies through B.
    let (_, key) = api.create_key(a_addr, "checkout", json!({}));
    assert_eq!(api.verify(b_addr, &key), "VALID");

    // Revocations through A reach B, which follows the feed with its listener.
    let with_listener = api.measure(a_addr, b_addr, "A -> B with the listener", REVOCATIONS, false);
    assert!(with_listener.iter().all(|t| *t <= PROMISE), "{with_listener:?}");

    // B's listening connection is killed: B forgets its cache, reconnects, and revocations still arrive.
    assert_eq!(kill_listener(&database_url, b.id()), 1, "B has one listening connection");
    let after_kill = api.measure(a_addr, b_addr, "A -> B after the listener was killed", 5, false);
    assert!(after_kill.iter().all(|t| *t <= PROMISE), "{after_kill:?}");
    assert!(listener_is_back(&database_url, b.id()), "B listens again");
    assert_eq!(kill_listener(&database_url, b.id()), 1);
    assert_eq!(api.measure(b_addr, a_addr, "B -> A right after B's listener was killed again", 1, false).len(), 1);
    let again = api.measure(a_addr, b_addr, "A -> B right after the second kill", 3, false);
    assert!(again.iter().all(|t| *t <= PROMISE), "{again:?}");

    // C does not listen (as behind a pooler that drops notifications): the once-a-second poll alone.
    let c_log = deployment.dir.join("c.log");
    let (c, c_addr) = deployment.spawn(&c_log, &[("LATCHKEY_DATABASE_LISTEN", "false")]);
    wait_until_up(c_addr);
    let polling = api.measure(a_addr, c_addr, "A -> C polling only", REVOCATIONS, true);
    assert!(polling.iter().all(|t| *t <= PROMISE), "{polling:?}");
    terminate(c);

    // Sessions: signed in through A, signed in on B; signed out through B, signed out on A.
    let signed_in = sign_in(a_addr, PASSWORD);
    assert_eq!(signed_in.status, 200, "{}", signed_in.body);
    let cookie = session_cookie(&signed_in);
    assert!(current_account(b_addr, &cookie).contains("customer@example.com"), "B knows A's session");

    // Sign-in throttling counts attempts on both instances: five are checked, the fifth starts a wait.
    for attempt in 0..5 {
        let instance = if attempt % 2 == 0 { a_addr } else { b_addr };
        assert_eq!(sign_in(instance, "wrong password").status, 401, "attempt {attempt}");
    }
    assert_eq!(sign_in(a_addr, PASSWORD).status, 429, "A counts B's failures");
    assert_eq!(sign_in(b_addr, PASSWORD).status, 429, "and B counts A's");

    // Rate limits with Redis: one allowance for both instances.
    if redis.is_some() {
        let (_, limited) =
            api.create_key(a_addr, "limited", json!({"ratelimit": {"limit": 10, "window_seconds": 3600}}));
        let codes: Vec<String> =
            (0..14).map(|n| api.verify(if n % 2 == 0 { a_addr } else { b_addr }, &limited)).collect();
        assert_eq!(codes.iter().filter(|code| *code == "VALID").count(), 10, "{codes:?}");
        assert!(codes[10..].iter().all(|code| code == "RATE_LIMITED"), "{codes:?}");
    }

    // Access tokens: one set of signing keys though both started on an empty database, and a rotation
    // through the command line reaches both instances within the promise.
    let jwks = |addr| json_of(request(addr, "GET", "/.well-known/jwks.json", None, None), 200);
    assert_eq!(jwks(a_addr), jwks(b_addr));
    let (_, jwt_key) = api.create_key(a_addr, "jwt", json!({}));
    let kid_from = |addr| {
        let issued = json_of(request(addr, "POST", "/v1/tokens", Some(&jwt_key), None), 200);
        let token = issued["access_token"].as_str().expect("token").to_owned();
        jsonwebtoken::decode_header(&token).expect("header").kid.expect("kid")
    };
    assert_eq!(kid_from(a_addr), kid_from(b_addr));
    let rotated = deployment.run(&["signing-key", "rotate"]).trim().to_owned();
    let started = Instant::now();
    while kid_from(a_addr) != rotated || kid_from(b_addr) != rotated {
        assert!(started.elapsed() < PROMISE, "the rotation did not reach both instances");
        std::thread::sleep(Duration::from_millis(10));
    }
    #[allow(clippy::print_stderr)]
    {
        eprintln!("signing key rotation reached both instances in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
    }
    assert_eq!(jwks(a_addr), jwks(b_addr), "both publish the retired, current and next keys");

    // Usage from both instances adds up exactly.
    let (counted_id, counted) = api.create_key(a_addr, "counted", json!({}));
    for n in 0..57 {
        assert_eq!(api.verify(if n % 3 == 0 { a_addr } else { b_addr }, &counted), "VALID");
    }
    terminate(a);
    terminate(b);
    let total =
        sql(&database_url, &format!("SELECT SUM(count)::bigint AS total FROM key_usage WHERE key_id = '{counted_id}'"));
    let total: i64 = total.first().and_then(|row| row.try_get("", "total").ok()).unwrap_or_default();
    assert_eq!(total, 57, "19 verifications on A and 38 on B, counted once each");

    for log in [a_log, b_log, c_log] {
        let logged = std::fs::read_to_string(&log).expect("log");
        assert!(!logged.contains(&key) && !logged.contains(&token), "a secret reached {}", log.display());
    }
}

#[test]
fn two_instances_on_one_postgres_database_act_as_one_deployment() {
    with_postgres_database(two_instances_on_one_postgres_database_act_as_one);
}
