//! `/o/:org/keys`: the organisation's keys.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::keys::{KeyView, list_keys};
use crate::api::organisations::OrganisationView;
use crate::ui::components::keys::StatusBadge;
use crate::ui::components::org::{RequireMember, org_path, use_org};
use leptos::prelude::*;
use leptos_meta::Title;

/// The keys page.
#[component]
pub fn KeysPage() -> impl IntoView {
    let org = use_org();
    let keys = Resource::new(move || org.get(), list_keys);
    view! {
        <Title text="API keys"/>
        <RequireMember page=move |account, org| keys_page(account, org, keys)/>
    }
}

fn keys_page(account: AccountView, org: OrganisationView, keys: Resource<Result<Vec<KeyView>, ApiError>>) -> AnyView {
    let show_finished = RwSignal::new(false);
    let new_key = org_path(&org.id, "keys/new");
    let can_create = org.can.create_keys;
    let org_id = org.id.clone();
    view! {
        <div class="page-head page-head-row">
            <div>
                <h1>"API keys"</h1>
                <p class="lede">
                    <strong data-testid="organisation-name">{org.name.clone()}</strong>
                    " · signed in as " <strong data-testid="account-email">{account.email}</strong>
                    " (" {org.role.clone()} ")"
                </p>
            </div>
            {can_create.then(|| view! { <a class="button button-primary" href=new_key.clone()>"Create key"</a> })}
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
            {move || { let (org_id, new_key) = (org_id.clone(), new_key.clone()); Suspend::new(async move {
                match keys.await {
                    Ok(list) if list.is_empty() => empty_state(can_create, new_key).into_any(),
                    Ok(list) => {
                        let finished = list.iter().filter(|key| !key.status.is_live()).count();
                        view! {
                            {(finished > 0).then(|| view! {
                                <label class="toggle">
                                    <input type="checkbox" on:change=move |ev| show_finished.set(event_target_checked(&ev))/>
                                    {format!("Show {finished} revoked or expired")}
                                </label>
                            })}
                            <KeyTable org=org_id keys=list show_finished/>
                        }.into_any()
                    }
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

fn empty_state(can_create: bool, new_key: String) -> impl IntoView {
    view! {
        <section class="card empty-state">
            <h2>"No API keys yet"</h2>
            {if can_create {
                view! {
                    <p>"Create a key for each place that calls the API, so you can roll or revoke one without touching the others."</p>
                    <a class="button button-primary" href=new_key>"Create your first key"</a>
                }.into_any()
            } else {
                view! { <p>"Keys that members of this organisation create appear here."</p> }.into_any()
            }}
        </section>
    }
}

#[component]
fn KeyTable(org: String, keys: Vec<KeyView>, show_finished: RwSignal<bool>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="keys">
                <thead>
                    <tr>
                        <th scope="col">"Name"</th>
                        <th scope="col">"Key"</th>
                        <th scope="col">"Scopes"</th>
                        <th scope="col">"Created"</th>
                        <th scope="col">"Expires"</th>
                        <th scope="col">"Last used"</th>
                        <th scope="col">"Created by"</th>
                        <th scope="col">"Status"</th>
                    </tr>
                </thead>
                <tbody>
                    {keys
                        .into_iter()
                        .map(|key| {
                            let live = key.status.is_live();
                            view! {
                                <tr class:finished=!live class:hidden=move || !live && !show_finished.get()>
                                    <td data-label="Name"><a href=org_path(&org, &format!("keys/{}", key.id))>{key.name}</a></td>
                                    <td data-label="Key"><code>{key.hint}</code></td>
                                    <td data-label="Scopes">{key.scopes.join(", ")}</td>
                                    <td data-label="Created">{key.created}</td>
                                    <td data-label="Expires">{key.expires}</td>
                                    <td data-label="Last used">{key.last_used}</td>
                                    <td data-label="Created by">{key.created_by}</td>
                                    <td data-label="Status"><StatusBadge status=key.status/></td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
    }
}
