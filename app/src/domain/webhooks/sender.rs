//! The HTTP side of webhooks: one round claims what is due, posts each delivery signed as Standard Webhooks
//! says, and records the answer. The process runs a round every second; tests run rounds directly.

use super::deliveries::{self, Claimed, Outcome, Recorded};
use super::endpoints::signing_secrets;
use super::signing;
use super::target::{self, Giver, GuardedResolver, TargetPolicy};
use crate::domain::clock::Clock;
use crate::domain::sealing::Sealer;
use sea_orm::{ConnectionTrait, DbErr, TransactionTrait};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long an endpoint has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// Most deliveries claimed (and sent at once) in one round.
pub const BATCH: u64 = 20;

/// Sends deliveries: a client for the operator's endpoints, and one whose every connection is checked
/// against [`target`]'s rules for customers' endpoints.
#[derive(Debug, Clone)]
pub struct WebhookSender {
    open: reqwest::Client,
    guarded: reqwest::Client,
    sealer: Arc<Sealer>,
    policy: TargetPolicy,
}

/// What a round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Taken by the endpoint.
    pub delivered: usize,
    /// Failed for now; tried again later.
    pub retrying: usize,
    /// Failed on the last attempt of the schedule.
    pub gave_up: usize,
}

impl WebhookSender {
    /// A sender opening secrets with `sealer`, holding customers' endpoints to `policy`.
    pub fn new(sealer: Arc<Sealer>, policy: TargetPolicy) -> Result<Self, reqwest::Error> {
        let builder = || {
            reqwest::Client::builder()
                .timeout(TIMEOUT)
                .connect_timeout(TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")))
        };
        Ok(Self {
            open: builder().build()?,
            guarded: builder().dns_resolver(Arc::new(GuardedResolver)).build()?,
            sealer,
            policy,
        })
    }

    /// Delivers what is due now.
    pub async fn deliver_due(
        &self,
        db: &(impl ConnectionTrait + TransactionTrait),
        clock: &dyn Clock,
    ) -> Result<Round, DbErr> {
        let claimed = deliveries::claim(db, clock.now(), BATCH).await?;
        let outcomes = futures::future::join_all(claimed.iter().map(|claimed| self.attempt(clock, claimed))).await;
        let mut round = Round::default();
        for (claimed, outcome) in claimed.iter().zip(outcomes) {
            let jitter = rand::random::<f64>().mul_add(2.0, -1.0);
            let (id, endpoint) = (&claimed.event.id, &claimed.endpoint.url);
            match deliveries::record(db, clock.now(), claimed, &outcome, jitter).await? {
                Recorded::Delivered => {
                    tracing::info!(%id, %endpoint, status = ?outcome.status, "webhook delivered");
                    round.delivered += 1;
                }
                Recorded::Retry(at) => {
                    tracing::info!(%id, %endpoint, attempt = claimed.delivery.attempts, %at, failure = %outcome.describe(), "webhook not delivered; will retry");
                    round.retrying += 1;
                }
                Recorded::GaveUp => {
                    tracing::warn!(%id, %endpoint, attempts = claimed.delivery.attempts, "webhook not delivered after every retry; given up");
                    round.gave_up += 1;
                }
            }
        }
        Ok(round)
    }

    async fn attempt(&self, clock: &dyn Clock, claimed: &Claimed) -> Outcome {
        let started = Instant::now();
        let mut outcome = self.send(clock, claimed).await;
        outcome.latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
        outcome
    }

    async fn send(&self, clock: &dyn Clock, claimed: &Claimed) -> Outcome {
        let failed = |error: String| Outcome { error: Some(error), ..Outcome::default() };
        let endpoint = &claimed.endpoint;
        let customer = endpoint.organisation_id.is_some();
        let giver = if customer { Giver::Customer } else { Giver::Operator };
        // A literal address never reaches the resolver, so the form is checked again here.
        let url = match target::check_form(&endpoint.url, giver, self.policy) {
            Ok(url) => url,
            Err(err) => return failed(format!("refused: {err}")),
        };
        let now = clock.now();
        let secrets = match signing_secrets(&self.sealer, endpoint, now) {
            Ok(secrets) => secrets,
            Err(err) => return failed(format!("the signing secret cannot be opened: {err}")),
        };
        let body = claimed.event.payload.as_bytes();
        let timestamp = now.timestamp();
        let signature = match signing::signature(&secrets, &claimed.event.id, timestamp, body) {
            Ok(signature) => signature,
            Err(err) => return failed(err.to_string()),
        };
        let client = if customer && !self.policy.allow_private { &self.guarded } else { &self.open };
        let sent = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", &claimed.event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(claimed.event.payload.clone())
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(err) => return failed(describe(&err)),
        };
        let status = response.status().as_u16();
        let mut excerpt = Vec::new();
        while excerpt.len() < deliveries::EXCERPT_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => excerpt.extend_from_slice(&chunk),
                Ok(None) | Err(_) => break,
            }
        }
        excerpt.truncate(deliveries::EXCERPT_BYTES);
        Outcome { status: Some(status), excerpt: String::from_utf8_lossy(&excerpt).into_owned(), ..Outcome::default() }
    }
}

/// A failed request in words: the innermost cause says most (a refused address, a reset connection).
fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        return format!("timed out after {} s", TIMEOUT.as_secs());
    }
    let mut cause: &dyn std::error::Error = err;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let what = if err.is_connect() { "could not connect" } else { "request failed" };
    format!("{what}: {cause}")
}
