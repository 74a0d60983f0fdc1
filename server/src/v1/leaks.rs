//! Leak reports: `POST /v1/leaks/github` speaks GitHub's secret scanning partner program (signed by GitHub,
//! no service token); `POST /v1/leaks` takes reports from the provider's own scanners (service token with
//! `leaks:report`). Each string is checked for our keys' shape and checksum, looked up by hash, and a key
//! found is marked leaked and, under the default policy, revoked at once.

use super::ApiState;
use super::error::{ApiError, ErrorBody};
use super::extract::{Caller, JsonBody, parse_json};
use super::keys::services;
use app::domain::activity::{Client, Origin};
use app::domain::leaks::github::Match;
use app::domain::leaks::{self, Finding, LeakReport};
use app::domain::service_tokens::Permission;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

/// Most strings in one report.
const MAX_REPORTS: usize = 1000;
/// Most reports one `POST /v1/leaks` takes: at their longest, however escaped, they fit its 4 MiB body.
const MAX_REPORTS_PER_CALL: usize = 100;

/// One string GitHub found, as it sends it.
#[derive(Debug, Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct GithubMatch {
    /// The string found.
    pub token: String,
    /// The pattern's name at GitHub.
    pub r#type: Option<String>,
    /// Where it was found.
    pub url: Option<String>,
    /// What was scanned (`content`, `commit`, `npm`, ...).
    pub source: Option<String>,
}

/// GitHub's label for one string.
#[derive(Debug, Serialize, ToSchema)]
pub struct GithubLabel {
    /// SHA-256 (hex) of the string, so the answer does not repeat it.
    pub token_hash: String,
    /// The type GitHub sent.
    pub token_type: String,
    /// `true_positive` for one of our keys, `false_positive` otherwise.
    #[schema(example = "true_positive")]
    pub label: &'static str,
}

fn label(finding: &Finding) -> &'static str {
    match finding {
        Finding::Ours { .. } => "true_positive",
        Finding::NotOurs => "false_positive",
    }
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

async fn act(state: &ApiState, origin: &Origin, source: &str, report: &LeakReport) -> Result<Finding, ApiError> {
    let finding = leaks::report(&state.db, services(state), state.events.leak_policy, origin, source, report).await?;
    if let Finding::Ours { key, first, revoked } = &finding {
        tracing::warn!(key = %key.id, organisation = %key.organisation_id, %source, url = %report.url, first, revoked, "a key was reported as found in public");
    }
    Ok(finding)
}

/// Take a report from GitHub's secret scanning: `[{token, type, url, source}]`, signed with
/// `Github-Public-Key-Identifier` and `Github-Public-Key-Signature` (ECDSA P-256, SHA-256, of the body).
#[utoipa::path(
    post,
    path = "/v1/leaks/github",
    tag = "leaks",
    request_body = Vec<GithubMatch>,
    params(
        ("Github-Public-Key-Identifier" = String, Header, description = "Which of GitHub's keys signed the body"),
        ("Github-Public-Key-Signature" = String, Header, description = "Base64 of the DER ECDSA signature of the body"),
    ),
    responses(
        (status = 200, description = "A label per string, in order", body = Vec<GithubLabel>),
        (status = 400, description = "Not a list of matches, or more than 1000", body = ErrorBody),
        (status = 413, description = "Body over 4 MiB (never for 100 reports within their lengths)", body = ErrorBody),
        (status = 401, description = "The signature is missing, made by an unknown key, or wrong; nothing was done", body = ErrorBody),
    )
)]
pub async fn github_report(
    State(state): State<ApiState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Vec<GithubLabel>>, ApiError> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    state
        .events
        .github_keys
        .verify(header("github-public-key-identifier"), header("github-public-key-signature"), &body)
        .await
        .map_err(|err| ApiError::unauthorized(format!("Not a report signed by GitHub: {err}.")))?;
    let matches: Vec<Match> = parse_json(&body).map_err(|refusal| ApiError::invalid(None, refusal.message))?;
    if matches.len() > MAX_REPORTS {
        return Err(ApiError::invalid(None, format!("At most {MAX_REPORTS} matches in one report.")));
    }
    let origin = Origin { actor: "GitHub secret scanning".into(), client: Client::default() };
    let mut labels = Vec::with_capacity(matches.len());
    for found in matches {
        let report = LeakReport { token: found.token.clone(), url: found.url.clone() };
        let finding = act(&state, &origin, "GitHub secret scanning", &report).await?;
        labels.push(GithubLabel {
            token_hash: token_hash(&found.token),
            token_type: found.token_type,
            label: label(&finding),
        });
    }
    Ok(Json(labels))
}

/// One string your scanner found.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakReportBody {
    /// The string found (up to 200 characters).
    #[schema(max_length = 200)]
    pub token: String,
    /// Where it was found (up to 2048 characters).
    #[schema(max_length = 2048)]
    #[serde(default)]
    pub url: String,
}

/// Strings your scanners found in public.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeaksRequest {
    /// 1 to 100 strings (send more in several reports).
    #[schema(min_items = 1, max_items = 100)]
    pub reports: Vec<LeakReportBody>,
}

/// What became of one string.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeakResult {
    /// SHA-256 (hex) of the string.
    pub token_hash: String,
    /// `true_positive` for one of our keys, `false_positive` otherwise.
    pub label: &'static str,
    /// The key's id, when it is one of ours.
    pub key_id: Option<String>,
    /// The key's organisation, when it is one of ours.
    pub organisation_id: Option<String>,
    /// This report revoked it.
    pub revoked: bool,
    /// It had been reported before.
    pub already_reported: bool,
}

/// The results, in the order of the reports.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeaksResponse {
    /// One per report.
    pub results: Vec<LeakResult>,
}

/// Report keys your own scanners found in public; each found key is marked leaked and, by the operator's
/// policy, revoked at once.
#[utoipa::path(
    post,
    path = "/v1/leaks",
    tag = "leaks",
    request_body = LeaksRequest,
    responses(
        (status = 200, description = "A result per report, in order", body = LeaksResponse),
        (status = 400, description = "A field was refused", body = ErrorBody),
        (status = 401, description = "No service token with `leaks:report`", body = ErrorBody),
        (status = 413, description = "Body over 4 MiB (never for 100 reports within their lengths)", body = ErrorBody),
        (status = 429, description = "`rate_limited`: credentials that do not work, from a client address that got too many 401 answers in the last minute (working ones are still answered); see `Retry-After`", body = ErrorBody),
    ),
    security(("service_token" = []))
)]
pub async fn report_leaks(
    State(state): State<ApiState>,
    caller: Caller,
    JsonBody(request): JsonBody<LeaksRequest>,
) -> Result<Json<LeaksResponse>, ApiError> {
    caller.require(Permission::LeaksReport)?;
    if request.reports.is_empty() || request.reports.len() > MAX_REPORTS_PER_CALL {
        return Err(ApiError::invalid(
            Some("reports"),
            format!("Send 1 to {MAX_REPORTS_PER_CALL} reports; send more in several calls."),
        ));
    }
    if let Some(index) = request.reports.iter().position(|report| report.token.chars().count() > 200) {
        return Err(
            ApiError::invalid(None, "A token is at most 200 characters.").with_field(format!("reports.{index}.token"))
        );
    }
    if let Some(index) = request.reports.iter().position(|report| report.url.chars().count() > 2048) {
        return Err(
            ApiError::invalid(None, "A URL is at most 2048 characters.").with_field(format!("reports.{index}.url"))
        );
    }
    let origin = caller.origin();
    let source = origin.actor.clone();
    let mut results = Vec::with_capacity(request.reports.len());
    for body in request.reports {
        let report = LeakReport { token: body.token, url: body.url };
        let finding = act(&state, &origin, &source, &report).await?;
        let (key_id, organisation_id, revoked, already_reported) = match &finding {
            Finding::Ours { key, first, revoked } => {
                (Some(key.id.clone()), Some(key.organisation_id.clone()), *revoked, !first)
            }
            Finding::NotOurs => (None, None, false, false),
        };
        results.push(LeakResult {
            token_hash: token_hash(&report.token),
            label: label(&finding),
            key_id,
            organisation_id,
            revoked,
            already_reported,
        });
    }
    Ok(Json(LeaksResponse { results }))
}
