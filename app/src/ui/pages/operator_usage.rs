//! `/operator/usage`: who uses the API: every organisation's verifications together, organisations ranked
//! by use and the latest refusals. Anyone but an operator sees the not-found page.

use crate::api::ApiError;
use crate::api::auth::AccountView;
use crate::api::usage::{OperatorUsageView, grouped, operator_usage};
use crate::ui::components::chart::UsageChart;
use crate::ui::components::guard::RequireAccount;
use crate::ui::components::usage::{Pager, PeriodTabs, Share, period_and_page};
use crate::ui::pages::NotFoundPage;
use leptos::prelude::*;
use leptos_meta::Title;

/// The operator's usage overview; `?period=24h|30d&page=N`.
#[component]
pub fn OperatorUsagePage() -> impl IntoView {
    let params = period_and_page();
    let params = move || params.clone();
    let usage = Resource::new(params, |(period, page)| operator_usage(period, page));
    view! {
        <Title text="API usage"/>
        <RequireAccount page=move |account| operator_page(account, usage)/>
    }
}

fn operator_page(account: AccountView, usage: Resource<Result<OperatorUsageView, ApiError>>) -> AnyView {
    if !account.is_operator {
        return view! { <NotFoundPage/> }.into_any();
    }
    view! {
        <div class="page-head">
            <h1>"API usage"</h1>
            <p class="lede">"Verifications across every customer organisation."</p>
        </div>
        <Suspense fallback=|| view! { <p class="loading">"Loading usage…"</p> }>
            {move || Suspend::new(async move {
                match usage.await {
                    Ok(usage) => overview(usage).into_any(),
                    Err(err) => view! { <p class="alert alert-error" role="alert">{err.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
    .into_any()
}

fn overview(usage: OperatorUsageView) -> impl IntoView {
    let OperatorUsageView { period, chart, organisations, page, pages, used_organisations, rejections } = usage;
    view! {
        <PeriodTabs base="/operator/usage" current=period.clone()/>
        <section class="card">
            <UsageChart chart/>
        </section>
        <section class="card" aria-labelledby="organisations-title">
            <h2 id="organisations-title">"Top organisations"</h2>
            {if organisations.is_empty() {
                view! { <p class="muted">"No organisation's keys were verified in this period."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="ranking">
                            <thead><tr>
                                <th scope="col">"Organisation"</th><th scope="col" class="numeric">"Keys"</th>
                                <th scope="col" class="numeric">"Verifications"</th><th scope="col" class="numeric">"Refused"</th>
                                <th scope="col">"Share"</th>
                            </tr></thead>
                            <tbody>
                                {organisations.into_iter().map(|org| {
                                    view! {
                                        <tr>
                                            <td data-label="Organisation"><a href=format!("/operator/organisations/{}", org.id)>{org.name}</a></td>
                                            <td data-label="Keys" class="numeric">{grouped(org.keys)}</td>
                                            <td data-label="Verifications" class="numeric">{grouped(org.total)}</td>
                                            <td data-label="Refused" class="numeric">{grouped(org.rejected)}</td>
                                            <td data-label="Share"><Share permille=org.share_permille/></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
            <Pager base="/operator/usage" period=period page pages/>
            <p class="muted">{format!("{used_organisations} {} used the API in this period.", if used_organisations == 1 { "organisation" } else { "organisations" })}</p>
        </section>
        <section class="card" aria-labelledby="rejections-title">
            <h2 id="rejections-title">"Recent refusals"</h2>
            <p class="field-hint">"The last 24 hours, newest first: each row is one key refused for one reason within one hour."</p>
            {if rejections.is_empty() {
                view! { <p class="muted">"No verification was refused in the last 24 hours."</p> }.into_any()
            } else {
                view! {
                    <div class="table-wrap">
                        <table class="ranking">
                            <thead><tr>
                                <th scope="col">"Hour"</th><th scope="col">"Organisation"</th><th scope="col">"Key"</th>
                                <th scope="col">"Outcome"</th><th scope="col" class="numeric">"Count"</th>
                            </tr></thead>
                            <tbody>
                                {rejections.into_iter().map(|r| view! {
                                    <tr>
                                        <td data-label="Hour">{r.when}</td>
                                        <td data-label="Organisation">{r.organisation}</td>
                                        <td data-label="Key">{r.key_name} " " <code>{r.key_hint}</code></td>
                                        <td data-label="Outcome"><span class=format!("code-chip code-{}", r.code.to_lowercase())>{r.label}</span></td>
                                        <td data-label="Count" class="numeric">{grouped(r.count)}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                }.into_any()
            }}
        </section>
    }
}
