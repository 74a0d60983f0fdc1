//! The activity logs: an organisation's (key, member and invitation changes) and a person's own (sign-ins
//! and failed ones, sign-outs, password changes), each entry with time, actor, key, client address and user
//! agent.

use crate::domain::clock::Clock;
use crate::domain::storage::activity_events::{ActiveModel, Column, Entity, Model};
use crate::domain::storage::api_keys;
use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use std::net::IpAddr;

/// Longest user agent kept; the rest is cut.
const USER_AGENT_CHARS: usize = 256;
/// Most events on one page.
pub const MAX_PAGE_SIZE: u64 = 100;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// The account was created.
    AccountCreated,
    /// A sign-in succeeded.
    SignedIn,
    /// A sign-in to this account failed.
    SignInFailed,
    /// A session was ended by its owner.
    SignedOut,
    /// The password was changed.
    PasswordChanged,
    /// Two-factor sign-in was turned on.
    TwoFactorEnabled,
    /// Two-factor sign-in was turned off.
    TwoFactorDisabled,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
    /// The address was verified.
    EmailVerified,
    /// A key was created.
    KeyCreated,
    /// A key's settings were changed.
    KeyUpdated,
    /// A key was rolled.
    KeyRolled,
    /// A key was revoked.
    KeyRevoked,
    /// A leak report found the key in public.
    KeyLeaked,
    /// One access token was revoked by the key that bought it.
    TokenRevoked,
    /// A webhook endpoint was registered.
    WebhookAdded,
    /// A webhook endpoint was changed (URL, events, on or off, secret rotated).
    WebhookChanged,
    /// A webhook endpoint was removed.
    WebhookRemoved,
    /// The organisation was created.
    OrganisationCreated,
    /// Its name or external id changed.
    OrganisationUpdated,
    /// The operator disabled it.
    OrganisationDisabled,
    /// The operator enabled it again.
    OrganisationEnabled,
    /// Someone was invited.
    InvitationCreated,
    /// An invitation was revoked.
    InvitationRevoked,
    /// Someone joined (accepting an invitation).
    MemberJoined,
    /// A member's role changed.
    MemberRoleChanged,
    /// A member was removed.
    MemberRemoved,
    /// A member left.
    MemberLeft,
}

impl EventKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account.created",
            Self::SignedIn => "sign_in",
            Self::SignInFailed => "sign_in.failed",
            Self::SignedOut => "sign_out",
            Self::PasswordChanged => "password.changed",
            Self::TwoFactorEnabled => "two_factor.enabled",
            Self::TwoFactorDisabled => "two_factor.disabled",
            Self::RecoveryCodeUsed => "two_factor.recovery_code_used",
            Self::EmailVerified => "email.verified",
            Self::KeyCreated => "key.created",
            Self::KeyUpdated => "key.updated",
            Self::KeyRolled => "key.rolled",
            Self::KeyRevoked => "key.revoked",
            Self::KeyLeaked => "key.leaked",
            Self::TokenRevoked => "token.revoked",
            Self::WebhookAdded => "webhook.added",
            Self::WebhookChanged => "webhook.changed",
            Self::WebhookRemoved => "webhook.removed",
            Self::OrganisationCreated => "organisation.created",
            Self::OrganisationUpdated => "organisation.updated",
            Self::OrganisationDisabled => "organisation.disabled",
            Self::OrganisationEnabled => "organisation.enabled",
            Self::InvitationCreated => "invitation.created",
            Self::InvitationRevoked => "invitation.revoked",
            Self::MemberJoined => "member.added",
            Self::MemberRoleChanged => "member.role_changed",
            Self::MemberRemoved => "member.removed",
            Self::MemberLeft => "member.left",
        }
    }

    fn parse(stored: &str) -> Option<Self> {
        [
            Self::AccountCreated,
            Self::SignedIn,
            Self::SignInFailed,
            Self::SignedOut,
            Self::PasswordChanged,
            Self::TwoFactorEnabled,
            Self::TwoFactorDisabled,
            Self::RecoveryCodeUsed,
            Self::EmailVerified,
            Self::KeyCreated,
            Self::KeyUpdated,
            Self::KeyRolled,
            Self::KeyRevoked,
            Self::KeyLeaked,
            Self::TokenRevoked,
            Self::WebhookAdded,
            Self::WebhookChanged,
            Self::WebhookRemoved,
            Self::OrganisationCreated,
            Self::OrganisationUpdated,
            Self::OrganisationDisabled,
            Self::OrganisationEnabled,
            Self::InvitationCreated,
            Self::InvitationRevoked,
            Self::MemberJoined,
            Self::MemberRoleChanged,
            Self::MemberRemoved,
            Self::MemberLeft,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == stored)
    }
}

/// Where a request came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Client {
    /// The client's address, when known.
    pub ip: Option<IpAddr>,
    /// The client's user agent, when sent.
    pub user_agent: Option<String>,
}

/// Who acted, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The actor in words: an email address, or `service token "name"`.
    pub actor: String,
    /// Where the request came from.
    pub client: Client,
}

/// Which log an event goes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Log<'a> {
    /// An organisation's: what happened to its keys, members and invitations.
    Organisation(&'a str),
    /// A person's own: their sign-ins and password changes.
    Account(&'a str),
}

/// One event to record.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    /// Whose log it goes in.
    pub log: Log<'a>,
    /// What happened.
    pub kind: EventKind,
    /// The key concerned: id and name.
    pub key: Option<(&'a str, &'a str)>,
    /// What changed, in words.
    pub detail: Option<String>,
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Id.
    pub id: String,
    /// When.
    pub occurred_at: DateTime<Utc>,
    /// What.
    pub kind: EventKind,
    /// Who.
    pub actor: String,
    /// Which key (id).
    pub key_id: Option<String>,
    /// Which key (name at the time).
    pub key_name: Option<String>,
    /// What changed.
    pub detail: Option<String>,
    /// From where.
    pub client_ip: Option<String>,
    /// With what.
    pub user_agent: Option<String>,
}

/// Records `event` as done by `origin`.
pub async fn record(
    db: &impl ConnectionTrait,
    clock: &dyn Clock,
    origin: &Origin,
    event: NewEvent<'_>,
) -> Result<(), DbErr> {
    let user_agent = origin.client.user_agent.as_deref().map(|agent| agent.chars().take(USER_AGENT_CHARS).collect());
    ActiveModel {
        id: Set(uuid::Uuid::now_v7().to_string()),
        organisation_id: Set(match event.log {
            Log::Organisation(id) => Some(id.to_owned()),
            Log::Account(_) => None,
        }),
        account_id: Set(match event.log {
            Log::Organisation(_) => None,
            Log::Account(id) => Some(id.to_owned()),
        }),
        occurred_at: Set(clock.now()),
        kind: Set(event.kind.as_str().to_owned()),
        actor: Set(origin.actor.chars().take(300).collect()),
        key_id: Set(event.key.map(|(id, _)| id.to_owned())),
        key_name: Set(event.key.map(|(_, name)| name.to_owned())),
        detail: Set(event.detail),
        client_ip: Set(origin.client.ip.map(|ip| ip.to_string())),
        user_agent: Set(user_agent),
    }
    .insert(db)
    .await?;
    // The notices and webhook events an event calls for are queued with it, in its transaction.
    // The key is read once, for both.
    if let Log::Organisation(organisation_id) = event.log {
        let key = match event.key {
            Some((key_id, _)) => api_keys::Entity::find_by_id(key_id.to_owned()).one(db).await?,
            None => None,
        };
        if let Some(key) = &key {
            crate::domain::notices::on_key_event(db, clock.now(), origin, event.kind, key).await?;
        }
        crate::domain::webhooks::events::on_activity(
            db,
            clock.now(),
            origin,
            event.kind,
            organisation_id,
            key.as_ref(),
        )
        .await?;
    }
    Ok(())
}

/// One page of an account's log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// The events on this page.
    pub events: Vec<Event>,
    /// The page number, from 1.
    pub page: u64,
    /// How many pages there are (at least 1).
    pub pages: u64,
}

/// Page `page` (from 1) of a log, `per_page` events a page, newest first.
pub async fn list(db: &impl ConnectionTrait, log: Log<'_>, page: u64, per_page: u64) -> Result<EventPage, DbErr> {
    let per_page = per_page.clamp(1, MAX_PAGE_SIZE);
    let of_log = || match log {
        Log::Organisation(id) => Entity::find().filter(Column::OrganisationId.eq(id)),
        Log::Account(id) => Entity::find().filter(Column::AccountId.eq(id)),
    };
    let total = of_log().count(db).await?;
    let pages = total.div_ceil(per_page).max(1);
    let page = page.clamp(1, pages);
    let rows = of_log()
        .order_by_desc(Column::OccurredAt)
        .order_by_desc(Column::Id)
        .offset((page - 1) * per_page)
        .limit(per_page)
        .all(db)
        .await?;
    Ok(EventPage { events: rows.into_iter().filter_map(to_event).collect(), page, pages })
}

fn to_event(row: Model) -> Option<Event> {
    Some(Event {
        kind: EventKind::parse(&row.kind)?,
        id: row.id,
        occurred_at: row.occurred_at,
        actor: row.actor,
        key_id: row.key_id,
        key_name: row.key_name,
        detail: row.detail,
        client_ip: row.client_ip,
        user_agent: row.user_agent,
    })
}
