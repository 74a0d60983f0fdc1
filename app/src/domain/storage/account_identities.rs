//! The `account_identities` table, written only by [`crate::domain::identities`].

use sea_orm::entity::prelude::*;

/// An account as another system knows it: the provider's app (issuer `portal`) or an OpenID Connect
/// identity provider (its issuer URL), by that system's own id for the person.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "account_identities")]
pub struct Model {
    /// Public id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The account.
    pub account_id: String,
    /// Who vouches for the person.
    pub issuer: String,
    /// Their id for the person (`sub`, or the provider app's user id).
    pub subject: String,
    /// When the link was made.
    pub created_at: DateTimeUtc,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
