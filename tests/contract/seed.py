"""Seeds the local stack for the contract test, signs in, and writes schemathesis's config.

Usage: seed.py BASE_URL PASSWORD CONFIG_OUT TOKEN_OUT

The users write as WhatsApp would: webhooks signed with the local app secret, so the data
goes through the real webhook, stream and bot. Then the admin answers one of them. The
phones and message ids that now exist go into the config as dictionaries, so about half
the generated path parameters name real items (the other half stays random: 404s and 400s
are tested too). Standard library only.
"""

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

APP_SECRET = b"local-app-secret"  # the local stack's default WHATSAPP_APP_SECRET
PHONE_NUMBER_ID = "100000000000001"  # and its WHATSAPP_PHONE_NUMBER_ID

# The phone the spec's examples name: in chat support, with the history the examples read.
SUPPORT = "447700900123"
SUPPORT_TOO = "447700900125"  # a second one, so one ended by the fuzzer leaves another
MENU = "447700900124"  # talked to the bot only: not in chat support
OPTED_OUT = "447700900126"  # sent STOP
ENQUIRER = "447700900127"  # made an admission enquiry, then asked for support


def request(base, method, path, body=None, headers=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("content-type", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class Users:
    """WhatsApp users, as Meta delivers their messages: signed webhooks."""

    def __init__(self, base):
        self.base = base
        self.count = 0

    def send(self, phone, message):
        self.count += 1
        message = dict(message, **{
            "from": phone,
            "id": f"wamid.CONTRACT{phone}{self.count:04d}",
            "timestamp": str(int(time.time())),
        })
        payload = {
            "object": "whatsapp_business_account",
            "entry": [{"id": "0", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550000000", "phone_number_id": PHONE_NUMBER_ID},
                "contacts": [{"profile": {"name": f"Contract {phone[-2:]}"}, "wa_id": phone}],
                "messages": [message],
            }}]}],
        }
        body = json.dumps(payload).encode()
        signature = "sha256=" + hmac.new(APP_SECRET, body, hashlib.sha256).hexdigest()
        status, answer = request(self.base, "POST", "/webhook", body, {"x-hub-signature-256": signature})
        if status != 200:
            sys.exit(f"seed: the signed webhook was answered {status}: {answer}")

    def text(self, phone, text):
        self.send(phone, {"type": "text", "text": {"body": text}})

    def tap(self, phone, kind, reply_id, title):
        self.send(phone, {"type": "interactive", "interactive": {"type": kind, kind: {"id": reply_id, "title": title}}})


def wait_for(what, probe, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            sys.exit(f"seed: timed out waiting for {what}")
        time.sleep(0.2)


def main():
    base, password, config_out, token_out = sys.argv[1:5]
    status, login = request(base, "POST", "/api/admin/login", {"username": "admin", "password": password})
    if status != 200:
        sys.exit(f"seed: sign-in answered {status}: {login}")
    auth = {"authorization": f"Bearer {login['token']}"}

    def history(phone):
        status, body = request(base, "GET", f"/api/admin/conversations/{phone}/messages?limit=200", headers=auth)
        return body if status == 200 else None

    def reaches(phone, state, replies=1):
        """Waits until the bot has handled the user's last message: `state`, and `replies`
        messages of the bot after the user's last one."""
        def probe():
            h = history(phone)
            if not h or h["conversation"]["state"] != state:
                return None
            after_user = 0
            for m in reversed(h["messages"]):
                if m["author"] == "user":
                    break
                after_user += 1
            return h if after_user >= replies else None
        return wait_for(f"{phone} to reach {state}", probe)

    users = Users(base)
    for phone in (SUPPORT, SUPPORT_TOO, MENU, OPTED_OUT, ENQUIRER):
        users.text(phone, "hi")
    for phone in (SUPPORT, SUPPORT_TOO, MENU, OPTED_OUT, ENQUIRER):
        reaches(phone, "MAIN_MENU")

    users.tap(ENQUIRER, "list_reply", "admissions", "Admissions")
    reaches(ENQUIRER, "ADMISSION_NAME")
    users.text(ENQUIRER, "Jane Doe")
    reaches(ENQUIRER, "ADMISSION_EMAIL")
    users.text(ENQUIRER, "jane.doe@example.com")
    reaches(ENQUIRER, "ADMISSION_CONFIRM")
    users.tap(ENQUIRER, "button_reply", "enquiry_confirm", "Confirm")
    reaches(ENQUIRER, "MAIN_MENU")

    for phone in (SUPPORT, SUPPORT_TOO, ENQUIRER):
        users.text(phone, "support")
    users.text(OPTED_OUT, "STOP")
    for phone in (SUPPORT, SUPPORT_TOO, ENQUIRER):
        reaches(phone, "CHAT_SUPPORT_ACTIVE")
    reaches(OPTED_OUT, "OPTED_OUT")
    # A user message waiting for the desk (a waiting chat), then the admin's answer.
    question = "Hello, where is my certificate?"
    users.text(SUPPORT, question)
    wait_for("the user's message to reach the desk",
             lambda: any(m["text"] == question for m in (history(SUPPORT) or {}).get("messages", [])))
    status, sent = request(base, "POST", f"/api/admin/conversations/{SUPPORT}/chat-support/send",
                           {"text": "Hello! It is on its way."}, auth)
    if status != 201:
        sys.exit(f"seed: the admin's reply was answered {status}: {sent}")

    status, enquirer = request(base, "GET", f"/api/admin/conversations/{ENQUIRER}/messages", headers=auth)
    if status != 200 or not enquirer.get("enquiries"):
        sys.exit(f"seed: the admission enquiry is missing: {status} {enquirer}")

    phones = [SUPPORT, SUPPORT_TOO, MENU, OPTED_OUT, ENQUIRER]
    message_ids = [m["id"] for phone in phones for m in history(phone)["messages"]]
    with open(config_out, "w", encoding="utf-8") as f:
        f.write("# Written by tests/contract/seed.py for one run: what the stack now holds.\n")
        # No cache of past failures (it would live in the work tree, and make runs differ).
        f.write("[cache]\nenabled = false\n\n")
        f.write(f"[dictionaries.phones]\nvalues = {json.dumps(phones)}\n\n")
        f.write(f"[dictionaries.message_ids]\nvalues = {json.dumps(message_ids)}\n\n")
        f.write('[dictionaries.usernames]\nvalues = ["admin"]\n\n')
        f.write("[parameters]\n")
        f.write('"path.phone" = { dictionary = "phones", probability = 0.5 }\n')
        f.write('"path.id" = { dictionary = "message_ids", probability = 0.5 }\n')
        f.write('"query.before" = { dictionary = "message_ids", probability = 0.2 }\n')
        f.write('"query.after" = { dictionary = "message_ids", probability = 0.2 }\n')
        # Wrong passwords for the real admin: sign-in reaches its rate limit (429).
        f.write('"body.username" = { dictionary = "usernames", probability = 0.5 }\n')
    with open(token_out, "w", encoding="utf-8") as f:
        f.write(login["token"])
    print(f"seed: {len(phones)} conversations, {len(message_ids)} messages, 1 enquiry; signed in as admin")


if __name__ == "__main__":
    main()
