use sea_orm_migration::{prelude::*, schema::*};

/// Events out and leaks in: webhook endpoints (an organisation's own, or the operator's for every
/// organisation), the events written with the changes they describe, one delivery row per event and
/// endpoint (the claimed-row queue), the log of every attempt, and where a key was found in public.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            timestamp_with_time_zone_null(ApiKeys::LeakedAt),
            string_len_null(ApiKeys::LeakUrl, 2048),
            string_len_null(ApiKeys::LeakSource, 100),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(ApiKeys::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(WebhookEndpoints::Table)
                    .if_not_exists()
                    .col(string_len(WebhookEndpoints::Id, 36).primary_key())
                    .col(string_len_null(WebhookEndpoints::OrganisationId, 36))
                    .col(string_len(WebhookEndpoints::Url, 2048))
                    .col(string_len(WebhookEndpoints::Description, 200).default(""))
                    .col(string_len(WebhookEndpoints::EventTypes, 1000).default(""))
                    .col(text(WebhookEndpoints::Secret))
                    .col(text_null(WebhookEndpoints::PreviousSecret))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::PreviousSecretUntil))
                    .col(timestamp_with_time_zone(WebhookEndpoints::CreatedAt))
                    .col(string_len(WebhookEndpoints::CreatedBy, 300))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::DisabledAt))
                    .col(string_len_null(WebhookEndpoints::DisabledReason, 300))
                    .col(timestamp_with_time_zone_null(WebhookEndpoints::FailingSince))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookEndpoints::Table, WebhookEndpoints::OrganisationId)
                            .to(Organisations::Table, Organisations::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_endpoints_organisation")
                    .table(WebhookEndpoints::Table)
                    .col(WebhookEndpoints::OrganisationId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookEvents::Table)
                    .if_not_exists()
                    .col(string_len(WebhookEvents::Id, 40).primary_key())
                    .col(string_len_null(WebhookEvents::OrganisationId, 36))
                    .col(string_len(WebhookEvents::EventType, 40))
                    .col(timestamp_with_time_zone(WebhookEvents::OccurredAt))
                    .col(text(WebhookEvents::Payload))
                    .col(string_len_null(WebhookEvents::DedupeKey, 200).unique_key())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookDeliveries::Table)
                    .if_not_exists()
                    .col(string_len(WebhookDeliveries::Id, 36).primary_key())
                    .col(string_len(WebhookDeliveries::EventId, 40))
                    .col(string_len(WebhookDeliveries::EndpointId, 36))
                    .col(timestamp_with_time_zone(WebhookDeliveries::CreatedAt))
                    .col(timestamp_with_time_zone(WebhookDeliveries::NextAttemptAt))
                    .col(integer(WebhookDeliveries::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::ClaimedUntil))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::DeliveredAt))
                    .col(timestamp_with_time_zone_null(WebhookDeliveries::FailedAt))
                    .col(string_len_null(WebhookDeliveries::LastError, 1000))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EventId)
                            .to(WebhookEvents::Table, WebhookEvents::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookDeliveries::Table, WebhookDeliveries::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_due")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::DeliveredAt)
                    .col(WebhookDeliveries::FailedAt)
                    .col(WebhookDeliveries::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_deliveries_endpoint")
                    .table(WebhookDeliveries::Table)
                    .col(WebhookDeliveries::EndpointId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(WebhookAttempts::Table)
                    .if_not_exists()
                    .col(string_len(WebhookAttempts::Id, 36).primary_key())
                    .col(string_len(WebhookAttempts::DeliveryId, 36))
                    .col(string_len(WebhookAttempts::EndpointId, 36))
                    .col(string_len(WebhookAttempts::EventId, 40))
                    .col(string_len(WebhookAttempts::EventType, 40))
                    .col(timestamp_with_time_zone(WebhookAttempts::AttemptedAt))
                    .col(integer(WebhookAttempts::Attempt))
                    .col(boolean(WebhookAttempts::Succeeded))
                    .col(integer_null(WebhookAttempts::StatusCode))
                    .col(big_integer(WebhookAttempts::LatencyMs))
                    .col(string_len(WebhookAttempts::ResponseExcerpt, 600).default(""))
                    .col(string_len_null(WebhookAttempts::Error, 300))
                    .foreign_key(
                        ForeignKey::create()
                            .from(WebhookAttempts::Table, WebhookAttempts::EndpointId)
                            .to(WebhookEndpoints::Table, WebhookEndpoints::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("webhook_attempts_endpoint")
                    .table(WebhookAttempts::Table)
                    .col(WebhookAttempts::EndpointId)
                    .col(WebhookAttempts::AttemptedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            WebhookAttempts::Table.into_iden(),
            WebhookDeliveries::Table.into_iden(),
            WebhookEvents::Table.into_iden(),
            WebhookEndpoints::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for column in [ApiKeys::LeakSource, ApiKeys::LeakUrl, ApiKeys::LeakedAt] {
            manager.alter_table(Table::alter().table(ApiKeys::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    LeakedAt,
    LeakUrl,
    LeakSource,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum WebhookEndpoints {
    Table,
    Id,
    OrganisationId,
    Url,
    Description,
    EventTypes,
    Secret,
    PreviousSecret,
    PreviousSecretUntil,
    CreatedAt,
    CreatedBy,
    DisabledAt,
    DisabledReason,
    FailingSince,
}

#[derive(DeriveIden)]
enum WebhookEvents {
    Table,
    Id,
    OrganisationId,
    EventType,
    OccurredAt,
    Payload,
    DedupeKey,
}

#[derive(DeriveIden)]
enum WebhookDeliveries {
    Table,
    Id,
    EventId,
    EndpointId,
    CreatedAt,
    NextAttemptAt,
    Attempts,
    ClaimedUntil,
    DeliveredAt,
    FailedAt,
    LastError,
}

#[derive(DeriveIden)]
enum WebhookAttempts {
    Table,
    Id,
    DeliveryId,
    EndpointId,
    EventId,
    EventType,
    AttemptedAt,
    Attempt,
    Succeeded,
    StatusCode,
    LatencyMs,
    ResponseExcerpt,
    Error,
}
