use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

/// Invitations are mailed to the invited address. The mailed link has a secret of its own, drawn when the
/// message is sent (like a verification link), so that the link shown to the inviter and the one in the
/// mailbox both work and a queued message never holds a secret. Only its SHA-256 is stored.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Invitations::Table)
                    .add_column(string_len_null(Invitations::MailedTokenHash, 64))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_invitations_mailed_token_hash")
                    .table(Invitations::Table)
                    .col(Invitations::MailedTokenHash)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(Index::drop().name("idx_invitations_mailed_token_hash").table(Invitations::Table).to_owned())
            .await?;
        manager
            .alter_table(Table::alter().table(Invitations::Table).drop_column(Invitations::MailedTokenHash).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    MailedTokenHash,
}
