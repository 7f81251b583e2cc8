//! Item shapes in the one DynamoDB table, owned by this adapter: their attribute names and
//! values are the stored format (`docs/storage.md`), converted to and from the domain's
//! types here and in [`super::format`]. Nothing outside `store` sees them.

use serde::{Deserialize, Serialize};

use super::format::{
    StoredAuthor, StoredBody, StoredDirection, StoredError, StoredFirstReply, StoredFlow,
    StoredInboundRef, StoredMedia, StoredState, StoredStatus, StoredStudent,
};
use crate::model::{Admin, Author, Conversation, Message, Reaction};
use crate::phone::Phone;
use crate::time::Millis;
use edubot_domain::media::Attachment;
use edubot_domain::team::Role;

pub const META_SK: &str = "#META";
pub const SINGLETON_SK: &str = "#";
/// Sort key of a throttle's item (`RATE#<scope>#<key>`): when the next use is allowed.
pub const THROTTLE_SK: &str = "#NEXT";
/// Partition of the recency index `gsi1` holding every conversation (one institution:
/// thousands of chats; shard as `CONVS#<n>` past that, see docs/storage.md).
pub const ALL_CONVERSATIONS: &str = "CONVS";
/// Partition of the sparse index of conversations in chat support.
pub const IN_SUPPORT: &str = "SUPPORT";
/// Partition of the sparse index of inbound messages not yet processed.
pub const UNPROCESSED: &str = "UNPROCESSED";
/// Partition of the sparse index of outbound messages awaiting a (re)send.
pub const PENDING: &str = "PENDING";
/// Partition of the same index for inbound messages whose file is still to be fetched.
pub const MEDIA_FETCH: &str = "MEDIA";
/// Partition of the overloaded index `gsi2` listing every admin account by username.
pub const ADMINS: &str = "ADMINS";
/// `gsi2` partition of the chats in support held by `admin`, by recency.
pub fn desk_partition(admin: &str) -> String {
    format!("DESK#{admin}")
}
/// `gsi2` partition of the chats in support that nobody holds (`-` is no username).
pub const UNASSIGNED: &str = "DESK#-";

/// Every conversation's partition key starts with this.
pub const CONVERSATION_PK_PREFIX: &str = "CONV#";
pub fn conversation_pk(phone: &Phone) -> String {
    format!("{CONVERSATION_PK_PREFIX}{phone}")
}
/// Every message's sort key starts with this.
pub const MESSAGE_SK_PREFIX: &str = "MSG#";
pub fn message_sk(id: &str) -> String {
    format!("{MESSAGE_SK_PREFIX}{id}")
}
/// Sorts after every message's sort key (ids are ULIDs, digits and capitals; `~` is after
/// them): the end of a range of messages.
pub fn messages_end() -> String {
    format!("{MESSAGE_SK_PREFIX}~")
}
pub fn attachment_sk(id: &str) -> String {
    format!("ATT#{id}")
}
pub fn wamid_pk(wamid: &str) -> String {
    format!("WAMID#{wamid}")
}
/// Every admin account's partition key starts with this.
pub const ADMIN_PK_PREFIX: &str = "ADMIN#";
pub fn admin_pk(username: &str) -> String {
    format!("{ADMIN_PK_PREFIX}{username}")
}
pub fn ticket_pk(ticket: &str) -> String {
    format!("WSTICKET#{ticket}")
}
/// Partition of the open WebSocket connections (a desk's few dozen: one partition).
pub const CONNECTIONS: &str = "WSCONN";
pub fn rate_pk(scope: &str, key: &str) -> String {
    format!("RATE#{scope}#{key}")
}
/// Sort key of the recency indexes: newest activity sorts last.
pub fn recency_sk(last_message_at: Millis, phone: &Phone) -> String {
    format!("{last_message_at:013}#{phone}")
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ConversationItem {
    pub pk: String,
    pub sk: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub state: StoredState,
    pub version: u64,
    pub created_at: Millis,
    pub last_message_at: Millis,
    pub last_message_preview: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound_sent_at: Option<Millis>,
    pub unread_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_started_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_ended_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_notice_for: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiting_since: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_rating: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rated_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "StoredFlow::is_empty")]
    pub flow: StoredFlow,
    #[serde(default)]
    pub activation_failures: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub activation_locked_until: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<StoredStudent>,
    /// The user's newest handled message: `{id, wamid, sent_at}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_inbound: Option<StoredInboundRef>,
    /// The admin who holds the chat.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<String>,
    /// The name words the search entries (`SEARCH#…`) hold; absent: none written yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search_words: Option<Vec<String>>,
    /// The session's first answer to a waiting user: `{at, admin, waited_from}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_reply: Option<StoredFirstReply>,
    /// Who held the chat when its support last ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_holder: Option<String>,
    pub gsi1pk: String,
    pub gsi1sk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_support_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_support_sk: Option<String>,
    /// In chat support: `DESK#<holder>` or `DESK#-` (the `mine` and `unassigned` lists).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
}

impl ConversationItem {
    /// The item to write for `c`, carrying `version`.
    pub fn from_conversation(c: &Conversation, version: u64) -> Self {
        let recency = recency_sk(c.last_message_at, &c.phone);
        ConversationItem {
            pk: conversation_pk(&c.phone),
            sk: META_SK.into(),
            phone: c.phone.to_string(),
            name: c.name.clone(),
            state: c.state.into(),
            version,
            created_at: c.created_at,
            last_message_at: c.last_message_at,
            last_message_preview: c.last_message_preview.clone(),
            last_inbound_sent_at: c.last_inbound_sent_at,
            unread_count: c.unread_count,
            support_started_at: c.support_started_at,
            support_ended_at: c.support_ended_at,
            queue_notice_for: c.queue_notice_for,
            waiting_since: c.waiting_since,
            last_rating: c.last_rating,
            rated_at: c.rated_at,
            flow: StoredFlow::from(&c.flow),
            activation_failures: c.activation_failures,
            activation_locked_until: c.activation_locked_until,
            student: c.student.as_ref().map(StoredStudent::from),
            last_inbound: c.last_inbound.as_ref().map(StoredInboundRef::from),
            assigned_to: c.assigned_to.clone(),
            search_words: c.indexed_words.clone(),
            first_reply: c.first_reply.as_ref().map(StoredFirstReply::from),
            ended_holder: c.ended_holder.clone(),
            gsi1pk: ALL_CONVERSATIONS.into(),
            gsi_support_pk: c.is_chat_support().then(|| IN_SUPPORT.into()),
            gsi_support_sk: c.is_chat_support().then(|| recency.clone()),
            gsi2pk: c.is_chat_support().then(|| match &c.assigned_to {
                Some(holder) => desk_partition(holder),
                None => UNASSIGNED.into(),
            }),
            gsi2sk: c.is_chat_support().then(|| recency.clone()),
            gsi1sk: recency,
        }
    }

    pub fn into_conversation(self) -> Option<Conversation> {
        Some(Conversation {
            phone: Phone::parse(&self.phone)?,
            name: self.name,
            state: self.state.into(),
            version: self.version,
            created_at: self.created_at,
            last_message_at: self.last_message_at,
            last_message_preview: self.last_message_preview,
            last_inbound_sent_at: self.last_inbound_sent_at,
            unread_count: self.unread_count,
            support_started_at: self.support_started_at,
            support_ended_at: self.support_ended_at,
            queue_notice_for: self.queue_notice_for,
            waiting_since: self.waiting_since,
            last_rating: self.last_rating,
            rated_at: self.rated_at,
            flow: self.flow.into(),
            activation_failures: self.activation_failures,
            activation_locked_until: self.activation_locked_until,
            student: self.student.map(Into::into),
            last_inbound: self.last_inbound.map(Into::into),
            assigned_to: self.assigned_to,
            indexed_words: self.search_words,
            first_reply: self.first_reply.map(Into::into),
            ended_holder: self.ended_holder,
        })
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MessageItem {
    pub pk: String,
    pub sk: String,
    pub phone: String,
    pub id: String,
    pub direction: StoredDirection,
    pub author: StoredAuthor,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<String>,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub status: StoredStatus,
    /// `status` as a number, so "never backwards" is one condition expression.
    pub status_rank: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<StoredError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wamid: Option<String>,
    pub created_at: Millis,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interactive_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<StoredBody>,
    #[serde(default)]
    pub attempts: u32,
    /// A send in flight holds the message until then (claim-before-send, docs/reliability.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_until: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<StoredMedia>,
    /// The id of the message this one answers, or a reaction's target.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// Outbound: the answered message's wamid, sent as `context.message_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to_wamid: Option<String>,
    /// The user's reaction on this message, and the WhatsApp time of the reaction event
    /// that set or removed it (a late, older event never overwrites a newer one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_reaction: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_reaction_at: Option<Millis>,
    /// When the read receipt for this inbound message was taken (sent once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_marked_at: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_unprocessed_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_unprocessed_sk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_pending_pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi_pending_sk: Option<String>,
}

impl MessageItem {
    pub fn from_message(m: &Message) -> Self {
        MessageItem {
            pk: conversation_pk(&m.phone),
            sk: message_sk(&m.id),
            phone: m.phone.to_string(),
            id: m.id.clone(),
            direction: m.direction.into(),
            author: m.author.into(),
            admin: m.admin.clone(),
            kind: m.kind.clone(),
            text: m.text.clone(),
            status: m.status.into(),
            status_rank: StoredStatus::rank_of(m.status),
            error: m.error.as_ref().map(StoredError::from),
            wamid: m.wamid.clone(),
            created_at: m.created_at,
            sent_at: m.sent_at,
            interactive_id: m.interactive_id.clone(),
            body: m.body.as_ref().map(StoredBody::from),
            attempts: m.attempts,
            claim_until: None,
            profile_name: m.profile_name.clone(),
            raw: None,
            media: m.media.as_ref().map(StoredMedia::from),
            reply_to: m.reply_to.clone(),
            reply_to_wamid: m.reply_to_wamid.clone(),
            user_reaction: m
                .reactions
                .iter()
                .find(|r| r.author == Author::User)
                .map(|r| r.emoji.clone()),
            user_reaction_at: None,
            read_marked_at: None,
            gsi_unprocessed_pk: None,
            gsi_unprocessed_sk: None,
            gsi_pending_pk: None,
            gsi_pending_sk: None,
        }
    }

    pub fn into_message(self) -> Option<Message> {
        Some(Message {
            phone: Phone::parse(&self.phone)?,
            id: self.id,
            direction: self.direction.into(),
            author: self.author.into(),
            admin: self.admin,
            kind: self.kind,
            text: self.text,
            status: self.status.into(),
            error: self.error.map(Into::into),
            wamid: self.wamid,
            created_at: self.created_at,
            sent_at: self.sent_at,
            interactive_id: self.interactive_id,
            body: self.body.map(Into::into),
            attempts: self.attempts,
            profile_name: self.profile_name,
            media: self.media.map(Into::into),
            reply_to: self.reply_to,
            reply_to_wamid: self.reply_to_wamid,
            reactions: self
                .user_reaction
                .map(|emoji| Reaction {
                    emoji,
                    author: Author::User,
                })
                .into_iter()
                .collect(),
        })
    }
}

/// `WAMID#<wamid>`: makes inbound delivery idempotent and maps statuses to our messages.
#[derive(Debug, Serialize, Deserialize)]
pub struct WamidItem {
    pub pk: String,
    pub sk: String,
    pub phone: String,
    pub message_id: String,
    /// Epoch seconds (DynamoDB TTL).
    pub expires_at: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AdminItem {
    pub pk: String,
    pub sk: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: Millis,
    /// Absent (0) until the first password change or disabling.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub token_version: u64,
    /// `ADMINS` / the username: the team list (`gsi2`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2pk: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gsi2sk: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A stored role; anything unknown reads as the lesser `admin`.
pub fn role_of(stored: &str) -> Role {
    Role::parse(stored).unwrap_or(Role::Admin)
}

/// The attributes of an `ADMIN#` item the token check reads (a projection: no hash).
#[derive(Debug, Deserialize)]
pub struct AdminAccessItem {
    pub role: String,
    pub disabled: bool,
    #[serde(default)]
    pub token_version: u64,
}

impl AdminAccessItem {
    pub fn into_access(self) -> edubot_app::ports::AdminAccess {
        edubot_app::ports::AdminAccess {
            role: role_of(&self.role),
            disabled: self.disabled,
            token_version: self.token_version,
        }
    }
}

impl AdminItem {
    pub fn from_admin(a: &Admin) -> Self {
        AdminItem {
            pk: admin_pk(&a.username),
            sk: SINGLETON_SK.into(),
            username: a.username.clone(),
            password_hash: a.password_hash.clone(),
            role: a.role.as_str().to_owned(),
            disabled: a.disabled,
            created_at: a.created_at,
            token_version: a.token_version,
            gsi2pk: Some(ADMINS.into()),
            gsi2sk: Some(a.username.clone()),
        }
    }

    pub fn into_admin(self) -> Admin {
        Admin {
            username: self.username,
            password_hash: self.password_hash,
            role: role_of(&self.role),
            disabled: self.disabled,
            created_at: self.created_at,
            token_version: self.token_version,
        }
    }
}

/// `CONV#<phone>` / `ATT#<id>`: an attachment an admin declared, until sent or expired.
#[derive(Debug, Serialize, Deserialize)]
pub struct AttachmentItem {
    pub pk: String,
    pub sk: String,
    pub phone: String,
    pub id: String,
    pub filename: String,
    pub mime_type: String,
    pub size: u64,
    pub admin: String,
    pub created_at: Millis,
    /// Epoch seconds (DynamoDB TTL).
    pub expires_at: i64,
}

impl AttachmentItem {
    pub fn from_attachment(a: &Attachment, kept_for: Millis) -> Self {
        AttachmentItem {
            pk: conversation_pk(&a.phone),
            sk: attachment_sk(&a.id),
            phone: a.phone.to_string(),
            id: a.id.clone(),
            filename: a.filename.clone(),
            mime_type: a.mime_type.clone(),
            size: a.size,
            admin: a.admin.clone(),
            created_at: a.created_at,
            expires_at: (a.created_at + kept_for) / crate::time::SECOND,
        }
    }

    pub fn into_attachment(self) -> Option<Attachment> {
        Some(Attachment {
            phone: Phone::parse(&self.phone)?,
            id: self.id,
            filename: self.filename,
            mime_type: self.mime_type,
            size: self.size,
            admin: self.admin,
            created_at: self.created_at,
        })
    }
}

/// A WebSocket ticket: `WSTICKET#<ticket>` / `#`.
#[derive(Debug, Serialize, Deserialize)]
pub struct TicketItem {
    pub pk: String,
    pub sk: String,
    pub admin: String,
    pub token_version: u64,
    /// When it stops opening connections (ms): checked on use.
    pub valid_until: Millis,
    /// Epoch seconds (DynamoDB TTL).
    pub expires_at: i64,
}

impl TicketItem {
    pub fn from_ticket(t: &edubot_app::ports::Ticket) -> Self {
        TicketItem {
            pk: ticket_pk(&t.ticket),
            sk: SINGLETON_SK.into(),
            admin: t.admin.clone(),
            token_version: t.token_version,
            valid_until: t.expires_at,
            expires_at: t.expires_at / 1000 + 1,
        }
    }

    pub fn into_ticket(self) -> edubot_app::ports::Ticket {
        edubot_app::ports::Ticket {
            ticket: self.pk.trim_start_matches("WSTICKET#").to_owned(),
            admin: self.admin,
            token_version: self.token_version,
            expires_at: self.valid_until,
        }
    }
}

/// An open WebSocket connection: `WSCONN` / `<connection id>`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ConnectionItem {
    pub pk: String,
    pub sk: String,
    pub admin: String,
    pub token_version: u64,
    pub connected_at: Millis,
    /// Epoch seconds (DynamoDB TTL): a connection whose `$disconnect` never came.
    pub expires_at: i64,
}

impl ConnectionItem {
    pub fn from_connection(c: &edubot_app::ports::Connection, expires_at: Millis) -> Self {
        ConnectionItem {
            pk: CONNECTIONS.into(),
            sk: c.id.clone(),
            admin: c.admin.clone(),
            token_version: c.token_version,
            connected_at: c.connected_at,
            expires_at: expires_at / 1000,
        }
    }

    pub fn into_connection(self) -> edubot_app::ports::Connection {
        edubot_app::ports::Connection {
            id: self.sk,
            admin: self.admin,
            token_version: self.token_version,
            connected_at: self.connected_at,
        }
    }
}
