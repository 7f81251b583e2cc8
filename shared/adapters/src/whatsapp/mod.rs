//! The WhatsApp Cloud API: how our message bodies become Graph requests ([`graph_request`],
//! sent by [`client`]), what Meta posts to the webhook ([`payload`]) and how those posts are
//! authenticated ([`signature`]).

pub mod client;
pub mod payload;
pub mod signature;
pub mod templates;

pub use client::WhatsAppClient;
use edubot_domain::media::AttachmentKind;
pub use edubot_domain::whatsapp::{Choice, OutboundBody, MAX_TEXT_CHARS};

/// The Graph API request body for sending `body` to `to`; a file goes by `media_link` (a
/// short-lived URL of the media bucket Meta downloads it from); `reply_to_wamid` quotes the
/// message it answers.
pub fn graph_request(
    body: &OutboundBody,
    to: &str,
    callback: &str,
    media_link: Option<&str>,
    reply_to_wamid: Option<&str>,
) -> serde_json::Value {
    let mut request = serde_json::json!({
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "biz_opaque_callback_data": callback,
    });
    if let Some(wamid) = reply_to_wamid {
        request["context"] = serde_json::json!({ "message_id": wamid });
    }
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
        OutboundBody::Template {
            name,
            language,
            parameters,
            payloads,
            ..
        } => {
            let mut components = Vec::new();
            if !parameters.is_empty() {
                let parameters: Vec<_> = parameters
                    .iter()
                    .map(|p| serde_json::json!({ "type": "text", "text": p }))
                    .collect();
                components.push(serde_json::json!({ "type": "body", "parameters": parameters }));
            }
            for (index, payload) in payloads.iter().enumerate() {
                if let Some(payload) = payload {
                    components.push(serde_json::json!({
                        "type": "button", "sub_type": "quick_reply", "index": index.to_string(),
                        "parameters": [{ "type": "payload", "payload": payload }],
                    }));
                }
            }
            let mut template =
                serde_json::json!({ "name": name, "language": { "code": language } });
            if !components.is_empty() {
                template["components"] = components.into();
            }
            request["type"] = "template".into();
            request["template"] = template;
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_request_matches_the_design() {
        let req = graph_request(
            &OutboundBody::text("Hello"),
            "447700900123",
            "01J",
            None,
            None,
        );
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
    fn template_requests_match_the_design() {
        let body = OutboundBody::Template {
            name: "support_followup".into(),
            language: "en_US".into(),
            parameters: vec!["Ann".into(), "fees".into()],
            payloads: vec![],
            text: "Hi Ann, about fees.".into(),
        };
        let req = graph_request(&body, "447700900123", "01J", None, None);
        assert_eq!(req["type"], "template");
        assert_eq!(
            req["template"],
            serde_json::json!({"name": "support_followup", "language": {"code": "en_US"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Ann"}, {"type": "text", "text": "fees"}]}]})
        );
        let bare = OutboundBody::Template {
            name: "welcome_back".into(),
            language: "en_US".into(),
            parameters: vec![],
            payloads: vec![None, Some("rating_2".into())],
            text: "Hello".into(),
        };
        let req = graph_request(&bare, "1", "x", None, Some("wamid.Q"));
        assert_eq!(
            req["template"]["components"],
            serde_json::json!([{"type": "button", "sub_type": "quick_reply", "index": "1",
                "parameters": [{"type": "payload", "payload": "rating_2"}]}])
        );
        assert_eq!(req["context"], serde_json::json!({"message_id": "wamid.Q"}));
        let plain = OutboundBody::Template {
            name: "welcome_back".into(),
            language: "en_US".into(),
            parameters: vec![],
            payloads: vec![None],
            text: "Hello".into(),
        };
        let plain = graph_request(&plain, "1", "x", None, None);
        assert!(
            plain["template"].get("components").is_none(),
            "no parameters: no components"
        );
        assert!(plain.get("context").is_none());
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
        let req = graph_request(&body, "1", "x", None, None);
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
        let req = graph_request(&list, "1", "x", None, None);
        assert_eq!(
            req["interactive"]["action"]["sections"][0]["rows"][0]["description"],
            "d"
        );
    }
}
