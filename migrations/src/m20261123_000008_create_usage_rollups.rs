use sea_orm_migration::{prelude::*, schema::*};

/// Daily usage totals and the rollup's progress. Hourly buckets of finished days are added into
/// `key_usage_daily` by a background job; `usage_rollups.rolled_until` is the first day not yet rolled up,
/// so every reader knows which table holds which days and nothing is counted twice.
///
/// Both usage tables carry the key's account, with an index that covers account-wide reads (account, time,
/// key, code, count): the usage overview of an account with a thousand keys reads index entries only, with
/// no join and no table lookups.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyUsageDaily::Table)
                    .if_not_exists()
                    .col(string_len(KeyUsageDaily::KeyId, 36))
                    .col(string_len(KeyUsageDaily::AccountId, 36))
                    .col(timestamp_with_time_zone(KeyUsageDaily::Day))
                    .col(string_len(KeyUsageDaily::Code, 24))
                    .col(big_integer(KeyUsageDaily::Count))
                    .primary_key(
                        Index::create().col(KeyUsageDaily::KeyId).col(KeyUsageDaily::Day).col(KeyUsageDaily::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_usage_daily_key")
                            .from(KeyUsageDaily::Table, KeyUsageDaily::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // Operator-wide reads and retention go by time across every key.
        manager
            .create_index(
                Index::create()
                    .name("idx_key_usage_daily_day")
                    .table(KeyUsageDaily::Table)
                    .col(KeyUsageDaily::Day)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_key_usage_daily_account")
                    .table(KeyUsageDaily::Table)
                    .col(KeyUsageDaily::AccountId)
                    .col(KeyUsageDaily::Day)
                    .col(KeyUsageDaily::KeyId)
                    .col(KeyUsageDaily::Code)
                    .col(KeyUsageDaily::Count)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create().name("idx_key_usage_hour").table(KeyUsage::Table).col(KeyUsage::Hour).to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(KeyUsage::Table)
                    .add_column(string_len(KeyUsage::AccountId, 36).default(""))
                    .to_owned(),
            )
            .await?;
        manager
            .exec_stmt(
                Query::update()
                    .table(KeyUsage::Table)
                    .value(
                        KeyUsage::AccountId,
                        SimpleExpr::SubQuery(
                            None,
                            Box::new(
                                Query::select()
                                    .column((ApiKeys::Table, ApiKeys::AccountId))
                                    .from(ApiKeys::Table)
                                    .and_where(
                                        Expr::col((ApiKeys::Table, ApiKeys::Id))
                                            .equals((KeyUsage::Table, KeyUsage::KeyId)),
                                    )
                                    .to_owned()
                                    .into_sub_query_statement(),
                            ),
                        ),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_key_usage_account")
                    .table(KeyUsage::Table)
                    .col(KeyUsage::AccountId)
                    .col(KeyUsage::Hour)
                    .col(KeyUsage::KeyId)
                    .col(KeyUsage::Code)
                    .col(KeyUsage::Count)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(UsageRollups::Table)
                    .if_not_exists()
                    .col(integer(UsageRollups::Id).primary_key())
                    .col(timestamp_with_time_zone(UsageRollups::RolledUntil))
                    .to_owned(),
            )
            .await?;
        // One row, always there: the rollup and the usage flush lock it to agree on the boundary.
        let epoch = sea_orm_migration::sea_orm::prelude::ChronoDateTimeUtc::UNIX_EPOCH;
        manager
            .exec_stmt(
                Query::insert()
                    .into_table(UsageRollups::Table)
                    .columns([UsageRollups::Id, UsageRollups::RolledUntil])
                    .values_panic([1.into(), epoch.into()])
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UsageRollups::Table).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_key_usage_account").table(KeyUsage::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(KeyUsage::Table).drop_column(KeyUsage::AccountId).to_owned()).await?;
        manager.drop_index(Index::drop().name("idx_key_usage_hour").table(KeyUsage::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(KeyUsageDaily::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum KeyUsageDaily {
    Table,
    KeyId,
    AccountId,
    Day,
    Code,
    Count,
}

#[derive(DeriveIden)]
enum KeyUsage {
    Table,
    KeyId,
    AccountId,
    Hour,
    Code,
    Count,
}

#[derive(DeriveIden)]
enum UsageRollups {
    Table,
    Id,
    RolledUntil,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    AccountId,
}
