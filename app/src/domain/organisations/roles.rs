//! Who in an organisation may do what: the one place the role matrix is written down.
//!
//! | role | sees keys, usage, activity | creates keys | edits, rolls, revokes any key | members and invitations | webhooks | renames, deletes |
//! |---|---|---|---|---|---|---|
//! | owner | yes | yes | yes | yes (owners too) | yes | yes |
//! | admin | yes | yes | yes | yes (not owners) | yes | no |
//! | developer | yes | yes | the keys they created | no | no | no |
//! | viewer | yes | no | no | no | no | no |

use std::fmt;

/// A member's role, from most to least trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Everything, including other owners and the organisation itself.
    Owner,
    /// Everything about keys, members and invitations, except owners.
    Admin,
    /// Creates keys and manages the keys they created.
    Developer,
    /// Reads.
    Viewer,
}

impl Role {
    /// Every role, most trusted first.
    pub const ALL: [Self; 4] = [Self::Owner, Self::Admin, Self::Developer, Self::Viewer];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Developer => "developer",
            Self::Viewer => "viewer",
        }
    }

    /// The role for a stored or wire name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.as_str() == name.trim())
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Something a member may try to do in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// See its keys, usage and activity log.
    Read,
    /// Create a key.
    CreateKey,
    /// Edit, roll or revoke a key; `own` says whether the member created it.
    ChangeKey {
        /// The member created this key.
        own: bool,
    },
    /// Invite someone as, give the role of, or remove someone holding `role`.
    ManageMember {
        /// The role given, or held by the member concerned (for a role change: both are checked).
        role: Role,
    },
    /// Register, change and remove the organisation's webhook endpoints, and read their delivery logs.
    ManageWebhooks,
    /// Rename or delete the organisation.
    ManageOrganisation,
}

/// Whether `role` may do `action`.
pub fn permits(role: Role, action: Action) -> bool {
    use Role::{Admin, Developer, Owner};
    match action {
        Action::Read => true,
        Action::CreateKey => matches!(role, Owner | Admin | Developer),
        Action::ChangeKey { own } => matches!(role, Owner | Admin) || (role == Developer && own),
        Action::ManageMember { role: concerned } => role == Owner || (role == Admin && concerned != Owner),
        Action::ManageWebhooks => matches!(role, Owner | Admin),
        Action::ManageOrganisation => role == Owner,
    }
}

/// Why `role` may not do `action`, in words for the person refused.
pub fn refusal(role: Role, action: Action) -> String {
    let needs = match action {
        Action::Read => "membership",
        Action::CreateKey => "the developer, admin or owner role",
        Action::ChangeKey { .. } if role == Role::Developer => {
            return "Developers may change only the keys they created. Ask an admin or owner.".to_owned();
        }
        Action::ChangeKey { .. } => "the developer, admin or owner role",
        Action::ManageMember { role: Role::Owner } if role == Role::Admin => {
            return "Only owners may invite, change or remove owners. Ask an owner of this organisation.".to_owned();
        }
        Action::ManageMember { .. } | Action::ManageWebhooks => "the admin or owner role",
        Action::ManageOrganisation => "the owner role",
    };
    format!("You are a {} here; this needs {needs}. Ask an owner of this organisation.", role.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_names_read_back() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn the_matrix_as_the_readme_states_it() {
        use Role::*;
        let any_key = Action::ChangeKey { own: false };
        let own_key = Action::ChangeKey { own: true };
        let rows: [(Role, [bool; 8]); 4] = [
            // read, create, any key, own key, manage admin, manage owner, manage org, manage developer
            (Owner, [true, true, true, true, true, true, true, true]),
            (Admin, [true, true, true, true, true, false, false, true]),
            (Developer, [true, true, false, true, false, false, false, false]),
            (Viewer, [true, false, false, false, false, false, false, false]),
        ];
        for (role, expected) in rows {
            let actual = [
                permits(role, Action::Read),
                permits(role, Action::CreateKey),
                permits(role, any_key),
                permits(role, own_key),
                permits(role, Action::ManageMember { role: Admin }),
                permits(role, Action::ManageMember { role: Owner }),
                permits(role, Action::ManageOrganisation),
                permits(role, Action::ManageMember { role: Developer }),
            ];
            assert_eq!(actual, expected, "{role}");
        }
    }
}
