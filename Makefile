# The two commands a newcomer needs (see README.md). Each installs its tools when they are missing.
.PHONY: run test build bench weight

BINARY := target/release/latchkey
# Everything the release binary is built from; make rebuilds only when one of these is newer than it.
SOURCES := Cargo.toml Cargo.lock $(shell find app frontend server migrations style -type f -not -name '*.db*')

## Build the release binary (when sources changed) and start the portal on SQLite at http://127.0.0.1:3000.
run: $(BINARY)
	.ci/serve.sh

## Run every check and test: fmt, clippy (ssr and wasm32), SQLite and PostgreSQL tests, Playwright.
test:
	.ci/test.sh

## Benchmark POST /v1/keys/verify against GET /healthz on this machine (release build, wrk, temporary SQLite).
bench:
	.ci/bench.sh

## Bytes on the wire and time to interactive of every portal page's first load, in Chromium.
weight:
	.ci/page-weight.sh

## Build target/release/latchkey (browser bundle embedded) without starting it.
build: $(BINARY)

$(BINARY): $(SOURCES)
	.ci/build.sh
	@touch $@
