//! The `invitations` table, written by [`crate::domain::organisations::invitations`]; the mailed link's hash
//! is drawn by [`crate::domain::mail::links`] as the message goes.

use sea_orm::entity::prelude::*;

/// One invitation to join an organisation. The links' secrets are stored only as their SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    /// Public id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The organisation it joins.
    pub organisation_id: String,
    /// Only the person signed in with this (normalised) address may accept it.
    pub email: String,
    /// The role it gives.
    pub role: String,
    /// Hex SHA-256 of the secret of the link shown once to the inviter.
    #[sea_orm(unique)]
    pub token_hash: String,
    /// Hex SHA-256 of the secret of the link mailed to the address, drawn when the message is sent.
    #[sea_orm(unique)]
    pub mailed_token_hash: Option<String>,
    /// Who invited, in words.
    pub invited_by: String,
    /// Created.
    pub created_at: DateTimeUtc,
    /// After this the link no longer works.
    pub expires_at: DateTimeUtc,
    /// When it was accepted.
    pub accepted_at: Option<DateTimeUtc>,
    /// The account that accepted it.
    pub accepted_by: Option<String>,
    /// When it was revoked.
    pub revoked_at: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
