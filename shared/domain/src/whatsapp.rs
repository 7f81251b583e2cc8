//! What WhatsApp accepts from us: the bodies of outbound messages and their limits. How a
//! body becomes a Graph API request is the Graph adapter's business.

use crate::media::AttachmentKind;

/// Text bodies may hold at most this many Unicode code points.
pub const MAX_TEXT_CHARS: usize = 4096;

/// One choice in a button or list message (read from the bot's content files too).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct Choice {
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// What one outbound WhatsApp message says. Stored with the message, so a retry sends
/// exactly what was first meant.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A file from the media bucket (an admin's attachment), sent by a link made at send
    /// time (links expire; the key does not).
    Media {
        kind: AttachmentKind,
        object_key: String,
        /// Shown on documents.
        filename: Option<String>,
        /// Not on audio.
        caption: Option<String>,
    },
    /// An approved template (allowed outside the 24-hour window), its body's parameters
    /// filled in.
    Template {
        name: String,
        /// Meta's language code, e.g. `en_US`.
        language: String,
        parameters: Vec<String>,
        /// The payload each quick-reply button answers with, by button index (None leaves
        /// Meta's default, the button's label).
        payloads: Vec<Option<String>>,
        /// The filled-in body, as the user reads it.
        text: String,
    },
}

impl OutboundBody {
    pub fn text(body: impl Into<String>) -> Self {
        OutboundBody::Text { body: body.into() }
    }

    /// Whether WhatsApp takes it only inside the 24-hour window: everything but a template.
    pub fn needs_open_window(&self) -> bool {
        !matches!(self, OutboundBody::Template { .. })
    }

    /// The WhatsApp message type this becomes.
    pub fn kind(&self) -> &'static str {
        match self {
            OutboundBody::Text { .. } => "text",
            OutboundBody::Buttons { .. } | OutboundBody::List { .. } => "interactive",
            OutboundBody::Media { kind, .. } => kind.as_str(),
            OutboundBody::Template { .. } => "template",
        }
    }

    /// How the message reads in the admin history: the body, then the choices offered.
    pub fn display_text(&self) -> String {
        match self {
            OutboundBody::Text { body } | OutboundBody::Template { text: body, .. } => body.clone(),
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
            // As an inbound file reads: the kind, then the caption or the document's name.
            OutboundBody::Media {
                kind,
                filename,
                caption,
                ..
            } => match caption.as_ref().or(filename.as_ref()) {
                Some(words) => format!("[{}] {words}", kind.as_str()),
                None => format!("[{}]", kind.as_str()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_read_as_their_text_then_the_choices_offered() {
        let choice = |id: &str, title: &str| Choice {
            id: id.into(),
            title: title.into(),
            description: None,
        };
        let list = OutboundBody::List {
            body: "Menu".into(),
            button: "Choose".into(),
            rows: vec![choice("courses", "Courses"), choice("fees", "Fees")],
        };
        assert_eq!(list.display_text(), "Menu\n[Courses | Fees]");
        assert_eq!(list.kind(), "interactive");
        let text = OutboundBody::text("Hello");
        assert_eq!(text.display_text(), "Hello");
        assert_eq!(text.kind(), "text");
    }
}
