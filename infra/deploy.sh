#!/usr/bin/env bash
# Deploys (or updates in place) one EduBot stack into the current AWS account:
#
#   1. foundations stack  <STACK>            the table, the media bucket, the on-failure queues;
#                         then waits while DynamoDB builds a new index (CloudFormation does not)
#   2. functions stack    <STACK>-functions  one least-privilege role + log group per function,
#                         the WebSocket API (its address goes into the functions' environment)
#   3. build              cargo lambda build --release --arm64 (every crate in functions/)
#   4. deploy             cargo lambda deploy per function: code, role, environment; publishes
#                         a version and moves the `live` alias to it
#   5. WAF stack          <STACK>-waf        in us-east-1 whatever REGION is (CloudFront only
#                         takes web ACLs from there): per-address rate limits at the edge
#   5b. API Gateway's CloudWatch Logs role (edubot-apigateway-logging, once per account and
#                         region, only when none is set): the WebSocket stage's access logs
#   6. wiring stack       <STACK>-wiring     HTTP API, WebSocket routes and stage, stream
#                         mappings, desk-events' async invocations, schedule, S3 + CloudFront
#                         (with the web ACL; its CSP names the media bucket and the WebSocket
#                         API), alarms (everything that points at the `live` aliases)
#   6b. foundations again only when the admin page's origin changed (the first deploy, a new
#                         domain): the media bucket's CORS names that origin, known only now
#   7. admin page         s3 sync static-site/ + CloudFront invalidation
#
# Inputs (environment or make variables):
#   STACK              required; lower-case name, e.g. edubot-staging, edubot-prod
#   REGION             AWS region (default: AWS_REGION, AWS_DEFAULT_REGION)
#   DRY_RUN=1          call no AWS API: lint, build, `cargo lambda deploy --dry`, print the plan
#   BUILD=0            with DRY_RUN=1: skip the arm64 build and the --dry packaging (CI)
#   DOMAIN_NAME, CERTIFICATE_ARN, HOSTED_ZONE_ID   optional custom domain (docs/deploying.md)
#   ALARM_EMAIL        optional address for the alarms topic
#   WAF=0              no web ACL (no per-address limit at the edge; saves its ~$7 a month)
#   LOG_RETENTION_DAYS default 30
#   TABLE_NAME         override the table (after a point-in-time restore, docs/deploying.md)
#   RUST_LOG           default info; debug and trace are refused (the runtime logs whole
#                      events: tokens, passwords, message bodies) unless ALLOW_VERBOSE_LOGS=1
#
# Secrets and settings come from SSM Parameter Store (see infra/secrets.sh):
#   /edubot/<STACK>/secrets/<NAME>   SecureString, given only to the functions that need them
#   /edubot/<STACK>/settings/<NAME>  String, given to every function (WHATSAPP_PHONE_NUMBER_ID,
#                                    WHATSAPP_BUSINESS_ACCOUNT_ID, optional SUPPORT_SLA_SECONDS,
#                                    SUPPORT_FEEDBACK_TEMPLATE, WHATSAPP_API_BASE_URL, ...)
# They go into each function's environment (encrypted at rest by Lambda) at deploy time, so
# no cold start waits on a network call. Rotating a secret = infra/secrets.sh, then re-run this.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DRY_RUN=${DRY_RUN:-0}
BUILD=${BUILD:-1}
REGION=${REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
LOG_RETENTION_DAYS=${LOG_RETENTION_DAYS:-30}
ALIAS=live
# A build directory of its own: a deploy's release build neither waits for nor blocks the
# cargo runs of the working tree (cargo locks a whole target directory while it builds).
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target/deploy}"
LAMBDA_DIR="$CARGO_TARGET_DIR/lambda"

die() { echo "deploy: $*" >&2; exit 1; }
step() { printf '\n==> %s\n' "$*"; }
dry() { [[ "$DRY_RUN" == 1 ]]; }

show() { printf '  $'; printf ' %q' "$@"; printf '\n'; }
# Prints a command, then runs it unless this is a dry run.
run() { show "$@"; dry || "$@"; }
# Prints a command and runs it, dry run or not (it changes nothing in AWS).
always() { show "$@"; "$@"; }

[[ -n "${STACK:-}" ]] || die "STACK is required, e.g. make deploy STACK=edubot-staging REGION=eu-west-1"
[[ "$STACK" =~ ^[a-z][a-z0-9-]{1,30}$ ]] || die "STACK must be 2-31 of a-z 0-9 - (starting with a letter)"
[[ -n "$REGION" ]] || { dry && REGION=eu-west-1; } || die "REGION (or AWS_REGION) is required"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
unset AWS_ENDPOINT_URL_DYNAMODB AWS_ENDPOINT_URL_S3 # the local stack's variables must never reach a deploy

SSM_PATH="/edubot/$STACK"
FUNCTIONS_STACK="$STACK-functions"
WIRING_STACK="$STACK-wiring"
WAF_STACK="$STACK-waf"
WAF_REGION=us-east-1 # CloudFront's web ACLs live there, whatever REGION is
WAF=${WAF:-1}
[[ "$WAF" =~ ^[01]$ ]] || die "WAF is 1 (default: the web ACL in $WAF_REGION) or 0 (none)"

# Every function crate is deployed; the templates and infra/check_infra.py agree on the set.
mapfile -t FUNCTIONS < <(cd "$ROOT/functions" && for d in */; do [[ -f "$d/Cargo.toml" ]] && echo "${d%/}"; done)
[[ ${#FUNCTIONS[@]} -gt 0 ]] || die "no function crates under functions/"

# The secrets each function is given: exactly what its main.rs `Needs` requires
# (admin_tokens: JWT_SECRET; whatsapp_send and media_fetch: WHATSAPP_ACCESS_TOKEN; webhook_secrets:
# WHATSAPP_APP_SECRET and WHATSAPP_VERIFY_TOKEN). infra/check_infra.py compares the two.
secrets_for() {
  case "$1" in
    webhook) echo "WHATSAPP_APP_SECRET WHATSAPP_VERIFY_TOKEN" ;;
    inbound-processor) echo "WHATSAPP_ACCESS_TOKEN" ;;
    scheduled-checks) echo "WHATSAPP_ACCESS_TOKEN" ;;
    admin-login) echo "JWT_SECRET" ;;
    list-conversations) echo "JWT_SECRET" ;;
    get-messages) echo "JWT_SECRET" ;;
    dashboard) echo "JWT_SECRET" ;;
    send-message) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    end-chat) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    retry-message) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    activation-codes) echo "JWT_SECRET" ;;
    desk-events) echo "WHATSAPP_ACCESS_TOKEN" ;;
    get-media) echo "JWT_SECRET" ;;
    create-attachment) echo "JWT_SECRET" ;;
    list-templates) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    send-template) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    mark-read) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    typing) echo "JWT_SECRET WHATSAPP_ACCESS_TOKEN" ;;
    ws-ticket) echo "JWT_SECRET" ;;
    ws-connect) echo "" ;;
    ws-disconnect) echo "" ;;
    push) echo "" ;;
    list-admins) echo "JWT_SECRET" ;;
    create-admin) echo "JWT_SECRET" ;;
    disable-admin) echo "JWT_SECRET" ;;
    enable-admin) echo "JWT_SECRET" ;;
    set-admin-password) echo "JWT_SECRET" ;;
    assign-conversation) echo "JWT_SECRET" ;;
    add-note) echo "JWT_SECRET" ;;
    list-canned-replies) echo "JWT_SECRET" ;;
    create-canned-reply) echo "JWT_SECRET" ;;
    delete-canned-reply) echo "JWT_SECRET" ;;
    audit-log) echo "JWT_SECRET" ;;
    reports) echo "JWT_SECRET" ;;
    *) die "no secrets listed for function '$1': add it to secrets_for in infra/deploy.sh and to the templates" ;;
  esac
}
REQUIRED_SECRETS="JWT_SECRET WHATSAPP_ACCESS_TOKEN WHATSAPP_APP_SECRET WHATSAPP_VERIFY_TOKEN"
# ORIGIN_VERIFY_SECRET is a String: CloudFront's origin header reads it with {{resolve:ssm}}.
# WHATSAPP_BUSINESS_ACCOUNT_ID (not a secret) names the account whose templates are listed
# and sent: the functions whose Needs say `templates: true` refuse to start without it.
REQUIRED_SETTINGS="WHATSAPP_PHONE_NUMBER_ID WHATSAPP_BUSINESS_ACCOUNT_ID ORIGIN_VERIFY_SECRET"

# `webhook` -> `Webhook`, `inbound-processor` -> `InboundProcessor` (the templates' logical ids).
camel() { local out="" part; IFS=- read -ra parts <<<"$1"; for part in "${parts[@]}"; do out+="${part^}"; done; echo "$out"; }

# A stack output (of a stack in REGION, or in the region given third); a placeholder in a dry run.
output() {
  if dry; then echo "output:$1:$2"; return; fi
  aws cloudformation describe-stacks --region "${3:-$REGION}" --stack-name "$1" \
    --query "Stacks[0].Outputs[?OutputKey=='$2'].OutputValue" --output text
}

deploy_stack() { # name template [Key=Value ...]
  deploy_stack_in "$REGION" "$@"
}

# The admin page's origin (https://host, no trailing slash), from the wiring stack's AdminUrl;
# empty before that stack exists. The media bucket's CORS allows it.
page_origin() {
  if dry; then echo "https://output.$WIRING_STACK.AdminUrl.example"; return; fi
  local url
  url=$(aws cloudformation describe-stacks --region "$REGION" --stack-name "$WIRING_STACK" \
    --query "Stacks[0].Outputs[?OutputKey=='AdminUrl'].OutputValue" --output text 2>/dev/null) || url=""
  [[ "$url" == https://* ]] || url=""
  url=${url%/}
  echo "$url"
}

deploy_stack_in() { # region name template [Key=Value ...]
  local region=$1 name=$2 template=$3; shift 3
  local args=(--region "$region" --stack-name "$name" --template-file "infra/cloudformation/$template"
    --capabilities CAPABILITY_IAM --no-fail-on-empty-changeset --tags app=edubot "stack=$STACK")
  [[ $# -eq 0 ]] || args+=(--parameter-overrides "$@")
  run aws cloudformation deploy "${args[@]}"
}

WORK=$(umask 077 && mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# ---- 0. What is needed before anything changes ----------------------------------------------
step "Checks (stack $STACK in $REGION$(dry && echo ', dry run: no AWS call'))"
# At debug and trace the Lambda runtime logs whole events: tokens, passwords, message bodies.
if [[ "${RUST_LOG:-info}" =~ debug|trace ]] && [[ "${ALLOW_VERBOSE_LOGS:-0}" != 1 ]]; then
  die "RUST_LOG=$RUST_LOG would log whole events (tokens, passwords, message bodies): use info, warn or error, or set ALLOW_VERBOSE_LOGS=1 for a short, deliberate investigation"
fi
for tool in cargo python3 cfn-lint; do command -v "$tool" >/dev/null || die "$tool is missing (make deploy installs cfn-lint)"; done
if ! dry || [[ "$BUILD" == 1 ]]; then
  cargo lambda --version >/dev/null 2>&1 || die "cargo-lambda is missing (make deploy installs it; or: pip install cargo-lambda ziglang)"
fi
always cfn-lint infra/cloudformation/*.yaml
always python3 infra/check_infra.py
if ! dry; then
  command -v aws >/dev/null || die "the AWS CLI is missing"
  aws sts get-caller-identity --query Arn --output text ||
    die "no AWS credentials (aws configure / AWS_PROFILE)"
  missing=()
  for name in $REQUIRED_SECRETS; do
    aws ssm get-parameter --name "$SSM_PATH/secrets/$name" --query Parameter.Name --output text >/dev/null 2>&1 || missing+=("secrets/$name")
  done
  for name in $REQUIRED_SETTINGS; do
    aws ssm get-parameter --name "$SSM_PATH/settings/$name" --query Parameter.Name --output text >/dev/null 2>&1 || missing+=("settings/$name")
  done
  [[ ${#missing[@]} -eq 0 ]] || die "missing in SSM under $SSM_PATH/: ${missing[*]} -- run: make secrets STACK=$STACK REGION=$REGION"
  # Optional, but every function parses it at cold start: a malformed value would stop them all.
  if feedback=$(aws ssm get-parameter --name "$SSM_PATH/settings/SUPPORT_FEEDBACK_TEMPLATE" \
    --query Parameter.Value --output text 2>/dev/null); then
    [[ "$feedback" =~ ^[A-Za-z0-9_]+:[A-Za-z0-9_]+$ ]] ||
      die "settings/SUPPORT_FEEDBACK_TEMPLATE is '$feedback': expected name:language, e.g. feedback_rating:en_US (every function reads it at cold start)"
  fi
fi

# ---- 1-2. Foundations and roles ----------------------------------------------------------------
step "1. Foundations stack $STACK (table ${TABLE_NAME:-$STACK-table}, media bucket, on-failure queues)"
# The media bucket's CORS names the page's origin, which the wiring stack (CloudFront) makes:
# the one it has now, or none on a first deploy (step 6b deploys this stack again with it).
PAGE_ORIGIN=$(page_origin)
[[ -n "$PAGE_ORIGIN" ]] || echo "  no wiring stack yet: the media bucket gets its CORS origin after step 6"
deploy_stack "$STACK" foundations.yaml "PageOrigin=$PAGE_ORIGIN"
QUEUE_ARN=$(output "$STACK" OnFailureQueueArn)
QUEUE_NAME=$(output "$STACK" OnFailureQueueName)
DESK_QUEUE_ARN=$(output "$STACK" DeskEventsFailureQueueArn)
DESK_QUEUE_NAME=$(output "$STACK" DeskEventsFailureQueueName)
PUSH_QUEUE_ARN=$(output "$STACK" PushFailureQueueArn)
PUSH_QUEUE_NAME=$(output "$STACK" PushFailureQueueName)
MEDIA_BUCKET=$(output "$STACK" MediaBucketName)
MEDIA_BUCKET_ARN=$(output "$STACK" MediaBucketArn)
if [[ -n "${TABLE_NAME:-}" ]]; then
  # A restored table (docs/deploying.md): its own ARN and stream, not the foundations stack's.
  echo "  using TABLE_NAME=$TABLE_NAME instead of the stack's table"
  if dry; then TABLE_ARN="arn-of:$TABLE_NAME"; STREAM_ARN="stream-arn-of:$TABLE_NAME"; else
    TABLE_ARN=$(aws dynamodb describe-table --table-name "$TABLE_NAME" --query Table.TableArn --output text)
    STREAM_ARN=$(aws dynamodb describe-table --table-name "$TABLE_NAME" --query Table.LatestStreamArn --output text)
    [[ "$STREAM_ARN" == arn:* ]] || die "$TABLE_NAME has no stream: enable NEW_AND_OLD_IMAGES first (docs/deploying.md)"
  fi
else
  TABLE_NAME=$(output "$STACK" TableName)
  TABLE_ARN=$(output "$STACK" TableArn)
  STREAM_ARN=$(output "$STACK" TableStreamArn)
fi
# A new index (CloudFormation adds one per update, and does not wait while DynamoDB builds
# it: a Query on it fails until it is ACTIVE). The functions that query it are deployed only
# once every index of the table is ACTIVE: minutes for one institution's table.
building() {
  aws dynamodb describe-table --table-name "$TABLE_NAME" --output text \
    --query "Table.GlobalSecondaryIndexes[?IndexStatus!='ACTIVE'].IndexName"
}
if dry; then
  show aws dynamodb describe-table --table-name "$TABLE_NAME" --output text \
    --query "Table.GlobalSecondaryIndexes[?IndexStatus!='ACTIVE'].IndexName"
  echo "  (dry run) then waits while any index is still being built"
else
  for attempt in $(seq 360); do
    indexes=$(building)
    [[ -z "$indexes" || "$indexes" == None ]] && break
    [[ $attempt -lt 360 ]] || die "index $indexes of $TABLE_NAME still not ACTIVE after an hour: run this deploy again once it is"
    [[ $attempt -gt 1 ]] || echo "  waiting for DynamoDB to build index $indexes of $TABLE_NAME (checked every 10 s)"
    sleep 10
  done
fi

step "2. Functions stack $FUNCTIONS_STACK (one role and log group per function, the WebSocket API)"
deploy_stack "$FUNCTIONS_STACK" functions.yaml "Stack=$STACK" "TableArn=$TABLE_ARN" \
  "TableStreamArn=$STREAM_ARN" "OnFailureQueueArn=$QUEUE_ARN" "DeskEventsFailureQueueArn=$DESK_QUEUE_ARN" \
  "PushFailureQueueArn=$PUSH_QUEUE_ARN" "MediaBucketArn=$MEDIA_BUCKET_ARN" "LogRetentionDays=$LOG_RETENTION_DAYS"
# Real time (docs/realtime.md), from the functions stack, never set by hand: where the page
# opens its WebSocket (ws-ticket), the management API push and the scheduled checks post to
# and close connections with, and the function (live alias) push hands new files to, the one
# its role may invoke.
WEBSOCKET_API_ID=$(output "$FUNCTIONS_STACK" WebSocketApiId)
dry && WEBSOCKET_API_ID=abcde12345
WEBSOCKET_URL=$(output "$FUNCTIONS_STACK" WebSocketUrl)
WEBSOCKET_CALLBACK_URL=$(output "$FUNCTIONS_STACK" WebSocketCallbackUrl)
DESK_EVENTS_FUNCTION=$(output "$FUNCTIONS_STACK" DeskEventsFunction)

# ---- 3. Build ------------------------------------------------------------------------------
step "3. Build ${#FUNCTIONS[@]} functions for arm64 (release profile)"
packages=()
for fn in "${FUNCTIONS[@]}"; do packages+=(-p "$fn"); done
if [[ "$BUILD" == 1 ]]; then
  started=$SECONDS
  # Built even in a dry run: that is what a dry run is for (BUILD=0 skips it).
  if command -v rustup >/dev/null; then always rustup target add aarch64-unknown-linux-gnu; fi
  always cargo lambda build --release --arm64 "${packages[@]}"
  echo "  built in $((SECONDS - started)) s"
  for fn in "${FUNCTIONS[@]}"; do
    printf '  %-20s bootstrap %s bytes\n' "$fn" "$(stat -c %s "$LAMBDA_DIR/$fn/bootstrap")"
  done
else
  printf '  (BUILD=0) cargo lambda build --release --arm64'; printf ' %q' "${packages[@]}"; printf '\n'
fi

# ---- 4. Deploy each function ---------------------------------------------------------------
# The value of /edubot/<STACK>/<kind>/<name>; a placeholder in a dry run. Never printed.
parameter() {
  if dry; then echo "ssm:$SSM_PATH/$1/$2"; return; fi
  aws ssm get-parameter --name "$SSM_PATH/$1/$2" --with-decryption --query Parameter.Value --output text
}
# Optional settings: every String parameter under /edubot/<STACK>/settings/.
settings_names() {
  if dry; then echo "$REQUIRED_SETTINGS"; return; fi
  aws ssm get-parameters-by-path --path "$SSM_PATH/settings/" --query 'Parameters[].Name' --output text |
    tr '\t' '\n' | sed 's|.*/||'
}
SETTINGS=$(settings_names | tr '\n' ' ')

step "4. cargo lambda deploy: ${#FUNCTIONS[@]} functions named $STACK-<crate>, alias $ALIAS$(dry && echo ' (--dry)')"
VERSION_NOTE="$(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo unknown) $(date -u +%Y-%m-%dT%H:%M:%SZ)"
for fn in "${FUNCTIONS[@]}"; do
  role=$(output "$FUNCTIONS_STACK" "$(camel "$fn")RoleArn")
  dry && role="arn:aws:iam::123456789012:role/$FUNCTIONS_STACK-$(camel "$fn")Role-placeholder"
  env_file="$WORK/$fn.env"
  {
    echo "TABLE_NAME=$TABLE_NAME"
    # Not a secret; only the roles of the functions that handle files may touch the bucket.
    echo "MEDIA_BUCKET=$MEDIA_BUCKET"
    # Not secrets either; only the roles of the functions that push, close or hand off may use them.
    echo "WEBSOCKET_URL=$WEBSOCKET_URL"
    echo "WEBSOCKET_CALLBACK_URL=$WEBSOCKET_CALLBACK_URL"
    echo "DESK_EVENTS_FUNCTION=$DESK_EVENTS_FUNCTION"
    echo "RUST_LOG=${RUST_LOG:-info}"
    for name in $SETTINGS; do echo "$name=$(parameter settings "$name")"; done
    for name in $(secrets_for "$fn"); do echo "$name=$(parameter secrets "$name")"; done
  } >"$env_file"
  grep -qv '^[A-Z0-9_]*=[^[:space:]#"'"'"']*$' "$env_file" &&
    die "a setting or secret for $fn is empty or holds a space, quote or '#': set it again with make secrets"
  echo "  $STACK-$fn environment: $(cut -d= -f1 "$env_file" | tr '\n' ' ')"
  deploy_args=(--region "$REGION" --iam-role "$role" --env-file "$env_file" --alias "$ALIAS"
    --lambda-dir "$LAMBDA_DIR" --binary-name "$fn" --description "$VERSION_NOTE" --tag "app=edubot,stack=$STACK" "$STACK-$fn")
  if ! dry; then
    run cargo lambda deploy "${deploy_args[@]}"
  elif [[ "$BUILD" == 1 ]]; then
    always cargo lambda deploy --dry "${deploy_args[@]}" # packages the zip, calls nothing
  else
    printf '  (BUILD=0)'; show cargo lambda deploy "${deploy_args[@]}"
  fi
done
if [[ " ${FUNCTIONS[*]} " == *" scheduled-checks "* ]]; then
  # One run at a time. On an account whose concurrency quota is still 10 (new accounts)
  # Lambda refuses any reservation: ask for a quota increase; the checks then run unreserved.
  run aws lambda put-function-concurrency --function-name "$STACK-scheduled-checks" \
    --reserved-concurrent-executions 1 ||
    echo "  WARNING: reserved concurrency 1 not set on $STACK-scheduled-checks (account concurrency quota?)" >&2
fi

# ---- 5. WAF (us-east-1) ---------------------------------------------------------------------
WEB_ACL_ARN=""
if [[ "$WAF" == 1 ]]; then
  step "5. WAF stack $WAF_STACK in $WAF_REGION (per-address rate limits for CloudFront)"
  deploy_stack_in "$WAF_REGION" "$WAF_STACK" waf.yaml "Stack=$STACK"
  WEB_ACL_ARN=$(output "$WAF_STACK" WebAclArn "$WAF_REGION")
  dry && WEB_ACL_ARN="arn:aws:wafv2:$WAF_REGION:123456789012:global/webacl/$STACK-web-acl/placeholder"
else
  step "5. WAF: skipped (WAF=0): no per-address rate limit at the edge"
fi

# ---- 5b. API Gateway's CloudWatch Logs role (account-wide, per region) -----------------------
# A WebSocket stage logs (its access logs) only with the role named in the account's API
# Gateway settings; without one, creating the stage fails. It is the whole region's setting,
# not this stack's: one shared stack sets it where none is, and one already set (by an
# earlier deploy, or for the account's own APIs) is left as it is.
APIGW_LOGGING_STACK=edubot-apigateway-logging
step "5b. API Gateway's CloudWatch Logs role in $REGION (the WebSocket stage's access logs)"
if dry; then
  show aws apigateway get-account --query cloudwatchRoleArn --output text
  echo "  (dry run) when none is set:"
fi
if dry || [[ "$(aws apigateway get-account --query cloudwatchRoleArn --output text 2>/dev/null || true)" != arn:* ]]; then
  run aws cloudformation deploy --region "$REGION" --stack-name "$APIGW_LOGGING_STACK" \
    --template-file infra/cloudformation/apigateway-logging.yaml --capabilities CAPABILITY_IAM \
    --no-fail-on-empty-changeset --tags app=edubot
else
  echo "  set already: left as it is"
fi

# ---- 6. Wiring -----------------------------------------------------------------------------
step "6. Wiring stack $WIRING_STACK (HTTP API, WebSocket routes and stage, stream mappings, schedule, S3 + CloudFront, alarms)"
deploy_stack "$WIRING_STACK" wiring.yaml "Stack=$STACK" "TableStreamArn=$STREAM_ARN" \
  "OnFailureQueueArn=$QUEUE_ARN" "OnFailureQueueName=$QUEUE_NAME" \
  "DeskEventsFailureQueueArn=$DESK_QUEUE_ARN" "DeskEventsFailureQueueName=$DESK_QUEUE_NAME" \
  "PushFailureQueueArn=$PUSH_QUEUE_ARN" "PushFailureQueueName=$PUSH_QUEUE_NAME" \
  "WebSocketApiId=$WEBSOCKET_API_ID" "MediaBucketName=$MEDIA_BUCKET" \
  "DomainName=${DOMAIN_NAME:-}" "CertificateArn=${CERTIFICATE_ARN:-}" "HostedZoneId=${HOSTED_ZONE_ID:-}" \
  "AlarmEmail=${ALARM_EMAIL:-}" "LogRetentionDays=$LOG_RETENTION_DAYS" "WebAclArn=$WEB_ACL_ARN"

# ---- 6b. The media bucket's CORS: the page's origin, now that CloudFront has one ------------
NEW_PAGE_ORIGIN=$(page_origin)
if dry || [[ "$NEW_PAGE_ORIGIN" != "$PAGE_ORIGIN" ]]; then
  step "6b. Foundations stack $STACK again: the media bucket's CORS allows ${NEW_PAGE_ORIGIN:-no origin}"
  deploy_stack "$STACK" foundations.yaml "PageOrigin=$NEW_PAGE_ORIGIN"
else
  step "6b. The media bucket's CORS already allows $PAGE_ORIGIN"
fi

# ---- 7. Admin page ---------------------------------------------------------------------------
step "7. Admin page: static-site/ to S3, CloudFront invalidation"
BUCKET=$(output "$WIRING_STACK" SiteBucketName)
DISTRIBUTION=$(output "$WIRING_STACK" DistributionId)
# No build step and no hashed names: browsers revalidate every file (as the local stack serves them).
run aws s3 sync static-site/ "s3://$BUCKET/" --delete --cache-control no-cache
run aws cloudfront create-invalidation --distribution-id "$DISTRIBUTION" --paths '/*' \
  --query Invalidation.Id --output text

# ---- Done ----------------------------------------------------------------------------------
ADMIN_URL=$(output "$WIRING_STACK" AdminUrl)
WEBHOOK_URL=$(output "$WIRING_STACK" WebhookUrl)
step "Done: $STACK in $REGION$(dry && echo ' (dry run: nothing was changed)')"
cat <<EOF
  Admin page:    $ADMIN_URL
  Webhook:       $WEBHOOK_URL
  WebSocket:     $WEBSOCKET_URL (the page connects there with a ticket)
  Verify token:  aws ssm get-parameter --with-decryption --query Parameter.Value --output text \
                   --name $SSM_PATH/secrets/WHATSAPP_VERIFY_TOKEN

  In Meta's app dashboard (WhatsApp > Configuration > Webhook) paste the webhook URL as the
  callback URL and the verify token, then subscribe to the "messages" field.
  First admin:   make admin STACK=$STACK REGION=$REGION ACTION=create NAME=<username>
  Roll back a function: aws lambda update-alias --function-name $STACK-<crate> --name $ALIAS --function-version <previous>
EOF
