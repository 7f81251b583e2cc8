//! The admin API's JSON shapes (Conversation, Message, Enquiry): what the page and outside
//! clients read, built from the domain's values. Field names are a public contract
//! (docs/architecture.md); times are RFC 3339 UTC with milliseconds.

use serde::Serialize;

use edubot_app::ports::AdminSummary;
use edubot_domain::activation::Student;
use edubot_domain::enquiry::Enquiry;
use edubot_domain::media::{Media, MediaStatus};
use edubot_domain::model::{
    Author, Conversation, ConversationState, Direction, Message, MessageError, MessageStatus,
};
use edubot_domain::phone::Phone;
use edubot_domain::reports::Report;
use edubot_domain::team::{AuditEntry, CannedReply};
use edubot_domain::templates::Template;
use edubot_domain::time::{serde_rfc3339, Millis};

/// A conversation as the admin API returns it.
#[derive(Debug, Serialize)]
pub struct ConversationView<'a> {
    pub phone: &'a Phone,
    pub name: Option<&'a str>,
    pub state: ConversationState,
    pub is_chat_support: bool,
    #[serde(with = "serde_rfc3339::option")]
    pub support_started_at: Option<Millis>,
    #[serde(with = "serde_rfc3339::option")]
    pub waiting_since: Option<Millis>,
    #[serde(with = "serde_rfc3339")]
    pub last_message_at: Millis,
    pub last_message_preview: &'a str,
    pub unread_count: u32,
    #[serde(with = "serde_rfc3339::option")]
    pub window_expires_at: Option<Millis>,
    pub last_rating: Option<u8>,
    /// `{"name","course"}` once an activation code linked the conversation, else null.
    pub student: Option<&'a Student>,
    #[serde(with = "serde_rfc3339::option")]
    pub activation_locked_until: Option<Millis>,
    /// The admin who holds the chat, or null.
    pub assigned_to: Option<&'a str>,
}

pub fn conversation(c: &Conversation) -> ConversationView<'_> {
    ConversationView {
        phone: &c.phone,
        name: c.name.as_deref(),
        state: c.state,
        is_chat_support: c.is_chat_support(),
        support_started_at: c.support_started_at,
        waiting_since: c.waiting_since,
        last_message_at: c.last_message_at,
        last_message_preview: &c.last_message_preview,
        unread_count: c.unread_count,
        window_expires_at: c.window_expires_at(),
        last_rating: c.last_rating,
        student: c.student.as_ref(),
        activation_locked_until: c.activation_locked_until,
        assigned_to: c.assigned_to.as_deref(),
    }
}

/// A message as the admin API returns it.
#[derive(Debug, Serialize)]
pub struct MessageView<'a> {
    pub id: &'a str,
    pub direction: Direction,
    pub author: Author,
    pub admin: Option<&'a str>,
    pub kind: &'a str,
    pub text: Option<&'a str>,
    pub status: MessageStatus,
    pub error: Option<&'a MessageError>,
    pub wamid: Option<&'a str>,
    #[serde(with = "serde_rfc3339")]
    pub created_at: Millis,
    #[serde(with = "serde_rfc3339::option")]
    pub sent_at: Option<Millis>,
    /// The message's file (null for a message without one).
    pub media: Option<MediaView<'a>>,
    /// The id of the message this one answers (or a reaction's target), else null.
    pub reply_to: Option<&'a str>,
    pub reactions: Vec<ReactionView<'a>>,
}

/// A reaction on a message: `{"emoji","author"}`.
#[derive(Debug, Serialize)]
pub struct ReactionView<'a> {
    pub emoji: &'a str,
    pub author: Author,
}

/// A message's file as the admin API returns it; the bytes come from `GET …/media`.
#[derive(Debug, Serialize)]
pub struct MediaView<'a> {
    pub mime_type: Option<&'a str>,
    pub size: Option<u64>,
    pub filename: Option<&'a str>,
    pub caption: Option<&'a str>,
    pub status: MediaStatus,
    pub error: Option<&'a MessageError>,
}

fn media(m: &Media) -> MediaView<'_> {
    MediaView {
        mime_type: m.mime_type.as_deref(),
        size: m.size,
        filename: m.filename.as_deref(),
        caption: m.caption.as_deref(),
        status: m.status,
        error: m.error.as_ref(),
    }
}

pub fn message(m: &Message) -> MessageView<'_> {
    MessageView {
        id: &m.id,
        direction: m.direction,
        author: m.author,
        admin: m.admin.as_deref(),
        kind: &m.kind,
        text: m.text.as_deref(),
        status: m.status,
        error: m.error.as_ref(),
        wamid: m.wamid.as_deref(),
        created_at: m.created_at,
        sent_at: m.sent_at,
        media: m.media.as_ref().map(media),
        reply_to: m.reply_to.as_deref(),
        reactions: m
            .reactions
            .iter()
            .map(|r| ReactionView {
                emoji: &r.emoji,
                author: r.author,
            })
            .collect(),
    }
}

/// A desk event as the page's WebSocket gets it, one per text frame:
/// `{"type":"message","phone","message"}` for a new or changed message.
pub fn message_event(m: &Message) -> String {
    serde_json::json!({ "type": "message", "phone": &m.phone, "message": message(m) }).to_string()
}

/// `{"type":"conversation","conversation"}` for a changed conversation.
pub fn conversation_event(c: &Conversation) -> String {
    serde_json::json!({ "type": "conversation", "conversation": conversation(c) }).to_string()
}

/// An account as the team list shows it: `{"username","role","disabled","created_at"}`.
#[derive(Debug, Serialize)]
pub struct AdminView<'a> {
    pub username: &'a str,
    pub role: &'static str,
    pub disabled: bool,
    #[serde(with = "serde_rfc3339")]
    pub created_at: Millis,
}

pub fn admin(a: &AdminSummary) -> AdminView<'_> {
    AdminView {
        username: &a.username,
        role: a.role.as_str(),
        disabled: a.disabled,
        created_at: a.created_at,
    }
}

/// An audit entry: `{"at","admin","action","phone","detail"}`.
#[derive(Debug, Serialize)]
pub struct AuditEntryView<'a> {
    #[serde(with = "serde_rfc3339")]
    pub at: Millis,
    pub admin: &'a str,
    pub action: &'static str,
    pub phone: Option<&'a Phone>,
    pub detail: Option<&'a str>,
}

pub fn audit_entry(e: &AuditEntry) -> AuditEntryView<'_> {
    AuditEntryView {
        at: e.at,
        admin: &e.admin,
        action: e.action.as_str(),
        phone: e.phone.as_ref(),
        detail: e.detail.as_deref(),
    }
}

/// A canned reply: `{"shortcut","text"}`.
#[derive(Debug, Serialize)]
pub struct CannedReplyView<'a> {
    pub shortcut: &'a str,
    pub text: &'a str,
}

pub fn canned_reply(r: &CannedReply) -> CannedReplyView<'_> {
    CannedReplyView {
        shortcut: &r.shortcut,
        text: &r.text,
    }
}

/// A template as the admin API lists it.
#[derive(Debug, Serialize)]
pub struct TemplateView<'a> {
    pub name: &'a str,
    pub language: &'a str,
    pub category: &'a str,
    pub body: &'a str,
    pub parameter_count: usize,
}

pub fn template(t: &Template) -> TemplateView<'_> {
    TemplateView {
        name: &t.name,
        language: &t.language,
        category: &t.category,
        body: &t.body,
        parameter_count: t.parameter_count,
    }
}

/// An enquiry as the admin API returns it (in `GET …/messages`, `enquiries`).
#[derive(Debug, Serialize)]
pub struct EnquiryView<'a> {
    pub id: &'a str,
    pub course_id: Option<&'a str>,
    pub course: Option<&'a str>,
    pub name: &'a str,
    pub email: &'a str,
    #[serde(with = "serde_rfc3339")]
    pub created_at: Millis,
}

pub fn enquiry(e: &Enquiry) -> EnquiryView<'_> {
    EnquiryView {
        id: &e.id,
        course_id: e.request.course_id.as_deref(),
        course: e.request.course.as_deref(),
        name: &e.request.name,
        email: &e.request.email,
        created_at: e.created_at,
    }
}

/// A report's day, DESIGN §17's names; `date` as `YYYY-MM-DD`.
#[derive(Debug, Serialize)]
pub struct ReportDayView {
    pub date: String,
    pub chats_started: u64,
    pub chats_ended: u64,
    pub first_response_p50_s: Option<f64>,
    pub first_response_p90_s: Option<f64>,
    pub resolution_p50_s: Option<f64>,
    pub csat_count: u64,
    pub csat_average: Option<f64>,
    pub messages_in: u64,
    pub messages_out: u64,
}

/// The columns of a report's days, in the order of the CSV download.
pub const REPORT_DAY_COLUMNS: [&str; 10] = [
    "date",
    "chats_started",
    "chats_ended",
    "first_response_p50_s",
    "first_response_p90_s",
    "resolution_p50_s",
    "csat_count",
    "csat_average",
    "messages_in",
    "messages_out",
];

/// A report's admin over the range.
#[derive(Debug, Serialize)]
pub struct ReportAdminView<'a> {
    pub admin: &'a str,
    pub chats_handled: u64,
    pub first_response_p50_s: Option<f64>,
    pub csat_average: Option<f64>,
}

/// The columns of a report's admins, in the order of the CSV download.
pub const REPORT_ADMIN_COLUMNS: [&str; 4] = [
    "admin",
    "chats_handled",
    "first_response_p50_s",
    "csat_average",
];

#[derive(Debug, Serialize)]
pub struct ReportView<'a> {
    pub days: Vec<ReportDayView>,
    pub admins: Vec<ReportAdminView<'a>>,
}

pub fn report(r: &Report) -> ReportView<'_> {
    ReportView {
        days: r
            .days
            .iter()
            .map(|d| ReportDayView {
                date: d.date.to_string(),
                chats_started: d.chats_started,
                chats_ended: d.chats_ended,
                first_response_p50_s: d.first_response_p50_s,
                first_response_p90_s: d.first_response_p90_s,
                resolution_p50_s: d.resolution_p50_s,
                csat_count: d.csat_count,
                csat_average: d.csat_average,
                messages_in: d.messages_in,
                messages_out: d.messages_out,
            })
            .collect(),
        admins: r
            .admins
            .iter()
            .map(|a| ReportAdminView {
                admin: &a.admin,
                chats_handled: a.chats_handled,
                first_response_p50_s: a.first_response_p50_s,
                csat_average: a.csat_average,
            })
            .collect(),
    }
}

/// Rows as CSV (RFC 4180): a header of `columns`, then each row's values in that order;
/// null is an empty cell. A text cell is quoted when it must be, and one a spreadsheet
/// would take for a formula (`=`, `+`, `-`, `@`) is prefixed with `'`.
pub fn csv<T: Serialize>(columns: &[&str], rows: &[T]) -> String {
    let cell = |v: &serde_json::Value| match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(text) => {
            let text = if text.starts_with(['=', '+', '-', '@']) {
                format!("'{text}")
            } else {
                text.clone()
            };
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text
            }
        }
        other => other.to_string(),
    };
    let mut out = columns.join(",");
    out.push_str("\r\n");
    for row in rows {
        let row = serde_json::to_value(row).expect("views serialise");
        let cells: Vec<String> = columns.iter().map(|c| cell(&row[*c])).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use edubot_domain::time::DAY;

    #[test]
    fn a_conversation_shows_when_its_window_closes() {
        let mut c = Conversation::new(Phone::parse("447700900123").unwrap(), 0);
        assert_eq!(conversation(&c).window_expires_at, None);
        c.last_inbound_sent_at = Some(1_000);
        assert_eq!(conversation(&c).window_expires_at, Some(1_000 + DAY));
        let json = serde_json::to_value(conversation(&c)).unwrap();
        assert_eq!(json["window_expires_at"], "1970-01-02T00:00:01.000Z");
        assert_eq!(json["state"], "NEW");
        assert_eq!(json["is_chat_support"], false);
    }
}
