#!/usr/bin/env bash
# Removes what infra/deploy.sh created for one stack, in reverse order: the wiring stack
# (after emptying the admin page's bucket), the WAF stack (in us-east-1), the functions (they live outside the stacks),
# the functions stack (roles, log groups). The table, the media bucket (the history's files),
# the on-failure queues (the foundations stack) and the SSM secrets stay, so a later
# `make deploy` finds its data again, unless DELETE_TABLE=1: then the table is deleted too,
# with its history, after a last backup, and the media bucket with every file in it (no
# backup: copy it first if it should be kept).
#
#   make destroy STACK=edubot-staging REGION=eu-west-1 [DELETE_TABLE=1] [YES=1]
set -euo pipefail

die() { echo "destroy: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
show() { printf '  $'; printf ' %q' "$@"; printf '\n'; }
run() { show "$@"; "$@"; }

[[ -n "${STACK:-}" ]] || die "STACK is required"
REGION=${REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
[[ -n "$REGION" ]] || die "REGION (or AWS_REGION) is required"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
cd "$(dirname "${BASH_SOURCE[0]}")/.."
DELETE_TABLE=${DELETE_TABLE:-0}

stack_exists() { aws cloudformation describe-stacks --stack-name "$1" >/dev/null 2>&1; }
output() {
  aws cloudformation describe-stacks --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}
delete_stack() {
  stack_exists "$1" || { echo "  (no stack $1)"; return; }
  run aws cloudformation delete-stack --stack-name "$1"
  run aws cloudformation wait stack-delete-complete --stack-name "$1"
}

what="the API, the admin page, the functions and their roles"
[[ "$DELETE_TABLE" == 1 ]] && what="$what, AND THE TABLE WITH EVERY CONVERSATION, THE MEDIA BUCKET WITH EVERY FILE, the queues and the secrets"
echo "This deletes $what of stack $STACK in $REGION ($(aws sts get-caller-identity --query Account --output text))."
if [[ "${YES:-0}" != 1 ]]; then
  read -rp "Type the stack name to confirm: " answer
  [[ "$answer" == "$STACK" ]] || die "not confirmed"
fi

step "Wiring stack $STACK-wiring"
if stack_exists "$STACK-wiring"; then
  bucket=$(output "$STACK-wiring" SiteBucketName)
  [[ -z "$bucket" || "$bucket" == None ]] || run aws s3 rm "s3://$bucket/" --recursive --only-show-errors
fi
delete_stack "$STACK-wiring"

step "WAF stack $STACK-waf (us-east-1)"
# Only once the distribution that used its web ACL is gone.
AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 delete_stack "$STACK-waf"

step "Functions $STACK-<crate>"
for dir in functions/*/; do
  fn="$STACK-$(basename "$dir")"
  if aws lambda get-function --function-name "$fn" >/dev/null 2>&1; then
    run aws lambda delete-function --function-name "$fn"
  else
    echo "  (no function $fn)"
  fi
done

step "Functions stack $STACK-functions (roles, log groups)"
delete_stack "$STACK-functions"

if [[ "$DELETE_TABLE" != 1 ]]; then
  echo
  echo "Kept: stack $STACK (table $STACK-table, media bucket, on-failure queues) and /edubot/$STACK/ in SSM."
  echo "Deploy again with make deploy, or delete them with DELETE_TABLE=1."
  exit 0
fi

step "Foundations stack $STACK, its table and its media bucket"
table=$(output "$STACK" TableName 2>/dev/null || true)
media_bucket=$(output "$STACK" MediaBucketName 2>/dev/null || true)
if [[ -n "$table" && "$table" != None ]]; then
  run aws dynamodb create-backup --table-name "$table" --backup-name "$table-final-$(date -u +%Y%m%d%H%M%S)" \
    --query BackupDetails.BackupArn --output text
  run aws dynamodb update-table --table-name "$table" --no-deletion-protection-enabled \
    --query TableDescription.TableName --output text
fi
delete_stack "$STACK" # the table's DeletionPolicy is Retain: the stack lets go of it...
if [[ -n "$table" && "$table" != None ]]; then
  run aws dynamodb delete-table --table-name "$table" --query TableDescription.TableName --output text # ...and it goes here
fi
if [[ -n "$media_bucket" && "$media_bucket" != None ]]; then
  # Retained too; versioning is off, so emptying it is deleting its objects.
  run aws s3 rb "s3://$media_bucket" --force
fi
step "Secrets /edubot/$STACK/"
mapfile -t names < <(aws ssm get-parameters-by-path --path "/edubot/$STACK/" --recursive \
  --query 'Parameters[].Name' --output text | tr '\t' '\n' | sed '/^$/d')
for name in "${names[@]}"; do run aws ssm delete-parameter --name "$name"; done
echo
echo "Stack $STACK deleted. The final backup (on-demand backups are kept until deleted):"
echo "  aws dynamodb list-backups --table-name ${table:-$STACK-table}"
