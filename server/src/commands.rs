//! Operator commands: `latchkey account …`, `latchkey organisation …`, `latchkey service-token …`,
//! `latchkey signing-key …` and `latchkey copy-data`. Standard output carries only
//! the value asked for (an id, a token, a table), so scripts can capture it; logs go to stderr.

use crate::cli::{
    AccountCommand, OrganisationCommand, SecretScanningCommand, ServiceTokenCommand, SigningKeyCommand, WebhookCommand,
};
use crate::config::Settings;
use crate::config::redact_url;
use crate::run::{RunError, open_database_at, open_existing_database};
use app::domain::accounts::password::{Password, PasswordHasher};
use app::domain::accounts::{create_account, create_account_without_password};
use app::domain::clock::SystemClock;
use app::domain::copy::copy_deployment;
use app::domain::database::connect;
use app::domain::jwt::{self, KeyState};
use app::domain::service_tokens::{self, Permission};
use std::io::{BufRead, Write};

/// `latchkey account …`.
pub async fn account(
    settings: &Settings,
    command: AccountCommand,
    stdin: &mut impl BufRead,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let AccountCommand::Create { email, password_stdin, operator } = command;
    let db = open_existing_database(settings).await?;
    let clock = SystemClock;
    let account = if password_stdin {
        let mut line = String::new();
        stdin.read_line(&mut line)?;
        let password = Password::new(line.trim_end_matches(['\r', '\n']));
        let hasher = tokio::task::spawn_blocking(|| PasswordHasher::new(1))
            .await
            .map_err(|_| RunError::Hashing)?
            .map_err(|_| RunError::Hashing)?;
        create_account(&db, &hasher, &clock, &email, &password, operator).await
    } else {
        create_account_without_password(&db, &clock, &email, operator).await
    }
    .map_err(|err| RunError::Refused(format!("account not created: {err}")))?;
    writeln!(out, "{}", account.id)?;
    let _ = db.close().await;
    Ok(())
}

/// `latchkey service-token …`.
pub async fn service_token(
    settings: &Settings,
    command: ServiceTokenCommand,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let db = open_existing_database(settings).await?;
    let clock = SystemClock;
    match command {
        ServiceTokenCommand::Create { name, permissions } => {
            let permissions = permissions
                .iter()
                .map(|name| name.parse::<Permission>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|err| RunError::Refused(err.to_string()))?;
            let (token, plaintext) =
                service_tokens::create(&db, &clock, &settings.service_token_prefix, &name, &permissions)
                    .await
                    .map_err(|err| RunError::Refused(format!("service token not created: {err}")))?;
            tracing::info!(id = %token.id, name = %token.name, "service token created; it is shown once");
            writeln!(out, "{}", plaintext.expose())?;
        }
        ServiceTokenCommand::List => {
            let tokens = service_tokens::list(&db).await.map_err(|err| RunError::Refused(err.to_string()))?;
            writeln!(
                out,
                "{:<36}  {:<24}  {:<12}  {:<28}  {:<20}  STATUS",
                "ID", "NAME", "TOKEN", "PERMISSIONS", "CREATED"
            )?;
            for token in tokens {
                let permissions: Vec<&str> = token.permissions.iter().map(|p| p.as_str()).collect();
                let status = token
                    .revoked_at
                    .map_or_else(|| "active".to_owned(), |at| format!("revoked {}", at.format("%Y-%m-%d %H:%M")));
                writeln!(
                    out,
                    "{:<36}  {:<24}  {:<12}  {:<28}  {:<20}  {status}",
                    token.id,
                    token.name,
                    token.hint,
                    permissions.join(","),
                    token.created_at.format("%Y-%m-%d %H:%M UTC"),
                )?;
            }
        }
        ServiceTokenCommand::Revoke { id } => {
            let token =
                service_tokens::revoke(&db, &clock, &id).await.map_err(|err| RunError::Refused(err.to_string()))?;
            writeln!(out, "{}", token.id)?;
        }
    }
    let _ = db.close().await;
    Ok(())
}

/// `latchkey organisation …`.
pub async fn organisation(
    settings: &Settings,
    command: OrganisationCommand,
    out: &mut impl Write,
) -> Result<(), RunError> {
    use app::domain::activity::{Client, Origin};
    use app::domain::organisations::{self, NewOrganisation};
    let db = open_existing_database(settings).await?;
    let clock = SystemClock;
    // The operator audit log says who: the system user running the command, when known.
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_else(|_| "unknown".to_owned());
    let origin = Origin { actor: format!("command line (user {user})"), client: Client::default() };
    let refused = |err: &dyn std::fmt::Display| RunError::Refused(err.to_string());
    let disable = matches!(command, OrganisationCommand::Disable { .. });
    match command {
        OrganisationCommand::List { query } => {
            let found = organisations::find_for_operator(&db, query.as_deref().unwrap_or_default())
                .await
                .map_err(|err| refused(&err))?;
            writeln!(
                out,
                "{:<36}  {:<28}  {:<20}  {:>7}  {:>5}  STATUS",
                "ID", "NAME", "EXTERNAL ID", "MEMBERS", "KEYS"
            )?;
            for found in found {
                let org = &found.organisation;
                let status = if org.is_disabled() { "disabled" } else { "active" };
                writeln!(
                    out,
                    "{:<36}  {:<28}  {:<20}  {:>7}  {:>5}  {status}",
                    org.id,
                    org.name,
                    org.external_id.as_deref().unwrap_or("-"),
                    found.members,
                    found.keys
                )?;
            }
        }
        OrganisationCommand::Create { name, external_id } => {
            let new = NewOrganisation { name, external_id };
            let org = organisations::create(&db, &clock, &origin, &new, None).await.map_err(|err| refused(&err))?;
            writeln!(out, "{}", org.id)?;
        }
        OrganisationCommand::Disable { organisation } | OrganisationCommand::Enable { organisation } => {
            let org = organisations::find_by_id_or_external_id(&db, &organisation)
                .await
                .map_err(|_| RunError::Refused(format!("no organisation with id or external id '{organisation}'")))?;
            // This process caches no keys; running instances drop theirs when they read the change feed.
            let cache = app::domain::verification::KeyCache::default();
            let org = organisations::set_disabled(&db, &clock, &cache, &origin, &org.id, disable)
                .await
                .map_err(|err| refused(&err))?;
            tracing::info!(id = %org.id, disabled = org.is_disabled(), "organisation switched");
            writeln!(out, "{}", org.id)?;
        }
    }
    let _ = db.close().await;
    Ok(())
}

/// `latchkey signing-key …`.
pub async fn signing_key(
    settings: &Settings,
    command: SigningKeyCommand,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let db = open_existing_database(settings).await?;
    let now = chrono::Utc::now();
    let refused = |err: &dyn std::fmt::Display| RunError::Refused(err.to_string());
    match command {
        SigningKeyCommand::Rotate => {
            let rotation =
                jwt::rotate(&db, &settings.account_security.sealer, now).await.map_err(|err| refused(&err))?;
            tracing::info!(
                retired = rotation.retired.as_deref().unwrap_or("none"),
                current = %rotation.current,
                next = %rotation.next,
                "signing key rotated; running instances follow within a second"
            );
            writeln!(out, "{}", rotation.current)?;
        }
        SigningKeyCommand::List => {
            let keys = jwt::list(&db).await.map_err(|err| refused(&err))?;
            writeln!(out, "{:<43}  {:<6}  {:<20}  STATE", "KID", "ALG", "CREATED")?;
            for key in keys {
                let state = match key.state {
                    KeyState::Current => format!(
                        "current (signing since {})",
                        key.activated_at.unwrap_or(key.created_at).format("%Y-%m-%d %H:%M UTC")
                    ),
                    KeyState::Next => "next (published, signs after the next rotation)".to_owned(),
                    KeyState::Retired { published_until } if published_until > now => {
                        format!("retired (published until {})", published_until.format("%Y-%m-%d %H:%M UTC"))
                    }
                    KeyState::Retired { .. } => "retired (no longer published)".to_owned(),
                };
                writeln!(
                    out,
                    "{:<43}  {:<6}  {:<20}  {state}",
                    key.kid,
                    key.algorithm,
                    key.created_at.format("%Y-%m-%d %H:%M UTC")
                )?;
            }
        }
    }
    let _ = db.close().await;
    Ok(())
}

/// `latchkey copy-data`: copies the deployment at `from` into `to` (the configured database by default),
/// printing each table's row count.
pub async fn copy_data(
    settings: &Settings,
    from: &str,
    to: Option<&str>,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let to = to.unwrap_or(&settings.database_url);
    for url in [from, to] {
        if !(url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(RunError::Refused(format!("'{}' is neither a sqlite: nor a postgres:// URL", redact_url(url))));
        }
    }
    if from == to {
        return Err(RunError::Refused("--from and the target are the same database".into()));
    }
    let source = connect(from, &settings.pool).await.map_err(|err| RunError::Database {
        url: redact_url(from),
        reason: format!("cannot open the source: {err}"),
    })?;
    let target = open_database_at(settings, to).await?;
    let report =
        copy_deployment(&source, &target).await.map_err(|err| RunError::Refused(format!("nothing copied: {err}")))?;
    for (table, rows) in &report {
        writeln!(out, "{table:<16} {rows}")?;
    }
    tracing::info!(from = %redact_url(from), to = %redact_url(to), "deployment copied");
    let _ = source.close().await;
    let _ = target.close().await;
    Ok(())
}

/// The operator in the logs of what the CLI does.
fn cli_origin() -> app::domain::activity::Origin {
    app::domain::activity::Origin { actor: "operator (CLI)".into(), client: Default::default() }
}

/// `latchkey webhook …`.
pub async fn webhook(settings: &Settings, command: WebhookCommand, out: &mut impl Write) -> Result<(), RunError> {
    use app::domain::webhooks::endpoints::{self, Owner};
    use app::domain::webhooks::{NewEndpoint, deliveries};
    let db = open_existing_database(settings).await?;
    let clock = SystemClock;
    let sealer = &settings.account_security.sealer;
    let refused = |err: app::domain::webhooks::EndpointError| RunError::Refused(err.to_string());
    match command {
        WebhookCommand::Add { url, events, description } => {
            let new = NewEndpoint { url, description, event_types: events };
            let (endpoint, secret) =
                endpoints::create(&db, &clock, sealer, settings.webhook_targets, &cli_origin(), Owner::Operator, &new)
                    .await
                    .map_err(refused)?;
            tracing::info!(id = %endpoint.id, url = %endpoint.url, "webhook endpoint added; its secret is shown once");
            writeln!(out, "{}", endpoint.id)?;
            writeln!(out, "{}", secret.expose())?;
        }
        WebhookCommand::List => {
            writeln!(out, "{:<36}  {:<8}  {:<40}  EVENTS", "ID", "STATE", "URL")?;
            for endpoint in
                endpoints::list(&db, Owner::Operator).await.map_err(|err| RunError::Refused(err.to_string()))?
            {
                let events: Vec<&str> = endpoint.event_types.iter().map(|kind| kind.as_str()).collect();
                let state = if endpoint.disabled_at.is_some() { "paused" } else { "active" };
                let events = if events.is_empty() { "all".to_owned() } else { events.join(",") };
                writeln!(out, "{:<36}  {state:<8}  {:<40}  {events}", endpoint.id, endpoint.url)?;
            }
        }
        WebhookCommand::Remove { id } => {
            endpoints::delete(&db, &clock, &cli_origin(), Owner::Operator, &id).await.map_err(refused)?;
            tracing::info!(%id, "webhook endpoint removed");
        }
        WebhookCommand::RotateSecret { id, overlap } => {
            let overlap = chrono::Duration::from_std(*overlap)
                .map_err(|_| RunError::Refused("the overlap is at most 7 days".into()))?;
            let (_, secret) =
                endpoints::rotate_secret(&db, &clock, sealer, &cli_origin(), Owner::Operator, &id, overlap)
                    .await
                    .map_err(refused)?;
            writeln!(out, "{}", secret.expose())?;
        }
        WebhookCommand::Test { id } => {
            use app::domain::clock::Clock as _;
            let endpoint = endpoints::get(&db, Owner::Operator, &id).await.map_err(refused)?;
            let event = deliveries::send_test(&db, clock.now(), &endpoint, &cli_origin().actor)
                .await
                .map_err(|err| RunError::Refused(err.to_string()))?;
            writeln!(out, "{event}")?;
        }
    }
    let _ = db.close().await;
    Ok(())
}

/// `latchkey secret-scanning …`.
pub fn secret_scanning(
    settings: &Settings,
    command: SecretScanningCommand,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let SecretScanningCommand::Pattern = command;
    writeln!(out, "{}", app::domain::leaks::scanner_pattern(&settings.keys.prefix))?;
    Ok(())
}
