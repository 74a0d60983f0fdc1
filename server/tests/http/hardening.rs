use crate::support::{HOST, PASSWORD, TestApp, encode};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use std::io;
use std::sync::{Arc, Mutex};

fn sign_in_request(extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder()
        .method("POST")
        .uri("/api/sign_in")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let body = format!("email=ann%40example.com&password={}&next=", encode(PASSWORD));
    request.body(Body::from(body)).expect("request")
}

#[tokio::test]
async fn cross_site_posts_are_refused() {
    let app = TestApp::new().await;
    app.signed_up("ann@example.com").await;
    let hostile: [&[(&str, &str)]; 4] = [
        &[("origin", "https://evil.example")],
        &[("origin", "null")],
        &[("sec-fetch-site", "cross-site")],
        // A page on another host that resolves to us (DNS rebinding) sends its own origin and Host.
        &[("origin", "http://evil.example:3000"), ("host", "evil.example:3000")],
    ];
    for headers in hostile {
        let mut request = sign_in_request(headers);
        if let Some((_, host)) = headers.iter().find(|(name, _)| *name == "host") {
            request.headers_mut().insert(header::HOST, host.parse().expect("host"));
        }
        let reply = app.send(request).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{headers:?}");
        assert!(reply.session_cookie().is_none());
    }
    for friendly in [&[("origin", "http://127.0.0.1:3000")][..], &[("sec-fetch-site", "same-origin")], &[]] {
        assert_eq!(app.send(sign_in_request(friendly)).await.status, StatusCode::OK, "{friendly:?}");
    }
}

#[tokio::test]
async fn oversized_bodies_are_refused() {
    let app = TestApp::new().await;
    let body = format!("email=ann%40example.com&password={}&next=", "a".repeat(100 * 1024));
    let request = Request::builder()
        .method("POST")
        .uri("/api/sign_in")
        .header(header::HOST, HOST)
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .expect("request");
    assert_eq!(app.send(request).await.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn pages_carry_a_nonce_csp_and_security_headers() {
    let app = TestApp::new().await;
    let reply = app.get("/sign-in", None).await;
    let csp = reply.header("content-security-policy").expect("CSP");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("nonce in CSP");
    assert!(reply.body.contains(&format!("nonce=\"{nonce}\"")), "the page's scripts carry the CSP nonce");
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    assert_eq!(reply.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(reply.header("referrer-policy"), Some("same-origin"));
    assert_eq!(reply.header("x-frame-options"), Some("DENY"));
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    assert!(reply.header("strict-transport-security").is_none(), "no HSTS over plain http");

    let other = app.get("/healthz", None).await;
    assert!(other.header("content-security-policy").is_some_and(|p| p.contains("default-src 'none'")));
}

/// Collects log output for one test.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn logs_never_contain_passwords_or_cookies() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let app = TestApp::new().await;
    let cookie = app.signed_up("ann@example.com").await;
    app.sign_in("ann@example.com", "Wrong-Horse-Password", Some(&cookie)).await;
    app.get("/", Some(&cookie)).await;

    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf8");
    assert!(logs.contains("/api/sign_in"), "request logs are written: {logs}");
    let session_id = cookie.split_once('=').expect("cookie").1;
    for secret in [PASSWORD, "Wrong-Horse-Password", encode(PASSWORD).as_str(), session_id] {
        assert!(!logs.contains(secret), "a secret reached the logs");
    }
}
