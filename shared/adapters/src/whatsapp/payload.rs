//! Webhook payloads: `entry[].changes[].value` with `contacts`, `messages` and `statuses`
//! (docs/architecture.md), turned into the few facts the system keeps.

use serde::Deserialize;
use serde_json::Value;

use crate::model::{MessageError, MessageStatus};
use crate::phone::Phone;
use crate::time::{Millis, SECOND};
use edubot_domain::media::{is_media_kind, Media, MAX_CAPTION_CHARS, MAX_FILENAME_CHARS};
// A user's text, as ours: WhatsApp's limit both ways.
use edubot_domain::whatsapp::MAX_TEXT_CHARS;

#[derive(Debug, Deserialize)]
pub struct WebhookPayload {
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: Option<String>,
    pub value: ChangeValue,
}

#[derive(Debug, Deserialize)]
pub struct ChangeValue {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub contacts: Vec<Contact>,
    /// Kept as raw JSON: one message of a type we do not know must not reject the others.
    #[serde(default)]
    pub messages: Vec<Value>,
    #[serde(default)]
    pub statuses: Vec<Value>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub phone_number_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub wa_id: Option<String>,
    #[serde(default)]
    pub profile: Option<Profile>,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
}

/// A user's message as stored: every type is kept, known ones get a readable `text`.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub wamid: String,
    pub from: Phone,
    pub profile_name: Option<String>,
    /// The user's own WhatsApp `timestamp`.
    pub sent_at: Millis,
    pub kind: String,
    pub text: Option<String>,
    /// The id of the chosen button or list row (interactive and template button replies).
    pub interactive_id: Option<String>,
    /// The message JSON as Meta sent it, for types the page does not render yet.
    pub raw: String,
    /// The file of a media message, as WhatsApp describes it (fetched later).
    pub media: Option<Media>,
    /// The wamid of the message this one answers (`context.id`), or a reaction's target.
    pub reply_to_wamid: Option<String>,
}

impl InboundMessage {
    /// A reaction is never a turn: no bot reply, no unread count, no wait.
    pub fn is_reaction(&self) -> bool {
        self.kind == "reaction"
    }
}

/// A delivery status for one of our outbound messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: MessageStatus,
    pub recipient: Option<Phone>,
    /// Our message id, echoed from `biz_opaque_callback_data`.
    pub callback: Option<String>,
    pub timestamp: Option<Millis>,
    pub error: Option<MessageError>,
}

/// What one webhook POST carries for our phone number.
#[derive(Debug, Default)]
pub struct WebhookBatch {
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Items that could not be understood (no id, bad sender, …): logged, acknowledged.
    pub skipped: usize,
    /// Changes for another phone number id: acknowledged and ignored.
    pub foreign_changes: usize,
}

impl WebhookPayload {
    pub fn parse(body: &[u8]) -> Result<WebhookPayload, serde_json::Error> {
        serde_json::from_slice(body)
    }

    /// Collects the messages and statuses addressed to `phone_number_id`, in payload order.
    pub fn into_batch(self, phone_number_id: &str) -> WebhookBatch {
        let mut batch = WebhookBatch::default();
        for change in self.entry.into_iter().flat_map(|e| e.changes) {
            let value = change.value;
            let ours = value
                .metadata
                .as_ref()
                .and_then(|m| m.phone_number_id.as_deref())
                == Some(phone_number_id);
            if !ours {
                batch.foreign_changes += 1;
                continue;
            }
            let name_of = |wa_id: &str| {
                value
                    .contacts
                    .iter()
                    .find(|c| c.wa_id.as_deref() == Some(wa_id))
                    .or_else(|| (value.contacts.len() == 1).then(|| &value.contacts[0]))
                    .and_then(|c| c.profile.as_ref()?.name.clone())
            };
            for raw in &value.messages {
                match parse_message(raw) {
                    Some(mut m) => {
                        m.profile_name =
                            name_of(m.from.as_str()).map(|n| at_most(n, MAX_SHORT_CHARS));
                        batch.messages.push(m);
                    }
                    None => batch.skipped += 1,
                }
            }
            for raw in &value.statuses {
                match parse_status(raw) {
                    Some(s) => batch.statuses.push(s),
                    None => batch.skipped += 1,
                }
            }
        }
        batch
    }
}

/// What one stored message may hold, whatever a payload says: every item must fit in a
/// DynamoDB key (2 KB) and item (400 KB), or one item would fail its whole POST on every
/// one of Meta's retries, and the items after it would be lost.
const MAX_WAMID_BYTES: usize = 256;
const MAX_SHORT_CHARS: usize = 256;
const MAX_RAW_BYTES: usize = 16 * 1024;

/// Meta's message ids are short printable ASCII (`wamid.HBgM…`); anything else is no id of
/// theirs and cannot be a key.
fn valid_wamid(id: &str) -> bool {
    (1..=MAX_WAMID_BYTES).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_graphic())
}

/// `text` cut to `max` characters, marked when cut.
fn at_most(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

fn log_not_stored(what: &str, why: &str) {
    tracing::warn!(item = what, reason = why, "webhook item not stored");
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, key| v.get(key))?.as_str()
}

/// WhatsApp timestamps are Unix seconds as a string.
fn timestamp_ms(v: &Value) -> Option<Millis> {
    let ts = v.get("timestamp")?;
    let secs = ts
        .as_str()
        .and_then(|s| s.parse::<i64>().ok())
        .or_else(|| ts.as_i64())?;
    secs.checked_mul(SECOND)
}

fn parse_message(raw: &Value) -> Option<InboundMessage> {
    let wamid = raw.get("id")?.as_str()?.to_owned();
    if !valid_wamid(&wamid) {
        log_not_stored("message", "its id is no WhatsApp message id");
        return None;
    }
    let from = Phone::parse(raw.get("from")?.as_str()?)?;
    let sent_at = timestamp_ms(raw)?;
    let kind = raw.get("type").and_then(Value::as_str).unwrap_or("unknown");
    let kind = at_most(kind.to_owned(), MAX_SHORT_CHARS);
    let (text, interactive_id) = readable(&kind, raw);
    let media = media_of(&kind, raw);
    let target = if kind == "reaction" {
        str_at(raw, &["reaction", "message_id"])
    } else {
        str_at(raw, &["context", "id"])
    };
    let reply_to_wamid = target.filter(|w| valid_wamid(w)).map(str::to_owned);
    let raw = raw.to_string();
    if raw.len() > MAX_RAW_BYTES {
        tracing::warn!(kind = %kind, bytes = raw.len(), "webhook message's raw JSON not kept: too large");
    }
    Some(InboundMessage {
        wamid,
        from,
        profile_name: None,
        sent_at,
        kind,
        text: text.map(|t| at_most(t, MAX_TEXT_CHARS)),
        interactive_id: interactive_id.map(|id| at_most(id, MAX_SHORT_CHARS)),
        media,
        reply_to_wamid,
        raw: if raw.len() > MAX_RAW_BYTES {
            String::new()
        } else {
            raw
        },
    })
}

/// A media message's file as WhatsApp describes it: its id (without which there is
/// nothing to fetch), type, checksum, and the document's name and caption, each bounded.
fn media_of(kind: &str, raw: &Value) -> Option<Media> {
    if !is_media_kind(kind) {
        return None;
    }
    let field =
        |name: &str, max: usize| str_at(raw, &[kind, name]).map(|v| at_most(v.to_owned(), max));
    let media_id = field("id", MAX_SHORT_CHARS).filter(|id| !id.is_empty())?;
    let mut media = Media::inbound(
        media_id,
        field("mime_type", MAX_SHORT_CHARS),
        field("sha256", MAX_SHORT_CHARS),
    );
    media.filename = field("filename", MAX_FILENAME_CHARS);
    media.caption = field("caption", MAX_CAPTION_CHARS);
    Some(media)
}

/// The text an admin reads for each message type, and the interactive id if any.
fn readable(kind: &str, raw: &Value) -> (Option<String>, Option<String>) {
    let owned = |s: Option<&str>| s.map(str::to_owned);
    match kind {
        "text" => (owned(str_at(raw, &["text", "body"])), None),
        "interactive" => {
            let reply = raw
                .get("interactive")
                .and_then(|i| i.get("button_reply").or_else(|| i.get("list_reply")));
            match reply {
                Some(r) => (owned(str_at(r, &["title"])), owned(str_at(r, &["id"]))),
                None => (Some("[interactive reply]".into()), None),
            }
        }
        "button" => (
            owned(str_at(raw, &["button", "text"])),
            owned(str_at(raw, &["button", "payload"])),
        ),
        "image" | "video" | "audio" | "document" | "sticker" => {
            let caption =
                str_at(raw, &[kind, "caption"]).or_else(|| str_at(raw, &[kind, "filename"]));
            let text = match caption {
                Some(c) => format!("[{kind}] {c}"),
                None => format!("[{kind}]"),
            };
            (Some(text), None)
        }
        "location" => {
            let loc = raw.get("location");
            let coord = |k: &str| loc.and_then(|l| l.get(k)).and_then(Value::as_f64);
            let label = [
                str_at(raw, &["location", "name"]),
                str_at(raw, &["location", "address"]),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(", ");
            let text = match (coord("latitude"), coord("longitude")) {
                (Some(lat), Some(lon)) if label.is_empty() => format!("[location] {lat}, {lon}"),
                (Some(lat), Some(lon)) => format!("[location] {label} ({lat}, {lon})"),
                _ => "[location]".to_owned(),
            };
            (Some(text), None)
        }
        "contacts" => {
            let names: Vec<&str> = raw
                .get("contacts")
                .and_then(Value::as_array)
                .map(|cs| {
                    cs.iter()
                        .filter_map(|c| str_at(c, &["name", "formatted_name"]))
                        .collect()
                })
                .unwrap_or_default();
            (
                Some(
                    format!("[contacts] {}", names.join(", "))
                        .trim_end()
                        .to_owned(),
                ),
                None,
            )
        }
        // The emoji alone; none when the user removed their reaction.
        "reaction" => (
            str_at(raw, &["reaction", "emoji"])
                .filter(|e| !e.is_empty())
                .map(|e| at_most(e.to_owned(), 16)),
            None,
        ),
        other => (Some(format!("[{other} message]")), None),
    }
}

fn parse_status(raw: &Value) -> Option<StatusUpdate> {
    let wamid = raw.get("id")?.as_str()?.to_owned();
    if !valid_wamid(&wamid) {
        log_not_stored("status", "its id is no WhatsApp message id");
        return None;
    }
    let status = MessageStatus::from_whatsapp(raw.get("status")?.as_str()?)?;
    let error = (status == MessageStatus::Failed).then(|| {
        let first = raw
            .get("errors")
            .and_then(Value::as_array)
            .and_then(|e| e.first());
        let code = first
            .and_then(|e| e.get("code"))
            .map(|c| {
                c.as_i64()
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| c.as_str().unwrap_or("").to_owned())
            })
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let title = first
            .and_then(|e| str_at(e, &["title"]).or_else(|| str_at(e, &["message"])))
            .unwrap_or("Failed without a reason from WhatsApp")
            .to_owned();
        MessageError {
            code: at_most(code, MAX_SHORT_CHARS),
            title: at_most(title, MAX_SHORT_CHARS),
        }
    });
    Some(StatusUpdate {
        wamid,
        status,
        recipient: raw
            .get("recipient_id")
            .and_then(Value::as_str)
            .and_then(Phone::parse),
        // Ours are message ids; anything longer is no callback of ours.
        callback: raw
            .get("biz_opaque_callback_data")
            .and_then(Value::as_str)
            .filter(|c| c.len() <= MAX_WAMID_BYTES)
            .map(str::to_owned),
        timestamp: timestamp_ms(raw),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use edubot_domain::media::MediaStatus;
    use proptest::prelude::*;
    use serde_json::json;

    /// Any JSON, a few levels deep, with the names, strings and numbers webhooks carry.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
            prop::sample::select(vec![
                "text",
                "interactive",
                "image",
                "1700000000",
                "447700900123",
                "PNID"
            ])
            .prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec(
                    (
                        prop::sample::select(vec![
                            "messages",
                            "statuses",
                            "contacts",
                            "metadata",
                            "phone_number_id",
                            "from",
                            "id",
                            "timestamp",
                            "type",
                            "text",
                            "body",
                            "interactive",
                            "status",
                            "recipient_id",
                            "errors",
                            "context",
                            "wa_id",
                            "profile",
                        ]),
                        inner,
                    ),
                    0..5,
                )
                .prop_map(|fields| {
                    Value::Object(fields.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_the_parser(body in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Ok(parsed) = WebhookPayload::parse(&body) {
                let _ = parsed.into_batch("PNID");
            }
        }

        #[test]
        fn any_json_in_a_change_value_is_read_or_skipped_never_a_panic(value in any_json()) {
            let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]});
            if let Ok(parsed) = WebhookPayload::parse(body.to_string().as_bytes()) {
                let batch = parsed.into_batch("PNID");
                for m in &batch.messages {
                    prop_assert!(!m.wamid.is_empty());
                }
            }
        }
    }

    fn payload(value: Value) -> WebhookBatch {
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]});
        WebhookPayload::parse(body.to_string().as_bytes())
            .unwrap()
            .into_batch("PNID")
    }

    #[test]
    fn reads_every_message_type_and_keeps_unknown_ones() {
        let batch = payload(json!({
            "metadata": {"phone_number_id": "PNID"},
            "contacts": [{"wa_id": "447700900123", "profile": {"name": "Ada"}}],
            "messages": [
                {"from": "447700900123", "id": "w1", "timestamp": "1700000000", "type": "text", "text": {"body": "hi"}},
                {"from": "447700900123", "id": "w2", "timestamp": "1700000001", "type": "interactive",
                 "interactive": {"type": "list_reply", "list_reply": {"id": "chat_support", "title": "Chat Support"}}},
                {"from": "447700900123", "id": "w3", "timestamp": "1700000002", "type": "image", "image": {"id": "m", "caption": "my form"}},
                {"from": "447700900123", "id": "w4", "timestamp": "1700000003", "type": "location", "location": {"latitude": 51.5, "longitude": -0.1}},
                {"from": "447700900123", "id": "w5", "timestamp": "1700000004", "type": "hologram", "hologram": {}},
                {"from": "447700900123", "id": "w6", "timestamp": "1700000005", "type": "button", "button": {"text": "Yes", "payload": "yes"}},
                {"from": "not-a-phone", "id": "w7", "timestamp": "1700000006", "type": "text", "text": {"body": "x"}}
            ]
        }));
        assert_eq!(batch.messages.len(), 6);
        assert_eq!(batch.skipped, 1);
        let m = &batch.messages;
        assert_eq!(m[0].text.as_deref(), Some("hi"));
        assert_eq!(m[0].profile_name.as_deref(), Some("Ada"));
        assert_eq!(m[0].sent_at, 1_700_000_000_000);
        assert_eq!(m[1].interactive_id.as_deref(), Some("chat_support"));
        assert_eq!(m[2].text.as_deref(), Some("[image] my form"));
        assert_eq!(m[3].text.as_deref(), Some("[location] 51.5, -0.1"));
        assert_eq!(m[4].kind, "hologram");
        assert_eq!(m[4].text.as_deref(), Some("[hologram message]"));
        assert_eq!(m[5].interactive_id.as_deref(), Some("yes"));
    }

    #[test]
    fn media_messages_carry_their_file_as_whatsapp_describes_it() {
        let batch = payload(json!({
            "metadata": {"phone_number_id": "PNID"},
            "messages": [
                {"from": "447700900123", "id": "w1", "timestamp": "1700000000", "type": "document",
                 "document": {"id": "1234567890", "mime_type": "application/pdf", "sha256": "abc=",
                              "filename": "receipt.pdf", "caption": "my fee receipt"}},
                {"from": "447700900123", "id": "w2", "timestamp": "1700000001", "type": "audio",
                 "audio": {"id": "55", "mime_type": "audio/ogg; codecs=opus", "voice": true}},
                {"from": "447700900123", "id": "w3", "timestamp": "1700000002", "type": "image",
                 "image": {"caption": "no id"}},
                {"from": "447700900123", "id": "w4", "timestamp": "1700000003", "type": "text", "text": {"body": "hi"}}
            ]
        }));
        let m = &batch.messages;
        let document = m[0].media.as_ref().unwrap();
        assert_eq!(document.media_id.as_deref(), Some("1234567890"));
        assert_eq!(document.mime_type.as_deref(), Some("application/pdf"));
        assert_eq!(document.sha256.as_deref(), Some("abc="));
        assert_eq!(document.filename.as_deref(), Some("receipt.pdf"));
        assert_eq!(document.caption.as_deref(), Some("my fee receipt"));
        assert_eq!(document.status, MediaStatus::Pending);
        let voice = m[1].media.as_ref().unwrap();
        assert_eq!(voice.media_id.as_deref(), Some("55"));
        assert_eq!(voice.filename, None);
        assert!(m[2].media.is_none(), "nothing to fetch without an id");
        assert_eq!(m[2].text.as_deref(), Some("[image] no id"));
        assert!(m[3].media.is_none());
    }

    #[test]
    fn reads_statuses_with_meta_errors() {
        let batch = payload(json!({
            "metadata": {"phone_number_id": "PNID"},
            "statuses": [
                {"id": "wamid.1", "status": "read", "timestamp": "1700000000", "recipient_id": "447700900123", "biz_opaque_callback_data": "01J"},
                {"id": "wamid.2", "status": "failed", "timestamp": "1700000000", "recipient_id": "447700900123",
                 "errors": [{"code": 131047, "title": "Re-engagement message"}]},
                {"id": "wamid.3", "status": "deleted"}
            ]
        }));
        assert_eq!(batch.statuses.len(), 2);
        assert_eq!(batch.skipped, 1);
        assert_eq!(batch.statuses[0].callback.as_deref(), Some("01J"));
        assert_eq!(
            batch.statuses[1].error,
            Some(MessageError {
                code: "131047".into(),
                title: "Re-engagement message".into()
            })
        );
    }

    #[test]
    fn ignores_other_phone_numbers() {
        let batch = payload(json!({
            "metadata": {"phone_number_id": "SOMEONE_ELSE"},
            "messages": [{"from": "447700900123", "id": "w1", "timestamp": "1", "type": "text", "text": {"body": "hi"}}]
        }));
        assert!(batch.messages.is_empty());
        assert_eq!(batch.foreign_changes, 1);
    }

    #[test]
    fn malformed_json_is_an_error() {
        assert!(WebhookPayload::parse(b"{not json").is_err());
        assert!(WebhookPayload::parse(b"{\"entry\": 3}").is_err());
    }
}
