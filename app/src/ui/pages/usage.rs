//! `/o/:org/usage`: the organisation's usage at a glance: one chart for all its keys, what needs attention,
//! and its keys ranked by use.

use crate::api::ApiError;
use crate::api::usage::{AdviceView, OrganisationUsageView, code_label, grouped, organisation_usage};
use crate::ui::components::chart::UsageChart;
use crate::ui::components::keys::StatusBadge;
use crate::ui::components::org::{RequireMember, org_path, use_org};
use crate::ui::components::usage::{ExportForm, Pager, PeriodTabs, Share, period_and_page};
use leptos::prelude::*;
use leptos_meta::Title;

/// The organisation's usage page; `?period=24h|30d&page=N`.
#[component]
pub fn UsagePage() -> impl IntoView {
    let org = use_org();
    let params = period_and_page();
    let params = move || (org.get(), params.clone());
    let usage = Resource::new(params, |(org, (period, page))| organisation_usage(org, period, page));
    view! {
        <Title text="Usage"/>
        <RequireMember page=move |_, org| usage_page(org.id, usage)/>
    }
}

fn usage_page(org: String, usage: Resource<Result<OrganisationUsageView, ApiError>>) -> AnyView {
    view! {
        <div class="page-head">
            <h1>"Usage"</h1>
            <p class="lede">"Every verification of your keys by the provider's services, and every exchange of a key for a token, counted by outcome."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
            {move || { let org = org.clone(); Suspend::new(async move {
                match usage.await {
                    Ok(usage) => organisation_overview(org, usage).into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}}
        </Suspense>
    }
    .into_any()
}

fn organisation_overview(org: String, usage: OrganisationUsageView) -> impl IntoView {
    let unused = usage.all_keys - usage.used_keys.min(usage.all_keys);
    let OrganisationUsageView { period, chart, keys, page, pages, used_keys, advice, export, .. } = usage;
    let base = org_path(&org, "usage");
    let key_link = {
        let org = org.clone();
        move |id: &str| org_path(&org, &format!("keys/{id}"))
    };
    let advice_link = key_link.clone();
    view! {
        <PeriodTabs base=base.clone() current=period.clone()/>
        <section class="card">
            <UsageChart chart/>
        </section>
        <Attention advice key_link=advice_link/>
        <section class="card" aria-labelledby="ranking-title">
            <h2 id="ranking-title">"Keys by use"</h2>
            {if keys.is_empty() {
                view! { <p class="muted">"None of this organisation's keys was used in this period."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="ranking">
                            <thead><tr>
                                <th scope="col">"Key"</th><th scope="col">"Status"</th>
                                <th scope="col" class="numeric">"Verifications"</th><th scope="col" class="numeric">"Accepted"</th>
                                <th scope="col" class="numeric">"Refused"</th><th scope="col">"Share"</th><th scope="col">"Last used"</th>
                            </tr></thead>
                            <tbody>
                                {keys.into_iter().map(|key| {
                                    view! {
                                        <tr>
                                            <td data-label="Key"><a href=key_link(&key.id)>{key.name}</a> " " <code>{key.hint}</code></td>
                                            <td data-label="Status"><StatusBadge status=key.status/></td>
                                            <td data-label="Verifications" class="numeric">{grouped(key.total)}</td>
                                            <td data-label="Accepted" class="numeric">{grouped(key.accepted)}</td>
                                            <td data-label="Refused" class="numeric">{grouped(key.total - key.accepted)}</td>
                                            <td data-label="Share"><Share permille=key.share_permille/></td>
                                            <td data-label="Last used">{key.last_used}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <Pager base period=period page pages/>
            <p class="muted">{format!(
                "{used_keys} {} used in this period{}.",
                if used_keys == 1 { "key was" } else { "keys were" },
                if unused > 0 { format!("; {unused} not at all") } else { String::new() }
            )}</p>
        </section>
        <section class="card" aria-labelledby="export-title">
            <h2 id="export-title">"Export"</h2>
            <p>"Every key's verifications per day or hour, one row per key and period with any use."</p>
            <ExportForm org defaults=export/>
        </section>
    }
}

/// Refusals and rolled keys still in use, with what to do about each.
#[component]
fn Attention(advice: Vec<AdviceView>, key_link: impl Fn(&str) -> String + 'static) -> impl IntoView {
    (!advice.is_empty()).then(|| {
        view! {
            <section class="card attention" aria-labelledby="attention-title">
                <h2 id="attention-title">"Needs attention"</h2>
                <ul class="advice-list">
                    {advice.into_iter().map(|item| view! {
                        <li class="advice">
                            <span class=format!("code-chip code-{}", item.code.to_lowercase())>{code_label(&item.code)}</span>
                            <div>
                                <p><a href=key_link(&item.key_id)><strong>{item.key_name}</strong></a> ": " {item.what}</p>
                                <p class="advice-action"><a href=item.link>{item.action}</a></p>
                            </div>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}
