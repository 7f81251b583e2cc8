//! Delivering a stored, claimed outbound message over the Graph API and recording its fate.
//! The message is always stored `pending` before this runs (docs/architecture.md); what fails for a
//! passing reason stays pending for the scheduled retries, what WhatsApp refuses is failed
//! at once with Meta's code and title.

use crate::context::Ports;
use crate::ports::SendError;
use crate::ports::StoreError;
use crate::ports::{MediaFiles, Messenger, OutboxStore, Outgoing};
use edubot_domain::media::{AttachmentKind, LINK_VALID_FOR};
use edubot_domain::model::{Message, MessageError, MessageStatus};
use edubot_domain::time::Millis;
use edubot_domain::whatsapp::OutboundBody;

#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent(Message),
    /// Still pending: a retry is scheduled (or it went out and only its record is missing:
    /// then it carries its wamid, and a status settles it before the retry is due).
    Retrying(Message),
    Failed(Message),
}

impl Delivery {
    pub fn message(&self) -> &Message {
        match self {
            Delivery::Sent(m) | Delivery::Retrying(m) | Delivery::Failed(m) => m,
        }
    }
}

/// When the attempt after `attempts` failed ones may run: `base`, doubling each time.
pub fn next_attempt_at(base: Millis, attempts: u32, now: Millis) -> Millis {
    now + base * (1i64 << attempts.saturating_sub(1).min(16))
}

/// For a file: a fresh link to it (links expire, so each attempt makes its own).
async fn media_link(
    ctx: &impl Ports,
    m: &Message,
    body: &OutboundBody,
) -> Result<Option<String>, StoreError> {
    let OutboundBody::Media {
        object_key,
        filename,
        kind,
        ..
    } = body
    else {
        return Ok(None);
    };
    let mime_type = m
        .media
        .as_ref()
        .and_then(|media| media.mime_type.as_deref())
        .unwrap_or("application/octet-stream");
    let download_as = (*kind == AttachmentKind::Document)
        .then_some(filename.as_deref())
        .flatten();
    let link = ctx
        .media()
        .download_link(object_key, mime_type, download_as, LINK_VALID_FOR)
        .await?;
    Ok(Some(link))
}

/// Sends `m` (already claimed, `attempts` counting this one), a message that may carry a
/// file (an admin's reply, a retry), and records the outcome.
pub async fn deliver_any(
    ctx: &impl Ports,
    m: Message,
    now: Millis,
) -> Result<Delivery, StoreError> {
    let link = match &m.body {
        Some(body) => media_link(ctx, &m, body).await?,
        None => None,
    };
    send_and_record(ctx, m, link, now).await
}

/// Sends `m` (already claimed), a text, buttons or list message — the bot's replies, the
/// desk's notices, never a file — and records the outcome. Those senders never reach the
/// media bucket (their roles may not).
pub async fn deliver(ctx: &impl Ports, m: Message, now: Millis) -> Result<Delivery, StoreError> {
    debug_assert!(
        !matches!(m.body, Some(OutboundBody::Media { .. })),
        "a file goes through deliver_any"
    );
    send_and_record(ctx, m, None, now).await
}

/// The send pipeline's one Graph call and its fate recorded (`media_link` for a file).
async fn send_and_record(
    ctx: &impl Ports,
    mut m: Message,
    link: Option<String>,
    now: Millis,
) -> Result<Delivery, StoreError> {
    let Some(body) = m.body.clone() else {
        return Ok(Delivery::Sent(m));
    };
    let config = ctx.settings();
    let outgoing = Outgoing {
        to: &m.phone,
        body: &body,
        callback: &m.id,
        media_link: link.as_deref(),
        reply_to_wamid: m.reply_to_wamid.as_deref(),
    };
    match ctx.messenger().send(outgoing).await {
        Ok(wamid) => {
            // Meta has it. Recording that is tried twice; if both fail, the message stays
            // pending under its grace, for the status webhooks (which carry our id) to
            // settle: a message that went out is never answered as an error.
            let store = ctx.store();
            let recorded = match store.mark_sent(&m, &wamid, now).await {
                Ok(()) => Ok(()),
                Err(_) => store.mark_sent(&m, &wamid, now).await,
            };
            m.wamid = Some(wamid);
            m.sent_at = Some(now);
            m.error = None;
            match recorded {
                Ok(()) => {
                    m.status = MessageStatus::Sent;
                    Ok(Delivery::Sent(m))
                }
                Err(e) => {
                    tracing::error!(
                        phone = %m.phone.masked(), message_id = %m.id, error = %e,
                        "sent, but recording it failed: its status webhook will settle it"
                    );
                    Ok(Delivery::Retrying(m))
                }
            }
        }
        Err(SendError::Permanent(error)) => fail(ctx, m, error, "send refused by WhatsApp").await,
        Err(failure) if m.attempts >= config.outbound_max_attempts => {
            let last = failure.error();
            let error = MessageError {
                code: last.code.clone(),
                title: format!("{} (gave up after {} attempts)", last.title, m.attempts),
            };
            fail(ctx, m, error, "send failed for good after retries").await
        }
        Err(failure) => {
            let retry_at = match failure {
                // It may have reached Meta: give its status webhook time to settle it.
                SendError::Unknown(_) => now + config.outbound_unknown_grace,
                _ => next_attempt_at(config.outbound_retry_base, m.attempts, now),
            };
            let error = failure.error().clone();
            tracing::warn!(
                phone = %m.phone.masked(), message_id = %m.id, code = %error.code,
                attempts = m.attempts, retry_in_ms = retry_at - now, "send will be retried"
            );
            ctx.store().mark_retry(&m, &error, retry_at).await?;
            m.error = Some(error);
            Ok(Delivery::Retrying(m))
        }
    }
}

async fn fail(
    ctx: &impl Ports,
    mut m: Message,
    error: MessageError,
    why: &str,
) -> Result<Delivery, StoreError> {
    tracing::warn!(phone = %m.phone.masked(), message_id = %m.id, code = %error.code, attempts = m.attempts, "{why}");
    ctx.store().mark_failed(&m, &error).await?;
    m.status = MessageStatus::Failed;
    m.error = Some(error);
    Ok(Delivery::Failed(m))
}

/// Sends messages back to back, in order (all replies to one message go out before the
/// next is handled, docs/bot.md).
pub async fn deliver_in_order(
    ctx: &impl Ports,
    messages: Vec<Message>,
    now: Millis,
) -> Result<Vec<Delivery>, StoreError> {
    let mut out = Vec::with_capacity(messages.len());
    for m in messages
        .into_iter()
        .filter(|m| m.status == MessageStatus::Pending)
    {
        out.push(deliver(ctx, m, now).await?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use edubot_domain::time::SECOND;

    #[test]
    fn backoff_doubles_from_the_base() {
        let base = 30 * SECOND;
        assert_eq!(next_attempt_at(base, 1, 0), 30 * SECOND);
        assert_eq!(next_attempt_at(base, 2, 0), 60 * SECOND);
        assert_eq!(next_attempt_at(base, 4, 0), 240 * SECOND);
        assert_eq!(next_attempt_at(base, 100, 0), base << 16, "bounded");
    }
}
