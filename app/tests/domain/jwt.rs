//! Access tokens for API keys: the exchange makes a verification's checks and counts as TOKEN_ISSUED,
//! tokens verify against the JWKS alone, and rotation keeps old tokens verifying until they expire. On
//! SQLite and PostgreSQL.

use crate::support::{customer, svc};
use app::domain::activity::{Client, Origin};
use app::domain::changes::{Caches, Follower};
use app::domain::clock::{Clock, ManualClock, SharedClock};
use app::domain::jwt::{
    Claims, ExchangeError, KeyState, MAX_TOKEN_TTL, RETIRED_KEY_PUBLISHED_FOR, SigningKeys, TokenPolicy, TokenRequest,
    exchange, list, rotate,
};
use app::domain::keys::controls::RateLimit;
use app::domain::keys::format::KeyPrefix;
use app::domain::keys::manage::{KeyPolicy, KeyServices, NewKey, create_key, revoke_key};
use app::domain::scopes::ScopeCatalogue;
use app::domain::service_tokens::TokenCache;
use app::domain::usage::{UsageCounter, hourly};
use app::domain::verification::{Code, KeyCache, Verifier};
use app::on_both_databases;
use chrono::{Duration, Utc};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use sea_orm::DatabaseConnection;
use std::sync::Arc;

on_both_databases!(
    a_token_carries_the_documented_claims_and_verifies_with_the_jwks_alone,
    an_exchange_makes_every_check_a_verification_makes_and_counts_as_token_issued,
    a_token_never_outlives_its_key_and_its_lifetime_is_capped,
    after_a_rotation_old_tokens_verify_until_they_expire_and_new_ones_carry_the_new_kid,
    instances_starting_together_make_one_current_key_and_others_follow_a_rotation,
    with_an_encryption_key_no_stored_row_holds_a_readable_private_key_and_earlier_tokens_still_verify,
);

const ISSUER: &str = "https://keys.example.com";

/// One instance: its engine and its copy of the signing keys, on a clock set to the real time (the JWT
/// library checks expiry against the real clock).
pub(crate) struct Instance {
    pub(crate) clock: Arc<ManualClock>,
    pub(crate) verifier: Verifier,
    pub(crate) signing: Arc<SigningKeys>,
    pub(crate) policy: TokenPolicy,
    pub(crate) keys: KeyPolicy,
    pub(crate) catalogue: ScopeCatalogue,
}

impl Instance {
    pub(crate) fn new() -> Self {
        let clock = Arc::new(ManualClock::at(Utc::now()));
        let shared: SharedClock = clock.clone();
        let verifier = Verifier::new(
            KeyPrefix::default(),
            shared,
            Arc::new(KeyCache::default()),
            Arc::new(UsageCounter::default()),
        );
        Self {
            clock,
            verifier,
            signing: Arc::new(SigningKeys::default()),
            policy: TokenPolicy::new(ISSUER),
            keys: KeyPolicy::default(),
            catalogue: ScopeCatalogue::example(),
        }
    }

    pub(crate) async fn exchange(
        &self,
        db: &DatabaseConnection,
        request: TokenRequest<'_>,
    ) -> Result<(String, Claims), ExchangeError> {
        let issued = exchange(db, &self.verifier, &self.signing, &self.policy, request, self.clock.now()).await?;
        Ok((issued.token.expose().to_owned(), issued.claims))
    }

    pub(crate) fn services(&self) -> KeyServices<'_> {
        KeyServices {
            clock: self.clock.as_ref(),
            policy: &self.keys,
            catalogue: &self.catalogue,
            cache: self.verifier.cache(),
        }
    }

    pub(crate) async fn key(&self, db: &DatabaseConnection, account: &str, new: NewKey) -> (String, String) {
        let (key, plaintext) = create_key(db, self.services(), &origin(), svc(account), &new).await.expect("key");
        (key.id, plaintext.expose().to_owned())
    }

    pub(crate) async fn revoke(&self, db: &DatabaseConnection, account: &str, id: &str) {
        revoke_key(db, self.services(), &origin(), svc(account), id).await.expect("revoke");
    }
}

pub(crate) fn origin() -> Origin {
    Origin { actor: "ann@example.com".into(), client: Client::default() }
}

pub(crate) fn ask(key: &str) -> TokenRequest<'_> {
    TokenRequest { key, scopes: None, audience: None, ttl_seconds: None, ip: None }
}

pub(crate) fn orders_key() -> NewKey {
    NewKey { name: "checkout".into(), scopes: vec!["orders:read".into(), "orders:write".into()], ..NewKey::default() }
}

/// What a provider's service does: pick the key named by the token's `kid` from the JWKS and check the
/// signature, the algorithm, the issuer, the audience and the times.
fn verify_with(jwks: &JwkSet, token: &str, audience: &str) -> Result<Claims, jsonwebtoken::errors::Error> {
    let kid = decode_header(token)?.kid.unwrap_or_default();
    let jwk = jwks.find(&kid).ok_or(jsonwebtoken::errors::ErrorKind::InvalidKeyFormat)?;
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    Ok(decode::<Claims>(token, &DecodingKey::from_jwk(jwk)?, &validation)?.claims)
}

async fn a_token_carries_the_documented_claims_and_verifies_with_the_jwks_alone(db: DatabaseConnection) {
    let instance = Instance::new();
    let account = customer(&db, instance.clock.as_ref(), "ann@example.com").await;
    let (id, key) = instance.key(&db, &account, orders_key()).await;
    let now = instance.clock.now().timestamp();

    let (token, claims) = instance.exchange(&db, ask(&key)).await.expect("token");
    let verified = verify_with(&instance.signing.jwks(instance.clock.now()), &token, ISSUER).expect("verifies");
    assert_eq!(verified, claims);
    assert_eq!((claims.iss.as_str(), claims.sub.as_str(), claims.aud.as_str()), (ISSUER, account.as_str(), ISSUER));
    assert_eq!(claims.scope, "orders:read orders:write", "all of the key's scopes by default");
    assert_eq!(claims.key_id, id);
    assert_eq!((claims.iat, claims.nbf, claims.exp), (now, now, now + MAX_TOKEN_TTL.num_seconds()));
    let header = decode_header(&token).expect("header");
    assert_eq!((header.alg, header.typ.as_deref()), (Algorithm::EdDSA, Some("at+jwt")));
    let (second, again) = instance.exchange(&db, ask(&key)).await.expect("token");
    assert_ne!((second, again.jti), (token, claims.jti), "every token is unique");

    let mut narrow = ask(&key);
    narrow.scopes = Some(vec!["orders:read".into()]);
    narrow.audience = Some("https://api.example.com");
    narrow.ttl_seconds = Some(60);
    let (token, claims) = instance.exchange(&db, narrow).await.expect("narrow token");
    assert_eq!((claims.scope.as_str(), claims.exp - claims.iat), ("orders:read", 60));
    let jwks = instance.signing.jwks(instance.clock.now());
    assert!(verify_with(&jwks, &token, "https://api.example.com").is_ok());
    assert!(verify_with(&jwks, &token, ISSUER).is_err(), "a token for another audience is refused");

    instance.clock.advance(-(MAX_TOKEN_TTL + Duration::minutes(2)));
    let (stale, _) = instance.exchange(&db, ask(&key)).await.expect("token issued in the past");
    let err = verify_with(&jwks, &stale, ISSUER).expect_err("expired");
    assert_eq!(err.kind(), &jsonwebtoken::errors::ErrorKind::ExpiredSignature);
}

async fn an_exchange_makes_every_check_a_verification_makes_and_counts_as_token_issued(db: DatabaseConnection) {
    let instance = Instance::new();
    let account = customer(&db, instance.clock.as_ref(), "ann@example.com").await;
    let (id, key) = instance.key(&db, &account, orders_key()).await;

    let mut beyond = ask(&key);
    beyond.scopes = Some(vec!["orders:read customers:read".into()]);
    let refused = instance.exchange(&db, beyond).await.expect_err("scopes beyond the key's");
    assert!(
        matches!(&refused, ExchangeError::InvalidScope(message) if message.contains("customers:read")),
        "{refused:?}"
    );
    let mut fenced_key = orders_key();
    fenced_key.ip_allowlist = vec!["10.0.0.0/8".into()];
    let (_, fenced) = instance.key(&db, &account, fenced_key).await;
    let mut outside = ask(&fenced);
    outside.ip = Some("203.0.113.7".parse().expect("ip"));
    assert!(matches!(instance.exchange(&db, outside).await, Err(ExchangeError::InvalidToken(Code::IpNotAllowed))));
    let mut inside = ask(&fenced);
    inside.ip = Some("10.1.2.3".parse().expect("ip"));
    assert!(instance.exchange(&db, inside).await.is_ok());

    let mut limited_key = orders_key();
    limited_key.rate_limit = Some(RateLimit { limit: 2, window_seconds: 60 });
    let (_, limited) = instance.key(&db, &account, limited_key).await;
    assert!(instance.exchange(&db, ask(&limited)).await.is_ok());
    assert!(instance.exchange(&db, ask(&limited)).await.is_ok());
    assert!(
        matches!(instance.exchange(&db, ask(&limited)).await, Err(ExchangeError::RateLimited(state)) if state.limit == 2)
    );

    assert!(matches!(
        instance.exchange(&db, ask("lk_nonsense")).await,
        Err(ExchangeError::InvalidToken(Code::Malformed))
    ));
    assert!(instance.exchange(&db, ask(&key)).await.is_ok());
    instance.revoke(&db, &account, &id).await;
    assert!(matches!(instance.exchange(&db, ask(&key)).await, Err(ExchangeError::InvalidToken(Code::Revoked))));

    instance.verifier.usage().flush(&db).await.expect("flush");
    let now = instance.clock.now();
    let buckets = hourly(&db, &id, now - Duration::hours(1), now).await.expect("usage");
    let count = |code| buckets.iter().filter_map(|bucket| bucket.counts.get(&code)).sum::<u64>();
    assert_eq!(count(Code::TokenIssued), 1, "{buckets:?}");
    assert_eq!(count(Code::InsufficientScopes), 1);
    assert_eq!(count(Code::Revoked), 1);
    assert_eq!(count(Code::Valid), 0, "an exchange is not counted as a plain verification");
}

async fn a_token_never_outlives_its_key_and_its_lifetime_is_capped(db: DatabaseConnection) {
    let mut instance = Instance::new();
    instance.policy.ttl = Duration::minutes(5);
    let account = customer(&db, instance.clock.as_ref(), "ann@example.com").await;
    let (_, key) = instance.key(&db, &account, orders_key()).await;
    let mut long = ask(&key);
    long.ttl_seconds = Some(3600);
    let (_, claims) = instance.exchange(&db, long).await.expect("token");
    assert_eq!(claims.exp - claims.iat, 300, "capped at the operator's maximum");
    let mut zero = ask(&key);
    zero.ttl_seconds = Some(0);
    assert!(matches!(
        instance.exchange(&db, zero).await,
        Err(ExchangeError::InvalidRequest { field: "ttl_seconds", .. })
    ));

    let mut short_lived = orders_key();
    short_lived.expires_at = Some(instance.clock.now() + Duration::seconds(90));
    let (_, expiring) = instance.key(&db, &account, short_lived).await;
    let (_, claims) = instance.exchange(&db, ask(&expiring)).await.expect("token");
    assert_eq!(claims.exp - claims.iat, 90, "ends when the key does");
    instance.clock.advance(Duration::seconds(90));
    assert!(matches!(instance.exchange(&db, ask(&expiring)).await, Err(ExchangeError::InvalidToken(Code::Expired))));
}

async fn after_a_rotation_old_tokens_verify_until_they_expire_and_new_ones_carry_the_new_kid(db: DatabaseConnection) {
    let instance = Instance::new();
    let account = customer(&db, instance.clock.as_ref(), "ann@example.com").await;
    let (_, key) = instance.key(&db, &account, orders_key()).await;
    let (old_token, _) = instance.exchange(&db, ask(&key)).await.expect("token");
    let old_kid = decode_header(&old_token).expect("header").kid.expect("kid");
    let before = instance.signing.jwks(instance.clock.now());
    assert_eq!(before.keys.len(), 2, "the current key and the next one");

    let rotation = rotate(&db, &Default::default(), instance.clock.now()).await.expect("rotate");
    assert_eq!(rotation.retired.as_deref(), Some(old_kid.as_str()));
    assert!(before.find(&rotation.current).is_some(), "the new signing key was published before it signed");
    instance.signing.load(&db).await.expect("load");

    let (new_token, _) = instance.exchange(&db, ask(&key)).await.expect("token");
    assert_eq!(decode_header(&new_token).expect("header").kid.as_deref(), Some(rotation.current.as_str()));
    assert!(verify_with(&before, &new_token, ISSUER).is_ok(), "a JWKS cached before the rotation verifies it");
    let after = instance.signing.jwks(instance.clock.now());
    assert_eq!(after.keys.len(), 3, "retired, current and the new next key");
    assert!(verify_with(&after, &old_token, ISSUER).is_ok(), "the old key stays published");
    let listed = list(&db).await.expect("list");
    assert!(matches!(listed.iter().find(|k| k.kid == old_kid).map(|k| k.state), Some(KeyState::Retired { .. })));

    instance.clock.advance(MAX_TOKEN_TTL);
    let later = instance.signing.jwks(instance.clock.now());
    assert!(later.find(&old_kid).is_some(), "still published while a token it signed could be live");
    instance.clock.advance(RETIRED_KEY_PUBLISHED_FOR - MAX_TOKEN_TTL);
    let dropped = instance.signing.jwks(instance.clock.now());
    assert!(dropped.find(&old_kid).is_none(), "dropped once every token it signed has expired");
    assert_eq!(dropped.keys.len(), 2);
    // Rotating again later deletes retired keys that are no longer published.
    rotate(&db, &Default::default(), instance.clock.now()).await.expect("rotate again");
    assert!(list(&db).await.expect("list").iter().all(|k| k.kid != old_kid));
}

async fn instances_starting_together_make_one_current_key_and_others_follow_a_rotation(db: DatabaseConnection) {
    let (a, b) = (Instance::new(), Instance::new());
    let now = a.clock.now();
    let (made_a, made_b) = tokio::join!(a.signing.ensure(&db, now), b.signing.ensure(&db, now));
    made_a.expect("a");
    made_b.expect("b");
    let keys = list(&db).await.expect("list");
    let states: Vec<KeyState> = keys.iter().map(|k| k.state).collect();
    assert_eq!(states, [KeyState::Current, KeyState::Next], "one current key and one next key, not two of each");
    let signer = |instance: &Instance| {
        let signing = instance.signing.clone();
        let db = db.clone();
        async move { signing.signer(&db, now).await.expect("signer").kid.clone() }
    };
    assert_eq!(signer(&a).await, signer(&b).await);

    let caches = Caches {
        keys: b.verifier.cache().clone(),
        tokens: Arc::new(TokenCache::default()),
        signing_keys: b.signing.clone(),
        issued_tokens: Arc::new(app::domain::jwt::IssuedTokens::default()),
    };
    let mut b_follows = Follower::start(&db, caches).await.expect("follow");
    let rotation = rotate(&db, &Default::default(), now).await.expect("rotate");
    assert_ne!(signer(&b).await, rotation.current, "B signs with what it loaded until it follows");
    b_follows.catch_up(&db).await.expect("catch up");
    assert_eq!(signer(&b).await, rotation.current, "B signs with the new key after one catch-up");
    assert!(b.signing.jwks(now).find(&rotation.next).is_some(), "and publishes the new next key");
}

async fn with_an_encryption_key_no_stored_row_holds_a_readable_private_key_and_earlier_tokens_still_verify(
    db: DatabaseConnection,
) {
    use app::domain::sealing::Sealer;
    use app::domain::storage::signing_keys::Entity;
    use sea_orm::EntityTrait;
    // Before the operator set a key: the private halves lie in the database as PKCS#8 DER.
    let mut instance = Instance::new();
    let account = customer(&db, instance.clock.as_ref(), "ann@example.com").await;
    let (_, key) = instance.key(&db, &account, orders_key()).await;
    let (earlier, _) = instance.exchange(&db, ask(&key)).await.expect("token");
    let plain: Vec<Vec<u8>> = Entity::find()
        .all(&db)
        .await
        .expect("rows")
        .into_iter()
        .filter_map(|row| row.private_key.map(|k| k.0))
        .collect();
    assert_eq!(plain.len(), 2);
    assert!(plain.iter().all(|der| der.first() == Some(&0x30)), "DER, readable by anyone with the file");

    // An instance starts with LATCHKEY_ENCRYPTION_KEY set: the stored keys are sealed in place.
    let sealer = Sealer::with_key(&[7; 32]);
    instance.signing = Arc::new(SigningKeys::sealed_with(sealer.clone()));
    instance.signing.ensure(&db, instance.clock.now()).await.expect("ensure");
    let rotation = rotate(&db, &sealer, instance.clock.now()).await.expect("rotate");
    instance.signing.load(&db).await.expect("load");
    let rows = Entity::find().all(&db).await.expect("rows");
    let stored: Vec<Vec<u8>> = rows.iter().filter_map(|row| row.private_key.clone().map(|k| k.0)).collect();
    assert_eq!(stored.len(), 2, "the new current key and the new next key keep their private halves");
    for bytes in &stored {
        assert!(bytes.starts_with(b"x1:"), "sealed");
        for der in &plain {
            let seed = &der[der.len() - 32..];
            assert!(!bytes.windows(seed.len()).any(|window| window == seed), "no private seed in the clear");
        }
    }

    // Tokens issued before the change still verify, and new ones are signed by the sealed key.
    let jwks = instance.signing.jwks(instance.clock.now());
    assert!(verify_with(&jwks, &earlier, ISSUER).is_ok(), "a token issued before the sealing");
    let (later, _) = instance.exchange(&db, ask(&key)).await.expect("token signed with a sealed key");
    assert_eq!(decode_header(&later).expect("header").kid.as_deref(), Some(rotation.current.as_str()));
    assert!(verify_with(&jwks, &later, ISSUER).is_ok());

    // Without the key (or with another), the sealed keys do not open: start-up says so instead of signing.
    let keyless = SigningKeys::default().load(&db).await.expect_err("no key");
    assert!(keyless.to_string().contains("LATCHKEY_ENCRYPTION_KEY"), "{keyless}");
    assert!(SigningKeys::sealed_with(Sealer::with_key(&[8; 32])).load(&db).await.is_err());
}
