//! `/`: the signed-in home, the account's keys.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::keys::{KeyView, list_keys};
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::StatusBadge;
use leptos::prelude::*;
use leptos_meta::Title;

/// The keys page.
#[component]
pub fn KeysPage() -> impl IntoView {
    let keys = Resource::new(|| (), |_| list_keys());
    view! {
        <Title text="API keys"/>
        <RequireAccount page=move |account| keys_page(account, keys)/>
    }
}

fn keys_page(account: AccountView, keys: Resource<Result<Vec<KeyView>, ApiError>>) -> AnyView {
    let show_finished = RwSignal::new(false);
    view! {
        <div class="page-head page-head-row">
            <div>
                <h1>"API keys"</h1>
                <p class="lede">"Signed in as " <strong data-testid="account-email">{account.email}</strong></p>
            </div>
            <a class="button button-primary" href="/keys/new">"Create key"</a>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading keys…"</p> }>
            {move || Suspend::new(async move {
                match keys.await {
                    Ok(list) if list.is_empty() => empty_state().into_any(),
                    Ok(list) => {
                        let finished = list.iter().filter(|key| !key.status.is_live()).count();
                        view! {
                            {(finished > 0).then(|| view! {
                                <label class="toggle">
                                    <input type="checkbox" on:change=move |ev| show_finished.set(event_target_checked(&ev))/>
                                    {format!("Show {finished} revoked or expired")}
                                </label>
                            })}
                            <KeyTable keys=list show_finished/>
                        }.into_any()
                    }
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

fn empty_state() -> impl IntoView {
    view! {
        <section class="card empty-state">
            <h2>"No API keys yet"</h2>
            <p>"Create a key for each place that calls the API, so you can roll or revoke one without touching the others."</p>
            <a class="button button-primary" href="/keys/new">"Create your first key"</a>
        </section>
    }
}

#[component]
fn KeyTable(keys: Vec<KeyView>, show_finished: RwSignal<bool>) -> impl IntoView {
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
                                    <td data-label="Name"><a href=format!("/keys/{}", key.id)>{key.name}</a></td>
                                    <td data-label="Key"><code>{key.hint}</code></td>
                                    <td data-label="Scopes">{key.scopes.join(", ")}</td>
                                    <td data-label="Created">{key.created}</td>
                                    <td data-label="Expires">{key.expires}</td>
                                    <td data-label="Last used">{key.last_used}</td>
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
