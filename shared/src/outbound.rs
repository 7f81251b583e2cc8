//! Delivering a stored, claimed outbound message over the Graph API and recording its fate.
//! The message is always stored `pending` before this runs (DESIGN §1).

use crate::context::AppContext;
use crate::model::{Message, MessageStatus};
use crate::store::StoreError;
use crate::time::{Millis, MINUTE, SECOND};
use crate::whatsapp::SendError;

/// First retry after this long, doubling each attempt.
pub const RETRY_BASE: Millis = 30 * SECOND;
/// A send with no answer is retried only after this long without a status webhook.
pub const UNKNOWN_OUTCOME_GRACE: Millis = 5 * MINUTE;

#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    Sent(Message),
    /// Still pending: a retry is scheduled.
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

/// When the attempt after `attempts` failed ones may run.
pub fn next_attempt_at(attempts: u32, now: Millis) -> Millis {
    now + RETRY_BASE * (1i64 << attempts.saturating_sub(1).min(10))
}

/// Sends `m` (already claimed, `attempts` counting this one) and records the outcome.
pub async fn deliver(
    ctx: &AppContext,
    mut m: Message,
    now: Millis,
) -> Result<Delivery, StoreError> {
    let Some(body) = m.body.clone() else {
        return Ok(Delivery::Sent(m));
    };
    match ctx.whatsapp.send(&m.phone, &body, &m.id).await {
        Ok(wamid) => {
            ctx.store.mark_sent(&m, &wamid, now).await?;
            m.status = MessageStatus::Sent;
            m.wamid = Some(wamid);
            m.sent_at = Some(now);
            m.error = None;
            Ok(Delivery::Sent(m))
        }
        Err(SendError::Permanent(error)) => {
            tracing::warn!(phone = %m.phone.masked(), message_id = %m.id, code = %error.code, "send refused by WhatsApp");
            ctx.store.mark_failed(&m, &error).await?;
            m.status = MessageStatus::Failed;
            m.error = Some(error);
            Ok(Delivery::Failed(m))
        }
        Err(failure) => {
            let error = failure.error().clone();
            let retry_at = match failure {
                SendError::Unknown(_) => now + UNKNOWN_OUTCOME_GRACE,
                _ => next_attempt_at(m.attempts, now),
            };
            tracing::warn!(phone = %m.phone.masked(), message_id = %m.id, code = %error.code, attempts = m.attempts, "send will be retried");
            ctx.store.mark_retry(&m, &error, retry_at).await?;
            m.error = Some(error);
            Ok(Delivery::Retrying(m))
        }
    }
}

/// Sends messages back to back, in order (all replies to one message go out before the
/// next is handled, DESIGN §5).
pub async fn deliver_in_order(
    ctx: &AppContext,
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

    #[test]
    fn backoff_doubles_from_the_base() {
        assert_eq!(next_attempt_at(1, 0), 30 * SECOND);
        assert_eq!(next_attempt_at(2, 0), 60 * SECOND);
        assert_eq!(next_attempt_at(4, 0), 240 * SECOND);
    }
}
