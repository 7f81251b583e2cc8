//! What the user sees of the desk before an answer: blue ticks when an admin reads their
//! message, and "typing…" while one writes (docs/templates.md). Both point WhatsApp at the
//! conversation's newest inbound message; once per message and once per 20 s are
//! conditional writes in the table, never one function instance's memory.

use crate::context::Ports;
use crate::conversations::conversation_or_404;
use crate::error::AppError;
use crate::ports::{AdminStore, ConversationStore, Messenger, OutboxStore};
use edubot_domain::model::{Conversation, ConversationState, InboundRef};
use edubot_domain::phone::Phone;
use edubot_domain::time::{Millis, SECOND};

/// The typing indicator is shown at most this often per conversation (it lasts up to 25 s).
pub const TYPING_EVERY: Millis = 20 * SECOND;

/// The message read receipts and typing point at, unless nothing may reach the user.
fn newest_inbound(c: &Conversation) -> Option<&InboundRef> {
    (c.state != ConversationState::OptedOut)
        .then_some(c.last_inbound.as_ref())
        .flatten()
}

/// Sends the read receipt for `newest` once: taken first (a conditional write), given
/// back if WhatsApp did not take it, so the next call tries again.
async fn read_receipt_once(
    ctx: &impl Ports,
    phone: &Phone,
    newest: &InboundRef,
    now: Millis,
    typing: bool,
) -> Result<bool, AppError> {
    let store = ctx.store();
    let first = store.claim_read_mark(phone, &newest.id, now).await?;
    if !first && !typing {
        return Ok(false);
    }
    match ctx.messenger().mark_read(&newest.wamid, typing).await {
        Ok(()) => Ok(true),
        Err(e) => {
            tracing::warn!(phone = %phone.masked(), code = %e.error().code, typing, "read receipt not taken by WhatsApp");
            if first {
                if let Err(e) = store.release_read_mark(phone, &newest.id).await {
                    tracing::warn!(phone = %phone.masked(), error = %e, "read mark not given back");
                }
            }
            Ok(false)
        }
    }
}

/// An admin read the conversation: its unread count goes to 0 and the user's newest
/// message is marked read on WhatsApp, once per message. A receipt WhatsApp refuses does
/// not fail the call (it is tried again on the next one).
pub async fn mark_read(
    ctx: &impl Ports,
    phone: &Phone,
    now: Millis,
) -> Result<Conversation, AppError> {
    let current = conversation_or_404(ctx, phone).await?;
    if let Some(newest) = newest_inbound(&current) {
        read_receipt_once(ctx, phone, newest, now, false).await?;
    }
    if current.unread_count == 0 {
        return Ok(current);
    }
    // One update, not a read-decide-commit: under a burst of the user's messages a commit
    // on the read version lost every race (409 to the page).
    ctx.store()
        .mark_all_read(phone)
        .await?
        .ok_or_else(|| AppError::not_found("No conversation with this phone number."))
}

/// An admin is typing: the user sees "typing…", at most once per [`TYPING_EVERY`] per
/// conversation, and only while a message could reach them (the window open, not opted
/// out). WhatsApp's typing call also marks the message read, so it counts as its receipt.
/// Answers whether the indicator was sent.
pub async fn show_typing(ctx: &impl Ports, phone: &Phone, now: Millis) -> Result<bool, AppError> {
    let current = conversation_or_404(ctx, phone).await?;
    let Some(newest) = newest_inbound(&current).filter(|_| current.window_open(now)) else {
        return Ok(false);
    };
    if !ctx
        .store()
        .throttle("typing", phone.as_str(), now, TYPING_EVERY)
        .await?
    {
        return Ok(false);
    }
    read_receipt_once(ctx, phone, newest, now, true).await
}
