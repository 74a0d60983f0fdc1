#!/usr/bin/env bash
# Builds the release binary with the browser bundle embedded: target/release/latchkey.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source .ci/tools.sh "$@"
# --precompress builds the bundle before the server (so it can be embedded) and adds .br/.gz copies.
# --split puts each island (`#[island(lazy)]`) in wasm of its own, loaded only by pages that show it.
cargo leptos build --release --precompress --split
