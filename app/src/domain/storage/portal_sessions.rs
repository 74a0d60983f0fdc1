//! The `portal_sessions` table, written only by [`crate::domain::portal_sessions`].

use sea_orm::entity::prelude::*;

/// A one-time sign-in link the provider's app asked for. The link's secret is stored only as its SHA-256;
/// the rest is what the provider said about the person, applied when the link is opened.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "portal_sessions")]
pub struct Model {
    /// Hex SHA-256 of the link's secret.
    #[sea_orm(primary_key, auto_increment = false)]
    pub secret_hash: String,
    /// The provider's id for the customer.
    pub organisation_external_id: String,
    /// The customer's name.
    pub organisation_name: String,
    /// The provider's id for the person.
    pub user_external_id: String,
    /// The person's (normalised) address.
    pub user_email: String,
    /// The person's name.
    pub user_name: Option<String>,
    /// The role they get in the organisation.
    pub role: String,
    /// Where "Back to …" goes.
    pub return_url: String,
    /// The service token that asked, in words.
    pub created_by: String,
    /// Created.
    pub created_at: DateTimeUtc,
    /// After this the link no longer works.
    pub expires_at: DateTimeUtc,
    /// When it was opened; a link opens once.
    pub used_at: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
