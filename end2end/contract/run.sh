#!/usr/bin/env bash
# The API contract test: starts the release binary on a throwaway SQLite database with a service token, a
# customer and an API key carrying every scope of the catalogue, then runs schemathesis against
# /v1/openapi.json with every check it has (see schemathesis.toml), the server at its shipped defaults.
# Fails on any finding. CONTRACT_EXAMPLES (40) sets how many requests are generated per operation and phase.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
binary="$root/target/release/latchkey"
venv="$root/end2end/.venv"
[ -x "$binary" ] || { echo "contract: $binary is missing; run make build first" >&2; exit 1; }
[ -x "$venv/bin/st" ] || { echo "contract: schemathesis is missing; source .ci/tools.sh first" >&2; exit 1; }

work="$(mktemp -d)"
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
base="http://127.0.0.1:$port"
cd "$work"
"$binary" migrate
# The customer's own organisation has the account's id.
org="$("$binary" account create --email customer@example.com)"
token="$("$binary" service-token create --name contract --permission verify --permission keys:read --permission keys:write \
  --permission organisations:read --permission organisations:write --permission portal --permission webhooks:write \
  --permission leaks:report)"
# An operator's webhook endpoint, so that listing finds one (nothing listens there: deliveries fail and wait).
"$binary" webhook add --url http://127.0.0.1:9/contract --description contract >/dev/null
# The shipped defaults, the per-address 401 limit among them: the fuzzer's requests without credentials
# soon get 429, and those with its working token or key are still answered.
LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn LATCHKEY_PORTAL_RETURN_ORIGINS=https://app.example.com "$binary" serve 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "$base/readyz" >/dev/null || { echo "contract: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }

scopes="$(curl -fsS "$base/v1/openapi.json" | python3 -c 'import json, sys
doc = json.load(sys.stdin)
print(json.dumps(doc["components"]["schemas"]["CreateKeyRequest"]["properties"]["scopes"]["items"]["enum"]))')"
# Creates a key with every scope; prints "<id> <key>".
new_key() {
  curl -fsS -X POST "$base/v1/keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"organisation\": \"$org\", \"name\": \"$1\", \"scopes\": $scopes}" |
    python3 -c 'import json, sys; answer = json.load(sys.stdin); print(answer["id"], answer["key"])'
}
read -r key_id _ < <(new_key contract)
read -r _ api_key < <(new_key tokens)
read -r roll_id _ < <(new_key roll)
read -r revoke_id _ < <(new_key revoke)

status=0
LATCHKEY_CONTRACT_ORG="$org" LATCHKEY_CONTRACT_API_KEY="$api_key" LATCHKEY_CONTRACT_KEY_ID="$key_id" LATCHKEY_CONTRACT_ROLL_ID="$roll_id" \
  LATCHKEY_CONTRACT_REVOKE_ID="$revoke_id" PYTHONPATH="$here" SCHEMATHESIS_HOOKS=hooks \
  "$venv/bin/st" --config-file "$here/schemathesis.toml" run "$base/v1/openapi.json" \
  --header "Authorization: Bearer $token" --seed 20261201 --workers 1 \
  --max-examples "${CONTRACT_EXAMPLES:-40}" || status=$?
if grep -q "panicked" "$work/server.log"; then
  echo "contract: a handler panicked:" >&2
  grep -A3 "panicked" "$work/server.log" >&2
  status=1
fi
exit "$status"
