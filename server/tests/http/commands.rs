//! The operator CLI, run against a SQLite file the way an operator would.

use latchkey_server::cli::{AccountCommand, ServiceTokenCommand, SigningKeyCommand};
use latchkey_server::commands::{account, service_token, signing_key};
use latchkey_server::config::Settings;

fn unmigrated(dir: &std::path::Path) -> Settings {
    let mut settings = Settings::load(None).expect("defaults");
    settings.database_url = format!("sqlite://{}?mode=rwc", dir.join("latchkey.db").display());
    settings
}

/// The settings of a deployment in `dir`, made as an operator makes one (`latchkey migrate`).
async fn settings(dir: &std::path::Path) -> Settings {
    let settings = unmigrated(dir);
    latchkey_server::run::migrate(&settings).await.expect("migrated");
    settings
}

fn temp_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("latchkey-cli-{}", uuid_like()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn uuid_like() -> String {
    format!(
        "{}-{:?}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos())
    )
}

#[tokio::test]
async fn account_create_prints_only_the_id_and_the_password_from_stdin_works() {
    let dir = temp_dir();
    let settings = settings(&dir).await;
    let mut out = Vec::new();
    let mut stdin = "correct horse battery staple\n".as_bytes();
    let command = AccountCommand::Create { email: "Ops@Example.com".into(), password_stdin: true, operator: true };
    account(&settings, command, &mut stdin, &mut out).await.expect("created");
    let id = String::from_utf8(out).expect("utf8");
    assert_eq!(id.trim().len(), 36, "only the id: {id:?}");
    assert_eq!(id.lines().count(), 1);

    let again = AccountCommand::Create { email: "ops@example.com".into(), password_stdin: false, operator: false };
    let err = account(&settings, again, &mut "".as_bytes(), &mut Vec::new()).await.expect_err("duplicate");
    assert!(err.to_string().contains("already exists"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn service_tokens_are_created_listed_and_revoked_from_the_command_line() {
    let dir = temp_dir();
    let settings = settings(&dir).await;
    let mut out = Vec::new();
    let create =
        ServiceTokenCommand::Create { name: "gateway".into(), permissions: vec!["verify".into(), "keys:read".into()] };
    service_token(&settings, create, &mut out).await.expect("created");
    let token = String::from_utf8(out).expect("utf8").trim().to_owned();
    assert!(token.starts_with("lksvc_") && token.len() == "lksvc_".len() + 49, "{token}");

    let mut listing = Vec::new();
    service_token(&settings, ServiceTokenCommand::List, &mut listing).await.expect("listed");
    let listing = String::from_utf8(listing).expect("utf8");
    assert!(
        listing.contains("gateway") && listing.contains("verify,keys:read") && listing.contains("active"),
        "{listing}"
    );
    assert!(!listing.contains(&token[6..]), "the list never shows the secret");
    let id = listing.lines().nth(1).and_then(|line| line.split_whitespace().next()).expect("id").to_owned();

    service_token(&settings, ServiceTokenCommand::Revoke { id: id.clone() }, &mut Vec::new()).await.expect("revoked");
    let mut after = Vec::new();
    service_token(&settings, ServiceTokenCommand::List, &mut after).await.expect("listed");
    assert!(String::from_utf8(after).expect("utf8").contains("revoked"));

    let bad = ServiceTokenCommand::Create { name: "x".into(), permissions: vec!["admin".into()] };
    let err = service_token(&settings, bad, &mut Vec::new()).await.expect_err("refused");
    assert!(err.to_string().contains("unknown permission 'admin'"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn signing_key_rotate_prints_the_new_key_and_list_shows_each_keys_state() {
    let dir = temp_dir();
    let settings = settings(&dir).await;
    let mut first = Vec::new();
    signing_key(&settings, SigningKeyCommand::Rotate, &mut first).await.expect("rotated");
    let first = String::from_utf8(first).expect("utf8").trim().to_owned();
    assert_eq!(first.len(), 43, "only the new key's id: {first:?}");
    let mut second = Vec::new();
    signing_key(&settings, SigningKeyCommand::Rotate, &mut second).await.expect("rotated again");
    let second = String::from_utf8(second).expect("utf8").trim().to_owned();
    assert_ne!(first, second);

    let mut listing = Vec::new();
    signing_key(&settings, SigningKeyCommand::List, &mut listing).await.expect("listed");
    let listing = String::from_utf8(listing).expect("utf8");
    let line_of = |kid: &str| listing.lines().find(|line| line.starts_with(kid)).unwrap_or_default().to_owned();
    assert!(line_of(&second).contains("current (signing since"), "{listing}");
    assert!(line_of(&first).contains("retired (published until"), "{listing}");
    assert_eq!(listing.lines().filter(|line| line.contains("next (published")).count(), 1, "{listing}");
    assert!(!listing.contains("PRIVATE"), "{listing}");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_command_run_where_there_is_no_database_says_so_and_creates_none() {
    let dir = temp_dir();
    let settings = unmigrated(&dir);
    let command = AccountCommand::Create { email: "ops@example.com".into(), password_stdin: false, operator: false };
    let err = account(&settings, command, &mut "".as_bytes(), &mut Vec::new()).await.expect_err("no database");
    assert!(err.to_string().contains("there is no Latchkey database"), "{err}");
    assert!(err.to_string().contains("latchkey migrate"), "and how to make one: {err}");
    let create = ServiceTokenCommand::Create { name: "gateway".into(), permissions: vec!["verify".into()] };
    assert!(service_token(&settings, create, &mut Vec::new()).await.is_err());
    assert!(signing_key(&settings, SigningKeyCommand::List, &mut Vec::new()).await.is_err());
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert!(left.is_empty(), "nothing was created: {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}
