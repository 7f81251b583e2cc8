#!/usr/bin/env bash
# Sets a stack's secrets and required settings in SSM Parameter Store, where infra/deploy.sh
# reads them. Values are typed at hidden prompts (or piped on stdin, one per prompt) and
# never appear in a command line, a file of the repository or a template.
#
#   make secrets STACK=edubot-prod REGION=eu-west-1                    # every value (Enter keeps one already set)
#   make secrets STACK=edubot-prod REGION=eu-west-1 ONLY=JWT_SECRET    # one value, e.g. to rotate it
#
# Then `make deploy` puts the new values into the functions' environment.
set -euo pipefail

die() { echo "secrets: $*" >&2; exit 1; }
[[ -n "${STACK:-}" ]] || die "STACK is required"
REGION=${REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
[[ -n "$REGION" ]] || die "REGION (or AWS_REGION) is required"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
SSM_PATH="/edubot/$STACK"

# name, kind (secrets = SecureString, settings = String), what to paste, can it be generated
VALUES=(
  "WHATSAPP_PHONE_NUMBER_ID settings Meta app > WhatsApp > API Setup: 'Phone number ID'"
  "WHATSAPP_BUSINESS_ACCOUNT_ID settings Meta app > WhatsApp > API Setup: 'WhatsApp Business Account ID' (its templates are the desk's)"
  "WHATSAPP_ACCESS_TOKEN secrets a permanent System User token with whatsapp_business_messaging and whatsapp_business_management (to list templates)"
  "WHATSAPP_APP_SECRET secrets Meta app > App settings > Basic: 'App secret'"
  "WHATSAPP_VERIFY_TOKEN secrets any string you choose; Enter on an empty one generates it"
  "JWT_SECRET secrets the admin tokens' key; Enter on an empty one generates it"
  "ORIGIN_VERIFY_SECRET settings what CloudFront sends the API to prove a request came through it; Enter on an empty one generates it"
)

WORK=$(umask 077 && mktemp -d)
trap 'rm -rf "$WORK"' EXIT

exists() { aws ssm get-parameter --name "$1" --query Parameter.Name --output text >/dev/null 2>&1; }

put() { # name kind value: through a private file, so the value is in no process's arguments
  local type=String
  [[ "$2" == secrets ]] && type=SecureString
  python3 -c 'import json,sys; print(json.dumps({"Name": sys.argv[1], "Type": sys.argv[2], "Value": sys.stdin.read().rstrip("\n"), "Overwrite": True}))' \
    "$SSM_PATH/$2/$1" "$type" <<<"$3" >"$WORK/put.json"
  aws ssm put-parameter --cli-input-json "file://$WORK/put.json" --query Version --output text >/dev/null
  rm -f "$WORK/put.json"
  echo "  $SSM_PATH/$2/$1 set ($type)"
}

[[ -z "${ONLY:-}" ]] || printf '%s\n' "${VALUES[@]}" | grep -q "^$ONLY " || die "ONLY=$ONLY is not one of: ${VALUES[*]%% *}"

for entry in "${VALUES[@]}"; do
  read -r name kind help <<<"$entry"
  [[ -z "${ONLY:-}" || "$ONLY" == "$name" ]] || continue
  path="$SSM_PATH/$kind/$name"
  state="not set"
  exists "$path" && state="set; Enter keeps it"
  printf '%s (%s)\n  %s: ' "$name" "$state" "$help" >&2
  if [[ -t 0 ]]; then read -rs value; echo >&2; else read -r value || true; fi
  if [[ -z "$value" ]]; then
    if [[ "$state" != "not set" ]]; then continue; fi
    case "$name" in
      WHATSAPP_VERIFY_TOKEN | JWT_SECRET | ORIGIN_VERIFY_SECRET) value=$(python3 -c 'import secrets; print(secrets.token_hex(32))') ;;
      *) die "$name is required" ;;
    esac
  fi
  # infra/deploy.sh writes values into an env file: one line, no blanks, quotes or '#'.
  [[ "$value" =~ ^[^[:space:]\"\'#]+$ ]] || die "$name: no spaces, quotes or '#', please"
  [[ "$name" != JWT_SECRET || ${#value} -ge 32 ]] || die "JWT_SECRET must be at least 32 characters"
  put "$name" "$kind" "$value"
done
echo "Optional settings (String, every function gets them), e.g.:"
echo "  aws ssm put-parameter --type String --name $SSM_PATH/settings/SUPPORT_SLA_SECONDS --value 600 --overwrite"
echo "Now run: make deploy STACK=$STACK REGION=$REGION"
