//! What WhatsApp accepts from us: the bodies of outbound messages and their limits. How a
//! body becomes a Graph API request is the Graph adapter's business.

use serde::{Deserialize, Serialize};

/// Text bodies may hold at most this many Unicode code points.
pub const MAX_TEXT_CHARS: usize = 4096;

/// One choice in a button or list message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// What one outbound WhatsApp message says. Stored on the message item as is, so a retry
/// sends exactly what was first meant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundBody {
    Text {
        body: String,
    },
    /// Up to 3 reply buttons.
    Buttons {
        body: String,
        buttons: Vec<Choice>,
    },
    /// A list of up to 10 rows behind one button.
    List {
        body: String,
        button: String,
        rows: Vec<Choice>,
    },
}

impl OutboundBody {
    pub fn text(body: impl Into<String>) -> Self {
        OutboundBody::Text { body: body.into() }
    }

    /// The WhatsApp message type this becomes.
    pub fn kind(&self) -> &'static str {
        match self {
            OutboundBody::Text { .. } => "text",
            OutboundBody::Buttons { .. } | OutboundBody::List { .. } => "interactive",
        }
    }

    /// How the message reads in the admin history: the body, then the choices offered.
    pub fn display_text(&self) -> String {
        match self {
            OutboundBody::Text { body } => body.clone(),
            OutboundBody::Buttons {
                body,
                buttons: choices,
            }
            | OutboundBody::List {
                body,
                rows: choices,
                ..
            } => {
                let titles: Vec<&str> = choices.iter().map(|c| c.title.as_str()).collect();
                format!("{body}\n[{}]", titles.join(" | "))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_as_text_and_round_trip_through_storage() {
        let body = OutboundBody::Buttons {
            body: "Ok".into(),
            buttons: vec![Choice {
                id: "end_chat".into(),
                title: "End chat".into(),
                description: None,
            }],
        };
        assert_eq!(body.display_text(), "Ok\n[End chat]");
        assert_eq!(body.kind(), "interactive");
        let stored = serde_json::to_string(&body).unwrap();
        assert_eq!(serde_json::from_str::<OutboundBody>(&stored).unwrap(), body);
    }
}
