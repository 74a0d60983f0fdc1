use sea_orm_migration::prelude::*;

/// The keys page sorts an organisation's keys by last use; with thousands of keys, this index lets the
/// database read one page in order instead of sorting them all.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("idx_api_keys_organisation_last_used")
                    .table(ApiKeys::Table)
                    .col(ApiKeys::OrganisationId)
                    .col(ApiKeys::LastUsedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_api_keys_organisation_last_used").table(ApiKeys::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    OrganisationId,
    LastUsedAt,
}
