//! The `activity_events` table, written only by [`crate::domain::activity`].

use sea_orm::entity::prelude::*;

/// One recorded event.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_events")]
pub struct Model {
    /// Time-ordered id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    /// The organisation whose log it is in; none for a person's own events (sign-ins, password changes).
    pub organisation_id: Option<String>,
    /// The person a personal event is about.
    pub account_id: Option<String>,
    /// When it happened.
    pub occurred_at: DateTimeUtc,
    /// What happened, e.g. `key.created`.
    pub kind: String,
    /// Who did it, e.g. `ann@example.com` or `service token "billing"`.
    pub actor: String,
    /// The key concerned.
    pub key_id: Option<String>,
    /// The key's name at the time.
    pub key_name: Option<String>,
    /// What changed, in words.
    pub detail: Option<String>,
    /// The client's address.
    pub client_ip: Option<String>,
    /// The client's user agent, shortened.
    pub user_agent: Option<String>,
}

/// No relations are navigated.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
