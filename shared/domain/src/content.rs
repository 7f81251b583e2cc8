//! The bot's texts, menus and catalogue, kept as data in `shared/content/` (`bot.toml`,
//! `catalogue.toml`) and compiled in, so a cold start reads no file. Tests check them
//! against WhatsApp's limits, check the ids the bot relies on, and check the templates.

use std::sync::LazyLock;

use serde::Deserialize;

use crate::whatsapp::{Choice, OutboundBody};

#[derive(Debug, Deserialize)]
pub struct Content {
    pub welcome: String,
    pub help: String,
    pub support_ack: String,
    pub support_ended_by_user: String,
    pub support_ended_by_admin: String,
    pub rating_question: String,
    pub rating_thanks: String,
    pub opted_out: String,
    /// Sent by the scheduled checks.
    pub support_queue_timeout: String,
    pub support_closed_idle: String,
    pub support_end_button: Choice,
    pub menu: ListContent,
    pub rating: ListContent,
    pub buttons: Buttons,
    pub courses: CoursesContent,
    pub admission: AdmissionContent,
    pub activation: ActivationContent,
    /// From `catalogue.toml`.
    #[serde(skip)]
    pub catalogue: Catalogue,
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

#[derive(Debug, Deserialize)]
pub struct Buttons {
    pub menu: Choice,
    pub chat_support: Choice,
    pub back_to_courses: Choice,
    /// Its id is a prefix: the course's id follows.
    pub apply: Choice,
    pub confirm_enquiry: Choice,
    pub cancel_enquiry: Choice,
}

#[derive(Debug, Deserialize)]
pub struct CoursesContent {
    pub body: String,
    pub button: String,
    pub row_description: String,
    pub detail: String,
}

#[derive(Debug, Deserialize)]
pub struct AdmissionContent {
    pub ask_name: String,
    pub ask_name_for_course: String,
    pub name_invalid: String,
    pub ask_email: String,
    pub email_invalid: String,
    pub summary: String,
    pub no_course: String,
    pub confirmed: String,
    pub cancelled: String,
}

#[derive(Debug, Deserialize)]
pub struct ActivationContent {
    pub ask_code: String,
    pub wrong_code: String,
    pub stale_code: String,
    pub locked: String,
    pub linked: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Catalogue {
    pub courses: Vec<Course>,
    pub fees: Page,
    pub timetable: Page,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Course {
    pub id: String,
    pub title: String,
    pub duration: String,
    pub fees: String,
    pub start_date: String,
    pub description: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct Page {
    pub body: String,
}

const BOT_TOML: &str = include_str!("../../content/bot.toml");
const CATALOGUE_TOML: &str = include_str!("../../content/catalogue.toml");

fn parse(bot: &str, catalogue: &str) -> Result<Content, toml::de::Error> {
    let mut content: Content = toml::from_str(bot)?;
    content.catalogue = toml::from_str(catalogue)?;
    Ok(content)
}

static CONTENT: LazyLock<Content> = LazyLock::new(|| {
    parse(BOT_TOML, CATALOGUE_TOML).expect("shared/content/*.toml are valid (checked by tests)")
});

pub fn content() -> &'static Content {
    &CONTENT
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values
        .iter()
        .fold(template.to_owned(), |text, (name, value)| {
            text.replace(&format!("{{{name}}}"), value)
        })
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

    pub fn course(&self, id: &str) -> Option<&Course> {
        self.catalogue.courses.iter().find(|c| c.id == id)
    }

    /// The catalogue as a list, in catalogue order, then a Menu row.
    pub fn course_list(&self) -> OutboundBody {
        let mut rows: Vec<Choice> = self
            .catalogue
            .courses
            .iter()
            .map(|c| Choice {
                id: c.id.clone(),
                title: c.title.clone(),
                description: Some(fill(
                    &self.courses.row_description,
                    &[
                        ("duration", &c.duration),
                        ("fees", &c.fees),
                        ("start_date", &c.start_date),
                    ],
                )),
            })
            .collect();
        rows.push(self.buttons.menu.clone());
        OutboundBody::List {
            body: self.courses.body.clone(),
            button: self.courses.button.clone(),
            rows,
        }
    }

    /// One course's details with Apply, Back and Menu.
    pub fn course_detail(&self, course: &Course) -> OutboundBody {
        let body = fill(
            &self.courses.detail,
            &[
                ("title", &course.title),
                ("description", &course.description),
                ("duration", &course.duration),
                ("fees", &course.fees),
                ("start_date", &course.start_date),
            ],
        );
        OutboundBody::Buttons {
            body,
            buttons: vec![
                Choice {
                    id: format!("{}{}", self.buttons.apply.id, course.id),
                    ..self.buttons.apply.clone()
                },
                self.buttons.back_to_courses.clone(),
                self.buttons.menu.clone(),
            ],
        }
    }

    /// The course an Apply button id names, if it is one.
    pub fn applied_course(&self, id: &str) -> Option<&Course> {
        self.course(id.strip_prefix(self.buttons.apply.id.as_str())?)
    }

    /// An information page (fees, timetable) with its ways on: the menu and Chat Support.
    pub fn info_page(&self, page: &Page) -> OutboundBody {
        OutboundBody::Buttons {
            body: page.body.clone(),
            buttons: vec![self.buttons.menu.clone(), self.buttons.chat_support.clone()],
        }
    }

    /// A prompt the user answers by typing, with a way back to the menu.
    pub fn prompt(&self, body: String) -> OutboundBody {
        OutboundBody::Buttons {
            body,
            buttons: vec![self.buttons.menu.clone()],
        }
    }

    /// The activation lock-out notice with the remaining time, and the ways on.
    pub fn activation_locked(&self, remaining: &str) -> OutboundBody {
        OutboundBody::Buttons {
            body: fill(&self.activation.locked, &[("remaining", remaining)]),
            buttons: vec![self.buttons.menu.clone(), self.buttons.chat_support.clone()],
        }
    }

    pub fn enquiry_summary(&self, course: Option<&str>, name: &str, email: &str) -> OutboundBody {
        OutboundBody::Buttons {
            body: fill(
                &self.admission.summary,
                &[
                    ("course", course.unwrap_or(&self.admission.no_course)),
                    ("name", name),
                    ("email", email),
                ],
            ),
            buttons: vec![
                self.buttons.confirm_enquiry.clone(),
                self.buttons.cancel_enquiry.clone(),
            ],
        }
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
        OutboundBody::Media { caption, .. } => {
            let caption = caption.as_deref().unwrap_or("");
            check(
                len(caption) <= crate::media::MAX_CAPTION_CHARS,
                format!("caption of {} characters", len(caption)),
            );
        }
        OutboundBody::Template { text, .. } => check(
            (1..=crate::templates::MAX_TEMPLATE_BODY_CHARS).contains(&len(text)),
            format!("template of {} characters", len(text)),
        ),
    }
    let ids: Vec<&str> = match body {
        OutboundBody::Text { .. } | OutboundBody::Media { .. } | OutboundBody::Template { .. } => {
            vec![]
        }
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

/// Everything wrong with `c`: WhatsApp limits of every message it can produce (filled with
/// the longest values the bot puts in), ids, and templates. Empty when it is fine.
pub fn content_problems(c: &Content) -> Vec<String> {
    let mut problems = Vec::new();
    let long_name = "N".repeat(crate::enquiry::NAME_MAX_CHARS);
    let long_email = format!("{}@{}.com", "e".repeat(64), "d".repeat(185));
    let long_course = "C".repeat(100);
    let mut messages: Vec<(String, OutboundBody)> = [
        ("welcome", &c.welcome),
        ("help", &c.help),
        ("support_ended_by_user", &c.support_ended_by_user),
        ("support_ended_by_admin", &c.support_ended_by_admin),
        ("rating_thanks", &c.rating_thanks),
        ("opted_out", &c.opted_out),
        ("support_queue_timeout", &c.support_queue_timeout),
        ("support_closed_idle", &c.support_closed_idle),
        ("admission.cancelled", &c.admission.cancelled),
        ("admission.name_invalid", &c.admission.name_invalid),
    ]
    .into_iter()
    .map(|(what, t)| (what.to_owned(), OutboundBody::text(t.as_str())))
    .collect();
    messages.extend([
        ("menu".to_owned(), c.main_menu()),
        ("support_ack".to_owned(), c.support_ack()),
        ("rating".to_owned(), c.rating_question()),
        ("courses".to_owned(), c.course_list()),
        ("fees".to_owned(), c.info_page(&c.catalogue.fees)),
        ("timetable".to_owned(), c.info_page(&c.catalogue.timetable)),
        (
            "activation.locked".to_owned(),
            c.activation_locked("23 hours 59 minutes"),
        ),
        (
            "admission.summary".to_owned(),
            c.enquiry_summary(Some(&long_course), &long_name, &long_email),
        ),
        (
            "admission.ask_name_for_course".to_owned(),
            c.prompt(fill(
                &c.admission.ask_name_for_course,
                &[("course", &long_course)],
            )),
        ),
        (
            "admission.ask_email".to_owned(),
            c.prompt(fill(&c.admission.ask_email, &[("name", &long_name)])),
        ),
        (
            "admission.confirmed".to_owned(),
            OutboundBody::text(fill(&c.admission.confirmed, &[("email", &long_email)])),
        ),
        (
            "activation.ask_code".to_owned(),
            c.prompt(c.activation.ask_code.clone()),
        ),
        (
            "activation.wrong_code".to_owned(),
            c.prompt(fill(&c.activation.wrong_code, &[("left", "2")])),
        ),
        (
            "activation.stale_code".to_owned(),
            c.prompt(fill(&c.activation.stale_code, &[("left", "2")])),
        ),
        (
            "activation.linked".to_owned(),
            OutboundBody::text(fill(
                &c.activation.linked,
                &[("name", &long_name), ("course", &long_course)],
            )),
        ),
    ]);
    for course in &c.catalogue.courses {
        messages.push((course.id.clone(), c.course_detail(course)));
    }
    for problem in crate::enquiry::EmailProblem::ALL {
        messages.push((
            "admission.email_invalid".to_owned(),
            c.prompt(fill(
                &c.admission.email_invalid,
                &[("reason", problem.reason())],
            )),
        ));
    }
    for (what, body) in &messages {
        for problem in whatsapp_violations(body) {
            problems.push(format!("{what}: {problem}"));
        }
    }

    // Ids: unique across the catalogue and the fixed choices, and course ids of a safe shape.
    let mut ids: Vec<&str> = c.menu.rows.iter().map(|r| r.id.as_str()).collect();
    ids.extend(c.rating.rows.iter().map(|r| r.id.as_str()));
    ids.extend(c.catalogue.courses.iter().map(|r| r.id.as_str()));
    ids.extend([
        c.support_end_button.id.as_str(),
        c.buttons.menu.id.as_str(),
        c.buttons.back_to_courses.id.as_str(),
        c.buttons.apply.id.as_str(),
        c.buttons.confirm_enquiry.id.as_str(),
        c.buttons.cancel_enquiry.id.as_str(),
    ]);
    for (i, id) in ids.iter().enumerate() {
        // Chat Support is both a menu row and a button: the same action under one id.
        if ids[..i].contains(id) && *id != c.buttons.chat_support.id {
            problems.push(format!("id {id:?} used for two different things"));
        }
    }
    for course in &c.catalogue.courses {
        if !course.id.starts_with("course_")
            || !course.id[7..]
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            problems.push(format!(
                "course id {:?} is not course_<a-z 0-9 _>",
                course.id
            ));
        }
    }
    let course_count = c.catalogue.courses.len();
    if !(1..limits::LIST_ROWS).contains(&course_count) {
        problems.push(format!(
            "{course_count} courses: 1 to 9 fit in a list with its Menu row"
        ));
    }

    // Templates: only the placeholders the bot fills.
    let templates: [(&str, &str, &[&str]); 12] = [
        (
            "courses.row_description",
            &c.courses.row_description,
            &["duration", "fees", "start_date"],
        ),
        (
            "courses.detail",
            &c.courses.detail,
            &["title", "description", "duration", "fees", "start_date"],
        ),
        (
            "admission.ask_name_for_course",
            &c.admission.ask_name_for_course,
            &["course"],
        ),
        ("admission.ask_email", &c.admission.ask_email, &["name"]),
        (
            "admission.email_invalid",
            &c.admission.email_invalid,
            &["reason"],
        ),
        (
            "admission.summary",
            &c.admission.summary,
            &["course", "name", "email"],
        ),
        ("admission.confirmed", &c.admission.confirmed, &["email"]),
        ("activation.wrong_code", &c.activation.wrong_code, &["left"]),
        ("activation.stale_code", &c.activation.stale_code, &["left"]),
        ("activation.locked", &c.activation.locked, &["remaining"]),
        (
            "activation.linked",
            &c.activation.linked,
            &["name", "course"],
        ),
        ("admission.ask_name", &c.admission.ask_name, &[]),
    ];
    for (what, template, allowed) in templates {
        for placeholder in placeholders(template) {
            if !allowed.contains(&placeholder) {
                problems.push(format!("{what}: unknown placeholder {{{placeholder}}}"));
            }
        }
    }
    problems
}

/// The `{name}` placeholders in a template.
fn placeholders(template: &str) -> Vec<&str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_content_has_no_problems() {
        assert_eq!(content_problems(content()), Vec::<String>::new());
    }

    #[test]
    fn the_catalogue_has_at_least_five_complete_courses() {
        let courses = &content().catalogue.courses;
        assert!(courses.len() >= 5);
        for c in courses {
            for field in [
                &c.title,
                &c.duration,
                &c.fees,
                &c.start_date,
                &c.description,
            ] {
                assert!(!field.trim().is_empty(), "{c:?}");
            }
        }
        assert!(!content().catalogue.fees.body.is_empty());
        assert!(!content().catalogue.timetable.body.is_empty());
    }

    /// The ids the bot matches. Messages already on users' phones carry them: they stay.
    #[test]
    fn the_ids_the_bot_relies_on_are_stable() {
        let c = content();
        let ids: Vec<&str> = c.menu.rows.iter().map(|r| r.id.as_str()).collect();
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
        let ratings: Vec<&str> = c.rating.rows.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ratings,
            ["rating_5", "rating_4", "rating_3", "rating_2", "rating_1"]
        );
        let b = &c.buttons;
        assert_eq!(
            [
                c.support_end_button.id.as_str(),
                &b.menu.id,
                &b.chat_support.id,
                &b.back_to_courses.id,
                &b.apply.id,
                &b.confirm_enquiry.id,
                &b.cancel_enquiry.id
            ],
            [
                "end_chat",
                "menu",
                "chat_support",
                "back_to_courses",
                "apply_",
                "enquiry_confirm",
                "enquiry_cancel"
            ]
        );
    }

    #[test]
    fn the_course_list_is_in_catalogue_order_then_menu() {
        let c = content();
        let OutboundBody::List { rows, .. } = c.course_list() else {
            panic!("a list")
        };
        let mut expected: Vec<&str> = c.catalogue.courses.iter().map(|c| c.id.as_str()).collect();
        expected.push("menu");
        assert_eq!(
            rows.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            expected
        );
        let detail = c.course_detail(&c.catalogue.courses[0]);
        let OutboundBody::Buttons { buttons, .. } = &detail else {
            panic!("buttons")
        };
        assert_eq!(
            buttons[0].id,
            format!("apply_{}", c.catalogue.courses[0].id)
        );
        assert_eq!(
            c.applied_course(&buttons[0].id).map(|c| c.id.as_str()),
            Some(c.catalogue.courses[0].id.as_str())
        );
        assert!(c.applied_course("apply_course_gone").is_none());
    }

    #[test]
    fn content_that_whatsapp_would_refuse_is_caught() {
        let long_title = r#"{ id = "course_x", title = "A course title far too long for a row", duration = "1", fees = "1", start_date = "1", description = "d" }"#;
        let catalogue = format!(
            "courses = [{long_title}, {long_title}]\n[fees]\nbody = \"f\"\n[timetable]\nbody = \"t\"\n"
        );
        let bad = parse(
            &BOT_TOML.replace("{duration} ·", "{durration} ·"),
            &catalogue,
        )
        .unwrap();
        let problems = content_problems(&bad);
        assert!(
            problems.iter().any(|p| p.contains("row title")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("used for two different things")),
            "{problems:?}"
        );
        assert!(
            problems.iter().any(|p| p.contains("{durration}")),
            "{problems:?}"
        );
        let ten = (0..10)
            .map(|i| format!(r#"{{ id = "course_{i}", title = "T", duration = "1", fees = "1", start_date = "1", description = "d" }}"#))
            .collect::<Vec<_>>()
            .join(", ");
        let too_many = parse(
            BOT_TOML,
            &format!("courses = [{ten}]\n[fees]\nbody = \"f\"\n[timetable]\nbody = \"t\"\n"),
        )
        .unwrap();
        assert!(content_problems(&too_many)
            .iter()
            .any(|p| p.contains("10 courses")));
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
        let long_body = OutboundBody::Buttons {
            body: "x".repeat(1025),
            buttons: vec![row("a", "t")],
        };
        assert_eq!(whatsapp_violations(&long_body).len(), 1);
    }

    #[test]
    fn templates_are_filled() {
        assert_eq!(
            fill("{a} and {b}, {a}", &[("a", "1"), ("b", "2")]),
            "1 and 2, 1"
        );
        assert_eq!(placeholders("x {a} y {b}"), ["a", "b"]);
    }
}
