use sea_orm_migration::{prelude::*, schema::*};

/// API keys. Only the SHA-256 of a key is stored (unique: lookups go by it), never the key. Scopes, metadata
/// and the IP allowlist are JSON text so the schema is the same on SQLite and PostgreSQL.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ApiKeys::Table)
                    .if_not_exists()
                    .col(string_len(ApiKeys::Id, 36).primary_key())
                    .col(string_len(ApiKeys::AccountId, 36))
                    .col(string_len_uniq(ApiKeys::KeyHash, 64))
                    .col(string_len(ApiKeys::Hint, 32))
                    .col(string_len(ApiKeys::Name, 64))
                    .col(text(ApiKeys::Scopes))
                    .col(timestamp_with_time_zone(ApiKeys::CreatedAt))
                    .col(timestamp_with_time_zone(ApiKeys::UpdatedAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                    .col(string_len_null(ApiKeys::RolledInto, 36))
                    .col(timestamp_with_time_zone_null(ApiKeys::RolledAt))
                    .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                    .col(string_len_null(ApiKeys::LastUsedIp, 45))
                    .col(text_null(ApiKeys::Meta))
                    .col(text_null(ApiKeys::IpAllowlist))
                    .col(integer_null(ApiKeys::RatelimitLimit))
                    .col(integer_null(ApiKeys::RatelimitWindowSeconds))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_api_keys_account")
                            .from(ApiKeys::Table, ApiKeys::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_account_created")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::AccountId)
                    .col(ApiKeys::CreatedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
    AccountId,
    KeyHash,
    Hint,
    Name,
    Scopes,
    CreatedAt,
    UpdatedAt,
    ExpiresAt,
    RevokedAt,
    RolledInto,
    RolledAt,
    LastUsedAt,
    LastUsedIp,
    Meta,
    IpAllowlist,
    RatelimitLimit,
    RatelimitWindowSeconds,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}
