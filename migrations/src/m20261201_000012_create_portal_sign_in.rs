use sea_orm_migration::{prelude::*, schema::*};

/// Sign-in from outside the portal's own passwords: identities (an account known to the provider's app, or
/// to its OpenID Connect identity provider, by that side's own id), the one-time links of portal sessions,
/// and a display name for accounts, which those sources keep up to date.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Accounts::Table)
                    .add_column(string_len_null(Accounts::DisplayName, 100))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountIdentities::Table)
                    .if_not_exists()
                    .col(string_len(AccountIdentities::Id, 36).primary_key())
                    .col(string_len(AccountIdentities::AccountId, 36))
                    .col(string_len(AccountIdentities::Issuer, 255))
                    .col(string_len(AccountIdentities::Subject, 255))
                    .col(timestamp_with_time_zone(AccountIdentities::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountIdentities::Table, AccountIdentities::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_identities_issuer_subject")
                    .table(AccountIdentities::Table)
                    .col(AccountIdentities::Issuer)
                    .col(AccountIdentities::Subject)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_identities_account")
                    .table(AccountIdentities::Table)
                    .col(AccountIdentities::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(PortalSessions::Table)
                    .if_not_exists()
                    .col(string_len(PortalSessions::SecretHash, 64).primary_key())
                    .col(string_len(PortalSessions::OrganisationExternalId, 255))
                    .col(string_len(PortalSessions::OrganisationName, 100))
                    .col(string_len(PortalSessions::UserExternalId, 255))
                    .col(string_len(PortalSessions::UserEmail, 254))
                    .col(string_len_null(PortalSessions::UserName, 100))
                    .col(string_len(PortalSessions::Role, 16))
                    .col(string_len(PortalSessions::ReturnUrl, 2048))
                    .col(string_len(PortalSessions::CreatedBy, 100))
                    .col(timestamp_with_time_zone(PortalSessions::CreatedAt))
                    .col(timestamp_with_time_zone(PortalSessions::ExpiresAt))
                    .col(timestamp_with_time_zone_null(PortalSessions::UsedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("portal_sessions_expires_at")
                    .table(PortalSessions::Table)
                    .col(PortalSessions::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table(PortalSessions::Table).to_owned()).await?;
        manager.drop_table(Table::drop().table(AccountIdentities::Table).to_owned()).await?;
        manager.alter_table(Table::alter().table(Accounts::Table).drop_column(Accounts::DisplayName).to_owned()).await
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    DisplayName,
}

#[derive(DeriveIden)]
enum AccountIdentities {
    Table,
    Id,
    AccountId,
    Issuer,
    Subject,
    CreatedAt,
}

#[derive(DeriveIden)]
enum PortalSessions {
    Table,
    SecretHash,
    OrganisationExternalId,
    OrganisationName,
    UserExternalId,
    UserEmail,
    UserName,
    Role,
    ReturnUrl,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}
