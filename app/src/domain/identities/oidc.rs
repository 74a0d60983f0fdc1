//! Signing in a person an OpenID Connect identity provider vouched for, once the ID token has been verified
//! (that part, the protocol, lives with the server). The account is found by (issuer, `sub`); a password
//! account with the same address becomes theirs only when the provider says the address is verified.

use super::place::{self, Found, Membership, Person};
use crate::domain::accounts::email::Email;
use crate::domain::accounts::{Account, insert_own_organisation};
use crate::domain::activity::{Client, Origin};
use crate::domain::clock::Clock;
use crate::domain::organisations::{Organisation, Role, check_external_id, invitations};
use sea_orm::{ConnectionTrait, DbErr, TransactionSession, TransactionTrait};

/// What a verified ID token says about the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VouchedPerson {
    /// The identity provider's issuer URL.
    pub issuer: String,
    /// Its `sub` for the person.
    pub subject: String,
    /// `email`, if shared.
    pub email: Option<String>,
    /// `email_verified`.
    pub email_verified: bool,
    /// `name`, if shared.
    pub name: Option<String>,
    /// The value of the organisation claim, when the operator maps one.
    pub organisation: Option<String>,
    /// The value of the role claim, when the operator maps one.
    pub role: Option<String>,
}

/// Why the person was not signed in.
#[derive(Debug, thiserror::Error)]
pub enum OidcSignInError {
    /// The token carries no usable email address.
    #[error("the identity provider shared no usable email address")]
    NoEmail,
    /// A password account has the address, and the provider does not vouch that it is this person's.
    #[error("an account with this address exists and the identity provider has not verified the address")]
    EmailTaken,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Someone signed in through the identity provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    /// Their account.
    pub account: Account,
    /// The organisation a new account joined through the invitation it came with.
    pub joined: Option<Organisation>,
}

/// Finds, links or makes the person's account, puts them where the organisation claim says, logs the
/// sign-in, and answers the account. A new account without an organisation claim joins the organisation of
/// `invitation` (the secret of the invitation link the sign-in started from) when that is open and for its
/// address, and otherwise gets an organisation of its own.
pub async fn sign_in(
    db: &(impl ConnectionTrait + TransactionTrait),
    clock: &dyn Clock,
    client: &Client,
    vouched: &VouchedPerson,
    invitation: Option<&str>,
) -> Result<SignedIn, OidcSignInError> {
    let email = vouched.email.as_deref().and_then(|email| Email::parse(email).ok()).ok_or(OidcSignInError::NoEmail)?;
    let name = crate::domain::portal_sessions::check_person_name(vouched.name.as_deref()).ok().flatten();
    let organisation = vouched.organisation.as_deref().and_then(|id| check_external_id(id).ok());
    let now = clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    let person = Person {
        issuer: &vouched.issuer,
        subject: &vouched.subject,
        email: &email,
        name: name.as_deref(),
        link_by_verified_email: vouched.email_verified,
    };
    let (account, created) = match place::account_for(&txn, now, &person).await? {
        Found::Account { account, created } => (account, created),
        Found::EmailTaken => return Err(OidcSignInError::EmailTaken),
    };
    let origin = Origin { actor: account.email.clone(), client: client.clone() };
    let mut joined = None;
    match organisation {
        Some(external_id) => {
            let role = vouched.role.as_deref().and_then(Role::parse);
            let membership = Membership { organisation_external_id: &external_id, organisation_name: None, role };
            place::in_organisation(&txn, clock, &origin, &account.id, &membership).await?;
        }
        None if created => {
            if let Some(secret) = invitation {
                joined = invitations::accept_on_sign_up(&txn, clock, &origin, secret, &account)
                    .await?
                    .map(|joined| joined.organisation);
            }
            if joined.is_none() {
                insert_own_organisation(&txn, &account.id, account.email.clone(), now).await?;
            }
        }
        None => {}
    }
    place::record_sign_in(&txn, clock, &origin, &account.id, created).await?;
    txn.commit().await?;
    Ok(SignedIn { account, joined })
}
