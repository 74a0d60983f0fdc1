//! `/o/:org/members`: who is in the organisation with which role; changing roles, removing members,
//! leaving; inviting people and revoking invitations; renaming (owners).
//!
//! Rendered on the server. Every form but the invitation posts without the bundle and comes back here,
//! saying what it did (`?done=`, see `api::outcome`) or why it was refused; "Remove" asks on the page
//! itself (`?confirm={account}`). Only creating an invitation, whose link is shown once, is an island.

use crate::api::ApiError;
use crate::api::organisations::{
    ChangeMemberRole, DeleteOrganisation, InvitationLink, InvitationView, InviteMember, LeaveOrganisation, MemberView,
    MembersView, RemoveMember, RenameOrganisation, RevokeInvitation, members,
};
use crate::ui::components::form::{Asked, Field, FormAlert, refusal};
use crate::ui::components::org::{RequireMember, org_path, use_org};
use crate::ui::components::text::{Address, When};
use leptos::prelude::*;
use leptos_meta::Title;

/// The members page. `?confirm={account}` asks whether to remove that member.
#[component]
pub fn MembersPage() -> impl IntoView {
    let org = use_org();
    let view = Resource::new(move || org.get(), members);
    let asked = Asked::read();
    view! {
        <Title text="Members"/>
        <RequireMember page=move |_, _| members_page(view, asked.clone())/>
    }
}

fn members_page(view: Resource<Result<MembersView, ApiError>>, asked: Asked) -> AnyView {
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading members…"</p> }>
            {move || { let asked = asked.clone(); Suspend::new(async move {
                match view.await {
                    Ok(view) => members_view(view, asked).into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

fn members_view(view: MembersView, asked: Asked) -> impl IntoView {
    let org = view.organisation.clone();
    let page = org_path(&org.id, "members");
    let (change, remove, leave, revoke) = (
        ServerAction::<ChangeMemberRole>::new(),
        ServerAction::<RemoveMember>::new(),
        ServerAction::<LeaveOrganisation>::new(),
        ServerAction::<RevokeInvitation>::new(),
    );
    let said = match asked.done() {
        Some("role") => Some("Role changed."),
        Some("removed") => Some("Member removed. Their access ended with it; their keys stay."),
        _ => None,
    };
    let roles = view.roles_you_can_give.clone();
    let count = format!("{} {}", view.members.len(), if view.members.len() == 1 { "member" } else { "members" });
    let only_owner = view.members.iter().filter(|member| member.role == "owner").count() == 1;
    let rows = view
        .members
        .into_iter()
        .map(|member| {
            let confirming = asked.confirming(&member.account_id);
            member_row(&org.id, &page, member, only_owner, confirming, &roles, (change, remove, leave))
        })
        .collect_view();
    let invitations = org
        .can
        .manage_members
        .then(|| invitations_card(&org.id, &page, view.invitations, roles.clone(), revoke, asked.done()));
    let renamed = asked.did("renamed");
    let manage = org.can.manage_organisation;
    let rename = manage.then(|| view! { <RenameCard org=org.id.clone() name=org.name.clone() renamed/> });
    let delete = manage.then(|| view! { <DeleteCard org=org.id.clone() name=org.name.clone()/> });
    view! {
        <div class="page-head">
            <h1>"Members"</h1>
            <p class="lede">
                <strong>{org.name.clone()}</strong>
                {org.external_id.clone().map(|id| view! { " · external id " <code>{id}</code> })}
                " · you are " {article(&org.role)} " " <strong data-testid="your-role">{org.role.clone()}</strong>
            </p>
        </div>
        {said.map(|message| view! { <p class="alert alert-success" role="status">{message}</p> })}
        <FormAlert result=refusal(change.value()) every=true/>
        <FormAlert result=refusal(remove.value()) every=true/>
        <FormAlert result=refusal(leave.value()) every=true/>
        <section class="card" aria-labelledby="members-title" id="members">
            <h2 id="members-title">{count}</h2>
            <div class="table-wrap">
                <table class="members">
                    <thead><tr>
                        <th scope="col">"Member"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th><th scope="col">"Actions"</th>
                    </tr></thead>
                    <tbody>
                        {rows}
                    </tbody>
                </table>
            </div>
        </section>
        {invitations}
        {rename}
        {delete}
    }
}

fn article(role: &str) -> &'static str {
    if role.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

fn member_row(
    org: &str,
    page: &str,
    member: MemberView,
    only_owner: bool,
    confirming: bool,
    roles: &[String],
    (change, remove, leave): (
        ServerAction<ChangeMemberRole>,
        ServerAction<RemoveMember>,
        ServerAction<LeaveOrganisation>,
    ),
) -> AnyView {
    let (org, account_id) = (org.to_owned(), member.account_id.clone());
    let actions = if member.is_you && member.role == "owner" && only_owner {
        view! { <span class="muted">"The only owner: make someone else an owner to leave"</span> }.into_any()
    } else if member.is_you {
        view! {
            <ActionForm action=leave attr:class="inline-form">
                <input type="hidden" name="org" value=org/>
                <button type="submit" class="button button-small button-danger-outline">"Leave"</button>
            </ActionForm>
        }
        .into_any()
    } else if member.can_manage {
        let role_options = roles
            .iter()
            .map(|role| {
                let selected = *role == member.role;
                view! { <option value=role.clone() selected=selected>{role.clone()}</option> }
            })
            .collect_view();
        let role_label = format!("Role of {}", member.email);
        let (cancel, ask) = (format!("{page}#members"), format!("{page}#members"));
        let removal = if confirming {
            let (org, account_id) = (org.clone(), account_id.clone());
            view! {
                <ActionForm action=remove attr:class="inline-form">
                    <input type="hidden" name="org" value=org.clone()/>
                    <input type="hidden" name="account_id" value=account_id.clone()/>
                    <button type="submit" class="button button-small button-danger">"Yes, remove"</button>
                    <a class="button button-small" href=cancel>"Cancel"</a>
                </ActionForm>
            }
            .into_any()
        } else {
            view! {
                <form method="get" action=ask class="inline-form">
                    <input type="hidden" name="confirm" value=account_id.clone()/>
                    <button type="submit" class="button button-small button-danger-outline">"Remove"</button>
                </form>
            }
            .into_any()
        };
        view! {
            <ActionForm action=change attr:class="inline-form">
                <input type="hidden" name="org" value=org.clone()/>
                <input type="hidden" name="account_id" value=account_id.clone()/>
                <label class="visually-hidden" for=format!("role-{account_id}")>{role_label}</label>
                <select id=format!("role-{account_id}") name="role">{role_options}</select>
                <button type="submit" class="button button-small">"Change role"</button>
            </ActionForm>
            {removal}
        }
        .into_any()
    } else {
        view! { <span class="muted">"—"</span> }.into_any()
    };
    view! {
        <tr data-testid="member-row">
            <td data-label="Member"><Address email=member.email.clone()/>{member.is_you.then_some(" (you)")}</td>
            <td data-label="Role"><span class=format!("role-chip role-{}", member.role)>{member.role.clone()}</span></td>
            <td data-label="Joined"><When text=member.joined.clone()/></td>
            <td data-label="Actions" class="member-actions">{actions}</td>
        </tr>
    }
    .into_any()
}

fn invitations_card(
    org: &str,
    page: &str,
    open: Vec<InvitationView>,
    roles: Vec<String>,
    revoke: ServerAction<RevokeInvitation>,
    done: Option<&str>,
) -> AnyView {
    let said = match done {
        Some("invited") => Some("Invitation created: it is listed below until it is used or expires."),
        Some("invitation-revoked") => Some("Invitation revoked: its link no longer works."),
        _ => None,
    };
    let rows = open
        .iter()
        .map(|invitation| {
            let (org, id) = (org.to_owned(), invitation.id.clone());
            view! {
                <tr data-testid="invitation-row">
                    <td data-label="Email"><Address email=invitation.email.clone()/></td>
                    <td data-label="Role">{invitation.role.clone()}</td>
                    <td data-label="Invited by"><Address email=invitation.invited_by.clone()/></td>
                    <td data-label="Expires"><When text=invitation.expires.clone()/></td>
                    <td data-label="Actions">
                        {invitation.can_revoke.then(|| view! {
                            <ActionForm action=revoke attr:class="inline-form">
                                <input type="hidden" name="org" value=org/>
                                <input type="hidden" name="id" value=id/>
                                <button type="submit" class="button button-small button-danger-outline">"Revoke"</button>
                            </ActionForm>
                        })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    let any_open = !open.is_empty();
    view! {
        <section class="card" aria-labelledby="invite-title" id="invitations">
            <h2 id="invite-title">"Invite someone"</h2>
            <p class="field-hint">"You get a link to pass on. It works once, for 7 days, and only for the person signed in with this address (they can sign up on the way)."</p>
            <InviteForm org=org.to_owned() page=page.to_owned() roles/>
            {said.map(|message| view! { <p class="alert alert-success" role="status">{message}</p> })}
            <FormAlert result=refusal(revoke.value()) every=true/>
            {any_open.then(|| view! {
                <h3>"Open invitations"</h3>
                <div class="table-wrap">
                    <table class="invitations">
                        <thead><tr>
                            <th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Invited by"</th>
                            <th scope="col">"Expires"</th><th scope="col">"Actions"</th>
                        </tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                </div>
            })}
        </section>
    }
    .into_any()
}

/// Creating an invitation, whose link is then shown once: the page's only island. "Done" loads the page
/// again, with the invitation in the list.
#[island(lazy)]
fn InviteForm(org: String, page: String, roles: Vec<String>) -> impl IntoView {
    crate::ui::live::island_live();
    let invite = ServerAction::<InviteMember>::new();
    let value = invite.value();
    let result = refusal(value);
    let link = move || value.try_get().flatten().and_then(Result::ok);
    // The link lives only in this page's memory; reached through the signal, which outlives the action.
    on_cleanup(move || {
        value.try_update_untracked(|shown| *shown = None);
    });
    // Back to the page, which then lists the invitation.
    let done = format!("{page}?done=invited#invitations");
    move || match link() {
        Some(link) => view! {
            <InvitationShown link/>
            <p class="actions"><a class="button button-primary" href=done.clone() rel="external">"Done"</a></p>
        }
        .into_any(),
        None => {
            let role_options = roles
                .iter()
                .map(|role| view! { <option value=role.clone() selected=role == "developer">{role.clone()}</option> })
                .collect_view();
            let org = org.clone();
            view! {
                <ActionForm action=invite attr:class="form form-inline" attr:novalidate=true>
                    <FormAlert result/>
                    <input type="hidden" name="org" value=org/>
                    <Field label="Email" name="email" kind="email" autocomplete="off" maxlength=254 result/>
                    <div class="field">
                        <label for="field-invite-role">"Role"</label>
                        <select id="field-invite-role" name="role">{role_options}</select>
                    </div>
                    <button type="submit" class="button button-primary">"Create invitation"</button>
                </ActionForm>
            }
            .into_any()
        }
    }
}

/// A new invitation's link, with the page's own origin in front, shown once.
#[component]
fn InvitationShown(link: InvitationLink) -> impl IntoView {
    let url = RwSignal::new(link.path.clone());
    // The origin is known in the browser; the server renders the path, which the effect completes.
    Effect::new(move |_| {
        if let Ok(origin) = window().location().origin() {
            url.update(|url| {
                if url.starts_with('/') {
                    *url = format!("{origin}{url}");
                }
            });
        }
    });
    view! {
        <div class="shown-once" role="status">
            <p><strong>{format!("Invitation for {} as {}", link.email, link.role)}</strong> " · works until " {link.expires.clone()}</p>
            <p class="field-hint">{format!("A message with a link of its own is on its way to {}. To pass the invitation on yourself as well, copy this link now: it is not shown again.", link.email)}</p>
            <code class="secret" data-testid="invitation-link">{move || url.get()}</code>
        </div>
    }
}

/// Renaming. The browser checks that a name is given and not too long before it posts.
#[component]
fn RenameCard(org: String, name: String, renamed: bool) -> impl IntoView {
    let rename = ServerAction::<RenameOrganisation>::new();
    let result = refusal(rename.value());
    view! {
        <section class="card" aria-labelledby="rename-title" id="organisation">
            <h2 id="rename-title">"Organisation"</h2>
            <ActionForm action=rename attr:class="form form-inline">
                <FormAlert result/>
                <input type="hidden" name="org" value=org/>
                <Field label="Name" name="name" maxlength=100 required=true value=name result/>
                <button type="submit" class="button">"Rename"</button>
                {renamed.then(|| view! { <span class="saved" role="status">"Saved"</span> })}
            </ActionForm>
        </section>
    }
}

/// Deleting, behind a disclosure that asks for the organisation's name; open again when that was refused.
#[component]
fn DeleteCard(org: String, name: String) -> impl IntoView {
    let delete = ServerAction::<DeleteOrganisation>::new();
    let result = refusal(delete.value());
    let refused = result.get_untracked().is_some();
    view! {
        <section class="card danger-zone" aria-labelledby="delete-title" id="delete">
            <h2 id="delete-title">"Delete organisation"</h2>
            <p>"Deleting revokes every key of this organisation at once, everywhere, and removes its usage, activity, members and invitations. It cannot be undone."</p>
            <details class="disclosure" open=refused>
                <summary>"Delete organisation…"</summary>
                <ActionForm action=delete attr:class="form" attr:novalidate=true>
                    <FormAlert result/>
                    <input type="hidden" name="org" value=org/>
                    <p>"To confirm, type " <strong>{name}</strong> " below."</p>
                    <Field label="Organisation name" name="confirm_name" maxlength=100 result/>
                    <p class="actions">
                        <button type="submit" class="button button-danger">"Delete organisation"</button>
                    </p>
                </ActionForm>
            </details>
        </section>
    }
}
