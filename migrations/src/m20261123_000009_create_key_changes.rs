use sea_orm_migration::{prelude::*, schema::*};

/// The change feed other instances follow: one row per change to a key or service token, numbered by a
/// monotonic sequence. Instances poll it for rows past the last number they applied (and, on PostgreSQL,
/// are woken by a notification), so a revocation through one instance reaches every other one's cache.
/// Rows are kept for an hour; the time index serves that pruning.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(KeyChanges::Table)
                    .if_not_exists()
                    .col(big_pk_auto(KeyChanges::Seq))
                    .col(string_len(KeyChanges::Kind, 16))
                    .col(string_len_null(KeyChanges::KeyHash, 64))
                    .col(timestamp_with_time_zone(KeyChanges::ChangedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_key_changes_changed_at")
                    .table(KeyChanges::Table)
                    .col(KeyChanges::ChangedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(KeyChanges::Table).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum KeyChanges {
    Table,
    Seq,
    Kind,
    KeyHash,
    ChangedAt,
}
