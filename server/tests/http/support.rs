use app::domain::accounts::create_account_without_password;
use app::domain::accounts::password::PasswordHasher;
use app::domain::clock::{ManualClock, SharedClock};
use app::domain::database::{PoolSettings, connect, migrate};
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::KeyPolicy;
use app::domain::scopes::ScopeCatalogue;
use app::domain::service_tokens::{self, Permission};
use app::domain::sessions::SessionPolicy;
use app::domain::throttle::ThrottlePolicy;
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode, header};
use chrono::Utc;
use http_body_util::BodyExt;
use latchkey_server::router::{AppState, WebPolicy, app};
use latchkey_server::run::leptos_options;
use latchkey_server::v1::VerificationServices;
use sea_orm::DatabaseConnection;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

pub const HOST: &str = "127.0.0.1:3000";
pub const ORIGIN: &str = "http://127.0.0.1:3000";
pub const PASSWORD: &str = "correct horse battery staple";
pub const USER_AGENT: &str = "latchkey-http-tests/1.0";

fn hasher() -> Arc<PasswordHasher> {
    static HASHER: OnceLock<Arc<PasswordHasher>> = OnceLock::new();
    HASHER.get_or_init(|| Arc::new(PasswordHasher::new(2).expect("hasher"))).clone()
}

/// A portal on a fresh in-memory database, with a clock the test moves.
pub struct TestApp {
    pub router: Router,
    pub db: DatabaseConnection,
    pub clock: Arc<ManualClock>,
    pub verification: VerificationServices,
    pub state: AppState,
}

/// One response, body read.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Reply {
    /// The value of the session cookie this response sets, if any.
    pub fn session_cookie(&self) -> Option<String> {
        self.set_cookie().and_then(|c| c.split(';').next().map(str::to_owned)).filter(|c| !c.ends_with('='))
    }

    /// The raw Set-Cookie header of the session cookie (other cookies, such as the browser's id, aside).
    pub fn set_cookie(&self) -> Option<String> {
        self.cookie_named("latchkey_session")
    }

    /// The raw Set-Cookie header of the cookie whose name ends in `name` (`__Host-` prefixed or not).
    pub fn cookie_named(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|c| c.split('=').next().is_some_and(|n| n == name || n == format!("__Host-{name}")))
            .map(str::to_owned)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    pub async fn new() -> Self {
        Self::with_web(WebPolicy::default()).await
    }

    pub async fn with_web(web: WebPolicy) -> Self {
        let db = connect("sqlite::memory:", &PoolSettings::default()).await.expect("sqlite");
        migrate(&db).await.expect("migrate");
        Self::build(db, web)
    }

    /// The app on an already migrated database (see [`on_both_databases!`]).
    pub fn with_db(db: DatabaseConnection) -> Self {
        Self::build(db, WebPolicy::default())
    }

    /// The app with a password hasher of its own, for tests that starve it.
    pub async fn with_hasher(hasher: Arc<PasswordHasher>) -> Self {
        let db = connect("sqlite::memory:", &PoolSettings::default()).await.expect("sqlite");
        migrate(&db).await.expect("migrate");
        Self::build_with(db, WebPolicy::default(), hasher)
    }

    /// This app's database served with the provider's brand, portal sessions or identity provider set up.
    pub fn with_provider(self, provider: latchkey_server::router::ProviderSetup) -> Self {
        Self::build_full(self.db, WebPolicy::default(), hasher(), provider)
    }

    /// This app's database served with the operator's account security settings.
    pub fn with_security(self, security: app::domain::accounts::security::AccountSecurity) -> Self {
        let mut app = Self::build_full(self.db, WebPolicy::default(), hasher(), Default::default());
        app.state.account_security = security;
        app.router = latchkey_server::router::app(app.state.clone());
        app
    }

    /// This app's database served with `events` (webhook targets, leak policy, GitHub's keys).
    pub fn with_events(self, events: latchkey_server::router::EventsSetup) -> Self {
        let mut app = Self::build_full(self.db, WebPolicy::default(), hasher(), Default::default());
        app.state.events = events;
        app.router = latchkey_server::router::app(app.state.clone());
        app
    }

    fn build(db: DatabaseConnection, web: WebPolicy) -> Self {
        Self::build_with(db, web, hasher())
    }

    fn build_with(db: DatabaseConnection, web: WebPolicy, hasher: Arc<PasswordHasher>) -> Self {
        Self::build_full(db, web, hasher, Default::default())
    }

    fn build_full(
        db: DatabaseConnection,
        web: WebPolicy,
        hasher: Arc<PasswordHasher>,
        provider: latchkey_server::router::ProviderSetup,
    ) -> Self {
        let clock = Arc::new(ManualClock::at(Utc::now()));
        let shared: SharedClock = clock.clone();
        let verification = VerificationServices::new(
            KeyPolicy::default().prefix,
            KeyPrefix::new("lksvc").expect("prefix"),
            shared.clone(),
        );
        let state = AppState {
            leptos_options: leptos_options(HOST.parse().expect("addr")),
            db: db.clone(),
            hasher,
            clock: shared,
            sessions: SessionPolicy::default(),
            throttle: ThrottlePolicy::default(),
            keys: KeyPolicy::default(),
            scopes: ScopeCatalogue::example(),
            web,
            verification: verification.clone(),
            usage_retention: app::domain::usage::Retention::default(),
            tokens: app::domain::jwt::TokenPolicy::new(ORIGIN),
            provider,
            account_security: Default::default(),
            events: Default::default(),
            metrics: Default::default(),
        };
        Self { router: app(state.clone()), db, clock, verification, state }
    }

    /// A service token with `permissions`, created as the CLI does.
    pub async fn service_token(&self, permissions: &[Permission]) -> String {
        let prefix = &self.verification.token_prefix;
        let (_, plaintext) =
            service_tokens::create(&self.db, self.clock.as_ref(), prefix, "gateway", permissions).await.expect("token");
        plaintext.expose().to_owned()
    }

    /// A customer account without a password, as `latchkey account create` makes one; answers its id.
    pub async fn customer(&self, email: &str) -> String {
        create_account_without_password(&self.db, self.clock.as_ref(), email, false).await.expect("account").id
    }

    /// A `/v1` request with a bearer token and a JSON body.
    pub async fn v1(&self, method: Method, path: &str, token: Option<&str>, body: Option<serde_json::Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(path).header(header::HOST, HOST);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).expect("request")).await
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        self.send_from(request, SocketAddr::from(([203, 0, 113, 7], 50000))).await
    }

    /// Sends `request` as if it came over a connection from `peer`.
    pub async fn send_from(&self, mut request: Request<Body>, peer: SocketAddr) -> Reply {
        request.extensions_mut().insert(ConnectInfo(peer));
        if !request.headers().contains_key(header::USER_AGENT) {
            request.headers_mut().insert(header::USER_AGENT, header::HeaderValue::from_static(USER_AGENT));
        }
        let response = self.router.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        Reply { status, headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    /// A GET as a browser navigating sends it.
    pub async fn get(&self, path: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).expect("request")).await
    }

    /// A form POST as a browser sends it without the page's code (an element the server rendered, not an
    /// island): it asks for HTML, and names the page it came from.
    pub async fn post_plain_form(&self, path: &str, fields: &[(&str, &str)], cookie: &str, page: &str) -> Reply {
        let body = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
        let request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
            .header(header::REFERER, format!("{ORIGIN}{page}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .expect("request");
        self.send(request).await
    }

    /// A form POST as the portal's own pages send it.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)], cookie: Option<&str>) -> Reply {
        let body = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect::<Vec<_>>().join("&");
        let mut request = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ORIGIN, ORIGIN)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::from(body)).expect("request")).await
    }

    pub async fn sign_up(&self, email: &str, password: &str) -> Reply {
        self.post_form("/api/sign_up", &[("email", email), ("password", password), ("next", "")], None).await
    }

    pub async fn sign_in(&self, email: &str, password: &str, cookie: Option<&str>) -> Reply {
        self.post_form("/api/sign_in", &[("email", email), ("password", password), ("next", "")], cookie).await
    }

    /// Signs up `email` and answers the session cookie.
    pub async fn signed_up(&self, email: &str) -> String {
        let reply = self.sign_up(email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        reply.session_cookie().expect("session cookie")
    }

    /// The id of the organisation the cookie's person made when signing up (it has their account's id).
    pub async fn org(&self, cookie: &str) -> String {
        self.whoami(cookie).await["id"].as_str().expect("id").to_owned()
    }

    /// A GET of a server function, as the portal's own code sends it.
    pub async fn get_json(&self, path: &str, cookie: &str) -> Reply {
        let request = Request::builder()
            .uri(path)
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// The account the cookie is signed in as, per the API.
    pub async fn whoami(&self, cookie: &str) -> serde_json::Value {
        let request = Request::builder()
            .uri("/api/current_account")
            .header(header::HOST, HOST)
            .header(header::ACCEPT, "application/json")
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request");
        let reply = self.send(request).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        serde_json::from_str(&reply.body).expect("json")
    }
}

pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|err| panic!("not JSON ({err}): {}", self.body))
    }
}

/// Declares `#[tokio::test]`s `<test>::sqlite` and `<test>::postgres` for each `async fn test(app: TestApp)`.
#[macro_export]
macro_rules! on_both_databases {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            use app::domain::testing::{Backend, with_database};
            #[tokio::test]
            async fn sqlite() {
                with_database(Backend::Sqlite, |db| super::$test($crate::support::TestApp::with_db(db))).await;
            }
            #[tokio::test]
            async fn postgres() {
                with_database(Backend::Postgres, |db| super::$test($crate::support::TestApp::with_db(db))).await;
            }
        }
    )+};
}

/// Collects the log output of one test: `let (logs, _guard) = capture_logs();`, then `logs.text()`.
#[derive(Clone, Default)]
pub struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Everything logged so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().expect("lock").clone()).expect("utf8")
    }
}

/// Captures every log line of this thread, at every level, while the guard lives.
pub fn capture_logs() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber =
        tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
    (captured, tracing::subscriber::set_default(subscriber))
}

pub use crate::smtp_sink::SmtpSink;

/// A mailer that delivers through `sink`, for driving the outbox from a test.
pub fn mailer(sink: &SmtpSink) -> app::domain::mail::sender::Mailer {
    let server = app::domain::mail::transport::SmtpServer::parse(&sink.url()).expect("url");
    app::domain::mail::sender::Mailer {
        transport: server.transport(std::time::Duration::from_secs(10)).expect("transport"),
        from: "Latchkey <noreply@example.com>".parse().expect("from"),
        brand: app::domain::mail::render::MailBrand {
            product_name: "Latchkey".into(),
            base_url: ORIGIN.into(),
            accent: "#1f4fd1".into(),
            logo_url: None,
            support_url: None,
        },
    }
}

/// The first link in `text` that starts with `prefix`.
pub fn link_in(text: &str, prefix: &str) -> String {
    let start = text.find(prefix).unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    text[start..].split_whitespace().next().expect("link").to_owned()
}
