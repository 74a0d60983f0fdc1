#!/usr/bin/env bash
# The soak with faults (README: "Soak test"); not part of `make test`: it runs for minutes. Builds the
# release binary, makes a throwaway PostgreSQL database, runs soak.mjs against it and drops it; the
# instances' logs are kept in target/soak/.
#   SOAK_SECONDS (300), SOAK_KEYS (200), SOAK_CONCURRENCY (32),
#   SOAK_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test: the server; a database is made on it)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
source .ci/tools.sh
command -v redis-server >/dev/null || { echo "==> installing Debian's redis-server" >&2; as_root apt-get update; as_root apt-get install -y redis-server; }
make --no-print-directory build >&2

server="${SOAK_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
pg_isready -q -d "$server" || { echo "PostgreSQL at $server is not reachable (set SOAK_POSTGRES_URL)" >&2; exit 2; }
database="lk_soak_$$"
work="$(mktemp -d)"
# The instances' logs outlive the run, in target/soak/, for a look at what went wrong.
cleanup() {
  mkdir -p target/soak && cp "$work"/*.log target/soak/ 2>/dev/null || true
  psql -q -d "$server" -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
psql -q -d "$server" -c "CREATE DATABASE \"$database\"" >/dev/null
SOAK_DATABASE_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$server" "$database")"
export SOAK_DATABASE_URL SOAK_BINARY="$root/target/release/latchkey" SOAK_DIR="$work"
node end2end/soak/soak.mjs
