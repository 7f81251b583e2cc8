//! What every admin send shares, whatever it sends (a reply, a file, a template, a retry):
//! the per-admin rate limit, the opt-out refusal, and the outcome the API answers.

use crate::conflict::retry_on_conflict;
use crate::context::Ports;
use crate::conversations::{conversation_or_404, desk_commit};
use crate::delivery::Delivery;
use crate::error::{AppError, ErrorCode};
use crate::ports::{AdminStore, ConversationStore, RelatedWrite};
use edubot_domain::desk::{answered_by_desk, held_by_other, take_if_unassigned};
use edubot_domain::model::{Conversation, ConversationState, Message};
use edubot_domain::phone::Phone;
use edubot_domain::team::{AuditAction, AuditEntry};
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

/// 409 `assigned_to_other` when a colleague holds the chat.
pub(crate) fn refuse_held_by_other(c: &Conversation, admin: &str) -> Result<(), AppError> {
    if held_by_other(c, admin) {
        return Err(AppError::assigned_to_other(c));
    }
    Ok(())
}

/// The audit entry of an admin's message: what was sent, never its text.
pub(crate) fn send_audit(message: &Message, now: Millis) -> AuditEntry {
    let action = if message.kind == "template" {
        AuditAction::Template
    } else {
        AuditAction::Send
    };
    let admin = message.admin.as_deref().unwrap_or_default();
    AuditEntry::new(admin, action, Some(&message.phone), now)
        .with_detail(format!("message {} ({})", message.id, message.kind))
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

/// Stores an admin's message with the conversation it answers and its audit entry, in one
/// conditional commit (retried on a conflict): `rules` refuses it on each fresh read,
/// `open` makes any other change the message brings (a template opens chat support); the
/// desk has then answered, and a chat nobody held is the sender's — so of two admins
/// answering an unassigned chat at once, one commits and the other's fresh read finds it
/// held.
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
        let admin = message.admin.as_deref().unwrap_or_default();
        answered_by_desk(
            &mut next,
            admin,
            now,
            message.text.as_deref().unwrap_or_default(),
        );
        take_if_unassigned(&mut next, admin);
        let committed = ctx
            .store()
            .commit_with(
                &next,
                None,
                std::slice::from_ref(message),
                &[RelatedWrite::Audit(send_audit(message, now))],
                now,
            )
            .await;
        desk_commit(committed).map(|a| a.map(|_| ()))
    })
    .await
}
