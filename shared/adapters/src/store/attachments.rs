//! Attachments admins have declared: `ATT#<id>` items in their conversation's partition
//! (so a role that may touch a conversation may touch its attachments, and no other key is
//! needed), forgotten by TTL after `ATTACHMENT_KEPT_FOR`.

use edubot_app::ports::AttachmentStore;
use edubot_domain::media::{Attachment, ATTACHMENT_KEPT_FOR};

use super::items::*;
use super::*;

impl AttachmentStore for Store {
    async fn put_attachment(&self, attachment: &Attachment) -> Result<(), StoreError> {
        let item = AttachmentItem::from_attachment(attachment, ATTACHMENT_KEPT_FOR);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(to_item(&item)))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn get_attachment(
        &self,
        phone: &Phone,
        id: &str,
    ) -> Result<Option<Attachment>, StoreError> {
        let item = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), attachment_sk(id))))
            .send()
            .await
            .map_err(sdk_error)?
            .item;
        match item {
            None => Ok(None),
            Some(item) => from_item::<AttachmentItem>(item)?
                .into_attachment()
                .map(Some)
                .ok_or_else(|| StoreError::Corrupt("an attachment without a valid phone".into())),
        }
    }

    async fn take_attachment(&self, phone: &Phone, id: &str) -> Result<bool, StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(conversation_pk(phone), attachment_sk(id))))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        Ok(conditional(result)?.is_some())
    }
}
