use sea_orm_migration::{prelude::*, schema::*};

/// Organisations own keys, usage and activity; accounts are their members, with a role; invitations bring
/// new members in; the operator's actions on organisations go to an audit log of their own.
///
/// Every existing account gets an organisation of its own, **with the account's id as the organisation's
/// id**, and is its owner: so every stored `account_id` of a key, a usage row or a log entry is already the
/// right owner, and the move needs no lookup per row. The four tables that named an account are rebuilt
/// (SQLite cannot drop a foreign key in place; PostgreSQL could, but one path on both is one path tested):
/// new tables are made and filled from the old ones, children are dropped before their parents so that no
/// `ON DELETE CASCADE` fires, and the new tables take the old names.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// One transaction on every backend (SQLite's DDL is transactional too): the rebuild happens on one
    /// connection, and a failure part-way leaves the old tables as they were.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        create_organisations(manager).await?;
        create_memberships(manager).await?;
        create_invitations(manager).await?;
        create_operator_events(manager).await?;
        give_every_account_an_organisation(manager).await?;

        create_api_keys(manager, NewApiKeys::Table).await?;
        create_key_usage(manager, NewKeyUsage::Table, "hour").await?;
        create_key_usage(manager, NewKeyUsageDaily::Table, "day").await?;
        create_activity_events(manager, NewActivityEvents::Table).await?;
        copy_api_keys(manager).await?;
        copy_key_usage(manager, KeyUsage::Table, NewKeyUsage::Table, KeyUsage::Hour).await?;
        copy_key_usage(manager, KeyUsageDaily::Table, NewKeyUsageDaily::Table, KeyUsage::Day).await?;
        copy_activity_events(manager).await?;

        // Children first: with them gone, dropping the old keys cascades into nothing.
        for old in [KeyUsageDaily::Table.into_iden(), KeyUsage::Table.into_iden(), ActivityEvents::Table.into_iden()] {
            manager.drop_table(Table::drop().table(old).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(ApiKeys::Table).to_owned()).await?;
        // SQLite rewrites the new usage tables' references to follow the rename of their parent.
        for (from, to) in [
            (NewApiKeys::Table.into_iden(), ApiKeys::Table.into_iden()),
            (NewKeyUsage::Table.into_iden(), KeyUsage::Table.into_iden()),
            (NewKeyUsageDaily::Table.into_iden(), KeyUsageDaily::Table.into_iden()),
            (NewActivityEvents::Table.into_iden(), ActivityEvents::Table.into_iden()),
        ] {
            manager.rename_table(Table::rename().table(from, to).to_owned()).await?;
        }
        create_indexes(manager).await
    }

    async fn down(&self, _manager: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration(
            "organisations cannot be undone: keys of organisations with several members have no single account \
             to go back to; restore a backup taken before the upgrade"
                .to_owned(),
        ))
    }
}

async fn create_organisations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Organisations::Table)
                .if_not_exists()
                .col(string_len(Organisations::Id, 36).primary_key())
                .col(string_len(Organisations::Name, 100))
                .col(string_len_null(Organisations::ExternalId, 255).unique_key())
                .col(timestamp_with_time_zone(Organisations::CreatedAt))
                .col(timestamp_with_time_zone_null(Organisations::DisabledAt))
                .to_owned(),
        )
        .await?;
    // The operator console searches by name.
    manager
        .create_index(
            Index::create()
                .name("idx_organisations_name")
                .table(Organisations::Table)
                .col(Organisations::Name)
                .to_owned(),
        )
        .await
}

async fn create_memberships(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Memberships::Table)
                .if_not_exists()
                .col(string_len(Memberships::OrganisationId, 36))
                .col(string_len(Memberships::AccountId, 36))
                .col(string_len(Memberships::Role, 16))
                .col(timestamp_with_time_zone(Memberships::JoinedAt))
                .primary_key(Index::create().col(Memberships::OrganisationId).col(Memberships::AccountId))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_memberships_organisation")
                        .from(Memberships::Table, Memberships::OrganisationId)
                        .to(Organisations::Table, Organisations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_memberships_account")
                        .from(Memberships::Table, Memberships::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    // "Which organisations is this person in?" on every page.
    manager
        .create_index(
            Index::create()
                .name("idx_memberships_account")
                .table(Memberships::Table)
                .col(Memberships::AccountId)
                .to_owned(),
        )
        .await
}

async fn create_invitations(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(Invitations::Table)
                .if_not_exists()
                .col(string_len(Invitations::Id, 36).primary_key())
                .col(string_len(Invitations::OrganisationId, 36))
                .col(string_len(Invitations::Email, 254))
                .col(string_len(Invitations::Role, 16))
                .col(string_len_uniq(Invitations::TokenHash, 64))
                .col(string_len(Invitations::InvitedBy, 300))
                .col(timestamp_with_time_zone(Invitations::CreatedAt))
                .col(timestamp_with_time_zone(Invitations::ExpiresAt))
                .col(timestamp_with_time_zone_null(Invitations::AcceptedAt))
                .col(string_len_null(Invitations::AcceptedBy, 36))
                .col(timestamp_with_time_zone_null(Invitations::RevokedAt))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_invitations_organisation")
                        .from(Invitations::Table, Invitations::OrganisationId)
                        .to(Organisations::Table, Organisations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_invitations_organisation")
                .table(Invitations::Table)
                .col(Invitations::OrganisationId)
                .col(Invitations::CreatedAt)
                .to_owned(),
        )
        .await
}

/// The operator audit log: who did what to which organisation, when and from where. It names the organisation
/// by id and by its name at the time, without a foreign key, so the record outlives the organisation.
async fn create_operator_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(OperatorEvents::Table)
                .if_not_exists()
                .col(string_len(OperatorEvents::Id, 36).primary_key())
                .col(timestamp_with_time_zone(OperatorEvents::OccurredAt))
                .col(string_len(OperatorEvents::Actor, 300))
                .col(string_len(OperatorEvents::Action, 48))
                .col(string_len_null(OperatorEvents::OrganisationId, 36))
                .col(string_len_null(OperatorEvents::OrganisationName, 100))
                .col(text_null(OperatorEvents::Detail))
                .col(string_len_null(OperatorEvents::ClientIp, 45))
                .col(string_len_null(OperatorEvents::UserAgent, 256))
                .to_owned(),
        )
        .await?;
    manager
        .create_index(
            Index::create()
                .name("idx_operator_events_time")
                .table(OperatorEvents::Table)
                .col(OperatorEvents::OccurredAt)
                .to_owned(),
        )
        .await
}

/// One organisation per account, named after its email address, with the account's id and the account as
/// its owner.
async fn give_every_account_an_organisation(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let organisations = Query::insert()
        .into_table(Organisations::Table)
        .columns([Organisations::Id, Organisations::Name, Organisations::CreatedAt])
        .select_from(
            Query::select()
                .columns([Accounts::Id, Accounts::Email, Accounts::CreatedAt])
                .from(Accounts::Table)
                .to_owned(),
        )
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.exec_stmt(organisations).await?;
    let memberships = Query::insert()
        .into_table(Memberships::Table)
        .columns([Memberships::OrganisationId, Memberships::AccountId, Memberships::Role, Memberships::JoinedAt])
        .select_from(
            Query::select()
                .columns([Accounts::Id, Accounts::Id])
                .expr(Expr::val("owner"))
                .column(Accounts::CreatedAt)
                .from(Accounts::Table)
                .to_owned(),
        )
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.exec_stmt(memberships).await
}

async fn create_api_keys(manager: &SchemaManager<'_>, table: NewApiKeys) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(table)
                .col(string_len(ApiKeys::Id, 36).primary_key())
                .col(string_len(ApiKeys::OrganisationId, 36))
                .col(string_len_uniq(ApiKeys::KeyHash, 64))
                .col(string_len(ApiKeys::Hint, 32))
                .col(string_len(ApiKeys::Name, 64))
                .col(text(ApiKeys::Scopes))
                .col(string_len(ApiKeys::CreatedBy, 300))
                .col(string_len_null(ApiKeys::CreatedByAccountId, 36))
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
                        .name("fk_api_keys_organisation")
                        .from(table, ApiKeys::OrganisationId)
                        .to(Organisations::Table, Organisations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                // A member who leaves or is deleted leaves the key behind, with the organisation.
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_api_keys_creator")
                        .from(table, ApiKeys::CreatedByAccountId)
                        .to(Accounts::Table, Accounts::Id)
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await
}

async fn create_key_usage(manager: &SchemaManager<'_>, table: impl IntoIden, time: &'static str) -> Result<(), DbErr> {
    let table = table.into_iden();
    let time = Alias::new(time);
    manager
        .create_table(
            Table::create()
                .table(table.clone())
                .col(string_len(KeyUsage::KeyId, 36))
                .col(string_len(KeyUsage::OrganisationId, 36))
                .col(timestamp_with_time_zone(time.clone()))
                .col(string_len(KeyUsage::Code, 24))
                .col(big_integer(KeyUsage::Count))
                .primary_key(Index::create().col(KeyUsage::KeyId).col(time).col(KeyUsage::Code))
                .foreign_key(
                    ForeignKey::create()
                        .from(table, KeyUsage::KeyId)
                        .to(NewApiKeys::Table, ApiKeys::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
}

async fn create_activity_events(manager: &SchemaManager<'_>, table: NewActivityEvents) -> Result<(), DbErr> {
    manager
        .create_table(
            Table::create()
                .table(table)
                .col(string_len(ActivityEvents::Id, 36).primary_key())
                .col(string_len_null(ActivityEvents::OrganisationId, 36))
                .col(string_len_null(ActivityEvents::AccountId, 36))
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
                        .name("fk_activity_events_organisation")
                        .from(table, ActivityEvents::OrganisationId)
                        .to(Organisations::Table, Organisations::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_activity_events_account")
                        .from(table, ActivityEvents::AccountId)
                        .to(Accounts::Table, Accounts::Id)
                        // An organisation's log outlives the people in it; a person's own entries (no
                        // organisation) are deleted with their account by the domain.
                        .on_delete(ForeignKeyAction::SetNull),
                )
                .to_owned(),
        )
        .await
}

/// Keys move with their account's new organisation (the same id); the account, their only possible
/// manager until now, is recorded as their creator.
async fn copy_api_keys(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let same = [
        ApiKeys::Id,
        ApiKeys::KeyHash,
        ApiKeys::Hint,
        ApiKeys::Name,
        ApiKeys::Scopes,
        ApiKeys::CreatedAt,
        ApiKeys::UpdatedAt,
        ApiKeys::ExpiresAt,
        ApiKeys::RevokedAt,
        ApiKeys::RolledInto,
        ApiKeys::RolledAt,
        ApiKeys::LastUsedAt,
        ApiKeys::LastUsedIp,
        ApiKeys::Meta,
        ApiKeys::IpAllowlist,
        ApiKeys::RatelimitLimit,
        ApiKeys::RatelimitWindowSeconds,
    ];
    let mut select = Query::select();
    for column in same {
        select.column((ApiKeys::Table, column));
    }
    select
        .column((ApiKeys::Table, ApiKeys::AccountId))
        .column((Accounts::Table, Accounts::Email))
        .column((ApiKeys::Table, ApiKeys::AccountId))
        .from(ApiKeys::Table)
        .inner_join(
            Accounts::Table,
            Expr::col((Accounts::Table, Accounts::Id)).equals((ApiKeys::Table, ApiKeys::AccountId)),
        );
    let insert = Query::insert()
        .into_table(NewApiKeys::Table)
        .columns(same.into_iter().chain([ApiKeys::OrganisationId, ApiKeys::CreatedBy, ApiKeys::CreatedByAccountId]))
        .select_from(select)
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.exec_stmt(insert).await
}

async fn copy_key_usage(
    manager: &SchemaManager<'_>,
    from: impl IntoIden,
    to: impl IntoIden,
    time: KeyUsage,
) -> Result<(), DbErr> {
    let insert = Query::insert()
        .into_table(to)
        .columns([KeyUsage::KeyId, KeyUsage::OrganisationId, time, KeyUsage::Code, KeyUsage::Count])
        .select_from(
            Query::select()
                .columns([KeyUsage::KeyId, KeyUsage::AccountId, time, KeyUsage::Code, KeyUsage::Count])
                .from(from)
                .to_owned(),
        )
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.exec_stmt(insert).await
}

/// The log stays where it was read: in the (same-id) organisation, and about the account that had it.
async fn copy_activity_events(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let rest = [
        ActivityEvents::Id,
        ActivityEvents::OccurredAt,
        ActivityEvents::Kind,
        ActivityEvents::Actor,
        ActivityEvents::KeyId,
        ActivityEvents::KeyName,
        ActivityEvents::Detail,
        ActivityEvents::ClientIp,
        ActivityEvents::UserAgent,
    ];
    let insert = Query::insert()
        .into_table(NewActivityEvents::Table)
        .columns([ActivityEvents::OrganisationId, ActivityEvents::AccountId].into_iter().chain(rest))
        .select_from(
            Query::select()
                .columns([ActivityEvents::AccountId, ActivityEvents::AccountId].into_iter().chain(rest))
                .from(ActivityEvents::Table)
                .to_owned(),
        )
        .map_err(|err| DbErr::Migration(err.to_string()))?
        .to_owned();
    manager.exec_stmt(insert).await
}

/// The indexes of the rebuilt tables, under the names and on the columns the old ones had (now the
/// organisation's), plus the creator's.
async fn create_indexes(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let indexes = [
        Index::create()
            .name("idx_api_keys_organisation_created")
            .table(ApiKeys::Table)
            .col(ApiKeys::OrganisationId)
            .col(ApiKeys::CreatedAt)
            .to_owned(),
        Index::create().name("idx_api_keys_creator").table(ApiKeys::Table).col(ApiKeys::CreatedByAccountId).to_owned(),
        Index::create()
            .name("idx_activity_events_organisation_time")
            .table(ActivityEvents::Table)
            .col(ActivityEvents::OrganisationId)
            .col(ActivityEvents::OccurredAt)
            .to_owned(),
        Index::create()
            .name("idx_activity_events_account_time")
            .table(ActivityEvents::Table)
            .col(ActivityEvents::AccountId)
            .col(ActivityEvents::OccurredAt)
            .to_owned(),
        Index::create().name("idx_key_usage_hour").table(KeyUsage::Table).col(KeyUsage::Hour).to_owned(),
        // Covering indexes for organisation-wide reads (see migration 8).
        Index::create()
            .name("idx_key_usage_organisation")
            .table(KeyUsage::Table)
            .col(KeyUsage::OrganisationId)
            .col(KeyUsage::Hour)
            .col(KeyUsage::KeyId)
            .col(KeyUsage::Code)
            .col(KeyUsage::Count)
            .to_owned(),
        Index::create().name("idx_key_usage_daily_day").table(KeyUsageDaily::Table).col(KeyUsage::Day).to_owned(),
        Index::create()
            .name("idx_key_usage_daily_organisation")
            .table(KeyUsageDaily::Table)
            .col(KeyUsage::OrganisationId)
            .col(KeyUsage::Day)
            .col(KeyUsage::KeyId)
            .col(KeyUsage::Code)
            .col(KeyUsage::Count)
            .to_owned(),
    ];
    for index in indexes {
        manager.create_index(index).await?;
    }
    Ok(())
}

#[derive(DeriveIden)]
enum Organisations {
    Table,
    Id,
    Name,
    ExternalId,
    CreatedAt,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Memberships {
    Table,
    OrganisationId,
    AccountId,
    Role,
    JoinedAt,
}

#[derive(DeriveIden)]
enum Invitations {
    Table,
    Id,
    OrganisationId,
    Email,
    Role,
    TokenHash,
    InvitedBy,
    CreatedAt,
    ExpiresAt,
    AcceptedAt,
    AcceptedBy,
    RevokedAt,
}

#[derive(DeriveIden)]
enum OperatorEvents {
    Table,
    Id,
    OccurredAt,
    Actor,
    Action,
    OrganisationId,
    OrganisationName,
    Detail,
    ClientIp,
    UserAgent,
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    Email,
    CreatedAt,
}

#[derive(DeriveIden, Clone, Copy)]
enum ApiKeys {
    Table,
    Id,
    AccountId,
    OrganisationId,
    KeyHash,
    Hint,
    Name,
    Scopes,
    CreatedBy,
    CreatedByAccountId,
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

#[derive(DeriveIden, Clone, Copy)]
enum NewApiKeys {
    #[sea_orm(iden = "api_keys_v11")]
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum KeyUsage {
    Table,
    KeyId,
    AccountId,
    OrganisationId,
    Hour,
    Day,
    Code,
    Count,
}

#[derive(DeriveIden)]
enum KeyUsageDaily {
    Table,
}

#[derive(DeriveIden)]
enum NewKeyUsage {
    #[sea_orm(iden = "key_usage_v11")]
    Table,
}

#[derive(DeriveIden)]
enum NewKeyUsageDaily {
    #[sea_orm(iden = "key_usage_daily_v11")]
    Table,
}

#[derive(DeriveIden, Clone, Copy)]
enum ActivityEvents {
    Table,
    Id,
    OrganisationId,
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

#[derive(DeriveIden, Clone, Copy)]
enum NewActivityEvents {
    #[sea_orm(iden = "activity_events_v11")]
    Table,
}
