//! What the scheduled checks and retries read and claim: the sparse indexes of pending
//! sends and unprocessed messages, and the conditional claims that keep two senders apart.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use super::items::{conversation_pk, message_sk, PENDING, UNPROCESSED};
use super::{
    conditional, index, key, message_from_item, n, pending_sk, s, to_attr, Store, StoreError,
    SEND_CLAIM,
};
use crate::model::{Author, Message, MessageStatus};
use crate::phone::Phone;
use crate::time::Millis;

/// A pending send found in the index, with the index key it was found under.
#[derive(Debug, Clone)]
pub struct DueSend {
    pub message: Message,
    pub pending_sk: String,
}

impl Store {
    /// Pending sends whose next attempt is due (one Query on the sparse pending index).
    pub async fn due_sends(&self, now: Millis, limit: i32) -> Result<Vec<DueSend>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index::PENDING)
            .key_condition_expression("gsi_pending_pk = :p AND gsi_pending_sk < :due")
            .expression_attribute_values(":p", s(PENDING))
            .expression_attribute_values(":due", s(format!("{now:013}~")))
            .limit(limit)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(|item| {
                let pending_sk = match item.get("gsi_pending_sk") {
                    Some(AttributeValue::S(sk)) => sk.clone(),
                    _ => String::new(),
                };
                Ok(DueSend {
                    message: message_from_item(item)?,
                    pending_sk,
                })
            })
            .collect()
    }

    /// Claims a due send for one attempt: only if it is still pending, still scheduled as
    /// found, and no one else holds it. Counts the attempt and reschedules it past the
    /// claim, so a sender that dies leaves it to a later check. None when someone else won.
    pub async fn claim_send(
        &self,
        due: &DueSend,
        now: Millis,
    ) -> Result<Option<Message>, StoreError> {
        let m = &due.message;
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(&m.phone), message_sk(&m.id))))
            .update_expression(
                "SET claim_until = :until, attempts = attempts + :one, gsi_pending_sk = :next",
            )
            .condition_expression(
                "status_rank = :pending AND gsi_pending_sk = :found \
                 AND (attribute_not_exists(claim_until) OR claim_until < :now)",
            )
            .expression_attribute_values(":until", n(now + SEND_CLAIM))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":next", s(pending_sk(now + SEND_CLAIM, &m.phone, &m.id)))
            .expression_attribute_values(":pending", n(MessageStatus::Pending.rank()))
            .expression_attribute_values(":found", s(&due.pending_sk))
            .expression_attribute_values(":now", n(now))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        conditional(result)?
            .and_then(|out| out.attributes)
            .map(message_from_item)
            .transpose()
    }

    /// Puts a failed admin message back to pending, claimed for a new attempt on the same
    /// message. None when it is not a failed admin message (or someone else reopened it).
    pub async fn reopen_failed_admin_message(
        &self,
        phone: &Phone,
        id: &str,
        now: Millis,
    ) -> Result<Option<Message>, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(id))))
            .update_expression(
                "SET #status = :pending, status_rank = :pending_rank, attempts = attempts + :one, \
                 claim_until = :until, gsi_pending_pk = :pk, gsi_pending_sk = :next",
            )
            .condition_expression("#status = :failed AND author = :admin")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", to_attr(&MessageStatus::Pending))
            .expression_attribute_values(":pending_rank", n(MessageStatus::Pending.rank()))
            .expression_attribute_values(":failed", to_attr(&MessageStatus::Failed))
            .expression_attribute_values(":admin", to_attr(&Author::Admin))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":until", n(now + SEND_CLAIM))
            .expression_attribute_values(":pk", s(PENDING))
            .expression_attribute_values(":next", s(pending_sk(now + SEND_CLAIM, phone, id)))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        conditional(result)?
            .and_then(|out| out.attributes)
            .map(message_from_item)
            .transpose()
    }

    /// One message, strongly consistent.
    pub async fn get_message(
        &self,
        phone: &Phone,
        id: &str,
    ) -> Result<Option<Message>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(id))))
            .consistent_read(true)
            .send()
            .await
            .map_err(StoreError::from_sdk)?;
        out.item.map(message_from_item).transpose()
    }

    /// Inbound messages not yet processed, any conversation, grouped by conversation and in
    /// storage order within each (one Query on the sparse index).
    pub async fn unprocessed_anywhere(&self, limit: i32) -> Result<Vec<Message>, StoreError> {
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
            .map_err(StoreError::from_sdk)?;
        out.items
            .unwrap_or_default()
            .into_iter()
            .map(message_from_item)
            .collect()
    }
}
