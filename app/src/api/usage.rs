//! Server functions for usage: a key's charts, an organisation's overview and the operator's overview, and the
//! wire types the chart renders from. Everything is formatted on the server (UTC), so the browser hydrates
//! exactly what the server rendered.

use super::ApiError;
use super::keys::KeyStatusView;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The periods the usage pages offer: `(query value, label)`. The first is the default.
pub const PERIOD_CHOICES: [(&str, &str); 2] = [("24h", "Last 24 hours"), ("30d", "Last 30 days")];

/// Rows per page of the ranked tables.
pub const ROWS_PER_PAGE: u64 = 25;

/// One outcome code in a chart: its wire name, its words, its total over the period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeTotal {
    /// e.g. `INSUFFICIENT_SCOPES`.
    pub code: String,
    /// e.g. "Insufficient scopes".
    pub label: String,
    /// Verifications with this outcome in the period.
    pub total: u64,
}

/// One bar of a chart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketView {
    /// Short axis label ("14:00", "3 Nov").
    pub label: String,
    /// The whole bucket in words ("22 Nov 2026, 14:00–15:00 UTC").
    pub title: String,
    /// The same, short enough for a phone ("22 Nov, 14:00–15:00").
    pub short_title: String,
    /// Counts, one per entry of [`ChartView::codes`], in that order.
    pub counts: Vec<u64>,
}

/// A stacked bar chart of verifications per outcome code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartView {
    /// The heading ("Per hour, last 24 hours").
    pub title: String,
    /// The chart as HTML (SVG, legend, table), rendered by the server.
    pub html: String,
    /// What the bars are ("Hour (UTC)", "Day (UTC)").
    pub axis: String,
    /// The codes that occur, VALID first (always present).
    pub codes: Vec<CodeTotal>,
    /// Oldest first.
    pub buckets: Vec<BucketView>,
    /// Every verification in the period.
    pub total: u64,
}

/// The dates an export form starts with: the last 30 days, YYYY-MM-DD (UTC).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportDefaults {
    /// 29 days ago.
    pub from: String,
    /// Today.
    pub to: String,
    /// Days of hourly usage kept.
    pub hourly_days: i64,
    /// Days of daily usage kept.
    pub daily_days: i64,
}

/// A key's usage over a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUsageView {
    /// The period shown (one of [`PERIOD_CHOICES`]).
    pub period: String,
    /// The chart.
    pub chart: ChartView,
    /// For the export form.
    pub export: ExportDefaults,
}

/// One key's line in the organisation's ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyUseView {
    /// Key id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Hint.
    pub hint: String,
    /// Where it stands.
    pub status: KeyStatusView,
    /// Verifications in the period.
    pub total: u64,
    /// Of which accepted (valid verifications and issued tokens).
    pub accepted: u64,
    /// Share of the organisation's verifications, in tenths of a percent.
    pub share_permille: u64,
    /// Last use, for people.
    pub last_used: String,
}

/// Something the organisation should act on, found in its usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdviceView {
    /// The key concerned.
    pub key_id: String,
    /// Its name.
    pub key_name: String,
    /// The outcome code, e.g. `EXPIRED` (VALID for a rolled key still in use).
    pub code: String,
    /// How often, in the period.
    pub count: u64,
    /// What happened, in words.
    pub what: String,
    /// What to do about it.
    pub action: String,
    /// Where to do it (the new key after a roll, otherwise the key itself).
    pub link: String,
}

/// The organisation's usage overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationUsageView {
    /// The period shown.
    pub period: String,
    /// All keys together.
    pub chart: ChartView,
    /// Keys ranked by use, this page.
    pub keys: Vec<KeyUseView>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages.
    pub pages: u64,
    /// Keys with any use in the period.
    pub used_keys: u64,
    /// Keys the organisation has.
    pub all_keys: u64,
    /// Refusals and old keys still in use, most frequent first.
    pub advice: Vec<AdviceView>,
    /// For the export form.
    pub export: ExportDefaults,
}

/// One organisation's line in the operator's ranking.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationUseView {
    /// Its id, for the link to it.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Keys it has.
    pub keys: u64,
    /// Verifications in the period.
    pub total: u64,
    /// Of which refused.
    pub rejected: u64,
    /// Share of all verifications, in tenths of a percent.
    pub share_permille: u64,
}

/// One refused hour, for the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectionView {
    /// The hour, for people.
    pub when: String,
    /// The key's organisation.
    pub organisation: String,
    /// The key's name.
    pub key_name: String,
    /// The key's hint.
    pub key_hint: String,
    /// The outcome code.
    pub code: String,
    /// Its words.
    pub label: String,
    /// How often.
    pub count: u64,
}

/// The operator's overview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorUsageView {
    /// The period shown.
    pub period: String,
    /// Every organisation together.
    pub chart: ChartView,
    /// Organisations ranked by use, this page.
    pub organisations: Vec<OrganisationUseView>,
    /// This page, from 1.
    pub page: u64,
    /// How many pages.
    pub pages: u64,
    /// Organisations with any use in the period.
    pub used_organisations: u64,
    /// Refusals of the last 24 hours, newest first.
    pub rejections: Vec<RejectionView>,
}

/// Words for an outcome code.
pub fn code_label(code: &str) -> &'static str {
    match code {
        "VALID" => "Valid",
        "MALFORMED" => "Malformed",
        "NOT_FOUND" => "Not found",
        "EXPIRED" => "Expired",
        "REVOKED" => "Revoked",
        "DISABLED" => "Disabled",
        "INSUFFICIENT_SCOPES" => "Insufficient scopes",
        "IP_NOT_ALLOWED" => "IP not allowed",
        "RATE_LIMITED" => "Rate limited",
        "TOKEN_ISSUED" => "Token issued",
        _ => "Other",
    }
}

/// A count with thousands separators: 1234567 → "1,234,567".
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// The period a page asked for, the default for anything else.
pub fn period_or_default(asked: Option<&str>) -> &'static str {
    PERIOD_CHOICES.iter().map(|(value, _)| *value).find(|value| Some(*value) == asked).unwrap_or(PERIOD_CHOICES[0].0)
}

/// One key's usage over `period` (`24h` or `30d`).
#[server(endpoint = "usage/key", input = server_fn::codec::GetUrl)]
pub async fn key_usage(org: String, id: String, period: Option<String>) -> Result<KeyUsageView, ApiError> {
    use crate::api::server_context::{internal, member_of, service};
    use crate::domain::clock::SharedClock;
    use crate::domain::usage::{UsageOf, series};
    let (_, access) = member_of(&org).await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let key = crate::domain::keys::manage::find_key(&db, &access.organisation.id, &id)
        .await
        .map_err(crate::api::keys::server::key_error)?;
    let period = period_or_default(period.as_deref());
    let range = server::range(period, clock.now());
    let buckets =
        series(&db, UsageOf::Key(&key.id), &range).await.map_err(|err| internal("reading key usage failed", &err))?;
    Ok(KeyUsageView {
        period: period.to_owned(),
        chart: server::chart(
            if period == "30d" { "Per day, last 30 days" } else { "Per hour, last 24 hours" },
            &range,
            &buckets,
        ),
        export: server::export_defaults(clock.now())?,
    })
}

/// The organisation's usage over `period`, with page `page` of its keys ranked by use.
#[server(endpoint = "usage/organisation", input = server_fn::codec::GetUrl)]
pub async fn organisation_usage(
    org: String,
    period: Option<String>,
    page: Option<u64>,
) -> Result<OrganisationUsageView, ApiError> {
    use crate::api::server_context::{internal, member_of, service};
    use crate::domain::clock::SharedClock;
    use crate::domain::usage::windows::totals_by_key_since;
    use crate::domain::usage::{UsageOf, series};
    let (_, access) = member_of(&org).await?;
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let now = clock.now();
    let period = period_or_default(period.as_deref());
    let range = server::range(period, now);
    let failed = |err: sea_orm::DbErr| internal("reading organisation usage failed", &err);
    let of = UsageOf::Organisation(&access.organisation.id);
    let organisation = access.organisation.id.as_str();
    // Independent reads: on a pool they run side by side. Only the keys the page names are read, so the
    // page costs the same for an organisation of ten thousand keys as for one of ten.
    let (buckets, totals, rolled, all_keys) = tokio::join!(
        series(&db, of, &range),
        totals_by_key_since(&db, organisation, range.granularity, range.first, now),
        crate::domain::keys::manage::rolled_in_grace(&db, organisation, now, server::MOST_ADVICE_CANDIDATES),
        crate::domain::keys::manage::count_keys(&db, organisation),
    );
    let (buckets, totals, rolled, all_keys) =
        (buckets.map_err(failed)?, totals.map_err(failed)?, rolled.map_err(failed)?, all_keys.map_err(failed)?);
    let ranked = server::ranked(totals);
    let page = page.unwrap_or(1).clamp(1, server::pages(&ranked));
    let mut wanted = server::named_keys(&ranked, page);
    wanted.extend(rolled.iter().filter_map(|key| key.rolled_into.clone()));
    let mut keys = crate::domain::keys::manage::keys_by_ids(&db, organisation, &wanted).await.map_err(failed)?;
    let successors: Vec<String> = keys
        .iter()
        .filter_map(|key| key.rolled_into.clone())
        .filter(|id| !keys.iter().any(|key| &key.id == id))
        .collect();
    keys.extend(crate::domain::keys::manage::keys_by_ids(&db, organisation, &successors).await.map_err(failed)?);
    keys.extend(rolled.into_iter().filter(|key| !wanted.contains(&key.id)));
    let title = if period == "30d" { "All keys, per day, last 30 days" } else { "All keys, per hour, last 24 hours" };
    let chart = server::chart(title, &range, &buckets);
    let mut view = server::organisation_view(period, chart, &keys, all_keys, &ranked, page, &access, now);
    view.export = server::export_defaults(now)?;
    Ok(view)
}

/// Every organisation's usage over `period`, for operators (404 for anyone else).
#[server(endpoint = "usage/operator", input = server_fn::codec::GetUrl)]
pub async fn operator_usage(period: Option<String>, page: Option<u64>) -> Result<OperatorUsageView, ApiError> {
    use crate::api::server_context::{internal, reject, service, signed_in};
    use crate::domain::clock::SharedClock;
    use crate::domain::usage::report::{organisation_summaries, recent_rejections, totals_by_organisation};
    use crate::domain::usage::{UsageOf, series};
    let account = signed_in().await?;
    if !account.is_operator {
        return Err(reject(ApiError::NotFound));
    }
    let db = service::<sea_orm::DatabaseConnection>()?;
    let clock = service::<SharedClock>()?;
    let now = clock.now();
    let period = period_or_default(period.as_deref());
    let range = server::range(period, now);
    let failed = |err: sea_orm::DbErr| internal("reading usage failed", &err);
    let (buckets, totals) = tokio::join!(series(&db, UsageOf::Everyone, &range), totals_by_organisation(&db, &range));
    let (buckets, totals) = (buckets.map_err(failed)?, totals.map_err(failed)?);
    let mut ranked = server::ranked(totals);
    let grand_total: u64 = ranked.iter().map(|(_, total, _)| *total).sum();
    let used_organisations = ranked.len() as u64;
    let pages = used_organisations.div_ceil(ROWS_PER_PAGE).max(1);
    let page = page.unwrap_or(1).clamp(1, pages);
    let start = usize::try_from((page - 1) * ROWS_PER_PAGE).unwrap_or(usize::MAX).min(ranked.len());
    let end = start.saturating_add(usize::try_from(ROWS_PER_PAGE).unwrap_or(usize::MAX)).min(ranked.len());
    ranked.truncate(end);
    let shown = ranked.split_off(start);
    let ids: Vec<String> = shown.iter().map(|(id, ..)| id.clone()).collect();
    let summaries = organisation_summaries(&db, &ids).await.map_err(failed)?;
    let organisations = shown
        .into_iter()
        .filter_map(|(id, total, counts)| {
            let (name, keys) = summaries.get(&id)?.clone();
            let rejected = total - crate::domain::usage::report::accepted(&counts);
            let share_permille = server::permille(total, grand_total);
            Some(OrganisationUseView { id, name, keys, total, rejected, share_permille })
        })
        .collect();
    let rejections = recent_rejections(&db, now - chrono::Duration::hours(23), 20)
        .await
        .map_err(failed)?
        .into_iter()
        .map(|r| RejectionView {
            when: r.hour.format("%-d %b, %H:00 UTC").to_string(),
            organisation: r.organisation_name,
            key_name: r.key_name,
            key_hint: r.key_hint,
            code: r.code.as_str().to_owned(),
            label: code_label(r.code.as_str()).to_owned(),
            count: r.count,
        })
        .collect();
    Ok(OperatorUsageView {
        period: period.to_owned(),
        chart: server::chart(
            if period == "30d" {
                "All organisations, per day, last 30 days"
            } else {
                "All organisations, per hour, last 24 hours"
            },
            &range,
            &buckets,
        ),
        organisations,
        page,
        pages,
        used_organisations,
        rejections,
    })
}

/// Building the views from the domain's numbers, on the server only.
#[cfg(feature = "ssr")]
pub(crate) mod server {
    use super::{
        AdviceView, BucketView, ChartView, CodeTotal, KeyUseView, OrganisationUsageView, ROWS_PER_PAGE, code_label,
    };
    use crate::api::keys::server::{key_view, when};
    use crate::domain::keys::manage::{ApiKey, KeyStatus};
    use crate::domain::organisations::Access;
    use crate::domain::usage::report::Counts;
    use crate::domain::usage::{Bucket, Granularity, Period};
    use crate::domain::verification::Code;
    use chrono::{DateTime, Utc};
    use std::collections::HashMap;

    /// The domain period for a period choice.
    pub fn range(period: &str, now: DateTime<Utc>) -> Period {
        if period == "30d" { Period::last_30_days(now) } else { Period::last_24_hours(now) }
    }

    /// The last 30 days, as dates, and how far back usage is kept.
    pub fn export_defaults(now: DateTime<Utc>) -> Result<super::ExportDefaults, crate::api::ApiError> {
        let retention = crate::api::server_context::service::<crate::domain::usage::Retention>()?;
        let date = |at: DateTime<Utc>| at.format("%Y-%m-%d").to_string();
        Ok(super::ExportDefaults {
            from: date(now - chrono::Duration::days(29)),
            to: date(now),
            hourly_days: retention.hourly.num_days(),
            daily_days: retention.daily.num_days(),
        })
    }

    /// `part` of `whole` in tenths of a percent.
    pub fn permille(part: u64, whole: u64) -> u64 {
        if whole == 0 { 0 } else { u64::try_from(u128::from(part) * 1000 / u128::from(whole)).unwrap_or(1000) }
    }

    /// The chart of `buckets`, which cover `period`, headed `title`, with its HTML.
    pub fn chart(title: &str, period: &Period, buckets: &[Bucket]) -> ChartView {
        let mut present: Vec<Code> = Code::ALL
            .into_iter()
            .filter(|code| *code == Code::Valid || buckets.iter().any(|b| b.counts.contains_key(code)))
            .collect();
        present.dedup();
        let codes = present
            .iter()
            .map(|code| CodeTotal {
                code: code.as_str().to_owned(),
                label: code_label(code.as_str()).to_owned(),
                total: buckets.iter().filter_map(|b| b.counts.get(code)).sum(),
            })
            .collect::<Vec<_>>();
        let bars = buckets
            .iter()
            .map(|bucket| {
                let (label, title, short_title) = labels(period.granularity, bucket.start);
                let counts = present.iter().map(|code| bucket.counts.get(code).copied().unwrap_or(0)).collect();
                BucketView { label, title, short_title, counts }
            })
            .collect();
        let mut chart = ChartView {
            title: title.to_owned(),
            html: String::new(),
            axis: match period.granularity {
                Granularity::Hour => "Hour (UTC)".to_owned(),
                Granularity::Day => "Day (UTC)".to_owned(),
            },
            total: codes.iter().map(|c| c.total).sum(),
            codes,
            buckets: bars,
        };
        chart.html = crate::ui::components::chart::render(&chart);
        chart
    }

    fn labels(granularity: Granularity, start: DateTime<Utc>) -> (String, String, String) {
        match granularity {
            Granularity::Hour => {
                let end = (start + granularity.step()).format("%H:00");
                (
                    start.format("%H:00").to_string(),
                    format!("{}–{end} UTC", start.format("%-d %b %Y, %H:00")),
                    format!("{}–{end}", start.format("%-d %b, %H:00")),
                )
            }
            Granularity::Day => (
                start.format("%-d %b").to_string(),
                start.format("%a %-d %b %Y (UTC)").to_string(),
                start.format("%a %-d %b").to_string(),
            ),
        }
    }

    /// Ids with their totals and counts, most used first (ties by id, so pages are stable).
    pub fn ranked(totals: HashMap<String, Counts>) -> Vec<(String, u64, Counts)> {
        let mut ranked: Vec<(String, u64, Counts)> = totals
            .into_iter()
            .map(|(id, counts)| (id, counts.values().sum(), counts))
            .filter(|(_, total, _)| *total > 0)
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        ranked
    }

    /// The most keys with refusals the overview reads to give advice from (advice shows the ten biggest).
    pub const MOST_ADVICE_CANDIDATES: u64 = 50;

    /// How many pages a ranking fills.
    pub fn pages(ranked: &[(String, u64, Counts)]) -> u64 {
        (ranked.len() as u64).div_ceil(ROWS_PER_PAGE).max(1)
    }

    fn on_page(ranked: &[(String, u64, Counts)], page: u64) -> impl Iterator<Item = &(String, u64, Counts)> {
        ranked
            .iter()
            .skip(usize::try_from((page - 1) * ROWS_PER_PAGE).unwrap_or(usize::MAX))
            .take(usize::try_from(ROWS_PER_PAGE).unwrap_or(usize::MAX))
    }

    /// The keys the overview names: those on ranking page `page`, and those with the most refusals that
    /// advice may be about.
    pub fn named_keys(ranked: &[(String, u64, Counts)], page: u64) -> Vec<String> {
        let mut refused: Vec<(&String, u64)> = ranked
            .iter()
            .map(|(id, total, counts)| (id, total - crate::domain::usage::report::accepted(counts)))
            .filter(|(_, refused)| *refused > 0)
            .collect();
        refused.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let mut ids: Vec<String> = on_page(ranked, page).map(|(id, ..)| id.clone()).collect();
        for (id, _) in refused.into_iter().take(usize::try_from(MOST_ADVICE_CANDIDATES).unwrap_or(usize::MAX)) {
            if !ids.contains(id) {
                ids.push(id.clone());
            }
        }
        ids
    }

    /// The organisation overview: ranking page `page` and advice from the ranked totals over `keys` (the
    /// keys [`named_keys`] names, rolled keys and their successors); `all_keys` counts every key.
    #[allow(clippy::too_many_arguments)]
    pub fn organisation_view(
        period: &str,
        chart: ChartView,
        keys: &[ApiKey],
        all_keys: u64,
        ranked: &[(String, u64, Counts)],
        page: u64,
        access: &Access,
        now: DateTime<Utc>,
    ) -> OrganisationUsageView {
        let by_id: HashMap<&str, &ApiKey> = keys.iter().map(|key| (key.id.as_str(), key)).collect();
        let grand_total: u64 = ranked.iter().map(|(_, total, _)| *total).sum();
        let used_keys = ranked.len() as u64;
        let pages = pages(ranked);
        let page = page.clamp(1, pages);
        let rows = on_page(ranked, page)
            .filter_map(|(id, total, counts)| {
                let key = by_id.get(id.as_str())?;
                let view = key_view(key, access, now);
                Some(KeyUseView {
                    id: key.id.clone(),
                    name: key.name.clone(),
                    hint: key.hint.clone(),
                    status: view.status,
                    total: *total,
                    accepted: crate::domain::usage::report::accepted(counts),
                    share_permille: permille(*total, grand_total),
                    last_used: view.last_used,
                })
            })
            .collect();
        let mut advice: Vec<AdviceView> = ranked
            .iter()
            .filter_map(|(id, _, counts)| by_id.get(id.as_str()).map(|key| (key, counts)))
            .flat_map(|(key, counts)| {
                counts.iter().filter_map(|(code, count)| advise(key, &by_id, *code, *count, access, now))
            })
            .collect();
        advice.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.key_name.cmp(&b.key_name)));
        advice.truncate(10);
        OrganisationUsageView {
            period: period.to_owned(),
            chart,
            keys: rows,
            page,
            pages,
            used_keys,
            all_keys,
            advice,
            export: super::ExportDefaults::default(),
        }
    }

    /// What `count` verifications of `key` with `code` tell the organisation to do, if anything.
    fn advise(
        key: &ApiKey,
        keys: &HashMap<&str, &ApiKey>,
        code: Code,
        count: u64,
        access: &Access,
        now: DateTime<Utc>,
    ) -> Option<AdviceView> {
        let times = match count {
            1 => "once".to_owned(),
            2 => "twice".to_owned(),
            n => format!("{} times", super::grouped(n)),
        };
        let successor = key.rolled_into.as_deref().and_then(|id| keys.get(id));
        let to_new_key = |successor: &ApiKey| format!("Update the caller to the new key “{}”.", successor.name);
        let (what, action, link) = match (code, key.status(now), successor) {
            (Code::Valid | Code::TokenIssued, KeyStatus::Rolled { valid_until }, Some(new)) => (
                format!("Rolled, but still used {times}. It stops working on {}.", when(valid_until)),
                to_new_key(new),
                new.id.clone(),
            ),
            (Code::Valid | Code::TokenIssued, ..) => return None,
            (Code::Expired, _, Some(new)) => (
                format!("Rolled and past its grace period, but called {times}: those calls fail."),
                to_new_key(new),
                new.id.clone(),
            ),
            (Code::Expired, ..) => (
                format!(
                    "Expired{}, but called {times}: those calls fail.",
                    key.expires_at.map(|at| format!(" on {}", when(at))).unwrap_or_default()
                ),
                "Create a new key and update the caller, or give this key a later expiry.".to_owned(),
                key.id.clone(),
            ),
            (Code::Revoked, ..) => (
                format!("Revoked, but called {times}: those calls fail."),
                "Find the caller and give it an active key; if nobody should have this key, it is doing its job."
                    .to_owned(),
                key.id.clone(),
            ),
            (Code::InsufficientScopes, ..) => (
                format!("Asked for a scope it does not have, {times}."),
                "Add the scope on the key's page, or have the caller use a key that has it.".to_owned(),
                key.id.clone(),
            ),
            (Code::IpNotAllowed, ..) => (
                format!(
                    "Used from an address outside its allowlist {times}{}.",
                    key.last_used_ip.as_deref().map(|ip| format!(" (last seen from {ip})")).unwrap_or_default()
                ),
                "Add the caller's network to the allowlist, or find out who else holds this key.".to_owned(),
                key.id.clone(),
            ),
            (Code::RateLimited, ..) => (
                format!(
                    "Over its rate limit {times}{}.",
                    key.rate_limit
                        .map(|rate| format!(" ({} per {} s)", rate.limit, rate.window_seconds))
                        .unwrap_or_default()
                ),
                "Raise the limit on the key's page, or slow the caller down.".to_owned(),
                key.id.clone(),
            ),
            (Code::Disabled, ..) => (
                format!("Refused {times} because the organisation is disabled."),
                "Contact the API provider.".to_owned(),
                key.id.clone(),
            ),
            (Code::Malformed | Code::NotFound, ..) => return None,
        };
        Some(AdviceView {
            key_id: key.id.clone(),
            key_name: key.name.clone(),
            code: code.as_str().to_owned(),
            count,
            what,
            action,
            link: format!("/o/{}/keys/{link}", access.organisation.id),
        })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn shares_are_in_tenths_of_a_percent_and_never_divide_by_zero() {
            assert_eq!(permille(1, 3), 333);
            assert_eq!(permille(5, 0), 0);
            assert_eq!(permille(u64::MAX, u64::MAX), 1000);
        }

        #[test]
        fn ranking_puts_the_most_used_first_and_leaves_out_the_unused() {
            let counts = |n| Counts::from([(Code::Valid, n)]);
            let totals = HashMap::from([
                ("b".to_owned(), counts(5)),
                ("a".to_owned(), counts(5)),
                ("c".to_owned(), counts(9)),
                ("d".to_owned(), counts(0)),
            ]);
            let ids: Vec<String> = ranked(totals).into_iter().map(|(id, ..)| id).collect();
            assert_eq!(ids, ["c", "a", "b"]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn unknown_periods_fall_back_to_the_last_24_hours() {
        assert_eq!(period_or_default(Some("30d")), "30d");
        assert_eq!(period_or_default(Some("1y")), "24h");
        assert_eq!(period_or_default(None), "24h");
    }
}
