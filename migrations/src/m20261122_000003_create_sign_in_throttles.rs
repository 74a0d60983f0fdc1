use sea_orm_migration::{prelude::*, schema::*};

/// Failed sign-in counters, one row per throttled subject (an email address or a client IP). Kept in the
/// database rather than in memory so that every instance sharing the database counts the same failures.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(SignInThrottles::Table)
                    .if_not_exists()
                    .col(string_len(SignInThrottles::Subject, 300).primary_key())
                    .col(integer(SignInThrottles::Failures))
                    .col(timestamp_with_time_zone(SignInThrottles::LastFailureAt))
                    .col(timestamp_with_time_zone_null(SignInThrottles::BlockedUntil))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(SignInThrottles::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum SignInThrottles {
    Table,
    Subject,
    Failures,
    LastFailureAt,
    BlockedUntil,
}
