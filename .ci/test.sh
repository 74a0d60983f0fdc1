#!/usr/bin/env bash
# Runs every check and test: formatting, clippy for the server and the wasm builds, unit and integration
# tests on SQLite and PostgreSQL (several instances on one database, rate limits shared through Redis), and the Playwright suite in Chromium against the release binary.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source .ci/tools.sh --browser

step() { printf '\n==> %s\n' "$*" >&2; }

step "format"
cargo fmt --all --check

step "clippy: server build (ssr)"
cargo clippy --locked -p migrations -p server -p http-floor --all-targets -- -D warnings
cargo clippy --locked -p app --features ssr,testing --all-targets -- -D warnings

step "clippy: browser build (wasm32, hydrate)"
cargo clippy --locked -p app -p frontend --features app/hydrate --target wasm32-unknown-unknown -- -D warnings

step "PostgreSQL for the tests"
export LATCHKEY_TEST_POSTGRES_URL="${LATCHKEY_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
export LATCHKEY_TEST_REQUIRE_POSTGRES=1
if ! pg_isready -q -d "$LATCHKEY_TEST_POSTGRES_URL" 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  fi
  for _ in $(seq 1 30); do pg_isready -q -d "$LATCHKEY_TEST_POSTGRES_URL" && break; sleep 1; done
  pg_isready -d "$LATCHKEY_TEST_POSTGRES_URL" || { echo "PostgreSQL is not reachable at $LATCHKEY_TEST_POSTGRES_URL" >&2; exit 1; }
fi
# Databases left by an interrupted earlier run.
psql -q -d "$LATCHKEY_TEST_POSTGRES_URL" -At -c "SELECT datname FROM pg_database WHERE datname LIKE 'lk\_test\_%'" |
  while read -r db; do psql -q -d "$LATCHKEY_TEST_POSTGRES_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)"; done

step "Redis for the shared rate limit tests"
export LATCHKEY_TEST_REDIS_URL="${LATCHKEY_TEST_REDIS_URL:-redis://127.0.0.1:6379}"
export LATCHKEY_TEST_REQUIRE_REDIS=1
redis_up() { (exec 3<>/dev/tcp/127.0.0.1/6379 && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG) 2>/dev/null; }
# The outage test starts and stops a Redis of its own, so the server binary is needed even when one runs.
if ! command -v redis-server >/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then apt-get update && apt-get install -y redis-server; else sudo apt-get update && sudo apt-get install -y redis-server; fi
fi
if [ "$LATCHKEY_TEST_REDIS_URL" = "redis://127.0.0.1:6379" ] && ! redis_up; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 30); do redis_up && break; sleep 1; done
  redis_up || { echo "Redis is not reachable at $LATCHKEY_TEST_REDIS_URL" >&2; exit 1; }
fi

step "unit and integration tests (SQLite, PostgreSQL, Redis)"
# app is tested with ssr alone: the workspace-wide build would merge ssr and hydrate into one that never ships.
cargo nextest run --locked -p app --features ssr,testing
cargo nextest run --locked -p migrations -p server

step "release build"
make --no-print-directory build

step "API contract test (schemathesis against the release binary)"
end2end/contract/run.sh

step "browser tests (Playwright, Chromium)"
cd end2end
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npx playwright test
