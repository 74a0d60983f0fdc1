//! The operator's scope catalogue: the permissions a key can carry.

use serde::Deserialize;

/// One scope.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Scope {
    /// The name services check, e.g. `orders:read`.
    pub name: String,
    /// What it allows, shown to customers.
    pub description: String,
}

/// The scopes keys may carry on this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeCatalogue {
    scopes: Vec<Scope>,
}

/// Most scopes a catalogue (and so a key) may have.
pub const MAX_SCOPES: usize = 64;

/// A catalogue the operator configured was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    /// No scopes at all.
    #[error("the scope catalogue is empty; define at least one scope")]
    Empty,
    /// Too many scopes.
    #[error("the scope catalogue has more than 64 scopes")]
    TooMany,
    /// A name is not of the allowed form.
    #[error("scope name '{0}' must be 1 to 64 of a-z, 0-9 and . _ : -")]
    BadName(String),
    /// A name appears twice.
    #[error("scope '{0}' is defined twice")]
    Duplicate(String),
    /// A description is empty or too long.
    #[error("scope '{0}' needs a description of 1 to 200 characters")]
    BadDescription(String),
}

/// A key's requested scopes were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// None chosen.
    #[error("Choose at least one scope.")]
    NoneChosen,
    /// Not in the catalogue.
    #[error("Unknown scope '{0}'. Choose from the scopes listed.")]
    Unknown(String),
}

impl ScopeCatalogue {
    /// Checks and wraps an operator's catalogue.
    pub fn new(scopes: Vec<Scope>) -> Result<Self, CatalogueError> {
        if scopes.is_empty() {
            return Err(CatalogueError::Empty);
        }
        if scopes.len() > MAX_SCOPES {
            return Err(CatalogueError::TooMany);
        }
        for (i, scope) in scopes.iter().enumerate() {
            let name_ok = (1..=64).contains(&scope.name.len())
                && scope.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._:-".contains(&b));
            if !name_ok {
                return Err(CatalogueError::BadName(scope.name.clone()));
            }
            if scopes[..i].iter().any(|earlier| earlier.name == scope.name) {
                return Err(CatalogueError::Duplicate(scope.name.clone()));
            }
            if scope.description.trim().is_empty() || scope.description.chars().count() > 200 {
                return Err(CatalogueError::BadDescription(scope.name.clone()));
            }
        }
        Ok(Self { scopes })
    }

    /// The documented example catalogue, used when the operator configures none.
    pub fn example() -> Self {
        let scope = |name: &str, description: &str| Scope { name: name.into(), description: description.into() };
        Self {
            scopes: vec![
                scope("orders:read", "Read orders and their status"),
                scope("orders:write", "Create, change and cancel orders"),
                scope("customers:read", "Read customer records"),
                scope("customers:write", "Create and change customer records"),
                scope("webhooks:manage", "Register and remove webhook endpoints"),
            ],
        }
    }

    /// Every scope, in the operator's order.
    pub fn scopes(&self) -> &[Scope] {
        &self.scopes
    }

    /// `requested` as a key's scopes: non-empty, all known, duplicates dropped, in catalogue order.
    pub fn choose(&self, requested: &[String]) -> Result<Vec<String>, ScopeError> {
        if let Some(unknown) = requested.iter().find(|name| !self.scopes.iter().any(|s| &s.name == *name)) {
            return Err(ScopeError::Unknown(unknown.clone()));
        }
        let chosen: Vec<String> =
            self.scopes.iter().filter(|s| requested.contains(&s.name)).map(|s| s.name.clone()).collect();
        if chosen.is_empty() { Err(ScopeError::NoneChosen) } else { Ok(chosen) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn chosen_scopes_come_back_in_catalogue_order_without_duplicates() {
        let catalogue = ScopeCatalogue::example();
        let chosen = catalogue.choose(&names(&["orders:write", "orders:read", "orders:write"])).expect("valid");
        assert_eq!(chosen, names(&["orders:read", "orders:write"]));
    }

    #[test]
    fn unknown_or_no_scopes_are_refused_with_a_reason() {
        let catalogue = ScopeCatalogue::example();
        assert_eq!(catalogue.choose(&[]), Err(ScopeError::NoneChosen));
        assert_eq!(catalogue.choose(&names(&["orders:read", "admin"])), Err(ScopeError::Unknown("admin".into())));
    }

    #[test]
    fn operator_catalogues_are_checked() {
        let scope = |name: &str, description: &str| Scope { name: name.into(), description: description.into() };
        assert_eq!(ScopeCatalogue::new(vec![]), Err(CatalogueError::Empty));
        assert_eq!(ScopeCatalogue::new(vec![scope("Orders", "x")]), Err(CatalogueError::BadName("Orders".into())));
        assert_eq!(
            ScopeCatalogue::new(vec![scope("a", "x"), scope("a", "y")]),
            Err(CatalogueError::Duplicate("a".into()))
        );
        assert_eq!(ScopeCatalogue::new(vec![scope("a", " ")]), Err(CatalogueError::BadDescription("a".into())));
        assert!(ScopeCatalogue::new(vec![scope("orders:read", "Read orders")]).is_ok());
    }
}
