//! The records of messages' files: each fetch's outcome, written only while the file is
//! still pending, and the fetch schedule — inbound media messages in the sparse
//! `gsi_pending` index under their own partition (an inbound message is never an outbound
//! send, so the two uses never meet on one item).

use aws_sdk_dynamodb::types::AttributeValue;
use edubot_app::ports::MediaStore;
use edubot_domain::media::Media;

use super::format::StoredMedia;
use super::items::*;
use super::*;

impl MediaStore for Store {
    async fn record_media(
        &self,
        phone: &Phone,
        message_id: &str,
        media: &Media,
        retry_at: Option<Millis>,
    ) -> Result<bool, StoreError> {
        let update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(message_id))))
            .condition_expression("media.#status = :pending")
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":media", to_attr(&StoredMedia::from(media)));
        let update = match retry_at {
            Some(at) => update
                .update_expression(
                    "SET media = :media, gsi_pending_pk = :p, gsi_pending_sk = :next \
                     REMOVE media_lease_until",
                )
                .expression_attribute_values(":p", s(MEDIA_FETCH))
                .expression_attribute_values(":next", s(pending_sk(at, phone, message_id))),
            None => update.update_expression(
                "SET media = :media REMOVE gsi_pending_pk, gsi_pending_sk, media_lease_until",
            ),
        };
        Ok(conditional(update.send().await)?.is_some())
    }

    async fn lease_media_fetch(
        &self,
        phone: &Phone,
        message_id: &str,
        now: Millis,
        until: Millis,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), message_sk(message_id))))
            // Rescheduled past the lease: if this fetcher dies, a later check takes it up.
            .update_expression(
                "SET media_lease_until = :until, gsi_pending_pk = :p, gsi_pending_sk = :next",
            )
            .condition_expression(
                "media.#status = :pending \
                 AND (attribute_not_exists(media_lease_until) OR media_lease_until < :now)",
            )
            .expression_attribute_names("#status", "status")
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":until", n(until))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":p", s(MEDIA_FETCH))
            .expression_attribute_values(":next", s(pending_sk(until, phone, message_id)))
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }

    async fn due_media_fetches(
        &self,
        now: Millis,
        limit: i32,
    ) -> Result<Vec<(Phone, String)>, StoreError> {
        self.due_in_schedule(MEDIA_FETCH, now, limit)
            .await?
            .into_iter()
            .map(|item| {
                let text = |name: &str| match item.get(name) {
                    Some(AttributeValue::S(v)) => Some(v.clone()),
                    _ => None,
                };
                let phone = text("phone").and_then(|p| Phone::parse(&p));
                match (phone, text("id")) {
                    (Some(phone), Some(id)) => Ok((phone, id)),
                    _ => Err(StoreError::Corrupt(
                        "a due media fetch without phone or id".into(),
                    )),
                }
            })
            .collect()
    }
}
