# The two commands a newcomer needs (see README.md). Each installs its tools when they are missing.
.PHONY: run test build

## Build the release binary and start the portal on SQLite at http://127.0.0.1:3000.
run:
	.ci/serve.sh

## Run every check and test: fmt, clippy (ssr and wasm32), SQLite and PostgreSQL tests, Playwright.
test:
	.ci/test.sh

## Build target/release/latchkey (browser bundle embedded) without starting it.
build:
	.ci/build.sh
