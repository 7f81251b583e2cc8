#!/usr/bin/env bash
# The deploy's dry-run plan (no AWS call, no arm64 build) runs, prints no secret, and
# refuses verbose logging, which would put whole events (tokens, passwords, bodies) in logs.
set -uo pipefail
cd "$(dirname "$0")/.."
plan() { DRY_RUN=1 BUILD=0 STACK=edubot-ci REGION=eu-west-1 infra/deploy.sh 2>&1; }

out=$(plan) || { echo "$out"; echo "infra/deploy.sh: the dry-run plan failed"; exit 1; }
# In a dry run every secret's value is the placeholder ssm:<path>/secrets/<NAME>.
if grep -q 'ssm:[^ ]*/secrets/' <<<"$out"; then
  grep 'ssm:[^ ]*/secrets/' <<<"$out"
  echo "infra/deploy.sh: the plan prints a secret's value"
  exit 1
fi
for level in debug trace "info,lambda_runtime=trace"; do
  if verbose=$(RUST_LOG=$level plan); then
    echo "infra/deploy.sh: deployed with RUST_LOG=$level"
    exit 1
  fi
  grep -q "would log whole events" <<<"$verbose" || { echo "$verbose"; exit 1; }
done
ALLOW_VERBOSE_LOGS=1 RUST_LOG=debug plan >/dev/null ||
  { echo "infra/deploy.sh: ALLOW_VERBOSE_LOGS=1 does not let a deliberate debug deploy through"; exit 1; }
echo "infra/deploy.sh: the dry-run plan runs, prints no secret and refuses debug/trace logs"
