//! Pieces shared by the usage views: the period switch, the pager and the CSV export form.

use crate::api::usage::{ExportDefaults, PERIOD_CHOICES};
use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

/// The period and page the address asks for (`?period=…&page=…`). Read once, untracked: the period and page
/// links load the page anew (see [`PeriodTabs`]).
pub fn period_and_page() -> (Option<String>, Option<u64>) {
    let query = use_query_map().read_untracked();
    (query.get("period"), query.get("page").and_then(|p| p.parse::<u64>().ok()))
}

/// Links to the same page for each period; the current one is marked. Plain links that load the page anew
/// (`rel="external"` keeps the router out): they work before hydration, keep the period in the address, and
/// the page's data never has to follow the address while the router is swapping pages.
#[component]
pub fn PeriodTabs(
    /// The page's path.
    #[prop(into)]
    base: String,
    /// The period shown.
    #[prop(into)]
    current: String,
) -> impl IntoView {
    view! {
        <nav class="period-tabs" aria-label="Period">
            {PERIOD_CHOICES.iter().map(|(value, label)| {
                let here = *value == current;
                view! {
                    <a href=format!("{base}?period={value}") rel="external" class="period-tab" class:current=here
                        aria-current=here.then_some("page")>{*label}</a>
                }
            }).collect_view()}
        </nav>
    }
    .into_any()
}

/// "Page N of M" with links to the neighbours, keeping the period.
#[component]
pub fn Pager(
    /// The page's path.
    #[prop(into)]
    base: String,
    /// The period shown.
    #[prop(into)]
    period: String,
    /// This page, from 1.
    page: u64,
    /// How many pages.
    pages: u64,
) -> impl IntoView {
    let link = move |to: u64| format!("{base}?period={period}&page={to}");
    (pages > 1).then(|| {
        view! {
            <nav class="pager" aria-label="Pages">
                {(page > 1).then(|| view! { <a class="button" rel="external" href=link(page - 1)>"Previous"</a> })}
                <span>{format!("Page {page} of {pages}")}</span>
                {(page < pages).then(|| view! { <a class="button" rel="external" href=link(page + 1)>"Next"</a> })}
            </nav>
        }
    })
}

/// Downloads usage as CSV for dates the user picks: one key's, or (without `key`) the whole organisation's.
#[component]
pub fn ExportForm(
    /// The organisation.
    #[prop(into)]
    org: String,
    /// The key to export, or none for the whole organisation.
    #[prop(optional, into)]
    key: Option<String>,
    /// The dates the form starts with.
    defaults: ExportDefaults,
) -> impl IntoView {
    let ExportDefaults { from, to, hourly_days, daily_days } = defaults;
    let hint = format!(
        "Dates are UTC and both are included. Hourly rows cover at most 31 days and go back {hourly_days} days; \
         daily rows go back {daily_days} days."
    );
    view! {
        <form class="form export-form" method="get" action="/usage/export.csv">
            <input type="hidden" name="org" value=org/>
            {key.map(|key| view! { <input type="hidden" name="key" value=key/> })}
            <div class="inline-inputs">
                <div class="field">
                    <label for="export-from">"From"</label>
                    <input id="export-from" name="from" type="date" required value=from.clone() max=to.clone()/>
                </div>
                <div class="field">
                    <label for="export-to">"To"</label>
                    <input id="export-to" name="to" type="date" required value=to.clone() max=to/>
                </div>
                <div class="field">
                    <label for="export-granularity">"Rows per"</label>
                    <select id="export-granularity" name="granularity">
                        <option value="day" selected>"Day"</option>
                        <option value="hour">"Hour"</option>
                    </select>
                </div>
                <button type="submit" class="button">"Download CSV"</button>
            </div>
            <p class="field-hint">{hint}</p>
        </form>
    }
    .into_any()
}

/// A share of the whole (in tenths of a percent) as a small bar and a number. The bar is SVG drawn with
/// attributes: the content security policy refuses inline styles.
#[component]
pub fn Share(
    /// Tenths of a percent, 0..=1000.
    permille: u64,
) -> impl IntoView {
    let width = format!("{}%", permille.min(1000) as f64 / 10.0);
    view! {
        <svg class="share" width="64" height="7" aria-hidden="true">
            <rect class="share-track" width="100%" height="7" rx="3.5"/>
            <rect class="share-bar" width=width height="7" rx="3.5"/>
        </svg>
        " "
        {format!("{}.{}%", permille / 10, permille % 10)}
    }
}
