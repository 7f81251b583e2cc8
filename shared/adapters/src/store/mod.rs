//! The DynamoDB adapter: every access pattern of docs/storage.md, each a fixed, small
//! number of calls. No Scan anywhere; every write that could race is conditional.

mod admins;
mod attachments;
mod backfill;
mod connections;
mod format;
#[cfg(test)]
mod golden_tests;
mod items;
mod media;
mod outbox;
mod reports;
mod search;
mod team;
mod turn_writes;

use std::collections::HashMap;

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};
use aws_sdk_dynamodb::Client;

pub use backfill::{BackfillProgress, FiguresBackfillProgress};
pub use edubot_app::ports::{
    ActivationStore, AdminStore, CommitError, ConversationStore, DueSend, ListFilter, OutboxStore,
    Page, RelatedWrite, StoreError, TeamStore,
};
use format::{StoredAuthor, StoredError, StoredStatus};
pub use items::{recency_sk, MESSAGE_SK_PREFIX, META_SK};
pub use search::{search_entries, SEARCH_PAGE, SEARCH_QUERIES};
/// The attribute only messages still to be processed carry (the stream's filter).
pub const UNPROCESSED_KEY: &str = "gsi_unprocessed_pk";
use items::*;
pub use turn_writes::{rating_figure_event, ENQUIRIES_SHOWN};

use crate::model::{Conversation, Message, MessageError, MessageStatus};
use crate::phone::Phone;
use crate::time::{Millis, DAY, SECOND};
use crate::whatsapp::payload::{InboundMessage, StatusUpdate};

/// Index names, as the CloudFormation template defines them.
pub mod index {
    pub const RECENCY: &str = "gsi1";
    pub const SUPPORT: &str = "gsi_support";
    pub const UNPROCESSED: &str = "gsi_unprocessed";
    pub const PENDING: &str = "gsi_pending";
    /// Overloaded: the team list, chats by holder, the audit log.
    pub const TEAM: &str = "gsi2";
}

/// Wamid pointers outlive Meta's 7 days of webhook retries, and late read receipts.
const WAMID_POINTER_TTL: Millis = 30 * DAY;

/// DynamoDB's refusal, with the SDK's whole explanation (for the logs, never a client).
fn sdk_error<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StoreError::Unavailable(format!("dynamodb: {}", DisplayErrorContext(&e)))
}

/// What happened to a status update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusOutcome {
    Applied,
    /// Older than what is recorded (statuses never move backwards), or a repeat.
    Stale,
    /// No message of ours has this wamid.
    Unknown,
}

#[derive(Clone)]
pub struct Store {
    client: Client,
    table: String,
    /// When a claimed send is due again if its sender never records its fate: after the
    /// grace an unknown outcome gets (OUTBOUND_UNKNOWN_GRACE_SECONDS), since the sender may
    /// have stopped after Meta accepted it; a status webhook settles it meanwhile.
    unsettled_after: Millis,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}
fn key(pk: String, sk: String) -> HashMap<String, AttributeValue> {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}
fn to_item<T: serde::Serialize>(value: &T) -> HashMap<String, AttributeValue> {
    serde_dynamo::to_item(value).expect("item structs serialise")
}
fn from_item<T: serde::de::DeserializeOwned>(
    item: HashMap<String, AttributeValue>,
) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Corrupt(e.to_string()))
}
/// A single-item conditional write: its output, None when its condition failed.
fn conditional<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Option<T>, StoreError>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e)
            if e.as_service_error().and_then(|se| se.code())
                == Some("ConditionalCheckFailedException") =>
        {
            Ok(None)
        }
        Err(e) => Err(sdk_error(e)),
    }
}
/// Every item a Query answers, page after page (for partitions that stay small: the team,
/// the canned replies, the open connections).
async fn query_all(
    query: aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder,
) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let out = query
            .clone()
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(sdk_error)?;
        items.extend(out.items.unwrap_or_default());
        match out.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => return Ok(items),
        }
    }
}

type TransactError<R> =
    SdkError<aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError, R>;

/// For a cancelled transaction: each item's cancellation code (None: that item was fine).
fn cancellation_codes<R>(e: &TransactError<R>) -> Option<Vec<Option<String>>> {
    match e.as_service_error()? {
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(t) => {
            Some(t.cancellation_reasons().iter().map(|r| r.code().map(str::to_owned)).collect())
        }
        _ => None,
    }
}

/// For a cancelled transaction: which of its items failed their condition.
fn cancelled_conditions<R>(e: &TransactError<R>) -> Option<Vec<bool>> {
    Some(
        cancellation_codes(e)?
            .iter()
            .map(|code| code.as_deref() == Some("ConditionalCheckFailed"))
            .collect(),
    )
}

/// Message items from a stream image or a query, in the domain's shape.
pub fn message_from_item(item: HashMap<String, AttributeValue>) -> Result<Message, StoreError> {
    let item: MessageItem = from_item(item)?;
    item.into_message()
        .ok_or_else(|| StoreError::Corrupt("message with a bad phone".into()))
}

/// A conversation item from a stream image, in the domain's shape.
pub fn conversation_from_item(
    item: HashMap<String, AttributeValue>,
) -> Result<Conversation, StoreError> {
    let item: ConversationItem = from_item(item)?;
    item.into_conversation()
        .ok_or_else(|| StoreError::Corrupt("conversation with a bad phone".into()))
}

impl Store {
    pub fn new(client: Client, table: impl Into<String>, unknown_grace: Millis) -> Self {
        Store {
            client,
            table: table.into(),
            unsettled_after: unknown_grace.max(SEND_CLAIM),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    // ---- webhook -------------------------------------------------------------------------

    /// Stores an inbound message once per wamid, unprocessed (a reaction: never processed,
    /// summarised on its target instead). One transaction: the wamid pointer and the
    /// message, both conditional; a reply or reaction first reads its target's pointer.
    /// Answers false for a duplicate delivery.
    pub async fn record_inbound(
        &self,
        m: &InboundMessage,
        id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        // What it answers or reacts to: one pointer read, only for such messages.
        let target = match &m.reply_to_wamid {
            Some(wamid) => self.resolve_wamid(wamid, &m.from).await?,
            None => None,
        };
        let pointer = WamidItem {
            pk: wamid_pk(&m.wamid),
            sk: SINGLETON_SK.into(),
            phone: m.from.to_string(),
            message_id: id.to_owned(),
            expires_at: (now + WAMID_POINTER_TTL) / SECOND,
        };
        let message = Message {
            phone: m.from.clone(),
            id: id.to_owned(),
            direction: crate::model::Direction::Inbound,
            author: crate::model::Author::User,
            admin: None,
            kind: m.kind.clone(),
            text: m.text.clone(),
            status: MessageStatus::Received,
            error: None,
            wamid: Some(m.wamid.clone()),
            created_at: now,
            sent_at: Some(m.sent_at),
            interactive_id: m.interactive_id.clone(),
            body: None,
            attempts: 0,
            profile_name: m.profile_name.clone(),
            media: m.media.clone(),
            reply_to: target.as_ref().map(|(_, id)| id.clone()),
            reply_to_wamid: None,
            reactions: Vec::new(),
        };
        let mut item = MessageItem::from_message(&message);
        // Known types are fully described by kind/text; keep the raw JSON of the others
        // (the parser left it empty when it was too large to keep).
        item.raw = (!matches!(m.kind.as_str(), "text" | "interactive" | "button")
            && !m.raw.is_empty())
        .then(|| m.raw.clone());
        if !m.is_reaction() {
            item.gsi_unprocessed_pk = Some(UNPROCESSED.into());
            item.gsi_unprocessed_sk = Some(format!("{}#{}", m.from, id));
        }
        if m.media.is_some() {
            // The stream's fetcher takes it at once; this is the scheduled checks' fallback,
            // late enough not to race it.
            item.gsi_pending_pk = Some(MEDIA_FETCH.into());
            item.gsi_pending_sk = Some(pending_sk(now + FIRST_FETCH_FALLBACK, &m.from, id));
        }
        let put = |item| {
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(&self.table)
                        .set_item(Some(item))
                        .condition_expression("attribute_not_exists(pk)")
                        .build()
                        .expect("put has table and item"),
                )
                .build()
        };
        let result = self
            .client
            .transact_write_items()
            .transact_items(put(to_item(&pointer)))
            .transact_items(put(to_item(&item)))
            .send()
            .await;
        let stored = match result {
            Ok(_) => true,
            Err(e) if cancelled_conditions(&e).is_some_and(|c| c.first() == Some(&true)) => false,
            Err(e) => return Err(sdk_error(e)),
        };
        // Also for a duplicate: Meta redelivers when this update failed after the store.
        if let (true, Some((phone, target_id))) = (m.is_reaction(), &target) {
            self.summarise_reaction(phone, target_id, m.text.as_deref(), m.sent_at)
                .await?;
        }
        Ok(stored)
    }

    /// The pointer from a wamid to our message, if we have one.
    async fn wamid_pointer(&self, wamid: &str) -> Result<Option<WamidItem>, StoreError> {
        self.client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(wamid_pk(wamid), SINGLETON_SK.into())))
            .send()
            .await
            .map_err(sdk_error)?
            .item
            .map(from_item::<WamidItem>)
            .transpose()
    }

    /// The message `wamid` names, if it is one of `phone`'s conversation: (phone, our id).
    async fn resolve_wamid(
        &self,
        wamid: &str,
        phone: &Phone,
    ) -> Result<Option<(Phone, String)>, StoreError> {
        Ok(self
            .wamid_pointer(wamid)
            .await?
            .filter(|p| p.phone == phone.as_str())
            .map(|p| (phone.clone(), p.message_id)))
    }

    /// Puts the user's reaction on its target (or takes it off: `emoji` None), unless a
    /// reaction event with a later WhatsApp time got there first (events come unordered).
    async fn summarise_reaction(
        &self,
        phone: &Phone,
        target_id: &str,
        emoji: Option<&str>,
        at: Millis,
    ) -> Result<(), StoreError> {
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(target_id))))
            .expression_attribute_values(":at", n(at))
            .condition_expression(
                "attribute_exists(pk) AND (attribute_not_exists(user_reaction_at) OR user_reaction_at <= :at)",
            );
        request = match emoji {
            Some(emoji) => request
                .update_expression("SET user_reaction = :emoji, user_reaction_at = :at")
                .expression_attribute_values(":emoji", s(emoji)),
            None => request.update_expression("SET user_reaction_at = :at REMOVE user_reaction"),
        };
        conditional(request.send().await)?;
        Ok(())
    }

    /// Applies a delivery status to our message: a pointer read, then one conditional
    /// update that only moves the status forward.
    pub async fn apply_status(&self, update: &StatusUpdate) -> Result<StatusOutcome, StoreError> {
        let pointer = self.wamid_pointer(&update.wamid).await?;
        // Without a pointer (the send's answer was lost), our id comes back as callback data.
        let target = match (pointer, &update.recipient, &update.callback) {
            (Some(p), _, _) => Phone::parse(&p.phone).map(|phone| (phone, p.message_id)),
            (None, Some(phone), Some(id)) if valid_message_id(id) => {
                Some((phone.clone(), id.clone()))
            }
            _ => None,
        };
        let Some((phone, id)) = target else {
            return Ok(StatusOutcome::Unknown);
        };
        let rank = StoredStatus::rank_of(update.status);
        let mut request = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(&phone), message_sk(&id))))
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":status", to_attr(&StoredStatus::from(update.status)))
            .expression_attribute_values(":rank", n(rank))
            .expression_attribute_values(":wamid", s(&update.wamid))
            .expression_attribute_values(":outbound", s("outbound"));
        let mut set = vec![
            "#status = :status",
            "status_rank = :rank",
            "wamid = if_not_exists(wamid, :wamid)",
        ];
        if let Some(ts) = update.timestamp {
            request = request.expression_attribute_values(":ts", n(ts));
            set.push("sent_at = if_not_exists(sent_at, :ts)");
        }
        if let Some(error) = &update.error {
            request =
                request.expression_attribute_values(":error", to_attr(&StoredError::from(error)));
            set.push("#error = :error");
            request = request.expression_attribute_names("#error", "error");
        }
        // Failed only follows pending or sent; the others only move forward.
        let condition = if update.status == MessageStatus::Failed {
            request =
                request.expression_attribute_values(":sent_rank", n(StoredStatus::Sent.rank()));
            "direction = :outbound AND status_rank <= :sent_rank"
        } else {
            "direction = :outbound AND status_rank < :rank"
        };
        let result = request
            .update_expression(format!(
                "SET {} REMOVE claim_until, gsi_pending_pk, gsi_pending_sk",
                set.join(", ")
            ))
            .condition_expression(condition)
            .send()
            .await;
        Ok(match conditional(result)? {
            Some(_) => StatusOutcome::Applied,
            None => StatusOutcome::Stale,
        })
    }

    // ---- conversations -------------------------------------------------------------------

    /// The entries of `partition` of the schedule index `gsi_pending` (sends to retry,
    /// files to fetch) due by `now`, oldest first: one Query.
    async fn due_in_schedule(
        &self,
        partition: &str,
        now: Millis,
        limit: i32,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::PENDING)
            .key_condition_expression("gsi_pending_pk = :p AND gsi_pending_sk < :due")
            .expression_attribute_values(":p", s(partition))
            .expression_attribute_values(":due", s(format!("{now:013}~")))
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.items.unwrap_or_default())
    }

    // ---- messages ------------------------------------------------------------------------

    /// One page of a conversation's history, oldest first (one Query). Without `before`
    /// or `after`: the newest `limit`. `before`: older than that id. `after`: the first
    /// `limit` newer than it. `next_cursor` (an id, for `before`) only when older ones exist.
    pub async fn messages_page(
        &self,
        phone: &Phone,
        limit: i32,
        before: Option<&str>,
        after: Option<&str>,
    ) -> Result<Page<Message>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .expression_attribute_values(":pk", s(conversation_pk(phone)));
        let query = if let Some(after) = after {
            query
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(format!("{}\u{0}", message_sk(after))))
                .expression_attribute_values(":to", s(messages_end()))
                .scan_index_forward(true)
                .limit(limit + 1)
        } else {
            // One more than the page tells whether another follows; BETWEEN is inclusive,
            // so one more again to drop `before` itself.
            let to = before.map(message_sk).unwrap_or_else(messages_end);
            query
                .key_condition_expression("pk = :pk AND sk BETWEEN :from AND :to")
                .expression_attribute_values(":from", s(MESSAGE_SK_PREFIX))
                .expression_attribute_values(":to", s(to))
                .scan_index_forward(false)
                .limit(limit + 1 + i32::from(before.is_some()))
        };
        let out = query.send().await.map_err(sdk_error)?;
        let mut messages = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(message_from_item)
            .collect::<Result<Vec<_>, _>>()?;
        if let Some(before) = before {
            messages.retain(|m| m.id != before);
        }
        let more = messages.len() > limit as usize;
        messages.truncate(limit as usize);
        if after.is_none() {
            messages.reverse();
        }
        let next_cursor = match after {
            None if more => messages.first().map(|m| m.id.clone()),
            _ => None,
        };
        Ok(Page {
            items: messages,
            next_cursor,
        })
    }

    // ---- admins and rate limits ----------------------------------------------------------
}

/// The list's cursor: `<last_message_at, 13 digits>.<phone>` of a page's last conversation
/// (URL-safe as it is).
fn list_cursor(last_message_at: Millis, phone: &Phone) -> String {
    format!("{last_message_at:013}.{phone}")
}

/// A list cursor's parts; None for anything `list_cursor` did not make.
pub fn parse_list_cursor(cursor: &str) -> Option<(Millis, Phone)> {
    let (ts, phone) = cursor.split_once('.')?;
    if ts.len() != 13 || !ts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((ts.parse().ok()?, Phone::parse(phone)?))
}

pub use edubot_domain::desk::SEND_CLAIM;
/// When the scheduled checks fetch a file the stream's fetcher has not stored yet.
pub const FIRST_FETCH_FALLBACK: Millis = 2 * 60 * SECOND;

fn pending_sk(next_attempt_at: Millis, phone: &Phone, id: &str) -> String {
    format!("{next_attempt_at:013}#{phone}#{id}")
}

fn to_attr<T: serde::Serialize>(value: &T) -> AttributeValue {
    serde_dynamo::to_attribute_value(value).expect("serialisable value")
}

/// Message ids are ULIDs (26 Crockford base-32 characters).
pub fn valid_message_id(id: &str) -> bool {
    id.len() == 26
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
}

impl ConversationStore for Store {
    /// A strongly consistent read: decisions are taken on it.
    async fn get_conversation(&self, phone: &Phone) -> Result<Option<Conversation>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), META_SK.into())))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?
            .item;
        item.map(|i| {
            from_item::<ConversationItem>(i)?
                .into_conversation()
                .ok_or_else(|| StoreError::Corrupt("conversation with a bad phone".into()))
        })
        .transpose()
    }

    /// One TransactWriteItems. A related write whose condition fails (a code used
    /// meanwhile) is a conflict, like a moved version: the turn is decided again on fresh
    /// reads.
    async fn commit_with(
        &self,
        conversation: &Conversation,
        processed_id: Option<&str>,
        new_messages: &[Message],
        related: &[RelatedWrite],
        now: Millis,
    ) -> Result<u64, CommitError> {
        let next_version = conversation.version + 1;
        let index = search::index_writes(conversation, &self.table);
        let mut conv_item = ConversationItem::from_conversation(conversation, next_version);
        if let Some((_, words)) = &index {
            conv_item.search_words = Some(words.clone());
        }
        let mut conv_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(to_item(&conv_item)));
        conv_put = if conversation.version == 0 {
            conv_put.condition_expression("attribute_not_exists(pk)")
        } else {
            conv_put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(conversation.version))
        };
        let mut items = vec![TransactWriteItem::builder()
            .put(conv_put.build().expect("put"))
            .build()];
        if let Some(id) = processed_id {
            let update = Update::builder()
                .table_name(&self.table)
                .set_key(Some(key(
                    conversation_pk(&conversation.phone),
                    message_sk(id),
                )))
                .update_expression(
                    "SET processed_at = :now REMOVE gsi_unprocessed_pk, gsi_unprocessed_sk",
                )
                .condition_expression("attribute_exists(gsi_unprocessed_pk)")
                .expression_attribute_values(":now", n(now))
                .build()
                .expect("update");
            items.push(TransactWriteItem::builder().update(update).build());
        }
        for m in new_messages {
            let mut item = MessageItem::from_message(m);
            if m.status == MessageStatus::Pending {
                // Claimed by the caller, who sends it right after the commit.
                item.claim_until = Some(now + SEND_CLAIM);
                item.gsi_pending_pk = Some(PENDING.into());
                item.gsi_pending_sk = Some(pending_sk(now + self.unsettled_after, &m.phone, &m.id));
            }
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(to_item(&item)))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .expect("put");
            items.push(TransactWriteItem::builder().put(put).build());
        }
        let first_related = items.len();
        items.extend(
            related
                .iter()
                .map(|w| turn_writes::related_transact_item(w, &self.table, now)),
        );
        // Unconditional: they never cancel the transaction.
        items.extend(index.into_iter().flat_map(|(writes, _)| writes));
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(next_version),
            Err(e) => match cancelled_conditions(&e) {
                Some(failed) if failed.first() == Some(&true) => Err(CommitError::Conflict),
                Some(failed) if processed_id.is_some() && failed.get(1) == Some(&true) => {
                    Err(CommitError::AlreadyProcessed)
                }
                Some(failed) if failed.iter().skip(first_related).any(|f| *f) => {
                    Err(CommitError::Conflict)
                }
                _ => Err(sdk_error(e).into()),
            },
        }
    }

    /// Conversations by most recent activity; with `support_only`, only those in chat support.
    /// One Query on an index, one item more than the page to know whether another follows.
    /// The cursor is `<last_message_at, 13 digits>.<phone>` of the page's last conversation.
    async fn list_conversations(
        &self,
        filter: &ListFilter,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, StoreError> {
        let (index_name, pk_attr, sk_attr, partition) = match filter {
            ListFilter::All => (index::RECENCY, "gsi1pk", "gsi1sk", ALL_CONVERSATIONS.into()),
            ListFilter::Support => (
                index::SUPPORT,
                "gsi_support_pk",
                "gsi_support_sk",
                IN_SUPPORT.into(),
            ),
            ListFilter::AssignedTo(admin) => {
                (index::TEAM, "gsi2pk", "gsi2sk", desk_partition(admin))
            }
            ListFilter::Unassigned => (index::TEAM, "gsi2pk", "gsi2sk", UNASSIGNED.into()),
        };
        let partition: String = partition;
        let start_key = match cursor {
            None => None,
            Some(c) => {
                let (ts, phone) = parse_list_cursor(c).ok_or(StoreError::InvalidCursor)?;
                let mut k = key(conversation_pk(&phone), META_SK.into());
                k.insert(pk_attr.into(), s(partition.clone()));
                k.insert(sk_attr.into(), s(recency_sk(ts, &phone)));
                Some(k)
            }
        };
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index_name)
            .key_condition_expression("#pk = :p")
            .expression_attribute_names("#pk", pk_attr)
            .expression_attribute_values(":p", s(partition))
            .scan_index_forward(false)
            .limit(limit + 1)
            .set_exclusive_start_key(start_key)
            .send()
            .await
            .map_err(sdk_error)?;
        let mut items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(|i| {
                from_item::<ConversationItem>(i)?
                    .into_conversation()
                    .ok_or_else(|| StoreError::Corrupt("conversation with a bad phone".into()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_cursor = match items.last() {
            Some(last) if more => Some(list_cursor(last.last_message_at, &last.phone)),
            _ => None,
        };
        Ok(Page { items, next_cursor })
    }

    async fn search_conversations(
        &self,
        query: &edubot_domain::search::Query,
        limit: i32,
        cursor: Option<&str>,
    ) -> Result<Page<Conversation>, StoreError> {
        self.search(query, limit, cursor).await
    }

    /// Every conversation in chat support (the sparse index holds only those).
    async fn conversations_in_support(&self) -> Result<Vec<Conversation>, StoreError> {
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .list_conversations(&ListFilter::Support, 500, cursor.as_deref())
                .await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// One UpdateItem (`SET unread_count = 0 ADD version 1`, on the item existing), answering
    /// the new item.
    async fn mark_all_read(&self, phone: &Phone) -> Result<Option<Conversation>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), META_SK.into())))
            .update_expression("SET unread_count = :zero ADD version :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await;
        conditional(result)?
            .and_then(|out| out.attributes)
            .map(conversation_from_item)
            .transpose()
    }

    /// The conversation's inbound messages not yet processed, in storage order (one Query
    /// on the sparse index, eventually consistent: the stream record adds its own message).
    async fn unprocessed_messages(&self, phone: &Phone) -> Result<Vec<Message>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::UNPROCESSED)
            .key_condition_expression(
                "gsi_unprocessed_pk = :p AND begins_with(gsi_unprocessed_sk, :prefix)",
            )
            .expression_attribute_values(":p", s(UNPROCESSED))
            .expression_attribute_values(":prefix", s(format!("{phone}#")))
            .send()
            .await
            .map_err(sdk_error)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(message_from_item)
            .collect()
    }

    /// Inbound messages not yet processed, any conversation, grouped by conversation and in
    /// storage order within each (one Query on the sparse index).
    async fn unprocessed_anywhere(&self, limit: i32) -> Result<Vec<Message>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::UNPROCESSED)
            .key_condition_expression("gsi_unprocessed_pk = :p")
            .expression_attribute_values(":p", s(UNPROCESSED))
            .limit(limit)
            .send()
            .await
            .map_err(sdk_error)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(message_from_item)
            .collect()
    }

    /// One message, strongly consistent.
    async fn get_message(&self, phone: &Phone, id: &str) -> Result<Option<Message>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item.map(message_from_item).transpose()
    }

    /// Every rating given since `since` (one Query on the ratings partition, paged; only
    /// the rating is read).
    async fn ratings_since(&self, since: Millis) -> Result<Vec<u8>, StoreError> {
        turn_writes::ratings_since(self, since).await
    }
}

#[cfg(test)]
mod cursor_tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_list_cursor_reads_back_as_what_made_it(ts in 0i64..10_000_000_000_000, phone in "[0-9]{8,15}") {
            let phone = Phone::parse(&phone).unwrap();
            let cursor = list_cursor(ts, &phone);
            prop_assert_eq!(parse_list_cursor(&cursor), Some((ts, phone)));
        }

        #[test]
        fn any_text_given_as_a_cursor_is_refused_or_is_one_a_page_could_have_made(
            raw in "\\PC{0,40}|[0-9]{13}\\.[0-9]{6,17}"
        ) {
            if let Some((ts, phone)) = parse_list_cursor(&raw) {
                prop_assert_eq!(list_cursor(ts, &phone), raw);
            }
        }
    }
}
