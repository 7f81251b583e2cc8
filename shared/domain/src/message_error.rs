//! Why a message (or its file) failed: one type for every failure the history shows.

use serde::{Deserialize, Serialize};

/// Why a message failed: Meta's error code and title, or one of ours (`window_closed`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageError {
    pub code: String,
    pub title: String,
}

impl MessageError {
    pub fn window_closed() -> Self {
        MessageError {
            code: "window_closed".into(),
            title: "The 24-hour window since the user's last message is closed".into(),
        }
    }
}
