use super::*;
use crate::activation::ActivationCode;
use crate::time::{DAY, HOUR, MINUTE};
use crate::whatsapp::{Choice, OutboundBody as B};

const NOW: Millis = 100 * DAY;
const LOCK: Millis = HOUR;

fn facts() -> Facts<'static> {
    Facts {
        now: NOW,
        activation_lock: LOCK,
        code: None,
    }
}

/// A conversation in `state` with the state data a user walking the menus would have.
fn conversation_in(state: State) -> Conversation {
    let mut c = Conversation::new(crate::Phone::parse("447700900123").unwrap(), 0);
    c.state = state;
    let course = Some("course_web".to_owned());
    c.flow = match state {
        State::CourseDetail | State::AdmissionName => FlowData {
            course,
            ..FlowData::default()
        },
        State::AdmissionEmail => FlowData {
            course,
            name: Some("Ada Lovelace".into()),
            email: None,
        },
        State::AdmissionConfirm => FlowData {
            course,
            name: Some("Ada Lovelace".into()),
            email: Some("ada@example.com".into()),
        },
        _ => FlowData::default(),
    };
    if state == State::ActivationLocked {
        c.activation_locked_until = Some(NOW + 30 * MINUTE);
    }
    c
}

fn react(state: State, input: Input<'_>) -> Turn {
    super::react(&conversation_in(state), input, &facts())
}

fn ids(body: &B) -> Vec<&str> {
    match body {
        B::Text { .. } | B::Media { .. } | B::Template { .. } => vec![],
        B::Buttons { buttons: c, .. } | B::List { rows: c, .. } => {
            c.iter().map(|c| c.id.as_str()).collect()
        }
    }
}

/// Whether `text` is `template` with each `{placeholder}` filled in by some value: the
/// template's own words, in order, around the values.
fn fits(template: &str, text: &str) -> bool {
    let mut pieces = vec![];
    let mut rest = template;
    while let Some((before, after)) = rest.split_once('{') {
        let Some((_, after)) = after.split_once('}') else {
            break;
        };
        pieces.push(before);
        rest = after;
    }
    pieces.push(rest);
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if pieces.len() == 1 {
        return text == template;
    }
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether `body` is `template`, filled in, with exactly these buttons.
fn filled(body: &B, template: &str, choices: &[&Choice]) -> bool {
    match body {
        B::Text { body } => choices.is_empty() && fits(template, body),
        B::Buttons { body, buttons } => {
            fits(template, body) && buttons.iter().eq(choices.iter().copied())
        }
        B::List { .. } | B::Media { .. } | B::Template { .. } => false,
    }
}

/// What a reply is, in a word: the table below speaks in these. Each word is a message of
/// the content (shared/content/bot.toml), matched by its key, never by its wording.
fn kind(body: &B) -> String {
    let c = content();
    let b = &c.buttons;
    let text = |t: &str| *body == B::text(t);
    let prompt = |template: &str| filled(body, template, &[&b.menu]);
    let kind = if text(&c.welcome) {
        "welcome"
    } else if text(&c.help) {
        "help"
    } else if text(&c.opted_out) {
        "bye"
    } else if text(&c.rating_thanks) {
        "thanks"
    } else if text(&c.support_ended_by_user) {
        "ended"
    } else if text(&c.admission.name_invalid) {
        "bad-name"
    } else if text(&c.admission.cancelled) {
        "cancelled"
    } else if filled(body, &c.admission.confirmed, &[]) {
        "sent"
    } else if filled(body, &c.activation.linked, &[]) {
        "linked"
    } else if matches!(body, B::Text { .. }) {
        "text"
    } else if *body == c.main_menu() {
        "menu"
    } else if *body == c.course_list() {
        "courses"
    } else if *body == c.rating_question() {
        "rating"
    } else if *body == c.support_ack() {
        "ack"
    } else if c
        .catalogue
        .courses
        .iter()
        .any(|course| *body == c.course_detail(course))
    {
        "detail"
    } else if filled(
        body,
        &c.admission.summary,
        &[&b.confirm_enquiry, &b.cancel_enquiry],
    ) {
        "summary"
    } else if *body == c.info_page(&c.catalogue.fees) {
        "fees"
    } else if *body == c.info_page(&c.catalogue.timetable) {
        "timetable"
    } else if filled(body, &c.activation.locked, &[&b.menu, &b.chat_support]) {
        "locked"
    } else if *body == c.prompt(c.admission.ask_name.clone())
        || prompt(&c.admission.ask_name_for_course)
    {
        "ask-name"
    } else if prompt(&c.admission.ask_email) {
        "ask-email"
    } else if prompt(&c.admission.email_invalid) {
        "bad-email"
    } else if *body == c.prompt(c.activation.ask_code.clone()) {
        "ask-code"
    } else if prompt(&c.activation.wrong_code) {
        "wrong-code"
    } else if prompt(&c.activation.stale_code) {
        "stale-code"
    } else {
        "other"
    };
    kind.to_owned()
}

#[test]
fn fits_matches_a_template_by_its_own_words_only() {
    assert!(fits(
        "Hello {name}, see {what}.",
        "Hello Ada, see the fees."
    ));
    assert!(fits("{a} and {b}", "1 and 2"));
    assert!(fits("plain", "plain"));
    assert!(!fits("plain", "plain!"));
    assert!(!fits("Hello {name}, see {what}.", "Hi Ada, see the fees."));
    assert!(!fits(
        "Hello {name}, see {what}.",
        "Hello Ada, see the fees!"
    ));
    assert!(!fits(
        "Hello {name}, see {what}.",
        "Hello Ada; see the fees."
    ));
}

fn outcome(turn: &Turn) -> String {
    let replies: Vec<String> = turn.replies.iter().map(kind).collect();
    let next = serde_json::to_value(turn.next).unwrap();
    format!(
        "{} {}",
        next.as_str().unwrap(),
        if replies.is_empty() {
            "-".to_owned()
        } else {
            replies.join(",")
        }
    )
}

/// The input classes of the table: every menu id, the navigation buttons, state-bound
/// buttons, stale ids (from an old menu or a retired course), free text, the keywords,
/// STOP/START, and media.
const INPUTS: [(&str, Input<'static>); 24] = [
    ("row courses", Input::Choice("courses")),
    ("row admissions", Input::Choice("admissions")),
    ("row fees", Input::Choice("fees")),
    ("row timetable", Input::Choice("timetable")),
    ("row activate", Input::Choice("activate")),
    ("row chat_support", Input::Choice("chat_support")),
    ("button menu", Input::Choice("menu")),
    ("button back", Input::Choice("back_to_courses")),
    ("row course", Input::Choice("course_web")),
    ("button apply", Input::Choice("apply_course_data")),
    ("button confirm", Input::Choice("enquiry_confirm")),
    ("button cancel", Input::Choice("enquiry_cancel")),
    ("rating id", Input::Choice("rating_4")),
    ("button end_chat", Input::Choice("end_chat")),
    ("stale course", Input::Choice("course_retired")),
    ("stale apply", Input::Choice("apply_course_retired")),
    ("unknown id", Input::Choice("no_such_id")),
    ("free text", Input::Text("Ada Lovelace")),
    ("email text", Input::Text("ada@example.com")),
    ("text menu", Input::Text(" Menu ")),
    ("text support", Input::Text("support")),
    ("text STOP", Input::Text("STOP")),
    ("text START", Input::Text("Start")),
    ("media", Input::Other),
];

/// Expected `NEXT_STATE reply,kinds` for each input of [`INPUTS`], per state.
#[rustfmt::skip]
fn expected(state: State) -> [&'static str; 24] {
    const SUPPORT: &str = "CHAT_SUPPORT_ACTIVE ack";
    const HELP: &str = "MAIN_MENU help,menu";
    const MENU: &str = "MAIN_MENU menu";
    const BYE: &str = "OPTED_OUT bye";
    // Navigation works the same from every state outside chat support and opt-out.
    const NAV: [&str; 10] = [
        "COURSE_LIST courses",
        "ADMISSION_NAME ask-name",
        "FEES_INFO fees",
        "TIMETABLE timetable",
        "ACTIVATION_CODE ask-code",
        SUPPORT,
        MENU,
        "COURSE_LIST courses",
        "COURSE_DETAIL detail",
        "ADMISSION_NAME ask-name",
    ];
    let browse = |free_text: &'static str, email_text: &'static str| -> [&'static str; 24] {
        [
            NAV[0], NAV[1], NAV[2], NAV[3], NAV[4], NAV[5], NAV[6], NAV[7], NAV[8], NAV[9],
            HELP, HELP, HELP, HELP, HELP, HELP, HELP, free_text, email_text, MENU, SUPPORT, BYE,
            MENU, HELP,
        ]
    };
    let in_step = |ask: &'static str, free_text, email_text| -> [&'static str; 24] {
        [
            NAV[0], NAV[1], NAV[2], NAV[3], NAV[4], NAV[5], NAV[6], NAV[7], NAV[8], NAV[9],
            ask, ask, ask, ask, ask, ask, ask, free_text, email_text, MENU, SUPPORT, BYE, MENU,
            ask,
        ]
    };
    match state {
        State::New => {
            const W: &str = "MAIN_MENU welcome,menu";
            [
                W, W, W, W, W, SUPPORT, W, W, W, W, W, W, W, W, W, W, W, W, W, MENU, SUPPORT, BYE,
                MENU, W,
            ]
        }
        State::MainMenu
        | State::CourseList
        | State::CourseDetail
        | State::FeesInfo
        | State::Timetable => browse(HELP, HELP),
        State::AdmissionName => in_step(
            "ADMISSION_NAME ask-name",
            "ADMISSION_EMAIL ask-email",
            "ADMISSION_EMAIL ask-email",
        ),
        State::AdmissionEmail => in_step(
            "ADMISSION_EMAIL ask-email",
            "ADMISSION_EMAIL bad-email",
            "ADMISSION_CONFIRM summary",
        ),
        State::AdmissionConfirm => {
            let mut row = in_step(
                "ADMISSION_CONFIRM summary",
                "ADMISSION_CONFIRM summary",
                "ADMISSION_CONFIRM summary",
            );
            row[10] = "MAIN_MENU sent,menu";
            row[11] = "MAIN_MENU cancelled,menu";
            row
        }
        State::ActivationCode => in_step(
            "ACTIVATION_CODE ask-code",
            "ACTIVATION_CODE wrong-code",
            "ACTIVATION_CODE wrong-code",
        ),
        State::ActivationLocked => {
            let locked = "ACTIVATION_LOCKED locked";
            let mut row = in_step(locked, locked, locked);
            row[4] = locked;
            row
        }
        State::SupportFeedback => {
            let mut row = browse(HELP, HELP);
            row[12] = "MAIN_MENU thanks,menu";
            row
        }
        State::ChatSupportActive => {
            const DESK: &str = "CHAT_SUPPORT_ACTIVE -";
            let mut row = [DESK; 24];
            row[13] = "SUPPORT_FEEDBACK ended,rating";
            row[21] = BYE;
            row
        }
        State::OptedOut => {
            let mut row = ["OPTED_OUT -"; 24];
            row[22] = "MAIN_MENU welcome,menu";
            row
        }
    }
}

#[test]
fn every_state_answers_every_input_class_as_the_table_says() {
    let mut wrong = Vec::new();
    for state in State::ALL {
        for ((what, input), want) in INPUTS.iter().zip(expected(state)) {
            let got = outcome(&react(state, *input));
            if got != want {
                wrong.push(format!("{state:?} × {what}: got {got}, want {want}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn only_opted_out_and_chat_support_are_ever_silent() {
    for state in State::ALL {
        for (what, input) in INPUTS {
            let t = react(state, input);
            let may_be_silent = matches!(state, State::OptedOut | State::ChatSupportActive);
            assert!(
                !t.replies.is_empty() || may_be_silent,
                "{state:?} × {what}: silence"
            );
            for reply in &t.replies {
                assert_eq!(
                    crate::content::whatsapp_violations(reply),
                    Vec::<String>::new(),
                    "{state:?} × {what}"
                );
            }
        }
    }
}

#[test]
fn first_message_gets_welcome_and_main_menu() {
    let t = react(State::New, Input::Text("hello"));
    assert_eq!(t.next, State::MainMenu);
    assert_eq!(t.replies.len(), 2);
    assert_eq!(t.replies[0], B::text(&content().welcome));
    assert_eq!(t.replies[1], content().main_menu());
    assert_eq!(ids(&t.replies[1]).len(), 6);
    assert!(ids(&t.replies[1]).contains(&"chat_support"));
}

#[test]
fn chat_support_is_entered_by_id_or_keyword_from_any_state() {
    for state in State::ALL
        .into_iter()
        .filter(|s| !matches!(s, State::OptedOut | State::ChatSupportActive))
    {
        for input in [
            Input::Choice("chat_support"),
            Input::Text("support"),
            Input::Text("  AGENT "),
            Input::Text("Human"),
            Input::Text("chat SUPPORT"),
        ] {
            let t = react(state, input);
            assert_eq!(t.next, State::ChatSupportActive, "{state:?} {input:?}");
            assert_eq!(t.support, SupportChange::Started);
            assert_eq!(
                t.replies,
                vec![content().support_ack()],
                "{state:?} {input:?}: the acknowledgement only"
            );
            assert_eq!(
                ids(&t.replies[0]),
                ["end_chat"],
                "the acknowledgement offers End chat"
            );
        }
    }
    // Matched by id, never by title; longer texts are not keywords.
    assert_eq!(
        react(State::MainMenu, Input::Choice("Chat Support")).next,
        State::MainMenu
    );
    assert_eq!(
        react(State::MainMenu, Input::Text("I need support")).next,
        State::MainMenu
    );
}

#[test]
fn in_chat_support_everything_goes_to_the_desk_silently() {
    for input in [
        Input::Text("hello?"),
        Input::Text("menu"),
        Input::Text("support"),
        Input::Choice("courses"),
        Input::Other,
    ] {
        let t = react(State::ChatSupportActive, input);
        assert_eq!(t.next, State::ChatSupportActive, "{input:?}");
        assert!(t.replies.is_empty());
        assert!(t.to_desk);
    }
}

#[test]
fn the_user_ends_chat_support_and_is_asked_for_a_rating() {
    for input in [
        Input::Choice("end_chat"),
        Input::Text("End Chat"),
        Input::Text(" #end "),
    ] {
        let t = react(State::ChatSupportActive, input);
        assert_eq!(t.next, State::SupportFeedback, "{input:?}");
        assert_eq!(t.support, SupportChange::EndedByUser);
        assert_eq!(
            t.replies,
            vec![
                B::text(&content().support_ended_by_user),
                content().rating_question()
            ],
            "{input:?}"
        );
        assert_eq!(
            ids(&t.replies[1]),
            ["rating_5", "rating_4", "rating_3", "rating_2", "rating_1"]
        );
    }
    let rated = react(State::SupportFeedback, Input::Choice("rating_4"));
    assert_eq!((rated.next, rated.rating), (State::MainMenu, Some(4)));
    assert_eq!(
        rated.replies,
        vec![B::text(&content().rating_thanks), content().main_menu()]
    );
    assert_eq!(
        react(State::SupportFeedback, Input::Text("5")).rating,
        Some(5)
    );
    let skipped = react(State::SupportFeedback, Input::Text("thanks"));
    assert_eq!((skipped.next, skipped.rating), (State::MainMenu, None));
    assert_eq!(react(State::SupportFeedback, Input::Text("9")).rating, None);
    // Anything else is handled as at the menu.
    assert_eq!(
        react(State::SupportFeedback, Input::Choice("fees")).next,
        State::FeesInfo
    );
}

#[test]
fn stop_wins_everywhere_and_start_comes_back() {
    for state in State::ALL.into_iter().filter(|s| *s != State::OptedOut) {
        let t = react(state, Input::Text("STOP"));
        assert_eq!(t.next, State::OptedOut);
        assert_eq!(
            t.replies,
            vec![B::text(&content().opted_out)],
            "confirmed once"
        );
        let ended = if state == State::ChatSupportActive {
            SupportChange::EndedByOptOut
        } else {
            SupportChange::None
        };
        assert_eq!(t.support, ended);
        assert_eq!(
            t.flow,
            Some(FlowData::default()),
            "a flow in progress is dropped"
        );
    }
    for input in [
        Input::Text("hello"),
        Input::Text("support"),
        Input::Choice("chat_support"),
        Input::Text("stop"),
        Input::Text("menu"),
    ] {
        let t = react(State::OptedOut, input);
        assert_eq!(
            (t.next, t.replies.len()),
            (State::OptedOut, 0),
            "{input:?}: silent while opted out"
        );
    }
    let back = react(State::OptedOut, Input::Text("Start"));
    assert_eq!(back.next, State::MainMenu);
    assert!(!back.replies.is_empty());
    assert_eq!(
        back.replies,
        vec![B::text(&content().welcome), content().main_menu()]
    );
}

#[test]
fn courses_list_in_catalogue_order_and_detail_carries_the_course_into_apply() {
    let c = content();
    let list = react(State::MainMenu, Input::Choice("courses"));
    assert_eq!(list.replies, vec![c.course_list()]);
    let rows = ids(&list.replies[0]);
    assert_eq!(rows.len(), c.catalogue.courses.len() + 1);
    assert_eq!(rows.last(), Some(&"menu"));

    let detail = react(State::CourseList, Input::Choice("course_data"));
    assert_eq!(detail.next, State::CourseDetail);
    assert_eq!(
        detail.flow.as_ref().unwrap().course.as_deref(),
        Some("course_data")
    );
    assert_eq!(
        ids(&detail.replies[0]),
        ["apply_course_data", "back_to_courses", "menu"]
    );
    let B::Buttons { body, .. } = &detail.replies[0] else {
        panic!("buttons")
    };
    let course = c.course("course_data").unwrap();
    assert_eq!(detail.replies, vec![c.course_detail(course)]);
    for field in [
        &course.title,
        &course.duration,
        &course.fees,
        &course.start_date,
    ] {
        assert!(body.contains(field.as_str()), "{body}");
    }

    let apply = react(State::CourseDetail, Input::Choice("apply_course_data"));
    assert_eq!(apply.next, State::AdmissionName);
    assert_eq!(
        apply.replies,
        vec![c.prompt(fill(
            &c.admission.ask_name_for_course,
            &[("course", &course.title)]
        ))]
    );
    assert_eq!(apply.flow.unwrap().course.as_deref(), Some("course_data"));
    let back = react(State::CourseDetail, Input::Choice("back_to_courses"));
    assert_eq!(
        (back.next, kind(&back.replies[0]).as_str()),
        (State::CourseList, "courses")
    );
}

#[test]
fn an_admission_enquiry_collects_name_and_email_then_confirms() {
    let words = content();
    let mut c = conversation_in(State::AdmissionName);
    c.flow.course = Some("course_design".into());
    let too_short = super::react(&c, Input::Text(" A "), &facts());
    assert_eq!(too_short.next, State::AdmissionName, "state kept");
    assert_eq!(too_short.flow.as_ref(), Some(&c.flow), "course kept");
    assert_eq!(
        too_short.replies,
        vec![
            B::text(&words.admission.name_invalid),
            words.prompt(fill(
                &words.admission.ask_name_for_course,
                &[("course", "Graphic Design")]
            ))
        ],
        "refused, then asked again for the same course"
    );
    let long = "x".repeat(101);
    assert_eq!(
        super::react(&c, Input::Text(&long), &facts()).next,
        State::AdmissionName
    );

    let named = super::react(&c, Input::Text("  Grace   Hopper "), &facts());
    assert_eq!(named.next, State::AdmissionEmail);
    c.state = named.next;
    c.flow = named.flow.unwrap();
    assert_eq!(c.flow.name.as_deref(), Some("Grace Hopper"));
    assert_eq!(
        named.replies,
        vec![words.prompt(fill(
            &words.admission.ask_email,
            &[("name", "Grace Hopper")]
        ))]
    );

    let bad = super::react(&c, Input::Text("grace@"), &facts());
    assert_eq!(bad.next, State::AdmissionEmail, "state kept");
    assert_eq!(
        bad.replies,
        vec![words.prompt(fill(
            &words.admission.email_invalid,
            &[("reason", crate::enquiry::EmailProblem::BadDomain.reason())]
        ))],
        "the reason is given"
    );
    assert_eq!(bad.flow.as_ref(), Some(&c.flow));

    let emailed = super::react(&c, Input::Text("Grace@Navy.MIL"), &facts());
    assert_eq!(emailed.next, State::AdmissionConfirm);
    c.state = emailed.next;
    c.flow = emailed.flow.unwrap();
    assert_eq!(
        emailed.replies,
        vec![words.enquiry_summary(Some("Graphic Design"), "Grace Hopper", "Grace@navy.mil")]
    );

    let confirmed = super::react(&c, Input::Choice("enquiry_confirm"), &facts());
    assert_eq!(confirmed.next, State::MainMenu);
    assert_eq!(
        confirmed.enquiry,
        Some(EnquiryRequest {
            course_id: Some("course_design".into()),
            course: Some("Graphic Design".into()),
            name: "Grace Hopper".into(),
            email: "Grace@navy.mil".into(),
        })
    );
    assert_eq!(confirmed.flow, Some(FlowData::default()));
    assert_eq!(
        confirmed.replies,
        vec![
            B::text(fill(
                &words.admission.confirmed,
                &[("email", "Grace@navy.mil")]
            )),
            words.main_menu()
        ]
    );
    assert!(confirmed.event.unwrap().contains("Admission enquiry sent"));

    let cancelled = super::react(&c, Input::Choice("enquiry_cancel"), &facts());
    assert_eq!(
        (cancelled.next, &cancelled.enquiry),
        (State::MainMenu, &None)
    );
    assert_eq!(
        cancelled.replies,
        vec![B::text(&words.admission.cancelled), words.main_menu()]
    );

    // From the Admissions row, no course: a general enquiry.
    let general = react(State::MainMenu, Input::Choice("admissions"));
    assert_eq!(general.flow, Some(FlowData::default()));
    assert_eq!(
        general.replies,
        vec![words.prompt(words.admission.ask_name.clone())]
    );
}

fn code(valid_until: Millis, used_at: Option<Millis>) -> ActivationCode {
    ActivationCode {
        code_hash: crate::activation::code_hash("ABCD-2345"),
        student: Student {
            name: "Jane Doe".into(),
            course: "Web Development".into(),
        },
        created_by: "admin".into(),
        created_at: NOW - DAY,
        valid_until,
        used_at,
    }
}

#[test]
fn a_good_code_links_the_student_and_returns_to_the_menu() {
    let c = conversation_in(State::ActivationCode);
    assert_eq!(
        code_attempt(&c, Input::Text("abcd 2345"), NOW),
        Some("abcd 2345")
    );
    let good = code(NOW + DAY, None);
    let t = super::react(
        &c,
        Input::Text("abcd 2345"),
        &Facts {
            code: Some(&good),
            ..facts()
        },
    );
    assert_eq!(outcome(&t), "MAIN_MENU linked,menu");
    assert_eq!(
        t.replies[0],
        B::text(fill(
            &content().activation.linked,
            &[("name", "Jane Doe"), ("course", "Web Development")]
        ))
    );
    assert_eq!(
        t.activation,
        Some(ActivationChange::Linked {
            code_hash: good.code_hash.clone(),
            student: good.student.clone()
        })
    );
}

#[test]
fn used_or_expired_codes_are_wrong_attempts_and_the_third_locks() {
    let mut c = conversation_in(State::ActivationCode);
    for (failures_before, stale) in [(0, code(NOW, None)), (1, code(NOW + DAY, Some(NOW - 1)))] {
        c.activation_failures = failures_before;
        let t = super::react(
            &c,
            Input::Text("ABCD-2345"),
            &Facts {
                code: Some(&stale),
                ..facts()
            },
        );
        assert_eq!(t.next, State::ActivationCode);
        assert_eq!(
            t.activation,
            Some(ActivationChange::WrongCode {
                failures: failures_before + 1
            })
        );
        let left = (crate::activation::MAX_WRONG_CODES - failures_before - 1).to_string();
        assert_eq!(
            t.replies,
            vec![content().prompt(fill(&content().activation.stale_code, &[("left", &left)]))],
            "told the code is stale, not unknown"
        );
    }
    c.activation_failures = 2;
    let t = super::react(&c, Input::Text("anything at all"), &facts());
    assert_eq!(outcome(&t), "ACTIVATION_LOCKED locked");
    assert_eq!(
        t.activation,
        Some(ActivationChange::Locked { until: NOW + LOCK })
    );
    assert_eq!(t.replies, vec![content().activation_locked("1 hour")]);
    let B::Buttons { buttons, .. } = &t.replies[0] else {
        panic!("buttons")
    };
    assert_eq!(
        buttons.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
        ["menu", "chat_support"]
    );
}

#[test]
fn the_lock_outlives_leaving_the_state_and_then_lifts_by_itself() {
    let mut c = conversation_in(State::MainMenu);
    c.activation_locked_until = Some(NOW + 42 * MINUTE);
    let t = super::react(&c, Input::Choice("activate"), &facts());
    assert_eq!(t.next, State::ActivationLocked);
    assert_eq!(
        t.replies,
        vec![content().activation_locked("42 minutes")],
        "the remaining time"
    );

    // While locked, texts are not attempts (no lookup) and are refused with the time left.
    c.state = State::ActivationLocked;
    assert_eq!(code_attempt(&c, Input::Text("ABCD-2345"), NOW), None);
    assert_eq!(
        outcome(&super::react(&c, Input::Text("ABCD-2345"), &facts())),
        "ACTIVATION_LOCKED locked"
    );
    assert_eq!(
        outcome(&super::react(&c, Input::Text("menu"), &facts())),
        "MAIN_MENU menu"
    );

    // Once the lock has run out, a text in ACTIVATION_LOCKED is an attempt again.
    let later = NOW + HOUR;
    assert_eq!(
        code_attempt(&c, Input::Text("ABCD-2345"), later),
        Some("ABCD-2345")
    );
    let good = code(later + DAY, None);
    let t = super::react(
        &c,
        Input::Text("ABCD-2345"),
        &Facts {
            now: later,
            code: Some(&good),
            ..facts()
        },
    );
    assert_eq!(outcome(&t), "MAIN_MENU linked,menu");
    c.state = State::MainMenu;
    let t = super::react(
        &c,
        Input::Choice("activate"),
        &Facts {
            now: later,
            ..facts()
        },
    );
    assert_eq!(outcome(&t), "ACTIVATION_CODE ask-code");
}

#[test]
fn keywords_are_never_attempts_names_or_addresses() {
    let c = conversation_in(State::ActivationCode);
    for keyword in ["menu", " STOP ", "start", "support", "Agent"] {
        assert_eq!(
            code_attempt(&c, Input::Text(keyword), NOW),
            None,
            "{keyword}"
        );
    }
    assert_eq!(code_attempt(&c, Input::Other, NOW), None);
    let t = react(State::AdmissionName, Input::Text("menu"));
    assert_eq!(
        (t.next, t.flow),
        (State::MainMenu, Some(FlowData::default()))
    );
}

#[test]
fn a_rating_templates_buttons_answer_as_the_rating_list_does() {
    assert_eq!(rating_choice_for_label("5").as_deref(), Some("rating_5"));
    assert_eq!(
        rating_choice_for_label("⭐ 3 stars").as_deref(),
        Some("rating_3")
    );
    assert_eq!(rating_choice_for_label("Great"), None);
    assert_eq!(rating_choice_for_label("9"), None);
    let label = rating_choice_for_label("4").unwrap();
    let t = react(State::SupportFeedback, Input::Choice(&label));
    assert_eq!(t.rating, Some(4));
}
