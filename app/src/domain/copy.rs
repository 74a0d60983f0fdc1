//! Copying a deployment's data into another database: how a SQLite deployment moves to PostgreSQL.
//! Accounts, organisations with their members and invitations, the operator audit log, keys, service tokens,
//! JWT signing keys, activity and usage (staged counts not yet folded too) are copied row for row in one
//! transaction on the target, so a failed copy leaves the target as empty as it was. Sessions are not copied
//! (people sign in again), nor unused portal links, nor sign-in throttles or the key change feed, which only matter to running
//! instances.

use crate::domain::storage::{
    account_identities, accounts, activity_events, api_keys, invitations, key_usage, key_usage_daily,
    key_usage_windows, memberships, operator_events, organisation_usage, organisation_usage_daily, organisations,
    service_tokens, signing_keys, usage_rollups, usage_staged,
};
use migrations::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, DatabaseConnection, DbErr, EntityTrait, IntoActiveModel, Iterable, PaginatorTrait,
    PrimaryKeyToColumn, QueryOrder,
};

/// Rows read and written at a time.
const PAGE: u64 = 500;

/// Why nothing was copied.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// The source's schema is older than this Latchkey's.
    #[error("the source database is not up to date; run `latchkey migrate` against it first ({0} pending)")]
    SourceBehind(usize),
    /// The target already holds a deployment.
    #[error("the target database already holds {accounts} accounts and {keys} keys; copy into an empty database")]
    TargetNotEmpty {
        /// Accounts found.
        accounts: u64,
        /// Keys found.
        keys: u64,
    },
    /// A database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// How many rows of each table were copied, in copy order.
pub type CopyReport = Vec<(&'static str, u64)>;

/// Copies everything from `from` into `to`; `to` must be migrated and hold no accounts or keys.
pub async fn copy_deployment(from: &DatabaseConnection, to: &DatabaseConnection) -> Result<CopyReport, CopyError> {
    let pending = Migrator::get_pending_migrations_read_only(from).await?.len();
    if pending > 0 {
        return Err(CopyError::SourceBehind(pending));
    }
    let (accounts, keys) = (accounts::Entity::find().count(to).await?, api_keys::Entity::find().count(to).await?);
    if accounts > 0 || keys > 0 {
        return Err(CopyError::TargetNotEmpty { accounts, keys });
    }
    let txn = crate::domain::database::begin_write(to).await?;
    // The target's migration seeded the rollup boundary; the source's own replaces it.
    usage_rollups::Entity::delete_many().exec(&txn).await?;
    // Tokens signed by the source's keys must keep verifying; keys the target made when it was started
    // empty have signed nothing that matters.
    signing_keys::Entity::delete_many().exec(&txn).await?;
    // Parents before children, for the foreign keys.
    let report = vec![
        ("accounts", copy_table::<accounts::Entity>(from, &txn).await?),
        ("account_identities", copy_table::<account_identities::Entity>(from, &txn).await?),
        ("organisations", copy_table::<organisations::Entity>(from, &txn).await?),
        ("memberships", copy_table::<memberships::Entity>(from, &txn).await?),
        ("invitations", copy_table::<invitations::Entity>(from, &txn).await?),
        ("operator_events", copy_table::<operator_events::Entity>(from, &txn).await?),
        ("api_keys", copy_table::<api_keys::Entity>(from, &txn).await?),
        ("service_tokens", copy_table::<service_tokens::Entity>(from, &txn).await?),
        ("signing_keys", copy_table::<signing_keys::Entity>(from, &txn).await?),
        ("activity_events", copy_table::<activity_events::Entity>(from, &txn).await?),
        ("key_usage", copy_table::<key_usage::Entity>(from, &txn).await?),
        ("key_usage_daily", copy_table::<key_usage_daily::Entity>(from, &txn).await?),
        ("organisation_usage", copy_table::<organisation_usage::Entity>(from, &txn).await?),
        ("organisation_usage_daily", copy_table::<organisation_usage_daily::Entity>(from, &txn).await?),
        ("key_usage_windows", copy_table::<key_usage_windows::Entity>(from, &txn).await?),
        ("usage_rollups", copy_table::<usage_rollups::Entity>(from, &txn).await?),
        ("usage_staged", copy_table::<usage_staged::Entity>(from, &txn).await?),
    ];
    sea_orm::TransactionSession::commit(txn).await?;
    Ok(report)
}

/// Copies every row of `E`, a page at a time in primary-key order.
async fn copy_table<E>(from: &DatabaseConnection, to: &impl sea_orm::ConnectionTrait) -> Result<u64, DbErr>
where
    E: EntityTrait,
    E::Model: IntoActiveModel<E::ActiveModel> + Sync,
    E::ActiveModel: ActiveModelTrait<Entity = E> + Send,
{
    let mut query = E::find();
    for key in E::PrimaryKey::iter() {
        query = query.order_by_asc(key.into_column());
    }
    let mut pages = query.paginate(from, PAGE);
    let mut copied = 0;
    while let Some(rows) = pages.fetch_and_next().await? {
        if rows.is_empty() {
            break;
        }
        copied += rows.len() as u64;
        E::insert_many(rows.into_iter().map(IntoActiveModel::into_active_model)).exec_without_returning(to).await?;
    }
    Ok(copied)
}
