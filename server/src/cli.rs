//! The command line.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

/// Latchkey: a self-hosted developer portal for API keys.
#[derive(Debug, Parser)]
#[command(name = "latchkey", version, about = "Latchkey: a self-hosted developer portal for API keys.")]
pub struct Cli {
    /// Read settings from this TOML file (environment variables still win).
    #[arg(long, global = true, env = "LATCHKEY_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log what a command does on stderr (at LATCHKEY_LOG's level). Without it, commands other than
    /// `serve` and `migrate` log only warnings and errors, and print only their result.
    #[arg(short, long, global = true)]
    pub verbose: bool,

    /// What to do; `serve` when omitted.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the process's arguments; `--help` lists every declared setting after the options. Exits on
    /// bad arguments, as clap does.
    pub fn parse_with_settings_help() -> Self {
        let command = Self::command().after_help(crate::config::declared::help_text());
        Self::from_arg_matches(&command.get_matches()).unwrap_or_else(|err| err.exit())
    }
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
    /// Find, create, disable and enable customer organisations.
    #[command(subcommand)]
    Organisation(OrganisationCommand),
    /// Manage the keys that sign the JWTs of POST /v1/tokens.
    #[command(subcommand)]
    SigningKey(SigningKeyCommand),
    /// The operator's webhook endpoints, which receive every organisation's events.
    #[command(subcommand)]
    Webhook(WebhookCommand),
    /// Secret scanning: what to register with a scanner so it finds this deployment's keys.
    #[command(subcommand)]
    SecretScanning(SecretScanningCommand),
    /// Copy a deployment (accounts, organisations, members, invitations, keys, service tokens, signing keys,
    /// activity, usage) into an empty
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

/// `latchkey organisation …`. Organisations are named by id or external id.
#[derive(Debug, Clone, Subcommand)]
pub enum OrganisationCommand {
    /// List organisations whose name, external id, member email, key id or key hint matches (all when no
    /// query is given).
    List {
        /// What to look for.
        query: Option<String>,
    },
    /// Create an organisation with no members yet and print its id.
    Create {
        /// Its name.
        #[arg(long)]
        name: String,
        /// The provider's own id for this customer.
        #[arg(long)]
        external_id: Option<String>,
    },
    /// Disable an organisation: its keys answer DISABLED at once here and within 2 s on every running
    /// instance; its members can still sign in but cannot create or change keys. Prints its id.
    Disable {
        /// The organisation's id or external id.
        organisation: String,
    },
    /// Enable a disabled organisation again. Prints its id.
    Enable {
        /// The organisation's id or external id.
        organisation: String,
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
        /// What it may do: verify, keys:read, keys:write, organisations:read, organisations:write (repeat for
        /// several).
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

/// `latchkey webhook …`.
#[derive(Debug, Clone, Subcommand)]
pub enum WebhookCommand {
    /// Registers an endpoint; prints its id and, once, its signing secret.
    Add {
        /// Where deliveries are posted (http or https).
        #[arg(long)]
        url: String,
        /// Event types it receives (repeat the flag); none for all. E.g. key.created, key.revoked, key.leaked.
        #[arg(long = "event", value_name = "TYPE")]
        events: Vec<String>,
        /// What it is for.
        #[arg(long, default_value = "")]
        description: String,
    },
    /// Lists the endpoints.
    List,
    /// Removes an endpoint with its queue and log.
    Remove {
        /// The endpoint's id.
        id: String,
    },
    /// Gives an endpoint a new signing secret (printed once); the old one signs too for the overlap.
    RotateSecret {
        /// The endpoint's id.
        id: String,
        /// How long the old secret keeps signing, e.g. 24h, 0s (at most 7 days).
        #[arg(long, default_value = "24h")]
        overlap: humantime::Duration,
    },
    /// Sends a webhook.test event to an endpoint (a running server delivers it).
    Test {
        /// The endpoint's id.
        id: String,
    },
}

/// `latchkey secret-scanning …`.
#[derive(Debug, Clone, Subcommand)]
pub enum SecretScanningCommand {
    /// Prints the regular expression that finds this deployment's keys.
    Pattern,
}
