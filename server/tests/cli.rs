//! The `latchkey` binary as an operator's script runs it: a command prints its result on stdout and nothing
//! else unless asked (`-v`), and a command run where there is no deployment says so and makes none.

mod process;

use process::BINARY;
use std::process::{Command, Output};

/// Runs `latchkey args` in `dir` with no settings at all (the SQLite default, `./latchkey.db`).
fn latchkey(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BINARY)
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .output()
        .expect("run latchkey")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn commands_print_only_their_result_and_never_make_a_database_by_accident() {
    let dir = std::env::temp_dir().join(format!("latchkey-cli-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");

    let refused = latchkey(&dir, &["account", "create", "--email", "ops@example.com"]);
    assert!(!refused.status.success(), "no deployment here");
    assert!(text(&refused.stderr).contains("there is no Latchkey database"), "{}", text(&refused.stderr));
    assert!(refused.stdout.is_empty());
    assert_eq!(std::fs::read_dir(&dir).expect("dir").count(), 0, "no empty latchkey.db left behind");

    let migrated = latchkey(&dir, &["migrate"]);
    assert!(migrated.status.success(), "{}", text(&migrated.stderr));
    assert!(dir.join("latchkey.db").exists(), "migrate makes the deployment");

    let created = latchkey(&dir, &["account", "create", "--email", "ops@example.com"]);
    assert!(created.status.success(), "{}", text(&created.stderr));
    assert_eq!(text(&created.stdout).trim().len(), 36, "only the id: {}", text(&created.stdout));
    assert_eq!(text(&created.stderr), "", "nothing on stderr without -v");

    let token = latchkey(&dir, &["-v", "service-token", "create", "--name", "gateway", "--permission", "verify"]);
    assert!(token.status.success(), "{}", text(&token.stderr));
    assert_eq!(text(&token.stdout).lines().count(), 1, "still only the token on stdout");
    assert!(text(&token.stderr).contains("INFO"), "with -v, what it did: {}", text(&token.stderr));
    let _ = std::fs::remove_dir_all(dir);
}
