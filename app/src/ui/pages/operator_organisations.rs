//! The operator console: `/operator/organisations` finds a customer organisation by name, external id,
//! member email, key id or key hint; `/operator/organisations/:id` shows one read-only (keys, members,
//! usage, activity) with the switch that disables or enables it; `/operator/activity` is the operator
//! audit log. Anyone but an operator sees the not-found page.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::operator::{
    FoundView, InspectView, OperatorActivityView, SwitchOrganisation, find_organisations, inspect_organisation,
    operator_activity,
};
use crate::ui::components::chart::UsageChart;
use crate::ui::components::form::{FormAlert, refusal};
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::StatusBadge;
use crate::ui::pages::NotFoundPage;
use crate::ui::session::reload_on_success;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

fn operator_only(account: &AccountView) -> Option<AnyView> {
    (!account.is_operator).then(|| view! { <NotFoundPage/> }.into_any())
}

fn failed(err: &ApiError) -> AnyView {
    view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any()
}

/// The search page; `?q=…`.
#[component]
pub fn OperatorOrganisationsPage() -> impl IntoView {
    let query = use_query_map().read_untracked().get("q");
    let shown = query.clone().unwrap_or_default();
    let found = Resource::new(move || query.clone(), find_organisations);
    view! {
        <Title text="Organisations"/>
        <RequireAccount page=move |account| {
            if let Some(not_found) = operator_only(&account) {
                return not_found;
            }
            let shown = shown.clone();
            view! {
                <div class="page-head page-head-row">
                    <div>
                        <h1>"Organisations"</h1>
                        <p class="lede">"Find a customer by name, external id, a member's email, or a key's id or hint (such as lk_3Fa9)."</p>
                    </div>
                    <a class="button" href="/operator/activity">"Operator activity"</a>
                </div>
                <form class="card form form-inline search-form" method="get" action="/operator/organisations">
                    <div class="field">
                        <label for="field-q">"Search"</label>
                        <input id="field-q" name="q" type="search" maxlength="255" value=shown placeholder="Acme, cus_4711, ann@example.com, lk_3Fa9"/>
                    </div>
                    <button type="submit" class="button button-primary">"Search"</button>
                </form>
                <Suspense fallback=|| view! { <p class="loading">"Searching…"</p> }>
                    {move || Suspend::new(async move {
                        match found.await {
                            Ok(list) => results(list).into_any(),
                            Err(err) => failed(&err),
                        }
                    })}
                </Suspense>
            }.into_any()
        }/>
    }
}

fn results(list: Vec<FoundView>) -> impl IntoView {
    if list.is_empty() {
        return view! { <p class="muted">"No organisation matches."</p> }.into_any();
    }
    view! {
        <div class="table-wrap">
            <table class="ranking">
                <thead><tr>
                    <th scope="col">"Organisation"</th><th scope="col">"External id"</th>
                    <th scope="col" class="numeric">"Members"</th><th scope="col" class="numeric">"Keys"</th>
                    <th scope="col">"Status"</th><th scope="col">"Matched"</th>
                </tr></thead>
                <tbody>
                    {list.into_iter().map(|org| view! {
                        <tr data-testid="organisation-row">
                            <td data-label="Organisation"><a href=format!("/operator/organisations/{}", org.id)>{org.name}</a></td>
                            <td data-label="External id">{org.external_id.map_or_else(|| view! { <span class="muted">"—"</span> }.into_any(), |id| view! { <code>{id}</code> }.into_any())}</td>
                            <td data-label="Members" class="numeric">{org.members}</td>
                            <td data-label="Keys" class="numeric">{org.keys}</td>
                            <td data-label="Status">{organisation_status(org.disabled)}</td>
                            <td data-label="Matched" class="muted">{org.matched}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
    .into_any()
}

fn organisation_status(disabled: bool) -> impl IntoView {
    if disabled {
        view! { <span class="badge badge-dead">"Disabled"</span> }
    } else {
        view! { <span class="badge badge-active">"Active"</span> }
    }
}

/// One organisation, read-only, with the disable / enable switch.
#[component]
pub fn OperatorOrganisationPage() -> impl IntoView {
    let params = use_params_map();
    let inspected = Resource::new(move || params.read().get("id").unwrap_or_default(), inspect_organisation);
    view! {
        <Title text="Organisation"/>
        <RequireAccount page=move |account| {
            if let Some(not_found) = operator_only(&account) {
                return not_found;
            }
            view! {
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match inspected.await {
                            Ok(org) => inspect(org).into_any(),
                            Err(ApiError::NotFound) => view! { <NotFoundPage/> }.into_any(),
                            Err(err) => failed(&err),
                        }
                    })}
                </Suspense>
            }.into_any()
        }/>
    }
}

fn inspect(org: InspectView) -> impl IntoView {
    let disabled = org.disabled_since.is_some();
    let id = org.id.clone();
    view! {
        <div class="page-head page-head-row">
            <div>
                <p class="breadcrumb"><a href="/operator/organisations">"Organisations"</a></p>
                <h1 class="key-title">{org.name.clone()} " " {organisation_status(disabled)}</h1>
                <p class="lede">
                    "Id " <code>{org.id.clone()}</code>
                    {org.external_id.clone().map(|id| view! { " · external id " <code>{id}</code> })}
                    " · created " {org.created.clone()}
                    {org.disabled_since.clone().map(|at| view! { " · disabled since " {at} })}
                </p>
            </div>
        </div>
        <section class=if disabled { "card" } else { "card danger-zone" } aria-labelledby="switch-title">
            <h2 id="switch-title">{if disabled { "Enable" } else { "Disable" }}</h2>
            <p>{if disabled {
                "Enabling restores everything: its keys verify again and its members can manage them."
            } else {
                "Disabling makes every key of this organisation answer DISABLED at once, here and within 2 seconds on every instance. Its members can still sign in, see a notice, and cannot create or change keys."
            }}</p>
            <OrganisationSwitch id disabled/>
        </section>
        <section class="card" aria-labelledby="keys-title">
            <h2 id="keys-title">{format!("Keys ({})", org.key_count)}</h2>
            {(org.key_count > org.keys.len() as u64).then(|| view! {
                <p class="muted">{format!("The newest {} are listed.", org.keys.len())}</p>
            })}
            {if org.keys.is_empty() {
                view! { <p class="muted">"No keys."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="keys">
                            <thead><tr>
                                <th scope="col">"Name"</th><th scope="col">"Key"</th><th scope="col">"Scopes"</th>
                                <th scope="col">"Created by"</th><th scope="col">"Expires"</th><th scope="col">"Last used"</th>
                                <th scope="col">"Status"</th>
                            </tr></thead>
                            <tbody>
                                {org.keys.into_iter().map(|key| view! {
                                    <tr>
                                        <td data-label="Name">{key.name} " " <span class="muted">{key.id}</span></td>
                                        <td data-label="Key"><code>{key.hint}</code></td>
                                        <td data-label="Scopes">{key.scopes.join(", ")}</td>
                                        <td data-label="Created by">{key.created_by}</td>
                                        <td data-label="Expires">{key.expires}</td>
                                        <td data-label="Last used">{key.last_used}{key.last_used_ip.map(|ip| view! { " from " <code>{ip}</code> })}</td>
                                        <td data-label="Status"><StatusBadge status=key.status/></td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
        <section class="card" aria-labelledby="members-title">
            <h2 id="members-title">{format!("Members ({})", org.members.len())}</h2>
            <div class="table-wrap">
                <table class="members">
                    <thead><tr><th scope="col">"Email"</th><th scope="col">"Role"</th><th scope="col">"Joined"</th></tr></thead>
                    <tbody>
                        {org.members.into_iter().map(|member| view! {
                            <tr>
                                <td data-label="Email">{member.email}</td>
                                <td data-label="Role"><span class=format!("role-chip role-{}", member.role)>{member.role.clone()}</span></td>
                                <td data-label="Joined">{member.joined}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <section class="card">
            <UsageChart chart=org.chart/>
        </section>
        <section class="card" aria-labelledby="activity-title">
            <h2 id="activity-title">"Latest activity"</h2>
            <div class="table-wrap">
                <table class="activity">
                    <thead><tr><th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Key"</th><th scope="col">"By"</th><th scope="col">"From"</th></tr></thead>
                    <tbody>
                        {org.activity.into_iter().map(|event| view! {
                            <tr>
                                <td data-label="When">{event.when}</td>
                                <td data-label="What">{event.what}{event.detail.map(|d| view! { <span class="detail">{d}</span> })}</td>
                                <td data-label="Key">{event.key_name.unwrap_or_else(|| "—".into())}</td>
                                <td data-label="By">{event.actor}</td>
                                <td data-label="From">{event.client_ip.unwrap_or_else(|| "unknown".into())}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

/// The operator audit log; `?page=N`.
#[component]
pub fn OperatorActivityPage() -> impl IntoView {
    let page = use_query_map().read_untracked().get("page").and_then(|p| p.parse::<u64>().ok());
    let log = Resource::new(move || page, operator_activity);
    view! {
        <Title text="Operator activity"/>
        <RequireAccount page=move |account| {
            if let Some(not_found) = operator_only(&account) {
                return not_found;
            }
            view! {
                <div class="page-head">
                    <h1>"Operator activity"</h1>
                    <p class="lede">"What the operator's people, command line and service tokens did to customer organisations: who, what, when, from where."</p>
                </div>
                <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match log.await {
                            Ok(log) => operator_log(log).into_any(),
                            Err(err) => failed(&err),
                        }
                    })}
                </Suspense>
            }.into_any()
        }/>
    }
}

fn operator_log(log: OperatorActivityView) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="activity">
                <thead><tr>
                    <th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Organisation"</th>
                    <th scope="col">"By"</th><th scope="col">"From"</th>
                </tr></thead>
                <tbody>
                    {log.events.into_iter().map(|event| view! {
                        <tr data-testid="operator-event">
                            <td data-label="When">{event.when}</td>
                            <td data-label="What">{event.what}{event.detail.map(|d| view! { <span class="detail">{d}</span> })}</td>
                            <td data-label="Organisation">{match event.organisation {
                                Some((id, name)) => view! { <a href=format!("/operator/organisations/{id}")>{name}</a> }.into_any(),
                                None => view! { <span class="muted">"—"</span> }.into_any(),
                            }}</td>
                            <td data-label="By">{event.actor}</td>
                            <td data-label="From">{event.client_ip.unwrap_or_else(|| "unknown".into())}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        <nav class="pager" aria-label="Pages">
            {(log.page > 1).then(|| view! { <a class="button" href=format!("/operator/activity?page={}", log.page - 1)>"Newer"</a> })}
            <span>{format!("Page {} of {}", log.page, log.pages)}</span>
            {(log.page < log.pages).then(|| view! { <a class="button" href=format!("/operator/activity?page={}", log.page + 1)>"Older"</a> })}
        </nav>
    }
}

/// Disable (after a confirmation) or enable the organisation, then the page again with its new state.
#[island(lazy)]
fn OrganisationSwitch(id: String, disabled: bool) -> impl IntoView {
    crate::ui::live::island_live();
    let switch = ServerAction::<SwitchOrganisation>::new();
    let value = switch.value();
    reload_on_success(move || value.get(), |_| window().location().href().unwrap_or_default());
    let result = refusal(value);
    let confirming = RwSignal::new(false);
    view! {
        <FormAlert result/>
        {move || {
            let id = id.clone();
            if confirming.get() || disabled {
                view! {
                    <ActionForm action=switch attr:class="confirm">
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="disabled" value=if disabled { "false" } else { "true" }/>
                        {(!disabled).then(|| view! { <span>"Disable this organisation now?"</span> })}
                        <button type="submit" class=if disabled { "button button-primary" } else { "button button-danger" }>
                            {if disabled { "Enable organisation" } else { "Yes, disable" }}
                        </button>
                        {(!disabled).then(|| view! { <button type="button" class="button" on:click=move |_| confirming.set(false)>"Cancel"</button> })}
                    </ActionForm>
                }.into_any()
            } else {
                view! { <button type="button" class="button button-danger-outline" on:click=move |_| confirming.set(true)>"Disable organisation"</button> }.into_any()
            }
        }}
    }
}
