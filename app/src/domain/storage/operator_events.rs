//! The `operator_events` table, written only by [`crate::domain::operator_log`].

use sea_orm::entity::prelude::*;

/// One thing the operator (a person on the operator pages, the CLI, or a service token) did to an
/// organisation.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "operator_events")]
pub struct Model {
    /// Time-ordered id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// When.
    pub occurred_at: DateTimeUtc,
    /// Who, in words.
    pub actor: String,
    /// What, e.g. `organisation.disabled`.
    pub action: String,
    /// Which organisation (no foreign key: the record outlives it).
    pub organisation_id: Option<String>,
    /// Its name at the time.
    pub organisation_name: Option<String>,
    /// More, in words.
    pub detail: Option<String>,
    /// From where.
    pub client_ip: Option<String>,
    /// With what.
    pub user_agent: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
