//! The real `latchkey` process: usage counted in memory survives SIGTERM, and neither a key nor a service
//! token ever reaches its log. On SQLite and PostgreSQL.

use app::domain::testing::{POSTGRES_URL_VAR, create_postgres_database};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_latchkey");

struct Deployment {
    dir: PathBuf,
    database_url: String,
}

impl Deployment {
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .args(args)
            .current_dir(&self.dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LATCHKEY_DATABASE_URL", &self.database_url)
            .env("LATCHKEY_LOG", "debug");
        command
    }

    fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).stdin(Stdio::null()).output().expect("run latchkey");
        assert!(output.status.success(), "latchkey {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf8").trim().to_owned()
    }

    fn serve(&self, log: &Path) -> (Child, SocketAddr) {
        let addr = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let child = self
            .command(&["serve"])
            .env("LATCHKEY_ADDR", addr.to_string())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start latchkey serve");
        let deadline = Instant::now() + Duration::from_secs(60);
        while request(addr, "GET", "/healthz", None, None).map(|(status, _)| status) != Some(200) {
            assert!(Instant::now() < deadline, "latchkey did not come up on {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
        (child, addr)
    }
}

/// One HTTP/1.1 request on a fresh connection: the status and the body.
fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(addr).ok()?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    // Chunked bodies: the JSON sits between the chunk-size lines.
    let body = if body.starts_with('{') { body.to_owned() } else { body.lines().nth(1).unwrap_or_default().to_owned() };
    Some((status, body))
}

fn json_of(reply: Option<(u16, String)>, want: u16) -> Value {
    let (status, body) = reply.expect("answered");
    assert_eq!(status, want, "{body}");
    serde_json::from_str(&body).expect("json")
}

fn terminate(mut child: Child) {
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "latchkey exits cleanly on SIGTERM: {status}");
}

fn usage_survives_sigterm_and_secrets_stay_out_of_the_log(database_url: String) {
    let dir = std::env::temp_dir().join(format!("latchkey-shutdown-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let deployment = Deployment { dir: dir.clone(), database_url };
    let log = dir.join("server.log");
    deployment.run(&["account", "create", "--email", "customer@example.com"]);
    let token = deployment.run(&[
        "service-token",
        "create",
        "--name",
        "gateway",
        "--permission",
        "verify",
        "--permission",
        "keys:read",
        "--permission",
        "keys:write",
    ]);

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
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_survives_sigterm_and_secrets_stay_out_of_the_log_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("latchkey-db-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    usage_survives_sigterm_and_secrets_stay_out_of_the_log(format!(
        "sqlite://{}?mode=rwc",
        dir.join("latchkey.db").display()
    ));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn usage_survives_sigterm_and_secrets_stay_out_of_the_log_on_postgres() {
    let Ok(server_url) = std::env::var(POSTGRES_URL_VAR) else {
        assert!(std::env::var_os("LATCHKEY_TEST_REQUIRE_POSTGRES").is_none(), "{POSTGRES_URL_VAR} must be set");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (db, name, admin) = runtime.block_on(create_postgres_database(&server_url));
    runtime.block_on(async {
        let _ = db.close().await;
    });
    let mut url = url::Url::parse(&server_url).expect("url");
    url.set_path(&name);
    let outcome = std::panic::catch_unwind(|| usage_survives_sigterm_and_secrets_stay_out_of_the_log(url.to_string()));
    runtime.block_on(async {
        use sea_orm::ConnectionTrait;
        let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
    });
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
