//! Real `latchkey` processes for tests: a deployment directory and database, commands, servers on free
//! ports, plain HTTP/1.1 requests, and throwaway PostgreSQL databases.
#![allow(dead_code)] // Each test binary uses its own part of this.

use app::domain::database::{PoolSettings, connect};
use app::domain::testing::POSTGRES_URL_VAR;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BINARY: &str = env!("CARGO_BIN_EXE_latchkey");

/// Where the processes of one test run, and the database they share.
pub struct Deployment {
    pub dir: PathBuf,
    pub database_url: String,
}

impl Deployment {
    /// A fresh directory for a deployment on `database_url`.
    pub fn new(database_url: String) -> Self {
        let dir = std::env::temp_dir().join(format!("latchkey-process-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        Self { dir, database_url }
    }

    pub fn command(&self, args: &[&str]) -> Command {
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

    /// Runs a command to success and answers its standard output.
    pub fn run(&self, args: &[&str]) -> String {
        let output = self.command(args).stdin(Stdio::null()).output().expect("run latchkey");
        assert!(output.status.success(), "latchkey {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        String::from_utf8(output.stdout).expect("utf8").trim().to_owned()
    }

    /// Creates the service token the tests' gateway uses (verify, keys:read, keys:write) and answers it.
    pub fn gateway_token(&self) -> String {
        let permissions = ["--permission", "verify", "--permission", "keys:read", "--permission", "keys:write"];
        let mut args = vec!["service-token", "create", "--name", "gateway"];
        args.extend(permissions);
        self.run(&args)
    }

    /// Starts `latchkey serve` on a free port, logging to `log`, with `env` set; does not wait for it.
    pub fn spawn(&self, log: &Path, env: &[(&str, &str)]) -> (Child, SocketAddr) {
        let addr = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log).expect("log file");
        let mut command = self.command(&["serve"]);
        command.env("LATCHKEY_ADDR", addr.to_string()).stdout(Stdio::null()).stderr(log);
        for (name, value) in env {
            command.env(name, value);
        }
        (command.spawn().expect("start latchkey serve"), addr)
    }

    /// Starts `latchkey serve` and waits until it answers.
    pub fn serve(&self, log: &Path) -> (Child, SocketAddr) {
        let (child, addr) = self.spawn(log, &[]);
        wait_until_up(addr);
        (child, addr)
    }
}

impl Drop for Deployment {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The Python of the test tools' virtual environment (`end2end/.venv`, made by `.ci/tools.sh`), or
/// `LATCHKEY_TEST_PYTHON`.
pub fn python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = std::env::var_os("LATCHKEY_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("end2end/.venv/bin/python"));
    assert!(
        python.exists(),
        "{} is missing: run .ci/tools.sh, which installs the tests' PyPI packages",
        python.display()
    );
    python
}

/// A script of `end2end/support`.
pub fn support_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../end2end/support").join(name)
}

/// Waits up to a minute for `/healthz` to answer 200.
pub fn wait_until_up(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while request(addr, "GET", "/healthz", None, None).map(|(status, _)| status) != Some(200) {
        assert!(Instant::now() < deadline, "latchkey did not come up on {addr}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One HTTP/1.1 request with a JSON body on a fresh connection: the status and the body.
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Option<(u16, String)> {
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let headers = format!("{auth}Content-Type: application/json\r\n");
    let reply = exchange(addr, method, path, &headers, &body.map(Value::to_string).unwrap_or_default())?;
    Some((reply.status, reply.body))
}

/// What a server answered.
pub struct Reply {
    pub status: u16,
    pub head: String,
    pub body: String,
}

/// One HTTP/1.1 request on a fresh connection, with `headers` (each line ending in CRLF) added.
pub fn exchange(addr: SocketAddr, method: &str, path: &str, headers: &str, body: &str) -> Option<Reply> {
    let mut stream = TcpStream::connect(addr).ok()?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    // Chunked bodies: the JSON sits between the chunk-size lines.
    let body =
        if body.starts_with(['{', '[']) { body.to_owned() } else { body.lines().nth(1).unwrap_or_default().to_owned() };
    Some(Reply { status, head: head.to_owned(), body })
}

pub fn json_of(reply: Option<(u16, String)>, want: u16) -> Value {
    let (status, body) = reply.expect("answered");
    assert_eq!(status, want, "{body}");
    serde_json::from_str(&body).expect("json")
}

/// Sends SIGTERM and expects a clean exit.
pub fn terminate(mut child: Child) {
    let killed = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "latchkey exits cleanly on SIGTERM: {status}");
}

/// Runs `test` with the URL of a fresh SQLite file (the processes create and migrate it), removed afterwards.
pub fn with_sqlite_database(test: impl FnOnce(String)) {
    let dir = std::env::temp_dir().join(format!("latchkey-db-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        test(format!("sqlite://{}?mode=rwc", dir.join("latchkey.db").display()))
    }));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Runs `test` with the URL of a fresh, empty PostgreSQL database (the processes migrate it), dropped
/// afterwards even when the test fails. Skipped without `LATCHKEY_TEST_POSTGRES_URL` unless
/// `LATCHKEY_TEST_REQUIRE_POSTGRES` is set.
pub fn with_postgres_database(test: impl FnOnce(String)) {
    use sea_orm::ConnectionTrait;
    let Ok(server_url) = std::env::var(POSTGRES_URL_VAR) else {
        assert!(std::env::var_os("LATCHKEY_TEST_REQUIRE_POSTGRES").is_none(), "{POSTGRES_URL_VAR} must be set");
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let pool = PoolSettings { max_connections: 2, ..PoolSettings::default() };
    let admin = runtime.block_on(connect(&server_url, &pool)).expect("connect to the test PostgreSQL server");
    let name = format!("lk_test_{}", uuid::Uuid::now_v7().simple());
    runtime.block_on(admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\""))).expect("create database");
    let mut url = url::Url::parse(&server_url).expect("url");
    url.set_path(&name);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| test(url.to_string())));
    let _ = runtime.block_on(admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")));
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
