//! Rate limits shared through Redis: exact across instances. Runs when `LATCHKEY_TEST_REDIS_URL` names a
//! Redis server (the test command sets it); skipped with a note otherwise, unless
//! `LATCHKEY_TEST_REQUIRE_REDIS` is set.

use app::domain::keys::controls::RateLimit;
use app::domain::verification::{RateLimits, SharedLimits};
use chrono::Utc;
use std::sync::Arc;

async fn two_instances() -> Option<(RateLimits, RateLimits)> {
    let Ok(url) = std::env::var("LATCHKEY_TEST_REDIS_URL") else {
        assert!(
            std::env::var_os("LATCHKEY_TEST_REQUIRE_REDIS").is_none(),
            "LATCHKEY_TEST_REDIS_URL must be set when LATCHKEY_TEST_REQUIRE_REDIS is"
        );
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: LATCHKEY_TEST_REDIS_URL is not set, so shared rate limits were not tested");
        }
        return None;
    };
    let connect = || async { SharedLimits::connect(&url, "latchkey-test:ratelimit").await.expect("redis") };
    Some((RateLimits::shared(connect().await), RateLimits::shared(connect().await)))
}

fn fresh_key() -> Arc<str> {
    Arc::from(uuid::Uuid::now_v7().to_string())
}

#[tokio::test]
async fn two_instances_share_one_allowance_exactly() {
    let Some((a, b)) = two_instances().await else { return };
    let (key, rate, now) = (fresh_key(), RateLimit { limit: 5, window_seconds: 60 }, Utc::now());
    let mut remaining = Vec::new();
    let mut refused = 0;
    for i in 0..10 {
        let instance = if i % 2 == 0 { &a } else { &b };
        match instance.take(&key, rate, now).await {
            Ok(state) => remaining.push(state.remaining),
            Err(state) => {
                refused += 1;
                assert_eq!((state.limit, state.remaining), (5, 0));
                assert!(state.reset_at > now, "a refusal says when the allowance is back");
            }
        }
    }
    assert_eq!(remaining, [4, 3, 2, 1, 0], "five allowed in all, counted down across both instances");
    assert_eq!(refused, 5);
    // Another key, or the same key under a new limit, has its own allowance.
    assert!(a.take(&fresh_key(), rate, now).await.is_ok());
    assert!(b.take(&key, RateLimit { limit: 6, window_seconds: 60 }, now).await.is_ok());
}

#[tokio::test]
async fn concurrent_requests_on_two_instances_never_exceed_the_limit() {
    let Some((a, b)) = two_instances().await else { return };
    let (a, b) = (Arc::new(a), Arc::new(b));
    let (key, rate) = (fresh_key(), RateLimit { limit: 20, window_seconds: 3600 });
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let instance = if i % 2 == 0 { a.clone() } else { b.clone() };
            let key = key.clone();
            tokio::spawn(async move { instance.take(&key, rate, Utc::now()).await.is_ok() })
        })
        .collect();
    let mut allowed = 0;
    for task in tasks {
        allowed += usize::from(task.await.expect("task"));
    }
    assert_eq!(allowed, 20);
}

#[tokio::test]
async fn an_unreachable_redis_is_a_clear_error_at_start() {
    let err = SharedLimits::connect("redis://127.0.0.1:1", "latchkey-test").await.expect_err("nothing listens there");
    assert!(err.to_string().contains("refused"), "says why: {err}");
}

/// A Redis of the test's own on a free port, stopped when dropped.
struct OwnRedis {
    process: std::process::Child,
    url: String,
}

impl OwnRedis {
    fn start(port: u16) -> Option<Self> {
        let process = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let url = format!("redis://127.0.0.1:{port}");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { process, url });
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

#[tokio::test]
async fn limits_fall_back_to_the_instance_while_redis_is_down_and_share_again_when_it_returns() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
    let Some(redis) = OwnRedis::start(port) else {
        assert!(std::env::var_os("LATCHKEY_TEST_REQUIRE_REDIS").is_none(), "redis-server must be installed");
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: no redis-server to start, so the Redis outage was not tested");
        }
        return;
    };
    let shared = SharedLimits::connect(&redis.url, "latchkey-test:ratelimit").await.expect("redis");
    let (limits, rate) = (RateLimits::shared(shared.clone()), RateLimit { limit: 2, window_seconds: 3600 });
    let key = fresh_key();
    assert!(limits.take(&key, rate, Utc::now()).await.is_ok());
    assert!(limits.take(&key, rate, Utc::now()).await.is_ok());
    assert!(limits.take(&key, rate, Utc::now()).await.is_err(), "the shared allowance is spent");
    let url = redis.url.clone();
    drop(redis);

    // Redis is gone: verification goes on, limited by this instance alone (a fresh allowance of 2).
    let outcomes: Vec<bool> = {
        let mut outcomes = Vec::new();
        for _ in 0..3 {
            outcomes.push(limits.take(&key, rate, Utc::now()).await.is_ok());
        }
        outcomes
    };
    assert_eq!(outcomes, [true, true, false]);
    assert!(shared.take(&key, rate, Utc::now()).await.is_err(), "Redis itself answers nothing");

    // Redis is back (empty, as it keeps nothing on disk): the shared counter is used again.
    let _back = OwnRedis::start(port).expect("restart redis");
    let mut reconnected = false;
    for _ in 0..50 {
        if shared.take(&fresh_key(), rate, Utc::now()).await.is_ok() {
            reconnected = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reconnected, "the connection to {url} came back");
}
