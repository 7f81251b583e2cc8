//! The one error type of the admin API and its wire form
//! `{"error":{"code":"<snake_case>","message":"<text for a person>"}}` (DESIGN §7).
//! [`crate::http`] maps it to a response; nothing else builds error JSON.

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
    Conflict,
    TooLarge,
    RateLimited,
    WhatsappError,
    Internal,
}

impl ErrorCode {
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::InvalidRequest => 400,
            ErrorCode::Unauthorized => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::NotInChatSupport
            | ErrorCode::WindowClosed
            | ErrorCode::OptedOut
            | ErrorCode::Conflict => 409,
            ErrorCode::TooLarge => 413,
            ErrorCode::RateLimited => 429,
            ErrorCode::WhatsappError => 502,
            ErrorCode::Internal => 500,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    /// Seconds, sent as `Retry-After` with 429.
    pub retry_after: Option<u64>,
    /// Extra top-level fields beside `error`, e.g. the failed `message` of a send (§7).
    pub extra: Option<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            retry_after: None,
            extra: None,
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
        ApiError {
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
    pub fn with_extra(mut self, key: &'static str, value: serde_json::Value) -> Self {
        self.extra = Some((key, value));
        self
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({
            "error": { "code": self.code, "message": self.message }
        });
        if let Some((key, value)) = &self.extra {
            body[*key] = value.clone();
        }
        body
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Contended(c) => c.into(),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::conflict::Contended> for ApiError {
    fn from(_: crate::conflict::Contended) -> Self {
        ApiError::new(
            ErrorCode::Conflict,
            "The conversation changed while this was being saved; try again.",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_form_is_snake_case_with_message() {
        let e = ApiError::new(ErrorCode::NotInChatSupport, "Not in chat support.");
        assert_eq!(e.code.status(), 409);
        assert_eq!(
            e.body(),
            serde_json::json!({"error":{"code":"not_in_chat_support","message":"Not in chat support."}})
        );
        let e = ApiError::new(ErrorCode::WhatsappError, "x")
            .with_extra("message", serde_json::json!({"id":"1"}));
        assert_eq!(e.body()["message"]["id"], "1");
        assert_eq!(ApiError::rate_limited(0).retry_after, Some(1));
    }
}
