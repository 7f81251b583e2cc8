//! The conversation state machine (docs/bot.md): given the conversation and what the user
//! sent, the next state, the bot's replies and what else the turn changes. Pure: storage,
//! the activation-code lookup and sending happen in the inbound processor.

use crate::activation::{remaining_text, ActivationCode, Student, MAX_WRONG_CODES};
use crate::content::{content, fill, Content};
use crate::enquiry::{applicant_name, email_address, EnquiryRequest};
use crate::model::{Conversation, ConversationState as State, FlowData};
use crate::time::{rfc3339, Millis};
use crate::whatsapp::OutboundBody;

/// What the user sent, as the state machine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input<'a> {
    Text(&'a str),
    /// An interactive reply, always matched by its id, never its title.
    Choice(&'a str),
    /// Media, location, reactions and unknown types.
    Other,
}

/// What the turn needs to know beyond the conversation: the clock, the configured lock-out,
/// and the issued code the user's text names (read before the turn, see [`code_attempt`]).
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    pub now: Millis,
    pub activation_lock: Millis,
    pub code: Option<&'a ActivationCode>,
}

/// What the turn did to chat support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportChange {
    None,
    Started,
    EndedByUser,
    EndedByOptOut,
}

/// What the turn did to activation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActivationChange {
    /// A wrong (unknown, used or expired) code: the count of wrong codes so far.
    WrongCode { failures: u8 },
    /// The last allowed wrong code: codes are refused until then.
    Locked { until: Millis },
    /// A good code: the conversation is linked to its student and the code is used up.
    Linked { code_hash: String, student: Student },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    pub next: State,
    pub replies: Vec<OutboundBody>,
    /// The message is for the desk: it counts as unread and starts the wait.
    pub to_desk: bool,
    pub support: SupportChange,
    /// A 1–5 rating given after chat support.
    pub rating: Option<u8>,
    /// The flow data after the turn; None leaves it as it was.
    pub flow: Option<FlowData>,
    pub activation: Option<ActivationChange>,
    /// A confirmed admission enquiry, to store.
    pub enquiry: Option<EnquiryRequest>,
    /// What happened, for the history (beside the change of state).
    pub event: Option<String>,
}

impl Turn {
    /// No reply and no change.
    pub fn silent(state: State) -> Turn {
        Turn {
            flow: None,
            ..Turn::reply(state, vec![])
        }
    }

    /// Moves to `next` with these replies; the flow data is cleared.
    fn reply(next: State, replies: Vec<OutboundBody>) -> Turn {
        Turn {
            next,
            replies,
            to_desk: false,
            support: SupportChange::None,
            rating: None,
            flow: Some(FlowData::default()),
            activation: None,
            enquiry: None,
            event: None,
        }
    }

    /// Moves to `next` carrying `flow`.
    fn with_flow(next: State, replies: Vec<OutboundBody>, flow: FlowData) -> Turn {
        Turn {
            flow: Some(flow),
            ..Turn::reply(next, replies)
        }
    }

    fn event(self, event: impl Into<String>) -> Turn {
        Turn {
            event: Some(event.into()),
            ..self
        }
    }
}

const SUPPORT_KEYWORDS: [&str; 4] = ["support", "agent", "human", "chat support"];
const END_CHAT_KEYWORDS: [&str; 2] = ["end chat", "#end"];
/// Words that work in every state (outside chat support): they are never a name, an email
/// address or an activation code.
const GLOBAL_KEYWORDS: [&str; 3] = ["menu", "stop", "start"];

/// Main menu rows and buttons the bot acts on, by id (pinned by a content test).
mod ids {
    pub const CHAT_SUPPORT: &str = "chat_support";
    pub const COURSES: &str = "courses";
    pub const ADMISSIONS: &str = "admissions";
    pub const FEES: &str = "fees";
    pub const TIMETABLE: &str = "timetable";
    pub const ACTIVATE: &str = "activate";
}

fn keyword(text: &str) -> String {
    text.trim().to_lowercase()
}

fn is_global_keyword(word: &str) -> bool {
    GLOBAL_KEYWORDS.contains(&word) || SUPPORT_KEYWORDS.contains(&word)
}

fn locked_until(c: &Conversation, now: Millis) -> Option<Millis> {
    c.activation_locked_until.filter(|until| *until > now)
}

/// The text to look up as an activation code before the turn, when the turn will treat
/// it as an attempt: any text but a global keyword, in `ACTIVATION_CODE` or in an
/// `ACTIVATION_LOCKED` whose lock has run out.
pub fn code_attempt<'a>(c: &Conversation, input: Input<'a>, now: Millis) -> Option<&'a str> {
    let Input::Text(text) = input else {
        return None;
    };
    let expecting = match c.state {
        State::ActivationCode => true,
        State::ActivationLocked => locked_until(c, now).is_none(),
        _ => false,
    };
    (expecting && !is_global_keyword(&keyword(text))).then_some(text)
}

/// Runs one user message through the state machine.
pub fn react(c: &Conversation, input: Input<'_>, facts: &Facts<'_>) -> Turn {
    react_with(content(), c, input, facts)
}

fn react_with(c: &Content, conv: &Conversation, input: Input<'_>, facts: &Facts<'_>) -> Turn {
    let state = conv.state;
    let word = match input {
        Input::Text(t) => keyword(t),
        _ => String::new(),
    };
    let text_is = |w: &str| word == w;
    let choice = match input {
        Input::Choice(id) => Some(id),
        _ => None,
    };

    // Opted out: nothing is sent until START.
    if state == State::OptedOut {
        return if text_is("start") {
            Turn::reply(
                State::MainMenu,
                vec![OutboundBody::text(&c.welcome), c.main_menu()],
            )
        } else {
            Turn::silent(State::OptedOut)
        };
    }
    // Opting out always wins, even in chat support, and is confirmed once.
    if text_is("stop") {
        let support = if state == State::ChatSupportActive {
            SupportChange::EndedByOptOut
        } else {
            SupportChange::None
        };
        return Turn {
            support,
            ..Turn::reply(State::OptedOut, vec![OutboundBody::text(&c.opted_out)])
        };
    }
    if state == State::ChatSupportActive {
        let ends = choice == Some(c.support_end_button.id.as_str())
            || END_CHAT_KEYWORDS.iter().any(|k| text_is(k));
        return if ends {
            Turn {
                support: SupportChange::EndedByUser,
                ..Turn::reply(
                    State::SupportFeedback,
                    vec![
                        OutboundBody::text(&c.support_ended_by_user),
                        c.rating_question(),
                    ],
                )
            }
        } else {
            // The bot stays silent: the message is for the desk.
            Turn {
                to_desk: true,
                ..Turn::silent(State::ChatSupportActive)
            }
        };
    }
    if choice == Some(ids::CHAT_SUPPORT) || SUPPORT_KEYWORDS.iter().any(|k| text_is(k)) {
        return Turn {
            support: SupportChange::Started,
            ..Turn::reply(State::ChatSupportActive, vec![c.support_ack()])
        };
    }
    if text_is("menu") || text_is("start") {
        return Turn::reply(State::MainMenu, vec![c.main_menu()]);
    }
    if state == State::SupportFeedback {
        if let Some(rating) = rating_of(input) {
            return Turn {
                rating: Some(rating),
                ..Turn::reply(
                    State::MainMenu,
                    vec![OutboundBody::text(&c.rating_thanks), c.main_menu()],
                )
            }
            .event(format!("Rated the chat support {rating}/5."));
        }
        // Anything else skips the rating and is handled as at the menu.
    }
    if state == State::New {
        return Turn::reply(
            State::MainMenu,
            vec![OutboundBody::text(&c.welcome), c.main_menu()],
        );
    }

    // A lock that has run out no longer holds the user in ACTIVATION_LOCKED.
    let locked = locked_until(conv, facts.now);
    let state = match state {
        State::ActivationLocked if locked.is_none() => State::ActivationCode,
        s => s,
    };
    // What the current step asks for.
    match (state, input) {
        (State::AdmissionName, Input::Text(text)) => return name_given(c, conv, text),
        (State::AdmissionEmail, Input::Text(text)) => return email_given(c, conv, text),
        (State::AdmissionConfirm, Input::Choice(id)) if id == c.buttons.confirm_enquiry.id => {
            return enquiry_confirmed(c, conv);
        }
        (State::AdmissionConfirm, Input::Choice(id)) if id == c.buttons.cancel_enquiry.id => {
            return Turn::reply(
                State::MainMenu,
                vec![OutboundBody::text(&c.admission.cancelled), c.main_menu()],
            )
            .event("Admission enquiry cancelled.");
        }
        (State::ActivationCode, Input::Text(_)) => return code_given(c, conv, facts),
        (State::ActivationLocked, Input::Text(_)) => {
            return locked_out(c, locked.unwrap_or(facts.now), facts.now);
        }
        _ => {}
    }
    // Menu rows, course rows and navigation buttons work from any state, also when tapped
    // in an older message: the user chose them.
    if let Some(turn) = choice.and_then(|id| navigate(c, conv, id, facts)) {
        return turn;
    }
    // Anything else: a step in progress asks again; elsewhere, help and the menu.
    match state {
        State::AdmissionName
        | State::AdmissionEmail
        | State::AdmissionConfirm
        | State::ActivationCode => ask_again(c, conv, state),
        State::ActivationLocked => locked_out(c, locked.unwrap_or(facts.now), facts.now),
        _ => Turn::reply(
            State::MainMenu,
            vec![OutboundBody::text(&c.help), c.main_menu()],
        ),
    }
}

/// Where an interactive id leads, whatever the state; None for ids that only mean
/// something in one state (Confirm, ratings, …) or that the bot does not know.
fn navigate(c: &Content, conv: &Conversation, id: &str, facts: &Facts<'_>) -> Option<Turn> {
    let turn = match id {
        ids::COURSES => Turn::reply(State::CourseList, vec![c.course_list()]),
        _ if id == c.buttons.back_to_courses.id => {
            Turn::reply(State::CourseList, vec![c.course_list()])
        }
        _ if id == c.buttons.menu.id => Turn::reply(State::MainMenu, vec![c.main_menu()]),
        ids::ADMISSIONS => Turn::reply(
            State::AdmissionName,
            vec![c.prompt(c.admission.ask_name.clone())],
        ),
        ids::FEES => Turn::reply(State::FeesInfo, vec![c.info_page(&c.catalogue.fees)]),
        ids::TIMETABLE => Turn::reply(State::Timetable, vec![c.info_page(&c.catalogue.timetable)]),
        ids::ACTIVATE => match locked_until(conv, facts.now) {
            Some(until) => locked_out(c, until, facts.now),
            None => Turn::reply(
                State::ActivationCode,
                vec![c.prompt(c.activation.ask_code.clone())],
            ),
        },
        _ => {
            if let Some(course) = c.course(id) {
                Turn::with_flow(
                    State::CourseDetail,
                    vec![c.course_detail(course)],
                    FlowData {
                        course: Some(course.id.clone()),
                        ..FlowData::default()
                    },
                )
                .event(format!("Viewed the course {}.", course.title))
            } else if let Some(course) = c.applied_course(id) {
                Turn::with_flow(
                    State::AdmissionName,
                    vec![c.prompt(fill(
                        &c.admission.ask_name_for_course,
                        &[("course", &course.title)],
                    ))],
                    FlowData {
                        course: Some(course.id.clone()),
                        ..FlowData::default()
                    },
                )
                .event(format!("Applying for {}.", course.title))
            } else {
                return None;
            }
        }
    };
    Some(turn)
}

fn course_title<'c>(c: &'c Content, flow: &FlowData) -> Option<&'c str> {
    flow.course
        .as_deref()
        .and_then(|id| c.course(id))
        .map(|course| course.title.as_str())
}

/// Stays in `state`, keeping the flow data, asking for what it needs.
fn ask_again(c: &Content, conv: &Conversation, state: State) -> Turn {
    let flow = conv.flow.clone();
    let reply = match state {
        State::AdmissionName => name_prompt(c, &flow),
        State::AdmissionEmail => c.prompt(fill(
            &c.admission.ask_email,
            &[("name", flow.name.as_deref().unwrap_or_default())],
        )),
        State::AdmissionConfirm => c.enquiry_summary(
            course_title(c, &flow),
            flow.name.as_deref().unwrap_or_default(),
            flow.email.as_deref().unwrap_or_default(),
        ),
        _ => c.prompt(c.activation.ask_code.clone()),
    };
    Turn::with_flow(state, vec![reply], flow)
}

fn name_prompt(c: &Content, flow: &FlowData) -> OutboundBody {
    c.prompt(match course_title(c, flow) {
        Some(course) => fill(&c.admission.ask_name_for_course, &[("course", course)]),
        None => c.admission.ask_name.clone(),
    })
}

fn name_given(c: &Content, conv: &Conversation, text: &str) -> Turn {
    let Some(name) = applicant_name(text) else {
        return Turn::with_flow(
            State::AdmissionName,
            vec![
                OutboundBody::text(&c.admission.name_invalid),
                name_prompt(c, &conv.flow),
            ],
            conv.flow.clone(),
        );
    };
    Turn::with_flow(
        State::AdmissionEmail,
        vec![c.prompt(fill(&c.admission.ask_email, &[("name", &name)]))],
        FlowData {
            name: Some(name),
            ..conv.flow.clone()
        },
    )
}

fn email_given(c: &Content, conv: &Conversation, text: &str) -> Turn {
    match email_address(text) {
        Ok(email) => {
            let reply = c.enquiry_summary(
                course_title(c, &conv.flow),
                conv.flow.name.as_deref().unwrap_or_default(),
                &email,
            );
            Turn::with_flow(
                State::AdmissionConfirm,
                vec![reply],
                FlowData {
                    email: Some(email),
                    ..conv.flow.clone()
                },
            )
        }
        Err(problem) => Turn::with_flow(
            State::AdmissionEmail,
            vec![c.prompt(fill(
                &c.admission.email_invalid,
                &[("reason", problem.reason())],
            ))],
            conv.flow.clone(),
        )
        .event(format!("Email address refused: {}.", problem.reason())),
    }
}

fn enquiry_confirmed(c: &Content, conv: &Conversation) -> Turn {
    let (Some(name), Some(email)) = (&conv.flow.name, &conv.flow.email) else {
        // Only reachable with lost state data: start again from the menu.
        return Turn::reply(
            State::MainMenu,
            vec![OutboundBody::text(&c.help), c.main_menu()],
        );
    };
    let course = course_title(c, &conv.flow);
    let request = EnquiryRequest {
        course_id: course.and(conv.flow.course.clone()),
        course: course.map(str::to_owned),
        name: name.clone(),
        email: email.clone(),
    };
    let event = format!(
        "Admission enquiry sent: {} — {} <{}>.",
        course.unwrap_or(&c.admission.no_course),
        name,
        email
    );
    Turn {
        enquiry: Some(request),
        ..Turn::reply(
            State::MainMenu,
            vec![
                OutboundBody::text(fill(&c.admission.confirmed, &[("email", email)])),
                c.main_menu(),
            ],
        )
    }
    .event(event)
}

/// Every text in ACTIVATION_CODE is an attempt, whatever its format.
fn code_given(c: &Content, conv: &Conversation, facts: &Facts<'_>) -> Turn {
    if let Some(code) = facts.code.filter(|code| code.usable(facts.now)) {
        let student = code.student.clone();
        let event = format!(
            "Account activated: linked to the student {} ({}).",
            student.name, student.course
        );
        return Turn {
            activation: Some(ActivationChange::Linked {
                code_hash: code.code_hash.clone(),
                student: student.clone(),
            }),
            ..Turn::reply(
                State::MainMenu,
                vec![
                    OutboundBody::text(fill(
                        &c.activation.linked,
                        &[("name", &student.name), ("course", &student.course)],
                    )),
                    c.main_menu(),
                ],
            )
        }
        .event(event);
    }
    let failures = conv.activation_failures.saturating_add(1);
    if failures >= MAX_WRONG_CODES {
        let until = facts.now + facts.activation_lock;
        return Turn {
            activation: Some(ActivationChange::Locked { until }),
            ..locked_out(c, until, facts.now)
        }
        .event(format!(
            "Wrong activation code ({failures} of {MAX_WRONG_CODES}): activation locked until {}.",
            rfc3339(until)
        ));
    }
    let left = (MAX_WRONG_CODES - failures).to_string();
    let template = if facts.code.is_some() {
        &c.activation.stale_code
    } else {
        &c.activation.wrong_code
    };
    Turn {
        activation: Some(ActivationChange::WrongCode { failures }),
        ..Turn::reply(
            State::ActivationCode,
            vec![c.prompt(fill(template, &[("left", &left)]))],
        )
    }
    .event(format!(
        "Wrong activation code ({failures} of {MAX_WRONG_CODES})."
    ))
}

fn locked_out(c: &Content, until: Millis, now: Millis) -> Turn {
    Turn::reply(
        State::ActivationLocked,
        vec![c.activation_locked(&remaining_text(until - now))],
    )
}

/// The rating choice id (`rating_N`) a quick-reply button labelled `label` stands for: the
/// first digit 1–5 in it. A rating template's buttons answer with these payloads, so its
/// answer is read like the rating list's.
pub fn rating_choice_for_label(label: &str) -> Option<String> {
    label
        .chars()
        .find(|c| c.is_ascii_digit())
        .filter(|d| ('1'..='5').contains(d))
        .map(|d| format!("rating_{d}"))
}

fn rating_of(input: Input<'_>) -> Option<u8> {
    let digit = match input {
        Input::Choice(id) => id.strip_prefix("rating_")?,
        Input::Text(t) => t.trim(),
        Input::Other => return None,
    };
    digit.parse::<u8>().ok().filter(|r| (1..=5).contains(r))
}

#[cfg(test)]
mod tests;
