//! One round of delivery: claim what is due, render it, hand it to the transport and record the answer.
//! The process runs a round every few seconds; tests run rounds directly.

use super::messages::Mail;
use super::outbox;
use super::render::{MailBrand, render};
use super::transport::{SendError, Transport, build};
use crate::domain::storage::mail_outbox::Model;
use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};

/// Everything a round needs besides the database.
#[derive(Debug, Clone)]
pub struct Mailer {
    /// Where messages go.
    pub transport: Transport,
    /// The From: of every message.
    pub from: Mailbox,
    /// What messages are dressed in.
    pub brand: MailBrand,
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Handed to the mail server.
    pub sent: usize,
    /// Failed for now; tried again later.
    pub retrying: usize,
    /// Given up on, with the reason recorded.
    pub failed: usize,
}

/// Most messages claimed in one round.
pub const BATCH: u64 = 20;

/// Delivers what is due at `now`.
pub async fn deliver_due(
    db: &(impl ConnectionTrait + TransactionTrait),
    now: DateTime<Utc>,
    mailer: &Mailer,
) -> Result<Round, DbErr> {
    let mut round = Round::default();
    for message in outbox::claim(db, now, BATCH).await? {
        match deliver(db, now, mailer, &message).await {
            Ok(()) => {
                outbox::mark_sent(db, &message.id, now).await?;
                tracing::info!(id = %message.id, kind = %message.kind, "mail sent");
                round.sent += 1;
            }
            Err(SendError::Permanent(answer)) => {
                outbox::mark_failed(db, &message.id, now, &answer).await?;
                tracing::warn!(id = %message.id, kind = %message.kind, answer = %answer, "mail refused; not retried");
                round.failed += 1;
            }
            Err(SendError::Temporary(answer)) => {
                if outbox::mark_retry(db, &message, now, &answer).await? {
                    tracing::warn!(id = %message.id, kind = %message.kind, attempts = message.attempts, answer = %answer, "mail not sent; will retry");
                    round.retrying += 1;
                } else {
                    tracing::error!(id = %message.id, kind = %message.kind, answer = %answer, "mail not sent after a day of retries; given up");
                    round.failed += 1;
                }
            }
        }
    }
    Ok(round)
}

async fn deliver(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
    mailer: &Mailer,
    message: &Model,
) -> Result<(), SendError> {
    let mail: Mail = serde_json::from_str(&message.params)
        .map_err(|err| SendError::Permanent(format!("the queued message cannot be read: {err}")))?;
    let link = match mail.link() {
        Some(link) => match super::links::mint(db, link, &mailer.brand.base_url, now).await {
            Ok(Some(url)) => Some(url),
            Ok(None) => {
                return Err(SendError::Permanent("its link was used or expired before it could be sent".into()));
            }
            Err(err) => return Err(SendError::Temporary(format!("its link could not be made: {err}"))),
        },
        None => None,
    };
    let rendered = render(&mail, &mailer.brand, link.as_deref());
    let email = build(&mailer.from, &message.recipient, &message.id, &rendered)?;
    mailer.transport.send(&message.id, email).await
}
