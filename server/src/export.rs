//! `GET /usage/export.csv?org=…`: an organisation's usage (one key's, or all its keys') as a CSV download, for
//! its members (anyone else gets the same 404 as for a missing organisation).
//! A plain route rather than a server function: the browser downloads the answer as a file.

use crate::router::AppState;
use app::api::auth::encode_next;
use app::domain::bounds;
use app::domain::keys::manage::{KeyError, find_key, list_keys};
use app::domain::sessions::signed_in_account;
use app::domain::usage::report::{Counts, per_key_series};
use app::domain::usage::{Granularity, MAX_RANGE, Period, UsageOf, series};
use app::domain::verification::Code;
use axum::body::Body;
use axum::extract::{Query, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;
use std::collections::HashMap;
use tower_sessions::Session;

/// Longest range of a daily export.
pub const MAX_DAILY_RANGE: Duration = Duration::days(400);

/// The codes a stored key can be counted with, in the CSV's column order.
const COLUMNS: [Code; 8] = [
    Code::Valid,
    Code::TokenIssued,
    Code::Revoked,
    Code::Expired,
    Code::Disabled,
    Code::IpNotAllowed,
    Code::InsufficientScopes,
    Code::RateLimited,
];

/// The export form's fields.
#[derive(Debug, Deserialize)]
pub struct ExportQuery {
    /// The organisation.
    pub org: Option<String>,
    /// One key's id; none for every key of the organisation.
    pub key: Option<String>,
    /// First day, YYYY-MM-DD (UTC).
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (UTC), included.
    pub to: Option<String>,
    /// `day` (default) or `hour`.
    pub granularity: Option<String>,
}

/// Answers the CSV, or a plain-text 400 that says which field to fix.
pub async fn export_csv(
    State(state): State<AppState>,
    session: Session,
    RawQuery(raw): RawQuery,
    query: Result<Query<ExportQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let now = state.clock.now();
    let account = match signed_in_account(&session, &state.sessions, now).await {
        Ok(Some(account)) => account,
        Ok(None) => {
            let here = format!("/usage/export.csv?{}", raw.unwrap_or_default());
            return Redirect::to(&format!("/sign-in?next={}", encode_next(&here))).into_response();
        }
        Err(err) => {
            tracing::error!(error = %err, "session read failed");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; try again.");
        }
    };
    let Ok(Query(query)) = query else {
        return refuse(StatusCode::BAD_REQUEST, "The export link is malformed; use the form on the usage page.");
    };
    let period = match period_of(&query) {
        Ok(period) => period,
        Err(message) => return refuse(StatusCode::BAD_REQUEST, &message),
    };
    let organisation = query.org.as_deref().unwrap_or_default();
    let organisation = match app::domain::organisations::access(&state.db, organisation, &account).await {
        Ok(access) => access.organisation.id,
        Err(app::domain::organisations::OrganisationError::NotFound) => {
            return refuse(StatusCode::NOT_FOUND, "No such organisation, or you are not a member of it.");
        }
        Err(err) => {
            tracing::error!(error = %err, "membership check failed");
            return refuse(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; try again.");
        }
    };
    match stream_csv(&state, &organisation, query.key.as_deref().filter(|k| !k.is_empty()), &period).await {
        Ok((name, body)) => {
            let granularity = if period.granularity == Granularity::Hour { "hourly" } else { "daily" };
            let file = format!(
                "latchkey-usage-{name}-{granularity}-{}-{}.csv",
                period.first.format("%Y%m%d"),
                period.last.format("%Y%m%d")
            );
            let mut response = body.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(Failure::NoSuchKey) => refuse(StatusCode::NOT_FOUND, "No such key. It may have been deleted."),
        Err(Failure::Internal(err)) => {
            tracing::error!(error = %err, "usage export failed");
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "Something went wrong on our side; try again.")
        }
    }
}

fn refuse(status: StatusCode, message: &str) -> Response {
    (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], format!("Cannot export usage: {message}\n"))
        .into_response()
}

/// The period the form asked for, or what is wrong with it.
fn period_of(query: &ExportQuery) -> Result<Period, String> {
    let date = |field: &str, value: Option<&str>| {
        let value = value.map(str::trim).unwrap_or_default();
        let day = NaiveDate::parse_from_str(value, "%Y-%m-%d")
            .map_err(|_| format!("'{field}' must be a date like 2026-11-01 (got '{value}')."))?;
        if !bounds::date_in_range(day) {
            return Err(format!("'{field}' must be {} (got '{value}').", bounds::RANGE_TEXT));
        }
        Ok(day.and_time(chrono::NaiveTime::MIN).and_utc())
    };
    let from = date("from", query.from.as_deref())?;
    let to = date("to", query.to.as_deref())?;
    if from > to {
        return Err("'from' must not be after 'to'.".into());
    }
    let granularity = match query.granularity.as_deref().unwrap_or("day") {
        "day" => Granularity::Day,
        "hour" => Granularity::Hour,
        other => return Err(format!("'granularity' must be day or hour (got '{other}').")),
    };
    let days = to - from + Duration::days(1);
    match granularity {
        Granularity::Hour if days > MAX_RANGE => {
            Err("hourly exports cover at most 31 days; choose daily rows or fewer days.".into())
        }
        Granularity::Day if days > MAX_DAILY_RANGE => Err("daily exports cover at most 400 days.".into()),
        _ => Ok(Period::new(granularity, from, to + Duration::days(1) - granularity.step())),
    }
}

enum Failure {
    NoSuchKey,
    Internal(String),
}

impl From<sea_orm::DbErr> for Failure {
    fn from(err: sea_orm::DbErr) -> Self {
        Self::Internal(err.to_string())
    }
}

/// Buckets read and written at a time: an export of ten thousand keys over 31 days of hours is read six
/// hours (or seven days) at a time and streamed, so memory stays bounded whatever the organisation's size.
const HOURS_PER_PIECE: usize = 6;
const DAYS_PER_PIECE: usize = 7;

/// What one export covers: every bucket of one key, or the buckets with use of every key.
enum Rows {
    Key { id: String, name: String },
    Organisation { id: String, names: HashMap<String, String> },
}

/// The file's name part and its contents as a stream. What can be refused (a missing key) is refused before
/// the first byte; a database failure later ends the stream with an error, so the download fails instead of
/// looking complete.
async fn stream_csv(
    state: &AppState,
    organisation_id: &str,
    key_id: Option<&str>,
    period: &Period,
) -> Result<(String, Body), Failure> {
    let (name, rows) = match key_id {
        Some(key_id) => {
            let key = find_key(&state.db, organisation_id, key_id).await.map_err(|err| match err {
                KeyError::NotFound => Failure::NoSuchKey,
                other => Failure::Internal(other.to_string()),
            })?;
            (slug(&key.name), Rows::Key { id: key.id, name: key.name })
        }
        None => {
            let names = key_names(&state.db, organisation_id).await?;
            ("all-keys".to_owned(), Rows::Organisation { id: organisation_id.to_owned(), names })
        }
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(2);
    let (db, period) = (state.db.clone(), *period);
    tokio::spawn(async move {
        if let Err(failure) = write_pieces(&db, &rows, &period, &sender).await {
            let error = match failure {
                Failure::Internal(error) => error,
                Failure::NoSuchKey => "no such key".to_owned(),
            };
            tracing::error!(error, "usage export failed while streaming");
            let _ = sender.send(Err(std::io::Error::other("the export failed"))).await;
        }
    });
    let stream = futures::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (piece, receiver))
    });
    Ok((name, Body::from_stream(stream)))
}

/// Writes the header and every piece of the period to `sender`; stops quietly when the client has gone.
async fn write_pieces(
    db: &sea_orm::DatabaseConnection,
    rows: &Rows,
    period: &Period,
    sender: &tokio::sync::mpsc::Sender<Result<Vec<u8>, std::io::Error>>,
) -> Result<(), Failure> {
    let mut out = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["period_start_utc", "key_id", "key_name", "total"];
    header.extend(COLUMNS.iter().map(|code| code.as_str()));
    out.write_record(&header).map_err(|err| Failure::Internal(err.to_string()))?;
    let size = if period.granularity == Granularity::Hour { HOURS_PER_PIECE } else { DAYS_PER_PIECE };
    for piece in period.chunks(size) {
        match rows {
            Rows::Key { id, name } => {
                for bucket in series(db, UsageOf::Key(id), &piece).await? {
                    write_row(&mut out, bucket.start, id, name, &bucket.counts)?;
                }
            }
            Rows::Organisation { id, names } => {
                for bucket in per_key_series(db, UsageOf::Organisation(id), &piece).await? {
                    let name = names.get(&bucket.key_id).map_or("", String::as_str);
                    write_row(&mut out, bucket.start, &bucket.key_id, name, &bucket.counts)?;
                }
            }
        }
        let bytes = std::mem::replace(&mut out, csv::Writer::from_writer(Vec::new()))
            .into_inner()
            .map_err(|err| Failure::Internal(err.to_string()))?;
        if !bytes.is_empty() && sender.send(Ok(bytes)).await.is_err() {
            return Ok(());
        }
    }
    Ok(())
}

/// Every key's name by id (names of deleted keys are gone; their rows keep the id).
async fn key_names(
    db: &sea_orm::DatabaseConnection,
    organisation_id: &str,
) -> Result<HashMap<String, String>, Failure> {
    Ok(list_keys(db, organisation_id).await?.into_iter().map(|key| (key.id, key.name)).collect())
}

fn write_row(
    out: &mut csv::Writer<Vec<u8>>,
    start: chrono::DateTime<Utc>,
    key_id: &str,
    key_name: &str,
    counts: &Counts,
) -> Result<(), Failure> {
    let total: u64 = counts.values().sum();
    let mut record = vec![
        start.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        key_id.to_owned(),
        spreadsheet_safe(key_name),
        total.to_string(),
    ];
    record.extend(COLUMNS.iter().map(|code| counts.get(code).copied().unwrap_or(0).to_string()));
    out.write_record(&record).map_err(|err| Failure::Internal(err.to_string()))
}

/// Key names are the customer's text: one starting with `=`, `+`, `-` or `@` would run as a formula when
/// the file is opened in a spreadsheet, so it gets a leading apostrophe.
fn spreadsheet_safe(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{text}") } else { text.to_owned() }
}

/// A file-name-safe version of a key name.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' })
        .collect::<String>()
        .split('-')
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if slug.is_empty() { "key".to_owned() } else { slug }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(from: &str, to: &str, granularity: &str) -> ExportQuery {
        ExportQuery {
            org: None,
            key: None,
            from: Some(from.into()),
            to: Some(to.into()),
            granularity: Some(granularity.into()),
        }
    }

    #[test]
    fn export_periods_include_both_dates_and_refuse_what_cannot_be_served() {
        let days = period_of(&query("2026-11-01", "2026-11-30", "day")).expect("valid");
        assert_eq!(days.len(), 30);
        let hours = period_of(&query("2026-11-22", "2026-11-22", "hour")).expect("valid");
        assert_eq!(hours.len(), 24);
        let err = period_of(&query("2026-11-30", "2026-11-01", "day")).expect_err("backwards");
        assert!(err.contains("'from'"), "{err}");
        let err = period_of(&query("2026-01-01", "2026-11-30", "hour")).expect_err("too long");
        assert!(err.contains("31 days"), "{err}");
        let err = period_of(&query("yesterday", "2026-11-30", "day")).expect_err("not a date");
        assert!(err.contains("2026-11-01"), "{err}");
        let err = period_of(&query("2026-11-01", "2026-11-30", "week")).expect_err("granularity");
        assert!(err.contains("day or hour"), "{err}");
    }

    #[test]
    fn names_that_would_run_as_formulas_are_defused() {
        assert_eq!(spreadsheet_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(spreadsheet_safe("checkout"), "checkout");
        assert_eq!(slug("Checkout (prod)!"), "checkout-prod");
        assert_eq!(slug("🔑"), "key");
    }
}
