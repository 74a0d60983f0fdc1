use sea_orm_migration::{prelude::*, schema::*};

/// Mail and account security: the outbox every message waits in until it is delivered, single-use links
/// for verifying an address and resetting a password, two-factor sign-in (TOTP and recovery codes), the
/// browsers a person has signed in from, and which key notices each person has turned off.
#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite takes one new column per ALTER TABLE.
        let columns = [
            timestamp_with_time_zone_null(Accounts::EmailVerifiedAt),
            text_null(Accounts::TotpSecret),
            timestamp_with_time_zone_null(Accounts::TotpEnabledAt),
            big_integer_null(Accounts::TotpLastStep),
            string_len(Accounts::MutedNotices, 200).default("").to_owned(),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table(Accounts::Table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .if_not_exists()
                    .col(string_len(MailOutbox::Id, 36).primary_key())
                    .col(string_len(MailOutbox::Kind, 40))
                    .col(string_len(MailOutbox::Recipient, 254))
                    .col(string_len_null(MailOutbox::AccountId, 36))
                    .col(text(MailOutbox::Params))
                    .col(string_len_null(MailOutbox::DedupeKey, 200).unique_key())
                    .col(timestamp_with_time_zone(MailOutbox::CreatedAt))
                    .col(timestamp_with_time_zone(MailOutbox::NextAttemptAt))
                    .col(integer(MailOutbox::Attempts).default(0))
                    .col(timestamp_with_time_zone_null(MailOutbox::ClaimedUntil))
                    .col(timestamp_with_time_zone_null(MailOutbox::SentAt))
                    .col(timestamp_with_time_zone_null(MailOutbox::FailedAt))
                    .col(string_len_null(MailOutbox::LastError, 1000))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_outbox_due")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::SentAt)
                    .col(MailOutbox::FailedAt)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AccountLinks::Table)
                    .if_not_exists()
                    .col(string_len(AccountLinks::Id, 36).primary_key())
                    .col(string_len_null(AccountLinks::SecretHash, 64).unique_key())
                    .col(string_len(AccountLinks::AccountId, 36))
                    .col(string_len(AccountLinks::Purpose, 16))
                    .col(string_len(AccountLinks::Email, 254))
                    .col(timestamp_with_time_zone(AccountLinks::CreatedAt))
                    .col(timestamp_with_time_zone(AccountLinks::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AccountLinks::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AccountLinks::Table, AccountLinks::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("account_links_account")
                    .table(AccountLinks::Table)
                    .col(AccountLinks::AccountId)
                    .col(AccountLinks::Purpose)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RecoveryCodes::Table)
                    .if_not_exists()
                    .col(string_len(RecoveryCodes::CodeHash, 64).primary_key())
                    .col(string_len(RecoveryCodes::AccountId, 36))
                    .col(timestamp_with_time_zone(RecoveryCodes::CreatedAt))
                    .col(timestamp_with_time_zone_null(RecoveryCodes::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RecoveryCodes::Table, RecoveryCodes::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("recovery_codes_account")
                    .table(RecoveryCodes::Table)
                    .col(RecoveryCodes::AccountId)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(KnownBrowsers::Table)
                    .if_not_exists()
                    .col(string_len(KnownBrowsers::AccountId, 36))
                    .col(string_len(KnownBrowsers::BrowserHash, 64))
                    .col(timestamp_with_time_zone(KnownBrowsers::FirstSeenAt))
                    .primary_key(Index::create().col(KnownBrowsers::AccountId).col(KnownBrowsers::BrowserHash))
                    .foreign_key(
                        ForeignKey::create()
                            .from(KnownBrowsers::Table, KnownBrowsers::AccountId)
                            .to(Accounts::Table, Accounts::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in
            [KnownBrowsers::Table.into_iden(), RecoveryCodes::Table.into_iden(), AccountLinks::Table.into_iden()]
        {
            manager.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table(MailOutbox::Table).to_owned()).await?;
        for column in [
            Accounts::MutedNotices,
            Accounts::TotpLastStep,
            Accounts::TotpEnabledAt,
            Accounts::TotpSecret,
            Accounts::EmailVerifiedAt,
        ] {
            manager.alter_table(Table::alter().table(Accounts::Table).drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Accounts {
    Table,
    Id,
    EmailVerifiedAt,
    TotpSecret,
    TotpEnabledAt,
    TotpLastStep,
    MutedNotices,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    Kind,
    Recipient,
    AccountId,
    Params,
    DedupeKey,
    CreatedAt,
    NextAttemptAt,
    Attempts,
    ClaimedUntil,
    SentAt,
    FailedAt,
    LastError,
}

#[derive(DeriveIden)]
enum AccountLinks {
    Table,
    Id,
    SecretHash,
    AccountId,
    Purpose,
    Email,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    CodeHash,
    AccountId,
    CreatedAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum KnownBrowsers {
    Table,
    AccountId,
    BrowserHash,
    FirstSeenAt,
}
