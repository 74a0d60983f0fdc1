//! The command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

const SETTINGS_HELP: &str = "\
Settings: environment variables, or the same keys in lower case without LATCHKEY_ in the
--config TOML file. The environment wins over the file.
  LATCHKEY_DATABASE_URL          sqlite://FILE?mode=rwc or postgres://USER:PASSWORD@HOST/DB
                                 [default: sqlite://latchkey.db?mode=rwc, in the working directory]
  LATCHKEY_DATABASE_MAX_CONNECTIONS  connections in the pool, 1-1000 [default: 10]
  LATCHKEY_DATABASE_CONNECT_TIMEOUT  wait for the database to accept a connection [default: 5s]
  LATCHKEY_DATABASE_ACQUIRE_TIMEOUT  wait for a free pooled connection [default: 5s]
  LATCHKEY_DATABASE_IDLE_TIMEOUT     close a connection unused this long [default: 10m]
  LATCHKEY_DATABASE_LISTEN       PostgreSQL: listen for key change notifications; false behind a
                                 pooler in transaction mode [default: true]
  LATCHKEY_CHANGE_POLL_INTERVAL  read the key change feed this often, 50ms-1s [default: 1s]
  LATCHKEY_REDIS_URL             redis://HOST:6379 to share rate limits between instances
                                 [default: none; each instance limits on its own]
  LATCHKEY_ADDR                  address to listen on [default: 127.0.0.1:3000]
  LATCHKEY_PUBLIC_URL            the origin browsers use, e.g. https://keys.example.com
                                 https: Secure cookies and HSTS; http only for localhost.
                                 Required unless LATCHKEY_ADDR is a loopback address.
  LATCHKEY_LOG                   tracing filter, e.g. info or debug [default: info]
  LATCHKEY_SESSION_IDLE_TIMEOUT  sign out after this long unused, e.g. 30m [default: 12h]
  LATCHKEY_SESSION_LIFETIME      sign out this long after sign-in, however busy [default: 7d]
  LATCHKEY_KEY_PREFIX            API key prefix, 2-12 of a-z 0-9 [default: lk]
  LATCHKEY_MAX_KEYS_PER_ACCOUNT  live keys one account may hold [default: 100]
  LATCHKEY_MAX_KEY_LIFETIME      longest expiry a key may get, e.g. 90d [default: none]
  LATCHKEY_SCOPES                scope catalogue as name=description;name=description
                                 (in the file: [[scopes]] tables) [default: an example catalogue]
  LATCHKEY_SERVICE_TOKEN_PREFIX  service token prefix, unlike the key prefix [default: lksvc]
  LATCHKEY_TOKEN_TTL             longest (and default) life of a JWT from POST /v1/tokens,
                                 10s-15m [default: 15m]
  LATCHKEY_TOKEN_AUDIENCES       comma-separated audiences JWTs may be issued for, the first
                                 the default [default: any audience; LATCHKEY_PUBLIC_URL]
  LATCHKEY_CONFIG                the TOML settings file, like --config";

/// Latchkey: a self-hosted developer portal for API keys.
#[derive(Debug, Parser)]
#[command(
    name = "latchkey",
    version,
    about = "Latchkey: a self-hosted developer portal for API keys.",
    after_help = SETTINGS_HELP
)]
pub struct Cli {
    /// Read settings from this TOML file (environment variables still win).
    #[arg(long, global = true, env = "LATCHKEY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Clone, Default, Subcommand)]
pub enum Command {
    /// Apply pending migrations, then serve the portal and the API (the default).
    #[default]
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage the service tokens the provider's services present to the /v1 API.
    #[command(subcommand)]
    ServiceToken(ServiceTokenCommand),
    /// Manage the keys that sign the JWTs of POST /v1/tokens.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// Copy a deployment (accounts, keys, service tokens, signing keys, activity, usage) into an empty
    /// database, e.g. from SQLite to PostgreSQL. Stop the old deployment first. The target is
    /// LATCHKEY_DATABASE_URL unless --to is given; it is migrated first.
    CopyData {
        /// The database to copy from, e.g. sqlite://latchkey.db
        #[arg(long, value_name = "URL")]
        from: String,
        /// The database to copy into [default: LATCHKEY_DATABASE_URL]
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
}

/// `latchkey account …`.
#[derive(Debug, Clone, Subcommand)]
pub enum AccountCommand {
    /// Create an account and print its id. Without --password-stdin it cannot sign in to the portal; its
    /// keys are managed through the API.
    Create {
        /// The account's email address.
        #[arg(long)]
        email: String,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
        /// Give the account the operator pages.
        #[arg(long)]
        operator: bool,
    },
}

/// `latchkey signing-key …`.
#[derive(Debug, Clone, Subcommand)]
pub enum SigningKeyCommand {
    /// Start signing with the published next key and publish a new next key. The old key stops signing
    /// and stays in the JWKS until every token it signed has expired. Prints the new current key's id.
    Rotate,
    /// List the signing keys (never their private halves).
    List,
}

/// `latchkey service-token …`.
#[derive(Debug, Clone, Subcommand)]
pub enum ServiceTokenCommand {
    /// Create a token and print it, once.
    Create {
        /// A name that says which service uses it.
        #[arg(long)]
        name: String,
        /// What it may do: verify, keys:read, keys:write (repeat for several).
        #[arg(long = "permission", value_name = "PERMISSION", required = true)]
        permissions: Vec<String>,
    },
    /// List tokens (never their secret).
    List,
    /// Revoke a token by id, at once.
    Revoke {
        /// The token's id, from `service-token list`.
        id: String,
    },
}
