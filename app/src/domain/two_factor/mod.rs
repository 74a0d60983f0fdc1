//! Two-factor sign-in for password accounts: TOTP (RFC 6238, through `totp-rs`) with ten single-use
//! recovery codes. Enrolment stores a fresh secret (sealed, see [`crate::domain::sealing`]) and turns on only
//! once a code from it is confirmed. Each code is accepted once: the last accepted time step is kept and
//! only later steps pass. Wrong codes are throttled like wrong passwords.

pub mod recovery;

use crate::domain::accounts::password::{HashingError, Password, PasswordHasher};
use crate::domain::accounts::usable_hash;
use crate::domain::activity::{self, Client, EventKind, Log, NewEvent, Origin};
use crate::domain::clock::Clock;
use crate::domain::known_browsers::describe_client;
use crate::domain::mail::{self, Mail, messages::format_time};
use crate::domain::random::{RandomError, secret_bytes};
use crate::domain::sealing::{SealError, Sealer};
use crate::domain::storage::accounts;
use crate::domain::throttle::{self, Subject, ThrottlePolicy};
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::ExprTrait as _;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, TransactionSession, TransactionTrait};
use totp_rs::{Builder, Totp};

/// Why a two-factor step failed.
#[derive(Debug, thiserror::Error)]
pub enum TwoFactorError {
    /// The code is wrong, or was used already.
    #[error("That code is not correct. Codes change every 30 seconds, and each works once.")]
    WrongCode,
    /// Too many wrong codes lately.
    #[error("Too many wrong codes.")]
    Throttled {
        /// How long until the next code is checked.
        retry_after: Duration,
    },
    /// The password is wrong.
    #[error("That password is not correct.")]
    WrongPassword,
    /// Turning it on, when it is on already.
    #[error("Two-factor sign-in is already on.")]
    AlreadyOn,
    /// Confirming or turning off, when it is not on (or being set up).
    #[error("Two-factor sign-in is not on.")]
    NotOn,
    /// Accounts without a password sign in through the provider, which owns their second factor.
    #[error("Your account signs in through the provider, which decides how you prove who you are.")]
    NoPassword,
    /// The account is gone.
    #[error("The account no longer exists.")]
    NotFound,
    /// The secret could not be sealed or opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The OS random source failed.
    #[error(transparent)]
    Random(#[from] RandomError),
    /// Hashing failed.
    #[error(transparent)]
    Hashing(#[from] HashingError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

impl From<mail::QueueError> for TwoFactorError {
    fn from(err: mail::QueueError) -> Self {
        Self::Database(DbErr::Custom(err.to_string()))
    }
}

/// What enrolment shows once: the secret as text, as an `otpauth://` URL and as a QR code (SVG).
pub struct Enrolment {
    /// Base32, for typing into an authenticator app.
    pub secret: String,
    /// The `otpauth://totp/...` URL the QR code holds.
    pub url: String,
    /// The QR code, an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for Enrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Enrolment(<redacted>)")
    }
}

/// Everything checking a code needs.
#[derive(Debug, Clone, Copy)]
pub struct CodeServices<'a> {
    /// Supplies the time.
    pub clock: &'a dyn Clock,
    /// Opens the stored secret.
    pub sealer: &'a Sealer,
    /// Throttles wrong codes.
    pub policy: &'a ThrottlePolicy,
}

fn context(account_id: &str) -> String {
    format!("totp:{account_id}")
}

fn totp(secret: Vec<u8>, issuer: &str, account_name: &str) -> Result<Totp, TwoFactorError> {
    // The otpauth label may not hold a colon.
    let clean = |text: &str| text.replace(':', " ");
    Builder::new()
        .with_secret(secret)
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account_name))
        .build()
        .map_err(|err| TwoFactorError::Database(DbErr::Custom(format!("totp: {err}"))))
}

async fn account(db: &impl ConnectionTrait, account_id: &str) -> Result<accounts::Model, TwoFactorError> {
    accounts::Entity::find_by_id(account_id.to_owned()).one(db).await?.ok_or(TwoFactorError::NotFound)
}

/// Starts enrolment: a fresh secret, stored sealed and not yet in force. Starting again replaces it.
pub async fn begin(
    db: &impl ConnectionTrait,
    sealer: &Sealer,
    account_id: &str,
    issuer: &str,
) -> Result<Enrolment, TwoFactorError> {
    let row = account(db, account_id).await?;
    if usable_hash(&row).is_none() {
        return Err(TwoFactorError::NoPassword);
    }
    if row.totp_enabled_at.is_some() {
        return Err(TwoFactorError::AlreadyOn);
    }
    // 160 bits, as RFC 4226 recommends.
    let bytes = secret_bytes::<20>()?;
    let totp = totp(bytes.to_vec(), issuer, &row.email)?;
    let secret = totp.secret().to_base32();
    let sealed = sealer.seal(&secret, &context(account_id))?;
    accounts::Entity::update_many()
        .col_expr(accounts::Column::TotpSecret, Some(sealed).into())
        .col_expr(accounts::Column::TotpLastStep, Option::<i64>::None.into())
        .filter(accounts::Column::Id.eq(account_id))
        .filter(accounts::Column::TotpEnabledAt.is_null())
        .exec(db)
        .await?;
    let url = totp.to_url().map_err(|err| TwoFactorError::Database(DbErr::Custom(format!("totp url: {err}"))))?;
    let qr_svg = qrcode::QrCode::new(url.as_bytes())
        .map(|code| {
            code.render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(200, 200)
                .dark_color(qrcode::render::svg::Color("#000000"))
                .light_color(qrcode::render::svg::Color("#ffffff"))
                .build()
        })
        .map_err(|err| TwoFactorError::Database(DbErr::Custom(format!("qr code: {err}"))))?;
    Ok(Enrolment { secret, url, qr_svg })
}

/// The time step a TOTP code from the account's secret matches at `now`, if any.
fn matching_step(
    sealer: &Sealer,
    row: &accounts::Model,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<i64>, TwoFactorError> {
    let Some(sealed) = &row.totp_secret else {
        return Err(TwoFactorError::NotOn);
    };
    let secret = sealer.open(sealed, &context(&row.id))?;
    let bytes = totp_rs::Secret::try_from_base32(&secret).map_err(|_| TwoFactorError::Seal(SealError::Malformed))?;
    let totp = totp(bytes.as_ref().to_vec(), "x", "x")?;
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let time = u64::try_from(now.timestamp()).unwrap_or(0);
    Ok(totp.check(&code, time).and_then(|step| i64::try_from(step).ok()))
}

/// Accepts time step `step` for the account once: only a step later than the last accepted one passes.
async fn spend_step(db: &impl ConnectionTrait, account_id: &str, step: i64) -> Result<bool, DbErr> {
    let spent = accounts::Entity::update_many()
        .col_expr(accounts::Column::TotpLastStep, Some(step).into())
        .filter(accounts::Column::Id.eq(account_id))
        .filter(accounts::Column::TotpLastStep.is_null().or(accounts::Column::TotpLastStep.lt(step)))
        .exec(db)
        .await?;
    Ok(spent.rows_affected == 1)
}

async fn admit(db: &impl ConnectionTrait, services: CodeServices<'_>, account_id: &str) -> Result<(), TwoFactorError> {
    let subjects = [Subject::SecondFactor(account_id.to_owned())];
    match throttle::admit(db, services.clock, services.policy, &subjects).await? {
        Some(retry_after) => Err(TwoFactorError::Throttled { retry_after }),
        None => Ok(()),
    }
}

async fn succeeded(db: &impl ConnectionTrait, services: CodeServices<'_>, account_id: &str) -> Result<(), DbErr> {
    throttle::succeeded(db, services.policy, &[Subject::SecondFactor(account_id.to_owned())]).await
}

/// Confirms enrolment with a code from the new secret: two-factor sign-in is on from now, and the ten
/// recovery codes answered are shown once.
pub async fn confirm(
    db: &(impl ConnectionTrait + TransactionTrait),
    services: CodeServices<'_>,
    account_id: &str,
    code: &str,
    client: &Client,
) -> Result<Vec<recovery::RecoveryCode>, TwoFactorError> {
    admit(db, services, account_id).await?;
    let now = services.clock.now();
    let row = account(db, account_id).await?;
    if row.totp_enabled_at.is_some() {
        return Err(TwoFactorError::AlreadyOn);
    }
    let step = matching_step(services.sealer, &row, code, now)?.ok_or(TwoFactorError::WrongCode)?;
    let codes = recovery::generate()?;
    let txn = crate::domain::database::begin_write(db).await?;
    let turned_on = accounts::Entity::update_many()
        .col_expr(accounts::Column::TotpEnabledAt, Some(now).into())
        .col_expr(accounts::Column::TotpLastStep, Some(step).into())
        .filter(accounts::Column::Id.eq(account_id))
        .filter(accounts::Column::TotpEnabledAt.is_null())
        .filter(accounts::Column::TotpSecret.eq(row.totp_secret.clone()))
        .exec(&txn)
        .await?;
    if turned_on.rows_affected != 1 {
        // Enrolment was started again, or finished, in another tab meanwhile.
        return Err(TwoFactorError::WrongCode);
    }
    recovery::replace(&txn, account_id, &codes, now).await?;
    let origin = Origin { actor: row.email.clone(), client: client.clone() };
    let event = NewEvent { log: Log::Account(account_id), kind: EventKind::TwoFactorEnabled, key: None, detail: None };
    activity::record(&txn, services.clock, &origin, event).await?;
    let notice = Mail::TwoFactorEnabled { at: format_time(now), from: describe_client(client) };
    mail::queue(&txn, now, &row.email, Some(account_id), &notice).await?;
    succeeded(&txn, services, account_id).await?;
    txn.commit().await?;
    Ok(codes)
}

/// How a second factor was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proven {
    /// With a code from the authenticator app.
    Code,
    /// With a recovery code; this many remain.
    RecoveryCode {
        /// Unused recovery codes left.
        remaining: u64,
    },
}

/// Checks a sign-in's second factor: a TOTP code, or a recovery code (each works once).
pub async fn check(
    db: &(impl ConnectionTrait + TransactionTrait),
    services: CodeServices<'_>,
    account_id: &str,
    code: &str,
    client: &Client,
) -> Result<Proven, TwoFactorError> {
    admit(db, services, account_id).await?;
    let now = services.clock.now();
    let row = account(db, account_id).await?;
    if row.totp_enabled_at.is_none() {
        return Err(TwoFactorError::NotOn);
    }
    if let Some(step) = matching_step(services.sealer, &row, code, now)? {
        if !spend_step(db, account_id, step).await? {
            return Err(TwoFactorError::WrongCode);
        }
        succeeded(db, services, account_id).await?;
        return Ok(Proven::Code);
    }
    let txn = crate::domain::database::begin_write(db).await?;
    if !recovery::spend(&txn, account_id, code, now).await? {
        return Err(TwoFactorError::WrongCode);
    }
    let remaining = recovery::remaining(&txn, account_id).await?;
    let origin = Origin { actor: row.email.clone(), client: client.clone() };
    let detail = Some(format!("{remaining} recovery codes left"));
    let event = NewEvent { log: Log::Account(account_id), kind: EventKind::RecoveryCodeUsed, key: None, detail };
    activity::record(&txn, services.clock, &origin, event).await?;
    succeeded(&txn, services, account_id).await?;
    txn.commit().await?;
    Ok(Proven::RecoveryCode { remaining })
}

/// Turns two-factor sign-in off; takes the password and a current code (or a recovery code).
#[allow(clippy::too_many_arguments)]
pub async fn disable(
    db: &(impl ConnectionTrait + TransactionTrait),
    hasher: &PasswordHasher,
    services: CodeServices<'_>,
    account_id: &str,
    password: &Password,
    code: &str,
    client: &Client,
) -> Result<(), TwoFactorError> {
    let row = account(db, account_id).await?;
    if row.totp_enabled_at.is_none() {
        return Err(TwoFactorError::NotOn);
    }
    if !hasher.verify(password, usable_hash(&row)).await? {
        return Err(TwoFactorError::WrongPassword);
    }
    check(db, services, account_id, code, client).await?;
    let now = services.clock.now();
    let txn = crate::domain::database::begin_write(db).await?;
    accounts::Entity::update_many()
        .col_expr(accounts::Column::TotpEnabledAt, Option::<DateTime<Utc>>::None.into())
        .col_expr(accounts::Column::TotpSecret, Option::<crate::domain::sealing::SealedText>::None.into())
        .col_expr(accounts::Column::TotpLastStep, Option::<i64>::None.into())
        .filter(accounts::Column::Id.eq(account_id))
        .exec(&txn)
        .await?;
    recovery::replace(&txn, account_id, &[], now).await?;
    let origin = Origin { actor: row.email.clone(), client: client.clone() };
    let event = NewEvent { log: Log::Account(account_id), kind: EventKind::TwoFactorDisabled, key: None, detail: None };
    activity::record(&txn, services.clock, &origin, event).await?;
    let notice = Mail::TwoFactorDisabled { at: format_time(now), from: describe_client(client) };
    mail::queue(&txn, now, &row.email, Some(account_id), &notice).await?;
    txn.commit().await?;
    Ok(())
}
