//! The `organisations` table, written only by [`crate::domain::organisations`].

use sea_orm::entity::prelude::*;

/// One customer organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "organisations")]
pub struct Model {
    /// Public, opaque id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// Its name, for people.
    pub name: String,
    /// The provider's own id for this customer, unique when set.
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    /// Created.
    pub created_at: DateTimeUtc,
    /// Set while the operator has it disabled: its keys answer `DISABLED`.
    pub disabled_at: Option<DateTimeUtc>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
