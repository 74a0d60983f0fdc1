use sea_orm_migration::{prelude::*, schema::*};

/// Verification counts per key, per hour, per outcome code: written in batches by the usage flush, read by
/// the usage endpoints. The composite primary key is what the flush's upsert conflicts on.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyUsage::Table)
                    .if_not_exists()
                    .col(string_len(KeyUsage::KeyId, 36))
                    .col(timestamp_with_time_zone(KeyUsage::Hour))
                    .col(string_len(KeyUsage::Code, 24))
                    .col(big_integer(KeyUsage::Count))
                    .primary_key(Index::create().col(KeyUsage::KeyId).col(KeyUsage::Hour).col(KeyUsage::Code))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_key_usage_key")
                            .from(KeyUsage::Table, KeyUsage::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KeyUsage::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum KeyUsage {
    Table,
    KeyId,
    Hour,
    Code,
    Count,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
}
