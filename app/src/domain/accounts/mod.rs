//! Accounts: creating them and reading them back. Signing in lives in [`crate::domain::sign_in`].

pub mod email;
pub mod password;
pub mod reset;
pub mod security;
pub mod verification;

use crate::domain::clock::Clock;
use crate::domain::storage::accounts;
use chrono::{DateTime, Utc};
use email::{Email, EmailError};
use password::{HashingError, Password, PasswordError, PasswordHasher};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set, SqlErr, TransactionTrait,
};

/// An account as the rest of the product sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Public, opaque id.
    pub id: String,
    /// Normalised email address.
    pub email: String,
    /// Whether the account may use the operator pages.
    pub is_operator: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// Whether it has a password; accounts made by the provider's app or identity provider, or by the
    /// operator's CLI, do not.
    pub has_password: bool,
    /// Whether the person proved they receive mail at the address (or a provider vouched for it).
    pub email_verified: bool,
    /// Whether signing in takes a second factor.
    pub two_factor: bool,
}

impl From<accounts::Model> for Account {
    fn from(row: accounts::Model) -> Self {
        Self {
            has_password: usable_hash(&row).is_some(),
            email_verified: row.email_verified_at.is_some(),
            two_factor: row.totp_enabled_at.is_some(),
            id: row.id,
            email: row.email,
            is_operator: row.is_operator,
            created_at: row.created_at,
        }
    }
}

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateAccountError {
    /// The email address was refused.
    #[error(transparent)]
    Email(#[from] EmailError),
    /// The password was refused.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The organisation's name was refused.
    #[error(transparent)]
    Organisation(#[from] crate::domain::organisations::OrganisationError),
    /// Another account has this address.
    #[error("An account with this email already exists. Sign in instead.")]
    EmailTaken,
    /// Hashing failed.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Stored instead of a hash for an account created without a password (managed through the API by the
/// operator): no password ever matches it.
pub const NO_PASSWORD: &str = "!";

/// The stored hash, unless the account has no password.
pub(crate) fn usable_hash(row: &accounts::Model) -> Option<&str> {
    (row.password_hash.0 != NO_PASSWORD).then_some(row.password_hash.0.as_str())
}

/// Creates an account with `email` and `password`, and its own organisation, named after the address.
pub async fn create_account(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    email: &str,
    password: &Password,
    is_operator: bool,
) -> Result<Account, CreateAccountError> {
    create_account_with_organisation(db, hasher, clock, email, password, is_operator, None).await
}

/// Creates an account with `email` and `password`, and its own organisation named `organisation` (or after
/// the address), of which it is the owner. The organisation has the account's id, as those made for existing
/// accounts when organisations arrived do.
pub async fn create_account_with_organisation(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    email: &str,
    password: &Password,
    is_operator: bool,
    organisation: Option<&str>,
) -> Result<Account, CreateAccountError> {
    let email = Email::parse(email)?;
    password.check_new()?;
    let organisation = organisation.map(crate::domain::organisations::check_name).transpose()?;
    let password_hash = new_password_hash(db, hasher, &email, password).await?;
    let (account, _) = insert_account(db, clock, &email, password_hash, is_operator, Home::Own(organisation)).await?;
    Ok(account)
}

/// A password account made through an invitation link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitedAccount {
    /// The account.
    pub account: Account,
    /// The organisation it joined; `None` when the invitation was not usable by it (used, revoked, expired
    /// or for another address), in which case it got an organisation of its own, as any sign-up does.
    pub joined: Option<crate::domain::organisations::Organisation>,
}

/// Creates an account with `email` and `password` for someone who followed the invitation link with
/// `secret`: it joins the invitation's organisation instead of getting an empty one of its own. Signing up
/// through the link that was mailed to the address also verifies the address.
pub async fn create_invited_account(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    client: &crate::domain::activity::Client,
    email: &str,
    password: &Password,
    secret: &str,
) -> Result<InvitedAccount, CreateAccountError> {
    let email = Email::parse(email)?;
    let password_hash = new_password_hash(db, hasher, &email, password).await?;
    let (account, joined) =
        insert_account(db, clock, &email, password_hash, false, Home::Invitation { secret, client }).await?;
    Ok(InvitedAccount { account, joined })
}

async fn new_password_hash(
    db: &impl ConnectionTrait,
    hasher: &PasswordHasher,
    email: &Email,
    password: &Password,
) -> Result<String, CreateAccountError> {
    password.check_new()?;
    if find_row_by_email(db, email).await?.is_some() {
        return Err(CreateAccountError::EmailTaken);
    }
    Ok(hasher.hash(password).await?)
}

/// Creates an account that cannot sign in to the portal (until it is given a password): for customers
/// whose keys the operator manages through the API.
pub async fn create_account_without_password(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    email: &str,
    is_operator: bool,
) -> Result<Account, CreateAccountError> {
    let email = Email::parse(email)?;
    if find_row_by_email(db, &email).await?.is_some() {
        return Err(CreateAccountError::EmailTaken);
    }
    let (account, _) = insert_account(db, clock, &email, NO_PASSWORD.to_owned(), is_operator, Home::Own(None)).await?;
    Ok(account)
}

/// Where a new account starts.
enum Home<'a> {
    /// In an organisation of its own, named this or after the address.
    Own(Option<String>),
    /// In the organisation of the invitation with this link secret, when it is usable by the account.
    Invitation { secret: &'a str, client: &'a crate::domain::activity::Client },
}

async fn insert_account(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    email: &Email,
    password_hash: String,
    is_operator: bool,
    home: Home<'_>,
) -> Result<(Account, Option<crate::domain::organisations::Organisation>), CreateAccountError> {
    use crate::domain::organisations::invitations;
    use sea_orm::TransactionSession;
    let now = clock.now();
    let id = uuid::Uuid::now_v7().to_string();
    let has_password = password_hash != NO_PASSWORD;
    let row = accounts::ActiveModel {
        id: Set(id.clone()),
        email: Set(email.as_str().to_owned()),
        password_hash: Set(accounts::StoredPasswordHash(password_hash)),
        is_operator: Set(is_operator),
        created_at: Set(now),
        password_changed_at: Set(now),
        display_name: Set(None),
        email_verified_at: Set(None),
        totp_secret: Set(None),
        totp_enabled_at: Set(None),
        totp_last_step: Set(None),
        muted_notices: Set(String::new()),
    };
    let txn = crate::domain::database::begin_write(db).await?;
    let mut account = match row.insert(&txn).await {
        Ok(row) => Account::from(row),
        // Two sign-ups with one address at the same moment: the index decides, the loser hears why.
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            return Err(CreateAccountError::EmailTaken);
        }
        Err(err) => return Err(err.into()),
    };
    let (joined, own_name) = match home {
        Home::Own(name) => (None, name),
        Home::Invitation { secret, client } => {
            let origin = crate::domain::activity::Origin { actor: account.email.clone(), client: client.clone() };
            (invitations::accept_on_sign_up(&txn, clock, &origin, secret, &account).await?, None)
        }
    };
    if joined.is_none() {
        insert_own_organisation(&txn, &id, own_name.unwrap_or_else(|| email.as_str().to_owned()), now).await?;
    }
    if joined.as_ref().is_some_and(|joined| joined.through_mail) {
        // The link came in a message to this address: it is proven, and a verification message would be noise.
        accounts::Entity::update_many()
            .col_expr(accounts::Column::EmailVerifiedAt, sea_orm::sea_query::Expr::value(now))
            .filter(accounts::Column::Id.eq(id.as_str()))
            .exec(&txn)
            .await?;
        account.email_verified = true;
    } else if has_password {
        verification::send(&txn, now, &id, email.as_str()).await?;
    }
    txn.commit().await?;
    Ok((account, joined.map(|joined| joined.organisation)))
}

/// Gives a new account its own organisation, with the account's id, of which it is the owner.
pub(crate) async fn insert_own_organisation(
    db: &impl ConnectionTrait,
    account_id: &str,
    name: String,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    use crate::domain::organisations::{Role, members};
    use crate::domain::storage::organisations;
    organisations::ActiveModel {
        id: Set(account_id.to_owned()),
        name: Set(name),
        external_id: Set(None),
        created_at: Set(now),
        disabled_at: Set(None),
    }
    .insert(db)
    .await?;
    members::insert(db, account_id, account_id, Role::Owner, now).await
}

/// The account with this id, if there is one.
pub async fn find_account(db: &impl ConnectionTrait, id: &str) -> Result<Option<Account>, DbErr> {
    Ok(accounts::Entity::find_by_id(id.to_owned()).one(db).await?.map(Account::from))
}

/// The account a service names by id or by email address, if there is one.
pub async fn find_account_by_id_or_email(
    db: &impl ConnectionTrait,
    id_or_email: &str,
) -> Result<Option<Account>, DbErr> {
    let id_or_email = id_or_email.trim();
    if let Some(account) = find_account(db, id_or_email).await? {
        return Ok(Some(account));
    }
    match Email::parse(id_or_email) {
        Ok(email) => Ok(find_row_by_email(db, &email).await?.map(Account::from)),
        Err(_) => Ok(None),
    }
}

pub(crate) async fn find_row_by_email(
    db: &impl ConnectionTrait,
    email: &Email,
) -> Result<Option<accounts::Model>, DbErr> {
    accounts::Entity::find().filter(accounts::Column::Email.eq(email.as_str())).one(db).await
}

/// Why a password change or account deletion was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountChangeError {
    /// The current password given is wrong.
    #[error("Your current password is not correct.")]
    WrongPassword,
    /// The new password breaks the rules.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The account is the only owner of organisations that have other members.
    #[error(
        "You are the only owner of {0}, which has other members. Make another member an owner there, or leave it, \
         then delete your account."
    )]
    LastOwner(String),
    /// No such account (deleted meanwhile).
    #[error("The account no longer exists.")]
    NotFound,
    /// Hashing failed.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

async fn check_password(
    db: &impl ConnectionTrait,
    hasher: &PasswordHasher,
    account_id: &str,
    password: &Password,
) -> Result<accounts::Model, AccountChangeError> {
    let row = accounts::Entity::find_by_id(account_id.to_owned()).one(db).await?.ok_or(AccountChangeError::NotFound)?;
    if hasher.verify(password, usable_hash(&row)).await? { Ok(row) } else { Err(AccountChangeError::WrongPassword) }
}

/// Sets a new password after checking the current one, and tells the person (from `client`). Ending other
/// sessions is the caller's part.
pub async fn change_password(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    account_id: &str,
    passwords: (&Password, &Password),
    client: &crate::domain::activity::Client,
) -> Result<(), AccountChangeError> {
    use crate::domain::mail::{self, Mail, messages::format_time};
    use sea_orm::TransactionSession;
    let (current, new) = passwords;
    let row = check_password(db, hasher, account_id, current).await?;
    new.check_new()?;
    let password_hash = hasher.hash(new).await?;
    let now = clock.now();
    let email = row.email.clone();
    let txn = crate::domain::database::begin_write(db).await?;
    let mut active: accounts::ActiveModel = row.into();
    active.password_hash = Set(accounts::StoredPasswordHash(password_hash));
    active.password_changed_at = Set(now);
    active.update(&txn).await?;
    let notice = Mail::PasswordChanged {
        by_reset: false,
        at: format_time(now),
        from: crate::domain::known_browsers::describe_client(client),
    };
    mail::queue(&txn, now, &email, Some(account_id), &notice).await.map_err(|err| DbErr::Custom(err.to_string()))?;
    txn.commit().await?;
    Ok(())
}

/// Deletes an account after checking its password. Organisations the person is the only member of are
/// deleted with it (their keys revoked first); organisations with other members keep their keys, which stay
/// theirs; an account that is the only owner of an organisation with other members is not deleted until
/// someone else is made owner there. Ending its sessions is the caller's part.
pub async fn delete_account(
    db: &(impl ConnectionTrait + sea_orm::TransactionTrait),
    hasher: &PasswordHasher,
    clock: &dyn Clock,
    cache: &crate::domain::verification::KeyCache,
    account_id: &str,
    password: &Password,
) -> Result<(), AccountChangeError> {
    use crate::domain::organisations::{self, members};
    use crate::domain::storage::activity_events;
    use sea_orm::TransactionSession;
    // The hash is checked before the write transaction: waiting for a hashing permit while holding
    // SQLite's write lock would stall every other writer.
    let checked = check_password(db, hasher, account_id, password).await?;
    let txn = crate::domain::database::begin_write(db).await?;
    let current = accounts::Entity::find_by_id(account_id.to_owned()).one(&txn).await?;
    if current.map(|row| row.password_hash) != Some(checked.password_hash) {
        // Deleted or given a new password since the check: the password checked is no longer the one.
        return Err(AccountChangeError::WrongPassword);
    }
    let stuck = members::sole_owner_of_shared(&txn, account_id).await?;
    if !stuck.is_empty() {
        let mut names = Vec::new();
        for id in &stuck {
            names.push(organisations::find(&txn, id).await.map(|org| org.name).unwrap_or_else(|_| id.clone()));
        }
        return Err(AccountChangeError::LastOwner(names.join(", ")));
    }
    let now = clock.now();
    for organisation_id in members::sole_member_of(&txn, account_id).await? {
        organisations::delete_in(&txn, now, &organisation_id).await?;
    }
    activity_events::Entity::delete_many()
        .filter(activity_events::Column::AccountId.eq(account_id))
        .filter(activity_events::Column::OrganisationId.is_null())
        .exec(&txn)
        .await?;
    accounts::Entity::delete_by_id(account_id.to_owned()).exec(&txn).await?;
    crate::domain::changes::record(&txn, now, &[crate::domain::changes::Change::AllKeys]).await?;
    txn.commit().await?;
    // Many keys changed at once; deleting an account is rare enough to start the cache afresh.
    cache.clear();
    Ok(())
}
