//! Helpers shared by the handler tests (`webhook.rs`, `inbound_processor.rs`, `admin_api.rs`):
//! driving conversations through the real webhook and processor, calling the admin API
//! handlers as API Gateway would, and forging tokens.
#![allow(dead_code)]

use aws_lambda_events::streams::DynamoDbEventResponse;
use edubot_adapters::model::{new_message_id, Conversation, Message};
use edubot_adapters::whatsapp::signature;
use edubot_adapters::{AppContext, Phone};
use edubot_app::ports::ConversationStore;
use edubot_e2e::{
    api_request, now_secs, signed_webhook, user_choice, user_text, Harness, PHONE_NUMBER_ID,
};
use edubot_local::gateway::match_route;
use http::Method;
use lambda_http::{Body, Response};
use serde_json::{json, Value};

pub const HOUR_SECS: i64 = 3600;

/// A harness whose configuration adds (or overrides) these environment variables.
pub async fn harness_with(extra: &[(&str, &str)]) -> Harness {
    Harness::with(extra).await
}

pub fn new_wamid() -> String {
    format!("wamid.{}", new_message_id())
}

pub fn phone(raw: &str) -> Phone {
    Phone::parse(raw).expect("test phone")
}

/// Posts `payload` to the webhook, correctly signed; answers the HTTP status.
pub async fn post_webhook(h: &Harness, payload: &Value) -> u16 {
    webhook::handle(&h.ctx, signed_webhook(payload))
        .await
        .status()
        .as_u16()
}

/// Delivers the stream event for every unprocessed inbound message to the processor.
pub async fn process(h: &Harness) -> DynamoDbEventResponse {
    inbound_processor::handle(&h.ctx, h.stream_event_for_unprocessed().await).await
}

async fn deliver(h: &Harness, payload: Value) {
    assert_eq!(
        post_webhook(h, &payload).await,
        200,
        "webhook accepts {payload}"
    );
    let response = process(h).await;
    assert!(
        response.batch_item_failures.is_empty(),
        "processor failed: {response:?}"
    );
}

/// The user sends `text` now: webhook, then processor.
pub async fn user_says(h: &Harness, from: &str, text: &str) {
    user_says_at(h, from, text, now_secs()).await
}

/// The user sends `text` with this WhatsApp timestamp: webhook, then processor.
pub async fn user_says_at(h: &Harness, from: &str, text: &str, timestamp_secs: i64) {
    deliver(h, user_text(from, &new_wamid(), timestamp_secs, text)).await
}

/// The user taps the list row or button `id`: webhook, then processor.
pub async fn user_chooses(h: &Harness, from: &str, id: &str, title: &str) {
    deliver(h, user_choice(from, &new_wamid(), now_secs(), id, title)).await
}

/// The conversation's whole stored history, oldest first.
pub async fn history(h: &Harness, raw_phone: &str) -> Vec<Message> {
    h.ctx
        .store
        .messages_page(&phone(raw_phone), 200, None, None)
        .await
        .expect("history")
        .items
}

pub async fn conversation(h: &Harness, raw_phone: &str) -> Option<Conversation> {
    h.ctx
        .store
        .get_conversation(&phone(raw_phone))
        .await
        .expect("conversation read")
}

/// Calls the function serving `method path` (with query) exactly as API Gateway would.
pub async fn call_with_headers(
    ctx: &AppContext,
    method: Method,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response<Body> {
    let path = path_and_query.split('?').next().unwrap_or_default();
    let function = match_route(&method, path).expect("a route").function;
    let request = api_request(method, path_and_query, headers, body);
    // On the heap: the dispatch future is as large as the largest handler's, too large
    // for a test thread's stack in a debug build once a test awaits many calls.
    Box::pin(edubot_local::gateway::dispatch(ctx, function, request)).await
}

/// An admin API call with an optional bearer token and JSON body.
pub async fn call(
    ctx: &AppContext,
    method: Method,
    path_and_query: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Response<Body> {
    let authorization = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &authorization {
        headers.push(("authorization", a.as_str()));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    call_with_headers(ctx, method, path_and_query, &headers, body.as_bytes()).await
}

pub async fn get(ctx: &AppContext, path_and_query: &str, token: &str) -> (u16, Value) {
    edubot_e2e::json_of(call(ctx, Method::GET, path_and_query, Some(token), None).await)
}

pub async fn post(ctx: &AppContext, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    edubot_e2e::json_of(call(ctx, Method::POST, path, Some(token), body).await)
}

pub async fn admin_send(h: &Harness, token: &str, raw_phone: &str, text: &str) -> (u16, Value) {
    let path = format!("/api/admin/conversations/{raw_phone}/chat-support/send");
    post(&h.ctx, &path, token, Some(&json!({ "text": text }))).await
}

pub async fn admin_end(h: &Harness, token: &str, raw_phone: &str) -> (u16, Value) {
    post(
        &h.ctx,
        &format!("/api/admin/conversations/{raw_phone}/chat-support/end"),
        token,
        None,
    )
    .await
}

pub async fn admin_history(h: &Harness, token: &str, raw_phone: &str, query: &str) -> (u16, Value) {
    get(
        &h.ctx,
        &format!("/api/admin/conversations/{raw_phone}/messages{query}"),
        token,
    )
    .await
}

/// The `error.code` of an error body ("" when there is none).
pub fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

pub fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

/// `2026-11-25T08:27:43.123Z`: RFC 3339, UTC, with milliseconds.
pub fn is_rfc3339_millis(value: &Value) -> bool {
    let Some(s) = value.as_str() else {
        return false;
    };
    let b = s.as_bytes();
    let digits = |range: std::ops::Range<usize>| range.into_iter().all(|i| b[i].is_ascii_digit());
    b.len() == 24
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'.'
        && digits(20..23)
        && b[23] == b'Z'
}

/// The ids of a JSON array of messages.
pub fn ids_of(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The texts of a JSON array of messages.
pub fn texts_of(messages: &Value) -> Vec<String> {
    messages
        .as_array()
        .expect("messages array")
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A webhook payload as Meta posts it, with several changes in several entries. Each
/// change is `(phone_number_id, value)` where value holds contacts/messages/statuses.
pub fn webhook_with_changes(changes: Vec<(&str, Value)>) -> Value {
    let entries: Vec<Value> = changes
        .into_iter()
        .enumerate()
        .map(|(i, (pnid, mut value))| {
            value["messaging_product"] = "whatsapp".into();
            value["metadata"] = json!({ "display_phone_number": "15550000000", "phone_number_id": pnid });
            json!({ "id": format!("entry-{i}"), "changes": [{ "field": "messages", "value": value }] })
        })
        .collect();
    json!({ "object": "whatsapp_business_account", "entry": entries })
}

/// One user message object of a webhook payload.
pub fn text_message(from: &str, wamid: &str, timestamp_secs: i64, text: &str) -> Value {
    json!({ "from": from, "id": wamid, "timestamp": timestamp_secs.to_string(), "type": "text", "text": { "body": text } })
}

/// One status object of a webhook payload.
pub fn status_object(wamid: &str, status: &str, recipient: &str) -> Value {
    json!({ "id": wamid, "status": status, "timestamp": now_secs().to_string(), "recipient_id": recipient })
}

pub fn our_change(value: Value) -> Value {
    webhook_with_changes(vec![(PHONE_NUMBER_ID, value)])
}

// ---- tokens --------------------------------------------------------------------------------

pub fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n =
            chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn hex_decode(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// A JWT with these claims, signed HS256 with `secret` (to forge issuer, audience, role…).
pub fn hs256_token(claims: &Value, secret: &[u8]) -> String {
    let signing_input = format!(
        "{}.{}",
        base64url(br#"{"alg":"HS256","typ":"JWT"}"#),
        base64url(claims.to_string().as_bytes())
    );
    let hex_mac = signature::sign(secret, signing_input.as_bytes());
    let mac = hex_decode(hex_mac.strip_prefix("sha256=").expect("sha256= prefix"));
    format!("{signing_input}.{}", base64url(&mac))
}

/// Claims like the ones the service issues, valid for an hour.
pub fn admin_claims(sub: &str) -> Value {
    let now = now_secs();
    json!({ "sub": sub, "role": "admin", "iss": "edubot", "aud": "edubot-admin", "iat": now, "exp": now + HOUR_SECS })
}
