//! Key changes across instances. Every change to a key (or to the service tokens, the JWT signing keys or
//! issued access tokens) is recorded in the `key_changes` feed in the same transaction as the change itself; every
//! instance follows the feed and drops what it cached about the changed key. Following is a poll of the
//! feed's monotonic sequence at least once a second; on PostgreSQL a `NOTIFY` at commit wakes followers at
//! once, and a follower whose listening connection was lost forgets everything it cached. So a lost
//! notification delays a revocation by at most one poll interval and can never leave a revoked key valid.

mod follow;

pub use follow::{FollowSettings, follow};

use crate::domain::jwt::{IssuedTokens, SigningKeyError, SigningKeys};
use crate::domain::keys::format::KeyHash;
use crate::domain::service_tokens::TokenCache;
use crate::domain::storage::key_changes::{self, Column, Entity};
use crate::domain::verification::KeyCache;
use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    Statement,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

/// The PostgreSQL notification channel followers listen on.
pub const CHANNEL: &str = "latchkey_key_changes";

/// The longest poll interval allowed; the default.
pub const MAX_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// How long recorded changes are kept. A follower that could not read the feed for half this long
/// forgets everything it cached rather than trust that it saw every change.
pub const KEEP_CHANGES: Duration = Duration::from_secs(3600);

/// The transaction-scoped advisory lock that orders writers of the feed (the ASCII of "lk-feed!").
const FEED_LOCK: i64 = 0x6c6b_2d66_6565_6421;

/// Most changes read in one query.
const BATCH: u64 = 1000;

/// One change.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A key changed (created, edited, rolled, revoked): forget its hash.
    Key(&'a KeyHash),
    /// Many keys changed at once (an account was deleted): forget every key.
    AllKeys,
    /// A service token was revoked: forget every token check.
    ServiceTokens,
    /// The JWT signing keys were generated or rotated: read them again.
    SigningKeys,
    /// One access token was revoked (its `jti`): forget its state.
    Token(&'a str),
    /// Tokens of a key or an organisation were ended: forget every token's state.
    Tokens,
}

impl Change<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Self::Key(_) => "key",
            Self::AllKeys => "all_keys",
            Self::ServiceTokens => "service_tokens",
            Self::SigningKeys => "signing_keys",
            Self::Token(_) => "token",
            Self::Tokens => "tokens",
        }
    }
}

/// Records `changes` in the feed. Call it inside the transaction that makes them, as its last statement
/// before the commit.
///
/// On PostgreSQL sequence numbers are handed out in call order, not commit order; a follower that saw
/// number 11 would never look back for a 10 committed later. So writers of the feed take one
/// transaction-scoped lock first, which makes the numbers commit in order; the lock is held only from
/// here to the commit. The notification is delivered at the commit, never before the change is visible.
/// On SQLite writers are already one at a time (`BEGIN IMMEDIATE`).
pub async fn record(db: &impl ConnectionTrait, now: DateTime<Utc>, changes: &[Change<'_>]) -> Result<(), DbErr> {
    crate::domain::database::lock_until_commit(db, FEED_LOCK).await?;
    let rows = changes.iter().map(|change| key_changes::ActiveModel {
        seq: sea_orm::NotSet,
        kind: Set(change.kind().to_owned()),
        key_hash: Set(match change {
            Change::Key(hash) => Some(hash.to_hex()),
            _ => None,
        }),
        token_id: Set(match change {
            Change::Token(jti) => Some((*jti).to_owned()),
            _ => None,
        }),
        changed_at: Set(now),
    });
    Entity::insert_many(rows).exec_without_returning(db).await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        let notify =
            Statement::from_sql_and_values(DatabaseBackend::Postgres, "SELECT pg_notify($1, '')", [CHANNEL.into()]);
        db.execute_raw(notify).await?;
    }
    Ok(())
}

/// Deletes changes recorded before `before`; any instance may do it.
pub async fn prune(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    Ok(Entity::delete_many().filter(Column::ChangedAt.lt(before)).exec(db).await?.rows_affected)
}

/// The caches of one instance that the feed keeps fresh.
#[derive(Debug, Clone)]
pub struct Caches {
    /// The verification engine's key cache.
    pub keys: Arc<KeyCache>,
    /// Recent service-token checks.
    pub tokens: Arc<TokenCache>,
    /// The JWT signing keys.
    pub signing_keys: Arc<SigningKeys>,
    /// What is known of issued access tokens.
    pub issued_tokens: Arc<IssuedTokens>,
}

impl Caches {
    /// Forgets everything cached (the signing keys are read again at the next catch-up).
    pub fn forget_everything(&self) {
        self.keys.clear();
        self.tokens.clear();
        self.signing_keys.mark_stale();
        self.issued_tokens.forget_all();
        self.issued_tokens.forget_signatures();
    }
}

/// What one catch-up did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Changes applied.
    pub applied: usize,
    /// Whether everything cached was forgotten (the follower had been away too long).
    pub forgot_everything: bool,
}

/// When an instance last read the feed to its end: how far behind its caches may be, for the operator's
/// metrics. Shared between the follower and whoever reports it.
#[derive(Debug, Clone)]
pub struct FeedStatus(Arc<AtomicI64>);

impl FeedStatus {
    fn new(now: DateTime<Utc>) -> Self {
        Self(Arc::new(AtomicI64::new(now.timestamp_millis())))
    }

    fn caught_up(&self, at: DateTime<Utc>) {
        self.0.store(at.timestamp_millis(), Ordering::Relaxed);
    }

    /// How long ago the feed was last read to its end: a change made elsewhere since may not have reached
    /// this instance's caches yet. Near the poll interval when all is well; growing when the database is out
    /// of reach.
    pub fn lag(&self, now: DateTime<Utc>) -> std::time::Duration {
        let millis = now.timestamp_millis().saturating_sub(self.0.load(Ordering::Relaxed));
        std::time::Duration::from_millis(u64::try_from(millis).unwrap_or(0))
    }
}

/// Follows the feed for one instance's caches.
#[derive(Debug)]
pub struct Follower {
    caches: Caches,
    last_seq: i64,
    last_read: Instant,
    status: FeedStatus,
}

impl Follower {
    /// Starts following at the feed's current end: what the caches hold was read after it.
    pub async fn start(db: &impl ConnectionTrait, caches: Caches) -> Result<Self, DbErr> {
        let last = Entity::find().order_by_desc(Column::Seq).one(db).await?;
        Ok(Self {
            caches,
            last_seq: last.map_or(0, |row| row.seq),
            last_read: Instant::now(),
            status: FeedStatus::new(Utc::now()),
        })
    }

    /// When this follower last read the feed to its end.
    pub fn status(&self) -> FeedStatus {
        self.status.clone()
    }

    /// The caches followed.
    pub fn caches(&self) -> &Caches {
        &self.caches
    }

    /// The last change applied.
    pub fn last_seq(&self) -> i64 {
        self.last_seq
    }

    /// Applies every change recorded since the last one applied.
    pub async fn catch_up(&mut self, db: &impl ConnectionTrait) -> Result<CatchUp, DbErr> {
        let mut done = CatchUp::default();
        // Changes older than the feed keeps may be gone: the gap cannot be read, so start afresh.
        if self.last_read.elapsed() > KEEP_CHANGES / 2 {
            self.caches.forget_everything();
            done.forgot_everything = true;
        }
        loop {
            let rows = Entity::find()
                .filter(Column::Seq.gt(self.last_seq))
                .order_by_asc(Column::Seq)
                .limit(BATCH)
                .all(db)
                .await?;
            let full = rows.len() as u64 == BATCH;
            for row in rows {
                match (row.kind.as_str(), row.key_hash, row.token_id) {
                    ("key", Some(hash), _) => self.caches.keys.invalidate(&KeyHash::from_stored(&hash)),
                    ("service_tokens", ..) => self.caches.tokens.clear(),
                    ("signing_keys", ..) => {
                        self.caches.signing_keys.mark_stale();
                        self.caches.issued_tokens.forget_signatures();
                    }
                    ("token", _, Some(jti)) => self.caches.issued_tokens.forget(&jti),
                    ("tokens", ..) => self.caches.issued_tokens.forget_all(),
                    // `all_keys`, and anything a newer version records that this one does not know.
                    _ => {
                        self.caches.keys.clear();
                        self.caches.issued_tokens.forget_all();
                    }
                }
                self.last_seq = row.seq;
                done.applied += 1;
            }
            if !full {
                break;
            }
        }
        self.caches.signing_keys.refresh(db).await.map_err(|err| match err {
            SigningKeyError::Database(err) => err,
            other => DbErr::Custom(other.to_string()),
        })?;
        self.last_read = Instant::now();
        self.status.caught_up(Utc::now());
        Ok(done)
    }
}
