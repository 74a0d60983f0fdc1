#!/usr/bin/env bash
# Bytes per page and time to interactive of the portal's first loads (README: "Page weight"). Builds the
# release binary when its sources changed, then measures every page in Chromium (end2end/weight).
#   WEIGHT_RUNS (3): loads per page for the median time to interactive; WEIGHT_JSON: also write JSON there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
source .ci/tools.sh --browser
make --no-print-directory build >&2
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
cd end2end
node weight/page-weight.mjs
