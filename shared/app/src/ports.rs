//! What the use cases need from the world, as narrow interfaces the adapters implement:
//! storage by concern (conversations, the outbox, admins, activation codes) and the one
//! messaging call. The use cases know these traits only, never DynamoDB or the Graph API.
//!
//! Every method answers a `Send` future, so a use case can run on any runtime task.

use std::future::Future;

use edubot_domain::activation::ActivationCode;
use edubot_domain::enquiry::Enquiry;
use edubot_domain::media::{Attachment, Media};
use edubot_domain::model::{Admin, Conversation, Message, MessageError};
use edubot_domain::phone::Phone;
use edubot_domain::reports::{Day, FigureEvent, Tally};
use edubot_domain::search::Query;
use edubot_domain::team::{AuditEntry, CannedReply, Role};
use edubot_domain::templates::Template;
use edubot_domain::time::Millis;
use edubot_domain::whatsapp::OutboundBody;

use crate::conflict::Contended;

/// Storage failed; nothing of the attempted write happened.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("storage: {0}")]
    Unavailable(String),
    #[error("stored item could not be read: {0}")]
    Corrupt(String),
    /// A listing cursor that no listing answered.
    #[error("not a cursor this listing answered")]
    InvalidCursor,
    #[error(transparent)]
    Contended(#[from] Contended),
}

/// Why a conditional commit did not happen.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The conversation changed since it was read: re-read and try again.
    #[error("the conversation changed since it was read")]
    Conflict,
    /// The inbound message was already processed (a retried stream record).
    #[error("the message was already processed")]
    AlreadyProcessed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One page of a listing and the cursor of the next, if there is one.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// A write that belongs to a bot turn and commits with it, or not at all.
#[derive(Debug, Clone, PartialEq)]
pub enum RelatedWrite {
    Enquiry(Enquiry),
    /// Marks the code used by `phone`, on the condition that it still is usable.
    RedeemCode {
        code_hash: String,
        phone: Phone,
    },
    Rating {
        phone: Phone,
        rating: u8,
        id: String,
        at: Millis,
    },
    /// What an admin did, recorded with the change it made.
    Audit(AuditEntry),
}

/// Which conversations a listing holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListFilter {
    All,
    /// In chat support.
    Support,
    /// In chat support and held by this admin.
    AssignedTo(String),
    /// In chat support and held by nobody.
    Unassigned,
}

/// A pending send found due, with the schedule key it was found under: claiming it is
/// conditional on that key, so two checks cannot both claim it.
#[derive(Debug, Clone)]
pub struct DueSend {
    pub message: Message,
    pub pending_sk: String,
}

/// The conversations and their histories.
pub trait ConversationStore: Sync {
    /// A strongly consistent read: decisions are taken on it.
    fn get_conversation(
        &self,
        phone: &Phone,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// Writes `conversation` (read at its `version`; 0 = never stored), `new_messages` and
    /// the turn's `related` writes in one transaction, optionally marking the inbound
    /// message `processed_id` processed. The conversation is conditional on its version,
    /// the mark on the message still being unprocessed, each new message on not existing
    /// yet, each related write on its own condition. Answers the new version.
    fn commit_with(
        &self,
        conversation: &Conversation,
        processed_id: Option<&str>,
        new_messages: &[Message],
        related: &[RelatedWrite],
        now: Millis,
    ) -> impl Future<Output = Result<u64, CommitError>> + Send;

    /// [`ConversationStore::commit_with`] with no related writes.
    fn commit(
        &self,
        conversation: &Conversation,
        processed_id: Option<&str>,
        new_messages: &[Message],
        now: Millis,
    ) -> impl Future<Output = Result<u64, CommitError>> + Send {
        self.commit_with(conversation, processed_id, new_messages, &[], now)
    }

    /// Conversations by most recent activity, those `filter` keeps. `cursor` is one a
    /// previous page answered.
    fn list_conversations(
        &self,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Conversation>, StoreError>> + Send;

    /// Conversations `query` finds across the whole desk, each once, in index order. Reads
    /// a bounded number of index items per call, so a page may hold fewer than `limit` and
    /// still have a next one.
    fn search_conversations(
        &self,
        query: &Query,
        limit: i32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<Conversation>, StoreError>> + Send;

    /// Every conversation in chat support.
    fn conversations_in_support(
        &self,
    ) -> impl Future<Output = Result<Vec<Conversation>, StoreError>> + Send;

    /// Sets the conversation's unread count to 0 and moves its version on, whatever the
    /// version was: an admin reading never loses a race to the user writing (the writer's
    /// own commit, read before, is then refused and decided again). The conversation as it
    /// now is; None when there is no such conversation.
    fn mark_all_read(
        &self,
        phone: &Phone,
    ) -> impl Future<Output = Result<Option<Conversation>, StoreError>> + Send;

    /// The conversation's inbound messages not yet processed, in storage order (eventually
    /// consistent: the trigger adds its own message).
    fn unprocessed_messages(
        &self,
        phone: &Phone,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// Inbound messages not yet processed, any conversation, grouped by conversation and in
    /// storage order within each.
    fn unprocessed_anywhere(
        &self,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<Message>, StoreError>> + Send;

    /// One message, strongly consistent.
    fn get_message(
        &self,
        phone: &Phone,
        id: &str,
    ) -> impl Future<Output = Result<Option<Message>, StoreError>> + Send;

    /// Every rating users gave since `since`.
    fn ratings_since(
        &self,
        since: Millis,
    ) -> impl Future<Output = Result<Vec<u8>, StoreError>> + Send;
}

/// The fate of outbound messages: the send pipeline's records and the retry schedule.
pub trait OutboxStore: Sync {
    /// Records Meta's acceptance of a send with its wamid; never moves a status backwards.
    fn mark_sent(
        &self,
        m: &Message,
        wamid: &str,
        now: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records a permanent failure with its reason.
    fn mark_failed(
        &self,
        m: &Message,
        error: &MessageError,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Leaves a message pending after a passing failure: releases the claim, records the
    /// reason and schedules the next attempt.
    fn mark_retry(
        &self,
        m: &Message,
        error: &MessageError,
        next_attempt_at: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Pending sends whose next attempt is due.
    fn due_sends(
        &self,
        now: Millis,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<DueSend>, StoreError>> + Send;

    /// Claims a due send for one attempt (counted); None when someone else holds it.
    fn claim_send(
        &self,
        due: &DueSend,
        now: Millis,
    ) -> impl Future<Output = Result<Option<Message>, StoreError>> + Send;

    /// Takes the read receipt of inbound message `id` for this call: true once per message
    /// (a conditional write), so the user's blue ticks are sent once whatever the page does.
    fn claim_read_mark(
        &self,
        phone: &Phone,
        id: &str,
        now: Millis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives a read receipt back after WhatsApp did not take it, so the next call tries again.
    fn release_read_mark(
        &self,
        phone: &Phone,
        id: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Puts a failed admin message back to pending, claimed for a new attempt, with `audit`
    /// in the same write; None when `failed` is no longer that failed attempt (someone
    /// else reopened it).
    fn reopen_failed_admin_message(
        &self,
        failed: &Message,
        audit: &AuditEntry,
        now: Millis,
    ) -> impl Future<Output = Result<Option<Message>, StoreError>> + Send;
}

/// What the token check reads of an account: never its password hash (only sign-in
/// reads that; the other functions' roles may read only these attributes).
#[derive(Debug, Clone, PartialEq)]
pub struct AdminAccess {
    pub role: Role,
    pub disabled: bool,
    pub token_version: u64,
}

/// An account as the desk's team list shows it: never its password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminSummary {
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: Millis,
}

/// What became of a change to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountChange {
    Done(AdminSummary),
    NoSuchAdmin,
    /// The supervisor whose staying enabled was the condition was disabled meanwhile.
    SupervisorGone,
}

/// Admin accounts and the counters that rate-limit them.
pub trait AdminStore: Sync {
    /// Every account, by username (one Query on the team's index, without hashes).
    fn list_admins(&self) -> impl Future<Output = Result<Vec<AdminSummary>, StoreError>> + Send;

    /// Creates `admin` with its audit entry, in one transaction; false when the username is
    /// taken (nothing written).
    fn create_admin(
        &self,
        admin: &Admin,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Disables or enables an account, ending its tokens so far, with its audit entry; when
    /// disabling, on the condition that `keep_enabled` (another supervisor) still is.
    fn set_admin_disabled(
        &self,
        username: &str,
        disabled: bool,
        keep_enabled: Option<&str>,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<AccountChange, StoreError>> + Send;

    /// Replaces an account's password hash, ending its tokens so far, with its audit entry.
    fn set_admin_password(
        &self,
        username: &str,
        password_hash: &str,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<AccountChange, StoreError>> + Send;

    /// The whole account, password hash included: for sign-in only.
    fn get_admin(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<Admin>, StoreError>> + Send;

    /// The account's role, disabled flag and token version, without its password hash.
    fn admin_access(
        &self,
        username: &str,
    ) -> impl Future<Output = Result<Option<AdminAccess>, StoreError>> + Send;

    /// Counts one use of `scope`/`key` in `window`, atomically; answers the count so far,
    /// this use included (a burst of parallel uses gets 1, 2, 3…, never the same count).
    fn count_use(
        &self,
        scope: &str,
        key: &str,
        window: &str,
        expires_at: Millis,
    ) -> impl Future<Output = Result<u32, StoreError>> + Send;

    /// True at most once per `every` for `scope`/`key` (a conditional write on the time of
    /// the next allowed use), whichever function instance asks.
    fn throttle(
        &self,
        scope: &str,
        key: &str,
        now: Millis,
        every: Millis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes one use back (one that turned out not to count, like a sign-in that worked).
    fn uncount_use(
        &self,
        scope: &str,
        key: &str,
        window: &str,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Issued activation codes.
pub trait ActivationStore: Sync {
    /// Stores a new code; false if its hash is taken (never overwrites).
    fn put_activation_code(
        &self,
        code: &ActivationCode,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The code with this hash, if one was issued (strongly consistent).
    fn get_activation_code(
        &self,
        code_hash: &str,
    ) -> impl Future<Output = Result<Option<ActivationCode>, StoreError>> + Send;
}

/// The records of the files messages carry, and their fetch schedule.
pub trait MediaStore: Sync {
    /// Records what became of a message's file, only while it is still `pending` (a
    /// second fetcher that finished first wins; answers false then). `retry_at` schedules
    /// the next fetch; None takes the message off the schedule.
    fn record_media(
        &self,
        phone: &Phone,
        message_id: &str,
        media: &Media,
        retry_at: Option<Millis>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Takes the fetch of a message's file until `until`, while it is pending and no one
    /// else holds it (so two fetchers never download one file at once); false otherwise.
    fn lease_media_fetch(
        &self,
        phone: &Phone,
        message_id: &str,
        now: Millis,
        until: Millis,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Messages whose file's next fetch is due, oldest first: (phone, message id).
    fn due_media_fetches(
        &self,
        now: Millis,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<(Phone, String)>, StoreError>> + Send;
}

/// Attachments admins have declared and not yet sent.
pub trait AttachmentStore: Sync {
    /// Records a declared attachment (forgotten after `ATTACHMENT_KEPT_FOR`).
    fn put_attachment(
        &self,
        attachment: &Attachment,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_attachment(
        &self,
        phone: &Phone,
        id: &str,
    ) -> impl Future<Output = Result<Option<Attachment>, StoreError>> + Send;
    /// Takes the attachment for one send: gone afterwards, so a second send of it (a double
    /// click, a retried request) finds nothing. False when someone else took it first.
    fn take_attachment(
        &self,
        phone: &Phone,
        id: &str,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// A single-use permission to open a WebSocket, for `admin` at `token_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ticket {
    pub ticket: String,
    pub admin: String,
    pub token_version: u64,
    pub expires_at: Millis,
}

/// An open WebSocket of an admin's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// API Gateway's connection id.
    pub id: String,
    pub admin: String,
    /// The admin's token version when it connected: a change closes it.
    pub token_version: u64,
    pub connected_at: Millis,
}

/// The real-time side: tickets and open connections.
pub trait ConnectionStore: Sync {
    fn put_ticket(&self, ticket: &Ticket) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Takes the ticket for one connection (a conditional delete): None when it is unknown
    /// or someone took it first.
    fn take_ticket(
        &self,
        ticket: &str,
    ) -> impl Future<Output = Result<Option<Ticket>, StoreError>> + Send;

    /// Records an open connection, forgotten after `expires_at` if never closed.
    fn put_connection(
        &self,
        connection: &Connection,
        expires_at: Millis,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn delete_connection(&self, id: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Every open connection (one Query, paged).
    fn connections(&self) -> impl Future<Output = Result<Vec<Connection>, StoreError>> + Send;
}

/// Which audit entries a listing holds: all, or one admin's, or one conversation's (both:
/// the conversation's, filtered to the admin).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub admin: Option<String>,
    pub phone: Option<Phone>,
}

/// The audit log and the desk's shared canned replies.
pub trait TeamStore: Sync {
    /// Records an action that changes nothing else (a sign-in).
    fn put_audit(&self, entry: &AuditEntry) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Entries newest first.
    fn audit_entries(
        &self,
        filter: &AuditFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> impl Future<Output = Result<Page<AuditEntry>, StoreError>> + Send;

    /// Every canned reply, by shortcut (one Query).
    fn canned_replies(&self) -> impl Future<Output = Result<Vec<CannedReply>, StoreError>> + Send;

    /// Adds a canned reply with its audit entry; false when the shortcut is taken.
    fn create_canned_reply(
        &self,
        reply: &CannedReply,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes a canned reply with its audit entry; false when there was none.
    fn delete_canned_reply(
        &self,
        shortcut: &str,
        audit: &AuditEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The aggregate items a report reads: per day, and per day and admin.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub days: Vec<(Day, Tally)>,
    pub admin_days: Vec<(Day, String, Tally)>,
}

/// The desk's figures (DESIGN §17), counted from the table's stream.
pub trait ReportStore: Sync {
    /// Counts each event once, by its key: an event already counted (a retried stream
    /// record, a second backfill) changes nothing. Answers how many were counted now.
    fn count_figures(
        &self,
        events: &[FigureEvent],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;

    /// The aggregates of `from`–`to` (both included): one item per day and admin at most.
    fn figures(
        &self,
        from: Day,
        to: Day,
    ) -> impl Future<Output = Result<Figures, StoreError>> + Send;
}

/// All the storage the use cases reach.
pub trait Storage:
    ConversationStore
    + OutboxStore
    + AdminStore
    + ActivationStore
    + MediaStore
    + AttachmentStore
    + ConnectionStore
    + TeamStore
    + ReportStore
{
}
impl<T> Storage for T where
    T: ConversationStore
        + OutboxStore
        + AdminStore
        + ActivationStore
        + MediaStore
        + AttachmentStore
        + ConnectionStore
        + TeamStore
        + ReportStore
{
}

/// Why a frame did not reach a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushError {
    /// The connection is gone (410): forget it.
    Gone,
    /// Anything else (a timeout, a throttle): this frame is lost for it, the page catches up
    /// by polling when its socket drops.
    Failed(String),
}

/// Posting to open WebSocket connections (API Gateway's management API).
pub trait Pusher: Sync {
    /// Sends one text frame to the connection.
    fn post(
        &self,
        connection_id: &str,
        frame: &str,
    ) -> impl Future<Output = Result<(), PushError>> + Send;

    /// Closes the connection.
    fn close(&self, connection_id: &str) -> impl Future<Output = Result<(), PushError>> + Send;
}

/// Why a send did not go through, as the messaging adapter classifies it.
#[derive(Debug, Clone, PartialEq)]
pub enum SendError {
    /// Refused for good (bad number, window closed, …): never retried.
    Permanent(MessageError),
    /// Throttled, 5xx, or a network failure before the request could be delivered.
    Transient(MessageError),
    /// The request may have reached Meta but no answer came (timeout): the status webhook
    /// settles it, or a retry after a grace period.
    Unknown(MessageError),
}

impl SendError {
    pub fn error(&self) -> &MessageError {
        match self {
            SendError::Permanent(e) | SendError::Transient(e) | SendError::Unknown(e) => e,
        }
    }
}

/// One message on its way to a WhatsApp user.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    pub to: &'a Phone,
    pub body: &'a OutboundBody,
    /// Our message id: it comes back in the status webhooks, so they settle a send whose
    /// answer was lost.
    pub callback: &'a str,
    /// A file goes by this short-lived URL, which Meta downloads it from.
    pub media_link: Option<&'a str>,
    /// The wamid of the message this one answers (the user sees it quoted).
    pub reply_to_wamid: Option<&'a str>,
}

/// What the messaging side of the Graph API does for us.
pub trait Messenger: Sync {
    /// Sends one message; answers the wamid.
    fn send(&self, message: Outgoing<'_>)
        -> impl Future<Output = Result<String, SendError>> + Send;

    /// Marks the user's message `wamid` (and those before it) read: blue ticks. With
    /// `typing`, the user also sees that someone is typing (for up to 25 s).
    fn mark_read(
        &self,
        wamid: &str,
        typing: bool,
    ) -> impl Future<Output = Result<(), SendError>> + Send;

    /// The templates the desk may send, as Meta lists them (approved, every page), at most
    /// five minutes old.
    fn approved_templates(
        &self,
    ) -> impl Future<Output = Result<std::sync::Arc<Vec<Template>>, SendError>> + Send;
}

/// Why a user's file could not be fetched into our store.
#[derive(Debug, Clone, PartialEq)]
pub enum FetchError {
    /// WhatsApp no longer has it (Graph error 100): trying again cannot help.
    Gone(MessageError),
    /// A passing failure (network, a 5xx, a download that did not match its checksum):
    /// tried again later, each time from the media id.
    Transient(MessageError),
}

/// A file as it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFile {
    pub size: u64,
    pub mime_type: Option<String>,
}

/// The media bucket, and WhatsApp's media endpoints that fill it.
pub trait MediaFiles: Sync {
    /// Looks `media_id` up, downloads it and stores it under `object_key` only if it
    /// matches the checksum Meta gives — the lookup's, else `webhook_sha256` (bytes that do
    /// not match are never stored).
    fn fetch_into_store(
        &self,
        media_id: &str,
        object_key: &str,
        webhook_sha256: Option<&str>,
    ) -> impl Future<Output = Result<StoredFile, FetchError>> + Send;

    /// A link that uploads the object with one PUT for `valid_for`, which must carry
    /// `Content-Type: mime_type` (a presigned PUT cannot cap the size: check it after).
    fn upload_link(
        &self,
        object_key: &str,
        mime_type: &str,
        valid_for: Millis,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;

    /// The object's size and type; None when there is no such object.
    fn describe(
        &self,
        object_key: &str,
    ) -> impl Future<Output = Result<Option<StoredFile>, StoreError>> + Send;

    /// Copies an object within the bucket.
    fn copy(&self, from: &str, to: &str) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// A link that downloads the object for `valid_for`, served as `mime_type`, and as an
    /// attachment named `download_as` when given (a document), else inline.
    fn download_link(
        &self,
        object_key: &str,
        mime_type: &str,
        download_as: Option<&str>,
        valid_for: Millis,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// The desk's settings, read once per cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    /// A user waiting longer than this for an admin counts as waiting past the SLA.
    pub support_sla: Millis,
    /// A user in chat support unanswered this long is told, once, that the team will reply.
    pub support_queue_timeout: Millis,
    /// Chat support with no message either way for this long is closed.
    pub support_idle: Millis,
    /// First retry of a failed send after this long, doubling each attempt.
    pub outbound_retry_base: Millis,
    /// Send attempts before a message is failed for good.
    pub outbound_max_attempts: u32,
    /// A send with no answer (timeout) is retried only after this long without a status.
    pub outbound_unknown_grace: Millis,
    /// After the third wrong activation code, codes are refused this long.
    pub activation_lock: Millis,
    /// The template (name, language) that asks for a rating when a chat ends outside the
    /// 24-hour window (`SUPPORT_FEEDBACK_TEMPLATE`); None skips the rating then.
    pub feedback_template: Option<(String, String)>,
}
