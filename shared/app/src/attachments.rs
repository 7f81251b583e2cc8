//! Files admins attach (DESIGN §12, docs/media.md): declared first and checked against
//! WhatsApp's limits, uploaded by the page straight to the bucket with a short-lived link,
//! checked again as uploaded, and copied under the message when sent — so a sent file is
//! history (never expired) and a later upload to the same link cannot change it.

use crate::context::Ports;
use crate::conversations::conversation_or_404;
use crate::error::AppError;
use crate::ports::{AttachmentStore, MediaFiles};
use edubot_domain::desk::claimed_outbound;
use edubot_domain::media::{
    check_attachment, message_object_key, valid_filename, Attachment, Media, MediaStatus,
    LINK_VALID_FOR,
};
use edubot_domain::model::{new_message_id, Author, Message};
use edubot_domain::phone::Phone;
use edubot_domain::time::Millis;
use edubot_domain::whatsapp::OutboundBody;

/// What `POST …/attachments` answers: where to PUT the bytes, and with which headers.
#[derive(Debug, serde::Serialize)]
pub struct NewAttachment {
    pub attachment_id: String,
    pub upload_url: String,
    pub upload_headers: std::collections::BTreeMap<&'static str, String>,
}

/// Declares a file for conversation `phone`: refused at once when WhatsApp would refuse it
/// (type, size, name), so nothing is uploaded for nothing.
pub async fn create_attachment(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    filename: &str,
    mime_type: &str,
    size: u64,
    now: Millis,
) -> Result<NewAttachment, AppError> {
    let filename = valid_filename(filename).map_err(AppError::invalid)?;
    check_attachment(mime_type, size, None).map_err(AppError::invalid)?;
    conversation_or_404(ctx, phone).await?;
    let attachment = Attachment {
        id: new_message_id(),
        phone: phone.clone(),
        filename,
        mime_type: mime_type.trim().to_owned(),
        size,
        admin: admin.to_owned(),
        created_at: now,
    };
    ctx.store().put_attachment(&attachment).await?;
    let upload_url = ctx
        .media()
        .upload_link(
            &attachment.object_key(),
            &attachment.mime_type,
            LINK_VALID_FOR,
        )
        .await?;
    Ok(NewAttachment {
        attachment_id: attachment.id,
        upload_url,
        upload_headers: [("Content-Type", attachment.mime_type)].into(),
    })
}

/// The outbound message that sends attachment `id` of `phone` with `caption`: the upload
/// checked as it is (a presigned PUT cannot cap its size), then copied under the new
/// message's own key. Not yet stored: the caller commits it with the conversation.
pub async fn file_reply(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    attachment_id: &str,
    caption: Option<&str>,
    now: Millis,
) -> Result<Message, AppError> {
    let attachment = ctx
        .store()
        .get_attachment(phone, attachment_id)
        .await?
        .ok_or_else(|| AppError::not_found("No attachment with this id in the conversation."))?;
    let uploaded = ctx
        .media()
        .describe(&attachment.object_key())
        .await?
        .ok_or_else(|| {
            AppError::invalid(
                "The attachment's file has not been uploaded (PUT it to its upload_url first).",
            )
        })?;
    let mime_type = uploaded
        .mime_type
        .clone()
        .unwrap_or_else(|| attachment.mime_type.clone());
    let caption = caption.map(str::trim).filter(|c| !c.is_empty());
    let kind = check_attachment(&mime_type, uploaded.size, caption).map_err(AppError::invalid)?;
    // One send per attachment: the second of two clicks finds it taken.
    if !ctx.store().take_attachment(phone, attachment_id).await? {
        return Err(AppError::not_found(
            "No attachment with this id in the conversation (it was sent already).",
        ));
    }
    let body = OutboundBody::Media {
        kind,
        object_key: String::new(),
        filename: Some(attachment.filename.clone()),
        caption: caption.map(str::to_owned),
    };
    let mut message = claimed_outbound(phone.clone(), Author::Admin, body, now);
    let key = message_object_key(phone, &message.id);
    ctx.media().copy(&attachment.object_key(), &key).await?;
    if let Some(OutboundBody::Media { object_key, .. }) = message.body.as_mut() {
        *object_key = key.clone();
    }
    message.admin = Some(admin.to_owned());
    message.media = Some(Media {
        mime_type: Some(mime_type),
        size: Some(uploaded.size),
        filename: Some(attachment.filename),
        caption: caption.map(str::to_owned),
        status: MediaStatus::Stored,
        error: None,
        media_id: None,
        sha256: None,
        object_key: Some(key),
        attempts: 0,
    });
    Ok(message)
}
