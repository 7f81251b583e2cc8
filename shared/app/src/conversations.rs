//! Reading a conversation an admin named: the one 404 every desk use case answers.

use crate::context::Ports;
use crate::error::AppError;
use crate::ports::ConversationStore;
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
