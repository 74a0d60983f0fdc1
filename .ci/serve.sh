#!/usr/bin/env bash
# Builds the release binary and starts the portal on the embedded SQLite default (./latchkey.db).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/.ci/build.sh"
exec "$root/target/release/latchkey" serve
