//! The outbox: each send's fate recorded (sent with its wamid, failed with Meta's reason, or
//! left pending with its next attempt), the sparse index of sends due again, and the
//! conditional claims that keep two senders apart.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, TransactWriteItem, Update};

use super::format::StoredDirection;
use super::items::*;
use super::team::unless_first_failed;
use super::*;
use edubot_domain::team::AuditEntry;

impl OutboxStore for Store {
    /// Records Meta's acceptance of a send: the wamid pointer (for its status webhooks) and
    /// the message marked sent, in one transaction — one round trip per reply. Never moves a
    /// status backwards: if a status webhook got there first (it finds the message by its
    /// callback data), the transaction is cancelled and only the pointer is written.
    async fn mark_sent(&self, m: &Message, wamid: &str, now: Millis) -> Result<(), StoreError> {
        let pointer = to_item(&WamidItem {
            pk: wamid_pk(wamid),
            sk: SINGLETON_SK.into(),
            phone: m.phone.to_string(),
            message_id: m.id.clone(),
            expires_at: (now + WAMID_POINTER_TTL) / SECOND,
        });
        let put_pointer = Put::builder()
            .table_name(&self.table)
            .set_item(Some(pointer.clone()))
            .build()
            .expect("put");
        let mark = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(&m.phone), message_sk(&m.id))))
            .update_expression(
                "SET #status = :sent, status_rank = :rank, wamid = :wamid, sent_at = if_not_exists(sent_at, :now) \
                 REMOVE claim_until, gsi_pending_pk, gsi_pending_sk, #error",
            )
            .condition_expression("status_rank < :rank")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":sent", to_attr(&StoredStatus::Sent))
            .expression_attribute_values(":rank", n(StoredStatus::Sent.rank()))
            .expression_attribute_values(":wamid", s(wamid))
            .expression_attribute_values(":now", n(now))
            .build()
            .expect("update");
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put_pointer).build())
            .transact_items(TransactWriteItem::builder().update(mark).build())
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // The message already moved on: the pointer alone.
            Err(e)
                if cancelled_conditions(&e).is_some_and(|failed| failed.get(1) == Some(&true)) =>
            {
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(pointer))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                Ok(())
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Records a permanent failure with its reason (only from pending or sent).
    async fn mark_failed(&self, m: &Message, error: &MessageError) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(&m.phone), message_sk(&m.id))))
            .update_expression(
                "SET #status = :failed, status_rank = :rank, #error = :error \
                 REMOVE claim_until, gsi_pending_pk, gsi_pending_sk",
            )
            .condition_expression("status_rank <= :sent_rank")
            .expression_attribute_names("#status", "status")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":failed", to_attr(&StoredStatus::Failed))
            .expression_attribute_values(":rank", n(StoredStatus::Failed.rank()))
            .expression_attribute_values(":error", to_attr(&StoredError::from(error)))
            .expression_attribute_values(":sent_rank", n(StoredStatus::Sent.rank()))
            .send()
            .await;
        // A failed condition: the message already moved on (a status got there first).
        conditional(result)?;
        Ok(())
    }

    /// Leaves a message pending after a transient failure: releases the claim, records the
    /// attempt and the reason, and schedules the next attempt in the pending index.
    async fn mark_retry(
        &self,
        m: &Message,
        error: &MessageError,
        next_attempt_at: Millis,
    ) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(&m.phone), message_sk(&m.id))))
            .update_expression(
                "SET #error = :error, attempts = :attempts, gsi_pending_pk = :pending, gsi_pending_sk = :next \
                 REMOVE claim_until",
            )
            .condition_expression("status_rank = :pending_rank")
            .expression_attribute_names("#error", "error")
            .expression_attribute_values(":error", to_attr(&StoredError::from(error)))
            .expression_attribute_values(":attempts", n(m.attempts))
            .expression_attribute_values(":pending", s(PENDING))
            .expression_attribute_values(":next", s(pending_sk(next_attempt_at, &m.phone, &m.id)))
            .expression_attribute_values(":pending_rank", n(StoredStatus::Pending.rank()))
            .send()
            .await;
        // A failed condition: the message already moved on (a status got there first).
        conditional(result)?;
        Ok(())
    }

    /// Pending sends whose next attempt is due (one Query on the sparse pending index).
    async fn due_sends(&self, now: Millis, limit: i32) -> Result<Vec<DueSend>, StoreError> {
        self.due_in_schedule(PENDING, now, limit)
            .await?
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
    async fn claim_send(&self, due: &DueSend, now: Millis) -> Result<Option<Message>, StoreError> {
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
            .expression_attribute_values(
                ":next",
                s(pending_sk(now + self.unsettled_after, &m.phone, &m.id)),
            )
            .expression_attribute_values(":pending", n(StoredStatus::Pending.rank()))
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

    /// Sets `read_marked_at` on an inbound message that has none: one conditional update.
    async fn claim_read_mark(
        &self,
        phone: &Phone,
        id: &str,
        now: Millis,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(id))))
            .update_expression("SET read_marked_at = :now")
            .condition_expression(
                "attribute_exists(pk) AND direction = :inbound AND attribute_not_exists(read_marked_at)",
            )
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":inbound", to_attr(&StoredDirection::Inbound))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    async fn release_read_mark(&self, phone: &Phone, id: &str) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(id))))
            .update_expression("REMOVE read_marked_at")
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        conditional(result).map(|_| ())
    }

    /// Puts a failed admin message back to pending, claimed for a new attempt on the same
    /// message, and records `audit` in the same transaction. None when `failed` is no
    /// longer that failed attempt (someone else reopened it).
    async fn reopen_failed_admin_message(
        &self,
        failed: &Message,
        audit: &AuditEntry,
        now: Millis,
    ) -> Result<Option<Message>, StoreError> {
        let reopen = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                conversation_pk(&failed.phone),
                message_sk(&failed.id),
            )))
            .update_expression(
                "SET #status = :pending, status_rank = :pending_rank, attempts = :next_attempt, \
                 claim_until = :until, gsi_pending_pk = :pk, gsi_pending_sk = :next",
            )
            // The attempt read is still the last one: two retries at once reopen it once.
            .condition_expression("#status = :failed AND author = :admin AND attempts = :attempts")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", to_attr(&StoredStatus::Pending))
            .expression_attribute_values(":pending_rank", n(StoredStatus::Pending.rank()))
            .expression_attribute_values(":failed", to_attr(&StoredStatus::Failed))
            .expression_attribute_values(":admin", to_attr(&StoredAuthor::Admin))
            .expression_attribute_values(":attempts", n(failed.attempts))
            .expression_attribute_values(":next_attempt", n(failed.attempts + 1))
            .expression_attribute_values(":until", n(now + SEND_CLAIM))
            .expression_attribute_values(":pk", s(PENDING))
            .expression_attribute_values(
                ":next",
                s(pending_sk(
                    now + self.unsettled_after,
                    &failed.phone,
                    &failed.id,
                )),
            )
            .build()
            .expect("update");
        let change = TransactWriteItem::builder().update(reopen).build();
        let result = self.audited(change, audit).send().await;
        let reopened = unless_first_failed(result)?.then(|| Message {
            status: MessageStatus::Pending,
            attempts: failed.attempts + 1,
            ..failed.clone()
        });
        Ok(reopened)
    }
}
