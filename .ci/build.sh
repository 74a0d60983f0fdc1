#!/usr/bin/env bash
# Builds the release binary with the browser bundle embedded: target/release/latchkey.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source .ci/tools.sh "$@"
# --precompress builds the bundle before the server (so it can be embedded) and adds .br/.gz copies.
cargo leptos build --release --precompress
