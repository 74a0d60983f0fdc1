use sea_orm_migration::{prelude::*, schema::*};

/// Usage counts reach the database in two steps: each instance writes what it counted, every second, as
/// plain rows here (an insert that waits for nobody), and then folds staged rows into the usage tables
/// (upserts that two instances, the rollup and a busy database can make slow). Counts are safe once staged,
/// so a process that dies loses at most what it counted since its last staging, however slow folding is.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UsageStaged::Table)
                    .if_not_exists()
                    .col(string_len(UsageStaged::Id, 36).primary_key())
                    .col(string_len(UsageStaged::KeyId, 36))
                    .col(timestamp_with_time_zone(UsageStaged::Hour))
                    .col(string_len(UsageStaged::Code, 24))
                    .col(big_integer(UsageStaged::Count))
                    .col(timestamp_with_time_zone(UsageStaged::LastUsedAt))
                    .col(string_len_null(UsageStaged::LastUsedIp, 45))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(UsageStaged::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum UsageStaged {
    Table,
    Id,
    KeyId,
    Hour,
    Code,
    Count,
    LastUsedAt,
    LastUsedIp,
}
