//! A real SMTP server for tests: aiosmtpd (`end2end/support/smtp_sink.py`) on a loopback port.
#![allow(dead_code)] // Each test binary uses its own part of this.

/// A real SMTP server (aiosmtpd, `end2end/support/smtp_sink.py`) on a loopback port, writing each message
/// it accepts as JSON into a directory of its own. Stopped when dropped.
pub struct SmtpSink {
    pub port: u16,
    pub dir: std::path::PathBuf,
    child: Option<std::process::Child>,
}

impl SmtpSink {
    /// Starts one on a free port.
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let dir = std::env::temp_dir().join(format!("lk-smtp-{}", uuid::Uuid::now_v7().simple()));
        let mut sink = Self { port, dir, child: None };
        sink.resume();
        sink
    }

    /// Starts it again on the same port, after [`SmtpSink::pause`].
    pub fn resume(&mut self) {
        use std::io::BufRead;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let python = std::env::var_os("LATCHKEY_TEST_PYTHON")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| root.join("end2end/.venv/bin/python"));
        assert!(python.exists(), "{} is missing: run .ci/tools.sh, which installs aiosmtpd", python.display());
        let mut child = std::process::Command::new(python)
            .arg(root.join("end2end/support/smtp_sink.py"))
            .args(["--port", &self.port.to_string(), "--dir"])
            .arg(&self.dir)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("start the SMTP server");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("ready line");
        assert_eq!(line.trim(), "ready", "the SMTP server did not start");
        self.child = Some(child);
    }

    /// Stops it: the port refuses connections until [`SmtpSink::resume`].
    pub fn pause(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }

    /// `smtp://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message delivered so far, oldest first.
    pub fn messages(&self) -> Vec<serde_json::Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        names.retain(|path| path.extension().is_some_and(|ext| ext == "json"));
        names.sort();
        names
            .into_iter()
            .map(|path| serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json"))
            .collect()
    }

    /// The messages delivered to `to`.
    pub fn to(&self, to: &str) -> Vec<serde_json::Value> {
        self.messages().into_iter().filter(|m| m["to"].as_array().is_some_and(|a| a.iter().any(|t| t == to))).collect()
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.pause();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
