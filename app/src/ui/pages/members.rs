//! `/o/:org/members`: who is in the organisation with which role; changing roles, removing members,
//! leaving; inviting people and revoking invitations; renaming (owners).

use crate::api::ApiError;
use crate::api::organisations::{
    ChangeMemberRole, DeleteOrganisation, InvitationLink, InviteMember, LeaveOrganisation, MemberView, MembersView,
    RemoveMember, RenameOrganisation, RevokeInvitation, members,
};
use crate::ui::components::form::{Field, FormAlert};
use crate::ui::components::fresh::kept_fresh;
use crate::ui::components::org::{RequireMember, use_org};
use crate::ui::session::reload_on_success;
use leptos::prelude::*;
use leptos_meta::Title;

/// The actions of the members page, made once by its island.
#[derive(Clone, Copy)]
struct Made {
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    leave: ServerAction<LeaveOrganisation>,
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
    rename: ServerAction<RenameOrganisation>,
    delete: ServerAction<DeleteOrganisation>,
}

/// The members page.
#[component]
pub fn MembersPage() -> impl IntoView {
    let org = use_org();
    let view = Resource::new(move || org.get(), members);
    view! {
        <Title text="Members"/>
        <RequireMember page=move |_, _| members_page(view)/>
    }
}

fn members_page(view: Resource<Result<MembersView, ApiError>>) -> AnyView {
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading members…"</p> }>
            {move || Suspend::new(async move {
                match view.await {
                    Ok(view) => view! { <MembersPanel view/> }.into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

/// Everything on the page: the members, invitations and the organisation's name, fetched again after each
/// change.
#[island(lazy)]
fn MembersPanel(view: MembersView) -> impl IntoView {
    crate::ui::live::island_live();
    let change = ServerAction::<ChangeMemberRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let leave = ServerAction::<LeaveOrganisation>::new();
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let rename = ServerAction::<RenameOrganisation>::new();
    let delete = ServerAction::<DeleteOrganisation>::new();
    reload_on_success(move || delete.value().get(), |_| "/".to_owned());
    reload_on_success(move || leave.value().get(), |_| "/".to_owned());
    let versions = (change.version(), remove.version(), invite.version(), revoke.version(), rename.version());
    let changed = move || versions.0.get() + versions.1.get() + versions.2.get() + versions.3.get() + versions.4.get();
    let org = view.organisation.id.clone();
    let view = kept_fresh(view, changed, move || members(org.clone()));
    // The invitation link lives only in this page's memory.
    let shown = invite.value();
    on_cleanup(move || {
        shown.try_update_untracked(|shown| *shown = None);
    });
    let made = Made { change, remove, leave, invite, revoke, rename, delete };
    move || members_view(view.get(), made)
}

fn members_view(view: MembersView, made: Made) -> impl IntoView {
    let Made { change, remove, leave, invite, revoke, rename, delete, .. } = made;
    let org = view.organisation.clone();
    fn error_of<S>(value: S) -> Signal<Option<ApiError>>
    where
        S: leptos::reactive::traits::Get<Value = Option<Result<(), ApiError>>> + Send + Sync + 'static,
    {
        Signal::derive(move || value.try_get().flatten().and_then(Result::err))
    }
    let (change_result, remove_result, leave_result, revoke_result) =
        (error_of(change.value()), error_of(remove.value()), error_of(leave.value()), error_of(revoke.value()));
    let roles = view.roles_you_can_give.clone();
    let count = format!("{} {}", view.members.len(), if view.members.len() == 1 { "member" } else { "members" });
    let only_owner = view.members.iter().filter(|member| member.role == "owner").count() == 1;
    let rows = view
        .members
        .into_iter()
        .map(|member| member_row(&org.id, member, only_owner, &roles, change, remove, leave))
        .collect_view();
    let invitations = org
        .can
        .manage_members
        .then(|| invitations_card(&org.id, &view.invitations, &roles, invite, revoke, revoke_result));
    let rename = org.can.manage_organisation.then(|| rename_card(&org.id, &org.name, rename));
    let delete = org.can.manage_organisation.then(|| delete_card(&org.id, &org.name, delete));
    view! {
        <div class="page-head">
            <h1>"Members"</h1>
            <p class="lede">
                <strong>{org.name.clone()}</strong>
                {org.external_id.clone().map(|id| view! { " · external id " <code>{id}</code> })}
                " · you are " {article(&org.role)} " " <strong data-testid="your-role">{org.role.clone()}</strong>
            </p>
        </div>
        <FormAlert result=change_result/>
        <FormAlert result=remove_result/>
        <FormAlert result=leave_result/>
        <section class="card" aria-labelledby="members-title">
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
    member: MemberView,
    only_owner: bool,
    roles: &[String],
    change: ServerAction<ChangeMemberRole>,
    remove: ServerAction<RemoveMember>,
    leave: ServerAction<LeaveOrganisation>,
) -> AnyView {
    let confirming = RwSignal::new(false);
    let (org, account_id) = (org.to_owned(), member.account_id.clone());
    let actions = if member.is_you && member.role == "owner" && only_owner {
        view! { <span class="muted">"The only owner: make someone else an owner to leave"</span> }.into_any()
    } else if member.is_you {
        let org = org.clone();
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
        let (org2, account2) = (org.clone(), account_id.clone());
        let role_label = format!("Role of {}", member.email);
        view! {
            <ActionForm action=change attr:class="inline-form">
                <input type="hidden" name="org" value=org.clone()/>
                <input type="hidden" name="account_id" value=account_id.clone()/>
                <label class="visually-hidden" for=format!("role-{account_id}")>{role_label}</label>
                <select id=format!("role-{account_id}") name="role">{role_options}</select>
                <button type="submit" class="button button-small">"Change role"</button>
            </ActionForm>
            {move || if confirming.get() {
                let (org, account) = (org2.clone(), account2.clone());
                view! {
                    <ActionForm action=remove attr:class="inline-form">
                        <input type="hidden" name="org" value=org/>
                        <input type="hidden" name="account_id" value=account/>
                        <button type="submit" class="button button-small button-danger">"Yes, remove"</button>
                        <button type="button" class="button button-small" on:click=move |_| confirming.set(false)>"Cancel"</button>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="button button-small button-danger-outline" on:click=move |_| confirming.set(true)>"Remove"</button>
                }.into_any()
            }}
        }
        .into_any()
    } else {
        view! { <span class="muted">"—"</span> }.into_any()
    };
    view! {
        <tr data-testid="member-row">
            <td data-label="Member">{member.email.clone()}{member.is_you.then_some(" (you)")}</td>
            <td data-label="Role"><span class=format!("role-chip role-{}", member.role)>{member.role.clone()}</span></td>
            <td data-label="Joined">{member.joined.clone()}</td>
            <td data-label="Actions" class="member-actions">{actions}</td>
        </tr>
    }
    .into_any()
}

fn invitations_card(
    org: &str,
    open: &[crate::api::organisations::InvitationView],
    roles: &[String],
    invite: ServerAction<InviteMember>,
    revoke: ServerAction<RevokeInvitation>,
    revoke_result: Signal<Option<ApiError>>,
) -> AnyView {
    let invite_value = invite.value();
    let invite_result = Signal::derive(move || invite_value.try_get().flatten().and_then(Result::err));
    let link = move || invite_value.try_get().flatten().and_then(Result::ok);
    let role_options = roles
        .iter()
        .map(|role| view! { <option value=role.clone() selected=role == "developer">{role.clone()}</option> })
        .collect_view();
    let rows = open
        .iter()
        .map(|invitation| {
            let (org, id) = (org.to_owned(), invitation.id.clone());
            view! {
                <tr data-testid="invitation-row">
                    <td data-label="Email">{invitation.email.clone()}</td>
                    <td data-label="Role">{invitation.role.clone()}</td>
                    <td data-label="Invited by">{invitation.invited_by.clone()}</td>
                    <td data-label="Expires">{invitation.expires.clone()}</td>
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
    let org = org.to_owned();
    view! {
        <section class="card" aria-labelledby="invite-title">
            <h2 id="invite-title">"Invite someone"</h2>
            <p class="field-hint">"You get a link to pass on. It works once, for 7 days, and only for the person signed in with this address (they can sign up on the way)."</p>
            {move || link().map(|link| view! { <InvitationShown link/> })}
            <ActionForm action=invite attr:class="form form-inline" attr:novalidate=true>
                <FormAlert result=invite_result/>
                <input type="hidden" name="org" value=org/>
                <Field label="Email" name="email" kind="email" autocomplete="off" maxlength=254 result=invite_result/>
                <div class="field">
                    <label for="field-invite-role">"Role"</label>
                    <select id="field-invite-role" name="role">{role_options}</select>
                </div>
                <button type="submit" class="button button-primary">"Create invitation"</button>
            </ActionForm>
            <FormAlert result=revoke_result/>
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
            <p class="field-hint">"Copy this link now and send it to them; it is not shown again."</p>
            <code class="secret" data-testid="invitation-link">{move || url.get()}</code>
        </div>
    }
}

fn rename_card(org: &str, name: &str, rename: ServerAction<RenameOrganisation>) -> AnyView {
    let value = rename.value();
    let result = Signal::derive(move || value.try_get().flatten().and_then(Result::err));
    let saved = move || matches!(value.try_get().flatten(), Some(Ok(_)));
    let (org, name) = (org.to_owned(), name.to_owned());
    view! {
        <section class="card" aria-labelledby="rename-title">
            <h2 id="rename-title">"Organisation"</h2>
            <ActionForm action=rename attr:class="form form-inline" attr:novalidate=true>
                <FormAlert result/>
                <input type="hidden" name="org" value=org/>
                <Field label="Name" name="name" maxlength=100 value=name result/>
                <button type="submit" class="button">"Rename"</button>
                {move || saved().then(|| view! { <span class="saved" role="status">"Saved"</span> })}
            </ActionForm>
        </section>
    }
    .into_any()
}

fn delete_card(org: &str, name: &str, delete: ServerAction<DeleteOrganisation>) -> AnyView {
    let value = delete.value();
    let result = Signal::derive(move || value.try_get().flatten().and_then(Result::err));
    let confirming = RwSignal::new(false);
    let (org, name) = (org.to_owned(), name.to_owned());
    view! {
        <section class="card danger-zone" aria-labelledby="delete-title">
            <h2 id="delete-title">"Delete organisation"</h2>
            <p>"Deleting revokes every key of this organisation at once, everywhere, and removes its usage, activity, members and invitations. It cannot be undone."</p>
            {move || if confirming.get() {
                let (org, name) = (org.clone(), name.clone());
                view! {
                    <ActionForm action=delete attr:class="form" attr:novalidate=true>
                        <FormAlert result/>
                        <input type="hidden" name="org" value=org/>
                        <p>"To confirm, type " <strong>{name}</strong> " below."</p>
                        <Field label="Organisation name" name="confirm_name" maxlength=100 result/>
                        <p class="actions">
                            <button type="submit" class="button button-danger">"Delete organisation"</button>
                            <button type="button" class="button" on:click=move |_| confirming.set(false)>"Cancel"</button>
                        </p>
                    </ActionForm>
                }.into_any()
            } else {
                view! {
                    <button type="button" class="button button-danger-outline" on:click=move |_| confirming.set(true)>"Delete organisation…"</button>
                }.into_any()
            }}
        </section>
    }
    .into_any()
}
