//! The WhatsApp Cloud API: what we send ([`OutboundBody`], [`client`]), what Meta posts to
//! the webhook ([`payload`]) and how those posts are authenticated ([`signature`]).

pub mod client;
pub mod payload;
pub mod signature;

pub use client::{SendError, WhatsAppClient};

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

    /// The Graph API request body for sending this to `to`.
    pub fn to_graph_request(&self, to: &str, callback: &str) -> serde_json::Value {
        let mut request = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": to,
            "biz_opaque_callback_data": callback,
        });
        match self {
            OutboundBody::Text { body } => {
                request["type"] = "text".into();
                request["text"] = serde_json::json!({ "body": body, "preview_url": false });
            }
            OutboundBody::Buttons { body, buttons } => {
                let buttons: Vec<_> = buttons
                    .iter()
                    .map(|b| serde_json::json!({"type": "reply", "reply": {"id": b.id, "title": b.title}}))
                    .collect();
                request["type"] = "interactive".into();
                request["interactive"] = serde_json::json!({
                    "type": "button",
                    "body": { "text": body },
                    "action": { "buttons": buttons },
                });
            }
            OutboundBody::List { body, button, rows } => {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        let mut row = serde_json::json!({"id": r.id, "title": r.title});
                        if let Some(d) = &r.description {
                            row["description"] = d.clone().into();
                        }
                        row
                    })
                    .collect();
                request["type"] = "interactive".into();
                request["interactive"] = serde_json::json!({
                    "type": "list",
                    "body": { "text": body },
                    "action": { "button": button, "sections": [{ "title": "Options", "rows": rows }] },
                });
            }
        }
        request
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_request_matches_the_design() {
        let req = OutboundBody::text("Hello").to_graph_request("447700900123", "01J");
        assert_eq!(
            req,
            serde_json::json!({
                "messaging_product": "whatsapp", "recipient_type": "individual", "to": "447700900123",
                "type": "text", "text": {"body": "Hello", "preview_url": false},
                "biz_opaque_callback_data": "01J"
            })
        );
    }

    #[test]
    fn interactive_requests_carry_ids_and_titles() {
        let body = OutboundBody::Buttons {
            body: "Ok".into(),
            buttons: vec![Choice {
                id: "end_chat".into(),
                title: "End chat".into(),
                description: None,
            }],
        };
        let req = body.to_graph_request("1", "x");
        assert_eq!(
            req["interactive"]["action"]["buttons"][0]["reply"]["id"],
            "end_chat"
        );
        assert_eq!(body.display_text(), "Ok\n[End chat]");
        let list = OutboundBody::List {
            body: "Menu".into(),
            button: "Choose".into(),
            rows: vec![Choice {
                id: "a".into(),
                title: "A".into(),
                description: Some("d".into()),
            }],
        };
        let req = list.to_graph_request("1", "x");
        assert_eq!(
            req["interactive"]["action"]["sections"][0]["rows"][0]["description"],
            "d"
        );
        // Round-trips through storage unchanged.
        let stored = serde_json::to_string(&list).unwrap();
        assert_eq!(serde_json::from_str::<OutboundBody>(&stored).unwrap(), list);
    }
}
