#!/usr/bin/env bash
# The verification benchmark: builds the release binary, then for each database (a throwaway SQLite file,
# and a throwaway PostgreSQL database when the server is reachable) starts it, creates a service token and
# a key, and drives GET /healthz and POST /v1/keys/verify with the same wrk settings, alternating, for
# several rounds. Prints requests/s, p50, p99 and server CPU µs per request for each, and per database the
# verify/healthz throughput ratio (target: ≥ 0.8, verify p99 ≤ 2 ms). Then, at each fixed rate, oha
# (which holds the rate and corrects for coordinated omission) drives both endpoints in turn: p50, p99 and
# CPU µs per request, and the verify/healthz ratios of p99 (target ≤ 1.5) and of CPU per request (≤ 1.15).
# Last, the same fixed-rate runs against the HTTP floor (server/floor: the same two request
# shapes and answer bytes, served by axum with none of Latchkey's work), which prices the request's shape alone.
#   BENCH_SECONDS (10), BENCH_ROUNDS (2), BENCH_CONNECTIONS (64), BENCH_THREADS (1),
#   BENCH_RATES ("10000 30000"; empty skips the fixed-rate runs),
#   BENCH_DATABASES ("sqlite postgres"), BENCH_POSTGRES_URL (postgres://postgres@127.0.0.1:5432/test),
#   BENCH_FLOOR (1; 0 skips the floor)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
seconds="${BENCH_SECONDS:-10}"
rounds="${BENCH_ROUNDS:-2}"
connections="${BENCH_CONNECTIONS:-64}"
threads="${BENCH_THREADS:-1}"
databases="${BENCH_DATABASES:-sqlite postgres}"
rates="${BENCH_RATES-10000 30000}"
postgres_server="${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
floor="${BENCH_FLOOR:-1}"

source .ci/tools.sh
if ! command -v wrk >/dev/null; then
  echo "==> installing Debian's wrk" >&2
  if [ "$(id -u)" -eq 0 ]; then apt-get update -qq && apt-get install -y -qq wrk; else sudo apt-get update -qq && sudo apt-get install -y -qq wrk; fi
fi
if [ -n "$rates" ] && ! command -v oha >/dev/null; then
  echo "==> installing oha 1.16.0 (the fixed-rate load generator) with cargo" >&2
  cargo install oha --locked --version 1.16.0
fi
make --no-print-directory build >&2
if [ -n "$rates" ] && [ "$floor" = 1 ]; then
  cargo build --release --locked -p http-floor >&2
fi

work="$(mktemp -d)"
server_pid=""
pg_database=""
# Set by each database's run: the server's address, the service token, the verify body and its answer.
base="" token="" body="" answer=""
stop_server() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; wait 2>/dev/null || true; server_pid=""; }
drop_pg() { [ -n "$pg_database" ] && psql -q -d "$postgres_server" -c "DROP DATABASE IF EXISTS \"$pg_database\" WITH (FORCE)" >/dev/null 2>&1; pg_database=""; }
cleanup() { stop_server; drop_pg; rm -rf "$work"; }
trap cleanup EXIT
binary="$root/target/release/latchkey"

ticks_per_second="$(getconf CLK_TCK)"
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server_pid/stat"; }

# One wrk run: prints "requests_per_second p50_ms p99_ms cpu_us_per_request non_2xx".
measure() {
  local url="$1"; shift
  local before after out
  before="$(cpu_ticks)"
  out="$(wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$@" "$url")"
  after="$(cpu_ticks)"
  python3 - "$before" "$after" "$ticks_per_second" "$out" <<'PY'
import re, sys
before, after, hz = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = sys.argv[4]
def ms(label):
    m = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    value, unit = float(m.group(1)), m.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
total = int(re.search(r"(\d+) requests in", out).group(1))
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
errors = re.search(r"Socket errors: (.*)", out)
cpu_us = (after - before) * 1e6 / hz / max(total, 1)
print(f"{rps:.0f} {ms('50'):.3f} {ms('99'):.3f} {cpu_us:.1f} {int(bad.group(1)) if bad else 0}{' socket-errors' if errors else ''}")
PY
}

# One oha run at a fixed rate: prints "requests_per_second p50_ms p99_ms cpu_us_per_request non_2xx".
measure_rate() {
  local rate="$1" url="$2"; shift 2
  local before after out
  before="$(cpu_ticks)"
  out="$(oha --no-tui --output-format json -q "$rate" --latency-correction -w -c "$connections" -z "${seconds}s" "$@" "$url")"
  after="$(cpu_ticks)"
  python3 - "$before" "$after" "$ticks_per_second" "$out" <<'PY'
import json, sys
before, after, hz = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
out = json.loads(sys.argv[4])
codes = out.get("statusCodeDistribution", {})
total = sum(codes.values())
bad = total - codes.get("200", 0) + sum(out.get("errorDistribution", {}).values())
p = out["latencyPercentiles"]
cpu_us = (after - before) * 1e6 / hz / max(total, 1)
print(f"{out['summary']['requestsPerSec']:.0f} {p['p50'] * 1000:.3f} {p['p99'] * 1000:.3f} {cpu_us:.1f} {bad}")
PY
}

# Waits until $1/healthz answers; otherwise prints the log $2 and stops, naming $3.
await_server() {
  for _ in $(seq 1 100); do curl -fsS "$1/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
  curl -fsS "$1/healthz" >/dev/null || { echo "$3 did not start:" >&2; cat "$2" >&2; exit 1; }
}

# oha at each of $rates on $base's /healthz and verify (with $token and $body), printing a table and
# appending "label endpoint rps p50 p99 cpu rate" to the file $3. $1 is the label, $2 the table's title.
fixed_rate_runs() {
  local label="$1" title="$2" out="$3" rate endpoint line rps p50 p99 cpu bad
  echo
  echo "$title: oha -c$connections at fixed rates, ${seconds}s per run, latency corrected for coordinated omission"
  printf '%-8s %-22s %12s %9s %9s %14s\n' rate endpoint "requests/s" "p50 ms" "p99 ms" "CPU µs/req"
  for rate in $rates; do
    for endpoint in healthz verify; do
      if [ "$endpoint" = healthz ]; then
        line="$(measure_rate "$rate" "$base/healthz")"
      else
        line="$(measure_rate "$rate" "$base/v1/keys/verify" -m POST -T application/json -H "Authorization: Bearer $token" -d "$body")"
      fi
      read -r rps p50 p99 cpu bad <<<"$line"
      [ "$bad" = 0 ] || { echo "$title: $endpoint at $rate/s: $bad requests failed or were not 200" >&2; exit 1; }
      printf '%-8s %-22s %12s %9s %9s %14s\n' "$rate" "$([ "$endpoint" = healthz ] && echo 'GET /healthz' || echo 'POST /v1/keys/verify')" "$rps" "$p50" "$p99" "$cpu"
      echo "$label $endpoint $rps $p50 $p99 $cpu $rate" >>"$out"
    done
  done
}

# Starts the server on $LATCHKEY_DATABASE_URL with a fresh key, benchmarks it, and stops it.
bench_database() {
  local label="$1" dir="$work/$1"
  mkdir -p "$dir"
  local port key org
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  (cd "$dir" && "$binary" migrate)
  # The customer's own organisation has the account's id; the key belongs to it.
  org="$(cd "$dir" && "$binary" account create --email bench@example.com)"
  token="$(cd "$dir" && "$binary" service-token create --name bench --permission verify --permission keys:write)"
  # Request logging is per request on both endpoints; keep it off so the log writer is not what is measured.
  (cd "$dir" && LATCHKEY_ADDR="127.0.0.1:$port" LATCHKEY_LOG=warn exec "$binary" serve 2>"$dir/server.log") &
  server_pid=$!
  await_server "$base" "$dir/server.log" "the server"

  key="$(curl -fsS -X POST "$base/v1/keys" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d "{\"organisation\": \"$org\", \"name\": \"bench\", \"scopes\": [\"orders:read\"]}" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])')"
  body="{\"key\": \"$key\", \"scopes\": [\"orders:read\"], \"ip\": \"203.0.113.7\"}"
  answer="$(curl -fsS -X POST "$base/v1/keys/verify" -H "Authorization: Bearer $token" -d "$body")"
  case "$answer" in *'"code":"VALID"'*) ;; *) echo "verify did not answer VALID: $answer" >&2; exit 1 ;; esac
  # $token, $body and $answer stay set after this run: the floor sends and answers the same bytes.

  cat >"$dir/verify.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA

  echo
  echo "$label: wrk -t$threads -c$connections, ${seconds}s per run, $rounds rounds, $(nproc) cores shared by wrk and the server"
  printf '%-6s %-22s %12s %9s %9s %14s\n' round endpoint "requests/s" "p50 ms" "p99 ms" "CPU µs/req"
  for round in $(seq 1 "$rounds"); do
    for endpoint in healthz verify; do
      if [ "$endpoint" = healthz ]; then line="$(measure "$base/healthz")"; else line="$(measure "$base/v1/keys/verify" -s "$dir/verify.lua")"; fi
      read -r rps p50 p99 cpu bad <<<"$line"
      [ "$bad" = 0 ] || { echo "$endpoint: $bad responses were not 2xx" >&2; exit 1; }
      printf '%-6s %-22s %12s %9s %9s %14s\n' "$round" "$([ "$endpoint" = healthz ] && echo 'GET /healthz' || echo 'POST /v1/keys/verify')" "$rps" "$p50" "$p99" "$cpu"
      echo "$label $endpoint $rps $p50 $p99 $cpu" >>"$work/results"
    done
  done
  if [ -n "$rates" ]; then fixed_rate_runs "$label" "$label" "$work/rates"; fi
  stop_server
}

# The same fixed-rate runs against the HTTP floor: axum answering the same request shapes with the same
# bytes and nothing else, to price the shape of a verification request apart from the verification.
bench_floor() {
  local port
  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  base="http://127.0.0.1:$port"
  FLOOR_ANSWER="$answer" "$root/target/release/http_floor" "127.0.0.1:$port" 2>"$work/floor.log" &
  server_pid=$!
  await_server "$base" "$work/floor.log" "the floor"
  fixed_rate_runs floor "HTTP floor (server/floor, no Latchkey work)" "$work/floor"
  stop_server
}

echo "Latchkey verification benchmark"
for database in $databases; do
  case "$database" in
    sqlite)
      mkdir -p "$work/SQLite"
      export LATCHKEY_DATABASE_URL="sqlite://$work/SQLite/bench.db?mode=rwc"
      bench_database SQLite ;;
    postgres)
      if ! pg_isready -q -d "$postgres_server" 2>/dev/null; then
        echo "PostgreSQL at $postgres_server is not reachable: skipped (set BENCH_POSTGRES_URL)" >&2
        continue
      fi
      pg_database="lk_bench_$$"
      psql -q -d "$postgres_server" -c "CREATE DATABASE \"$pg_database\"" >/dev/null
      LATCHKEY_DATABASE_URL="$(python3 -c 'import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path="/" + sys.argv[2])))' "$postgres_server" "$pg_database")"
      export LATCHKEY_DATABASE_URL
      bench_database PostgreSQL
      drop_pg ;;
    *) echo "BENCH_DATABASES: unknown database '$database' (sqlite, postgres)" >&2; exit 2 ;;
  esac
done

if [ -n "$rates" ] && [ "$floor" = 1 ] && [ -n "$answer" ]; then bench_floor; fi

python3 - "$work/results" "$work/rates" "$work/floor" <<'PY'
import os, sys
rows = [line.split() for line in open(sys.argv[1])]
fixed = [line.split() for line in open(sys.argv[2])] if os.path.exists(sys.argv[2]) else []
floor = {(r[6], r[1]): r for r in (line.split() for line in open(sys.argv[3]))} if os.path.exists(sys.argv[3]) else {}
print()
for label in dict.fromkeys(r[0] for r in rows):
    def mean(endpoint, column):
        values = [float(r[column]) for r in rows if r[0] == label and r[1] == endpoint]
        return sum(values) / len(values)
    ratio = mean("verify", 2) / mean("healthz", 2)
    worst_p99 = max(float(r[4]) for r in rows if r[0] == label and r[1] == "verify")
    print(f"{label}: mean requests/s healthz {mean('healthz', 2):.0f}, verify {mean('verify', 2):.0f}; "
          f"mean CPU µs/request healthz {mean('healthz', 5):.1f}, verify {mean('verify', 5):.1f}")
    print(f"{label}: verify/healthz throughput ratio {ratio:.2f} (target ≥ 0.80: {'met' if ratio >= 0.8 else 'MISSED'}); "
          f"worst verify p99 {worst_p99:.2f} ms (target ≤ 2 ms: {'met' if worst_p99 <= 2 else 'MISSED'})")
for label in dict.fromkeys(r[0] for r in fixed):
    for rate in dict.fromkeys(r[6] for r in fixed if r[0] == label):
        row = {r[1]: r for r in fixed if r[0] == label and r[6] == rate}
        p99 = float(row["verify"][4]) / float(row["healthz"][4])
        cpu = float(row["verify"][5]) / float(row["healthz"][5])
        print(f"{label} at {rate}/s: verify/healthz p99 {row['verify'][4]} / {row['healthz'][4]} ms = {p99:.2f}x "
              f"(target ≤ 1.50: {'met' if p99 <= 1.5 else 'MISSED'}); CPU per request {row['verify'][5]} / "
              f"{row['healthz'][5]} µs = {cpu:.2f}x (target ≤ 1.15: {'met' if cpu <= 1.15 else 'MISSED'})")
        if (rate, "verify") in floor:
            print(f"{label} at {rate}/s: verify CPU per request over the HTTP floor's verify: {row['verify'][5]} / "
                  f"{floor[(rate, 'verify')][5]} µs = {float(row['verify'][5]) / float(floor[(rate, 'verify')][5]):.2f}x")
for rate in dict.fromkeys(key[0] for key in floor):
    verify, healthz = floor[(rate, "verify")], floor[(rate, "healthz")]
    print(f"HTTP floor at {rate}/s: verify/healthz CPU per request {verify[5]} / {healthz[5]} µs = "
          f"{float(verify[5]) / float(healthz[5]):.2f}x, p99 {verify[4]} / {healthz[4]} ms = "
          f"{float(verify[4]) / float(healthz[4]):.2f}x: what the request's shape costs with no verification")
PY
