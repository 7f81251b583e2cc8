//! The conversation state machine (DESIGN §5): given the state and what the user sent,
//! the next state and the bot's replies. Pure: storage and sending happen elsewhere.

use crate::content::{content, Content};
use crate::model::ConversationState as State;
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

/// What the turn did to chat support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SupportChange {
    None,
    Started,
    EndedByUser,
    EndedByOptOut,
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
}

impl Turn {
    /// No reply and no change.
    pub fn silent(state: State) -> Turn {
        Turn::reply(state, vec![])
    }

    fn reply(next: State, replies: Vec<OutboundBody>) -> Turn {
        Turn {
            next,
            replies,
            to_desk: false,
            support: SupportChange::None,
            rating: None,
        }
    }
}

const SUPPORT_KEYWORDS: [&str; 4] = ["support", "agent", "human", "chat support"];
const END_CHAT_KEYWORDS: [&str; 2] = ["end chat", "#end"];
const CHAT_SUPPORT_ID: &str = "chat_support";

/// Runs one user message through the state machine.
pub fn react(state: State, input: Input<'_>) -> Turn {
    react_with(content(), state, input)
}

fn react_with(c: &Content, state: State, input: Input<'_>) -> Turn {
    let word = match input {
        Input::Text(t) => t.trim().to_lowercase(),
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
            Turn::reply(State::OptedOut, vec![])
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
                ..Turn::reply(State::ChatSupportActive, vec![])
            }
        };
    }
    if choice == Some(CHAT_SUPPORT_ID) || SUPPORT_KEYWORDS.iter().any(|k| text_is(k)) {
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
            };
        }
        // Anything else skips the rating and is handled as at the menu.
    }
    if state == State::New {
        return Turn::reply(
            State::MainMenu,
            vec![OutboundBody::text(&c.welcome), c.main_menu()],
        );
    }
    let is_menu_row = choice.is_some_and(|id| c.menu.rows.iter().any(|r| r.id == id));
    if is_menu_row {
        // The other menu flows arrive with their own issue; until then, never silence.
        return Turn::reply(
            State::MainMenu,
            vec![OutboundBody::text(&c.coming_soon), c.main_menu()],
        );
    }
    Turn::reply(
        State::MainMenu,
        vec![OutboundBody::text(&c.help), c.main_menu()],
    )
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
mod tests {
    use super::*;
    use crate::whatsapp::OutboundBody as B;

    fn ids(body: &B) -> Vec<&str> {
        match body {
            B::Text { .. } => vec![],
            B::Buttons { buttons: c, .. } | B::List { rows: c, .. } => {
                c.iter().map(|c| c.id.as_str()).collect()
            }
        }
    }

    #[test]
    fn first_message_gets_welcome_and_main_menu() {
        let t = react(State::New, Input::Text("hello"));
        assert_eq!(t.next, State::MainMenu);
        assert_eq!(t.replies.len(), 2);
        assert_eq!(t.replies[0], B::text(&content().welcome));
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
                ids(&t.replies[1]),
                ["rating_5", "rating_4", "rating_3", "rating_2", "rating_1"]
            );
        }
        let rated = react(State::SupportFeedback, Input::Choice("rating_4"));
        assert_eq!((rated.next, rated.rating), (State::MainMenu, Some(4)));
        assert_eq!(
            react(State::SupportFeedback, Input::Text("5")).rating,
            Some(5)
        );
        let skipped = react(State::SupportFeedback, Input::Text("thanks"));
        assert_eq!((skipped.next, skipped.rating), (State::MainMenu, None));
        assert_eq!(react(State::SupportFeedback, Input::Text("9")).rating, None);
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
    }

    #[test]
    fn menu_returns_to_the_main_menu_outside_chat_support() {
        for state in [
            State::MainMenu,
            State::New,
            State::SupportFeedback,
            State::FeesInfo,
        ] {
            let t = react(state, Input::Text("Menu"));
            assert_eq!(t.next, State::MainMenu);
            assert_eq!(ids(t.replies.last().unwrap()).len(), 6);
        }
    }

    #[test]
    fn unknown_input_gets_help_and_the_menu_never_silence() {
        for input in [
            Input::Text("what?"),
            Input::Other,
            Input::Choice("no_such_id"),
            Input::Choice("end_chat"),
        ] {
            let t = react(State::MainMenu, input);
            assert_eq!(t.next, State::MainMenu);
            assert_eq!(t.replies[0], B::text(&content().help), "{input:?}");
            assert_eq!(ids(&t.replies[1]).len(), 6);
        }
        // Rows whose flows are not built yet answer, they do not crash or go silent.
        for row in ["courses", "admissions", "fees", "timetable", "activate"] {
            let t = react(State::MainMenu, Input::Choice(row));
            assert_eq!(t.replies[0], B::text(&content().coming_soon));
        }
    }
}
