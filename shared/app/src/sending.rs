//! What every admin send shares, whatever it sends (a reply, a file, a template, a retry):
//! the per-admin rate limit, the opt-out refusal, and the outcome the API answers.

use crate::conflict::{retry_on_conflict, Attempt};
use crate::context::Ports;
use crate::conversations::conversation_or_404;
use crate::delivery::Delivery;
use crate::error::{AppError, ErrorCode};
use crate::ports::{AdminStore, CommitError, ConversationStore};
use edubot_domain::desk::answered_by_desk;
use edubot_domain::model::{Conversation, ConversationState, Message};
use edubot_domain::phone::Phone;
use edubot_domain::time::{Millis, MINUTE};

/// Replies one admin may send per minute.
pub const SENDS_PER_ADMIN_PER_MINUTE: u32 = 60;

/// Fixed windows: the window key and when it ends.
pub(crate) fn window(now: Millis, length: Millis) -> (String, Millis) {
    let index = now / length;
    (index.to_string(), (index + 1) * length)
}

/// The HTTP status of a send's outcome: 201 sent, 202 retry scheduled; 502 permanent failure.
pub enum SendOutcome {
    Sent(Message),
    Retrying(Message),
}

/// Replies one admin may send per minute, counted per fixed minute.
pub(crate) async fn limit_sends(
    ctx: &impl Ports,
    admin: &str,
    now: Millis,
) -> Result<(), AppError> {
    let (window_key, window_end) = window(now, MINUTE);
    let used = ctx
        .store()
        .count_use("send-admin", admin, &window_key, window_end)
        .await?;
    if used > SENDS_PER_ADMIN_PER_MINUTE {
        return Err(AppError::rate_limited(((window_end - now) / 1000) as u64));
    }
    Ok(())
}

/// 409 `opted_out` when the user sent STOP: nothing at all may reach them.
pub(crate) fn refuse_opted_out(c: &Conversation) -> Result<(), AppError> {
    if c.state == ConversationState::OptedOut {
        return Err(AppError::new(
            ErrorCode::OptedOut,
            "The user opted out (STOP): nothing can be sent until they send START.",
        ));
    }
    Ok(())
}

/// 201 sent, 202 retry scheduled, or 502 with the failed message (docs/architecture.md).
pub(crate) fn send_outcome(delivery: Delivery) -> Result<SendOutcome, AppError> {
    match delivery {
        Delivery::Sent(m) => Ok(SendOutcome::Sent(m)),
        Delivery::Retrying(m) => Ok(SendOutcome::Retrying(m)),
        Delivery::Failed(m) => {
            let reason = m
                .error
                .as_ref()
                .map(|e| e.title.as_str())
                .unwrap_or("no reason given");
            Err(AppError::new(
                ErrorCode::WhatsappError,
                format!("WhatsApp refused the message: {reason}"),
            )
            .with_failed_message(m))
        }
    }
}

/// Stores an admin's message with the conversation it answers, in one conditional commit
/// (retried on a conflict): `rules` refuses it on each fresh read, `open` makes any other
/// change the message brings (a template opens chat support); the desk has then answered.
pub(crate) async fn store_admin_message(
    ctx: &impl Ports,
    phone: &Phone,
    message: &Message,
    now: Millis,
    rules: impl Fn(&Conversation) -> Result<(), AppError> + Sync,
    open: impl Fn(&mut Conversation) + Sync,
) -> Result<(), AppError> {
    let (rules, open) = (&rules, &open);
    retry_on_conflict(move || async move {
        let current = conversation_or_404(ctx, phone).await?;
        rules(&current)?;
        let mut next = current.clone();
        open(&mut next);
        answered_by_desk(&mut next, now, message.text.as_deref().unwrap_or_default());
        match ctx
            .store()
            .commit(&next, None, std::slice::from_ref(message), now)
            .await
        {
            Ok(_) => Ok(Attempt::Done(())),
            Err(CommitError::Conflict) => Ok(Attempt::Conflict),
            Err(CommitError::AlreadyProcessed) => unreachable!("no inbound message is marked here"),
            Err(CommitError::Store(e)) => Err(AppError::from(e)),
        }
    })
    .await
}
