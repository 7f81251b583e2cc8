#!/usr/bin/env python3
"""Checks that the CloudFormation templates agree with the code (run by `make test`).

- Routes: the HTTP API routes in wiring.yaml, the routes the function crates declare (first
  doc line of src/lib.rs) and the local stack's gateway (infra/local/src/gateway.rs) are the
  same set, each to the same function.
- Functions: every crate under functions/ has a role, a log group and an errors alarm, a
  deploy section in its Cargo.toml and an entry in infra/deploy.sh; nothing else does.
- Roles: each function's role grants exactly what its code calls. STORE_CALLS below holds,
  per function, the `Store` methods it calls (directly or through edubot-adapters); the DynamoDB
  actions and table/index ARNs of each method are read from the DynamoDB adapter (shared/adapters/src/store/*.rs).
- Secrets: infra/deploy.sh gives each function exactly the secrets its `Needs` requires.
- Table: foundations.yaml reads as plain YAML (the local stack parses its Table resource),
  holds the only table, and defines every index the store names.
- Headers: CloudFront's response headers policy carries the local stack's CSP and headers.
- Stream: the local stack batches the stream for the processor as the deployed mapping does.
"""

import pathlib
import re
import sys

import yaml  # PyYAML, installed with cfn-lint

ROOT = pathlib.Path(__file__).resolve().parent.parent
CFN = ROOT / "infra" / "cloudformation"

# What each function's code calls on the store. Keep this in step with the code: a new
# call needs a line here, and the template's role then needs the grant the check names.
STORE_CALLS = {
    "webhook": ["record_inbound", "apply_status"],
    "inbound-processor": [
        "unprocessed_messages", "get_conversation", "get_activation_code", "commit_with",
        "mark_sent", "mark_failed", "mark_retry",
    ],
    "admin-login": ["count_use", "get_admin", "uncount_use"],
    "list-conversations": ["get_admin", "list_conversations"],
    "get-messages": ["get_admin", "get_conversation", "messages_page", "enquiries"],
    "send-message": [
        "get_admin", "count_use", "get_conversation", "commit_with",
        "mark_sent", "mark_failed", "mark_retry",
    ],
    "end-chat": [
        "get_admin", "get_conversation", "commit_with", "mark_sent", "mark_failed", "mark_retry",
    ],
    "dashboard": ["get_admin", "conversations_in_support", "ratings_since"],
    "activation-codes": ["get_admin", "put_activation_code"],
    "retry-message": [
        "get_admin", "count_use", "get_conversation", "get_message",
        "reopen_failed_admin_message", "mark_sent", "mark_failed", "mark_retry",
    ],
    "scheduled-checks": [
        "conversations_in_support", "get_conversation", "get_activation_code", "commit_with",
        "due_sends", "claim_send", "unprocessed_anywhere", "unprocessed_messages",
        "mark_sent", "mark_failed", "mark_retry",
    ],
}

# Where reading the code over-approximates: `conversations_in_support` calls
# `list_conversations(true, ..)`, which only touches the support index.
NARROWED = {
    "conversations_in_support": {("dynamodb:Query", "gsi_support")},
}

# Grants a role holds besides the table, per function (stream reading and the on-failure
# destination belong to the event source mapping of the inbound processor).
EXTRA_GRANTS = {
    "inbound-processor": {
        ("dynamodb:DescribeStream", "stream"), ("dynamodb:GetRecords", "stream"),
        ("dynamodb:GetShardIterator", "stream"), ("dynamodb:ListStreams", "*"),
        ("sqs:SendMessage", "queue"),
    },
}

# SDK calls -> IAM actions. Inside a transaction, each item is authorised as its own action.
SDK_ACTIONS = {
    "get_item": "dynamodb:GetItem", "put_item": "dynamodb:PutItem",
    "update_item": "dynamodb:UpdateItem", "delete_item": "dynamodb:DeleteItem",
    "batch_get_item": "dynamodb:BatchGetItem", "batch_write_item": "dynamodb:BatchWriteItem",
    "query": "dynamodb:Query", "scan": "dynamodb:Scan",
}
TRANSACT_ITEMS = {
    "put": "dynamodb:PutItem", "update": "dynamodb:UpdateItem",
    "delete": "dynamodb:DeleteItem", "condition_check": "dynamodb:ConditionCheckItem",
}

failures = []


def fail(message):
    failures.append(message)


def camel(name):
    return "".join(part.capitalize() for part in name.split("-"))


def load_template(name):
    return yaml.safe_load((CFN / name).read_text())


# The DynamoDB adapter: the only code that talks to the table.
STORE_DIR = ROOT / "shared/adapters/src/store"

def function_crates():
    return sorted(p.parent.name for p in (ROOT / "functions").glob("*/Cargo.toml"))


# ---- the store: which actions on which resources each method needs -------------------------

def store_methods():
    """{method: set of (action, resource)}, resource "table" or an index name."""
    source = "\n".join(p.read_text() for p in sorted(STORE_DIR.glob("*.rs")))
    consts = dict(re.findall(r'pub const (\w+): &str = "(\w+)";', source))
    # Split into methods: from one `fn name(` to the next.
    bodies = {}
    parts = re.split(r"\n\s*(?:pub(?:\([^)]*\))? )?(?:async )?fn (\w+)", source)
    for name, body in zip(parts[1::2], parts[2::2]):
        bodies[name] = body
    direct = {}
    for name, body in bodies.items():
        grants = set()
        indexes = {consts[c] for c in re.findall(r"index::(\w+)", body) if c in consts}
        # A transaction's items may be built in a helper (`RelatedWrite::transact_item`).
        for item in re.findall(r"TransactWriteItem::builder\(\)\s*\.(put|update|delete|condition_check)\(", body):
            grants.add((TRANSACT_ITEMS[item], "table"))
        for call in re.findall(r"\.(\w+)\(\)", body):
            if call == "transact_write_items":
                for item in re.findall(r"\.(put|update|delete|condition_check)\(", body):
                    grants.add((TRANSACT_ITEMS[item], "table"))
            elif call == "query":
                for idx in (indexes or {"table"}):
                    grants.add(("dynamodb:Query", idx))
            elif call in SDK_ACTIONS:
                grants.add((SDK_ACTIONS[call], "table"))
        direct[name] = grants
    # Methods calling other methods or helpers (`self.list_conversations(`,
    # `r.transact_item(`) need their grants too.
    calls = {n: set(re.findall(r"(\w+)\(", b)) & set(bodies) for n, b in bodies.items()}

    def closure(name, seen=()):
        grants = set(direct.get(name, set()))
        for callee in calls.get(name, ()):
            if callee not in seen:
                grants |= closure(callee, seen + (name,))
        return grants

    grants = {name: closure(name) for name in bodies}
    grants.update(NARROWED)
    return grants, consts, calls


def strip_tests(source):
    cut = source.find("#[cfg(test)]")
    return source if cut < 0 else source[:cut]


def reachable_store_methods(function, store_grants):
    """The store methods the function's code can reach, by name, through the shared crates."""
    defs = {}
    for path in (ROOT / "shared").rglob("*.rs"):
        parts = re.split(r"\n\s*(?:pub(?:\([^)]*\))? )?(?:async )?fn (\w+)", strip_tests(path.read_text()))
        for name, body in zip(parts[1::2], parts[2::2]):
            defs[name] = defs.get(name, "") + body
    called = lambda text: set(re.findall(r"(\w+)\s*(?:::<[^>]*>)?\(", text))
    source = "\n".join(strip_tests(p.read_text()) for p in (ROOT / "functions" / function / "src").glob("*.rs"))
    seen, todo = set(), called(source)
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo |= called(defs.get(name, ""))
    return {name for name in seen if store_grants.get(name)}


def role_grants(template, function):
    """The (action, resource) pairs the function's role allows, resources named as above."""
    role = template["Resources"].get(f"{camel(function)}Role")
    if role is None:
        return None
    grants = set()
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if statement["Sid"] == "Logs":
                continue
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            for resource in resources:
                grants |= {(a, resource_name(resource)) for a in actions}
    return grants


def resource_name(resource):
    if resource == "*":
        return "*"
    if resource == {"Ref": "TableArn"}:
        return "table"
    if resource == {"Ref": "TableStreamArn"}:
        return "stream"
    if resource == {"Ref": "OnFailureQueueArn"}:
        return "queue"
    sub = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
    match = re.fullmatch(r"\$\{TableArn\}/index/(\w+)", sub)
    if match:
        return match.group(1)
    return f"unrecognised resource {resource!r}"


def check_roles(functions):
    methods, _, store_calls = store_methods()
    template = load_template("functions.yaml")
    for function in functions:
        if function not in STORE_CALLS:
            fail(f"{function}: no STORE_CALLS entry in infra/check_infra.py (list the store methods its code calls)")
            continue
        expected = set(EXTRA_GRANTS.get(function, set()))
        for method in STORE_CALLS[function]:
            if method not in methods:
                fail(f"{function}: STORE_CALLS names {method}, which the store no longer has")
                continue
            expected |= methods[method]
        granted = role_grants(template, function)
        if granted is None:
            fail(f"{function}: no {camel(function)}Role in functions.yaml")
            continue
        for action, resource in sorted(expected - granted):
            fail(f"{function}: its code calls {action} on {resource}, which its role does not grant")
        for action, resource in sorted(granted - expected):
            fail(f"{function}: its role grants {action} on {resource}, which its code does not call")
        if any(a == "dynamodb:Scan" for a, _ in expected):
            fail(f"{function}: calls Scan (docs/architecture.md: no request path scans)")
        log_group = template["Resources"].get(f"{camel(function)}LogGroup", {})
        if log_group.get("Properties", {}).get("LogGroupName") != {"Fn::Sub": f"/aws/lambda/${{Stack}}-{function}"}:
            fail(f"{function}: no log group /aws/lambda/${{Stack}}-{function} in functions.yaml")
    for key in template["Resources"]:
        match = re.fullmatch(r"(\w+)Role", key)
        if match and match.group(1) not in {camel(f) for f in functions}:
            fail(f"functions.yaml: {key} belongs to no function crate")
    # Each list holds what the function's code reaches (methods a listed method calls
    # itself, like commit_with -> related_transact_item, need no line of their own).
    for function in functions:
        listed = set(STORE_CALLS.get(function, []))
        covered, todo = set(), set(listed)
        while todo:
            name = todo.pop()
            if name not in covered:
                covered.add(name)
                todo |= store_calls.get(name, set())
        reachable = reachable_store_methods(function, methods)
        for method in sorted(reachable - covered):
            fail(f"{function}: its code reaches store.{method}, missing from STORE_CALLS")
        for method in sorted(listed - reachable):
            fail(f"{function}: STORE_CALLS lists store.{method}, which its code no longer reaches")


# ---- routes --------------------------------------------------------------------------------

def template_routes():
    resources = load_template("wiring.yaml")["Resources"]
    integrations = {}
    for key, r in resources.items():
        if r["Type"] == "AWS::ApiGatewayV2::Integration":
            uri = r["Properties"]["IntegrationUri"]["Fn::Sub"]
            integrations[key] = re.search(r"function:\$\{Stack\}-([a-z-]+):live$", uri).group(1)
    routes = set()
    for r in resources.values():
        if r["Type"] == "AWS::ApiGatewayV2::Route":
            method, path = r["Properties"]["RouteKey"].split(" ", 1)
            target = re.fullmatch(r"integrations/\$\{(\w+)\}", r["Properties"]["Target"]["Fn::Sub"]).group(1)
            routes.add((method, path, integrations[target]))
    return routes


def local_routes():
    source = (ROOT / "infra/local/src/gateway.rs").read_text()
    table = source[source.index("pub const ROUTES"):]
    table = table[: table.index("];")]
    found = re.findall(r'\(\s*"([A-Z]+)",\s*"([^"]+)",\s*Function::(\w+),?\s*\)', table)
    kebab = lambda name: re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()
    return {(m, p, kebab(f)) for m, p, f in found}


def crate_routes(functions):
    routes = set()
    for function in functions:
        lib = ROOT / "functions" / function / "src" / "lib.rs"
        doc = lib.read_text().split("\n\n", 1)[0] if lib.exists() else ""
        first = "\n".join(line for line in doc.splitlines() if line.startswith("//!"))
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)", first):
            routes.add((method, path, function))
    return routes


def check_routes(functions):
    cfn, local, crates = template_routes(), local_routes(), crate_routes(functions)
    for name, other in (("the local stack's gateway.rs", local), ("the function crates' docs", crates)):
        for route in sorted(cfn - other):
            fail(f"route {route[0]} {route[1]} -> {route[2]} is in wiring.yaml but not in {name}")
        for route in sorted(other - cfn):
            fail(f"route {route[0]} {route[1]} -> {route[2]} is in {name} but not in wiring.yaml")
    if not cfn:
        fail("wiring.yaml declares no routes")


# ---- functions: one of everything each ---------------------------------------------------------

def check_function_set(functions):
    wiring = load_template("wiring.yaml")["Resources"]
    alarms = {k[: -len("ErrorsAlarm")] for k in wiring if k.endswith("ErrorsAlarm")}
    if alarms != {camel(f) for f in functions}:
        fail(f"wiring.yaml errors alarms {sorted(alarms)} differ from the function crates {functions}")
    deploy = (ROOT / "infra/deploy.sh").read_text()
    for function in functions:
        manifest = (ROOT / "functions" / function / "Cargo.toml").read_text()
        if "[package.metadata.lambda.deploy]" not in manifest:
            fail(f"{function}: no [package.metadata.lambda.deploy] in its Cargo.toml")
        if not re.search(rf"^\s*{re.escape(function)}\) echo ", deploy, re.M):
            fail(f"{function}: no secrets_for entry in infra/deploy.sh")


def check_secrets(functions):
    deploy = (ROOT / "infra/deploy.sh").read_text()
    given = {m.group(1): set(m.group(2).split()) for m in re.finditer(r'^\s*([a-z-]+)\) echo "([A-Z_ ]*)" ;;', deploy, re.M)}
    for function in functions:
        main = (ROOT / "functions" / function / "src" / "main.rs").read_text()
        needs = set(re.findall(r"(whatsapp_send|webhook_secrets|admin_tokens):\s*true", main))
        expected = set()
        if "admin_tokens" in needs:
            expected.add("JWT_SECRET")
        if "whatsapp_send" in needs:
            expected.add("WHATSAPP_ACCESS_TOKEN")
        if "webhook_secrets" in needs:
            expected |= {"WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"}
        if function in given and given[function] != expected:
            fail(f"{function}: deploy.sh gives it {sorted(given[function])}, its Needs require {sorted(expected)}")


# ---- the table -----------------------------------------------------------------------------

def check_table():
    try:
        foundations = load_template("foundations.yaml")  # no !Tags: the local stack reads it
    except yaml.YAMLError as e:
        fail(f"foundations.yaml is not plain YAML (the local stack's schema.rs parses it): {e}")
        return
    tables = [k for k, r in foundations["Resources"].items() if r["Type"] == "AWS::DynamoDB::Table"]
    if tables != ["Table"]:
        fail(f"foundations.yaml must hold exactly one table, named Table: {tables}")
        return
    props = foundations["Resources"]["Table"]["Properties"]
    for other in sorted(CFN.glob("*.yaml")):
        if other.name != "foundations.yaml" and "AWS::DynamoDB::Table" in other.read_text():
            fail(f"{other.name} defines a table: the table exists once, in foundations.yaml")
    defined = {g["IndexName"] for g in props.get("GlobalSecondaryIndexes", [])}
    index_block = (STORE_DIR / "mod.rs").read_text()
    named = set(re.findall(r'pub const \w+: &str = "(\w+)";', index_block[index_block.index("pub mod index"):].split("}")[0]))
    for name in sorted(named - defined):
        fail(f"the store queries index {name}, which foundations.yaml does not define")
    expected = {
        "BillingMode": "PAY_PER_REQUEST", "DeletionProtectionEnabled": True,
        "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
        "StreamSpecification": {"StreamViewType": "NEW_AND_OLD_IMAGES"},
        "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": True},
    }
    for key, value in expected.items():
        if props.get(key) != value:
            fail(f"foundations.yaml Table {key} is {props.get(key)!r}, docs/storage.md wants {value!r}")


# ---- security headers -----------------------------------------------------------------------

def check_headers():
    source = (ROOT / "infra/local/src/static_site.rs").read_text()
    match = re.search(r'CONTENT_SECURITY_POLICY: &str = "((?:[^"\\]|\\\n\s*|\\.)*)"', source)
    csp = re.sub(r"\\\n\s*", "", match.group(1)) if match else None
    local = dict(re.findall(r'h\.insert\(\s*"([a-z-]+)",\s*HeaderValue::from_static\("([^"]+)"\)', source))
    policy = load_template("wiring.yaml")["Resources"]["SecurityHeadersPolicy"]
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    served = {
        "content-security-policy": headers["ContentSecurityPolicy"]["ContentSecurityPolicy"],
        "x-content-type-options": "nosniff" if "ContentTypeOptions" in headers else None,
        "x-frame-options": headers.get("FrameOptions", {}).get("FrameOption"),
        "referrer-policy": headers.get("ReferrerPolicy", {}).get("ReferrerPolicy"),
    }
    if csp is None or served["content-security-policy"] != csp:
        fail(f"CloudFront's CSP differs from static_site.rs:\n  {served['content-security-policy']}\n  {csp}")
    for name, value in local.items():
        if name != "content-security-policy" and served.get(name) != value:
            fail(f"CloudFront serves {name}: {served.get(name)!r}, the local stack {value!r}")


def check_stream_batch():
    mapping = load_template("wiring.yaml")["Resources"]["InboundStream"]["Properties"]
    local = re.search(r"pub const BATCH_SIZE: usize = (\d+);",
                      (ROOT / "infra/local/src/stream.rs").read_text())
    if not local or int(local.group(1)) != mapping["BatchSize"]:
        fail(f"the stream's BatchSize is {mapping['BatchSize']} in wiring.yaml but "
             f"{local.group(1) if local else 'missing'} in infra/local/src/stream.rs")


def main():
    functions = function_crates()
    check_stream_batch()
    check_table()
    check_routes(functions)
    check_function_set(functions)
    check_roles(functions)
    check_secrets(functions)
    check_headers()
    if failures:
        print("infra/check_infra.py: the templates and the code disagree:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"infra/check_infra.py: templates agree with the code ({len(functions)} functions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
