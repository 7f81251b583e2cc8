//! The support desk's rules: what ending chat support resets, who is waiting for an answer,
//! whether anything may be sent to a user now, and how a message about to be sent is made.
//! Each is written once here and used by every path it applies to (the desk, the bot, the
//! scheduled checks).

use crate::model::{Author, Conversation, ConversationState, FirstReply, Message, MessageError};
use crate::phone::Phone;
use crate::time::{Millis, SECOND};
use crate::whatsapp::OutboundBody;

/// Ends chat support at `at`, however it ends (the desk, the user, an opt-out, the idle
/// check): the session's fields are cleared and nobody is waiting any more. The next
/// state is the caller's decision (a rating question, the menu, opted out).
pub fn end_support(c: &mut Conversation, at: Millis) {
    c.support_started_at = None;
    c.support_ended_at = Some(at);
    c.waiting_since = None;
    c.unread_count = 0;
    c.ended_holder = c.assigned_to.take();
    c.first_reply = None;
}

/// `admin` wrote to the user: the conversation shows it, nothing of theirs is unread and
/// nobody waits any more. The first answer to a wait in a session is its first reply: a
/// session's first message from the user started that wait, as nothing answered it before.
pub fn answered_by_desk(c: &mut Conversation, admin: &str, at: Millis, preview: &str) {
    if let (true, None, Some(waited_from)) = (c.is_chat_support(), &c.first_reply, c.waiting_since)
    {
        c.first_reply = Some(FirstReply {
            at,
            admin: admin.to_owned(),
            waited_from,
        });
    }
    c.touch(at, preview);
    c.unread_count = 0;
    c.waiting_since = None;
}

/// The desk opened chat support itself (a template to a user outside it): no wait starts,
/// so the first response is timed from the user's answer.
pub fn support_opened_by_desk(c: &mut Conversation, at: Millis) {
    if !c.is_chat_support() {
        c.state = ConversationState::ChatSupportActive;
        c.support_started_at = Some(at);
        c.waiting_since = None;
        c.queue_notice_for = None;
        c.first_reply = None;
    }
}

/// Whether someone other than `admin` holds the chat: only its holder answers it, until
/// another admin takes it over (DESIGN §15).
pub fn held_by_other(c: &Conversation, admin: &str) -> bool {
    c.assigned_to
        .as_deref()
        .is_some_and(|holder| holder != admin)
}

/// `admin` answered `c`: a chat in support that nobody holds becomes theirs.
pub fn take_if_unassigned(c: &mut Conversation, admin: &str) {
    if c.is_chat_support() && c.assigned_to.is_none() {
        c.assigned_to = Some(admin.to_owned());
    }
}

/// Why nothing may be sent to a user now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendRefusal {
    /// The user sent STOP: nothing until START.
    OptedOut,
    /// More than 24 hours since the user's last message: WhatsApp refuses free-form text.
    WindowClosed,
}

impl SendRefusal {
    /// The reason recorded on a message that could not be sent for it.
    pub fn message_error(self) -> MessageError {
        match self {
            SendRefusal::OptedOut => MessageError {
                code: "opted_out".into(),
                title: "The user opted out (STOP) before it could be sent".into(),
            },
            SendRefusal::WindowClosed => MessageError::window_closed(),
        }
    }
}

/// Whether a free-form message may go to the user of `c` now. An opt-out is reported
/// before a closed window.
pub fn may_send(c: &Conversation, now: Millis) -> Result<(), SendRefusal> {
    if c.state == ConversationState::OptedOut {
        Err(SendRefusal::OptedOut)
    } else if !c.window_open(now) {
        Err(SendRefusal::WindowClosed)
    } else {
        Ok(())
    }
}

/// Whether `body` may go to the user of `c` now: [`may_send`], except that a template
/// needs no open window.
pub fn may_send_body(
    c: &Conversation,
    body: &OutboundBody,
    now: Millis,
) -> Result<(), SendRefusal> {
    match may_send(c, now) {
        Err(SendRefusal::WindowClosed) if !body.needs_open_window() => Ok(()),
        other => other,
    }
}

/// How long a sender holds a message before a retry may take it over (docs/reliability.md).
pub const SEND_CLAIM: Millis = 60 * SECOND;

/// An outbound message stored already claimed by the send that follows its commit
/// (`attempts` 1, the attempt under way): a scheduled retry sees it as in flight and does
/// not race it, and retries it only if that send never completes.
pub fn claimed_outbound(phone: Phone, author: Author, body: OutboundBody, now: Millis) -> Message {
    let mut m = Message::outbound(phone, crate::model::new_message_id(), author, body, now);
    m.attempts = 1;
    m
}

/// Who is waiting for the desk, over the conversations in chat support.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waiting {
    /// Users waiting for an answer, past the SLA or not.
    pub unanswered: usize,
    /// Of those, the ones waiting longer than the SLA.
    pub past_sla: usize,
    /// Since when the longest-waiting user has waited.
    pub oldest_since: Option<Millis>,
}

impl Waiting {
    pub fn of<'a>(
        in_support: impl IntoIterator<Item = &'a Conversation>,
        sla: Millis,
        now: Millis,
    ) -> Waiting {
        let mut waiting = Waiting::default();
        for since in in_support.into_iter().filter_map(|c| c.waiting_since) {
            waiting.unanswered += 1;
            if now - since >= sla {
                waiting.past_sla += 1;
            }
            waiting.oldest_since = Some(waiting.oldest_since.map_or(since, |o| o.min(since)));
        }
        waiting
    }

    /// How long the longest-waiting user has waited, in whole seconds (0 for nobody).
    pub fn oldest_wait_seconds(&self, now: Millis) -> i64 {
        self.oldest_since.map_or(0, |since| (now - since) / SECOND)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MessageStatus;
    use crate::time::{DAY, MINUTE};

    fn conversation(state: ConversationState) -> Conversation {
        let mut c = Conversation::new(Phone::parse("447700900123").unwrap(), 0);
        c.state = state;
        c
    }

    #[test]
    fn ending_support_clears_the_session_and_the_wait() {
        let mut c = conversation(ConversationState::ChatSupportActive);
        c.support_started_at = Some(10);
        c.waiting_since = Some(20);
        c.unread_count = 3;
        end_support(&mut c, 99);
        assert_eq!(c.support_started_at, None);
        assert_eq!(c.support_ended_at, Some(99));
        assert_eq!(c.waiting_since, None);
        assert_eq!(c.unread_count, 0);
        assert_eq!(
            c.state,
            ConversationState::ChatSupportActive,
            "the next state is the caller's"
        );
    }

    #[test]
    fn a_chat_is_taken_by_its_first_answer_and_only_its_holder_answers_it() {
        let mut c = conversation(ConversationState::ChatSupportActive);
        assert!(!held_by_other(&c, "ann"));
        take_if_unassigned(&mut c, "ann");
        assert_eq!(c.assigned_to.as_deref(), Some("ann"));
        take_if_unassigned(&mut c, "bob");
        assert_eq!(
            c.assigned_to.as_deref(),
            Some("ann"),
            "never taken from its holder"
        );
        assert!(held_by_other(&c, "bob"));
        assert!(!held_by_other(&c, "ann"));
        end_support(&mut c, 1);
        assert_eq!(c.assigned_to, None, "ending the chat frees it");
        let mut menu = conversation(ConversationState::MainMenu);
        take_if_unassigned(&mut menu, "ann");
        assert_eq!(menu.assigned_to, None, "only chats in support are held");
    }

    #[test]
    fn sending_needs_an_open_window_and_no_opt_out_which_is_reported_first() {
        let mut c = conversation(ConversationState::MainMenu);
        assert_eq!(
            may_send(&c, 0),
            Err(SendRefusal::WindowClosed),
            "never wrote"
        );
        c.last_inbound_sent_at = Some(1_000);
        assert_eq!(may_send(&c, 1_000 + DAY - 1), Ok(()));
        assert_eq!(may_send(&c, 1_000 + DAY), Err(SendRefusal::WindowClosed));
        c.state = ConversationState::OptedOut;
        assert_eq!(may_send(&c, 2_000), Err(SendRefusal::OptedOut));
        assert_eq!(may_send(&c, 1_000 + DAY), Err(SendRefusal::OptedOut));
        assert_eq!(SendRefusal::OptedOut.message_error().code, "opted_out");
        assert_eq!(
            SendRefusal::WindowClosed.message_error(),
            MessageError::window_closed()
        );
    }

    #[test]
    fn a_message_about_to_be_sent_is_pending_and_claimed_once() {
        let phone = Phone::parse("447700900123").unwrap();
        let m = claimed_outbound(phone, Author::Admin, OutboundBody::text("Hi"), 5);
        assert_eq!(m.status, MessageStatus::Pending);
        assert_eq!(m.attempts, 1);
        assert_eq!(m.created_at, 5);
        assert_eq!(m.text.as_deref(), Some("Hi"));
    }

    #[test]
    fn waiting_counts_the_unanswered_those_past_the_sla_and_the_oldest() {
        let sla = 5 * MINUTE;
        let now = 60 * MINUTE;
        let mut answered = conversation(ConversationState::ChatSupportActive);
        answered.waiting_since = None;
        let mut recent = answered.clone();
        recent.waiting_since = Some(now - MINUTE);
        let mut at_sla = answered.clone();
        at_sla.waiting_since = Some(now - sla);
        let mut oldest = answered.clone();
        oldest.waiting_since = Some(now - 30 * MINUTE);
        let waiting = Waiting::of([&answered, &recent, &at_sla, &oldest], sla, now);
        assert_eq!(waiting.unanswered, 3);
        assert_eq!(waiting.past_sla, 2, "the SLA itself counts as past it");
        assert_eq!(waiting.oldest_since, Some(now - 30 * MINUTE));
        assert_eq!(waiting.oldest_wait_seconds(now), 30 * 60);
        let nobody = Waiting::of([&answered], sla, now);
        assert_eq!(nobody, Waiting::default());
        assert_eq!(nobody.oldest_wait_seconds(now), 0);
    }
}
