//! The bot's texts and menus, kept as data in `shared/content/bot.toml` and compiled in,
//! so a cold start reads no file. A test checks them against WhatsApp's limits.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::whatsapp::{Choice, OutboundBody};

#[derive(Debug, Deserialize)]
pub struct Content {
    pub welcome: String,
    pub help: String,
    pub coming_soon: String,
    pub support_ack: String,
    pub support_ended_by_user: String,
    pub support_ended_by_admin: String,
    pub rating_question: String,
    pub rating_thanks: String,
    pub opted_out: String,
    pub support_end_button: Choice,
    pub menu: ListContent,
    pub rating: ListContent,
}

#[derive(Debug, Deserialize)]
pub struct ListContent {
    pub body: String,
    pub button: String,
    pub rows: Vec<Choice>,
}

impl ListContent {
    pub fn message(&self) -> OutboundBody {
        OutboundBody::List {
            body: self.body.clone(),
            button: self.button.clone(),
            rows: self.rows.clone(),
        }
    }
}

static CONTENT: LazyLock<Content> = LazyLock::new(|| {
    toml::from_str(include_str!("../content/bot.toml"))
        .expect("shared/content/bot.toml is valid (checked by tests)")
});

pub fn content() -> &'static Content {
    &CONTENT
}

impl Content {
    pub fn main_menu(&self) -> OutboundBody {
        self.menu.message()
    }

    pub fn support_ack(&self) -> OutboundBody {
        OutboundBody::Buttons {
            body: self.support_ack.clone(),
            buttons: vec![self.support_end_button.clone()],
        }
    }

    pub fn rating_question(&self) -> OutboundBody {
        self.rating.message()
    }
}

/// WhatsApp's limits on interactive messages, in Unicode code points.
pub mod limits {
    pub const BODY: usize = 1024;
    pub const BUTTONS: usize = 3;
    pub const BUTTON_TITLE: usize = 20;
    pub const LIST_ROWS: usize = 10;
    pub const ROW_TITLE: usize = 24;
    pub const ROW_DESCRIPTION: usize = 72;
    pub const LIST_BUTTON: usize = 20;
    pub const ID: usize = 200;
}

/// Every reason WhatsApp would refuse `body`; empty when it is fine.
pub fn whatsapp_violations(body: &OutboundBody) -> Vec<String> {
    let len = |s: &str| s.chars().count();
    let mut problems = Vec::new();
    let mut check = |ok: bool, what: String| {
        if !ok {
            problems.push(what)
        }
    };
    match body {
        OutboundBody::Text { body } => check(
            (1..=crate::whatsapp::MAX_TEXT_CHARS).contains(&len(body)),
            format!("text of {} characters", len(body)),
        ),
        OutboundBody::Buttons { body, buttons } => {
            check(
                (1..=limits::BODY).contains(&len(body)),
                format!("body of {} characters", len(body)),
            );
            check(
                (1..=limits::BUTTONS).contains(&buttons.len()),
                format!("{} buttons", buttons.len()),
            );
            for b in buttons {
                check(
                    len(&b.title) <= limits::BUTTON_TITLE,
                    format!("button title {:?} too long", b.title),
                );
            }
        }
        OutboundBody::List { body, button, rows } => {
            check(
                (1..=limits::BODY).contains(&len(body)),
                format!("body of {} characters", len(body)),
            );
            check(
                (1..=limits::LIST_BUTTON).contains(&len(button)),
                format!("list button {button:?}"),
            );
            check(
                (1..=limits::LIST_ROWS).contains(&rows.len()),
                format!("{} list rows", rows.len()),
            );
            for r in rows {
                check(
                    len(&r.title) <= limits::ROW_TITLE,
                    format!("row title {:?} too long", r.title),
                );
                let desc = r.description.as_deref().unwrap_or("");
                check(
                    len(desc) <= limits::ROW_DESCRIPTION,
                    format!("row description {desc:?} too long"),
                );
            }
        }
    }
    let ids: Vec<&str> = match body {
        OutboundBody::Text { .. } => vec![],
        OutboundBody::Buttons { buttons: c, .. } | OutboundBody::List { rows: c, .. } => {
            c.iter().map(|c| c.id.as_str()).collect()
        }
    };
    for (i, id) in ids.iter().enumerate() {
        check(
            !id.is_empty() && id.len() <= limits::ID,
            format!("id {id:?} empty or too long"),
        );
        check(!ids[..i].contains(id), format!("id {id:?} used twice"));
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_message_fits_whatsapp_limits() {
        let c = content();
        let texts = [
            &c.welcome,
            &c.help,
            &c.coming_soon,
            &c.support_ended_by_user,
            &c.support_ended_by_admin,
            &c.rating_thanks,
            &c.opted_out,
        ];
        let mut all: Vec<OutboundBody> = texts
            .iter()
            .map(|t| OutboundBody::text(t.as_str()))
            .collect();
        all.extend([c.main_menu(), c.support_ack(), c.rating_question()]);
        for body in &all {
            assert_eq!(whatsapp_violations(body), Vec::<String>::new(), "{body:?}");
        }
    }

    #[test]
    fn the_menu_has_six_rows_with_chat_support() {
        let ids: Vec<&str> = content().menu.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "courses",
                "admissions",
                "fees",
                "timetable",
                "activate",
                "chat_support"
            ]
        );
        assert_eq!(content().support_end_button.id, "end_chat");
    }

    #[test]
    fn the_checker_catches_violations() {
        let row = |id: &str, title: &str| Choice {
            id: id.into(),
            title: title.into(),
            description: None,
        };
        let bad = OutboundBody::List {
            body: "x".into(),
            button: "b".into(),
            rows: vec![
                row("a", "A title that is far too long for WhatsApp"),
                row("a", "B"),
            ],
        };
        let problems = whatsapp_violations(&bad);
        assert_eq!(problems.len(), 2, "{problems:?}");
        let four_buttons = OutboundBody::Buttons {
            body: "x".into(),
            buttons: (0..4).map(|i| row(&i.to_string(), "t")).collect(),
        };
        assert_eq!(whatsapp_violations(&four_buttons).len(), 1);
    }
}
