//! Who holds a chat, and the notes admins leave each other in it (DESIGN §15).

use crate::conflict::{retry_on_conflict, Attempt};
use crate::context::Ports;
use crate::conversations::{conversation_or_404, desk_commit};
use crate::desk::validate_text;
use crate::error::{AppError, ErrorCode};
use crate::ports::{AdminStore, ConversationStore, RelatedWrite};
use edubot_domain::model::{valid_username, Conversation, Message};
use edubot_domain::phone::Phone;
use edubot_domain::team::{AuditAction, AuditEntry};
use edubot_domain::time::Millis;

/// An assignment asked for: to whom (None: nobody), and, when the page says what it
/// believed, who must hold the chat for it to happen (`Some(None)`: nobody).
#[derive(Debug, Clone, Copy)]
pub struct Assignment<'a> {
    pub to: Option<&'a str>,
    pub expected: Option<Option<&'a str>>,
}

/// Gives the chat to an admin, or to nobody. 404 for an unknown chat, 409
/// `not_in_chat_support` outside chat support, 400 for an unknown or disabled admin, and
/// 409 `assigned_to_other` (with the conversation) when someone else took it since the
/// page looked — of two admins assigning at once, the second learns who won.
pub async fn assign(
    ctx: &impl Ports,
    acting: &str,
    phone: &Phone,
    assignment: Assignment<'_>,
    now: Millis,
) -> Result<Conversation, AppError> {
    if let Some(to) = assignment.to {
        let enabled = valid_username(to)
            && ctx
                .store()
                .admin_access(to)
                .await?
                .is_some_and(|a| !a.disabled);
        if !enabled {
            return Err(AppError::invalid("`admin` names no enabled admin."));
        }
    }
    let detail = match assignment.to {
        Some(to) => format!("to {to}"),
        None => "to nobody".to_owned(),
    };
    retry_on_conflict(|| async {
        let current = conversation_or_404(ctx, phone).await?;
        if !current.is_chat_support() {
            return Err(AppError::new(
                ErrorCode::NotInChatSupport,
                "Only a chat in chat support can be assigned.",
            ));
        }
        if let Some(expected) = assignment.expected {
            if current.assigned_to.as_deref() != expected {
                return Err(AppError::assigned_to_other(&current));
            }
        }
        let mut next = current.clone();
        next.assigned_to = assignment.to.map(str::to_owned);
        let audit = AuditEntry::new(acting, AuditAction::Assign, Some(phone), now)
            .with_detail(detail.clone());
        let committed = ctx
            .store()
            .commit_with(&next, None, &[], &[RelatedWrite::Audit(audit)], now)
            .await;
        Ok(match desk_commit(committed)? {
            Attempt::Done(version) => {
                next.version = version;
                tracing::info!(phone = %phone.masked(), admin = %acting, to = ?assignment.to, "chat assigned");
                Attempt::Done(next)
            }
            Attempt::Conflict => Attempt::Conflict,
        })
    })
    .await
}

/// An internal note in the chat's history: for the desk only, never sent to WhatsApp, and
/// not an answer (the wait, the unread count and the holder stay as they were). Any admin
/// may leave one in any chat.
pub async fn add_note(
    ctx: &impl Ports,
    admin: &str,
    phone: &Phone,
    text: &str,
    now: Millis,
) -> Result<Message, AppError> {
    let text = validate_text(text)?;
    let note = Message::note(phone.clone(), admin, text.to_owned(), now);
    let note = &note;
    retry_on_conflict(|| async move {
        let current = conversation_or_404(ctx, phone).await?;
        let audit = AuditEntry::new(admin, AuditAction::Note, Some(phone), now)
            .with_detail(format!("message {}", note.id));
        let committed = ctx
            .store()
            .commit_with(
                &current,
                None,
                std::slice::from_ref(note),
                &[RelatedWrite::Audit(audit)],
                now,
            )
            .await;
        desk_commit(committed).map(|a| a.map(|_| ()))
    })
    .await?;
    tracing::info!(phone = %phone.masked(), admin = %admin, message_id = %note.id, "note added");
    Ok(note.clone())
}
