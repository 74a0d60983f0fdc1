//! Server functions for organisations as their members see them: the switcher's list, creating one,
//! renaming, members and roles, invitations and accepting them.

use super::ApiError;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the signed-in member may do in an organisation, so pages show only the controls that work.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Abilities {
    /// Create keys.
    pub create_keys: bool,
    /// Invite, change and remove members (the roles each may give are in [`MembersView`]).
    pub manage_members: bool,
    /// Rename the organisation.
    pub manage_organisation: bool,
    /// Register and manage webhook endpoints.
    pub manage_webhooks: bool,
}

/// An organisation as one of its members sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationView {
    /// Id (in every address under `/o/`).
    pub id: String,
    /// Name.
    pub name: String,
    /// The provider's id for it.
    pub external_id: Option<String>,
    /// The signed-in member's role: `owner`, `admin`, `developer` or `viewer`.
    pub role: String,
    /// Disabled by the operator.
    pub disabled: bool,
    /// What the member may do.
    pub can: Abilities,
}

/// A member, for the members page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// Account id (for changing or removing them).
    pub account_id: String,
    /// Email.
    pub email: String,
    /// Role.
    pub role: String,
    /// When they joined, for people.
    pub joined: String,
    /// Whether this is the signed-in person.
    pub is_you: bool,
    /// Whether the signed-in member may change their role or remove them.
    pub can_manage: bool,
}

/// An open invitation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    /// Id.
    pub id: String,
    /// Who may accept it.
    pub email: String,
    /// The role it gives.
    pub role: String,
    /// Who invited.
    pub invited_by: String,
    /// When the link stops working, for people.
    pub expires: String,
    /// Whether the signed-in member may revoke it.
    pub can_revoke: bool,
}

/// Members and open invitations of an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembersView {
    /// The organisation.
    pub organisation: OrganisationView,
    /// Owners first, then by email.
    pub members: Vec<MemberView>,
    /// Open invitations, newest first.
    pub invitations: Vec<InvitationView>,
    /// The roles the signed-in member may give.
    pub roles_you_can_give: Vec<String>,
}

/// A new invitation's link, shown once. It never prints.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationLink {
    /// Who it is for.
    pub email: String,
    /// The role it gives.
    pub role: String,
    /// The path of the link (`/invitations/…`); the page puts its own origin in front.
    pub path: String,
    /// When it stops working.
    pub expires: String,
}

impl std::fmt::Debug for InvitationLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InvitationLink").field("email", &self.email).field("role", &self.role).finish_non_exhaustive()
    }
}

/// What an invitation link offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationOfferView {
    /// The organisation's name.
    pub organisation: String,
    /// The role.
    pub role: String,
    /// The invited address.
    pub email: String,
    /// Who invited.
    pub invited_by: String,
    /// Whether the signed-in person (if any) is the one invited.
    pub for_you: bool,
    /// Whether someone is signed in.
    pub signed_in: bool,
}

/// The signed-in person's organisations, by name, for the switcher (none for a signed-out visitor).
#[server(endpoint = "organisations/mine", input = server_fn::codec::GetUrl)]
pub async fn my_organisations() -> Result<Vec<OrganisationView>, ApiError> {
    use crate::api::server_context::{internal, service, signed_in_or_none};
    let Some(account) = signed_in_or_none().await? else { return Ok(Vec::new()) };
    let db = service::<sea_orm::DatabaseConnection>()?;
    let mine = crate::domain::organisations::of_account(&db, &account.id)
        .await
        .map_err(|err| internal("listing organisations failed", &err))?;
    Ok(mine.into_iter().map(|(org, role)| server::organisation_view(&org, role)).collect())
}

/// One organisation the signed-in person is a member of (404 for any other).
#[server(endpoint = "organisations/get", input = server_fn::codec::GetUrl)]
pub async fn organisation(org: String) -> Result<OrganisationView, ApiError> {
    let (_, access) = crate::api::server_context::member_of(&org).await?;
    Ok(server::organisation_view(&access.organisation, access.role))
}

/// Creates an organisation with the signed-in person as its owner; answers its keys page's path.
#[server(endpoint = "organisations/create")]
pub async fn create_organisation(name: String) -> Result<String, ApiError> {
    use crate::api::server_context::{client, organisation_error, service, signed_in};
    use crate::domain::activity::Origin;
    use crate::domain::organisations::{NewOrganisation, create};
    let account = signed_in().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let origin = Origin { actor: account.email.clone(), client: client() };
    let new = NewOrganisation { name, external_id: None };
    let org = create(&db, clock.as_ref(), &origin, &new, Some(&account.id)).await.map_err(organisation_error)?;
    Ok(format!("/o/{}/keys", org.id))
}

/// Renames the organisation (owners only).
#[server(endpoint = "organisations/rename")]
pub async fn rename_organisation(org: String, name: String) -> Result<OrganisationView, ApiError> {
    use crate::api::server_context::{client, member_of, organisation_error, service};
    use crate::domain::activity::Origin;
    use crate::domain::organisations::{Action, OrganisationChanges, update};
    let (account, access) = member_of(&org).await?;
    access.require(Action::ManageOrganisation).map_err(organisation_error)?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let cache = service::<std::sync::Arc<crate::domain::verification::KeyCache>>()?;
    let origin = Origin { actor: account.email, client: client() };
    let renamed = update(
        &db,
        clock.as_ref(),
        &cache,
        &origin,
        false,
        &access.organisation.id,
        OrganisationChanges { name: Some(&name), external_id: None },
    )
    .await
    .map_err(|err| organisation_error(err).with_given("name", &name))?;
    crate::api::server_context::after_plain_post(&server::members_page(&renamed.id, "renamed", "organisation"));
    Ok(server::organisation_view(&renamed, access.role))
}

/// Deletes the organisation (owners only), with its keys (revoked first), usage, log, members and
/// invitations. `confirm_name` must repeat its name.
#[server(endpoint = "organisations/delete")]
pub async fn delete_organisation(org: String, confirm_name: String) -> Result<(), ApiError> {
    use crate::api::server_context::{member_of, organisation_error, reject, service};
    use crate::domain::organisations::{Action, delete};
    let (account, access) = member_of(&org).await?;
    access.require(Action::ManageOrganisation).map_err(organisation_error)?;
    if confirm_name.trim() != access.organisation.name {
        return Err(reject(ApiError::invalid(
            "confirm_name",
            "Type the organisation's name exactly as shown to confirm.",
        )));
    }
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let cache = service::<std::sync::Arc<crate::domain::verification::KeyCache>>()?;
    delete(&db, clock.as_ref(), &cache, &access.organisation.id).await.map_err(organisation_error)?;
    tracing::info!(organisation = %access.organisation.id, by = %account.id, "organisation deleted");
    crate::api::server_context::after_plain_post("/");
    Ok(())
}

/// The organisation's members and open invitations.
#[server(endpoint = "organisations/members", input = server_fn::codec::GetUrl)]
pub async fn members(org: String) -> Result<MembersView, ApiError> {
    use crate::api::keys::server::when;
    use crate::api::server_context::{internal, member_of, organisation_error, service};
    use crate::domain::organisations::{Action, Role, invitations, members};
    let (_, access) = member_of(&org).await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let people =
        members::list(&db, &access.organisation.id).await.map_err(|err| internal("listing members failed", &err))?;
    let open = if access.may(Action::ManageMember { role: Role::Viewer }) {
        invitations::list_open(&db, clock.as_ref(), &access.organisation.id).await.map_err(organisation_error)?
    } else {
        Vec::new()
    };
    Ok(MembersView {
        organisation: server::organisation_view(&access.organisation, access.role),
        members: people
            .into_iter()
            .map(|member| MemberView {
                is_you: member.account_id == access.account_id,
                can_manage: member.account_id != access.account_id
                    && access.may(Action::ManageMember { role: member.role }),
                account_id: member.account_id,
                email: member.email,
                role: member.role.as_str().to_owned(),
                joined: when(member.joined_at),
            })
            .collect(),
        invitations: open
            .into_iter()
            .map(|invitation| InvitationView {
                can_revoke: access.may(Action::ManageMember { role: invitation.role }),
                id: invitation.id,
                email: invitation.email,
                role: invitation.role.as_str().to_owned(),
                invited_by: invitation.invited_by,
                expires: when(invitation.expires_at),
            })
            .collect(),
        roles_you_can_give: Role::ALL
            .into_iter()
            .filter(|role| access.may(Action::ManageMember { role: *role }))
            .map(|role| role.as_str().to_owned())
            .collect(),
    })
}

/// Gives a member another role.
#[server(endpoint = "organisations/members/role")]
pub async fn change_member_role(org: String, account_id: String, role: String) -> Result<(), ApiError> {
    let ctx = server::MemberContext::load(&org).await?;
    let role = server::role(&role)?;
    crate::domain::organisations::members::change_role(
        &ctx.db,
        ctx.clock.as_ref(),
        &ctx.origin,
        &ctx.access,
        &account_id,
        role,
    )
    .await
    .map_err(crate::api::server_context::organisation_error)?;
    ctx.after_plain_post("role", "members");
    Ok(())
}

/// Removes a member; their access ends with their next request, and their keys stay.
#[server(endpoint = "organisations/members/remove")]
pub async fn remove_member(org: String, account_id: String) -> Result<(), ApiError> {
    let ctx = server::MemberContext::load(&org).await?;
    crate::domain::organisations::members::remove(&ctx.db, ctx.clock.as_ref(), &ctx.origin, &ctx.access, &account_id)
        .await
        .map_err(crate::api::server_context::organisation_error)?;
    ctx.after_plain_post("removed", "members");
    Ok(())
}

/// Leaves the organisation (not as its last owner).
#[server(endpoint = "organisations/leave")]
pub async fn leave_organisation(org: String) -> Result<(), ApiError> {
    let ctx = server::MemberContext::load(&org).await?;
    let me = ctx.access.account_id.clone();
    crate::domain::organisations::members::remove(&ctx.db, ctx.clock.as_ref(), &ctx.origin, &ctx.access, &me)
        .await
        .map_err(crate::api::server_context::organisation_error)?;
    crate::api::server_context::after_plain_post("/");
    Ok(())
}

/// Invites `email` as `role`; answers the single-use link, shown once.
#[server(endpoint = "organisations/invitations/create")]
pub async fn invite_member(org: String, email: String, role: String) -> Result<InvitationLink, ApiError> {
    use crate::api::keys::server::{no_store, when};
    let ctx = server::MemberContext::load(&org).await?;
    let role = server::role(&role)?;
    let (invitation, secret) = crate::domain::organisations::invitations::invite(
        &ctx.db,
        ctx.clock.as_ref(),
        &ctx.origin,
        &ctx.access,
        &email,
        role,
    )
    .await
    .map_err(crate::api::server_context::organisation_error)?;
    no_store();
    Ok(InvitationLink {
        email: invitation.email,
        role: invitation.role.as_str().to_owned(),
        path: format!("/invitations/{}", secret.expose()),
        expires: when(invitation.expires_at),
    })
}

/// Revokes an open invitation.
#[server(endpoint = "organisations/invitations/revoke")]
pub async fn revoke_invitation(org: String, id: String) -> Result<(), ApiError> {
    let ctx = server::MemberContext::load(&org).await?;
    crate::domain::organisations::invitations::revoke(&ctx.db, ctx.clock.as_ref(), &ctx.origin, &ctx.access, &id)
        .await
        .map_err(crate::api::server_context::organisation_error)?;
    ctx.after_plain_post("invitation-revoked", "invitations");
    Ok(())
}

/// What the invitation behind `secret` offers (anyone holding the link may ask).
#[server(endpoint = "invitations/get", input = server_fn::codec::GetUrl)]
pub async fn invitation(secret: String) -> Result<InvitationOfferView, ApiError> {
    use crate::api::server_context::{organisation_error, service, signed_in_or_none};
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let offer = crate::domain::organisations::invitations::find_by_secret(&db, clock.as_ref(), &secret)
        .await
        .map_err(organisation_error)?;
    let account = signed_in_or_none().await?;
    crate::api::keys::server::no_store();
    Ok(InvitationOfferView {
        organisation: offer.organisation_name,
        role: offer.invitation.role.as_str().to_owned(),
        for_you: account.as_ref().is_some_and(|account| account.email == offer.invitation.email),
        signed_in: account.is_some(),
        email: offer.invitation.email,
        invited_by: offer.invitation.invited_by,
    })
}

/// Accepts the invitation behind `secret` for the signed-in person; answers the organisation's keys page.
#[server(endpoint = "invitations/accept")]
pub async fn accept_invitation(secret: String) -> Result<String, ApiError> {
    use crate::api::server_context::{client, organisation_error, service, signed_in};
    use crate::domain::activity::Origin;
    let account = signed_in().await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<crate::domain::clock::SharedClock>()?;
    let origin = Origin { actor: account.email.clone(), client: client() };
    let org = crate::domain::organisations::invitations::accept(&db, clock.as_ref(), &origin, &secret, &account)
        .await
        .map_err(organisation_error)?;
    Ok(format!("/o/{}/keys", org.id))
}

/// Conversions and context, on the server only.
#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::{Abilities, OrganisationView};
    use crate::api::ApiError;
    use crate::api::server_context::{client, member_of, reject, service};
    use crate::domain::activity::Origin;
    use crate::domain::clock::SharedClock;
    use crate::domain::organisations::{Access, Action, Organisation, Role, permits};

    /// What member-changing server functions need.
    pub struct MemberContext {
        pub access: Access,
        pub db: sea_orm::DatabaseConnection,
        pub clock: SharedClock,
        pub origin: Origin,
    }

    impl MemberContext {
        pub async fn load(organisation_id: &str) -> Result<Self, ApiError> {
            let (account, access) = member_of(organisation_id).await?;
            Ok(Self {
                access,
                db: service()?,
                clock: service()?,
                origin: Origin { actor: account.email, client: client() },
            })
        }

        /// A plain form post that worked comes back to the members page, which says what it did.
        pub fn after_plain_post(&self, done: &str, fragment: &str) {
            crate::api::server_context::after_plain_post(&members_page(&self.access.organisation.id, done, fragment));
        }
    }

    /// The organisation's members page, told what a form did (see `api::outcome`).
    pub fn members_page(organisation_id: &str, done: &str, fragment: &str) -> String {
        crate::api::outcome::done_at(&format!("/o/{organisation_id}/members"), done, fragment)
    }

    /// The role a form chose.
    pub fn role(name: &str) -> Result<Role, ApiError> {
        Role::parse(name).ok_or_else(|| reject(ApiError::invalid("role", "Choose owner, admin, developer or viewer.")))
    }

    pub fn organisation_view(org: &Organisation, role: Role) -> OrganisationView {
        let live = !org.is_disabled();
        OrganisationView {
            id: org.id.clone(),
            name: org.name.clone(),
            external_id: org.external_id.clone(),
            role: role.as_str().to_owned(),
            disabled: org.is_disabled(),
            can: Abilities {
                create_keys: live && permits(role, Action::CreateKey),
                manage_members: permits(role, Action::ManageMember { role: Role::Viewer }),
                manage_organisation: permits(role, Action::ManageOrganisation),
                manage_webhooks: permits(role, Action::ManageWebhooks),
            },
        }
    }
}
