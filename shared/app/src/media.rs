//! Keeping the files users send (DESIGN §12, docs/media.md): WhatsApp holds them for a few
//! days only, so each is fetched into the media bucket soon after its message is stored,
//! off the webhook's path, and a failed fetch is tried again with backoff until it is
//! stored or given up for good.

use crate::context::Ports;
use crate::error::{AppError, ErrorCode};
use crate::ports::{ConversationStore, FetchError, MediaFiles, MediaStore, StoreError};
use edubot_domain::media::{
    fetch_given_up, message_object_key, next_fetch_at, Media, MediaStatus, LINK_VALID_FOR,
};
use edubot_domain::model::MessageError;
use edubot_domain::phone::Phone;
use edubot_domain::time::{serde_rfc3339, Millis, MINUTE};

/// What one fetch did.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    Stored(Media),
    /// Failed for a passing reason: tried again at the given time.
    Retrying(Media, Millis),
    Failed(Media),
    /// Nothing to fetch: no such message, no file, or already stored or given up (by
    /// another fetcher, or before).
    Nothing,
}

/// How long one fetcher holds a file's fetch: the longest a download may take (the media
/// client's 4-minute timeout) and a margin.
pub const FETCH_LEASE: Millis = 5 * MINUTE;

/// Fetches the file of message `id` of `phone` into the media bucket and records the
/// outcome. The fetch is leased first, so two fetchers (the stream's and a scheduled
/// retry) never download one file at once; and the record is conditional on the file
/// still being pending, so an outcome is never recorded twice.
pub async fn fetch_media(
    ctx: &impl Ports,
    phone: &Phone,
    id: &str,
    now: Millis,
) -> Result<Fetched, StoreError> {
    let Some(message) = ctx.store().get_message(phone, id).await? else {
        return Ok(Fetched::Nothing);
    };
    let Some(mut media) = message.media.filter(Media::is_pending) else {
        return Ok(Fetched::Nothing);
    };
    let Some(media_id) = media.media_id.clone() else {
        return Ok(Fetched::Nothing);
    };
    if !ctx
        .store()
        .lease_media_fetch(phone, id, now, now + FETCH_LEASE)
        .await?
    {
        return Ok(Fetched::Nothing);
    }
    media.attempts += 1;
    let key = message_object_key(phone, id);
    let settings = ctx.settings();
    let fetched = ctx
        .media()
        .fetch_into_store(&media_id, &key, media.sha256.as_deref())
        .await;
    let (outcome, retry_at) = match fetched {
        Ok(file) => {
            media.status = MediaStatus::Stored;
            media.size = Some(file.size);
            media.mime_type = file.mime_type.or(media.mime_type.take());
            media.object_key = Some(key);
            media.error = None;
            (Fetched::Stored(media.clone()), None)
        }
        Err(FetchError::Gone(error)) => {
            media.status = MediaStatus::Failed;
            media.error = Some(error);
            (Fetched::Failed(media.clone()), None)
        }
        Err(FetchError::Transient(error)) => {
            let given_up = fetch_given_up(
                media.attempts,
                settings.outbound_max_attempts,
                message.created_at,
                now,
            );
            if given_up {
                media.status = MediaStatus::Failed;
                media.error = Some(MessageError {
                    title: format!(
                        "{} (gave up after {} attempts)",
                        error.title, media.attempts
                    ),
                    code: error.code,
                });
                (Fetched::Failed(media.clone()), None)
            } else {
                let at = next_fetch_at(settings.outbound_retry_base, media.attempts, now);
                media.error = Some(error);
                (Fetched::Retrying(media.clone(), at), Some(at))
            }
        }
    };
    let recorded = ctx
        .store()
        .record_media(phone, id, &media, retry_at)
        .await?;
    if !recorded {
        return Ok(Fetched::Nothing);
    }
    match &outcome {
        Fetched::Stored(m) => tracing::info!(
            phone = %phone.masked(), message_id = %id, bytes = m.size, "media stored"
        ),
        Fetched::Retrying(m, _) | Fetched::Failed(m) => tracing::warn!(
            phone = %phone.masked(), message_id = %id, attempts = m.attempts,
            code = m.error.as_ref().map(|e| e.code.as_str()), failed = matches!(outcome, Fetched::Failed(_)),
            "media fetch failed"
        ),
        Fetched::Nothing => {}
    }
    Ok(outcome)
}

/// A stored file's download link, as `GET …/messages/{id}/media` answers it.
#[derive(Debug, serde::Serialize)]
pub struct MediaLink {
    pub url: String,
    pub mime_type: String,
    #[serde(with = "serde_rfc3339")]
    pub expires_at: Millis,
}

/// A short-lived link to the stored file of message `id`: documents download under their
/// name, images, audio and video open in the page. 404 when the message has no stored
/// file (none, or given up), 409 while it is still being fetched.
pub async fn media_link(
    ctx: &impl Ports,
    phone: &Phone,
    id: &str,
    now: Millis,
) -> Result<MediaLink, AppError> {
    let no_file = || AppError::not_found("This message has no stored file.");
    let message = ctx
        .store()
        .get_message(phone, id)
        .await?
        .ok_or_else(no_file)?;
    let media = message.media.ok_or_else(no_file)?;
    match media.status {
        MediaStatus::Pending => {
            return Err(AppError::new(
                ErrorCode::Conflict,
                "The file is still being fetched from WhatsApp: try again in a moment.",
            ))
        }
        MediaStatus::Failed => return Err(no_file()),
        MediaStatus::Stored => {}
    }
    let key = media.object_key.ok_or_else(no_file)?;
    let mime_type = media
        .mime_type
        .unwrap_or_else(|| "application/octet-stream".into());
    let download_as =
        (message.kind == "document").then(|| media.filename.unwrap_or_else(|| "document".into()));
    let url = ctx
        .media()
        .download_link(&key, &mime_type, download_as.as_deref(), LINK_VALID_FOR)
        .await?;
    Ok(MediaLink {
        url,
        mime_type,
        expires_at: now + LINK_VALID_FOR,
    })
}
