#!/usr/bin/env bash
# Installs what building and testing Latchkey need, each only when it is missing or at the wrong version:
# the wasm32 target, cargo-leptos, wasm-bindgen-cli at the version Cargo.lock pins, cargo-nextest, the
# end2end npm packages (which carry a working wasm-opt), the PyPI packages of the contract test (in
# end2end/.venv) and, with --browser, Debian's Chromium.
# Source it (it exports PATH) or run it.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
want_browser=0
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=1 ;;
    *) echo "tools.sh: unknown option $arg (expected --browser)" >&2; exit 2 ;;
  esac
done

say() { printf '==> %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

export PATH="$HOME/.cargo/bin:$root/end2end/node_modules/.bin:$PATH"

command -v cargo >/dev/null || { echo "cargo is missing: install Rust with rustup first" >&2; exit 1; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

leptos_version=0.3.10
if [ "$(cargo leptos --version 2>/dev/null | awk '{print $2}')" != "$leptos_version" ]; then
  say "installing cargo-leptos $leptos_version (takes a while the first time)"
  cargo install cargo-leptos --version "$leptos_version" --locked
fi

# cargo-leptos needs the wasm-bindgen CLI of exactly the crate version in Cargo.lock; it would otherwise try
# to download one, which cannot work here.
bindgen_version="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$root/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$bindgen_version" ]; then
  say "installing wasm-bindgen-cli $bindgen_version"
  CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback cargo install wasm-bindgen-cli --version "=$bindgen_version"
fi

if ! command -v cargo-nextest >/dev/null; then
  say "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

# npm's binaryen provides wasm-opt for release builds (Debian's binaryen 108 breaks hydration).
command -v npm >/dev/null || { say "installing Node.js and npm"; as_root apt-get update; as_root apt-get install -y nodejs npm; }
if [ ! -f "$root/end2end/node_modules/.package-lock.json" ] || [ "$root/end2end/package-lock.json" -nt "$root/end2end/node_modules/.package-lock.json" ]; then
  say "installing the end2end npm packages"
  (cd "$root/end2end" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
fi

# PyPI's schemathesis for the API contract test, in a virtual environment of the project's own.
venv="$root/end2end/.venv"
requirements="$root/end2end/contract/requirements.txt"
if [ ! -f "$venv/.installed" ] || [ "$requirements" -nt "$venv/.installed" ]; then
  say "installing the contract test's PyPI packages into end2end/.venv"
  command -v python3 >/dev/null || { as_root apt-get update; as_root apt-get install -y python3; }
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    as_root apt-get update
    as_root apt-get install -y python3-venv
    python3 -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
  touch "$venv/.installed"
fi

if [ "$want_browser" -eq 1 ] && [ ! -x "${LATCHKEY_CHROMIUM:-/usr/bin/chromium}" ]; then
  say "installing Debian's chromium"
  as_root apt-get update
  as_root apt-get install -y chromium
fi
