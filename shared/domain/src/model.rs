//! Conversations, messages and admins as the domain sees them.

use serde::{Deserialize, Serialize};

use crate::media::Media;
pub use crate::message_error::MessageError;
use crate::phone::Phone;
use crate::time::{Millis, DAY};
use crate::whatsapp::OutboundBody;

/// Free-form messages may be sent this long after the user's last message (docs/architecture.md).
pub const SERVICE_WINDOW: Millis = DAY;

/// Defines an enum of unit variants and its `ALL` list (every variant, in declaration
/// order) from one list, so the list cannot drift from the enum.
macro_rules! enum_with_all {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident { $($variant:ident),+ $(,)? }
    ) => {
        $(#[$meta])*
        $vis enum $name {
            $($variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$(stringify!($variant)),+].len()] = [$($name::$variant),+];
        }
    };
}

enum_with_all! {
    /// The bot's states, named as the API shows them (docs/bot.md).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ConversationState {
        New,
        MainMenu,
        CourseList,
        CourseDetail,
        AdmissionName,
        AdmissionEmail,
        AdmissionConfirm,
        FeesInfo,
        Timetable,
        ActivationCode,
        ActivationLocked,
        ChatSupportActive,
        SupportFeedback,
        OptedOut,
    }
}

/// What the current flow has collected so far (the conversation's state data).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowData {
    /// The course shown in COURSE_DETAIL, carried into an admission enquiry.
    pub course: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Conversation {
    pub phone: Phone,
    /// The user's WhatsApp profile name, as last seen in a webhook.
    pub name: Option<String>,
    pub state: ConversationState,
    /// Optimistic lock: every write of the conversation is conditional on it.
    pub version: u64,
    pub created_at: Millis,
    pub last_message_at: Millis,
    pub last_message_preview: String,
    /// The latest WhatsApp `timestamp` of the user's own messages: the 24-hour window runs from it.
    pub last_inbound_sent_at: Option<Millis>,
    /// Messages from the user that reached the desk since an admin last answered.
    pub unread_count: u32,
    pub support_started_at: Option<Millis>,
    /// When chat support last ended: messages stored before it belong to that chat.
    pub support_ended_at: Option<Millis>,
    /// The wait (its `waiting_since`) for which the user was told the team will reply soon.
    pub queue_notice_for: Option<Millis>,
    /// Since when the user's oldest unanswered chat-support message has waited.
    pub waiting_since: Option<Millis>,
    /// The rating (1–5) the user gave after their last chat support.
    pub last_rating: Option<u8>,
    /// When they gave it.
    pub rated_at: Option<Millis>,
    /// What the current bot flow has collected (course, applicant's name and email).
    pub flow: FlowData,
    /// Wrong activation codes since the last success or lock-out.
    pub activation_failures: u8,
    /// Activation codes are refused until then; kept when the user leaves the state (docs/bot.md).
    pub activation_locked_until: Option<Millis>,
    /// The student an activation code linked this conversation to.
    pub student: Option<crate::activation::Student>,
    /// The user's newest message handled so far (read receipts and typing point at it).
    pub last_inbound: Option<InboundRef>,
    /// The admin who holds the chat (DESIGN §15): only they may answer it until someone
    /// takes it over. Cleared when chat support ends.
    pub assigned_to: Option<String>,
    /// The name words the search index holds for this conversation, as read (None: not
    /// indexed yet). The storage adapter brings the index to the name's words in the
    /// conversation's own write.
    pub indexed_words: Option<Vec<String>>,
    /// The session's first answer from the desk to a waiting user (reports' first response).
    pub first_reply: Option<FirstReply>,
    /// Who held the chat when its support last ended: its rating is theirs.
    pub ended_holder: Option<String>,
}

/// The first time the desk answered a user waiting in a chat-support session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstReply {
    pub at: Millis,
    pub admin: String,
    /// Since when the user had waited: their first message of the session.
    pub waited_from: Millis,
}

impl Conversation {
    pub fn new(phone: Phone, now: Millis) -> Self {
        Conversation {
            phone,
            name: None,
            state: ConversationState::New,
            version: 0,
            created_at: now,
            last_message_at: now,
            last_message_preview: String::new(),
            last_inbound_sent_at: None,
            unread_count: 0,
            support_started_at: None,
            support_ended_at: None,
            queue_notice_for: None,
            waiting_since: None,
            last_rating: None,
            rated_at: None,
            flow: FlowData::default(),
            activation_failures: 0,
            activation_locked_until: None,
            student: None,
            last_inbound: None,
            assigned_to: None,
            indexed_words: None,
            first_reply: None,
            ended_holder: None,
        }
    }

    pub fn is_chat_support(&self) -> bool {
        self.state == ConversationState::ChatSupportActive
    }

    pub fn window_expires_at(&self) -> Option<Millis> {
        self.last_inbound_sent_at.map(|t| t + SERVICE_WINDOW)
    }

    pub fn window_open(&self, now: Millis) -> bool {
        self.window_expires_at().is_some_and(|end| now < end)
    }

    /// Records a message in the list's summary fields.
    pub fn touch(&mut self, at: Millis, preview: &str) {
        self.last_message_at = self.last_message_at.max(at);
        self.last_message_preview = preview_of(preview);
    }
}

/// The list shows this many characters of the last message.
pub const PREVIEW_CHARS: usize = 100;

pub fn preview_of(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = one_line.chars();
    let head: String = chars.by_ref().take(PREVIEW_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Author {
    User,
    Bot,
    Admin,
    System,
}

/// A message's fate. Outbound statuses only move forward: pending → sent → delivered → read;
/// `failed` can follow `pending` or `sent` only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageStatus {
    Received,
    Pending,
    Sent,
    Delivered,
    Read,
    Failed,
}

impl MessageStatus {
    /// Position in the forward-only order of outbound statuses.
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Received | MessageStatus::Pending => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed => 4,
        }
    }

    pub fn from_whatsapp(status: &str) -> Option<MessageStatus> {
        match status {
            "sent" => Some(MessageStatus::Sent),
            "delivered" => Some(MessageStatus::Delivered),
            "read" => Some(MessageStatus::Read),
            "failed" => Some(MessageStatus::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub phone: Phone,
    /// A ULID (or `<ulid>` of a system entry): sorts in storage order.
    pub id: String,
    pub direction: Direction,
    pub author: Author,
    /// The admin's username when `author` is `admin`.
    pub admin: Option<String>,
    /// WhatsApp message type (`text`, `interactive`, `image`, … or any unknown type as named).
    pub kind: String,
    pub text: Option<String>,
    pub status: MessageStatus,
    pub error: Option<MessageError>,
    pub wamid: Option<String>,
    /// When the system stored it (server clock); orders the history.
    pub created_at: Millis,
    /// Inbound: the user's own WhatsApp timestamp. Outbound: when Meta accepted it.
    pub sent_at: Option<Millis>,
    /// Inbound interactive replies: the chosen button or row id.
    pub interactive_id: Option<String>,
    /// Outbound: what is sent to WhatsApp.
    pub body: Option<OutboundBody>,
    /// Outbound: send attempts so far.
    pub attempts: u32,
    /// Inbound: the sender's WhatsApp profile name in that webhook.
    pub profile_name: Option<String>,
    /// The file of an image, audio, video, document or sticker message.
    pub media: Option<Media>,
    /// The id of the message this one answers (WhatsApp's `context`), or of the message a
    /// reaction is for; None when there is none or we do not know it.
    pub reply_to: Option<String>,
    /// Outbound: the wamid of the message it answers, sent as `context.message_id`.
    pub reply_to_wamid: Option<String>,
    /// The reactions on this message, one per author at most.
    pub reactions: Vec<Reaction>,
}

/// The kind of an admin's internal note.
pub const NOTE_KIND: &str = "note";

/// A reaction on a message: an emoji and who put it there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reaction {
    pub emoji: String,
    pub author: Author,
}

/// A conversation's newest inbound message: what read receipts and the typing indicator
/// point WhatsApp at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRef {
    pub id: String,
    pub wamid: String,
    /// The user's own timestamp: the newest one wins, whatever order webhooks came in.
    pub sent_at: Millis,
}

/// A new message id: a ULID, monotonic within this process so ids sort in creation order.
pub fn new_message_id() -> String {
    static GENERATOR: std::sync::Mutex<ulid::Generator> =
        std::sync::Mutex::new(ulid::Generator::new());
    let mut generator = GENERATOR.lock().expect("id generator lock");
    generator
        .generate()
        .unwrap_or_else(|_| ulid::Ulid::new())
        .to_string()
}

impl Message {
    pub fn outbound(
        phone: Phone,
        id: String,
        author: Author,
        body: OutboundBody,
        now: Millis,
    ) -> Message {
        Message {
            phone,
            id,
            direction: Direction::Outbound,
            author,
            admin: None,
            kind: body.kind().to_owned(),
            text: Some(body.display_text()),
            status: MessageStatus::Pending,
            error: None,
            wamid: None,
            created_at: now,
            sent_at: None,
            interactive_id: None,
            body: Some(body),
            attempts: 0,
            profile_name: None,
            media: None,
            reply_to: None,
            reply_to_wamid: None,
            reactions: Vec::new(),
        }
    }

    /// An admin's internal note (kind `note`): in the history for the desk only, never sent
    /// to WhatsApp and never an answer.
    pub fn note(phone: Phone, admin: &str, text: String, now: Millis) -> Message {
        Message {
            author: Author::Admin,
            admin: Some(admin.to_owned()),
            kind: NOTE_KIND.into(),
            ..Message::system_note(phone, new_message_id(), text, now)
        }
    }

    /// A note in the history (chat ended, …) that is never sent to WhatsApp.
    pub fn system_note(phone: Phone, id: String, text: String, now: Millis) -> Message {
        Message {
            phone,
            id,
            direction: Direction::Outbound,
            author: Author::System,
            admin: None,
            kind: "system".into(),
            text: Some(text),
            status: MessageStatus::Sent,
            error: None,
            wamid: None,
            created_at: now,
            sent_at: None,
            interactive_id: None,
            body: None,
            attempts: 0,
            profile_name: None,
            media: None,
            reply_to: None,
            reply_to_wamid: None,
            reactions: Vec::new(),
        }
    }
}

/// An admin account, created by a supervisor (or the `edubot-admin` command).
#[derive(Debug, Clone, PartialEq)]
pub struct Admin {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Millis,
    /// Carried in every token issued to the admin; a password change, disabling and
    /// enabling each move it on, so the tokens issued before stop working.
    pub token_version: u64,
}

/// What an account may do. Every admin answers chats; a supervisor also manages the
/// accounts and reads the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Admin,
    Supervisor,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Supervisor => "supervisor",
        }
    }

    /// The role named `name`; None for anything else.
    pub fn parse(name: &str) -> Option<Role> {
        match name {
            "admin" => Some(Role::Admin),
            "supervisor" => Some(Role::Supervisor),
            _ => None,
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Usernames: 3–64 of `a-z 0-9 . _ -`, so they are safe in keys and logs.
pub fn valid_username(username: &str) -> bool {
    (3..=64).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_serialise_as_the_api_names_them() {
        let names: Vec<String> = ConversationState::ALL
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            names,
            [
                "NEW",
                "MAIN_MENU",
                "COURSE_LIST",
                "COURSE_DETAIL",
                "ADMISSION_NAME",
                "ADMISSION_EMAIL",
                "ADMISSION_CONFIRM",
                "FEES_INFO",
                "TIMETABLE",
                "ACTIVATION_CODE",
                "ACTIVATION_LOCKED",
                "CHAT_SUPPORT_ACTIVE",
                "SUPPORT_FEEDBACK",
                "OPTED_OUT"
            ]
        );
        for (state, name) in ConversationState::ALL.iter().zip(&names) {
            let back: ConversationState =
                serde_json::from_value(serde_json::Value::String(name.clone())).unwrap();
            assert_eq!(back, *state, "{name} reads back as the state it names");
        }
    }

    #[test]
    fn window_runs_24_hours_from_the_users_own_timestamp() {
        let mut c = Conversation::new(Phone::parse("447700900123").unwrap(), 0);
        assert!(!c.window_open(0), "no user message yet: window closed");
        c.last_inbound_sent_at = Some(1_000);
        assert!(c.window_open(1_000 + DAY - 1));
        assert!(!c.window_open(1_000 + DAY));
        assert_eq!(c.window_expires_at(), Some(1_000 + DAY));
    }

    #[test]
    fn previews_are_one_line_and_bounded() {
        assert_eq!(preview_of("hello\n  world"), "hello world");
        let long = "é".repeat(150);
        let p = preview_of(&long);
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }

    #[test]
    fn usernames_are_restricted() {
        assert!(valid_username("admin"));
        assert!(valid_username("jane.doe-2"));
        assert!(!valid_username("ab"));
        assert!(!valid_username("Admin"));
        assert!(!valid_username("a#b#c"));
    }
}
