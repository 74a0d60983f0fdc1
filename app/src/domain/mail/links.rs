//! The single-use links messages carry. A link's secret is drawn as its message is sent, never while the
//! message waits in the outbox, and replaces any drawn for an earlier attempt (which then stops working);
//! only its SHA-256 is stored.

use super::messages::CarriedLink;
use crate::domain::account_links::{self, MintError};
use crate::domain::link_secret::LinkSecret;
use crate::domain::storage::invitations;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

/// Draws the secret of `link` and answers the URL under `base_url` that carries it; `None` when what it
/// is for was used, revoked or expired meanwhile, so that the message is moot.
pub async fn mint(
    db: &impl ConnectionTrait,
    link: CarriedLink<'_>,
    base_url: &str,
    now: DateTime<Utc>,
) -> Result<Option<String>, MintError> {
    let (secret, path) = match link {
        CarriedLink::Account(id) => match account_links::mint(db, id, now).await? {
            Some((secret, purpose)) => (secret, purpose.path()),
            None => return Ok(None),
        },
        CarriedLink::Invitation(id) => match mint_invitation(db, id, now).await? {
            Some(secret) => (secret, "/invitations/"),
            None => return Ok(None),
        },
    };
    Ok(Some(format!("{base_url}{path}{}", secret.expose())))
}

/// The mailed link of an open invitation. The link shown to the inviter keeps working beside it.
async fn mint_invitation(
    db: &impl ConnectionTrait,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<LinkSecret>, MintError> {
    use invitations::Column;
    let secret = LinkSecret::generate()?;
    let updated = invitations::Entity::update_many()
        .col_expr(Column::MailedTokenHash, Some(secret.hash()).into())
        .filter(Column::Id.eq(id))
        .filter(Column::AcceptedAt.is_null())
        .filter(Column::RevokedAt.is_null())
        .filter(Column::ExpiresAt.gt(now))
        .exec(db)
        .await?;
    Ok((updated.rows_affected == 1).then_some(secret))
}
