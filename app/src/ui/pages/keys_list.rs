//! `/o/:org/keys`: the organisation's keys, one page at a time. The search, filters, order and page live in
//! the address (`?q=…&status=…&scope=…&sort=…&page=…`), so a view can be bookmarked, shared and reloaded,
//! and the form works as a plain GET form before the page hydrates.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::keys::{KeyListView, KeyView, SORT_CHOICES, STATUS_CHOICES, list_keys};
use crate::api::organisations::OrganisationView;
use crate::ui::components::keys::StatusBadge;
use crate::ui::components::org::{RequireMember, org_path, use_org};
use crate::ui::components::text::{Address, When};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::Form;
use leptos_router::hooks::use_query_map;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

/// What the address asks the keys page to show.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Shown {
    search: String,
    status: String,
    scope: String,
    sort: String,
    page: Option<u64>,
}

impl Shown {
    /// The address of this view on `page`, leaving out what is at its default.
    fn href(&self, org: &str, page: u64) -> String {
        let mut pairs = Vec::new();
        for (name, value) in
            [("q", &self.search), ("status", &self.status), ("scope", &self.scope), ("sort", &self.sort)]
        {
            if !value.is_empty() {
                pairs.push(format!("{name}={}", utf8_percent_encode(value, NON_ALPHANUMERIC)));
            }
        }
        if page > 1 {
            pairs.push(format!("page={page}"));
        }
        let base = org_path(org, "keys");
        if pairs.is_empty() { base } else { format!("{base}?{}", pairs.join("&")) }
    }

    /// The status asked for, or the default (the first choice) when none was.
    fn status(&self) -> &str {
        if self.status.is_empty() { STATUS_CHOICES[0].0 } else { &self.status }
    }

    /// The order asked for, or the default (the first choice) when none was.
    fn sort(&self) -> &str {
        if self.sort.is_empty() { SORT_CHOICES[0].0 } else { &self.sort }
    }

    fn filtered(&self) -> bool {
        !self.search.trim().is_empty() || !self.scope.is_empty() || self.status() != STATUS_CHOICES[0].0
    }
}

/// The keys page.
#[component]
pub fn KeysPage() -> impl IntoView {
    let org = use_org();
    let query = use_query_map();
    let shown = Memo::new(move |_| {
        let query = query.read();
        let text = |name: &str| query.get(name).unwrap_or_default();
        Shown {
            search: text("q"),
            status: text("status"),
            scope: text("scope"),
            sort: text("sort"),
            page: query.get("page").and_then(|page| page.parse().ok()),
        }
    });
    let keys = Resource::new(
        move || (org.get(), shown.get()),
        |(org, shown)| {
            let some = |value: String| (!value.is_empty()).then_some(value);
            list_keys(org, some(shown.search), some(shown.status), some(shown.scope), some(shown.sort), shown.page)
        },
    );
    view! {
        <Title text="API keys"/>
        <RequireMember page=move |account, org| keys_page(account, org, keys, shown)/>
    }
}

fn keys_page(
    account: AccountView,
    org: OrganisationView,
    keys: Resource<Result<KeyListView, ApiError>>,
    shown: Memo<Shown>,
) -> AnyView {
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
                let shown = shown.get_untracked();
                match keys.await {
                    Ok(list) if !list.has_keys => empty_state(can_create, new_key).into_any(),
                    Ok(list) => view! {
                        <KeyFilters org=org_id.clone() shown=shown.clone() scopes=list.scopes.clone()/>
                        {if list.keys.is_empty() {
                            no_match(&org_id, &shown).into_any()
                        } else {
                            view! {
                                <KeyTable org=org_id.clone() keys=list.keys.clone()/>
                                <Pager org=org_id shown list/>
                            }.into_any()
                        }}
                    }.into_any(),
                    Err(err) => view! {
                        <KeyFilters org=org_id.clone() shown=shown.clone() scopes=Vec::new()/>
                        <p class="alert alert-error" role="alert">{err.to_string()}</p>
                        <p><a href=org_path(&org_id, "keys")>"Show all working keys"</a></p>
                    }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

/// The search box, filters and order: a GET form, so what it asks for lands in the address.
#[component]
fn KeyFilters(org: String, shown: Shown, scopes: Vec<String>) -> impl IntoView {
    let (status, sort) = (shown.status().to_owned(), shown.sort().to_owned());
    let scope = shown.scope.clone();
    let reset = shown.filtered().then(|| view! { <a class="button" href=org_path(&org, "keys")>"Clear"</a> });
    view! {
        <Form method="GET" action=org_path(&org, "keys") attr:class="key-filters" attr:role="search">
            <div class="field key-search">
                <label for="key-search">"Search"</label>
                <input id="key-search" name="q" type="search" maxlength="100" value=shown.search.clone()
                    placeholder="Name, hint, id or key" autocomplete="off"/>
            </div>
            <div class="field">
                <label for="key-status">"Status"</label>
                <select id="key-status" name="status">
                    {STATUS_CHOICES.iter().map(|(value, words)| view! {
                        <option value=*value selected=status == *value>{*words}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="key-scope">"Scope"</label>
                <select id="key-scope" name="scope">
                    <option value="" selected=scope.is_empty()>"Any scope"</option>
                    {scopes.into_iter().map(|name| {
                        let selected = name == scope;
                        view! { <option value=name.clone() selected=selected>{name.clone()}</option> }
                    }).collect_view()}
                </select>
            </div>
            <div class="field">
                <label for="key-sort">"Order"</label>
                <select id="key-sort" name="sort">
                    {SORT_CHOICES.iter().map(|(value, words)| view! {
                        <option value=*value selected=sort == *value>{*words}</option>
                    }).collect_view()}
                </select>
            </div>
            <div class="key-filter-actions">
                <button type="submit" class="button">"Show keys"</button>
                {reset}
            </div>
        </Form>
    }
}

fn no_match(org: &str, shown: &Shown) -> impl IntoView {
    let everywhere = Shown { status: "any".into(), page: None, ..shown.clone() };
    let working_only = shown.status() == STATUS_CHOICES[0].0;
    view! {
        <section class="card empty-state" role="status">
            <h2>"No keys match"</h2>
            {if working_only {
                view! { <p>"Revoked and expired keys are not searched. " <a href=everywhere.href(org, 1)>"Search keys of any status"</a></p> }.into_any()
            } else {
                view! { <p>"Try other words or filters, or " <a href=org_path(org, "keys")>"show all working keys"</a> "."</p> }.into_any()
            }}
        </section>
    }
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
fn Pager(org: String, shown: Shown, list: KeyListView) -> impl IntoView {
    let keys = if list.matching == 1 { "1 key".to_owned() } else { format!("{} keys", list.matching) };
    view! {
        <nav class="pager" aria-label="Pages">
            {(list.page > 1).then(|| view! { <a class="button" rel="prev" href=shown.href(&org, list.page - 1)>"Previous"</a> })}
            <span data-testid="key-count">{format!("{keys} · page {} of {}", list.page, list.pages)}</span>
            {(list.page < list.pages).then(|| view! { <a class="button" rel="next" href=shown.href(&org, list.page + 1)>"Next"</a> })}
        </nav>
    }
}

#[component]
fn KeyTable(org: String, keys: Vec<KeyView>) -> impl IntoView {
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
                                <tr class:finished=!live>
                                    <td data-label="Name"><a href=org_path(&org, &format!("keys/{}", key.id))>{key.name}</a></td>
                                    <td data-label="Key"><code>{key.hint}</code></td>
                                    <td data-label="Scopes">{key.scopes.join(", ")}</td>
                                    <td data-label="Created"><When text=key.created/></td>
                                    <td data-label="Expires"><When text=key.expires/></td>
                                    <td data-label="Last used"><When text=key.last_used/></td>
                                    <td data-label="Created by"><Address email=key.created_by/></td>
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_view_address_keeps_what_was_asked_and_drops_defaults() {
        let shown = Shown { search: "billing & co".into(), status: "revoked".into(), ..Shown::default() };
        assert_eq!(shown.href("o1", 3), "/o/o1/keys?q=billing%20%26%20co&status=revoked&page=3");
        assert_eq!(Shown::default().href("o1", 1), "/o/o1/keys");
    }
}
