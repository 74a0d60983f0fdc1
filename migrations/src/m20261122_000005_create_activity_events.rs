use sea_orm_migration::{prelude::*, schema::*};

/// The account activity log: who did what to which key, from where. Newest-first pages per account are
/// served by the (account_id, occurred_at) index.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ActivityEvents::Table)
                    .if_not_exists()
                    .col(string_len(ActivityEvents::Id, 36).primary_key())
                    .col(string_len(ActivityEvents::AccountId, 36))
                    .col(timestamp_with_time_zone(ActivityEvents::OccurredAt))
                    .col(string_len(ActivityEvents::Kind, 32))
                    .col(string_len(ActivityEvents::Actor, 300))
                    .col(string_len_null(ActivityEvents::KeyId, 36))
                    .col(string_len_null(ActivityEvents::KeyName, 64))
                    .col(text_null(ActivityEvents::Detail))
                    .col(string_len_null(ActivityEvents::ClientIp, 45))
                    .col(string_len_null(ActivityEvents::UserAgent, 256))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_activity_events_account")
                            .from(ActivityEvents::Table, ActivityEvents::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_activity_events_account_time")
                    .table(ActivityEvents::Table)
                    .col(ActivityEvents::AccountId)
                    .col(ActivityEvents::OccurredAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(ActivityEvents::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum ActivityEvents {
    Table,
    Id,
    AccountId,
    OccurredAt,
    Kind,
    Actor,
    KeyId,
    KeyName,
    Detail,
    ClientIp,
    UserAgent,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
}
