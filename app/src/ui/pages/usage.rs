//! `/usage`: the account's usage at a glance: one chart for all its keys, what needs attention, and its keys
//! ranked by use.

use crate::api::ApiError;
use crate::api::usage::{AccountUsageView, AdviceView, account_usage, code_label, grouped};
use crate::ui::components::chart::UsageChart;
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::keys::StatusBadge;
use crate::ui::components::usage::{ExportForm, Pager, PeriodTabs, Share, period_and_page};
use leptos::prelude::*;
use leptos_meta::Title;

/// The account's usage page; `?period=24h|30d&page=N`.
#[component]
pub fn UsagePage() -> impl IntoView {
    let params = period_and_page();
    let params = move || params.clone();
    let usage = Resource::new(params, |(period, page)| account_usage(period, page));
    view! {
        <Title text="Usage"/>
        <RequireAccount page=move |_| usage_page(usage)/>
    }
}

fn usage_page(usage: Resource<Result<AccountUsageView, ApiError>>) -> AnyView {
    view! {
        <div class="page-head">
            <h1>"Usage"</h1>
            <p class="lede">"Every verification of your keys by the provider's services, and every exchange of a key for a token, counted by outcome."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(usage) => account_overview(usage).into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

fn account_overview(usage: AccountUsageView) -> impl IntoView {
    let unused = usage.all_keys - usage.used_keys.min(usage.all_keys);
    let AccountUsageView { period, chart, keys, page, pages, used_keys, advice, export, .. } = usage;
    view! {
        <PeriodTabs base="/usage" current=period.clone()/>
        <section class="card">
            <UsageChart chart/>
        </section>
        <Attention advice/>
        <section class="card" aria-labelledby="ranking-title">
            <h2 id="ranking-title">"Keys by use"</h2>
            {if keys.is_empty() {
                view! { <p class="muted">"None of your keys was used in this period."</p> }.into_any()
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
                                            <td data-label="Key"><a href=format!("/keys/{}", key.id)>{key.name}</a> " " <code>{key.hint}</code></td>
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
            <Pager base="/usage" period=period page pages/>
            <p class="muted">{format!(
                "{used_keys} {} used in this period{}.",
                if used_keys == 1 { "key was" } else { "keys were" },
                if unused > 0 { format!("; {unused} not at all") } else { String::new() }
            )}</p>
        </section>
        <section class="card" aria-labelledby="export-title">
            <h2 id="export-title">"Export"</h2>
            <p>"Every key's verifications per day or hour, one row per key and period with any use."</p>
            <ExportForm defaults=export/>
        </section>
    }
}

/// Refusals and rolled keys still in use, with what to do about each.
#[component]
fn Attention(advice: Vec<AdviceView>) -> impl IntoView {
    (!advice.is_empty()).then(|| {
        view! {
            <section class="card attention" aria-labelledby="attention-title">
                <h2 id="attention-title">"Needs attention"</h2>
                <ul class="advice-list">
                    {advice.into_iter().map(|item| view! {
                        <li class="advice">
                            <span class=format!("code-chip code-{}", item.code.to_lowercase())>{code_label(&item.code)}</span>
                            <div>
                                <p><a href=format!("/keys/{}", item.key_id)><strong>{item.key_name}</strong></a> ": " {item.what}</p>
                                <p class="advice-action"><a href=item.link>{item.action}</a></p>
                            </div>
                        </li>
                    }).collect_view()}
                </ul>
            </section>
        }
    })
}
