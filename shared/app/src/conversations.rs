//! A conversation an admin acts on: reading it (the one 404 every desk use case answers)
//! and what an admin's commit of it came to.

use crate::conflict::Attempt;
use crate::context::Ports;
use crate::error::AppError;
use crate::ports::{CommitError, ConversationStore};
use edubot_domain::model::Conversation;
use edubot_domain::phone::Phone;

/// The conversation with `phone`, or 404 `not_found`.
pub async fn conversation_or_404(
    ctx: &impl Ports,
    phone: &Phone,
) -> Result<Conversation, AppError> {
    ctx.store()
        .get_conversation(phone)
        .await?
        .ok_or_else(|| AppError::not_found("No conversation with this phone number."))
}

/// An admin's commit of a conversation as an attempt of [`crate::conflict::retry_on_conflict`]:
/// the new version, or a lost race to decide again. (No inbound message is marked by an
/// admin's commit, so it is never "already processed".)
pub(crate) fn desk_commit(result: Result<u64, CommitError>) -> Result<Attempt<u64>, AppError> {
    match result {
        Ok(version) => Ok(Attempt::Done(version)),
        Err(CommitError::Conflict) => Ok(Attempt::Conflict),
        Err(CommitError::AlreadyProcessed) => unreachable!("no inbound message is marked here"),
        Err(CommitError::Store(e)) => Err(AppError::from(e)),
    }
}
