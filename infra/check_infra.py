#!/usr/bin/env python3
"""Checks that the CloudFormation templates agree with the code (run by `make test`).

- Routes: the HTTP API routes in wiring.yaml, the routes the function crates declare (first
  doc line of src/lib.rs) and the local stack's gateway (infra/local/src/gateway.rs) are the
  same set, each to the same function; so are the WebSocket API's routes (`$connect`) and
  those the crates declare; API Gateway may invoke each integration's live alias.
- Functions: every crate under functions/ has a role, a log group and an errors alarm, a
  deploy section in its Cargo.toml and an entry in infra/deploy.sh; nothing else does.
- Roles: each function's role grants exactly what its code calls. STORE_CALLS below holds,
  per function, the `Store` methods it calls (directly or through edubot-adapters); the DynamoDB
  actions and table/index ARNs of each method are read from the DynamoDB adapter (shared/adapters/src/store/*.rs).
- Keys: each role's DynamoDB statements name, in `dynamodb:LeadingKeys`, exactly the partition
  keys (and index partitions) its code touches, read from the store's key builders and
  constants; only admin management may write ADMIN# items, only sign-in read password hashes
  (DESIGN §8).
- WAF: waf.yaml's web ACL (us-east-1, attached to CloudFront by wiring.yaml) limits sign-in and
  the admin API per address with 429s, never /webhook; API Gateway's sign-in throttle stays a
  backstop far above what one address may send.
- Media (DESIGN §12): each role's S3 statements allow exactly the (action, key prefix) pairs
  of the MediaFiles methods its code reaches: MEDIA_FILE_ACCESS below says which actions each
  method applies to which kind of key, and is held to the S3 adapter (a row per method of its
  impl, the actions its SDK calls need, no S3 call outside those methods); the prefixes come
  from the *_object_key builders. Never s3:*, a wildcard action or the whole bucket; a
  function whose code uses the bucket says so in its `Needs` (media: true). The media bucket
  is private, encrypted, unversioned and retained; its lifecycle aborts incomplete uploads,
  expires every upload area and never the history (media/); its CORS allows only the page's
  origin, PUT and GET, Content-Type.
- Reach: what a function's code reaches (store methods, MediaFiles methods) is read from a
  call graph of the Rust sources by name: comments and strings left out, a plain call
  resolved to its own file's fn of that name first, as Rust does.
- Stream: at most two event source mappings read the table's stream (DESIGN §12); each
  reports item failures, bisects, retries a bounded number of times, gives records up after
  an age to an on-failure queue of its own, and has an iterator-age and a queue-depth alarm;
  the inbound processor's filter takes INSERTs of inbound messages on the unprocessed index
  (what the store writes, and what `inserted_inbound_message`, the local stack's filter,
  checks); push's takes INSERTs and MODIFYs of messages and conversations (the sort keys
  the store writes, and what `desk_change`, push's and the local stack's filter, checks).
- Asynchronous invocations: a function the code invokes (desk-events, by push) has an
  EventInvokeConfig on its live alias with bounded retries and age, an on-failure queue of
  its own its role may send to, a depth alarm, and reads no stream.
- Real time (DESIGN §16): a role may post to (ManageConnections POST) or close (DELETE) the
  WebSocket API's connections, or invoke a function's live alias, exactly where the code
  reaches `.pusher().post(`, `.pusher().close(` or `.invoker().invoke_async(` (PUSHER_ACCESS
  held to the adapter); Needs match; the API's stage is the one its URLs and the roles'
  ARNs name; its access logs leave the query string (the ticket) out; deploy.sh gives the
  functions WEBSOCKET_URL, WEBSOCKET_CALLBACK_URL and DESK_EVENTS_FUNCTION from the
  functions stack's outputs.
- Settings: the settings a function's `Needs` require are among the deploy's required ones.
- Secrets: infra/deploy.sh gives each function exactly the secrets its `Needs` requires.
- Table: foundations.yaml reads as plain YAML (the local stack parses its Table resource),
  holds the only table, and defines every index the store names.
- Headers: CloudFront's response headers policy carries the local stack's CSP and headers;
  the CSP adds the media bucket's regional host to img-src, media-src and connect-src, and
  the WebSocket API's host to connect-src, and nothing else.
- Stream batches: the local stack reads each mapping's BatchSize and ParallelizationFactor
  from wiring.yaml, so it batches the stream as the deployed mapping does.
"""

import functools
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
    "admin-login": ["count_use", "get_admin", "uncount_use", "put_audit"],
    "list-conversations": ["admin_access", "list_conversations", "search_conversations"],
    "get-messages": ["admin_access", "get_conversation", "messages_page", "enquiries"],
    "send-message": [
        "admin_access", "count_use", "get_conversation", "get_message", "get_attachment",
        "take_attachment", "commit_with",
        "mark_sent", "mark_failed", "mark_retry",
    ],
    "end-chat": [
        "admin_access", "get_conversation", "commit_with", "mark_sent", "mark_failed", "mark_retry",
    ],
    "dashboard": ["admin_access", "conversations_in_support", "ratings_since"],
    "activation-codes": ["admin_access", "put_activation_code"],
    "retry-message": [
        "admin_access", "count_use", "get_conversation", "get_message",
        "reopen_failed_admin_message", "mark_sent", "mark_failed", "mark_retry",
    ],
    "scheduled-checks": [
        "conversations_in_support", "get_conversation", "get_activation_code", "commit_with",
        "due_sends", "claim_send", "unprocessed_anywhere", "unprocessed_messages",
        "mark_sent", "mark_failed", "mark_retry", "due_media_fetches", "get_message", "record_media",
        "lease_media_fetch",
        # revoked admins' WebSocket connections: listed, each admin read once, closed, forgotten
        "connections", "admin_access", "delete_connection",
    ],
    "desk-events": ["get_message", "lease_media_fetch", "record_media"],
    "get-media": ["admin_access", "get_message"],
    "create-attachment": ["admin_access", "get_conversation", "put_attachment"],
    "list-templates": ["admin_access"],
    "send-template": [
        "admin_access", "count_use", "get_conversation", "commit_with",
        "mark_sent", "mark_failed", "mark_retry",
    ],
    "mark-read": [
        "admin_access", "get_conversation", "claim_read_mark", "release_read_mark", "mark_all_read",
    ],
    "typing": [
        "admin_access", "get_conversation", "throttle", "claim_read_mark", "release_read_mark",
    ],
    "ws-ticket": ["admin_access", "put_ticket"],
    "ws-connect": ["take_ticket", "admin_access", "put_connection"],
    "ws-disconnect": ["delete_connection"],
    # the desk's figures (DESIGN §17): each event counted once, with its marker
    "push": ["connections", "delete_connection", "count_figures"],
    # The team desk (DESIGN §15). Each change is one transaction with its audit entry.
    "list-admins": ["admin_access", "list_admins"],
    "create-admin": ["admin_access", "create_admin"],
    # disabling reads the team first: the last enabled supervisor stays
    "disable-admin": ["admin_access", "list_admins", "set_admin_disabled"],
    "enable-admin": ["admin_access", "set_admin_disabled"],
    "set-admin-password": ["admin_access", "set_admin_password"],
    # the admin assigned to must be enabled (admin_access of that admin)
    "assign-conversation": ["admin_access", "get_conversation", "commit_with"],
    "add-note": ["admin_access", "get_conversation", "commit_with"],
    "list-canned-replies": ["admin_access", "canned_replies"],
    # the list is read first: at most 200
    "create-canned-reply": ["admin_access", "canned_replies", "create_canned_reply"],
    "delete-canned-reply": ["admin_access", "delete_canned_reply"],
    "audit-log": ["admin_access", "audit_entries"],
    # the desk's figures (DESIGN §17): two Queries of the aggregates, never a write
    "reports": ["admin_access", "figures"],
}

# Where reading the code over-approximates: `conversations_in_support` calls
# `list_conversations(true, ..)`, which only touches the support index.
NARROWED = {
    "conversations_in_support": {("dynamodb:Query", "gsi_support")},
}

# Grants a role holds besides the table, the media bucket and real time's (derived from the
# code: REALTIME below), per function: stream reading and the on-failure destination belong
# to the function's event source mapping, or, for a function invoked asynchronously, to its
# EventInvokeConfig; each has a queue of its own. check_streams and check_async_invocations
# hold this list to wiring.yaml.
STREAM_READING = {
    ("dynamodb:DescribeStream", "stream"), ("dynamodb:GetRecords", "stream"),
    ("dynamodb:GetShardIterator", "stream"), ("dynamodb:ListStreams", "*"),
}
EXTRA_GRANTS = {
    "inbound-processor": STREAM_READING | {("sqs:SendMessage", "queue")},
    "push": STREAM_READING | {("sqs:SendMessage", "push queue")},
    # push hands it files with an asynchronous invoke: its on-failure destination only.
    "desk-events": {("sqs:SendMessage", "desk-events queue")},
}
# The foundations outputs (functions.yaml and wiring.yaml parameters) naming each queue.
QUEUE_PARAMETERS = {
    "queue": "OnFailureQueue", "desk-events queue": "DeskEventsFailureQueue",
    "push queue": "PushFailureQueue",
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

TRANSACT_ITEM = re.compile(r"TransactWriteItem::builder\(\)\s*\.(put|update|delete|condition_check)\(")

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
    bodies = store_fns()
    direct = {name: direct_grants(body, consts) for name, body in bodies.items()}
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
    return grants, consts, calls, direct


def direct_grants(body, consts):
    """The (action, resource) pairs one fn's own SDK calls need."""
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
            # `.set_index_name(Some(..) or None)`: an index, or the table itself.
            if indexes and ".set_index_name(" in body:
                grants.add(("dynamodb:Query", "table"))
        elif call in SDK_ACTIONS:
            grants.add((SDK_ACTIONS[call], "table"))
    return grants


def split_fns(source):
    """{fn name: its text}, each from one `fn name(` to the next; same names joined."""
    bodies = {}
    parts = re.split(r"\n\s*(?:pub(?:\([^)]*\))? )?(?:async )?fn (\w+)", source)
    for name, body in zip(parts[1::2], parts[2::2]):
        bodies[name] = bodies.get(name, "") + body
    return bodies


def store_fns(transform=lambda text: text):
    """The store's fns by name, split file by file (a file's preamble is no fn's body)."""
    bodies = {}
    for path in sorted(STORE_DIR.glob("*.rs")):
        for name, body in split_fns(transform(path.read_text())).items():
            bodies[name] = bodies.get(name, "") + body
    return bodies


def strip_tests(source):
    """The source without its `#[cfg(test)]` items (`mod tests { .. }`, `mod tests;`, a
    test-only `use` or fn): each up to its first `;` or through its `{ .. }`, whichever
    comes first."""
    code = blank_comments_and_strings(source)
    kept, i = [], 0
    for m in re.finditer(r"#\[cfg\(test\)\]", code):
        if m.start() < i:
            continue
        semi, brace = code.find(";", m.end()), code.find("{", m.end())
        if brace >= 0 and (semi < 0 or brace < semi):
            depth, end = 1, brace + 1
            while depth and end < len(code):
                depth += {"{": 1, "}": -1}.get(code[end], 0)
                end += 1
        else:
            end = len(code) if semi < 0 else semi + 1
        kept.append(source[i:m.start()])
        i = end
    return "".join(kept) + source[i:]


# ---- the call graph: which fns a function's code can reach ---------------------------------
#
# Read from the source by name, as Rust resolves names as far as text shows it: a method call
# (`.copy(`) may be any method of that name; a path (`media::media_link(`, or a fn named
# without a call, `.filter(Media::is_pending)`) any fn of that name; a plain call
# (`media_link(`) the file's own free fn of that name when it has one (a local item wins in
# Rust: delivery.rs's private `media_link` is not app::media's), else any fn of that name.
# Comments and string literals hold no calls. Where text cannot tell, every candidate counts:
# a missing grant is an outage, an extra one only a failed check to refine.

LEXEMES = re.compile(r"""//|/\*|(?<!\w)b?r#*"|(?<!\w)b?"|'""")
CHAR_LITERAL = re.compile(r"""'(?:[^\\'\n]|\\(?:u\{[0-9a-fA-F]{1,6}\}|x[0-9a-fA-F]{2}|.))'""")
FN_HEADER = re.compile(r"\n([ \t]*)(?:pub(?:\([^)]*\))?\s+)?(?:const\s+)?(?:async\s+)?(?:unsafe\s+)?fn\s+(\w+)")
# `name(`, `.name(`, `path::name(`, `name::<T>(`, `name::<Vec<T>>(`.
CALL = re.compile(r"(\.|::)?\s*\b(\w+)\s*(?:::\s*<(?:[^<>]|<[^<>]*>)*>)?\s*\(")
# A fn named by its path but not called here (passed on: `.map_err(AppError::invalid)`).
PATH_REFERENCE = re.compile(r"::\s*([a-z_]\w*)\b(?!\s*(?:::|\(|!))")


def blank_comments_and_strings(source):
    """The source with comments and the contents of string and char literals blanked (same
    length, same lines): what is left is code."""
    out = list(source)

    def blank(start, end):
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "

    i = 0
    while True:
        m = LEXEMES.search(source, i)
        if m is None:
            return "".join(out)
        token, start = m.group(0), m.start()
        if token == "//":
            end = source.find("\n", start)
            end = len(source) if end < 0 else end
            blank(start, end)
        elif token == "/*":
            end = source.find("*/", start + 2)
            end = len(source) if end < 0 else end + 2
            blank(start, end)
        elif token == "'":
            char = CHAR_LITERAL.match(source, start)
            end = char.end() if char else start + 1  # else a lifetime
            if char:
                blank(start + 1, end - 1)
        elif "r" in token:  # a raw string: up to `"` and as many `#`
            closing = '"' + "#" * token.count("#")
            end = source.find(closing, m.end())
            end = len(source) if end < 0 else end + len(closing)
            blank(m.end(), end - len(closing))
        else:
            k = m.end()
            while k < len(source) and source[k] != '"':
                k += 2 if source[k] == "\\" else 1
            blank(m.end(), min(k, len(source)))
            end = k + 1
        i = max(end, start + 1)


class Fn:
    """One fn (or several of one name in one file): its text, its text as code only, and
    whether it is a free fn (at the file's top level, not a method)."""

    def __init__(self):
        self.raw, self.code, self.free = "", "", False


def file_fns(path):
    """{name: Fn} of one file, each from its `fn name` to the next fn (tests left out)."""
    raw = "\n" + strip_tests(path.read_text())  # a fn on the first line starts a line too
    code = blank_comments_and_strings(raw)
    headers = list(FN_HEADER.finditer(code))
    fns = {}
    for header, after in zip(headers, headers[1:] + [None]):
        end = after.start() if after else len(code)
        fn = fns.setdefault(header.group(2), Fn())
        fn.raw += raw[header.end():end]
        fn.code += code[header.end():end]
        fn.free |= header.group(1) == ""
    return fns


@functools.cache
def code_graph():
    """{(path, name): Fn} of the shared crates, and {name: nodes}, {name: method nodes}."""
    nodes = {}
    for path in sorted((ROOT / "shared").rglob("*.rs")):
        for name, fn in file_fns(path).items():
            nodes[(path, name)] = fn
    named, methods = {}, {}
    for (path, name), fn in nodes.items():
        named.setdefault(name, set()).add((path, name))
        if not fn.free:
            methods.setdefault(name, set()).add((path, name))
    return nodes, named, methods


def callees(code, local):
    """The shared fns `code` can call; `local(name)` answers the node of a free fn of that
    name in the caller's own file (or crate), None if there is none, or "crate" for one of a
    function crate (its text is read whole)."""
    _, named, methods = code_graph()
    found = set()
    for m in CALL.finditer(code):
        kind, name = m.group(1), m.group(2)
        if kind == ".":
            found |= methods.get(name, set())
        elif kind == "::":
            found |= named.get(name, set())
        else:
            own = local(name)
            if own == "crate":
                continue
            found |= {own} if own else named.get(name, set())
    for m in PATH_REFERENCE.finditer(code):
        found |= named.get(m.group(1), set())
    return found


def function_files(function):
    return sorted((ROOT / "functions" / function / "src").rglob("*.rs"))


def function_source(function):
    return "\n".join(strip_tests(p.read_text()) for p in function_files(function))


@functools.cache
def reached_nodes(function):
    """The shared fns, as (path, name), the function's code can reach."""
    nodes, _, _ = code_graph()
    own = {name for p in function_files(function) for name, fn in file_fns(p).items() if fn.free}
    code = blank_comments_and_strings(function_source(function))
    todo = callees(code, lambda name: "crate" if name in own else None)
    seen = set()
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        path = node[0]
        local = lambda name: (path, name) if nodes.get((path, name)) and nodes[(path, name)].free else None
        todo |= callees(nodes[node].code, local)
    return frozenset(seen)


def reached_fns(function):
    """The names of the fns the function's code can reach, through the shared crates."""
    return frozenset(name for _, name in reached_nodes(function))


def reached_text(function, without_store=False):
    """The function's code and that of every shared fn it reaches (the store's left out if asked)."""
    nodes, _, _ = code_graph()
    return function_source(function) + "".join(
        nodes[node].raw for node in sorted(reached_nodes(function))
        if not (without_store and STORE_DIR in node[0].parents))


def reachable_store_methods(function, store_grants):
    """The store methods the function's code can reach, by name, through the shared crates."""
    return {name for name in reached_fns(function) if store_grants.get(name)}


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
    for name, parameter in QUEUE_PARAMETERS.items():
        if resource == {"Ref": f"{parameter}Arn"}:
            return name
    if resource == {"Ref": "MediaBucketArn"}:
        return "bucket"
    sub = resource.get("Fn::Sub", "") if isinstance(resource, dict) else ""
    # Another function of the stack, its live alias only: "function:desk-events".
    match = re.fullmatch(r"arn:\$\{AWS::Partition\}:lambda:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                         r"function:\$\{Stack\}-([a-z-]+):live", sub)
    if match:
        return f"function:{match.group(1)}"
    # The WebSocket API's connections, one management method, on its stage: "connections:POST".
    match = re.fullmatch(r"arn:\$\{AWS::Partition\}:execute-api:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                         rf"\$\{{{WEBSOCKET_API}\}}/{WEBSOCKET_STAGE}/([A-Z]+)/@connections/\*", sub)
    if match:
        return f"connections:{match.group(1)}"
    match = re.fullmatch(r"\$\{TableArn\}/index/(\w+)", sub)
    if match:
        return match.group(1)
    match = re.fullmatch(r"\$\{MediaBucketArn\}(/.*)?", sub)
    if match:
        # Objects under a key prefix ("bucket:media/*"); "bucket" is the bucket itself.
        return "bucket" + (":" + match.group(1)[1:] if match.group(1) else "")
    return f"unrecognised resource {resource!r}"


def check_roles(functions):
    methods, _, store_calls, _ = store_methods()
    template = load_template("functions.yaml")
    for function in functions:
        if function not in STORE_CALLS:
            fail(f"{function}: no STORE_CALLS entry in infra/check_infra.py (list the store methods its code calls)")
            continue
        expected = set(EXTRA_GRANTS.get(function, set())) | set(realtime_grants(function))
        for method in STORE_CALLS[function]:
            if method not in methods:
                fail(f"{function}: STORE_CALLS names {method}, which the store no longer has")
                continue
            expected |= methods[method]
        granted = role_grants(template, function)
        if granted is None:
            fail(f"{function}: no {camel(function)}Role in functions.yaml")
            continue
        granted = {(a, r) for a, r in granted if not a.startswith("s3:")}  # check_media's
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


# ---- keys: which partition keys each role may touch (DESIGN §8) -----------------------------
#
# Every DynamoDB statement of a role names the partition keys it may touch, as a
# `ForAllValues:StringLike` condition on `dynamodb:LeadingKeys` (for a Query on an index:
# the index's partition value). The check derives the same list from the code and wants the
# two equal, both ways: a key the role lacks is an AccessDenied in production that no local
# test sees (DynamoDB Local ignores IAM); a key the code never uses is room for a flaw.
#
# Where a key comes from, in the store (shared/adapters/src/store):
# - a key builder, `fn conversation_pk(..) -> String { format!("CONV#{phone}") }`: "CONV#*".
#   `rate_pk` gives "RATE#{scope}#*", the scope being the first argument of the store call
#   (`count_use("send-admin", ..)`), read from the code each function reaches;
# - a constant written as a table partition (`pk: RATINGS.into()`): "RATINGS"; or passed to
#   `key(..)` as one, directly or through a variable (`let (pk, sk) = match .. { .. =>
#   (DAYS.to_owned(), ..) }; key(pk, sk)`); or bound to the table's `pk` in a Query's key
#   condition, directly or through a parameter the store's callers pass it for
#   (`self.aggregates(DAYS, ..)` with `":pk", s(partition)`): "REPORT#DAY";
# - for a Query on an index, the constant its key condition binds to the index's partition
#   (`gsi_pending_pk = :p` with `":p", s(PENDING)`): "PENDING"; bound to a variable (the
#   index chosen at run time), the constants the store writes into that index's partition
#   attribute (`gsi_support_pk: .. IN_SUPPORT ..`): "SUPPORT".
# - a transaction item built by a helper that builds several (`figures_transaction`: a
#   marker Put, aggregate Updates): the keys of what that item is built from, its argument
#   and the `let` bindings of the variables in it, followed (item_slice), where that tells
#   its keys; else (an item that is a closure's parameter) every key the helper builds.
# Keys are matched to actions per fn that calls the table: a fn's calls are allowed the keys
# it builds itself or in helpers that call the table nowhere (apply_status reads WAMID# in
# wamid_pointer and updates CONV# itself: GetItem on WAMID#, UpdateItem on CONV#). A fn
# that builds no key (given its keys, as `aggregates`) is allowed every key its method
# builds. Finer would need data flow, and a miss is an outage.

# Item-level actions, the ones LeadingKeys governs (streams and queues are not items).
ITEM_ACTIONS = {
    "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem", "dynamodb:Query", "dynamodb:Scan",
    "dynamodb:BatchGetItem", "dynamodb:BatchWriteItem",
}
READ_ACTIONS = {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"}
WRITE_ACTIONS = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}

# DESIGN §8: only admin management writes ADMIN# items; only sign-in reads password hashes
# (admin management writes them, and reads accounts with projections like the rest). The
# supervisors' functions (DESIGN §15) manage accounts; so does the edubot-admin command
# (infra/admin-cli, `make admin`), with an operator's credentials, outside these roles.
ADMIN_MANAGEMENT = {"create-admin", "disable-admin", "enable-admin", "set-admin-password"}
SIGN_IN = {"admin-login"}
PASSWORD_HASH = "password_hash"  # the attribute (AdminItem in store/items.rs)

# Functions whose code still reads whole ADMIN# items to check a token (AdminGate ->
# get_admin, no ProjectionExpression). The hash is an attribute of the same item, and
# LeadingKeys cannot split an item: until the read names its attributes, the role reads
# hashes too. Reported as a warning on every run; a function leaves this list when its read
# has a projection (the check then says which dynamodb:Attributes condition its role needs).
WHOLE_ADMIN_READS_TO_NARROW = set()

warnings = []


def warn(message):
    warnings.append(message)


def without_comments(source):
    return re.sub(r"//[^\n]*", "", source)


CONST_DEFINITION = re.compile(r'(?:pub(?:\([^)]*\))?\s+)?const \w+: &str = "[^"]*";')


# A bot turn's related writes are one match on RelatedWrite in the store
# (related_transact_item): each arm's keys count only for a function whose code builds that
# variant. Only the bot's turn does (processor.rs); an admin's reply commits none.
ARMS = "RelatedWrite"


class StoreKeys:
    """The partition keys the store's methods touch, read from the store's source."""

    def __init__(self, grants, calls, direct):
        source = without_comments("\n".join(p.read_text() for p in sorted(STORE_DIR.glob("*.rs"))))
        # A fn's text runs to the next fn, so it may hold a constant defined after it
        # (`fn ticket_pk` .. `pub const CONNECTIONS`): definitions are no use of a key.
        self.bodies = store_fns(lambda text: CONST_DEFINITION.sub("", without_comments(text)))
        self.calls, self.direct = calls, direct
        # `pub mod index` names indexes; every other string constant is a key part.
        consts = re.sub(r"pub mod index \{.*?\n\}", "", source, flags=re.S)
        self.consts = dict(re.findall(r'const (\w+): &str = "([^"]*)";', consts))
        self.builders = self.key_builders(source)
        self.table_consts = set(re.findall(r"\bpk:\s*([A-Z][A-Z0-9_]+)\b", source))
        self.table_consts |= self.partition_consts()
        self.index_values = self.index_partitions(source)
        # Builders of index partitions only (`gsi1pk: ..map(audit_phone_partition)`), never
        # of a table key: no table action is allowed on their keys.
        table_use = set(re.findall(r"(?:\bpk:\s*|\bkey\(\s*)(\w+)\(", source))
        self.table_builders = {b: p for b, p in self.builders.items()
                               if b in table_use or b not in self.index_builder_names}
        self.scoped = set(re.findall(r"fn (\w+)\(\s*&self,\s*scope: &str", source))
        self.arms = {name: self.split_arms(body) for name, body in self.bodies.items()
                     if re.search(rf"\b{ARMS}::\w+[^;]*?=>", body)}
        # Fns that build transaction items for others to send (`audit_put`, a conversation's
        # search entries, the turn's related writes): each item's keys are its own, never
        # those of the transaction's other items.
        self.item_builders = {name for name, body in self.bodies.items()
                              if TRANSACT_ITEM.search(body) and ".send()" not in body}
        self.keys = {m: self.method_keys(m, pairs) for m, pairs in grants.items()}

    def expand(self, fmt):
        """A `format!` string with the store's named prefixes written out:
        `"{CONVERSATION_PK_PREFIX}{phone}"` -> `"CONV#{phone}"`."""
        return re.sub(r"\{([A-Z][A-Z0-9_]*)\}", lambda m: self.consts.get(m.group(1), m.group(0)), fmt)

    def key_builders(self, source):
        """{builder: pattern}: `format!("CONV#{phone}")` -> "CONV#*", the text up to the first
        placeholder other than `{scope}`, then IAM's wildcard."""
        builders = {}
        for name, fmt in re.findall(r'fn (\w+_(?:pk|partition))\([^)]*\)\s*->\s*String\s*\{\s*format!\("([^"]*)"', source):
            builders[name] = format_pattern(self.expand(fmt))
        return builders

    def index_partitions(self, source):
        """{index: partition values}: the constants written into each index's partition
        attribute (the attribute named by foundations.yaml)."""
        table = load_template("foundations.yaml")["Resources"]["Table"]["Properties"]
        values, self.index_attrs, self.index_names = {}, {}, {}
        self.index_builder_names = set()
        for index in table.get("GlobalSecondaryIndexes", []):
            attr = next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH")
            self.index_attrs[index["IndexName"]] = attr
            # A field's initializer, up to the next field (it may span lines: `gsi2pk:
            # c.is_chat_support().then(|| match .. { Some(h) => desk_partition(h), None =>
            # UNASSIGNED.into() })`), or an update's `SET gsi2pk = :admins` to its comma.
            written = re.findall(rf"\b{attr}\b\s*:(?!:)(.*?)(?=\n\s*\w+\s*:(?!:)|;|$)", source, re.S)
            written += re.findall(rf"\b{attr}\b\s*=([^;,\n]*)", source)
            text = "\n".join(written)
            # A placeholder of an update expression, bound to a constant (`":admins", s(ADMINS)`).
            for placeholder in re.findall(r":(\w+)", text):
                text += " ".join(re.findall(rf'":{placeholder}",\s*s\(\s*([A-Z][A-Z0-9_]+)\s*\)', source))
            names = set(re.findall(r"\b[A-Z][A-Z0-9_]+\b", text))
            found = {n: self.consts[n] for n in names if n in self.consts}
            found |= {b: p for b, p in self.builders.items() if re.search(rf"\b{b}\b", text)}
            self.index_builder_names |= {b for b in self.builders if re.search(rf"\b{b}\b", text)}
            self.index_names[index["IndexName"]] = found
            values[index["IndexName"]] = set(found.values())
        return values

    @staticmethod
    def index_key_attributes(index):
        """The key attributes of an index (foundations.yaml), besides the table's."""
        table = load_template("foundations.yaml")["Resources"]["Table"]["Properties"]
        return {k["AttributeName"] for i in table.get("GlobalSecondaryIndexes", [])
                if i["IndexName"] == index for k in i["KeySchema"]}

    def queried_partitions(self, own, index):
        """The index partitions the method's Query names: the constants bound to the
        partition in its key condition (`gsi_pending_pk = :p` with `":p", s(PENDING)`),
        among those written to that index. Bound to a variable (the index chosen at run
        time), the values written to the index whose constant or builder the method names
        (`desk_partition(admin)`, `UNASSIGNED`), or every one if it names none."""
        text = "".join(self.bodies.get(n, "") for n in own)
        written = self.index_values.get(index, set())
        named = {v for n, v in self.index_names.get(index, {}).items() if re.search(rf"\b{n}\b", text)}
        # `"#pk", "gsi1pk"` names an attribute; `"#pk", pk_attr` one chosen at run time.
        aliases = {alias: (attr if quote else None) for alias, quote, attr in
                   re.findall(r'\.expression_attribute_names\(\s*"(#\w+)",\s*(")?(\w+)', text)}
        partitions = set(self.index_attrs.values())
        bound, by_variable = set(), False
        for condition in re.findall(r'\.key_condition_expression\(\s*"([^"]*)"', text):
            for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", condition):
                attr = aliases.get(name, name)
                if attr is not None and attr not in partitions:
                    continue  # a sort key, or the table's own pk
                value = re.search(rf'"{placeholder}",\s*s\(\s*(\w+)\s*\)', text)
                if value and value.group(1) in self.consts:
                    bound.add(self.consts[value.group(1)])
                else:
                    by_variable = True
        values = (named or written) if by_variable or not bound else (bound & written or bound)
        return covered(values) or {None}

    @staticmethod
    def split_arms(body):
        """{variant: the text of its arm}."""
        parts = re.split(rf"\b{ARMS}::(\w+)", body)
        arms = {}
        for variant, text in zip(parts[1::2], parts[2::2]):
            arms[variant] = arms.get(variant, "") + text
        return arms

    def reach(self, method, avoid=frozenset()):
        """The method and every store fn it calls, by name (not through `avoid`)."""
        seen, todo = set(), {method}
        while todo:
            name = todo.pop()
            if name not in seen and (name == method or name not in avoid):
                seen.add(name)
                todo |= self.calls.get(name, set())
        return seen

    def table_patterns(self, text, avoid=frozenset()):
        """The table keys built in `text` or in the store fns it calls (arms and item
        builders aside: theirs are their own; nor through `avoid`)."""
        called = set(re.findall(r"(\w+)\(", text)) & set(self.bodies)
        avoid = set(self.arms) | self.item_builders | set(avoid)
        text += "".join(self.bodies[n] for name in called - avoid for n in self.reach(name, avoid))
        patterns = {p for b, p in self.table_builders.items() if re.search(rf"\b{b}\(", text)}
        patterns |= {self.consts[c] for c in self.table_consts
                     if c in self.consts and re.search(rf"\b{c}\b", text)}
        # A key written out where it is used: `key(format!("CONV#{p}"), ..)`.
        patterns |= {format_pattern(self.expand(f))
                     for f in re.findall(r'(?:\bpk:\s*|\bkey\(\s*)format!\("([^"]+)"', text)}
        return covered(patterns)

    # ---- following a value to where it is made, within the store -------------------------
    #
    # A key is not always built where it is used: `let (pk, sk) = match .. { .. =>
    # (ADMIN_DAYS.to_owned(), ..) }; .. key(pk, sk)`, or a partition passed in
    # (`self.aggregates(DAYS, ..)` to `":pk", s(partition)`), or a transaction item built in
    # `let` steps (`let put = Put::builder()..set_item(Some(marker))`). These follow a
    # variable to its `let` bindings and assignments in the same fn (every binding of that
    # name: shadowing is not told apart, which only adds keys), and a parameter to the
    # arguments the store's callers pass for it.

    @staticmethod
    def bindings(code, name):
        """[(value span, tuple position or None)] of the statements that bind `name` in
        `code` (comments and strings blanked): `let name = ..;`, `let (.., name, ..) = ..;`,
        `name = ..;`."""
        def value(start):
            """The span from `start` to the statement's `;` (blocks and calls skipped)."""
            depth = 0
            for i in range(start, len(code)):
                if code[i] in "([{":
                    depth += 1
                elif code[i] in ")]}":
                    depth -= 1
                    if depth < 0:
                        return start, i
                elif code[i] == ";" and depth == 0:
                    return start, i
            return start, len(code)

        found = []
        for m in re.finditer(rf"\blet\s+(?:mut\s+)?{name}\b\s*(?::[^=;]*)?=(?![=>])", code):
            found.append((value(m.end()), None))
        for m in re.finditer(r"\blet\s+\(([^()]*)\)\s*(?::[^=;]*)?=(?![=>])", code):
            names = [re.sub(r"^\s*(?:mut\s+)?", "", n).strip() for n in m.group(1).split(",")]
            if name in names:
                found.append((value(m.end()), (names.index(name), len(names))))
        for m in re.finditer(rf"(?<![\w.:]){name}\s*=(?![=>])", code):
            if not re.search(r"\blet\s+(?:mut\s+)?$", code[: m.start()]):
                found.append((value(m.end()), None))
        return found

    @staticmethod
    def split_args(code, open_paren):
        """The top-level comma-separated parts of the parentheses opening at `open_paren`,
        as spans, and where they close."""
        depth, start, parts = 0, open_paren + 1, []
        for i in range(open_paren, len(code)):
            c = code[i]
            if c in "([{":
                depth += 1
            elif c in ")]}":
                depth -= 1
                if depth == 0:
                    if code[start:i].strip():
                        parts.append((start, i))
                    return parts, i
            elif c == "," and depth == 1:
                parts.append((start, i))
                start = i + 1
        return parts, len(code)

    def tuple_part(self, raw, span, position):
        """The texts of the `position`th part of the tuples of `arity` parts written in `span`
        (a parenthesis after a name or `!` is a call's, not a tuple)."""
        index, arity = position
        code = blank_comments_and_strings(raw)
        parts = []
        for m in re.finditer(r"\(", code[span[0]:span[1]]):
            before = code[: span[0] + m.start()].rstrip()
            if re.search(r"(?:\w|!|(?<!=)>)$", before):
                continue  # `f(`, `m!(`, `f::<T>(`: a call
            args, _ = self.split_args(code, span[0] + m.start())
            if len(args) == arity:
                parts.append(raw[args[index][0]:args[index][1]])
        return parts

    def parameters(self, name):
        """The names of fn `name`'s parameters, `self` left out."""
        code = blank_comments_and_strings(self.bodies.get(name, ""))
        opening = code.find("(")
        if opening < 0:
            return []
        args, _ = self.split_args(code, opening)
        names = [re.match(r"\s*(?:mut\s+)?(\w+)", code[a:b]) for a, b in args]
        return [n.group(1) for n in names if n and n.group(1) != "self"]

    def value_consts(self, fn, value, seen=frozenset()):
        """The key constants a value of fn `fn` can be: a constant itself (`DAYS`,
        `DAYS.to_owned()`, `&DAYS`), or a variable followed (value_texts)."""
        constant = re.fullmatch(r"\s*&?\s*([A-Z][A-Z0-9_]*)\s*(?:\.\s*\w+\(\s*\)\s*)*", value)
        if constant:
            return {constant.group(1)} & set(self.consts)
        variable = re.fullmatch(r"\s*&?\s*([a-z_]\w*)\s*(?:\.\s*(?:clone|to_owned|to_string|into)\(\s*\)\s*)*", value)
        if not variable or (fn, variable.group(1)) in seen:
            return set()
        return {c for f, text in self.value_texts(fn, variable.group(1), seen)
                for c in self.value_consts(f, text, seen | {(fn, variable.group(1))})}

    def value_texts(self, fn, name, seen=frozenset()):
        """[(fn, text)]: what variable `name` of fn `fn` is bound to (a tuple binding: its
        part), or for a parameter, what the store's calls of `fn` pass for it."""
        raw = self.bodies.get(fn, "")
        code = blank_comments_and_strings(raw)
        texts = []
        for span, position in self.bindings(code, name):
            if position is None:
                texts.append((fn, raw[span[0]:span[1]]))
            else:
                texts += [(fn, t) for t in self.tuple_part(raw, span, position)]
        parameters = self.parameters(fn)
        if name in parameters:
            index = parameters.index(name)
            for caller, body in self.bodies.items():
                caller_code = blank_comments_and_strings(body)
                for m in re.finditer(rf"(?<!fn )\b{fn}\s*\(", caller_code):
                    args, _ = self.split_args(caller_code, m.end() - 1)
                    if index < len(args):
                        texts.append((caller, body[args[index][0]:args[index][1]]))
        return texts

    def partition_consts(self):
        """Constants used as a table partition other than in a struct's `pk:` field: passed
        to `key(..)` (directly, or through a variable: `let (pk, sk) = match .. {
        .. => (DAYS.to_owned(), ..) }; key(pk, sk)`), or bound to the table's `pk` in a
        Query's key condition (`pk = :pk` with `":pk", s(partition)`, a parameter the
        store's callers pass constants for)."""
        found = set()
        for fn, raw in self.bodies.items():
            code = blank_comments_and_strings(raw)
            for m in re.finditer(r"\bkey\(", code):
                args, _ = self.split_args(code, m.end() - 1)
                if len(args) == 2:
                    found |= self.value_consts(fn, raw[args[0][0]:args[0][1]])
            aliases = dict(re.findall(r'\.expression_attribute_names\(\s*"(#\w+)",\s*"(\w+)"', raw))
            for condition in re.findall(r'\.key_condition_expression\(\s*"([^"]*)"', raw):
                for attr, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", condition):
                    if aliases.get(attr, attr) != "pk":
                        continue  # an index's partition, or a sort key
                    for value in re.finditer(rf'"{placeholder}",\s*s\(', raw):
                        args, _ = self.split_args(code, value.end() - 1)
                        if len(args) == 1:
                            found |= self.value_consts(fn, raw[args[0][0]:args[0][1]])
        return found

    def item_slice(self, text, opening):
        """What a transaction item (its builder's call opening at `opening - 1` in `text`)
        is built from: its argument, and the bindings of the variables in it, followed."""
        code = blank_comments_and_strings(text)
        args, _ = self.split_args(code, opening - 1)
        spans = list(args)
        seen, todo = set(), set()
        while True:
            for start, end in spans:
                todo |= set(re.findall(r"(?<![\w.:])([a-z_]\w*)\b(?!\s*(?:\(|::|!))", code[start:end])) - seen
            spans = []
            if not todo:
                break
            name = todo.pop()
            seen.add(name)
            spans = [span for span, _ in self.bindings(code, name)]
        found = [text[a:b] for a, b in args]
        for name in seen:
            found += [text[a:b] for (a, b), _ in self.bindings(code, name)]
        return "\n".join(found)

    def item_keys(self, text, variant):
        """{(action, "table", pattern, variant)} of the transaction items `text` builds, and
        of those built by the item builders it calls. Each item has the keys of what it is
        built from (item_slice) where that tells its keys; else, as where a closure's
        parameter is the item, every key `text` builds."""
        keys = set()
        whole = self.table_patterns(text) or {None}
        items = [(m.group(1), self.table_patterns(self.item_slice(text, m.end())))
                 for m in TRANSACT_ITEM.finditer(text)]
        for item, patterns in items:
            keys |= {(TRANSACT_ITEMS[item], "table", p, variant) for p in (patterns or whole)}
        for builder in set(re.findall(r"(\w+)\(", text)) & self.item_builders - set(self.arms):
            keys |= self.item_keys(self.bodies[builder], variant)
        return keys

    def method_keys(self, method, pairs):
        """{(action, resource, key pattern or None where none is found, variant or None)}."""
        avoid = set(self.arms) | self.item_builders
        own = [n for n in self.reach(method, avoid) if n not in avoid]
        table = self.table_patterns("".join(self.bodies.get(n, "") for n in own)) or {None}
        # Each fn's table calls on the keys it builds (itself or in helpers that call the
        # table nowhere): a search's Query on the index entries, its BatchGetItem on the
        # conversations. A fn given its keys (none built) has every key of the method.
        callers = {n for n in own if any(r == "table" for _, r in self.direct.get(n, ()))}
        keys = set()
        for fn in callers:
            patterns = self.table_patterns(self.bodies.get(fn, ""), callers - {fn}) or table
            keys |= {(action, "table", p, None) for action, resource in self.direct[fn]
                     if resource == "table" and (action, resource) in pairs for p in patterns}
        for action, resource in pairs:
            if resource != "table":
                keys |= {(action, resource, p, None) for p in self.queried_partitions(own, resource)}
        # The transaction items built by helpers it calls: each with its own keys. An arm
        # writes only its own keys, and only for a function that builds its variant.
        called = {c for n in own for c in self.calls.get(n, set())}
        for name in called & self.item_builders - set(self.arms):
            keys |= self.item_keys(self.bodies[name], None)
        for name in called & set(self.arms):
            for variant, text in self.arms[name].items():
                keys |= self.item_keys(text, variant)
        return keys

    def projection(self, method):
        """The attributes the method's one read asks for (ProjectionExpression), or None
        for whole items (or where one read cannot be told from another)."""
        text = "\n".join(self.bodies.get(n, "") for n in self.reach(method))
        # A literal, or a constant (`.projection_expression(SUMMARY_ATTRIBUTES)`).
        projections = [literal or self.consts.get(name, "") for literal, name in
                       re.findall(r'\.projection_expression\(\s*(?:"([^"]*)"|([A-Z][A-Z0-9_]*)\s*\))', text)]
        reads = re.findall(r"\.(get_item|query|batch_get_item)\(\)", text)
        if len(projections) != 1 or len(reads) != 1:
            return None
        names = dict(re.findall(r'\.expression_attribute_names\(\s*"(#\w+)",\s*"(\w+)"', text))
        return frozenset(names.get(a.strip(), a.strip()) for a in projections[0].split(","))


def format_pattern(fmt):
    """A key's pattern from its `format!` string: `"CONV#{phone}"` -> "CONV#*", the text up
    to the first placeholder other than `{scope}`, then IAM's wildcard."""
    cut = re.search(r"\{(?!scope\})[^}]*\}", fmt)
    return (fmt[: cut.start()] if cut else fmt) + "*"


def covered(patterns):
    """The patterns without those another one of them covers (`DESK#-` under `DESK#*`)."""
    return {p for p in patterns if p is None
            or not any(q != p and q is not None and like(q, p) for q in patterns)}


def like(pattern, value):
    """IAM's StringLike: `*` any run of characters, `?` one."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def resolve_str(arg):
    """A call's argument: a string literal or the name of a `&str` constant of the code."""
    literal = re.fullmatch(r'"([^"]*)"', arg)
    if literal:
        return literal.group(1)
    name = arg.split("::")[-1]
    sources = list((ROOT / "shared").rglob("*.rs")) + list((ROOT / "functions").rglob("*.rs"))
    values = {v for p in sources for v in re.findall(rf'const {name}: &str = "([^"]*)";', p.read_text())}
    return values.pop() if len(values) == 1 else None


def function_scopes(function, scoped):
    """The rate-limit scopes the function's code counts: first arguments of its calls of
    the store's scoped methods (`count_use(LOGIN_PAIR, ..)`)."""
    text = reached_text(function)
    scopes = set()
    for method in scoped:
        for arg in re.findall(rf"\.{method}\(\s*(\"[^\"]*\"|[A-Za-z_][\w:]*)\s*,", text):
            value = resolve_str(arg)
            if value is None:
                fail(f"{function}: cannot tell which scope {method}({arg}, ..) counts: use a literal or a &str constant")
            else:
                scopes.add(value)
    return scopes


def variants_built(function):
    """The RelatedWrite variants the function's own code builds (the store's matches aside)."""
    text = reached_text(function, without_store=True)
    return set(re.findall(rf"\b{ARMS}::(\w+)", text))


def expected_keys(function, store):
    """{(action, resource, pattern): store methods} and {(.., ..): projection} for the function."""
    keys, projections = {}, {}
    scopes, built = None, variants_built(function)
    for method in STORE_CALLS.get(function, []):
        for action, resource, pattern, variant in store.keys.get(method, ()):
            if variant is not None and variant not in built:
                continue
            if pattern is None:
                fail(f"{function}: cannot tell which partition keys store.{method} touches "
                     f"({action} on {resource}): build them with a *_pk fn or a constant")
                continue
            patterns = {pattern}
            if "{scope}" in pattern:
                scopes = function_scopes(function, store.scoped) if scopes is None else scopes
                if not scopes:
                    fail(f"{function}: store.{method} counts a scope, but no call names one")
                patterns = {pattern.replace("{scope}", s) for s in scopes}
            for p in patterns:
                key = (action, resource, p)
                keys.setdefault(key, set()).add(method)
                projection = store.projection(method) if action in READ_ACTIONS else None
                # Two methods reading the same keys: the whole item unless both name attributes.
                before = projections.get(key, projection)
                projections[key] = None if None in (before, projection) else before | projection
    return keys, projections


def statement_conditions(function, statement):
    """(leading key patterns or ["*"], attributes or None) of one statement."""
    condition = statement.get("Condition", {})
    leading = condition.get("ForAllValues:StringLike", {}).get("dynamodb:LeadingKeys")
    for operator, keys in condition.items():
        if "dynamodb:LeadingKeys" in keys and operator != "ForAllValues:StringLike":
            fail(f"{function}: statement {statement.get('Sid')} limits LeadingKeys with {operator}: "
                 "use ForAllValues:StringLike (one operator for prefixes and exact keys alike)")
    attributes = condition.get("ForAllValues:StringEquals", {}).get("dynamodb:Attributes")
    if attributes is not None and condition.get("StringEqualsIfExists", {}).get("dynamodb:Select") != "SPECIFIC_ATTRIBUTES":
        fail(f"{function}: statement {statement.get('Sid')} limits dynamodb:Attributes without "
             "StringEqualsIfExists dynamodb:Select SPECIFIC_ATTRIBUTES (a read of ALL_ATTRIBUTES would pass)")
    leading = [leading] if isinstance(leading, str) else leading
    return leading or ["*"], frozenset(attributes) if attributes is not None else None


def role_keys(template, function):
    """{(action, resource, pattern): attributes or None (whole items)} the role allows;
    pattern "*" where a statement has no LeadingKeys condition."""
    role = template["Resources"].get(f"{camel(function)}Role")
    granted = {}
    for policy in (role or {}).get("Properties", {}).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"]
            actions = [actions] if isinstance(actions, str) else actions
            resources = statement["Resource"]
            resources = resources if isinstance(resources, list) else [resources]
            if not ITEM_ACTIONS & set(actions):
                continue
            patterns, attributes = statement_conditions(function, statement)
            for action in set(actions) & ITEM_ACTIONS:
                for resource in resources:
                    for pattern in patterns:
                        key = (action, resource_name(resource), pattern)
                        before = granted.get(key, attributes)
                        granted[key] = None if None in (before, attributes) else before | attributes
    return granted


def check_keys(functions):
    grants, _, calls, direct = store_methods()
    store = StoreKeys(grants, calls, direct)
    template = load_template("functions.yaml")
    admin = store.builders.get("admin_pk")
    if admin is None or not re.search(rf"\b{PASSWORD_HASH}:", "\n".join(store.bodies.values())):
        fail(f"the store has no admin_pk key builder or no {PASSWORD_HASH} attribute: update "
             "infra/check_infra.py's ADMIN# rules to the new admin items")
        return
    admin_key = admin.replace("*", "someone")
    # Index partitions holding admin accounts (gsi2's ADMINS, projection ALL): the hash is
    # in the index too, so a Query there reads it unless it names its attributes.
    admin_items = [b for b in store.bodies.values() if re.search(r"\badmin_pk\(", b)]
    admin_partitions = {(index, value): store.index_key_attributes(index)
                        for index, names in store.index_names.items() for name, value in names.items()
                        if any(re.search(rf"\b{name}\b", b) for b in admin_items)}
    for function in functions:
        if function not in STORE_CALLS:
            continue  # check_roles names it
        expected, projections = expected_keys(function, store)
        granted = role_keys(template, function)
        compare_keys(function, expected, granted)
        check_admin_writes(function, expected, granted, admin_key)
        check_password_hash_reads(function, expected, projections, granted, admin_key, admin_partitions)
    if whole_admin_readers:
        warn(f"{len(whole_admin_readers)} functions read whole ADMIN# items, {PASSWORD_HASH} "
             f"included, to check a token (AdminGate -> get_admin, no ProjectionExpression): "
             f"{', '.join(sorted(set(whole_admin_readers)))}. DESIGN §8 lets only sign-in read "
             "hashes: see WHOLE_ADMIN_READS_TO_NARROW in infra/check_infra.py")


def compare_keys(function, expected, granted):
    for action, resource, pattern in sorted(set(expected) - set(granted)):
        methods = ", ".join(f"store.{m}" for m in sorted(expected[(action, resource, pattern)]))
        fail(f"{function}: its code does {action} on {resource} with partition keys "
             f"\"{pattern}\" ({methods}), which its role does not allow: add \"{pattern}\" to "
             "that statement's dynamodb:LeadingKeys")
    for action, resource, pattern in sorted(set(granted) - set(expected)):
        if pattern == "*":
            fail(f"{function}: its role allows {action} on {resource} for any partition key: "
                 "give the statement a ForAllValues:StringLike dynamodb:LeadingKeys condition")
        else:
            fail(f"{function}: its role allows {action} on {resource} for partition keys "
                 f"\"{pattern}\", which its code never uses: remove it")


def check_admin_writes(function, expected, granted, admin_key):
    """DESIGN §8: nothing but admin management writes an ADMIN# item."""
    if function in ADMIN_MANAGEMENT:
        return
    for (action, resource, pattern), methods in sorted(expected.items()):
        if action in WRITE_ACTIONS and resource == "table" and like(pattern, admin_key):
            fail(f"{function}: its code writes ADMIN# items ({action} via "
                 f"{', '.join(sorted(methods))}): only admin management may (DESIGN §8)")
    for action, resource, pattern in sorted(granted):
        if action in WRITE_ACTIONS and resource == "table" and like(pattern, admin_key):
            fail(f"{function}: its role allows {action} on ADMIN# items (LeadingKeys \"{pattern}\"): "
                 "only admin management may write them (DESIGN §8)")


whole_admin_readers = []  # functions of WHOLE_ADMIN_READS_TO_NARROW that still do


def check_password_hash_reads(function, expected, projections, granted, admin_key, admin_partitions):
    """DESIGN §8: nothing but sign-in reads a password hash. LeadingKeys cannot split an item,
    so the others read ADMIN# items (and the index partitions holding them, gsi2's ADMINS)
    with a ProjectionExpression and their role allows only those attributes
    (dynamodb:Attributes). Admin management writes whole accounts, but reads them like
    the rest."""
    if function in SIGN_IN:
        return

    def admin_read(key):
        action, resource, pattern = key
        return action in READ_ACTIONS and (
            (resource == "table" and like(pattern, admin_key)) or (resource, pattern) in admin_partitions)

    def key_attributes(key):
        return {"pk", "sk"} | admin_partitions.get((key[1], key[2]), set())

    reads = [k for k in expected if admin_read(k)]
    whole = any(projections[k] is None for k in reads)
    for key in sorted(reads):
        action, _, pattern = key
        read, allowed = projections[key], granted.get(key)
        if read is None:
            message = (f"{function}: its code reads whole ADMIN# items ({', '.join(sorted(expected[key]))}), "
                       f"{PASSWORD_HASH} included; DESIGN §8 lets only sign-in read it: read them "
                       f"with a ProjectionExpression leaving {PASSWORD_HASH} out")
            if function in WHOLE_ADMIN_READS_TO_NARROW:
                whole_admin_readers.append(function)
            elif function not in ADMIN_MANAGEMENT:
                fail(message)
            if allowed is not None and key in granted:
                fail(f"{function}: its role allows only {sorted(allowed)} of {pattern} items, "
                     "but its code reads whole items: the read would be denied")
        elif key in granted and allowed is None:
            fail(f"{function}: its code reads only {sorted(read)} of ADMIN# items, but its role "
                 f"allows whole items, {PASSWORD_HASH} included: give its {action} statement on "
                 f"\"{pattern}\" the conditions ForAllValues:StringEquals dynamodb:Attributes "
                 f"{sorted(read | key_attributes(key))} and StringEqualsIfExists dynamodb:Select SPECIFIC_ATTRIBUTES")
        elif key in granted and PASSWORD_HASH in allowed:
            fail(f"{function}: its role's {action} statement on \"{pattern}\" allows "
                 f"{PASSWORD_HASH} among dynamodb:Attributes: only sign-in may read it (DESIGN §8)")
        elif key in granted and (not read <= allowed or allowed - key_attributes(key) != read):
            fail(f"{function}: its role allows the attributes {sorted(allowed)} of {pattern} items, "
                 f"its code reads {sorted(read)}: make them the same (plus {', '.join(sorted(key_attributes(key)))})")
    for key, allowed in sorted(granted.items()):
        action, resource, pattern = key
        if (admin_read(key) and key not in expected and (allowed is None or PASSWORD_HASH in allowed)):
            fail(f"{function}: its role allows {action} of whole ADMIN# items (LeadingKeys "
                 f"\"{pattern}\" on {resource}), {PASSWORD_HASH} included: only sign-in may read it (DESIGN §8)")
    if function in WHOLE_ADMIN_READS_TO_NARROW and not whole:
        fail(f"{function}: no longer reads whole ADMIN# items: remove it from "
             "WHOLE_ADMIN_READS_TO_NARROW in infra/check_infra.py")


# ---- routes --------------------------------------------------------------------------------

HTTP_API = {"Ref": "HttpApi"}
# The WebSocket API is the functions stack's (its roles and the functions' environment name
# it): wiring.yaml takes its id as a parameter and adds its routes.
WEBSOCKET_API_PARAMETER = {"Ref": "WebSocketApiId"}
# A WebSocket route a crate declares on its first doc line (`$connect`).
WEBSOCKET_ROUTE = re.compile(r"`(\$connect|\$disconnect|\$default)`")


def integration_function(props):
    """The function whose live alias an integration invokes: a Lambda ARN (HTTP API) or
    API Gateway's invocation URI of one (WebSocket API)."""
    uri = props.get("IntegrationUri", {})
    uri = uri.get("Fn::Sub", "") if isinstance(uri, dict) else ""
    match = re.search(r"function:\$\{Stack\}-([a-z-]+):live(?:/invocations)?$", uri)
    return match.group(1) if match else None


def api_routes(api):
    """{route key: (function, route properties)} of one API of wiring.yaml."""
    resources = load_template("wiring.yaml")["Resources"]
    integrations = {k: integration_function(r["Properties"]) for k, r in resources.items()
                    if r["Type"] == "AWS::ApiGatewayV2::Integration" and r["Properties"].get("ApiId") == api}
    routes = {}
    for r in resources.values():
        if r["Type"] == "AWS::ApiGatewayV2::Route" and r["Properties"].get("ApiId") == api:
            target = re.fullmatch(r"integrations/\$\{(\w+)\}", r["Properties"]["Target"]["Fn::Sub"]).group(1)
            routes[r["Properties"]["RouteKey"]] = (integrations.get(target), r["Properties"])
    return routes


def template_routes():
    routes = set()
    for key, (function, _) in api_routes(HTTP_API).items():
        method, path = key.split(" ", 1)
        routes.add((method, path, function))
    return routes


def local_routes():
    source = (ROOT / "infra/local/src/gateway.rs").read_text()
    table = source[source.index("pub const ROUTES"):]
    table = table[: table.index("];")]
    found = re.findall(r'\(\s*"([A-Z]+)",\s*"([^"]+)",\s*Function::(\w+),?\s*\)', table)
    kebab = lambda name: re.sub(r"(?<!^)([A-Z])", r"-\1", name).lower()
    return {(m, p, kebab(f)) for m, p, f in found}


def first_doc_line(function):
    """The first `//!` line of the crate's src/lib.rs: where it declares its route(s)."""
    lib = ROOT / "functions" / function / "src" / "lib.rs"
    lines = [l for l in lib.read_text().splitlines() if l.startswith("//!")] if lib.exists() else []
    return lines[0] if lines else ""


def crate_routes(functions):
    routes = set()
    for function in functions:
        for method, path in re.findall(r"`(GET|POST|PUT|PATCH|DELETE) (/[^`?\s]*)", first_doc_line(function)):
            routes.add((method, path, function))
    return routes


def crate_websocket_routes(functions):
    return {(key, f) for f in functions for key in WEBSOCKET_ROUTE.findall(first_doc_line(f))}


def check_routes(functions):
    cfn, local, crates = template_routes(), local_routes(), crate_routes(functions)
    for name, other in (("the local stack's gateway.rs", local), ("the function crates' docs", crates)):
        for route in sorted(cfn - other):
            fail(f"route {route[0]} {route[1]} -> {route[2]} is in wiring.yaml but not in {name}")
        for route in sorted(other - cfn):
            fail(f"route {route[0]} {route[1]} -> {route[2]} is in {name} but not in wiring.yaml")
    if not cfn:
        fail("wiring.yaml declares no routes")
    # The WebSocket API's routes: what the crates declare (ws-connect: `$connect`).
    ws = {(key, function) for key, (function, _) in api_routes(WEBSOCKET_API_PARAMETER).items()}
    declared = crate_websocket_routes(functions)
    for key, function in sorted(ws - declared):
        fail(f"WebSocket route {key} -> {function} is in wiring.yaml but no crate declares it (first doc line of src/lib.rs)")
    for key, function in sorted(declared - ws):
        fail(f"WebSocket route {key} -> {function} is declared by the crate but not in wiring.yaml")
    check_api_permissions()


def check_api_permissions():
    """Every integration's function lets API Gateway invoke its live alias, from that API only."""
    resources = load_template("wiring.yaml")["Resources"]
    sub = lambda v: v.get("Fn::Sub") if isinstance(v, dict) else v
    permissions = [(sub(r["Properties"].get("FunctionName")), sub(r["Properties"].get("SourceArn")) or "")
                   for r in resources.values() if r["Type"] == "AWS::Lambda::Permission"
                   and r["Properties"].get("Principal") == "apigateway.amazonaws.com"]
    for key, r in sorted(resources.items()):
        if r["Type"] != "AWS::ApiGatewayV2::Integration":
            continue
        function, api = integration_function(r["Properties"]), r["Properties"].get("ApiId", {}).get("Ref")
        alias = f"arn:${{AWS::Partition}}:lambda:${{AWS::Region}}:${{AWS::AccountId}}:function:${{Stack}}-{function}:live"
        source = f"arn:${{AWS::Partition}}:execute-api:${{AWS::Region}}:${{AWS::AccountId}}:${{{api}}}/"
        if not any(f == alias and a.startswith(source) for f, a in permissions):
            fail(f"wiring.yaml: {key}: no AWS::Lambda::Permission lets API Gateway ({api}) invoke "
                 f"{function}'s live alias (SourceArn {source}...)")


# ---- the WAF: per-address rate limits at the edge (waf.yaml) ---------------------------------
#
# Sign-in must not be starved by one client: the API Gateway throttle counts every client
# together, so per-address limits are a WAF rate rule on CloudFront. A CloudFront web ACL
# must live in us-east-1, so waf.yaml is its own stack there, its ARN passed to wiring.yaml.

# How many addresses at the WAF's sign-in limit it must take to use up the API Gateway
# backstop on the sign-in route (a handful would let a small botnet starve every sign-in).
ADDRESSES_TO_EXHAUST_LOGIN_BACKSTOP = 100


def waf_rules():
    """{rule name: rule} of waf.yaml's one web ACL, after checking the ACL itself."""
    waf = load_template("waf.yaml")
    acls = [r for r in waf["Resources"].values() if r["Type"] == "AWS::WAFv2::WebACL"]
    if len(acls) != 1:
        fail(f"waf.yaml must hold one AWS::WAFv2::WebACL, not {len(acls)}")
        return {}, {}
    acl = acls[0]["Properties"]
    if acl.get("Scope") != "CLOUDFRONT":
        fail("waf.yaml: the web ACL's Scope must be CLOUDFRONT (it guards the distribution)")
    if not acl.get("VisibilityConfig", {}).get("CloudWatchMetricsEnabled"):
        fail("waf.yaml: the web ACL has no CloudWatch metrics")
    if "WebAclArn" not in waf.get("Outputs", {}):
        fail("waf.yaml: no WebAclArn output (infra/deploy.sh passes it to the wiring stack)")
    return {r["Name"]: r for r in acl.get("Rules", [])}, acl.get("CustomResponseBodies", {})


def byte_matches(statement):
    """[(field, constraint, search string)] of a scope-down statement (AND of matches)."""
    parts = statement.get("AndStatement", {}).get("Statements", [statement])
    found = []
    for part in parts:
        match = part.get("ByteMatchStatement")
        if match is None:
            return None  # something else: not understood here
        field = next(iter(match["FieldToMatch"]))
        found.append((field, match["PositionalConstraint"], match["SearchString"]))
    return found


def covers(matches, method, path):
    """Whether a rule scoped down by `matches` counts the request `method path`."""
    tests = {"EXACTLY": str.__eq__, "STARTS_WITH": str.startswith}
    for field, constraint, search in matches:
        value = {"Method": method, "UriPath": path}.get(field)
        if value is None or constraint not in tests or not tests[constraint](value, search):
            return False
    return True


def check_waf_rule(name, rule, bodies):
    """A per-address rate limit answering 429 in the API's error shape, with metrics."""
    rate = rule.get("Statement", {}).get("RateBasedStatement")
    if rate is None or rate.get("AggregateKeyType") != "IP":
        fail(f"waf.yaml: rule {name} is not a rate-based rule keyed on the client's IP")
        return None
    response = rule.get("Action", {}).get("Block", {}).get("CustomResponse", {})
    body = bodies.get(response.get("CustomResponseBodyKey"), {}).get("Content", "{}")
    if response.get("ResponseCode") != 429 or '"code":"rate_limited"' not in body:
        fail(f"waf.yaml: rule {name} must block with 429 and the rate_limited error body")
    if not any(h.get("Name") == "Retry-After" for h in response.get("ResponseHeaders", [])):
        fail(f"waf.yaml: rule {name}'s 429 has no Retry-After (docs/architecture.md)")
    if not rule.get("VisibilityConfig", {}).get("CloudWatchMetricsEnabled"):
        fail(f"waf.yaml: rule {name} has no CloudWatch metrics")
    matches = byte_matches(rate["ScopeDownStatement"]) if "ScopeDownStatement" in rate else []
    if matches is None:
        fail(f"waf.yaml: rule {name}'s scope-down is not an AND of byte matches (the check cannot read it)")
    return rate, matches


def check_waf():
    rules, bodies = waf_rules()
    routes = template_routes()
    login = [(m, p) for m, p, f in routes if f == "admin-login"]
    login_limits = []
    for name, rule in rules.items():
        checked = check_waf_rule(name, rule, bodies)
        if checked is None or checked[1] is None:
            continue
        rate, matches = checked
        if any(covers(matches, method, "/webhook") for method in ("GET", "POST")):
            fail(f"waf.yaml: rule {name} limits /webhook per address: Meta posts from a few "
                 "addresses in bursts and retries whatever is refused")
        # A sign-in rule: it counts the sign-in route and no other route.
        others = [(m, p) for m, p, f in routes if f != "admin-login"]
        if login and covers(matches, *login[0]) and not any(covers(matches, *r) for r in others):
            login_limits.append(rate["Limit"])
    if not login_limits:
        fail(f"waf.yaml: no rate rule scoped to the sign-in route {login}: one client could "
             "starve every sign-in")
    check_login_backstop(load_template("waf.yaml"), login_limits)
    check_waf_wiring()


def parameter_default(template, value):
    """A number in a template: itself, or the default of the parameter it refers to."""
    if isinstance(value, dict) and "Ref" in value:
        return template["Parameters"][value["Ref"]]["Default"]
    return value


def check_login_backstop(waf, login_limits):
    """API Gateway's sign-in throttle counts everyone together: it must take many addresses,
    each at the WAF's limit, to use it up."""
    wiring = load_template("wiring.yaml")
    stage = wiring["Resources"]["ApiStage"]["Properties"]
    login = stage.get("RouteSettings", {}).get("POST /api/admin/login", {})
    rate = parameter_default(wiring, login.get("ThrottlingRateLimit", 0))
    burst = parameter_default(wiring, login.get("ThrottlingBurstLimit", 0))
    for limit in login_limits:
        per_address = parameter_default(waf, limit) / 300  # requests/s, 5-minute window
        if rate < ADDRESSES_TO_EXHAUST_LOGIN_BACKSTOP * per_address or burst < rate:
            fail(f"wiring.yaml: the sign-in throttle ({rate}/s, burst {burst}) is used up by "
                 f"{rate / per_address:.0f} addresses at the WAF's limit; it is a backstop: "
                 f"keep it above {ADDRESSES_TO_EXHAUST_LOGIN_BACKSTOP} addresses' worth, burst >= rate")


def check_waf_wiring():
    """The distribution takes the web ACL from a us-east-1 ARN; deploy.sh makes it there."""
    wiring = load_template("wiring.yaml")
    acl = wiring["Resources"]["Distribution"]["Properties"]["DistributionConfig"].get("WebACLId")
    if acl != {"Fn::If": ["HasWebAcl", {"Ref": "WebAclArn"}, {"Ref": "AWS::NoValue"}]}:
        fail("wiring.yaml: the distribution's WebACLId must be the WebAclArn parameter (none when empty)")
    pattern = wiring["Parameters"].get("WebAclArn", {}).get("AllowedPattern", "")
    if "wafv2:us-east-1:" not in pattern:
        fail("wiring.yaml: WebAclArn must only accept a web ACL of us-east-1 (CloudFront's)")
    deploy = (ROOT / "infra/deploy.sh").read_text()
    if not (re.search(r"^WAF_REGION=us-east-1\b", deploy, re.M)
            and re.search(r'deploy_stack_in "\$WAF_REGION" "\$WAF_STACK" waf\.yaml', deploy)
            and '"WebAclArn=$WEB_ACL_ARN"' in deploy):
        fail("infra/deploy.sh must deploy waf.yaml in us-east-1 and pass its WebAclArn to the wiring stack")


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


def function_needs(function):
    """The `Needs` flags set in the function's main.rs."""
    main = (ROOT / "functions" / function / "src" / "main.rs").read_text()
    return set(re.findall(r"\b(whatsapp_send|webhook_secrets|admin_tokens|media|media_fetch|templates"
                          r"|push|media_hand_off|websocket_url):\s*true", main))


# Needs flags that require a (non-secret) setting, given to every function from SSM.
NEEDED_SETTINGS = {"templates": "WHATSAPP_BUSINESS_ACCOUNT_ID"}


def check_secrets(functions):
    deploy = (ROOT / "infra/deploy.sh").read_text()
    given = {m.group(1): set(m.group(2).split()) for m in re.finditer(r'^\s*([a-z-]+)\) echo "([A-Z_ ]*)" ;;', deploy, re.M)}
    for function in functions:
        needs = function_needs(function)
        expected = set()
        if "admin_tokens" in needs:
            expected.add("JWT_SECRET")
        # Config::from_env requires the token for both (media_fetch: WhatsApp's media endpoints).
        if needs & {"whatsapp_send", "media_fetch"}:
            expected.add("WHATSAPP_ACCESS_TOKEN")
        if "webhook_secrets" in needs:
            expected |= {"WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN"}
        if function in given and given[function] != expected:
            fail(f"{function}: deploy.sh gives it {sorted(given[function])}, its Needs require {sorted(expected)}")
    # Settings go to every function; those a function's Needs require must be required by
    # the deploy (checked in SSM before anything changes), or it fails at cold start.
    required = re.search(r'^REQUIRED_SETTINGS="([A-Z_ ]*)"', deploy, re.M)
    required = set(required.group(1).split()) if required else set()
    for need, setting in NEEDED_SETTINGS.items():
        users = [f for f in functions if need in function_needs(f)]
        if users and setting not in required:
            fail(f"{', '.join(users)}: Needs {need}, but {setting} is not in infra/deploy.sh's REQUIRED_SETTINGS")


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

# The media bucket's host as the S3 presigner writes it (virtual-hosted style, regional:
# https://<bucket>.s3.<region>.amazonaws.com/<key>), in wiring.yaml's CSP; in the local
# stack's CSP constant, the placeholder its S3-compatible server's origin replaces at start.
MEDIA_HOST_IN_CSP = "https://${MediaBucketName}.s3.${AWS::Region}.${AWS::URLSuffix}"
LOCAL_MEDIA_ORIGIN = "{media_origin}"
LOCAL_WEBSOCKET_ORIGINS = "{websocket_origins}"
MEDIA_DIRECTIVES = {"img-src", "media-src", "connect-src"}
MEDIA = "<media-bucket>"
# The WebSocket API's host (DESIGN §16), in connect-src only; locally the socket is the
# page's own origin (`ws://127.0.0.1:$PORT/ws`), which 'self' covers.
WEBSOCKET_HOST_IN_CSP = "wss://${WebSocketApiId}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
WEBSOCKET_DIRECTIVES = {"connect-src"}
WEBSOCKET = "<websocket-api>"


def csp_directives(csp):
    """{directive: [sources]} of a policy, in order."""
    parts = [p.split() for p in csp.split(";") if p.strip()]
    return {p[0]: p[1:] for p in parts}


def without_media(directives):
    """The policy as it was before media: the bucket's origin left out, and a media-src
    that says no more than default-src dropped."""
    out = {d: [s for s in sources if s != MEDIA] for d, sources in directives.items()}
    if out.get("media-src") == out.get("default-src"):
        out.pop("media-src", None)
    return out


def check_headers():
    source = (ROOT / "infra/local/src/static_site.rs").read_text()
    match = re.search(r'CONTENT_SECURITY_POLICY: &str = "((?:[^"\\]|\\\n\s*|\\.)*)"', source)
    csp = re.sub(r"\\\n\s*", "", match.group(1)) if match else None
    local = dict(re.findall(r'h\.insert\(\s*"([a-z-]+)",\s*HeaderValue::from_static\("([^"]+)"\)', source))
    policy = load_template("wiring.yaml")["Resources"]["SecurityHeadersPolicy"]
    headers = policy["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    served_csp = headers["ContentSecurityPolicy"]["ContentSecurityPolicy"]
    if isinstance(served_csp, dict) and set(served_csp) == {"Fn::Sub"}:
        served_csp = served_csp["Fn::Sub"]
    if not isinstance(served_csp, str):
        fail(f"wiring.yaml: the CSP must be a string or one Fn::Sub of a string: {served_csp!r}")
        return
    served_csp = served_csp.replace(MEDIA_HOST_IN_CSP, MEDIA).replace(WEBSOCKET_HOST_IN_CSP, WEBSOCKET)
    if "${" in served_csp:
        fail(f"wiring.yaml: the CSP names something besides the media bucket's host "
             f"{MEDIA_HOST_IN_CSP} and the WebSocket API's {WEBSOCKET_HOST_IN_CSP}: {served_csp}")
    served = {
        "content-security-policy": served_csp,
        "x-content-type-options": "nosniff" if "ContentTypeOptions" in headers else None,
        "x-frame-options": headers.get("FrameOptions", {}).get("FrameOption"),
        "referrer-policy": headers.get("ReferrerPolicy", {}).get("ReferrerPolicy"),
    }
    # DESIGN §12: the page loads files from, and uploads attachments to, the bucket's exact
    # host: only img-src, media-src and connect-src name it.
    directives = csp_directives(served_csp)
    naming = {d for d, sources in directives.items() if MEDIA in sources}
    if naming != MEDIA_DIRECTIVES:
        fail(f"wiring.yaml: the CSP names the media bucket ({MEDIA_HOST_IN_CSP}) in "
             f"{sorted(naming)}; DESIGN §12 wants exactly {sorted(MEDIA_DIRECTIVES)}")
    # DESIGN §16: the page's WebSocket, in connect-src and nowhere else.
    naming = {d for d, sources in directives.items() if WEBSOCKET in sources}
    if naming != WEBSOCKET_DIRECTIVES:
        fail(f"wiring.yaml: the CSP names the WebSocket API ({WEBSOCKET_HOST_IN_CSP}) in "
             f"{sorted(naming)}; DESIGN §16 wants exactly {sorted(WEBSOCKET_DIRECTIVES)}")
    if csp is None:
        fail("infra/local/src/static_site.rs has no CONTENT_SECURITY_POLICY constant to compare CloudFront's with")
    elif LOCAL_MEDIA_ORIGIN in csp:
        # The local page's socket origins stand where CloudFront names the WebSocket API.
        local_csp = csp.replace(LOCAL_MEDIA_ORIGIN, MEDIA).replace(LOCAL_WEBSOCKET_ORIGINS, WEBSOCKET)
        if csp_directives(local_csp) != directives:
            fail(f"CloudFront's CSP differs from static_site.rs ({MEDIA} standing for "
                 f"{MEDIA_HOST_IN_CSP} and {LOCAL_MEDIA_ORIGIN}, {WEBSOCKET} for "
                 f"{WEBSOCKET_HOST_IN_CSP} and {LOCAL_WEBSOCKET_ORIGINS}):\n  {served_csp}\n  {csp}")
    else:
        warn(f"the local stack's CSP (static_site.rs) does not name the object store: the page "
             f"cannot show files locally. Put {LOCAL_MEDIA_ORIGIN} where CloudFront's has "
             f"{MEDIA_HOST_IN_CSP} (img-src, media-src, connect-src) and replace it with the "
             "S3 server's origin at start; the rest is compared as before media")
        if without_media(csp_directives(csp)) != without_media(directives):
            fail(f"CloudFront's CSP differs from static_site.rs (beyond the media bucket):\n  {served_csp}\n  {csp}")
    for name, value in local.items():
        if name != "content-security-policy" and served.get(name) != value:
            fail(f"CloudFront serves {name}: {served.get(name)!r}, the local stack {value!r}")


# ---- media: the bucket and who may do what in it (DESIGN §12) --------------------------------
#
# The code reaches the bucket only through the MediaFiles port, implemented in the S3 adapter
# (shared/adapters/src/media.rs). Each of its methods applies its S3 actions to one kind of
# key: MEDIA_FILE_ACCESS below says which, per method, and the check holds that table to the
# adapter (a method without a row, a row without a method, actions other than the SDK calls
# the method's code makes). The keys' prefixes come from the object key builders
# (`fn message_object_key(..) -> String { format!("media/{phone}/{message_id}") }` ->
# "media/*"). A function's role must then allow exactly the (action, prefix) pairs of the
# methods its code reaches (the call graph above): a send that copies an upload reads
# attachments/ and writes media/, and is never allowed to write attachments/.
# Compared both ways: a missing grant is an AccessDenied no local test sees (the local S3
# server ignores IAM); an extra one is room for a flaw.

# S3 SDK calls -> IAM actions. The multipart calls are authorised as s3:PutObject; a copy
# reads its source and writes its target.
S3_ACTIONS = {
    "put_object": {"s3:PutObject"}, "create_multipart_upload": {"s3:PutObject"},
    "upload_part": {"s3:PutObject"}, "complete_multipart_upload": {"s3:PutObject"},
    "abort_multipart_upload": {"s3:AbortMultipartUpload"},
    "get_object": {"s3:GetObject"}, "head_object": {"s3:GetObject"},
    "copy_object": {"s3:GetObject", "s3:PutObject"}, "upload_part_copy": {"s3:GetObject", "s3:PutObject"},
    "delete_object": {"s3:DeleteObject"}, "delete_objects": {"s3:DeleteObject"},
    "list_parts": {"s3:ListMultipartUploadParts"},
    "get_object_tagging": {"s3:GetObjectTagging"}, "put_object_tagging": {"s3:PutObjectTagging"},
    "delete_object_tagging": {"s3:DeleteObjectTagging"},
}
# An S3 SDK call: through the adapter's client (`.s3.x()`, `.s3().x()`), or any call named
# like an object operation, whatever the client is called.
S3_CALL = re.compile(r"\.s3(?:\(\))?\s*\.(\w+)\(\)|\.(" + "|".join(S3_ACTIONS) + r")\(\)")

# The port and its one implementation, the only code that talks to the bucket.
MEDIA_PORT = "MediaFiles"
MEDIA_ADAPTER = ROOT / "shared/adapters/src/media.rs"

# The kinds of key, each named by the builder that makes it.
MESSAGE_KEYS = "message_object_key"        # a message's file: the history, never expired
ATTACHMENT_KEYS = "attachment_object_key"  # an admin's upload, before it is sent
# Per MediaFiles method: the S3 actions it needs, each on the kind of key it applies it to.
MEDIA_FILE_ACCESS = {
    # a user's file streamed in under its message's key (PutObject covers the multipart
    # calls); a download that fails aborts its upload
    "fetch_into_store": {("s3:PutObject", MESSAGE_KEYS), ("s3:AbortMultipartUpload", MESSAGE_KEYS)},
    # a presigned GET of a message's file: for the page (get-media), or for Meta (a send)
    "download_link": {("s3:GetObject", MESSAGE_KEYS)},
    # the presigned PUT the page uploads an attachment with
    "upload_link": {("s3:PutObject", ATTACHMENT_KEYS)},
    # HeadObject of an upload, to check it before sending
    "describe": {("s3:GetObject", ATTACHMENT_KEYS)},
    # the upload copied under the message's own key (reads the source, writes the target)
    "copy": {("s3:GetObject", ATTACHMENT_KEYS), ("s3:PutObject", MESSAGE_KEYS)},
}
# Where the files recorded on messages live (docs/deploying.md#the-media-bucket): what
# message_object_key makes, and what the lifecycle never expires.
MESSAGE_FILES = "media/*"
# Functions whose code uses the bucket but whose main.rs `Needs` lacks `media: true`, so
# `ctx.media()` panics on first use in AWS (the local stack gives every function its S3
# client). Warned about on every run until main.rs says so; then remove it from here.
NEEDS_MEDIA_TO_DECLARE = set()


def object_key_builders():
    """{builder fn: key pattern}: `format!("media/{phone}/{id}")` -> "media/*"."""
    source = "\n".join(strip_tests(p.read_text()) for p in (ROOT / "shared").rglob("*.rs"))
    found = re.findall(r'fn (\w+_object_key)\([^)]*\)\s*->\s*String\s*\{\s*format!\("([^"{]*)', source)
    return {name: prefix + "*" for name, prefix in found}


def s3_calls_in(code):
    """The S3 SDK calls in `code` (comments and strings blanked), by operation name."""
    return {a or b for a, b in S3_CALL.findall(code)}


def media_port_methods():
    """The methods of `impl MediaFiles for ..` in the adapter, or None if there is none."""
    code = blank_comments_and_strings(strip_tests(MEDIA_ADAPTER.read_text()))
    impl = re.search(rf"\nimpl(?:<[^>]*>)?\s+{MEDIA_PORT}\s+for\s+\w+\s*\{{", code)
    if impl is None:
        return None
    depth, end = 1, impl.end()
    while depth and end < len(code):
        depth += {"{": 1, "}": -1}.get(code[end], 0)
        end += 1
    return set(re.findall(r"\bfn\s+(\w+)", code[impl.end():end]))


def adapter_reach(name):
    """The adapter's fns `name` reaches within the adapter (its own helpers)."""
    nodes, _, _ = code_graph()
    here = {n for (path, n) in nodes if path == MEDIA_ADAPTER}
    seen, todo = set(), {name}
    while todo:
        n = todo.pop()
        if n in seen or n not in here:
            continue
        seen.add(n)
        todo |= {callee for path, callee in callees(nodes[(MEDIA_ADAPTER, n)].code, lambda c: None)
                 if path == MEDIA_ADAPTER}
    return seen


def check_media_table(builders):
    """MEDIA_FILE_ACCESS against the adapter: one row per method of its MediaFiles impl, each
    row's actions those of the S3 calls the method makes, each kind of key a builder's, and
    no S3 call anywhere but under one of those methods."""
    methods = media_port_methods()
    if methods is None:
        fail(f"no `impl {MEDIA_PORT} for ..` in {MEDIA_ADAPTER.relative_to(ROOT)}: where does the code reach the bucket now? "
             "(MEDIA_PORT, MEDIA_ADAPTER in infra/check_infra.py)")
        return
    for name in sorted(methods - set(MEDIA_FILE_ACCESS)):
        fail(f"{MEDIA_PORT}::{name} (shared/adapters/src/media.rs) has no row in MEDIA_FILE_ACCESS "
             "(infra/check_infra.py): say which S3 actions it applies to which kind of key")
    for name in sorted(set(MEDIA_FILE_ACCESS) - methods):
        fail(f"MEDIA_FILE_ACCESS names {MEDIA_PORT}::{name}, which the adapter's impl no longer has")
    nodes, _, _ = code_graph()
    covered = set()
    for name in sorted(methods & set(MEDIA_FILE_ACCESS)):
        reach = adapter_reach(name)
        covered |= reach
        calls = set().union(*(s3_calls_in(nodes[(MEDIA_ADAPTER, n)].code) for n in reach))
        for call in sorted(calls - set(S3_ACTIONS)):
            fail(f"{MEDIA_PORT}::{name} calls S3 {call}, whose IAM action infra/check_infra.py "
                 "does not know: add it to S3_ACTIONS")
        actions = set().union(*(S3_ACTIONS.get(c, set()) for c in calls))
        listed = {a for a, _ in MEDIA_FILE_ACCESS[name]}
        if actions != listed:
            fail(f"MEDIA_FILE_ACCESS gives {MEDIA_PORT}::{name} the actions {sorted(listed)}, but its "
                 f"code's S3 calls ({', '.join(sorted(calls)) or 'none'}) need {sorted(actions)}")
    for key_kind in sorted({k for row in MEDIA_FILE_ACCESS.values() for _, k in row} - set(builders)):
        fail(f"MEDIA_FILE_ACCESS names the keys of {key_kind}, which the shared code no longer has")
    for builder in sorted(set(builders) - {k for row in MEDIA_FILE_ACCESS.values() for _, k in row}):
        fail(f"{builder} makes {builders[builder]} keys, which no row of MEDIA_FILE_ACCESS names: "
             "say which MediaFiles method applies which action to them")
    if builders.get(MESSAGE_KEYS) != MESSAGE_FILES:
        fail(f"{MESSAGE_KEYS} makes {builders.get(MESSAGE_KEYS)} keys, not {MESSAGE_FILES} (MESSAGE_FILES "
             "in infra/check_infra.py): where are messages' files kept now? (the lifecycle never expires them)")
    # Nothing else calls S3: an S3 call outside the port's methods could touch any key.
    for (path, name), fn in sorted(nodes.items()):
        calls = s3_calls_in(fn.code)
        if calls and not (path == MEDIA_ADAPTER and name in covered):
            fail(f"{path.relative_to(ROOT)}: {name} calls S3 ({', '.join(sorted(calls))}) outside the "
                 f"{MEDIA_PORT} methods: the check cannot tell which keys it touches; go through {MEDIA_PORT}")


def expected_s3(function, builders):
    """{(action, key pattern): the MediaFiles methods that need it} for the function."""
    reached = {name for path, name in reached_nodes(function) if path == MEDIA_ADAPTER}
    calls = s3_calls_in(blank_comments_and_strings(function_source(function)))
    if calls:
        fail(f"{function}: its own code calls S3 ({', '.join(sorted(calls))}): go through {MEDIA_PORT} "
             "(the check ties actions to keys only there)")
    expected = {}
    for method in sorted(reached & set(MEDIA_FILE_ACCESS)):
        for action, key_kind in MEDIA_FILE_ACCESS[method]:
            if key_kind in builders:
                expected.setdefault((action, builders[key_kind]), set()).add(method)
    return expected


def role_s3_statements(template, function):
    role = template["Resources"].get(f"{camel(function)}Role") or {}
    for policy in role.get("Properties", {}).get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement.get("Action", statement.get("NotAction", []))
            actions = [actions] if isinstance(actions, str) else actions
            if any(a == "*" or a.startswith("s3:") for a in actions):
                yield statement, actions


def granted_s3(function, template):
    granted = set()
    for statement, actions in role_s3_statements(template, function):
        sid = statement.get("Sid")
        if "NotAction" in statement or "NotResource" in statement or statement.get("Effect") != "Allow":
            fail(f"{function}: statement {sid} uses NotAction/NotResource or Deny on S3: the check cannot read it")
            continue
        for action in actions:
            if "*" in action:
                fail(f"{function}: statement {sid} allows {action}: name each S3 action its code calls")
        resources = statement["Resource"]
        resources = resources if isinstance(resources, list) else [resources]
        for resource in resources:
            name = resource_name(resource)
            if name == "*":
                fail(f"{function}: statement {sid} allows {actions} on every bucket (Resource \"*\")")
            elif name == "bucket" or name == "bucket:*":
                fail(f"{function}: statement {sid} allows {actions} on the whole media bucket: "
                     "only the key prefixes its code uses")
            elif name.startswith("bucket:"):
                granted |= {(a, name[len("bucket:"):]) for a in actions if "*" not in a}
            else:
                fail(f"{function}: statement {sid} allows {actions} on {name}: S3 actions belong on the media bucket's objects")
    return granted


def check_media(functions):
    builders = object_key_builders()
    check_media_table(builders)
    template = load_template("functions.yaml")
    for function in functions:
        expected = expected_s3(function, builders)
        granted = granted_s3(function, template)
        for action, prefix in sorted(set(expected) - granted):
            methods = ", ".join(f"{MEDIA_PORT}::{m}" for m in sorted(expected[(action, prefix)]))
            fail(f"{function}: its code does {action} on media bucket keys {prefix} ({methods}), which its "
                 f"role does not allow: a statement with Resource ${{MediaBucketArn}}/{prefix}")
        for action, prefix in sorted(granted - set(expected)):
            fail(f"{function}: its role allows {action} on media bucket keys {prefix}, which its code never does")
        uses_bucket = bool(expected)
        declared = "media" in function_needs(function)
        if uses_bucket and not declared:
            message = (f"{function}: its code uses the media bucket, but its main.rs Needs lacks "
                       "`media: true`: ctx.media() panics on first use in AWS (no S3 client, no MEDIA_BUCKET check)")
            if function in NEEDS_MEDIA_TO_DECLARE:
                warn(message)
            else:
                fail(message)
        elif function in NEEDS_MEDIA_TO_DECLARE:
            fail(f"{function}: its Needs now says media (or it no longer uses the bucket): remove it "
                 "from NEEDS_MEDIA_TO_DECLARE in infra/check_infra.py")
    check_media_bucket(builders)


def check_media_bucket(builders):
    foundations = load_template("foundations.yaml")
    buckets = {k: r for k, r in foundations["Resources"].items() if r["Type"] == "AWS::S3::Bucket"}
    if list(buckets) != ["MediaBucket"]:
        fail(f"foundations.yaml must hold one bucket, MediaBucket: {sorted(buckets)}")
        return
    bucket = buckets["MediaBucket"]
    props = bucket["Properties"]
    if bucket.get("DeletionPolicy") != "Retain" or bucket.get("UpdateReplacePolicy") != "Retain":
        fail("foundations.yaml: MediaBucket holds the history's files: DeletionPolicy and UpdateReplacePolicy Retain")
    block = props.get("PublicAccessBlockConfiguration", {})
    if not all(block.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets")):
        fail("foundations.yaml: MediaBucket must block every kind of public access")
    rules = props.get("BucketEncryption", {}).get("ServerSideEncryptionConfiguration", [])
    if not any(r.get("ServerSideEncryptionByDefault", {}).get("SSEAlgorithm") in ("AES256", "aws:kms", "aws:kms:dsse") for r in rules):
        fail("foundations.yaml: MediaBucket has no default encryption")
    if props.get("VersioningConfiguration", {}).get("Status") == "Enabled":
        fail("foundations.yaml: MediaBucket is versioned: DESIGN §12 wants versioning off")
    owner = props.get("OwnershipControls", {}).get("Rules", [{}])[0].get("ObjectOwnership")
    if owner != "BucketOwnerEnforced":
        fail("foundations.yaml: MediaBucket must disable ACLs (ObjectOwnership BucketOwnerEnforced)")
    if "MediaBucketName" not in foundations.get("Outputs", {}) or "MediaBucketArn" not in foundations.get("Outputs", {}):
        fail("foundations.yaml: no MediaBucketName / MediaBucketArn output (infra/deploy.sh passes them on)")
    check_lifecycle(props.get("LifecycleConfiguration", {}).get("Rules", []), builders)
    check_cors(props.get("CorsConfiguration"))
    deploy = (ROOT / "infra/deploy.sh").read_text()
    for needle in ('"MediaBucketName=$MEDIA_BUCKET"', '"MediaBucketArn=$MEDIA_BUCKET_ARN"',
                   'echo "MEDIA_BUCKET=$MEDIA_BUCKET"', '"PageOrigin=$NEW_PAGE_ORIGIN"'):
        if needle not in deploy:
            fail(f"infra/deploy.sh no longer has {needle}: the bucket's name, ARN and CORS origin must reach the stacks and functions")


def rule_prefix(rule):
    """The key prefix a lifecycle rule applies to ("" = every key), or None if filtered
    otherwise (tags, sizes: not understood here)."""
    if set(rule) & {"TagFilters", "ObjectSizeGreaterThan", "ObjectSizeLessThan"}:
        return None
    return rule.get("Prefix", "")


def check_lifecycle(rules, builders):
    enabled = [r for r in rules if r.get("Status") == "Enabled"]
    aborts = [r for r in enabled if "AbortIncompleteMultipartUpload" in r and rule_prefix(r) == ""]
    if not any(r["AbortIncompleteMultipartUpload"].get("DaysAfterInitiation", 99) <= 7 for r in aborts):
        fail("foundations.yaml: MediaBucket needs a lifecycle rule aborting incomplete multipart "
             "uploads on every key within days (a fetch that timed out leaves billed parts)")
    expiring = [(rule_prefix(r), r) for r in enabled
                if set(r) & {"ExpirationInDays", "ExpirationDate", "Transitions"}]
    history = MESSAGE_FILES[:-1]
    for prefix, rule in expiring:
        if prefix is None or history.startswith(prefix) or prefix.startswith(history):
            fail(f"foundations.yaml: lifecycle rule {rule.get('Id')} expires or moves {prefix or 'every key'}, "
                 f"which holds (or may hold) the history's files ({MESSAGE_FILES}): the history is never deleted")
    # Every other prefix the code writes is an upload area: it must not pile up for ever.
    for pattern in sorted(set(builders.values()) - {MESSAGE_FILES}):
        area = pattern[:-1]
        if not any(prefix and area.startswith(prefix) and "ExpirationInDays" in rule for prefix, rule in expiring):
            fail(f"foundations.yaml: nothing expires {pattern} (an upload area: never-sent uploads would pile up for ever)")


def check_cors(cors):
    if isinstance(cors, dict) and "Fn::If" in cors:
        cors = cors["Fn::If"][1]  # the rule while the page's origin is known
    rules = (cors or {}).get("CorsRules", [])
    if not rules:
        fail("foundations.yaml: MediaBucket has no CORS rule for the page (it PUTs attachments and GETs files)")
    for rule in rules:
        if rule.get("AllowedOrigins") != [{"Ref": "PageOrigin"}]:
            fail(f"foundations.yaml: CORS rule {rule.get('Id')} allows {rule.get('AllowedOrigins')}: only the page's origin (PageOrigin)")
        if not set(rule.get("AllowedMethods", [])) <= {"PUT", "GET"}:
            fail(f"foundations.yaml: CORS rule {rule.get('Id')} allows {rule.get('AllowedMethods')}: only PUT and GET")
        headers = {h.lower() for h in rule.get("AllowedHeaders", [])}
        if not headers <= {"content-type"}:
            fail(f"foundations.yaml: CORS rule {rule.get('Id')} allows the headers {rule.get('AllowedHeaders')}: only Content-Type")


# ---- real time: the WebSocket API's connections, and hand-offs (DESIGN §16) -------------------
#
# The code reaches the WebSocket API's connections only through the Pusher port, from a
# context's `pusher()` (its adapter, ConnectionsClient in shared/adapters/src/realtime.rs,
# calls the management API), and other functions only through `invoker().invoke_async(..)`
# with the config field that names them. So a function whose code, with what it reaches,
# calls `.pusher().post(` needs execute-api:ManageConnections on POST /@connections/* of the
# API's stage, `.pusher().close(` on DELETE, and `.invoker().invoke_async(&..desk_events_function`
# lambda:InvokeFunction on desk-events' live alias: exactly those, both ways (check_roles).
# The port's method names (`post`, `close`) are too common to follow through the call graph
# by name (every HTTP client has a `post`), so these calls are read as text in the code the
# function reaches. PUSHER_ACCESS is held to the adapter like MEDIA_FILE_ACCESS.

WEBSOCKET_API = "WebSocketApi"  # the API's logical id in functions.yaml
WEBSOCKET_STAGE = "live"        # its stage (wiring.yaml), in the roles' ARNs and the URLs
REALTIME_ADAPTER = ROOT / "shared/adapters/src/realtime.rs"
PUSHER_PORT = "Pusher"
# Per Pusher method: the management API call its code makes, and the HTTP method IAM names.
PUSHER_ACCESS = {"post": ("post_to_connection", "POST"), "close": ("delete_connection", "DELETE")}
MANAGEMENT_CALL = re.compile(r"\.(post_to_connection|delete_connection|get_connection)\(\)")
PUSHER_CALL = re.compile(r"\.pusher\(\)\s*\.(\w+)\(")
INVOKE_CALL = re.compile(r"\.invoker\(\)\s*\.(\w+)\(\s*&?\s*([\w.]+)")
# The config field naming each function work is handed to: that function (its live alias).
INVOKED_BY_FIELD = {"desk_events_function": "desk-events"}
# Needs flags whose setting is a functions stack output, never set by hand: the variable
# infra/deploy.sh gives every function, and the output it reads.
STACK_SETTINGS = {
    "websocket_url": ("WEBSOCKET_URL", "WebSocketUrl"),
    "push": ("WEBSOCKET_CALLBACK_URL", "WebSocketCallbackUrl"),
    "media_hand_off": ("DESK_EVENTS_FUNCTION", "DeskEventsFunction"),
}
# What a function reaching these needs in its main.rs `Needs` (the context builds the
# management client and the invoker only then: `ctx.pusher()` and `ctx.invoker()` panic otherwise).
NEEDS_FOR = {"execute-api:ManageConnections": "push", "lambda:InvokeFunction": "media_hand_off"}
# Access log variables that would put the query string (the ticket) in a log.
QUERY_IN_LOG = re.compile(r"\$(?:context\.requestOverride|input|method|request)\b|query", re.I)


def reached_code(function):
    """The function's code and that of every shared fn it reaches, comments and strings blanked."""
    nodes, _, _ = code_graph()
    return blank_comments_and_strings(function_source(function)) + "".join(
        nodes[node].code for node in sorted(reached_nodes(function)))


@functools.cache
def realtime_grants(function):
    """{(action, resource): the call needing it} of the function's real-time calls."""
    code = reached_code(function)
    grants = {}
    for method in PUSHER_CALL.findall(code):
        if method not in PUSHER_ACCESS:
            fail(f"{function}: its code calls {PUSHER_PORT}::{method}, which PUSHER_ACCESS "
                 "(infra/check_infra.py) does not know: say which management call it makes")
            continue
        grants[("execute-api:ManageConnections", f"connections:{PUSHER_ACCESS[method][1]}")] = f"{PUSHER_PORT}::{method}"
    for method, arg in INVOKE_CALL.findall(code):
        field = arg.split(".")[-1]
        if field not in INVOKED_BY_FIELD:
            fail(f"{function}: cannot tell which function invoker().{method}({arg}, ..) invokes: "
                 "name it with a config field listed in INVOKED_BY_FIELD (infra/check_infra.py)")
            continue
        grants[("lambda:InvokeFunction", f"function:{INVOKED_BY_FIELD[field]}")] = f"Invoker::{method}"
    return grants


def impl_methods(path, trait):
    """The methods of `impl <trait> for ..` in a file, or None if there is none."""
    code = blank_comments_and_strings(strip_tests(path.read_text()))
    impl = re.search(rf"\nimpl(?:<[^>]*>)?\s+{trait}\s+for\s+\w+\s*\{{", code)
    if impl is None:
        return None
    depth, end = 1, impl.end()
    while depth and end < len(code):
        depth += {"{": 1, "}": -1}.get(code[end], 0)
        end += 1
    return set(re.findall(r"\bfn\s+(\w+)", code[impl.end():end]))


def check_realtime(functions):
    nodes, _, _ = code_graph()
    rel = REALTIME_ADAPTER.relative_to(ROOT)
    # The adapter: one PUSHER_ACCESS row per method, each making its own management call,
    # and no management call anywhere else.
    methods = impl_methods(REALTIME_ADAPTER, PUSHER_PORT)
    if methods is None:
        fail(f"no `impl {PUSHER_PORT} for ..` in {rel}: where does the code reach the WebSocket "
             "API now? (REALTIME_ADAPTER, PUSHER_PORT in infra/check_infra.py)")
        methods = set()
    for name in sorted(methods ^ set(PUSHER_ACCESS)):
        fail(f"{PUSHER_PORT}::{name}: in {'the adapter' if name in methods else 'PUSHER_ACCESS'} only: "
             "one row of PUSHER_ACCESS (infra/check_infra.py) per method of the adapter's impl")
    for name in sorted(methods & set(PUSHER_ACCESS)):
        calls = set(MANAGEMENT_CALL.findall(nodes.get((REALTIME_ADAPTER, name), Fn()).code))
        if calls != {PUSHER_ACCESS[name][0]}:
            fail(f"{PUSHER_PORT}::{name} makes the management calls {sorted(calls)}, PUSHER_ACCESS "
                 f"says {PUSHER_ACCESS[name][0]}: its IAM method would be wrong")
    for (path, name), fn in sorted(nodes.items()):
        if MANAGEMENT_CALL.search(fn.code) and not (path == REALTIME_ADAPTER and name in PUSHER_ACCESS):
            fail(f"{path.relative_to(ROOT)}: {name} calls the WebSocket management API outside the "
                 f"{PUSHER_PORT} methods: the check cannot tell which grant it needs")
    # A hand-off is asynchronous: push must never wait for a 100 MB download.
    invoke = nodes.get((REALTIME_ADAPTER, "invoke_async"), Fn()).code
    if ".invoke()" not in invoke or "InvocationType::Event" not in invoke or "RequestResponse" in invoke:
        fail(f"{rel}: invoke_async must invoke with InvocationType::Event (an asynchronous invoke: "
             "Lambda queues it, and the EventInvokeConfig in wiring.yaml retries it and keeps what fails)")
    # What a function reaches, its Needs must build.
    for function in functions:
        needs = function_needs(function)
        for action, resource in sorted(realtime_grants(function)):
            if NEEDS_FOR[action] not in needs:
                fail(f"{function}: its code reaches {realtime_grants(function)[(action, resource)]} "
                     f"({action} on {resource}), but its main.rs Needs lacks `{NEEDS_FOR[action]}: true`")
        own = blank_comments_and_strings(function_source(function))
        if re.search(r"\bconfig\s*\.\s*websocket_url\b", own) and "websocket_url" not in needs:
            fail(f"{function}: its code reads config.websocket_url, but its main.rs Needs lacks "
                 "`websocket_url: true` (an empty WEBSOCKET_URL would reach the page)")
    check_websocket_stack(functions)


def check_websocket_stack(functions):
    """The API (functions.yaml), its stage (wiring.yaml), the URLs and the function names the
    functions get (infra/deploy.sh), all naming the same things."""
    resources = load_template("functions.yaml")["Resources"]
    outputs = load_template("functions.yaml").get("Outputs", {})
    api = resources.get(WEBSOCKET_API, {})
    if api.get("Type") != "AWS::ApiGatewayV2::Api" or api["Properties"].get("ProtocolType") != "WEBSOCKET":
        fail(f"functions.yaml: no WebSocket API {WEBSOCKET_API} (AWS::ApiGatewayV2::Api, ProtocolType WEBSOCKET)")
    value = lambda name: (outputs.get(name, {}).get("Value") or {})
    host = f"${{{WEBSOCKET_API}}}.execute-api.${{AWS::Region}}.${{AWS::URLSuffix}}/{WEBSOCKET_STAGE}"
    want = {
        "WebSocketApiId": {"Ref": WEBSOCKET_API},
        "WebSocketUrl": {"Fn::Sub": f"wss://{host}"},
        "WebSocketCallbackUrl": {"Fn::Sub": f"https://{host}"},
    }
    want |= {"DeskEventsFunction": {"Fn::Sub": f"${{Stack}}-{INVOKED_BY_FIELD['desk_events_function']}:live"}}
    for name, expected in want.items():
        if value(name) != expected:
            fail(f"functions.yaml: output {name} is {value(name)!r}, expected {expected!r}")
    if f"{WEBSOCKET_HOST_IN_CSP}/{WEBSOCKET_STAGE}" != "wss://" + host.replace(WEBSOCKET_API, WEBSOCKET_API_PARAMETER["Ref"]):
        fail("the CSP's WebSocket host (WEBSOCKET_HOST_IN_CSP) is not the functions stack's WebSocketUrl host")
    wiring = load_template("wiring.yaml")["Resources"]
    stages = {k: r["Properties"] for k, r in wiring.items()
              if r["Type"] == "AWS::ApiGatewayV2::Stage" and r["Properties"].get("ApiId") == WEBSOCKET_API_PARAMETER}
    if [p.get("StageName") for p in stages.values()] != [WEBSOCKET_STAGE]:
        fail(f"wiring.yaml: the WebSocket API needs one stage, {WEBSOCKET_STAGE} (the URLs and the "
             f"roles' ManageConnections ARNs name it): {sorted(stages)}")
    for key, props in stages.items():
        log_format = props.get("AccessLogSettings", {}).get("Format", "")
        if not log_format:
            fail(f"wiring.yaml: {key} has no access logs")
        if QUERY_IN_LOG.search(log_format):
            fail(f"wiring.yaml: {key}'s access log format may log the query string, where the ticket is: "
                 f"{QUERY_IN_LOG.search(log_format).group(0)}")
        route = props.get("DefaultRouteSettings", {})
        if route.get("DataTraceEnabled") or route.get("LoggingLevel") == "INFO":
            fail(f"wiring.yaml: {key} logs requests (data trace, or execution logs at INFO): tickets would reach the logs")
        if not route.get("ThrottlingRateLimit") or not route.get("ThrottlingBurstLimit"):
            fail(f"wiring.yaml: {key} has no throttling (DefaultRouteSettings): nothing else bounds a flood of connections")
    # infra/deploy.sh gives each such setting from the functions stack's output.
    deploy = (ROOT / "infra/deploy.sh").read_text()
    used = set().union(*(function_needs(f) for f in functions)) if functions else set()
    for need, (variable, output) in sorted(STACK_SETTINGS.items()):
        if need not in used:
            continue
        if not re.search(rf'^{variable}=\$\(output "\$FUNCTIONS_STACK" {output}\)$', deploy, re.M):
            fail(f"infra/deploy.sh: {variable} must be read from the functions stack's {output} output")
        if f'echo "{variable}=${variable}"' not in deploy:
            fail(f"infra/deploy.sh: the functions' environment lacks {variable} (Needs {need})")
        if output not in outputs:
            fail(f"functions.yaml: no {output} output (infra/deploy.sh reads {variable} from it)")
    if '"WebSocketApiId=$WEBSOCKET_API_ID"' not in deploy:
        fail("infra/deploy.sh must pass the functions stack's WebSocketApiId to the wiring stack")


def check_async_invocations(functions):
    """A function whose code is invoked asynchronously (lambda:InvokeFunction, above) has an
    EventInvokeConfig on its live alias: bounded retries and age, an on-failure queue of its
    own that its role may send to, and a depth alarm; and reads no stream besides."""
    wiring = load_template("wiring.yaml")
    configs = {}
    for key, r in wiring["Resources"].items():
        if r["Type"] == "AWS::Lambda::EventInvokeConfig":
            name = r["Properties"].get("FunctionName", {})
            match = re.fullmatch(r"\$\{Stack\}-([a-z-]+)", name.get("Fn::Sub", "") if isinstance(name, dict) else "")
            configs[match.group(1) if match else key] = r["Properties"]
    invoked = {r.split(":", 1)[1] for f in functions for a, r in realtime_grants(f) if a == "lambda:InvokeFunction"}
    mappings = stream_mappings(wiring)
    taken = {resource_name(p.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", "")): f
             for f, p in mappings.items()}
    alarms = [r["Properties"] for r in wiring["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    for function in sorted(invoked | set(configs)):
        props = configs.get(function)
        if function not in invoked:
            fail(f"wiring.yaml: an EventInvokeConfig for {function}, which no code invokes")
        if function not in functions:
            fail(f"wiring.yaml: {function} is invoked, but is no function crate")
        if props is None:
            fail(f"wiring.yaml: {function} is invoked asynchronously but has no EventInvokeConfig (on its "
                 "live alias): Lambda's defaults keep an event 6 hours and drop what fails, unseen")
            continue
        if function in mappings:
            fail(f"wiring.yaml: {function} is invoked asynchronously and reads the stream too: one or the other")
        if props.get("Qualifier") != "live":
            fail(f"wiring.yaml: {function}'s EventInvokeConfig must be on its live alias (Qualifier live: what is invoked)")
        if not 0 <= props.get("MaximumRetryAttempts", -1) <= 2:
            fail(f"wiring.yaml: {function}'s EventInvokeConfig must bound its retries (MaximumRetryAttempts 0-2)")
        if not 60 <= props.get("MaximumEventAgeInSeconds", -1) <= 86400 // 4:
            fail(f"wiring.yaml: {function}'s EventInvokeConfig must give events up after an age (at most 6 hours)")
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        queue = resource_name(destination) if destination else None
        if queue not in QUEUE_PARAMETERS:
            fail(f"wiring.yaml: {function}'s EventInvokeConfig has no on-failure queue")
            continue
        if queue in taken:
            fail(f"wiring.yaml: {function} and {taken[queue]} give events up to the same queue: one each")
        taken[queue] = function
        if ("sqs:SendMessage", queue) not in EXTRA_GRANTS.get(function, set()):
            fail(f"{function}: its invocations are given up to {queue}, which EXTRA_GRANTS does not let its "
                 "role send to (Lambda sends an asynchronous invocation's failure as the function's role)")
        if not has_queue_alarm(alarms, queue):
            fail(f"wiring.yaml: no queue-depth alarm on {function}'s on-failure queue ({QUEUE_PARAMETERS[queue]}Name)")


def has_queue_alarm(alarms, queue):
    name_ref = {"Ref": f"{QUEUE_PARAMETERS[queue]}Name"}
    return any(a.get("MetricName") == "ApproximateNumberOfMessagesVisible" and a.get("Dimensions") ==
               [{"Name": "QueueName", "Value": name_ref}] for a in alarms)


# ---- stream readers (DESIGN §12: at most two per shard) -------------------------------------

def stream_mappings(wiring):
    """{function: mapping properties} of the event source mappings on the table's stream."""
    mappings = {}
    for key, r in wiring["Resources"].items():
        if r["Type"] != "AWS::Lambda::EventSourceMapping":
            continue
        props = r["Properties"]
        if props.get("EventSourceArn") != {"Ref": "TableStreamArn"}:
            continue
        match = re.search(r"function:\$\{Stack\}-([a-z-]+):live$", props["FunctionName"]["Fn::Sub"])
        mappings[match.group(1) if match else key] = props
    return mappings


def check_streams():
    wiring = load_template("wiring.yaml")
    mappings = stream_mappings(wiring)
    if len(mappings) > 2:
        fail(f"wiring.yaml: {len(mappings)} event source mappings read the table's stream "
             f"({', '.join(sorted(mappings))}): AWS advises at most two readers per shard; the "
             "second is shared by whatever reacts to desk changes (DESIGN §12)")
    readers = {f for f, grants in EXTRA_GRANTS.items() if STREAM_READING <= grants}
    if readers != set(mappings):
        fail(f"the functions reading the stream in wiring.yaml {sorted(mappings)} differ from "
             f"those EXTRA_GRANTS lets read it {sorted(readers)}")
    alarms = [r["Properties"] for r in wiring["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    queues = {}
    for function, props in sorted(mappings.items()):
        if props.get("FunctionResponseTypes") != ["ReportBatchItemFailures"] or props.get("BisectBatchOnFunctionError") is not True:
            fail(f"wiring.yaml: {function}'s stream mapping must report item failures and bisect failing batches")
        if not 0 <= props.get("MaximumRetryAttempts", -1) <= 10:
            fail(f"wiring.yaml: {function}'s stream mapping must bound its retries (MaximumRetryAttempts 0-10)")
        if not 60 <= props.get("MaximumRecordAgeInSeconds", -1) <= 86400 // 4:
            fail(f"wiring.yaml: {function}'s stream mapping must give records up after an age (at most 6 hours)")
        destination = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        queue = resource_name(destination) if destination else None
        if queue not in QUEUE_PARAMETERS:
            fail(f"wiring.yaml: {function}'s stream mapping has no on-failure queue")
            continue
        if queue in queues:
            fail(f"wiring.yaml: {function} and {queues[queue]} give records up to the same queue: one each")
        queues[queue] = function
        if ("sqs:SendMessage", queue) not in EXTRA_GRANTS.get(function, set()):
            fail(f"{function}: its mapping gives records up to {queue}, which EXTRA_GRANTS does not let its role send to")
        if not any(a.get("MetricName") == "IteratorAge" and a.get("Dimensions") ==
                   [{"Name": "FunctionName", "Value": {"Fn::Sub": f"${{Stack}}-{function}"}}] for a in alarms):
            fail(f"wiring.yaml: no IteratorAge alarm for {function}'s stream mapping")
        if not has_queue_alarm(alarms, queue):
            fail(f"wiring.yaml: no queue-depth alarm on {function}'s on-failure queue ({QUEUE_PARAMETERS[queue]}Name)")
    if "push" in mappings:
        check_push_filter(mappings["push"])
    if "inbound-processor" in mappings:
        check_inbound_filter(mappings["inbound-processor"])


def check_inbound_filter(mapping):
    """The inbound processor's filter: INSERTs of inbound messages still to be processed (on
    the unprocessed index: a reaction never is), in the attribute names and values the store
    writes, and what `inserted_inbound_message` checks (the local stack applies it)."""
    import json
    store = "\n".join(p.read_text() for p in sorted(STORE_DIR.glob("*.rs")))
    attr = re.search(r'pub const UNPROCESSED_KEY: &str = "(\w+)";', store)
    value = re.search(r'pub const UNPROCESSED: &str = "(\w+)";', (STORE_DIR / "items.rs").read_text())
    if not attr or not value:
        fail("the store no longer has UNPROCESSED_KEY (mod.rs) or UNPROCESSED (items.rs): update "
             "check_inbound_filter in infra/check_infra.py and the inbound processor's filter in wiring.yaml")
        return
    if not re.search(rf"\b{attr.group(1)}\s*=\s*Some\(UNPROCESSED\.into\(\)\)", store):
        fail(f"the store no longer writes UNPROCESSED into {attr.group(1)}: update the inbound processor's filter")
    filters = mapping.get("FilterCriteria", {}).get("Filters", [])
    want = {"eventName": ["INSERT"], "dynamodb": {"NewImage": {
        "direction": {"S": ["inbound"]}, attr.group(1): {"S": [value.group(1)]}}}}
    if [json.loads(f["Pattern"]) for f in filters] != [want]:
        fail(f"wiring.yaml: the inbound processor's filter must be {json.dumps(want, separators=(',', ':'))}")
    code = blank_comments_and_strings(strip_tests((ROOT / "functions/inbound-processor/src/lib.rs").read_text()))
    local = re.search(r"fn inserted_inbound_message\b(.*?)\n\}", code, re.S)
    if not local or not all(w in local.group(1) for w in ("event_name", "UNPROCESSED_KEY", "Direction::Inbound")):
        fail("functions/inbound-processor/src/lib.rs: inserted_inbound_message (the filter the local stack "
             "applies) no longer checks the INSERT, the inbound direction and UNPROCESSED_KEY that wiring.yaml's filter names")


def check_push_filter(mapping):
    """push's filter: INSERTs and MODIFYs of messages (sort key MSG#…) and conversations
    (#META), in the key attribute and values the store writes, and what
    `edubot_adapters::stream::desk_change` (push's own filter, and the local stack's) checks.
    desk-events' records are among them: push hands it new inbound messages whose file is
    pending (`media_to_fetch`: INSERTs of message items)."""
    import json
    items = without_comments((STORE_DIR / "items.rs").read_text())
    prefix = re.search(r'pub const MESSAGE_SK_PREFIX: &str = "([^"]+)";', items)
    meta = re.search(r'pub const META_SK: &str = "([^"]+)";', items)
    table = load_template("foundations.yaml")["Resources"]["Table"]["Properties"]
    sort_key = next(k["AttributeName"] for k in table["KeySchema"] if k["KeyType"] == "RANGE")
    if not prefix or not meta:
        fail("store/items.rs no longer has MESSAGE_SK_PREFIX or META_SK: update check_push_filter in "
             "infra/check_infra.py and push's filter in wiring.yaml")
        return
    for builder, const in (("message_sk", "MESSAGE_SK_PREFIX"), ("", "META_SK")):
        if builder and not re.search(rf"fn {builder}\([^)]*\)\s*->\s*String\s*\{{\s*format!\(\"\{{{const}\}}", items):
            fail(f"store/items.rs: {builder} no longer builds message sort keys from {const}: update push's filter")
    if not re.search(r"\bsk:\s*META_SK\.into\(\)", items):
        fail("store/items.rs: the conversation item's sort key is no longer META_SK: update push's filter")
    want = {"eventName": ["INSERT", "MODIFY"],
            "dynamodb": {"Keys": {sort_key: {"S": [{"prefix": prefix.group(1)}, meta.group(1)]}}}}
    filters = mapping.get("FilterCriteria", {}).get("Filters", [])
    if [json.loads(f["Pattern"]) for f in filters] != [want]:
        fail(f"wiring.yaml: push's filter must be {json.dumps(want, separators=(',', ':'))}")
    stream = ROOT / "shared/adapters/src/stream.rs"
    fns = {name: fn.raw for name, fn in file_fns(stream).items()} if stream.exists() else {}
    # desk_change takes INSERT and MODIFY of message items (MSG#…) and conversation items
    # (#META) only.
    change = without_comments(fns.get("desk_change", ""))
    key = without_comments(fns.get("sort_key", ""))
    if not (re.search(r'"INSERT"\s*=>', change) and re.search(r'"MODIFY"\s*=>', change)
            and re.search(r"_\s*=>\s*return None", change)
            and "starts_with(MESSAGE_SK_PREFIX)" in change and re.search(r"==\s*META_SK", change)
            and f'.keys.get("{sort_key}")' in key):
        fail("shared/adapters/src/stream.rs: desk_change (push's filter, and the local stack's) no longer checks "
             f"INSERT or MODIFY, the {sort_key} prefix MESSAGE_SK_PREFIX and META_SK that wiring.yaml's filter names")
    media = without_comments(fns.get("media_to_fetch", ""))
    if "self.inserted" not in media:
        fail("shared/adapters/src/stream.rs: media_to_fetch (push's hand-offs) must take INSERTs only")
    push = blank_comments_and_strings(function_source("push"))
    local = (ROOT / "infra/local/src/stream.rs").read_text()
    if "desk_change" not in push or not re.search(r"Mapping::Push\s*=>\s*edubot_adapters::stream::desk_change\(", local):
        fail("push's code and the local stack's stream (infra/local/src/stream.rs) must filter with "
             "edubot_adapters::stream::desk_change, the filter wiring.yaml's names")


# The mappings the local stack's poller plays, read from wiring.yaml by these names.
LOCAL_MAPPINGS = {"InboundStream": "InboundProcessor", "PushStream": "Push"}


def check_stream_batch():
    """The local poller reads BatchSize and ParallelizationFactor from wiring.yaml itself
    (so they cannot drift): it must include the template and name each mapping's resource."""
    resources = load_template("wiring.yaml")["Resources"]
    local_source = (ROOT / "infra/local/src/stream.rs").read_text()
    if 'include_str!("../../cloudformation/wiring.yaml")' not in local_source:
        fail("infra/local/src/stream.rs must read the mappings from wiring.yaml (include_str!)")
    for mapping, variant in LOCAL_MAPPINGS.items():
        props = resources.get(mapping, {}).get("Properties", {})
        if not re.search(rf'Mapping::{variant}\s*=>\s*"{mapping}"', local_source):
            fail(f"infra/local/src/stream.rs: Mapping::{variant} must read {mapping} from wiring.yaml")
        factor = props.get("ParallelizationFactor")
        if not isinstance(factor, int) or not 1 <= factor <= 10:
            fail(f"wiring.yaml: {mapping}'s ParallelizationFactor must be a number from 1 to 10 "
                 f"(the local poller plays it)")
        if not isinstance(props.get("BatchSize"), int):
            fail(f"wiring.yaml: {mapping}'s BatchSize must be a plain number (the local poller reads it)")


def main():
    functions = function_crates()
    check_stream_batch()
    check_table()
    check_routes(functions)
    check_waf()
    check_function_set(functions)
    check_roles(functions)
    check_keys(functions)
    check_media(functions)
    check_streams()
    check_realtime(functions)
    check_async_invocations(functions)
    check_secrets(functions)
    check_headers()
    for w in warnings:
        print(f"infra/check_infra.py: warning: {w}", flush=True)
    if failures:
        print("infra/check_infra.py: the templates and the code disagree:", file=sys.stderr)
        for f in failures:
            print(f"  - {f}", file=sys.stderr)
        return 1
    print(f"infra/check_infra.py: templates agree with the code ({len(functions)} functions)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
