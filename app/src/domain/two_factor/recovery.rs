//! Recovery codes: ten per enrolment, 60 random bits each, shown once and stored as SHA-256 hashes (they are
//! random, not chosen, so a fast hash suffices). Each works once.

use crate::domain::random::{RandomError, secret_bytes};
use crate::domain::storage::recovery_codes::{ActiveModel, Column, Entity};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, PaginatorTrait, QueryFilter, Set};
use sha2::{Digest, Sha256};

/// Codes made at enrolment.
pub const COUNT: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// One recovery code, as shown once: `xxxx-xxxx-xxxx`.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(String);

impl RecoveryCode {
    /// The code, for showing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// Ten fresh codes.
pub fn generate() -> Result<Vec<RecoveryCode>, RandomError> {
    (0..COUNT)
        .map(|_| {
            let bytes = secret_bytes::<12>()?;
            // 12 characters of 5 bits each: each byte's low 5 bits, uniformly distributed.
            let chars: String = bytes.iter().map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
            Ok(RecoveryCode(format!("{}-{}-{}", &chars[0..4], &chars[4..8], &chars[8..12])))
        })
        .collect()
}

/// How a typed code is compared: lower case, without dashes or spaces.
fn normalise(code: &str) -> String {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).map(|c| c.to_ascii_lowercase()).collect()
}

fn hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalise(code).as_bytes()))
}

/// Replaces the account's codes with `codes` (none: deletes them).
pub async fn replace(
    db: &impl ConnectionTrait,
    account_id: &str,
    codes: &[RecoveryCode],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    Entity::delete_many().filter(Column::AccountId.eq(account_id)).exec(db).await?;
    if codes.is_empty() {
        return Ok(());
    }
    let rows = codes.iter().map(|code| ActiveModel {
        code_hash: Set(hash(code.expose())),
        account_id: Set(account_id.to_owned()),
        created_at: Set(now),
        used_at: Set(None),
    });
    Entity::insert_many(rows).exec_without_returning(db).await?;
    Ok(())
}

/// Uses `code` if it is one of the account's unused codes.
pub async fn spend(db: &impl ConnectionTrait, account_id: &str, code: &str, now: DateTime<Utc>) -> Result<bool, DbErr> {
    if normalise(code).len() != 12 {
        return Ok(false);
    }
    let spent = Entity::update_many()
        .col_expr(Column::UsedAt, Some(now).into())
        .filter(Column::CodeHash.eq(hash(code)))
        .filter(Column::AccountId.eq(account_id))
        .filter(Column::UsedAt.is_null())
        .exec(db)
        .await?;
    Ok(spent.rows_affected == 1)
}

/// Unused codes left.
pub async fn remaining(db: &impl ConnectionTrait, account_id: &str) -> Result<u64, DbErr> {
    Entity::find().filter(Column::AccountId.eq(account_id)).filter(Column::UsedAt.is_null()).count(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_readable_and_typed_loosely() {
        let codes = generate().expect("random");
        assert_eq!(codes.len(), COUNT);
        let shown: std::collections::HashSet<_> = codes.iter().map(|code| code.expose().to_owned()).collect();
        assert_eq!(shown.len(), COUNT);
        let code = codes[0].expose();
        assert_eq!(code.len(), 14);
        assert_eq!(hash(code), hash(&code.to_uppercase().replace('-', " ")));
        assert!(!format!("{:?}", codes[0]).contains(code));
    }
}
