//! A tower-sessions store on the application's own database, so that any instance sharing the database
//! serves any browser. Rows are keyed by the SHA-256 of the session id: the id itself, which is the
//! bearer credential in the cookie, never reaches the database.

use crate::domain::clock::SharedClock;
use crate::domain::storage::sessions::{ActiveModel, Column, Entity};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter, Set, SqlErr};
use sha2::{Digest, Sha256};
use std::fmt;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// The data key holding the signed-in account's id; copied into its own column on save.
pub const ACCOUNT_ID_KEY: &str = "account_id";

/// Sessions in the `sessions` table.
#[derive(Clone)]
pub struct DatabaseSessionStore {
    db: DatabaseConnection,
    clock: SharedClock,
}

impl fmt::Debug for DatabaseSessionStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseSessionStore")
    }
}

impl DatabaseSessionStore {
    /// A store on `db`, telling expired sessions by `clock`.
    pub fn new(db: DatabaseConnection, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Deletes every expired session; run periodically.
    pub async fn delete_expired(&self) -> Result<u64, DbErr> {
        let result = Entity::delete_many().filter(Column::ExpiresAt.lt(self.clock.now())).exec(&self.db).await?;
        Ok(result.rows_affected)
    }

    /// Ends every session of `account_id` except `keep` (the caller's own, when it should survive).
    pub async fn delete_for_account(&self, account_id: &str, keep: Option<Id>) -> Result<u64, DbErr> {
        let mut query = Entity::delete_many().filter(Column::AccountId.eq(account_id));
        if let Some(keep) = keep {
            query = query.filter(Column::IdHash.ne(id_hash(&keep)));
        }
        Ok(query.exec(&self.db).await?.rows_affected)
    }

    async fn insert(&self, record: &Record) -> Result<(), DbErr> {
        Entity::insert(to_row(record, self.clock.now())?).exec_without_returning(&self.db).await.map(|_| ())
    }
}

/// Hex SHA-256 of a session id, the form in which ids are stored.
pub fn id_hash(id: &Id) -> String {
    hex::encode(Sha256::digest(id.to_string().as_bytes()))
}

fn to_row(record: &Record, now: DateTime<Utc>) -> Result<ActiveModel, DbErr> {
    let data = serde_json::to_string(&record.data).map_err(|err| DbErr::Custom(err.to_string()))?;
    let account_id = record.data.get(ACCOUNT_ID_KEY).and_then(|v| v.as_str()).map(str::to_owned);
    // tower-sessions dates the expiry by the system clock; keep the remaining lifetime but measure it
    // on our clock, the one `load` compares against.
    let remaining = (record.expiry_date - time::OffsetDateTime::now_utc()).whole_seconds();
    let expires_at = now + chrono::Duration::seconds(remaining);
    Ok(ActiveModel {
        id_hash: Set(id_hash(&record.id)),
        account_id: Set(account_id),
        data: Set(data),
        expires_at: Set(expires_at),
    })
}

fn backend(err: DbErr) -> session_store::Error {
    session_store::Error::Backend(err.to_string())
}

#[async_trait]
impl SessionStore for DatabaseSessionStore {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // 128-bit ids practically never collide, but if one does, draw another rather than overwrite.
        loop {
            match self.insert(record).await {
                Ok(()) => return Ok(()),
                Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                    record.id = Id::default();
                }
                Err(err) => return Err(backend(err)),
            }
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        Entity::insert(to_row(record, self.clock.now()).map_err(backend)?)
            .on_conflict(
                OnConflict::column(Column::IdHash)
                    .update_columns([Column::AccountId, Column::Data, Column::ExpiresAt])
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await
            .map_err(backend)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let Some(row) = Entity::find_by_id(id_hash(id)).one(&self.db).await.map_err(backend)? else {
            return Ok(None);
        };
        if row.expires_at <= self.clock.now() {
            return Ok(None);
        }
        let data = serde_json::from_str(&row.data).map_err(|err| session_store::Error::Decode(err.to_string()))?;
        let remaining = time::Duration::seconds((row.expires_at - self.clock.now()).num_seconds());
        let expiry_date = time::OffsetDateTime::now_utc() + remaining;
        Ok(Some(Record { id: *id, data, expiry_date }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        Entity::delete_by_id(id_hash(id)).exec(&self.db).await.map_err(backend)?;
        Ok(())
    }
}
