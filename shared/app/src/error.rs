//! The one application error: what a use case refuses or fails with, as the admin API's
//! public error codes and a message for a person. The Lambda HTTP adapter turns it into a
//! status and `{"error":{"code","message"}}`; nothing else builds error responses.

use edubot_domain::model::{Conversation, Message};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    NotInChatSupport,
    WindowClosed,
    OptedOut,
    AssignedToOther,
    Conflict,
    TooLarge,
    RateLimited,
    WhatsappError,
    Internal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AppError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, sent as `Retry-After` with 429.
    pub retry_after: Option<u64>,
    /// A send WhatsApp refused: the failed message, shown beside the error.
    pub failed_message: Option<Box<Message>>,
    /// A chat someone else holds: the conversation, so the page can say who.
    pub conversation: Option<Box<Conversation>>,
}

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError {
            code,
            message: message.into(),
            retry_after: None,
            failed_message: None,
            conversation: None,
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidRequest, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            ErrorCode::Unauthorized,
            "Sign in again: the token is missing, invalid or expired.",
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }
    pub fn rate_limited(retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                ErrorCode::RateLimited,
                "Too many attempts. Wait a moment and try again.",
            )
        }
    }
    /// Internal failures never echo their cause to the client; it is logged instead.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "internal error");
        Self::new(
            ErrorCode::Internal,
            "Something went wrong on our side. Try again.",
        )
    }
    /// 403: a valid token whose role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Forbidden, message)
    }
    /// 409 `assigned_to_other`, with the conversation that says who holds it.
    pub fn assigned_to_other(conversation: &Conversation) -> Self {
        let holder = conversation.assigned_to.as_deref().unwrap_or("nobody");
        AppError {
            conversation: Some(Box::new(conversation.clone())),
            ..Self::new(
                ErrorCode::AssignedToOther,
                format!("{holder} is handling this chat. Take it over to answer."),
            )
        }
    }
    pub fn with_failed_message(mut self, message: Message) -> Self {
        self.failed_message = Some(Box::new(message));
        self
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for AppError {}

impl From<crate::ports::StoreError> for AppError {
    fn from(e: crate::ports::StoreError) -> Self {
        match e {
            crate::ports::StoreError::Contended(c) => c.into(),
            crate::ports::StoreError::InvalidCursor => {
                AppError::invalid("The cursor is not one this API returned.")
            }
            other => AppError::internal(other),
        }
    }
}

impl From<crate::conflict::Contended> for AppError {
    fn from(_: crate::conflict::Contended) -> Self {
        AppError::new(
            ErrorCode::Conflict,
            "The conversation changed while this was being saved; try again.",
        )
    }
}
