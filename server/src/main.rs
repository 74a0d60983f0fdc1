//! `latchkey`: the binary.

use latchkey_server::cli::{Cli, Command};
use latchkey_server::config::Settings;
use latchkey_server::{commands, run};
use std::io::Write;
use std::process::ExitCode;

// The hot path allocates a little per request on every core; mimalloc's per-thread heaps do that with
// less contention and less work than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_with_settings_help();
    let settings = match Settings::load(cli.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => return fail(&err),
    };
    let command = cli.command.unwrap_or_default();
    // A command's stdout is its result and stderr its problems: what it did is said only when asked (-v).
    let quiet = !cli.verbose && !matches!(command, Command::Serve | Command::Migrate);
    run::init_tracing(if quiet { "warn" } else { &settings.log }, settings.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => return fail(&err),
    };
    let outcome = runtime.block_on(async {
        match command {
            Command::Serve => run::serve(settings).await,
            Command::Migrate => run::migrate(&settings).await,
            Command::Account(command) => {
                commands::account(&settings, command, &mut std::io::stdin().lock(), &mut std::io::stdout()).await
            }
            Command::ServiceToken(command) => commands::service_token(&settings, command, &mut std::io::stdout()).await,
            Command::SigningKey(command) => commands::signing_key(&settings, command, &mut std::io::stdout()).await,
            Command::Organisation(command) => commands::organisation(&settings, command, &mut std::io::stdout()).await,
            Command::Webhook(command) => commands::webhook(&settings, command, &mut std::io::stdout()).await,
            Command::SecretScanning(command) => commands::secret_scanning(&settings, command, &mut std::io::stdout()),
            Command::CopyData { from, to } => {
                commands::copy_data(&settings, &from, to.as_deref(), &mut std::io::stdout()).await
            }
        }
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => fail(&err),
    }
}

/// One line on stderr, the channel an operator watches when start-up fails.
fn fail(err: &dyn std::fmt::Display) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "latchkey: {err}");
    ExitCode::FAILURE
}
