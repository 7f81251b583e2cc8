//! The WhatsApp Cloud API: how our message bodies become Graph requests ([`graph_request`],
//! sent by [`client`]), what Meta posts to the webhook ([`payload`]) and how those posts are
//! authenticated ([`signature`]).

pub mod client;
pub mod payload;
pub mod signature;

pub use client::WhatsAppClient;
use edubot_domain::media::AttachmentKind;
pub use edubot_domain::whatsapp::{Choice, OutboundBody, MAX_TEXT_CHARS};

/// The Graph API request body for sending `body` to `to`; a file goes by `media_link` (a
/// short-lived URL of the media bucket Meta downloads it from).
pub fn graph_request(
    body: &OutboundBody,
    to: &str,
    callback: &str,
    media_link: Option<&str>,
) -> serde_json::Value {
    let mut request = serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "biz_opaque_callback_data": callback,
    });
    match body {
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
        OutboundBody::Media {
            kind,
            filename,
            caption,
            ..
        } => {
            let mut file = serde_json::json!({ "link": media_link.unwrap_or_default() });
            if let (AttachmentKind::Document, Some(name)) = (kind, filename) {
                file["filename"] = name.clone().into();
            }
            if let (false, Some(caption)) = (*kind == AttachmentKind::Audio, caption) {
                file["caption"] = caption.clone().into();
            }
            request["type"] = kind.as_str().into();
            request[kind.as_str()] = file;
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_request_matches_the_design() {
        let req = graph_request(&OutboundBody::text("Hello"), "447700900123", "01J", None);
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
        let req = graph_request(&body, "1", "x", None);
        assert_eq!(
            req["interactive"]["action"]["buttons"][0]["reply"]["id"],
            "end_chat"
        );
        let list = OutboundBody::List {
            body: "Menu".into(),
            button: "Choose".into(),
            rows: vec![Choice {
                id: "a".into(),
                title: "A".into(),
                description: Some("d".into()),
            }],
        };
        let req = graph_request(&list, "1", "x", None);
        assert_eq!(
            req["interactive"]["action"]["sections"][0]["rows"][0]["description"],
            "d"
        );
    }
}
