//! Finding an organisation's keys when it has thousands: one page at a time, searched by name, hint or id,
//! filtered by status and scope, in the order asked for. Everything is done by the database, so a page costs
//! the same for ten keys as for ten thousand.

use super::manage::{EXPIRES_SOON, KeyPage, MAX_KEYS_PER_PAGE, to_key};
use crate::domain::storage::api_keys::{Column, Entity};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, NullOrdering};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbErr, EntityTrait, Order, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};

/// Longest search text, in characters; longer text is refused rather than cut.
pub const MAX_SEARCH_CHARS: usize = 100;

/// Which keys a listing shows, by where they stand (see [`super::manage::KeyStatus`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StatusFilter {
    /// Every key.
    #[default]
    Any,
    /// Keys that answer VALID: active, expiring soon or rolled in their grace period.
    Working,
    /// Working, not rolled, and not expiring within a week.
    Active,
    /// Working, not rolled, expiring within a week.
    ExpiresSoon,
    /// Rolled, in their grace period.
    Rolled,
    /// Past their expiry (or grace period).
    Expired,
    /// Revoked.
    Revoked,
}

impl StatusFilter {
    /// Every filter, in the order a form offers them.
    pub const ALL: [Self; 7] =
        [Self::Working, Self::Any, Self::Active, Self::ExpiresSoon, Self::Rolled, Self::Expired, Self::Revoked];

    /// The name in addresses and the API (`working`, `expires_soon`…).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Any => "any",
            Self::Working => "working",
            Self::Active => "active",
            Self::ExpiresSoon => "expires_soon",
            Self::Rolled => "rolled",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }

    /// The filter named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|filter| filter.as_str() == name)
    }

    fn condition(self, now: DateTime<Utc>) -> Condition {
        let live = Condition::all()
            .add(Column::RevokedAt.is_null())
            .add(Condition::any().add(Column::ExpiresAt.is_null()).add(Column::ExpiresAt.gt(now)));
        let soon = now + EXPIRES_SOON;
        match self {
            Self::Any => Condition::all(),
            Self::Working => live,
            // Mirrors `ApiKey::status`: a rolled key without an expiry counts as active.
            Self::Active => live.add(
                Condition::any()
                    .add(Column::ExpiresAt.is_null())
                    .add(Condition::all().add(Column::RolledInto.is_null()).add(Column::ExpiresAt.gt(soon))),
            ),
            Self::ExpiresSoon => live.add(Column::RolledInto.is_null()).add(Column::ExpiresAt.lte(soon)),
            Self::Rolled => live.add(Column::RolledInto.is_not_null()).add(Column::ExpiresAt.is_not_null()),
            Self::Expired => Condition::all().add(Column::RevokedAt.is_null()).add(Column::ExpiresAt.lte(now)),
            Self::Revoked => Condition::all().add(Column::RevokedAt.is_not_null()),
        }
    }
}

/// The order of a listing. Ties fall back to the id, so pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyOrder {
    /// Newest first.
    #[default]
    NewestFirst,
    /// Oldest first.
    OldestFirst,
    /// Most recently used first; never-used keys last.
    RecentlyUsed,
    /// Least recently used first; never-used keys first.
    LeastRecentlyUsed,
}

impl KeyOrder {
    /// Every order, as a form offers them.
    pub const ALL: [Self; 4] = [Self::NewestFirst, Self::OldestFirst, Self::RecentlyUsed, Self::LeastRecentlyUsed];

    /// The name in addresses and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NewestFirst => "created_desc",
            Self::OldestFirst => "created_asc",
            Self::RecentlyUsed => "last_used_desc",
            Self::LeastRecentlyUsed => "last_used_asc",
        }
    }

    /// The order named `name`, if there is one.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|order| order.as_str() == name)
    }
}

/// What to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyQuery {
    /// Part of the name (any case), the start of the hint or of the id, or a whole key; empty for all.
    pub search: String,
    /// Which statuses.
    pub status: StatusFilter,
    /// Only keys holding this scope.
    pub scope: Option<String>,
    /// In which order.
    pub order: KeyOrder,
    /// Page number, from 1 (past the last page means the last page).
    pub page: u64,
    /// Keys a page, 1 to [`MAX_KEYS_PER_PAGE`].
    pub per_page: u64,
}

impl Default for KeyQuery {
    fn default() -> Self {
        Self {
            search: String::new(),
            status: StatusFilter::Any,
            scope: None,
            order: KeyOrder::NewestFirst,
            page: 1,
            per_page: 25,
        }
    }
}

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// The search text is longer than [`MAX_SEARCH_CHARS`].
    #[error("Search for at most {MAX_SEARCH_CHARS} characters.")]
    SearchTooLong,
}

/// One page of the organisation's keys that match `query`, with how many match in all.
pub async fn find_keys(
    db: &impl ConnectionTrait,
    organisation_id: &str,
    query: &KeyQuery,
    now: DateTime<Utc>,
) -> Result<KeyPage, FindError> {
    let search = query.search.trim();
    if search.chars().count() > MAX_SEARCH_CHARS {
        return Err(FindError::Query(QueryError::SearchTooLong));
    }
    let mut filter = Condition::all().add(Column::OrganisationId.eq(organisation_id)).add(query.status.condition(now));
    if !search.is_empty() {
        filter = filter.add(search_condition(search));
    }
    if let Some(scope) = query.scope.as_deref().filter(|scope| !scope.is_empty()) {
        // Scopes are stored as a JSON array of names, and names never hold a quote.
        filter = filter.add(Column::Scopes.like(LikeExpr::new(format!("%\"{}\"%", escape_like(scope))).escape('\\')));
    }
    let per_page = query.per_page.clamp(1, MAX_KEYS_PER_PAGE);
    let total = Entity::find().filter(filter.clone()).count(db).await?;
    let pages = Ord::max(total.div_ceil(per_page), 1);
    let page = query.page.clamp(1, pages);
    let select = Entity::find().filter(filter);
    let select = match query.order {
        KeyOrder::NewestFirst => select.order_by_desc(Column::CreatedAt).order_by_desc(Column::Id),
        KeyOrder::OldestFirst => select.order_by_asc(Column::CreatedAt).order_by_asc(Column::Id),
        KeyOrder::RecentlyUsed => select
            .order_by_with_nulls(Column::LastUsedAt, Order::Desc, NullOrdering::Last)
            .order_by_desc(Column::CreatedAt)
            .order_by_desc(Column::Id),
        KeyOrder::LeastRecentlyUsed => select
            .order_by_with_nulls(Column::LastUsedAt, Order::Asc, NullOrdering::First)
            .order_by_asc(Column::CreatedAt)
            .order_by_asc(Column::Id),
    };
    let rows = select.offset((page - 1) * per_page).limit(per_page).all(db).await?;
    Ok(KeyPage { keys: rows.into_iter().map(to_key).collect(), page, pages, total })
}

/// A refused query, or the database failing.
#[derive(Debug, thiserror::Error)]
pub enum FindError {
    /// The query was refused.
    #[error(transparent)]
    Query(#[from] QueryError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] DbErr),
}

/// Name contains the text in any case (ASCII case on SQLite), or the hint or id starts with it. A whole key
/// pasted in finds its key by its hint: the hint is the key's first characters and an ellipsis.
fn search_condition(search: &str) -> Condition {
    let escaped = escape_like(search);
    let lower = escaped.to_lowercase();
    let mut any = Condition::any()
        .add(Expr::from(Func::lower(Expr::col(Column::Name))).like(LikeExpr::new(format!("%{lower}%")).escape('\\')))
        .add(Column::Hint.like(LikeExpr::new(format!("{escaped}%")).escape('\\')))
        .add(Column::Id.like(LikeExpr::new(format!("{escaped}%")).escape('\\')));
    if let Some(hint) = super::format::hint_of_text(search) {
        any = any.add(Column::Hint.eq(hint));
    }
    any
}

/// `text` with LIKE's wildcards and escape character taken literally.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_filter_and_order_is_found_by_its_name() {
        for filter in StatusFilter::ALL {
            assert_eq!(StatusFilter::parse(filter.as_str()), Some(filter));
        }
        for order in KeyOrder::ALL {
            assert_eq!(KeyOrder::parse(order.as_str()), Some(order));
        }
        assert_eq!(StatusFilter::parse("Revoked"), None);
        assert_eq!(KeyOrder::parse(""), None);
    }

    #[test]
    fn like_wildcards_in_a_search_are_taken_literally() {
        assert_eq!(escape_like("100%_off\\"), "100\\%\\_off\\\\");
    }
}
