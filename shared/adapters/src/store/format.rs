//! How the values the domain also has are spelled in stored items: the adapter's own enums
//! and structs, every name written out, converted to and from the domain's types. Renaming
//! a domain type or variant changes a conversion here (the compiler points at it), never a
//! stored item. The format is written down in `docs/storage.md` and pinned by the golden
//! items of `golden/`, loaded by `golden_tests.rs`.

use serde::{Deserialize, Serialize};

use edubot_domain::activation::Student;
use edubot_domain::media::{AttachmentKind, Media, MediaStatus};
use edubot_domain::model::{
    Author, ConversationState, Direction, FirstReply, FlowData, InboundRef, MessageError,
    MessageStatus,
};
use edubot_domain::time::Millis;
use edubot_domain::whatsapp::{Choice, OutboundBody};

/// A stored enum with each value's stored name, and its conversions both ways. The matches
/// are exhaustive: a new domain variant does not compile until it has a stored name.
macro_rules! stored_enum {
    ($(#[$doc:meta])* $stored:ident <=> $domain:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        pub enum $stored {
            $(#[serde(rename = $name)] $variant),+
        }

        impl From<$domain> for $stored {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => $stored::$variant),+
                }
            }
        }

        impl From<$stored> for $domain {
            fn from(value: $stored) -> Self {
                match value {
                    $($stored::$variant => $domain::$variant),+
                }
            }
        }
    };
}

stored_enum! {
    /// A conversation's state (attribute `state`).
    StoredState <=> ConversationState {
        New = "NEW",
        MainMenu = "MAIN_MENU",
        CourseList = "COURSE_LIST",
        CourseDetail = "COURSE_DETAIL",
        AdmissionName = "ADMISSION_NAME",
        AdmissionEmail = "ADMISSION_EMAIL",
        AdmissionConfirm = "ADMISSION_CONFIRM",
        FeesInfo = "FEES_INFO",
        Timetable = "TIMETABLE",
        ActivationCode = "ACTIVATION_CODE",
        ActivationLocked = "ACTIVATION_LOCKED",
        ChatSupportActive = "CHAT_SUPPORT_ACTIVE",
        SupportFeedback = "SUPPORT_FEEDBACK",
        OptedOut = "OPTED_OUT",
    }
}

stored_enum! {
    /// A message's `direction`.
    StoredDirection <=> Direction {
        Inbound = "inbound",
        Outbound = "outbound",
    }
}

stored_enum! {
    /// A message's `author`.
    StoredAuthor <=> Author {
        User = "user",
        Bot = "bot",
        Admin = "admin",
        System = "system",
    }
}

stored_enum! {
    /// A message's `status`; its `status_rank` is [`StoredStatus::rank`].
    StoredStatus <=> MessageStatus {
        Received = "received",
        Pending = "pending",
        Sent = "sent",
        Delivered = "delivered",
        Read = "read",
        Failed = "failed",
    }
}

impl StoredStatus {
    /// `status_rank`: the status as a number, so "a status never moves backwards" is one
    /// condition expression on stored items.
    pub fn rank(self) -> u8 {
        match self {
            StoredStatus::Received | StoredStatus::Pending => 0,
            StoredStatus::Sent => 1,
            StoredStatus::Delivered => 2,
            StoredStatus::Read => 3,
            StoredStatus::Failed => 4,
        }
    }

    /// The stored rank of a domain status.
    pub fn rank_of(status: MessageStatus) -> u8 {
        StoredStatus::from(status).rank()
    }
}

/// A message's `error`: Meta's code and title, or one of ours.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredError {
    pub code: String,
    pub title: String,
}

impl From<&MessageError> for StoredError {
    fn from(e: &MessageError) -> Self {
        StoredError {
            code: e.code.clone(),
            title: e.title.clone(),
        }
    }
}

impl From<StoredError> for MessageError {
    fn from(e: StoredError) -> Self {
        MessageError {
            code: e.code,
            title: e.title,
        }
    }
}

stored_enum! {
    /// A message's `media.status`.
    StoredMediaStatus <=> MediaStatus {
        Pending = "pending",
        Stored = "stored",
        Failed = "failed",
    }
}

/// A message's `media`: its file, as WhatsApp described it and as we keep it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredMedia {
    pub status: StoredMediaStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StoredError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempts: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl From<&Media> for StoredMedia {
    fn from(m: &Media) -> Self {
        StoredMedia {
            status: m.status.into(),
            mime_type: m.mime_type.clone(),
            size: m.size,
            filename: m.filename.clone(),
            caption: m.caption.clone(),
            error: m.error.as_ref().map(StoredError::from),
            media_id: m.media_id.clone(),
            sha256: m.sha256.clone(),
            object_key: m.object_key.clone(),
            attempts: m.attempts,
        }
    }
}

impl From<StoredMedia> for Media {
    fn from(m: StoredMedia) -> Self {
        Media {
            status: m.status.into(),
            mime_type: m.mime_type,
            size: m.size,
            filename: m.filename,
            caption: m.caption,
            error: m.error.map(Into::into),
            media_id: m.media_id,
            sha256: m.sha256,
            object_key: m.object_key,
            attempts: m.attempts,
        }
    }
}

/// A conversation's `flow`: what the current bot flow has collected.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFlow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub course: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl StoredFlow {
    pub fn is_empty(&self) -> bool {
        *self == StoredFlow::default()
    }
}

impl From<&FlowData> for StoredFlow {
    fn from(f: &FlowData) -> Self {
        StoredFlow {
            course: f.course.clone(),
            name: f.name.clone(),
            email: f.email.clone(),
        }
    }
}

impl From<StoredFlow> for FlowData {
    fn from(f: StoredFlow) -> Self {
        FlowData {
            course: f.course,
            name: f.name,
            email: f.email,
        }
    }
}

/// A conversation's `last_inbound`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredInboundRef {
    pub id: String,
    pub wamid: String,
    pub sent_at: Millis,
}

impl From<&InboundRef> for StoredInboundRef {
    fn from(r: &InboundRef) -> Self {
        StoredInboundRef {
            id: r.id.clone(),
            wamid: r.wamid.clone(),
            sent_at: r.sent_at,
        }
    }
}

impl From<StoredInboundRef> for InboundRef {
    fn from(r: StoredInboundRef) -> Self {
        InboundRef {
            id: r.id,
            wamid: r.wamid,
            sent_at: r.sent_at,
        }
    }
}

/// A conversation's `first_reply`: `{at, admin, waited_from}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFirstReply {
    pub at: Millis,
    pub admin: String,
    pub waited_from: Millis,
}

impl From<&FirstReply> for StoredFirstReply {
    fn from(r: &FirstReply) -> Self {
        StoredFirstReply {
            at: r.at,
            admin: r.admin.clone(),
            waited_from: r.waited_from,
        }
    }
}

impl From<StoredFirstReply> for FirstReply {
    fn from(r: StoredFirstReply) -> Self {
        FirstReply {
            at: r.at,
            admin: r.admin,
            waited_from: r.waited_from,
        }
    }
}

/// A conversation's `student`, linked by an activation code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredStudent {
    pub name: String,
    pub course: String,
}

impl From<&Student> for StoredStudent {
    fn from(s: &Student) -> Self {
        StoredStudent {
            name: s.name.clone(),
            course: s.course.clone(),
        }
    }
}

impl From<StoredStudent> for Student {
    fn from(s: StoredStudent) -> Self {
        Student {
            name: s.name,
            course: s.course,
        }
    }
}

/// An outbound message's `body`: exactly what is sent, so a retry sends what was meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum StoredBody {
    #[serde(rename = "text")]
    Text { body: String },
    #[serde(rename = "buttons")]
    Buttons {
        body: String,
        buttons: Vec<StoredChoice>,
    },
    #[serde(rename = "list")]
    List {
        body: String,
        button: String,
        rows: Vec<StoredChoice>,
    },
    /// A file of the media bucket: `kind` is WhatsApp's type (image, document, audio, video).
    #[serde(rename = "media")]
    Media {
        kind: StoredAttachmentKind,
        object_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        filename: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caption: Option<String>,
    },
    /// An approved template: its name, language, body parameters, quick-reply payloads by
    /// button index, and the filled-in text.
    #[serde(rename = "template")]
    Template {
        name: String,
        language: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        parameters: Vec<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        payloads: Vec<Option<String>>,
        text: String,
    },
}

stored_enum! {
    /// A media body's `kind`.
    StoredAttachmentKind <=> AttachmentKind {
        Image = "image",
        Document = "document",
        Audio = "audio",
        Video = "video",
    }
}

/// One button or list row of a stored body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredChoice {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

fn stored_choices(choices: &[Choice]) -> Vec<StoredChoice> {
    choices
        .iter()
        .map(|c| StoredChoice {
            id: c.id.clone(),
            title: c.title.clone(),
            description: c.description.clone(),
        })
        .collect()
}

fn domain_choices(choices: Vec<StoredChoice>) -> Vec<Choice> {
    choices
        .into_iter()
        .map(|c| Choice {
            id: c.id,
            title: c.title,
            description: c.description,
        })
        .collect()
}

impl From<&OutboundBody> for StoredBody {
    fn from(b: &OutboundBody) -> Self {
        match b {
            OutboundBody::Text { body } => StoredBody::Text { body: body.clone() },
            OutboundBody::Buttons { body, buttons } => StoredBody::Buttons {
                body: body.clone(),
                buttons: stored_choices(buttons),
            },
            OutboundBody::List { body, button, rows } => StoredBody::List {
                body: body.clone(),
                button: button.clone(),
                rows: stored_choices(rows),
            },
            OutboundBody::Media {
                kind,
                object_key,
                filename,
                caption,
            } => StoredBody::Media {
                kind: (*kind).into(),
                object_key: object_key.clone(),
                filename: filename.clone(),
                caption: caption.clone(),
            },
            OutboundBody::Template {
                name,
                language,
                parameters,
                payloads,
                text,
            } => StoredBody::Template {
                name: name.clone(),
                language: language.clone(),
                parameters: parameters.clone(),
                payloads: payloads.clone(),
                text: text.clone(),
            },
        }
    }
}

impl From<StoredBody> for OutboundBody {
    fn from(b: StoredBody) -> Self {
        match b {
            StoredBody::Text { body } => OutboundBody::Text { body },
            StoredBody::Buttons { body, buttons } => OutboundBody::Buttons {
                body,
                buttons: domain_choices(buttons),
            },
            StoredBody::List { body, button, rows } => OutboundBody::List {
                body,
                button,
                rows: domain_choices(rows),
            },
            StoredBody::Media {
                kind,
                object_key,
                filename,
                caption,
            } => OutboundBody::Media {
                kind: kind.into(),
                object_key,
                filename,
                caption,
            },
            StoredBody::Template {
                name,
                language,
                parameters,
                payloads,
                text,
            } => OutboundBody::Template {
                name,
                language,
                parameters,
                payloads,
                text,
            },
        }
    }
}
