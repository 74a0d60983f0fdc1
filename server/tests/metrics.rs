//! The operator's view of a real `latchkey` process: `/metrics` on its own address, read with Prometheus'
//! own text parser (PyPI's prometheus_client), counters that move with the traffic, and JSON logs whose
//! request lines carry the id the response sent back. On SQLite and PostgreSQL.

mod process;

use process::{
    Deployment, exchange, json_of, python, request, support_script, terminate, with_postgres_database,
    with_sqlite_database,
};
use serde_json::{Map, Value, json};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

/// Every sample of `/metrics`, as prometheus_client parsed it: `name{label=value,...}` → value.
fn scrape(metrics: SocketAddr) -> Map<String, Value> {
    let output = std::process::Command::new(python())
        .arg(support_script("metrics_sample.py"))
        .arg(format!("http://{metrics}/metrics"))
        .output()
        .expect("run the metrics reader");
    assert!(
        output.status.success(),
        "prometheus_client could not read /metrics: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("json")
}

fn value(samples: &Map<String, Value>, name: &str) -> f64 {
    samples.get(name).and_then(Value::as_f64).unwrap_or_else(|| panic!("{name} is not among the metrics"))
}

fn metrics_move_with_traffic_and_logs_carry_request_ids(database_url: String) {
    let deployment = Deployment::new(database_url);
    let log = deployment.dir.join("server.log");
    deployment.run(&["migrate"]);
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.gateway_token();
    let metrics = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
    let (server, addr) = deployment.spawn(
        &log,
        &[("LATCHKEY_METRICS_ADDR", &metrics.to_string()), ("LATCHKEY_LOG_FORMAT", "json"), ("LATCHKEY_LOG", "info")],
    );
    process::wait_until_up(addr);

    let before = scrape(metrics);
    assert!(
        before["__content_type__"].as_str().is_some_and(|t| t.starts_with("text/plain; version=0.0.4")),
        "{}",
        before["__content_type__"]
    );
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
    for _ in 0..5 {
        let answer = json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": key}))), 200);
        assert_eq!(answer["code"], "VALID");
    }
    for _ in 0..2 {
        let answer =
            json_of(request(addr, "POST", "/v1/keys/verify", Some(&token), Some(&json!({"key": "lk_nope"}))), 200);
        assert_eq!(answer["code"], "MALFORMED");
    }
    // One request with an id from a proxy in front, which must come back and reach the log.
    let traced = exchange(
        addr,
        "POST",
        "/v1/keys/verify",
        &format!("Authorization: Bearer {token}\r\nX-Request-Id: proxy-7f3a-0001\r\n"),
        &json!({"key": key}).to_string(),
    )
    .expect("answered");
    assert_eq!(traced.status, 200);
    assert!(traced.head.to_ascii_lowercase().contains("x-request-id: proxy-7f3a-0001"), "{}", traced.head);
    let untraced = exchange(addr, "GET", "/healthz", "", "").expect("answered");
    assert!(
        untraced.head.to_ascii_lowercase().contains("x-request-id: "),
        "every answer names its request: {}",
        untraced.head
    );

    // The usage flush runs every second; wait until it has written what was counted.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let after = scrape(metrics);
        if value(&after, "latchkey_usage_pending_verifications{}") == 0.0
            && value(&after, "latchkey_usage_flush_duration_seconds_count{}")
                > value(&before, "latchkey_usage_flush_duration_seconds_count{}")
        {
            break after;
        }
        assert!(Instant::now() < deadline, "usage was never flushed: {after:?}");
        std::thread::sleep(Duration::from_millis(200));
    };
    // A labelled series appears with its first sample; before that it counts as zero.
    let moved = |name: &str| value(&after, name) - before.get(name).and_then(Value::as_f64).unwrap_or(0.0);
    assert_eq!(moved("latchkey_verifications_total{code=VALID}"), 6.0);
    assert_eq!(moved("latchkey_verifications_total{code=MALFORMED}"), 2.0);
    assert_eq!(value(&after, "latchkey_verifications_total{code=REVOKED}"), 0.0, "every code is listed from the start");
    assert_eq!(moved("latchkey_verification_duration_seconds_count{}"), 8.0);
    assert_eq!(moved("latchkey_http_requests_total{route=/v1/keys/verify,status=200}"), 8.0);
    assert_eq!(value(&after, "latchkey_http_requests_total{route=/v1/keys,status=201}"), 1.0);
    // Each well-formed key was looked up once in memory or, on a miss, in the database (the feed may drop the
    // cached key once more when it hears of its creation); malformed keys never get that far.
    let lookups = moved("latchkey_key_database_lookups_total{}");
    assert!((1.0..=2.0).contains(&lookups), "{lookups}");
    assert_eq!(lookups + moved("latchkey_key_cache_hits_total{}"), 6.0);
    assert!(value(&after, "latchkey_key_cache_entries{kind=key}") <= 1.0);
    assert_eq!(value(&after, "latchkey_rate_limit_store_up{store=local}"), 1.0);
    assert!(value(&after, "latchkey_change_feed_lag_seconds{}") < 5.0);
    assert_eq!(value(&after, "latchkey_database_pool_connections{state=max}"), 10.0);
    for queue in ["mail", "webhooks"] {
        assert!(value(&after, &format!("latchkey_queue_depth{{queue={queue}}}")) >= 0.0);
        assert!(value(&after, &format!("latchkey_queue_oldest_age_seconds{{queue={queue}}}")) >= 0.0);
    }
    assert!(value(&after, "process_resident_memory_bytes{}") > 1e6);

    every_dashboard_query_reads_a_metric_that_exists(&after);

    // The metrics listener serves metrics only, and the portal does not serve them.
    assert_eq!(exchange(metrics, "GET", "/", "", "").map(|r| r.status), Some(404));
    let portal = exchange(addr, "GET", "/metrics", "", "").expect("answered");
    assert!(!portal.body.contains("latchkey_verifications_total"), "the portal's port must not expose metrics");
    terminate(server);

    let logged = std::fs::read_to_string(&log).expect("log");
    let lines: Vec<Value> = logged
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("not a JSON log line ({err}): {line}")))
        .collect();
    let traced_lines: Vec<&Value> =
        lines.iter().filter(|line| line["span"]["request_id"] == "proxy-7f3a-0001").collect();
    assert!(
        traced_lines.iter().any(|line| line["span"]["path"] == "/v1/keys/verify" && line["fields"]["status"] == 200),
        "the request's own log line carries its id: {logged}"
    );
    assert!(!logged.contains(&key[3..20]), "part of the key is in the server log");
    assert!(!logged.contains(&token), "the service token is in the server log");
}

/// The Grafana dashboard in the repository reads the metrics as they are: every metric name its queries
/// use is one this process serves (a histogram's `_bucket`, `_count` and `_sum` included).
fn every_dashboard_query_reads_a_metric_that_exists(samples: &Map<String, Value>) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("ops/grafana-dashboard.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("dashboard")).expect("json");
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        for target in panel["targets"].as_array().into_iter().flatten() {
            queries.push(target["expr"].as_str().expect("expr").to_owned());
        }
    }
    assert!(queries.len() >= 15, "{queries:?}");
    for query in &queries {
        let names = query
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|word| word.starts_with("latchkey_") || word.starts_with("process_"));
        for name in names {
            assert!(
                samples.keys().any(|sample| sample.starts_with(&format!("{name}{{"))),
                "the dashboard reads {name}, which /metrics does not have (in {query})"
            );
        }
    }
}

#[test]
fn metrics_move_with_traffic_and_logs_carry_request_ids_on_sqlite() {
    with_sqlite_database(metrics_move_with_traffic_and_logs_carry_request_ids);
}

#[test]
fn metrics_move_with_traffic_and_logs_carry_request_ids_on_postgres() {
    with_postgres_database(metrics_move_with_traffic_and_logs_carry_request_ids);
}
