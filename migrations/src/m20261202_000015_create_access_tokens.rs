use sea_orm_migration::{prelude::*, schema::*};

/// The ledger of issued access tokens (so that a token can be introspected and revoked, and dies with its
/// key), and the token a change in the feed concerns.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // No foreign keys: a token's row outlives a deleted key or organisation, marked revoked, until the
        // token expires, so that the revocation list still names it.
        manager
            .create_table(
                Table::create()
                    .table(AccessTokens::Table)
                    .if_not_exists()
                    .col(string_len(AccessTokens::Jti, 32).primary_key())
                    .col(string_len(AccessTokens::KeyId, 36))
                    .col(string_len(AccessTokens::OrganisationId, 36))
                    .col(timestamp_with_time_zone(AccessTokens::IssuedAt))
                    .col(timestamp_with_time_zone(AccessTokens::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccessTokens::RevokedAt))
                    .col(string_len_null(AccessTokens::RevokedBecause, 40))
                    .to_owned(),
            )
            .await?;
        let indexes = [
            ("access_tokens_key", vec![AccessTokens::KeyId, AccessTokens::ExpiresAt]),
            ("access_tokens_organisation", vec![AccessTokens::OrganisationId, AccessTokens::ExpiresAt]),
            ("access_tokens_expiry", vec![AccessTokens::ExpiresAt]),
            ("access_tokens_revoked", vec![AccessTokens::RevokedAt, AccessTokens::ExpiresAt]),
        ];
        for (name, columns) in indexes {
            let mut index = Index::create().name(name).table(AccessTokens::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            manager.create_index(index).await?;
        }
        let mut column = string_len_null(KeyChanges::TokenId, 32);
        manager.alter_table(Table::alter().table(KeyChanges::Table).add_column(&mut column).to_owned()).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table(KeyChanges::Table).drop_column(KeyChanges::TokenId).to_owned())
            .await?;
        manager.drop_table(Table::drop().table(AccessTokens::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum AccessTokens {
    Table,
    Jti,
    KeyId,
    OrganisationId,
    IssuedAt,
    ExpiresAt,
    RevokedAt,
    RevokedBecause,
}

#[derive(DeriveIden)]
enum KeyChanges {
    Table,
    TokenId,
}
