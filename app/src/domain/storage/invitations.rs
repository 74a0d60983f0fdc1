//! The `invitations` table, written only by [`crate::domain::organisations::invitations`].

use sea_orm::entity::prelude::*;

/// One invitation to join an organisation. The link's secret is stored only as its SHA-256.
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
    /// Hex SHA-256 of the link's secret.
    #[sea_orm(unique)]
    pub token_hash: String,
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
