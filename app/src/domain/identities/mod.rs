//! Who else vouches for an account: the provider's app (through portal sessions) or its OpenID Connect
//! identity provider. An account is found by (issuer, subject), the other side's own id for the person,
//! never by an email address that side may not have checked.

pub mod oidc;
pub mod place;

use crate::domain::storage::{account_identities, accounts};
use chrono::{DateTime, Utc};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// The issuer of identities vouched for by the provider's app through `POST /v1/portal/sessions`.
pub const PORTAL_ISSUER: &str = "portal";

/// The account `issuer` knows as `subject`, if any.
pub async fn find_account(
    db: &impl ConnectionTrait,
    issuer: &str,
    subject: &str,
) -> Result<Option<accounts::Model>, DbErr> {
    let Some(identity) = account_identities::Entity::find()
        .filter(account_identities::Column::Issuer.eq(issuer))
        .filter(account_identities::Column::Subject.eq(subject))
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    accounts::Entity::find_by_id(identity.account_id).one(db).await
}

/// Records that `issuer` knows `account_id` as `subject`; the caller has checked that it may.
pub async fn link(
    db: &impl ConnectionTrait,
    account_id: &str,
    issuer: &str,
    subject: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    account_identities::ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        account_id: Set(account_id.to_owned()),
        issuer: Set(issuer.to_owned()),
        subject: Set(subject.to_owned()),
        created_at: Set(now),
    }
    .insert(db)
    .await
    .map(|_| ())
}
