//! `/o/:org/activity`: the organisation's activity log: who did what to its keys, members and invitations.

use crate::api::ApiError;
use crate::api::keys::{ActivityView, activity};
use crate::ui::components::org::{RequireMember, org_path, use_org};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// The activity page; `?page=N` pages back in time.
#[component]
pub fn ActivityPage() -> impl IntoView {
    let query = use_query_map();
    let org = use_org();
    let page = move || (org.get(), query.read().get("page").and_then(|p| p.parse::<u64>().ok()));
    let log = Resource::new(page, |(org, page)| activity(org, page));
    view! {
        <Title text="Activity"/>
        <RequireMember page=move |_, org| activity_page(org.id, log)/>
    }
}

fn activity_page(org: String, log: Resource<Result<ActivityView, ApiError>>) -> AnyView {
    view! {
        <div class="page-head">
            <h1>"Activity"</h1>
            <p class="lede">"Every change to this organisation's keys, members and invitations, newest first: who, from where."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading activity…"</p> }>
            {move || { let org = org.clone(); Suspend::new(async move {
                let base = org_path(&org, "activity");
                match log.await {
                    Ok(log) => view! {
                        <div class="table-wrap">
                            <table class="activity">
                                <thead><tr>
                                    <th scope="col">"When"</th><th scope="col">"What"</th><th scope="col">"Key"</th>
                                    <th scope="col">"By"</th><th scope="col">"From"</th>
                                </tr></thead>
                                <tbody>
                                    {log.events.into_iter().map(|event| view! {
                                        <tr>
                                            <td data-label="When">{event.when}</td>
                                            <td data-label="What">{event.what}{event.detail.map(|d| view! { <span class="detail">{d}</span> })}</td>
                                            <td data-label="Key">{match (event.key_id, event.key_name) {
                                                (Some(id), Some(name)) => view! { <a href=org_path(&org, &format!("keys/{id}"))>{name}</a> }.into_any(),
                                                _ => view! { <span class="muted">"—"</span> }.into_any(),
                                            }}</td>
                                            <td data-label="By">{event.actor}</td>
                                            <td data-label="From">
                                                {event.client_ip.unwrap_or_else(|| "unknown".into())}
                                                {event.user_agent.map(|agent| {
                                                    let title = agent.clone();
                                                    view! { <span class="detail" title=title>{agent}</span> }
                                                })}
                                            </td>
                                        </tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                        <nav class="pager" aria-label="Pages">
                            {(log.page > 1).then(|| view! { <a class="button" href=format!("{base}?page={}", log.page - 1)>"Newer"</a> })}
                            <span>{format!("Page {} of {}", log.page, log.pages)}</span>
                            {(log.page < log.pages).then(|| view! { <a class="button" href=format!("{base}?page={}", log.page + 1)>"Older"</a> })}
                        </nav>
                    }.into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}
