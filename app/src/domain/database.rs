//! Opening the database (SQLite by default, PostgreSQL at scale) and bringing its schema up to date.

use migrations::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database, DatabaseConnection, DbErr};
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement, TransactionTrait};
use std::time::Duration;

/// The default database: a SQLite file in the working directory, created when missing.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://latchkey.db?mode=rwc";

/// Connection pool settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSettings {
    /// Most connections the pool opens.
    pub max_connections: u32,
    /// How long to wait for the database to accept a new connection.
    pub connect_timeout: Duration,
    /// How long a request waits for a free connection from a busy pool before it fails.
    pub acquire_timeout: Duration,
    /// An unused connection is closed after this long.
    pub idle_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            connect_timeout: Duration::from_secs(5),
            acquire_timeout: Duration::from_secs(5),
            idle_timeout: Duration::from_secs(600),
        }
    }
}

/// Opens a pool on `url`. SQLite files run in WAL mode so readers never wait for the writer.
pub async fn connect(url: &str, pool: &PoolSettings) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .max_connections(pool.max_connections)
        .connect_timeout(pool.connect_timeout)
        .acquire_timeout(pool.acquire_timeout)
        .idle_timeout(pool.idle_timeout)
        .sqlx_logging(false);
    if url.starts_with("sqlite:") {
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if in_memory {
            // Each connection to an in-memory database is a database of its own: keep exactly one, forever.
            options.max_connections(1).min_connections(1).idle_timeout(None::<Duration>).max_lifetime(None::<Duration>);
        }
        options.map_sqlx_sqlite_opts(move |opts| {
            let opts =
                opts.foreign_keys(true).busy_timeout(Duration::from_secs(5)).synchronous(SqliteSynchronous::Normal);
            if in_memory { opts } else { opts.journal_mode(SqliteJournalMode::Wal) }
        });
    }
    Database::connect(options).await
}

/// Why the schema could not be brought up to date.
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// The database was migrated by a newer Latchkey; running this one against it could damage data.
    #[error(
        "the database schema is newer than this Latchkey: it has migration {0}, which this version does not \
         know; run the newer Latchkey, or restore a backup from before the upgrade"
    )]
    NewerSchema(String),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// The transaction-scoped advisory lock that serialises migrations (the ASCII of "lk-migr!").
const MIGRATION_LOCK: i64 = 0x6c6b_2d6d_6967_7221;

/// Applies every pending migration, after checking that the database is not newer than this binary.
///
/// On PostgreSQL all of it runs in one transaction holding an advisory lock, so instances starting at the
/// same moment (a rolling deploy) take turns: the first applies the migrations, the others wait, then find
/// nothing to do. A migration that fails leaves the schema as it was.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), MigrateError> {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        refuse_newer_schema(db).await?;
        return Ok(Migrator::up(db, None).await?);
    }
    let txn = db.begin().await?;
    lock_until_commit(&txn, MIGRATION_LOCK).await?;
    refuse_newer_schema(&txn).await?;
    Migrator::up(&txn, None).await?;
    txn.commit().await?;
    Ok(())
}

/// On PostgreSQL, takes the advisory lock `key` until the transaction `db` ends, waiting for any other
/// holder; elsewhere does nothing (SQLite writers are one at a time anyway).
pub async fn lock_until_commit(db: &impl ConnectionTrait, key: i64) -> Result<(), DbErr> {
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let lock =
            Statement::from_sql_and_values(DatabaseBackend::Postgres, "SELECT pg_advisory_xact_lock($1)", [key.into()]);
        db.execute_raw(lock).await?;
    }
    Ok(())
}

/// Whether the database records migrations: a database no Latchkey has migrated holds no deployment.
pub async fn is_migrated(db: &impl ConnectionTrait) -> bool {
    has_migrations_table(db).await.unwrap_or(false)
}

async fn has_migrations_table(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let backend = db.get_database_backend();
    let present = match backend {
        DatabaseBackend::Postgres => "SELECT to_regclass('seaql_migrations') IS NOT NULL AS present",
        _ => {
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'seaql_migrations') AS present"
        }
    };
    let row = db.query_one_raw(Statement::from_string(backend, present)).await?;
    Ok(row.map(|row| row.try_get::<bool>("", "present")).transpose()?.unwrap_or(false))
}

/// Fails with [`MigrateError::NewerSchema`] when the database records a migration this binary lacks.
async fn refuse_newer_schema(db: &impl ConnectionTrait) -> Result<(), MigrateError> {
    let backend = db.get_database_backend();
    if !has_migrations_table(db).await? {
        return Ok(());
    }
    let known: Vec<String> = Migrator::migrations().iter().map(|migration| migration.name().to_owned()).collect();
    let applied = db.query_all_raw(Statement::from_string(backend, "SELECT version FROM seaql_migrations")).await?;
    for row in applied {
        let version: String = row.try_get("", "version")?;
        if !known.contains(&version) {
            return Err(MigrateError::NewerSchema(version));
        }
    }
    Ok(())
}

/// Begins a transaction that will write. On SQLite it takes the write lock at once (`BEGIN IMMEDIATE`), so it
/// waits its turn under the busy timeout: a deferred transaction that reads first fails with `SQLITE_BUSY`,
/// without waiting, when another connection wrote in between — and the usage flush writes every second.
pub async fn begin_write<C: sea_orm::TransactionTrait>(db: &C) -> Result<C::Transaction, sea_orm::DbErr> {
    let options = sea_orm::TransactionOptions {
        sqlite_transaction_mode: Some(sea_orm::SqliteTransactionMode::Immediate),
        ..sea_orm::TransactionOptions::default()
    };
    db.begin_with_options(options).await
}

/// How busy the connection pool is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolUse {
    /// Connections open, idle or lent out.
    pub open: u32,
    /// Open connections not lent out.
    pub idle: u32,
    /// Most connections the pool opens.
    pub max: u32,
}

/// The pool's use now; `None` for a connection that is not a pool (a mock, a proxy).
pub fn pool_use(db: &DatabaseConnection) -> Option<PoolUse> {
    let (open, idle, max) = match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size(), pool.num_idle(), pool.options().get_max_connections())
        }
        _ => return None,
    };
    Some(PoolUse { open, idle: u32::try_from(idle).unwrap_or(u32::MAX), max })
}
