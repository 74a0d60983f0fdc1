use sea_orm_migration::{prelude::*, schema::*};

/// Usage kept ready for the pages that read it at scale, so that an organisation of ten thousand keys
/// costs them what one of ten does:
///
/// - `organisation_usage` and `organisation_usage_daily`: verifications per organisation, per hour or day,
///   per code, written beside the per-key buckets by the usage flush and the rollup (and filled here from
///   them). Charts of an organisation, and the operator's totals per organisation, read a few dozen rows.
/// - an index of `key_usage` by code and hour, for the operator's recent refusals.
/// - `key_usage_windows`: each key's totals over the sliding last 24 hours (`granularity` `hour`) and last 30
///   days (`day`), which the usage overview ranks keys by. `usage_rollups` says where each window starts;
///   empty here, the rollup job builds both windows on its first run.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for (table, time) in [
            (OrganisationUsage::Table, OrganisationUsage::Hour),
            (OrganisationUsage::DailyTable, OrganisationUsage::Day),
        ] {
            manager
                .create_table(
                    Table::create()
                        .table(table)
                        .if_not_exists()
                        .col(string_len(OrganisationUsage::OrganisationId, 36))
                        .col(timestamp_with_time_zone(time))
                        .col(string_len(OrganisationUsage::Code, 24))
                        .col(big_integer(OrganisationUsage::Count))
                        .primary_key(
                            Index::create()
                                .col(OrganisationUsage::OrganisationId)
                                .col(time)
                                .col(OrganisationUsage::Code),
                        )
                        .foreign_key(
                            ForeignKey::create()
                                .from(table, OrganisationUsage::OrganisationId)
                                .to(Organisations::Table, Organisations::Id)
                                .on_delete(ForeignKeyAction::Cascade),
                        )
                        .to_owned(),
                )
                .await?;
        }
        // Retention and the operator's reads across every organisation go by time.
        manager
            .create_index(
                Index::create()
                    .name("idx_organisation_usage_hour")
                    .table(OrganisationUsage::Table)
                    .col(OrganisationUsage::Hour)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_organisation_usage_daily_day")
                    .table(OrganisationUsage::DailyTable)
                    .col(OrganisationUsage::Day)
                    .to_owned(),
            )
            .await?;
        for (to, from, time) in [
            (OrganisationUsage::Table, KeyUsage::Table, OrganisationUsage::Hour),
            (OrganisationUsage::DailyTable, KeyUsage::DailyTable, OrganisationUsage::Day),
        ] {
            manager
                .exec_stmt(
                    Query::insert()
                        .into_table(to)
                        .columns([
                            OrganisationUsage::OrganisationId,
                            time,
                            OrganisationUsage::Code,
                            OrganisationUsage::Count,
                        ])
                        .select_from(
                            Query::select()
                                .column(KeyUsage::OrganisationId)
                                .column(time)
                                .column(KeyUsage::Code)
                                .expr(Func::cast_as(Func::sum(Expr::col(KeyUsage::Count)), Alias::new("bigint")))
                                .from(from)
                                .group_by_col(KeyUsage::OrganisationId)
                                .group_by_col(time)
                                .group_by_col(KeyUsage::Code)
                                .to_owned(),
                        )
                        .map_err(|err| DbErr::Migration(err.to_string()))?
                        .to_owned(),
                )
                .await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(KeyUsageWindows::Table)
                    .if_not_exists()
                    .col(string_len(KeyUsageWindows::KeyId, 36))
                    .col(string_len(KeyUsageWindows::Granularity, 8))
                    .col(string_len(KeyUsageWindows::Code, 24))
                    .col(string_len(KeyUsageWindows::OrganisationId, 36))
                    .col(big_integer(KeyUsageWindows::Count))
                    .primary_key(
                        Index::create()
                            .col(KeyUsageWindows::KeyId)
                            .col(KeyUsageWindows::Granularity)
                            .col(KeyUsageWindows::Code),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(KeyUsageWindows::Table, KeyUsageWindows::KeyId)
                            .to(ApiKeys::Table, ApiKeys::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The usage overview reads one organisation's window from index entries alone.
        manager
            .create_index(
                Index::create()
                    .name("idx_key_usage_windows_organisation")
                    .table(KeyUsageWindows::Table)
                    .col(KeyUsageWindows::OrganisationId)
                    .col(KeyUsageWindows::Granularity)
                    .col(KeyUsageWindows::KeyId)
                    .col(KeyUsageWindows::Code)
                    .col(KeyUsageWindows::Count)
                    .to_owned(),
            )
            .await?;
        // The operator's recent refusals: a few thousand rows of a day, among hundreds of thousands of valid ones.
        manager
            .create_index(
                Index::create()
                    .name("idx_key_usage_code_hour")
                    .table(KeyUsage::Table)
                    .col(KeyUsage::Code)
                    .col(KeyUsage::Hour)
                    .to_owned(),
            )
            .await?;
        for column in [UsageRollups::HourWindowFrom, UsageRollups::DayWindowFrom] {
            manager
                .alter_table(
                    Table::alter()
                        .table(UsageRollups::Table)
                        .add_column(timestamp_with_time_zone_null(column))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("idx_key_usage_code_hour").table(KeyUsage::Table).to_owned()).await?;
        for column in [UsageRollups::DayWindowFrom, UsageRollups::HourWindowFrom] {
            manager.alter_table(Table::alter().table(UsageRollups::Table).drop_column(column).to_owned()).await?;
        }
        for table in [
            KeyUsageWindows::Table.into_iden(),
            OrganisationUsage::DailyTable.into_iden(),
            OrganisationUsage::Table.into_iden(),
        ] {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden, Clone, Copy)]
enum OrganisationUsage {
    Table,
    #[sea_orm(iden = "organisation_usage_daily")]
    DailyTable,
    OrganisationId,
    Hour,
    Day,
    Code,
    Count,
}

#[derive(DeriveIden)]
enum KeyUsage {
    Table,
    #[sea_orm(iden = "key_usage_daily")]
    DailyTable,
    OrganisationId,
    Hour,
    Code,
    Count,
}

#[derive(DeriveIden)]
enum KeyUsageWindows {
    Table,
    KeyId,
    Granularity,
    Code,
    OrganisationId,
    Count,
}

#[derive(DeriveIden)]
enum UsageRollups {
    Table,
    HourWindowFrom,
    DayWindowFrom,
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Id,
}
