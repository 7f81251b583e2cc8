#!/usr/bin/env bash
# Creates, disables or enables an admin of a deployed stack (there is no sign-up page), with
# the edubot-admin command against the stack's table and the caller's AWS credentials.
#
#   make admin STACK=edubot-prod REGION=eu-west-1 ACTION=create NAME=jane.doe [ROLE=supervisor]
#   make admin STACK=edubot-prod REGION=eu-west-1 ACTION=disable NAME=jane.doe
#
# The password is read at a hidden prompt (twice), or from stdin when it is not a terminal,
# or from ADMIN_PASSWORD; never from an argument. `create` on an existing admin resets the
# password. A disabled admin's token stops working within a minute.
set -euo pipefail

die() { echo "admin: $*" >&2; exit 1; }
[[ -n "${STACK:-}" ]] || die "STACK is required"
[[ -n "${ACTION:-}" && -n "${NAME:-}" ]] || die "ACTION (create, disable, enable) and NAME are required"
REGION=${REGION:-${AWS_REGION:-${AWS_DEFAULT_REGION:-}}}
[[ -n "$REGION" ]] || die "REGION (or AWS_REGION) is required"
export AWS_REGION="$REGION" AWS_DEFAULT_REGION="$REGION"
unset AWS_ENDPOINT_URL_DYNAMODB # the deployed table, never DynamoDB Local

cd "$(dirname "${BASH_SOURCE[0]}")/.."
TABLE_NAME=${TABLE_NAME:-$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query "Stacks[0].Outputs[?OutputKey=='TableName'].OutputValue" --output text)}
[[ -n "$TABLE_NAME" && "$TABLE_NAME" != None ]] || die "no table: is $STACK deployed in $REGION?"
export TABLE_NAME
echo "$ACTION $NAME on $TABLE_NAME ($REGION)" >&2

# ROLE (admin or supervisor) only with create; without it a new account is an admin and an
# existing one keeps its role.
admin() { cargo run --quiet -p edubot-admin -- "$ACTION" "$NAME" ${ROLE:+"$ROLE"}; }

if [[ "$ACTION" == create && -z "${ADMIN_PASSWORD:-}" && -t 0 ]]; then
  read -rsp "Password for $NAME (at least 12 characters): " password; echo >&2
  read -rsp "Again: " again; echo >&2
  [[ "$password" == "$again" ]] || die "the passwords differ"
  printf '%s\n' "$password" | admin # printf is a shell builtin: the password is in no argument list
else
  admin
fi
