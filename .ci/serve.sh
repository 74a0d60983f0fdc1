#!/usr/bin/env bash
# Starts the release binary on the embedded SQLite default (./latchkey.db). `make run` builds it first
# when any source is newer than it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ -x "$root/target/release/latchkey" ] || "$root/.ci/build.sh"
exec "$root/target/release/latchkey" serve
