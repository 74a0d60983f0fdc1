use sea_orm_migration::{prelude::*, schema::*};

/// Service tokens: the credentials the provider's own services present to the `/v1` API. Stored as SHA-256
/// only, like API keys.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ServiceTokens::Table)
                    .if_not_exists()
                    .col(string_len(ServiceTokens::Id, 36).primary_key())
                    .col(string_len(ServiceTokens::Name, 64))
                    .col(string_len_uniq(ServiceTokens::TokenHash, 64))
                    .col(string_len(ServiceTokens::Hint, 32))
                    .col(text(ServiceTokens::Permissions))
                    .col(timestamp_with_time_zone(ServiceTokens::CreatedAt))
                    .col(timestamp_with_time_zone_null(ServiceTokens::RevokedAt))
                    .col(timestamp_with_time_zone_null(ServiceTokens::LastUsedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ServiceTokens::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ServiceTokens {
    Table,
    Id,
    Name,
    TokenHash,
    Hint,
    Permissions,
    CreatedAt,
    RevokedAt,
    LastUsedAt,
}
