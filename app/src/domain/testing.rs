//! Throwaway databases for tests: an in-memory SQLite database, or a fresh PostgreSQL database created
//! on the server named by `LATCHKEY_TEST_POSTGRES_URL` and dropped afterwards.

use crate::domain::database::{PoolSettings, connect, migrate};
use futures::FutureExt;
use sea_orm::{ConnectionTrait, DatabaseConnection};
use std::future::Future;
use std::panic::AssertUnwindSafe;

/// The environment variable naming the PostgreSQL server for tests.
pub const POSTGRES_URL_VAR: &str = "LATCHKEY_TEST_POSTGRES_URL";

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// In-memory SQLite.
    Sqlite,
    /// A throwaway database on the test PostgreSQL server.
    Postgres,
}

/// Runs `test` on a fresh, migrated database of `backend`, and drops the database afterwards even when
/// the test fails. Without `LATCHKEY_TEST_POSTGRES_URL` a PostgreSQL test is skipped with a note, unless
/// `LATCHKEY_TEST_REQUIRE_POSTGRES` is set, in which case it fails.
pub async fn with_database<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    match backend {
        Backend::Sqlite => {
            let db = connect("sqlite::memory:", &PoolSettings::default()).await.expect("open sqlite");
            migrate(&db).await.expect("migrate sqlite");
            test(db).await;
        }
        Backend::Postgres => {
            on_postgres(true, test).await;
        }
    }
}

/// Runs `test` on a fresh database of `backend` with **no** migrations applied (to test a migration on data
/// written under an older schema). SQLite is a file here, with a pool of several connections as in
/// production, so a migration that relies on one connection's view is caught.
pub async fn with_unmigrated_database<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    match backend {
        Backend::Sqlite => {
            let dir = std::env::temp_dir().join(format!("lk_test_{}", uuid::Uuid::now_v7().simple()));
            std::fs::create_dir_all(&dir).expect("temporary directory");
            let url = format!("sqlite://{}?mode=rwc", dir.join("latchkey.db").display());
            let db = connect(&url, &PoolSettings::default()).await.expect("open sqlite");
            let outcome = AssertUnwindSafe(test(db.clone())).catch_unwind().await;
            let _ = db.close().await;
            let _ = std::fs::remove_dir_all(&dir);
            if let Err(panic) = outcome {
                std::panic::resume_unwind(panic);
            }
        }
        Backend::Postgres => {
            on_postgres(false, test).await;
        }
    }
}

/// Runs `test` on a fresh PostgreSQL database (`migrated` or not) and drops it afterwards, even when the test
/// fails; skips with a note (or fails, under `LATCHKEY_TEST_REQUIRE_POSTGRES`) without a server to use.
async fn on_postgres<F, Fut>(migrated: bool, test: F)
where
    F: FnOnce(DatabaseConnection) -> Fut,
    Fut: Future<Output = ()>,
{
    let Ok(server_url) = std::env::var(POSTGRES_URL_VAR) else {
        assert!(
            std::env::var_os("LATCHKEY_TEST_REQUIRE_POSTGRES").is_none(),
            "{POSTGRES_URL_VAR} must be set when LATCHKEY_TEST_REQUIRE_POSTGRES is"
        );
        // Test output is the only place a developer will see this.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("skipped: {POSTGRES_URL_VAR} is not set, so this test did not run on PostgreSQL");
        }
        return;
    };
    let (db, name, admin) = create_postgres_database_with(&server_url, migrated).await;
    let outcome = AssertUnwindSafe(test(db.clone())).catch_unwind().await;
    let _ = db.close().await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .expect("drop test database");
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// Creates and migrates a fresh database; returns it, its name and a connection to the server.
pub async fn create_postgres_database(server_url: &str) -> (DatabaseConnection, String, DatabaseConnection) {
    create_postgres_database_with(server_url, true).await
}

async fn create_postgres_database_with(
    server_url: &str,
    migrated: bool,
) -> (DatabaseConnection, String, DatabaseConnection) {
    let admin = connect(server_url, &PoolSettings { max_connections: 2, ..PoolSettings::default() })
        .await
        .expect("connect to the test PostgreSQL server");
    let name = format!("lk_test_{}", uuid::Uuid::now_v7().simple());
    admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.expect("create test database");
    let mut url = url::Url::parse(server_url).expect("LATCHKEY_TEST_POSTGRES_URL is a URL");
    url.set_path(&name);
    let db = connect(url.as_str(), &PoolSettings { max_connections: 4, ..PoolSettings::default() })
        .await
        .expect("connect to the test database");
    if migrated {
        migrate(&db).await.expect("migrate postgres");
    }
    (db, name, admin)
}

/// Declares `#[tokio::test]`s named `<test>::sqlite` and `<test>::postgres` for each async test function
/// `async fn test(db: DatabaseConnection)` listed.
#[macro_export]
macro_rules! on_both_databases {
    (multi_thread: $($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                $crate::domain::testing::with_database($crate::domain::testing::Backend::Sqlite, super::$test).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                $crate::domain::testing::with_database($crate::domain::testing::Backend::Postgres, super::$test).await;
            }
        }
    )+};
    (unmigrated: $($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::domain::testing::with_unmigrated_database($crate::domain::testing::Backend::Sqlite, super::$test).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::domain::testing::with_unmigrated_database($crate::domain::testing::Backend::Postgres, super::$test).await;
            }
        }
    )+};
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn sqlite() {
                $crate::domain::testing::with_database($crate::domain::testing::Backend::Sqlite, super::$test).await;
            }
            #[tokio::test]
            async fn postgres() {
                $crate::domain::testing::with_database($crate::domain::testing::Backend::Postgres, super::$test).await;
            }
        }
    )+};
}
