use sea_orm_migration::{prelude::*, schema::*};

/// Customer and operator accounts. Emails are stored trimmed and lower-cased, so a plain unique index is
/// enough to keep them unique.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Accounts::Table)
                    .if_not_exists()
                    .col(string_len(Accounts::Id, 36).primary_key())
                    .col(string_len_uniq(Accounts::Email, 254))
                    .col(string(Accounts::PasswordHash))
                    .col(boolean(Accounts::IsOperator).default(false))
                    .col(timestamp_with_time_zone(Accounts::CreatedAt))
                    .col(timestamp_with_time_zone(Accounts::PasswordChangedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(Accounts::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    PasswordHash,
    IsOperator,
    CreatedAt,
    PasswordChangedAt,
}
